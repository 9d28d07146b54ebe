"""The per-conversation limit of webhook calls, counted atomically in the store.

One statement claims a call: an upsert that inserts the conversation's first call or adds one
to its count only while the count is below the limit, returning the new count. No row back
means the limit was reached. PostgreSQL takes a row lock for the update, so two action-server
replicas claiming at once queue and re-check; SQLite serializes writers. Either way the count
stays exact without a read-modify-write race.

On SQLite the same statement can also be tried without waiting
(:meth:`ConversationLimits.claim_nowait`), so an event loop can claim in place and hand the
claims to a thread only when another writer holds the lock.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, select

from . import _schema as db
from ._exceptions import ConversationLimitReached, NotFound

__all__ = ["MAX_CALLS_PER_CONVERSATION", "ConversationLimits"]

#: At most this many webhook calls per conversation (product rule).
MAX_CALLS_PER_CONVERSATION = 10
#: Conversation keys longer than this are stored as a digest (sender ids come from clients).
MAX_KEY_LENGTH = 300


def conversation_key(conversation: str) -> str:
    """The stored key: the conversation itself, or its SHA-256 when it is too long to store.

    Cutting a long key instead would let two conversations that share a prefix share a count.
    """
    if len(conversation) <= MAX_KEY_LENGTH:
        return conversation
    return "sha256:" + hashlib.sha256(conversation.encode("utf-8")).hexdigest()


# One upsert claims calls. Kept as SQL text: the same statement in each driver's style, for
# one claim or (SQLite, in place) the rows of several; the count comes first in what it returns.
_CLAIM = """
INSERT INTO conversation_calls (tenant_id, conversation, calls, updated_at)
VALUES {rows}
ON CONFLICT (tenant_id, conversation)
DO UPDATE SET calls = conversation_calls.calls + 1, updated_at = {now}
WHERE conversation_calls.calls < {limit}
RETURNING calls, tenant_id, conversation
"""


def _claim_one(style: str) -> str:
    """The claim of one call, with named parameters in the driver's ``style``."""
    tenant_id, conversation, now, limit = (
        style.format(name) for name in ("tenant_id", "conversation", "now", "limit")
    )
    return _CLAIM.format(rows=f"({tenant_id}, {conversation}, 1, {now})", now=now, limit=limit)


_CLAIM_SQLITE = _claim_one(":{}")
_CLAIM_POSTGRESQL = _claim_one("%({})s")

#: Most claims :meth:`ConversationLimits.claim_nowait` takes at once: one statement's rows.
MAX_CLAIMS_AT_ONCE = 256


@functools.lru_cache(maxsize=MAX_CLAIMS_AT_ONCE)
def _claims_sqlite(rows: int) -> str:
    """The claim of ``rows`` calls on SQLite: parameters ``now`` and ``limit``, then each
    claim's tenant id and key, numbered so that ``now`` is bound once. SQLite inserts the rows
    in order, so each sees the ones before it, as separate statements would; RETURNING gives
    each row's new count."""
    placeholders = (f"(?{3 + 2 * row}, ?{4 + 2 * row}, 1, ?1)" for row in range(rows))
    return _CLAIM.format(rows=", ".join(placeholders), now="?1", limit="?2")


