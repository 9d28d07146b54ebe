"""The per-conversation call limit, counted atomically on both engines."""

from __future__ import annotations

import threading
import time

import pytest

from webhooks import ConversationLimitReached, ConversationLimits, NotFound, Store, make_engine
from webhooks._limits import CHECKPOINT_EVERY, MAX_CLAIMS_AT_ONCE


@pytest.fixture
def limits(store: Store) -> ConversationLimits:
    store.create_tenant("acme", actor="test")
    return ConversationLimits(store.engine)


def test_the_eleventh_call_is_refused_and_not_counted(limits: ConversationLimits) -> None:
    assert [limits.claim("acme", "alice:1") for _ in range(10)] == list(range(1, 11))
    with pytest.raises(ConversationLimitReached) as caught:
        limits.claim("acme", "alice:1")
    assert caught.value.category == "rate_limited"
    assert limits.calls("acme", "alice:1") == 10


def test_conversations_and_tenants_are_counted_apart(
    store: Store, limits: ConversationLimits
) -> None:
    store.create_tenant("globex", actor="test")
    for _ in range(10):
        limits.claim("acme", "alice:1")
    assert limits.claim("acme", "alice:2") == 1  # a new session of the same sender
    assert limits.claim("acme", "bob:1") == 1
    assert limits.claim("globex", "alice:1") == 1


def test_unknown_tenant_is_not_found(limits: ConversationLimits) -> None:
    with pytest.raises(NotFound):
        limits.claim("nobody", "x")


def test_concurrent_claims_stop_at_exactly_the_limit(store: Store, database_url: str) -> None:
    store.create_tenant("acme", actor="test")
    engine = make_engine(database_url, pool_size=20, max_overflow=0)
    shared = ConversationLimits(engine)
    barrier = threading.Barrier(20)
    granted: list[int] = []
    refused: list[BaseException] = []

    def claim() -> None:
        barrier.wait()
        for _ in range(3):
            try:
                granted.append(shared.claim("acme", "busy:1"))
            except ConversationLimitReached as exc:
                refused.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    assert sorted(granted) == list(range(1, 11))
    assert len(refused) == 50


def test_long_conversation_keys_are_counted_apart(limits: ConversationLimits) -> None:
    prefix = "s" * 400
    for _ in range(10):
        limits.claim("acme", prefix + ":1")
    assert limits.claim("acme", prefix + ":2") == 1


def _sqlite_only(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("claims in place are SQLite's")


def test_claims_in_place_count_like_claim_and_see_each_other(
    store: Store, limits: ConversationLimits
) -> None:
    try:
        if store.engine.dialect.name != "sqlite":
            assert limits.claim_nowait([("acme", "alice:1")]) is None  # over the network
            return
        assert limits.claim_nowait([("acme", "alice:1")]) is None  # tenant not looked up yet
        assert limits.claim("acme", "alice:1") == 1
        outcomes = limits.claim_nowait(
            [("acme", "alice:1"), ("acme", "bob:1")] + 9 * [("acme", "alice:1")]
        )
        assert outcomes is not None
        assert outcomes[:2] == [2, 1]
        assert outcomes[2:10] == list(range(3, 11))
        assert isinstance(outcomes[10], ConversationLimitReached)  # and not counted
        assert limits.calls("acme", "alice:1") == 10
        with pytest.raises(ConversationLimitReached):
            limits.claim("acme", "alice:1")
    finally:
        limits.close()


def test_claims_in_place_of_two_tenants_and_long_keys_are_counted_apart(
    store: Store, limits: ConversationLimits
) -> None:
    _sqlite_only(store)
    store.create_tenant("globex", actor="test")
    limits.claim("acme", "warm:1")
    limits.claim("globex", "warm:1")
    long_key = "x" * 400  # stored as its digest
    outcomes = limits.claim_nowait(
        [("acme", "alice:1"), ("globex", "alice:1"), ("acme", long_key), ("acme", "alice:1")]
    )
    assert outcomes == [1, 1, 1, 2]
    assert limits.claim("acme", long_key) == 2
    assert limits.calls("globex", "alice:1") == 1
    with pytest.raises(ValueError, match="at most"):
        limits.claim_nowait([("acme", f"c{i}:1") for i in range(MAX_CLAIMS_AT_ONCE + 1)])
    limits.close()


def test_a_claim_in_place_never_waits_for_another_writer(
    store: Store, limits: ConversationLimits
) -> None:
    _sqlite_only(store)
    limits.claim("acme", "warm:1")
    other = store.engine.raw_connection()
    try:
        other.driver_connection.execute("BEGIN IMMEDIATE")  # holds the write lock
        started = time.monotonic()
        assert limits.claim_nowait([("acme", "alice:1")]) is None
        assert time.monotonic() - started < 1  # the engine's busy timeout is 30 s
        other.driver_connection.execute("ROLLBACK")
    finally:
        other.close()
    assert limits.calls("acme", "alice:1") == 0  # refused, so not counted
    assert limits.claim_nowait([("acme", "alice:1")]) == [1]
    limits.close()


def test_a_failing_batch_counts_nothing(store: Store, limits: ConversationLimits) -> None:
    _sqlite_only(store)
    limits.claim("acme", "warm:1")
    with pytest.raises(TypeError):  # a conversation the statement cannot bind
        limits.claim_nowait([("acme", "alice:1"), ("acme", object())])  # type: ignore[list-item]
    assert limits.calls("acme", "alice:1") == 0
    limits.close()


def test_checkpoints_keep_the_log_from_growing(store: Store, limits: ConversationLimits) -> None:
    _sqlite_only(store)
    limits.claim("acme", "warm:1")

    def frames_in_log() -> int:
        raw = store.engine.raw_connection()
        try:
            return int(raw.driver_connection.execute("PRAGMA wal_checkpoint").fetchone()[1])
        finally:
            raw.close()

    for batch in range(CHECKPOINT_EVERY // 10):
        assert limits.claim_nowait([("acme", f"c{batch}-{i}:1") for i in range(10)]) is not None
    assert limits.checkpoint_due
    # At least a page per commit: claims in place never checkpoint by themselves.
    assert frames_in_log() >= CHECKPOINT_EVERY // 10
    limits.checkpoint()
    assert not limits.checkpoint_due
    assert limits.claim_nowait([("acme", "after:1")]) == [1]
    assert frames_in_log() < 10  # the log started afresh
    limits.close()
