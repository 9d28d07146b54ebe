"""The claim worker: claims in place on SQLite, on its thread when that would wait."""

from __future__ import annotations

import asyncio
import threading

import pytest

from actions._service import ClaimWorker
from webhooks import ConversationLimitReached, ConversationLimits, Store


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
