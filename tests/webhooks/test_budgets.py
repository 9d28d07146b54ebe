"""The budgets of webhook calls per minute, counted with the conversation's call on both
engines: exact, shared, in all counts or none, and starting again in each window."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import select, update

from tests.polling import wait_until
from webhooks import (
    DEFAULT_TENANT_BUDGET,
    MAX_BUDGET,
    BudgetExhausted,
    ConversationLimitReached,
    ConversationLimits,
    InvalidDefinition,
    Store,
    make_engine,
)
from webhooks.calls._claims import ClaimWorker
from webhooks.calls._inplace import InPlaceClaims
from webhooks.definitions._budgets import Budget
from webhooks.store import _schema as db

#: A window no test run can straddle by chance: the counts below stay in one window.
HOUR = 3600


@pytest.fixture
def limits(store: Store) -> ConversationLimits:
    store.accounts.create_tenant("acme", actor="test")
    return ConversationLimits(store.engine, window=HOUR)


def budget_calls(store: Store, scope: str = "*") -> int:
    with store.engine.connect() as connection:
        count = connection.scalar(select(db.CallBudget.calls).where(db.CallBudget.scope == scope))
    return int(count or 0)


def test_new_conversations_stop_at_the_tenants_budget(
    store: Store, limits: ConversationLimits
) -> None:
    outcomes: list[int | BudgetExhausted] = []
    for sender in range(12):
        try:
            outcomes.append(limits.claim("acme", f"sender{sender}:1", budget=Budget(10)))
        except BudgetExhausted as exc:
            outcomes.append(exc)
    assert outcomes[:10] == [1] * 10
    refusals = [(e.scope, e.limit, e.category) for e in outcomes[10:] if not isinstance(e, int)]
    assert refusals == [("*", 10, "rate_limited")] * 2
    assert budget_calls(store) == 10
    # The refused calls are counted nowhere: not in their conversations either.
    assert limits.calls("acme", "sender10:1") == 0


def test_an_actions_own_budget_stops_it_and_not_the_others(
    store: Store, limits: ConversationLimits
) -> None:
    lookup = Budget(10, "lookup", 3)
    for sender in range(3):
        limits.claim("acme", f"s{sender}:1", budget=lookup)
    with pytest.raises(BudgetExhausted) as caught:
        limits.claim("acme", "s3:1", budget=lookup)
    assert (caught.value.scope, caught.value.limit) == ("lookup", 3)
    # The refusal took nothing from the tenant's budget, and another action still runs.
    assert budget_calls(store) == 3
    assert limits.claim("acme", "s3:1", budget=Budget(10, "other", 3)) == 1
    assert budget_calls(store) == 4


def test_a_call_the_conversation_limit_refuses_takes_nothing_from_the_budget(
    store: Store,
) -> None:
    store.accounts.create_tenant("acme", actor="test")
    limits = ConversationLimits(store.engine, limit=2, window=HOUR)
    budget = Budget(10, "lookup", 5)
    limits.claim("acme", "alice:1", budget=budget)
    limits.claim("acme", "alice:1", budget=budget)
    for _ in range(3):
        with pytest.raises(ConversationLimitReached):
            limits.claim("acme", "alice:1", budget=budget)
    assert (budget_calls(store), budget_calls(store, "lookup")) == (2, 2)


def test_a_tenants_budget_does_not_spend_another_tenants(
    store: Store, limits: ConversationLimits
) -> None:
    store.accounts.create_tenant("globex", actor="test")
    for sender in range(2):
        limits.claim("acme", f"s{sender}:1", budget=Budget(2))
    with pytest.raises(BudgetExhausted):
        limits.claim("acme", "s2:1", budget=Budget(2))
    assert limits.claim("globex", "s0:1", budget=Budget(2)) == 1


def test_the_budget_starts_again_in_the_next_window(store: Store) -> None:
    store.accounts.create_tenant("acme", actor="test")
    # A window of one second, so one ends without waiting a minute (production: 60).
    limits = ConversationLimits(store.engine, window=1)
    claims = iter(range(1000))

    def claimed() -> bool:
        try:
            limits.claim("acme", f"s{next(claims)}:1", budget=Budget(2))
        except BudgetExhausted:
            return False
        return True

    wait_until(lambda: not claimed(), "a refusal once the window's 2 calls are made")
    wait_until(claimed, "a call counted in the next window")


def test_replicas_claiming_at_once_share_the_budget_exactly(
    store: Store, database_url: str
) -> None:
    store.accounts.create_tenant("acme", actor="test")
    # Two replicas: each its own engine (its own pool of connections) on the same database.
    engines = [make_engine(database_url, pool_size=10, max_overflow=0) for _ in range(2)]
    replicas = [ConversationLimits(engine, window=HOUR) for engine in engines]
    barrier = threading.Barrier(20)
    granted: list[int] = []
    refused: list[BudgetExhausted] = []

    def claim(replica: ConversationLimits, thread: int) -> None:
        barrier.wait()
        for call in range(3):
            try:
                granted.append(
                    replica.claim("acme", f"t{thread}c{call}:1", budget=Budget(25, "lookup", 40))
                )
            except BudgetExhausted as exc:
                refused.append(exc)

    threads = [threading.Thread(target=claim, args=(replicas[n % 2], n)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert (len(granted), len(refused)) == (25, 35)
    assert (budget_calls(store), budget_calls(store, "lookup")) == (25, 25)


def test_the_claim_worker_refuses_over_budget_without_blocking(
    store: Store, limits: ConversationLimits
) -> None:
    worker = ClaimWorker(limits)
    limits.claim("acme", "warm:1", budget=Budget(10))  # the tenant is known: SQLite in place
    worker.open_in_place()

    async def claims() -> list[BaseException | None]:
        return await asyncio.gather(
            *(worker.claim("acme", f"s{n}:1", budget=Budget(10)) for n in range(12)),
            return_exceptions=True,
        )

    try:
        outcomes = asyncio.run(claims())
    finally:
        worker.close()
    assert outcomes.count(None) == 9
    assert all(isinstance(o, BudgetExhausted) for o in outcomes if o is not None)
    assert budget_calls(store) == 10


@pytest.mark.parametrize("calls", [0, -1, MAX_BUDGET + 1, True, 1.5, "10", None])
def test_the_store_refuses_a_tenant_budget_out_of_range(store: Store, calls: object) -> None:
    store.accounts.create_tenant("acme", actor="test")
    with pytest.raises(InvalidDefinition) as caught:
        store.budgets.set_calls_per_minute("acme", calls, actor="test")
    assert caught.value.field == "calls_per_minute"
    assert store.accounts.get_tenant("acme").calls_per_minute == DEFAULT_TENANT_BUDGET


def test_claims_in_place_count_in_every_count_or_none(store: Store) -> None:
    if not InPlaceClaims.possible(ConversationLimits(store.engine)):
        pytest.skip("claims in place are SQLite's")
    store.accounts.create_tenant("acme", actor="test")
    limits = ConversationLimits(store.engine, limit=2, window=HOUR)
    limits.claim("acme", "warm:1", budget=Budget(10))  # the tenant's id is now known
    in_place = InPlaceClaims(limits)
    budget = Budget(10, "lookup", 4)
    try:
        assert in_place.claim("acme", "alice:1", budget=budget)
        assert in_place.claim("acme", "alice:1", budget=budget)
        for _ in range(3):
            with pytest.raises(ConversationLimitReached):
                in_place.claim("acme", "alice:1", budget=budget)
        assert (budget_calls(store), budget_calls(store, "lookup")) == (3, 2)
        assert in_place.claim("acme", "bob:1", budget=budget)
        assert in_place.claim("acme", "bob:1", budget=budget)
        with pytest.raises(BudgetExhausted) as caught:
            in_place.claim("acme", "carol:1", budget=budget)
        assert caught.value.scope == "lookup"
        assert (budget_calls(store), budget_calls(store, "lookup")) == (5, 4)
        assert limits.calls("acme", "carol:1") == 0
    finally:
        in_place.close()


def test_a_claim_from_an_older_window_counts_in_the_newer_one(
    store: Store, limits: ConversationLimits
) -> None:
    """A claim whose transaction began just before a window ended, and that waited on the row
    while another claim began the next window, must not start the old window again."""
    for sender in range(2):
        limits.claim("acme", f"s{sender}:1", budget=Budget(2))
    with store.engine.begin() as connection:  # the row as the next window's claims left it
        connection.execute(update(db.CallBudget).values(period=db.CallBudget.period + 1))
    with pytest.raises(BudgetExhausted):
        limits.claim("acme", "s2:1", budget=Budget(2))
    assert budget_calls(store) == 2
