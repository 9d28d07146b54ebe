"""The claim worker: claims in place on SQLite, on its thread when that would wait."""

from __future__ import annotations

import asyncio
import threading

import pytest

from actions._service import ClaimWorker
from webhooks import MAX_CLAIMS_AT_ONCE, ConversationLimitReached, ConversationLimits, Store


@pytest.fixture
def limits(store: Store) -> ConversationLimits:
    store.create_tenant("acme", actor="test")
    return ConversationLimits(store.engine)


def test_concurrent_claims_of_one_conversation_stop_at_the_limit(
    limits: ConversationLimits,
) -> None:
    worker = ClaimWorker(limits)

    async def claims() -> list[int | BaseException]:
        return await asyncio.gather(
            *(worker.claim("acme", "alice:1") for _ in range(12)), return_exceptions=True
        )

    outcomes = asyncio.run(claims())
    assert sorted(o for o in outcomes if isinstance(o, int)) == list(range(1, 11))
    assert sum(isinstance(o, ConversationLimitReached) for o in outcomes) == 2
    assert limits.calls("acme", "alice:1") == 10
    limits.close()


def test_more_claims_in_one_turn_than_one_statement_takes(limits: ConversationLimits) -> None:
    worker = ClaimWorker(limits)
    limits.claim("acme", "warm:1")
    others = [f"c{i}:1" for i in range(MAX_CLAIMS_AT_ONCE + 20)]

    async def claims() -> list[int | BaseException]:
        # alice's claims straddle the statements the turn is cut into
        names = (
            others[: MAX_CLAIMS_AT_ONCE - 5] + 12 * ["alice:1"] + others[MAX_CLAIMS_AT_ONCE - 5 :]
        )
        return await asyncio.gather(
            *(worker.claim("acme", name) for name in names), return_exceptions=True
        )

    outcomes = asyncio.run(claims())
    alice = outcomes[MAX_CLAIMS_AT_ONCE - 5 : MAX_CLAIMS_AT_ONCE + 7]
    assert alice[:10] == list(range(1, 11))
    assert all(isinstance(o, ConversationLimitReached) for o in alice[10:])
    rest = outcomes[: MAX_CLAIMS_AT_ONCE - 5] + outcomes[MAX_CLAIMS_AT_ONCE + 7 :]
    assert rest == [1] * len(others)
    assert limits.calls("acme", "alice:1") == 10
    if limits.engine.dialect.name == "sqlite":
        # All claimed in place, one statement per cut: the thread was never needed.
        assert worker._thread is None
    limits.close()


def test_a_locked_database_is_waited_for_on_the_thread_not_the_loop(
    store: Store, limits: ConversationLimits
) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's writer lock")
    limits.claim("acme", "warm:1")
    other = store.engine.raw_connection()
    other.driver_connection.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    release = threading.Timer(0.5, lambda: other.driver_connection.execute("ROLLBACK"))
    worker = ClaimWorker(limits)

    async def claim_while_ticking() -> tuple[int, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        release.start()
        number = await worker.claim("acme", "alice:1")
        ticker.cancel()
        return number, ticks

    try:
        number, ticks = asyncio.run(claim_while_ticking())
    finally:
        release.join()
        other.close()
    assert number == 1
    assert ticks >= 20  # the loop kept running while the claim waited for the lock
    assert limits.calls("acme", "alice:1") == 1
    limits.close()
