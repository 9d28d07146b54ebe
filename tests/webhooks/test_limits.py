"""The per-conversation call limit, counted atomically on both engines."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text

from webhooks import (
    ConversationLimitReached,
    ConversationLimits,
    NotFound,
    Store,
    StoreUnavailable,
    make_engine,
)
from webhooks.calls._inplace import CHECKPOINT_EVERY, InPlaceClaims
from webhooks.store import _schema as db


def frames_in_log(store: Store) -> int:
    """Frames in SQLite's write-ahead log (a passive checkpoint of another connection tells)."""
    raw = store.engine.raw_connection()
    try:
        return int(raw.driver_connection.execute("PRAGMA wal_checkpoint").fetchone()[1])
    finally:
        raw.close()


@pytest.fixture
def limits(store: Store) -> ConversationLimits:
    store.accounts.create_tenant("acme", actor="test")
    return ConversationLimits(store.engine)


@pytest.fixture
def in_place(limits: ConversationLimits) -> Iterator[InPlaceClaims]:
    claims = InPlaceClaims(limits)
    yield claims
    claims.close()


def test_the_eleventh_call_is_refused_and_not_counted(limits: ConversationLimits) -> None:
    assert [limits.claim("acme", "alice:1") for _ in range(10)] == list(range(1, 11))
    with pytest.raises(ConversationLimitReached) as caught:
        limits.claim("acme", "alice:1")
    assert caught.value.category == "rate_limited"
    assert limits.calls("acme", "alice:1") == 10


def test_conversations_and_tenants_are_counted_apart(
    store: Store, limits: ConversationLimits
) -> None:
    store.accounts.create_tenant("globex", actor="test")
    for _ in range(10):
        limits.claim("acme", "alice:1")
    assert limits.claim("acme", "alice:2") == 1  # a new session of the same sender
    assert limits.claim("acme", "bob:1") == 1
    assert limits.claim("globex", "alice:1") == 1


def test_unknown_tenant_is_not_found(limits: ConversationLimits) -> None:
    with pytest.raises(NotFound):
        limits.claim("nobody", "x")


def test_concurrent_claims_stop_at_exactly_the_limit(store: Store, database_url: str) -> None:
    store.accounts.create_tenant("acme", actor="test")
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
    store: Store, limits: ConversationLimits, in_place: InPlaceClaims
) -> None:
    if store.engine.dialect.name != "sqlite":
        assert not InPlaceClaims.possible(limits)  # its answer comes over the network
        return
    assert InPlaceClaims.possible(limits)
    assert in_place.claim("acme", "alice:1") is False  # tenant not looked up yet
    assert limits.calls("acme", "alice:1") == 0
    assert limits.claim("acme", "alice:1") == 1
    assert in_place.claim("acme", "alice:1") is True
    assert in_place.claim("acme", "bob:1") is True
    assert limits.calls("acme", "alice:1") == 2
    for _ in range(8):
        assert in_place.claim("acme", "alice:1") is True
    with pytest.raises(ConversationLimitReached):
        in_place.claim("acme", "alice:1")  # and not counted
    assert limits.calls("acme", "alice:1") == 10
    assert limits.calls("acme", "bob:1") == 1
    with pytest.raises(ConversationLimitReached):
        limits.claim("acme", "alice:1")


def test_claims_in_place_of_two_tenants_and_long_keys_are_counted_apart(
    store: Store, limits: ConversationLimits, in_place: InPlaceClaims
) -> None:
    _sqlite_only(store)
    store.accounts.create_tenant("globex", actor="test")
    limits.claim("acme", "warm:1")
    limits.claim("globex", "warm:1")
    long_key = "x" * 400  # stored as its digest
    assert in_place.claim("acme", "alice:1")
    assert in_place.claim("globex", "alice:1")
    assert in_place.claim("acme", long_key)
    assert in_place.claim("acme", "alice:1")
    assert limits.claim("acme", long_key) == 2
    assert limits.calls("acme", "alice:1") == 2
    assert limits.calls("globex", "alice:1") == 1


