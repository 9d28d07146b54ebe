"""The per-conversation call limit, counted atomically on both engines."""

from __future__ import annotations

import threading

import pytest

from webhooks import ConversationLimitReached, ConversationLimits, NotFound, Store, make_engine


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
