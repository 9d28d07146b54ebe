"""The claim worker: claims in place on SQLite, on its thread when that would wait."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from tests.polling import eventually
from tests.webhooks.test_limits import frames_in_log
from webhooks import ConversationLimitReached, ConversationLimits, Store, make_engine
from webhooks.calls._claims import ClaimWorker
from webhooks.calls._inplace import CHECKPOINT_EVERY
from webhooks.definitions._budgets import Budget


@pytest.fixture
def limits(store: Store) -> ConversationLimits:
    store.accounts.create_tenant("acme", actor="test")
    return ConversationLimits(store.engine)


def test_concurrent_claims_of_one_conversation_stop_at_the_limit(
    store: Store, limits: ConversationLimits
) -> None:
    worker = ClaimWorker(limits)
    limits.claim("acme", "warm:1")  # the tenant is known: SQLite claims in place

    async def claims() -> list[BaseException | None]:
        return await asyncio.gather(
            *(worker.claim("acme", "alice:1") for _ in range(12)), return_exceptions=True
        )

    outcomes = asyncio.run(claims())
    assert outcomes[:10] == [None] * 10  # counted, in the order they were made
    assert all(isinstance(o, ConversationLimitReached) for o in outcomes[10:])
    assert limits.calls("acme", "alice:1") == 10
    if store.engine.dialect.name == "sqlite":
        assert worker._thread is None  # refused in place too
    worker.close()


def test_claims_in_place_need_no_thread_until_a_checkpoint_is_due(
    store: Store, limits: ConversationLimits
) -> None:
    # All made at once: on PostgreSQL claimed one by one on the thread, which takes over the
    # default 10 s under load; the time in the queue does not count against the timeout.
    worker = ClaimWorker(limits)
    limits.claim("acme", "warm:1")
    names = [f"c{i}:1" for i in range(CHECKPOINT_EVERY - 1)]

    async def claims(names: list[str]) -> list[BaseException | None]:
        return await asyncio.gather(
            *(worker.claim("acme", name) for name in names), return_exceptions=True
        )

    assert asyncio.run(claims(names)) == [None] * len(names)
    assert all(limits.calls("acme", name) == 1 for name in names[::97])
    if store.engine.dialect.name != "sqlite":
        assert worker._thread is not None  # PostgreSQL's claims wait on the thread
        worker.close()
        return
    assert worker._thread is None  # all claimed in place
    assert asyncio.run(claims(["due:1"])) == [None]
    assert worker._thread is not None  # woken up to checkpoint
    deadline = time.monotonic() + 10
    while worker._checkpointing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not worker._checkpointing
    assert limits.calls("acme", "due:1") == 1
    assert asyncio.run(claims(["after:1"])) == [None]
    assert frames_in_log(store) < 10  # checkpointed: the next claim started the log afresh
    worker.close()


def test_a_locked_database_is_waited_for_on_the_thread_not_the_loop(
    store: Store, limits: ConversationLimits
) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's writer lock")
    limits.claim("acme", "warm:1")
    other = store.engine.raw_connection()
    other.driver_connection.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    released_by: list[str] = []
    once = threading.Lock()

    def release(by: str) -> None:
        with once:
            if not released_by:
                released_by.append(by)
                other.driver_connection.execute("ROLLBACK")

    # Only a loop that keeps running while the claim waits can tick 20 times and let the lock
    # go; a claim that blocked the loop would wait for this timer instead.
    fallback = threading.Timer(10, release, args=("timer",))
    worker = ClaimWorker(limits)

    async def claim_while_ticking() -> None:
        async def tick() -> None:
            for _ in range(20):
                await asyncio.sleep(0.01)
            release("loop")

        ticker = asyncio.create_task(tick())
        fallback.start()
        await worker.claim("acme", "alice:1")
        await ticker

    try:
        asyncio.run(claim_while_ticking())
    finally:
        fallback.cancel()
        fallback.join()
        other.close()
    assert released_by == ["loop"]  # the loop kept running while the claim waited for the lock
    assert limits.calls("acme", "alice:1") == 1
    worker.close()


class AnsweringDatabase:
    """Stands in for ``ConversationLimits`` on PostgreSQL, where every claim goes to the
    thread: the database answers each after ``seconds``, or (``None``) not until ``answer``
    is set."""

    #: In memory: no claims in place, as on PostgreSQL.
    engine = make_engine("sqlite://")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.answer = threading.Event()
        self.claimed: list[str] = []

    def claim(self, tenant: str, conversation: str, *, budget: Budget | None = None) -> int:
        if self.seconds is None:
            self.answer.wait(10)
        else:
            time.sleep(self.seconds)
        self.claimed.append(conversation)
        return 1


def claim_all(worker: ClaimWorker, count: int) -> tuple[list[BaseException | None], float]:
    """``count`` claims made at once: their outcomes, and the seconds until the last."""

    async def claims() -> list[BaseException | None]:
        return await asyncio.gather(
            *(worker.claim("acme", f"c{i}:1") for i in range(count)), return_exceptions=True
        )

    started = time.monotonic()
    outcomes = asyncio.run(claims())
    return outcomes, time.monotonic() - started


def test_time_queued_behind_claims_the_database_answers_is_no_timeout() -> None:
    database = AnsweringDatabase(0.05)
    worker = ClaimWorker(database, timeout=1)  # type: ignore[arg-type]
    outcomes, waited = claim_all(worker, 40)
    assert outcomes == [None] * 40
    assert waited > 2  # the last waited twice the timeout, all of it while others were answered
    assert len(database.claimed) == 40


def test_claims_the_database_does_not_answer_time_out_after_the_timeout() -> None:
    database = AnsweringDatabase(None)
    worker = ClaimWorker(database, timeout=0.3)  # type: ignore[arg-type]
    try:
        outcomes, waited = claim_all(worker, 3)
    finally:
        database.answer.set()
    # The one on the database and the two queued behind it: no answer came for any of them.
    assert all(isinstance(outcome, TimeoutError) for outcome in outcomes)
    assert 0.25 < waited < 5


class SlowCheckpoint:
    """Stands in for the worker's ``in_place.checkpoint``: holds the write lock as RESTART
    does, until released (a checkpoint long enough to wait for cannot be had on demand), and records
    the claims that went to the thread."""

    def __init__(self, limits: ConversationLimits, monkeypatch: pytest.MonkeyPatch) -> None:
        self.limits = limits
        self.running, self.release = threading.Event(), threading.Event()
        self.on_thread: list[str] = []
        self.monkeypatch = monkeypatch
        limits.claim("acme", "warm:1")
        monkeypatch.setattr(limits, "claim", self.claim_on_thread)

    def checkpoint(self) -> None:
        self.in_place._uncheckpointed = 0  # as the real one does first
        holder = sqlite3.connect(self.limits.engine.url.database or "", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            self.running.set()
            self.release.wait(10)
            holder.execute("ROLLBACK")
        finally:
            holder.close()

    def claim_on_thread(
        self, tenant: str, conversation: str, *, budget: Budget | None = None
    ) -> int:
        self.on_thread.append(conversation)
        return ConversationLimits.claim(self.limits, tenant, conversation, budget=budget)

    async def start(self, worker: ClaimWorker) -> None:
        assert worker.in_place is not None
        self.in_place = worker.in_place
        self.monkeypatch.setattr(self.in_place, "checkpoint", self.checkpoint)
        self.in_place._uncheckpointed = CHECKPOINT_EVERY - 1  # the next claim in place is due
        await worker.claim("acme", "due:1")  # the checkpoint starts on the thread
        assert await asyncio.to_thread(self.running.wait, 10)


@pytest.fixture
def slow(
    store: Store, limits: ConversationLimits, monkeypatch: pytest.MonkeyPatch
) -> SlowCheckpoint:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's checkpoint")
    return SlowCheckpoint(limits, monkeypatch)


def test_claims_that_find_the_checkpoint_in_the_way_wait_for_it_on_the_loop(
    limits: ConversationLimits, slow: SlowCheckpoint
) -> None:
    worker = ClaimWorker(limits)

    async def claims() -> list[BaseException | None]:
        await slow.start(worker)
        waiting = [asyncio.ensure_future(worker.claim("acme", f"c{i}:1")) for i in range(5)]
        await eventually(lambda: len(worker._waiting) == 5, "five claims wait for the checkpoint")
        assert not any(claim.done() for claim in waiting)  # the lock is taken: they wait
        slow.release.set()
        return await asyncio.gather(*waiting, return_exceptions=True)

    assert asyncio.run(claims()) == [None] * 5
    assert slow.on_thread == []  # claimed in place once the checkpoint ended
    assert [limits.calls("acme", f"c{i}:1") for i in range(5)] == [1] * 5
    worker.close()


def test_a_claim_waits_for_the_checkpoint_no_longer_than_its_timeout(
    limits: ConversationLimits, slow: SlowCheckpoint
) -> None:
    worker = ClaimWorker(limits, timeout=0.3)

    async def claim() -> tuple[BaseException | None, float]:
        await slow.start(worker)
        started = time.monotonic()
        [outcome] = await asyncio.gather(worker.claim("acme", "late:1"), return_exceptions=True)
        waited = time.monotonic() - started
        slow.release.set()
        return outcome, waited

    outcome, waited = asyncio.run(claim())
    assert isinstance(outcome, TimeoutError)
    assert 0.25 < waited < 5  # well before the checkpoint's 10 s: it was not waited out
    assert slow.on_thread == []  # the time was up: not handed to the thread either
    assert limits.calls("acme", "late:1") == 0
    worker.close()