def test_a_claim_in_place_never_waits_for_another_writer(
    store: Store, limits: ConversationLimits, in_place: InPlaceClaims
) -> None:
    _sqlite_only(store)
    limits.claim("acme", "warm:1")
    other = store.engine.raw_connection()
    try:
        other.driver_connection.execute("BEGIN IMMEDIATE")  # holds the write lock
        started = time.monotonic()
        assert in_place.claim("acme", "alice:1") is False
        # Well before the engine's busy timeout (30 s), which a claim that waited would take.
        assert time.monotonic() - started < 10
        other.driver_connection.execute("ROLLBACK")
    finally:
        other.close()
    assert limits.calls("acme", "alice:1") == 0  # refused, so not counted
    assert in_place.claim("acme", "alice:1") is True
    assert limits.calls("acme", "alice:1") == 1


def test_a_failing_claim_in_place_is_raised_and_counts_nothing(
    store: Store, limits: ConversationLimits, in_place: InPlaceClaims
) -> None:
    _sqlite_only(store)
    limits.claim("acme", "warm:1")  # the tenant's id is now known
    with store.engine.begin() as connection:  # and the tenant deleted behind its back
        connection.execute(delete(db.Tenant).where(db.Tenant.name == "acme"))
    with pytest.raises(sqlite3.IntegrityError):  # its foreign key: not a "would wait"
        in_place.claim("acme", "alice:1")
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(db.ConversationCalls)) == 0
    # The write lock was given back: another writer gets it at once.
    store.accounts.create_tenant("globex", actor="test")


def test_both_claims_stamp_the_conversation_with_the_time_in_utc(
    store: Store, limits: ConversationLimits, in_place: InPlaceClaims
) -> None:
    def stamped(conversation: str) -> datetime:
        with store.engine.connect() as connection:
            at = connection.scalar(
                select(db.ConversationCalls.updated_at).where(
                    db.ConversationCalls.conversation == conversation
                )
            )
        assert isinstance(at, datetime)  # read back through the column's type
        return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite keeps UTC without a zone

    before = datetime.now(UTC) - timedelta(seconds=1)
    limits.claim("acme", "alice:1")
    assert before <= stamped("alice:1") <= datetime.now(UTC) + timedelta(seconds=1)
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as connection:
            stored = connection.scalar(text("SELECT updated_at FROM conversation_calls"))
        # As SQLAlchemy itself writes a DateTime on SQLite (its storage format).
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stored)
        first = stamped("alice:1")
        while datetime.now(UTC) < first + timedelta(milliseconds=1):  # stamps are to the ms
            time.sleep(0.001)
        assert in_place.claim("acme", "alice:1")
        assert first < stamped("alice:1") <= datetime.now(UTC) + timedelta(seconds=1)


def test_checkpoints_keep_the_log_from_growing(
    store: Store, limits: ConversationLimits, in_place: InPlaceClaims
) -> None:
    _sqlite_only(store)
    limits.claim("acme", "warm:1")

    for claim in range(CHECKPOINT_EVERY):
        assert in_place.claim("acme", f"c{claim}:1")
    assert in_place.checkpoint_due
    # At least a page per commit: claims in place never checkpoint by themselves.
    assert frames_in_log(store) >= CHECKPOINT_EVERY
    in_place.checkpoint()
    assert not in_place.checkpoint_due
    assert in_place.claim("acme", "after:1")
    assert frames_in_log(store) < 10  # the log started afresh


def test_a_database_that_cannot_be_reached_is_unavailable_from_the_first_claim(
    tmp_path: Path,
) -> None:
    # The tenant's first claim looks its id up: a database that is away then is the store
    # being unavailable (answered politely), not an unexpected error.
    engine = make_engine(f"sqlite:///{tmp_path}/missing-directory/webhooks.db")
    limits = ConversationLimits(engine)
    with pytest.raises(StoreUnavailable):
        limits.claim("acme", "alice:1")
    engine.dispose()


def test_claims_in_place_need_a_database_file() -> None:
    engine = make_engine("sqlite://")  # in memory: it lives in its one pooled connection
    assert not InPlaceClaims.possible(ConversationLimits(engine))
    engine.dispose()