def _sqlite_now() -> str:
    """Now, as SQLAlchemy stores a UTC DateTime on SQLite (the raw statements bypass it)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


#: Claims made by :meth:`ConversationLimits.claim_nowait` between checkpoints. A claim adds at
#: most two or three pages to SQLite's write-ahead log, so this is about SQLite's own default
#: of checkpointing every 1,000 pages.
CHECKPOINT_EVERY = 400


class ConversationLimits:
    """Claims webhook calls for conversations; thread-safe, shared by all requests."""

    def __init__(self, engine: Engine, *, limit: int = MAX_CALLS_PER_CONVERSATION) -> None:
        self.engine = engine
        self.limit = limit
        self._sqlite = engine.dialect.name == "sqlite"
        self._sql = _CLAIM_SQLITE if self._sqlite else _CLAIM_POSTGRESQL
        self._tenant_ids: dict[str, int] = {}
        # In place only on a file: an in-memory database lives in its one pooled connection.
        database = engine.url.database or ""
        self._in_place = self._sqlite and database not in ("", ":memory:")
        # claim_nowait's SQLite connections by thread: each thread keeps to its own.
        self._nowait: dict[int, sqlite3.Connection] = {}
        self._nowait_lock = threading.Lock()
        self._uncheckpointed = 0

    def _tenant_id(self, tenant: str) -> int:
        known = self._tenant_ids.get(tenant)
        if known is None:
            with self.engine.connect() as connection:
                known = connection.scalar(select(db.Tenant.id).where(db.Tenant.name == tenant))
            if known is None:
                raise NotFound("tenant", tenant)
            self._tenant_ids[tenant] = known
        return known

    def claim(self, tenant: str, conversation: str) -> int:
        """Count one more call for ``conversation``; its number (1 for the first).

        Raises :class:`ConversationLimitReached` when ``limit`` calls were already made; that
        refused attempt is not counted.
        """
        values = {
            "tenant_id": self._tenant_id(tenant),
            "conversation": conversation_key(conversation),
            "now": _sqlite_now() if self._sqlite else datetime.now(UTC),
            "limit": self.limit,
        }
        # The DBAPI connection directly: this runs on every webhook call, and SQLAlchemy's
        # connection and transaction layers cost ten times the statement itself.
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(self._sql, values)
                row = cursor.fetchone()
            finally:
                cursor.close()
            if not self._sqlite:  # SQLite runs in autocommit mode (see _database.py)
                raw.commit()
        finally:
            raw.close()
        if row is None:
            raise ConversationLimitReached(self.limit)
        return int(row[0])

    def _nowait_connection(self) -> sqlite3.Connection:
        """The calling thread's connection for :meth:`claim_nowait` (made on first use)."""
        thread = threading.get_ident()
        connection = self._nowait.get(thread)
        if connection is None:
            # The engine's connect step sets WAL, foreign keys and synchronous=NORMAL; once
            # detached, the connection never returns to the pool with the settings below.
            proxied = self.engine.raw_connection()
            connection = cast(sqlite3.Connection, proxied.driver_connection)
            proxied.detach()
            # No busy timeout: "locked" is answered at once, never waited for. No automatic
            # checkpoint: it syncs the file in the middle of a claim; see checkpoint().
            connection.execute("PRAGMA busy_timeout = 0")
            connection.execute("PRAGMA wal_autocheckpoint = 0")
            with self._nowait_lock:
                self._nowait[thread] = connection
        return connection

    def open_in_place(self) -> None:
        """Open the calling thread's connection for :meth:`claim_nowait` now.

        Opening it may wait (a pool checkout, the connect step's pragmas under the engine's
        busy timeout), so an event loop calls this before it serves, not in its first claim.
        """
        if self._in_place:
            self._nowait_connection()

    def claim_nowait(
        self, claims: Sequence[tuple[str, str]]
    ) -> list[int | ConversationLimitReached] | None:
        """:meth:`claim` for each ``(tenant, conversation)`` at once, or ``None`` if it would wait.

        Returns each claim's outcome in order: its number, or the
        :class:`ConversationLimitReached` that :meth:`claim` would raise. Only a SQLite file
        can be claimed on without waiting: one statement writes a few pages to a local file,
        tens of microseconds, which an event loop can afford where a thread hop costs it
        milliseconds. The claims (at most :data:`MAX_CLAIMS_AT_ONCE`) are the rows of one
        upsert, which is its own transaction: a batch pays the lock, the statement and the
        commit once, and each claim sees the ones before it. It runs on a connection of the
        calling thread's own with no busy timeout: when another writer holds the lock (an admin
        change, another replica) SQLite refuses at once, nothing is counted, and this returns
        ``None``. So it does for a tenant not looked up yet, for an in-memory database, and
        always on PostgreSQL, whose answer comes over the network. Any other error is raised,
        with nothing counted either. Either way the caller may claim them again with
        :meth:`claim`, where waiting is allowed. These writes never checkpoint; call
        :meth:`checkpoint` (where waiting is allowed) when :attr:`checkpoint_due`.
        """
        if len(claims) > MAX_CLAIMS_AT_ONCE:
            raise ValueError(f"at most {MAX_CLAIMS_AT_ONCE} claims at once")
        if not self._in_place or not claims:
            return None
        tenant_ids = self._tenant_ids
        if any(tenant not in tenant_ids for tenant, _ in claims):
            return None  # looking a tenant up reads the database: done by claim()
        keys = [
            (tenant_ids[tenant], conversation_key(conversation)) for tenant, conversation in claims
        ]
        parameters: list[object] = [_sqlite_now(), self.limit]
        for key in keys:
            parameters += key
        connection = self._nowait_connection()
        cursor = connection.cursor()
        try:
            # Autocommit (the engine's connections leave transactions to us): the statement
            # is the transaction, committed once all its rows are read.
            rows = cursor.execute(_claims_sqlite(len(keys)), parameters).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:  # any kind of "locked"
                return None
            raise
        finally:
            cursor.close()
            if connection.in_transaction:  # never left open: it would hold the write lock
                connection.rollback()
        # A conversation's rows come back with its counts so far, one per claim that got one;
        # in claim order they rose one by one, and its claims past the limit got none.
        counts: dict[tuple[int, str], list[int]] = {}
        for calls, tenant_id, key in rows:
            counts.setdefault((tenant_id, key), []).append(int(calls))
        for numbers in counts.values():
            numbers.sort(reverse=True)  # popped from the end: lowest first
        outcomes: list[int | ConversationLimitReached] = []
        for key in keys:
            got = counts.get(key)
            outcomes.append(got.pop() if got else ConversationLimitReached(self.limit))
        self._uncheckpointed += len(outcomes)
        return outcomes

    @property
    def checkpoint_due(self) -> bool:
        """Whether :meth:`claim_nowait` wrote enough since the last :meth:`checkpoint`."""
        return self._uncheckpointed >= CHECKPOINT_EVERY

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file and start the log afresh.

        What SQLite's automatic checkpoint does in the writing connection, which
        :meth:`claim_nowait` turns off because it syncs the disk: call this where waiting is
        allowed. A passive checkpoint beside a steady stream of claims would never catch up
        with them, and the log would grow without end; RESTART holds the writers back while it
        copies (a few milliseconds, during which :meth:`claim_nowait` answers ``None``) and
        lets the next one start the log from its beginning. That first write syncs the log's
        new header: one short sync in place every :data:`CHECKPOINT_EVERY` claims, where the
        automatic checkpoint would sync twice and copy every page there. It waits for nobody:
        with a writer or reader in the way it copies what it can, and the next one finishes.
        Nothing to do on PostgreSQL.
        """
        self._uncheckpointed = 0
        if not self._in_place:
            return
        cursor = self._nowait_connection().cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(RESTART)")
        finally:
            cursor.close()

    def close(self) -> None:
        """Close :meth:`claim_nowait`'s connections (the engine's pool is the caller's)."""
        with self._nowait_lock:
            connections, self._nowait = self._nowait, {}
        for connection in connections.values():
            connection.close()

    def calls(self, tenant: str, conversation: str) -> int:
        """How many calls ``conversation`` has made (0 if none)."""
        with self.engine.connect() as connection:
            count = connection.scalar(
                select(db.ConversationCalls.calls).where(
                    db.ConversationCalls.tenant_id == self._tenant_id(tenant),
                    db.ConversationCalls.conversation == conversation_key(conversation),
                )
            )
        return int(count or 0)
