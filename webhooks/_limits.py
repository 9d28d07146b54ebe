"""The per-conversation limit of webhook calls, counted atomically in the store.

One statement claims a call: an upsert that inserts the conversation's first call or adds one
to its count only while the count is below the limit. No row changed means the limit was
reached. PostgreSQL takes a row lock for the update, so two action-server replicas claiming at
once queue and re-check; SQLite serializes writers. Either way the count stays exact without a
read-modify-write race.

On SQLite the same statement can also be tried without waiting
(:meth:`ConversationLimits.claim_nowait`), so an event loop can claim in place and hand the
claim to a thread only when another writer holds the lock.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from typing import cast

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from . import _schema as db
from ._exceptions import ConversationLimitReached, NotFound, StoreUnavailable

__all__ = ["MAX_CALLS_PER_CONVERSATION", "ConversationLimits"]

#: At most this many webhook calls per conversation (product rule).
MAX_CALLS_PER_CONVERSATION = 10
#: Conversation keys longer than this are stored as a digest (sender ids come from clients).
MAX_KEY_LENGTH = 300


def stored_key(conversation: str) -> str:
    """The stored key: the conversation itself, or its SHA-256 when it is too long to store.

    Cutting a long key instead would let two conversations that share a prefix share a count.
    """
    if len(conversation) <= MAX_KEY_LENGTH:
        return conversation
    return "sha256:" + hashlib.sha256(conversation.encode("utf-8")).hexdigest()


# One upsert claims a call. Kept as SQL text: the same statement in each driver's style. The
# time is the database's own: on SQLite, UTC as SQLAlchemy stores a DateTime there (to the
# millisecond), so no datetime is made and formatted in Python for every call.
_CLAIM = """
INSERT INTO conversation_calls (tenant_id, conversation, calls, updated_at)
VALUES ({tenant_id}, {conversation}, 1, {now})
ON CONFLICT (tenant_id, conversation)
DO UPDATE SET calls = conversation_calls.calls + 1, updated_at = {now}
WHERE conversation_calls.calls < {limit}
"""
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def _claim_returning(style: str, now: str) -> str:
    """The claim that waits (:meth:`ConversationLimits.claim`), with named parameters in the
    driver's ``style``: it returns the call's number."""
    names = ("tenant_id", "conversation", "limit")
    claim = _CLAIM.format(now=now, **{name: style.format(name) for name in names})
    return claim + "RETURNING calls"


_CLAIM_SQLITE = _claim_returning(":{}", _SQLITE_NOW)
_CLAIM_POSTGRESQL = _claim_returning("%({})s", "now()")
#: The claim in place only needs to know whether a row changed: RETURNING would cost it as
#: much again (callgrind: 60,000 instructions a claim with it, 33,000 without).
_CLAIM_IN_PLACE = _CLAIM.format(tenant_id="?1", conversation="?2", limit="?3", now=_SQLITE_NOW)

#: Claims made by :meth:`ConversationLimits.claim_nowait` between checkpoints. Each claim is
#: its own commit and adds a page or two to SQLite's write-ahead log (1.5 on average, with
#: the conversations' keys in no order), so the log stays within a few megabytes; other
#: connections' commits past 1,000 pages checkpoint it as SQLite does by default.
CHECKPOINT_EVERY = 1000


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
        # A database that went away, as SQLAlchemy and the driver (psycopg, sqlite3) say it.
        dbapi = engine.dialect.loaded_dbapi
        self._unavailable: tuple[type[Exception], ...] = (
            OperationalError,
            dbapi.OperationalError,
            dbapi.InterfaceError,
        )

    def _tenant_id(self, tenant: str) -> int:
        known = self._tenant_ids.get(tenant)
        if known is None:
            try:
                with self.engine.connect() as connection:
                    query = select(db.Tenant.id).where(db.Tenant.name == tenant)
                    known = connection.scalar(query)
            except self._unavailable as exc:  # as in claim(): nothing was counted
                raise StoreUnavailable() from exc
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
            "conversation": stored_key(conversation),
            "limit": self.limit,
        }
        # The DBAPI connection directly: this runs on every webhook call, and SQLAlchemy's
        # connection and transaction layers cost ten times the statement itself.
        try:
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
        except self._unavailable as exc:
            # The database went away (a restart, a cut): nothing was counted.
            raise StoreUnavailable() from exc
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

    def claim_nowait(self, tenant: str, conversation: str) -> bool:
        """:meth:`claim` if it need not wait: whether the call was counted.

        Raises :class:`ConversationLimitReached` like :meth:`claim` (nothing counted). Only a
        SQLite file can be claimed on without waiting: the statement writes a page or two to a
        local file, tens of microseconds, which an event loop can afford where a thread hop
        costs it far more. It runs on a connection of the calling thread's own with no busy
        timeout: when another writer holds the lock (an admin change, another replica, a
        checkpoint) SQLite refuses at once, nothing is counted, and this returns ``False``. So
        it does for a tenant not looked up yet, for an in-memory database, and always on
        PostgreSQL, whose answer comes over the network. Any other error is raised, with
        nothing counted either. Either way the caller may claim again with :meth:`claim`,
        where waiting is allowed. These writes never checkpoint; call :meth:`checkpoint`
        (where waiting is allowed) when :attr:`checkpoint_due`.
        """
        if not self._in_place:
            return False
        tenant_id = self._tenant_ids.get(tenant)
        if tenant_id is None:
            return False  # looking a tenant up reads the database: done by claim()
        connection = self._nowait_connection()
        try:
            # Autocommit (the engine's connections leave transactions to us): the statement
            # is the transaction, done and committed when execute() returns.
            changed = connection.execute(
                _CLAIM_IN_PLACE, (tenant_id, stored_key(conversation), self.limit)
            ).rowcount
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:  # any kind of "locked"
                return False
            raise
        if changed != 1:  # the upsert's WHERE kept the row as it was: at the limit
            raise ConversationLimitReached(self.limit)
        self._uncheckpointed += 1
        return True

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
        copies (during which :meth:`claim_nowait` answers ``False``) and lets the next one
        start the log from its beginning. So a passive checkpoint first copies what is there
        without holding anyone back (6 ms for the 1,500 frames of 1,000 claims, measured), and
        RESTART then only copies the few frames written meanwhile (it still syncs the log and
        the database file before it lets the writers go). The next write syncs the log's new
        header: one short sync in place every :data:`CHECKPOINT_EVERY` claims. It waits for
        nobody: with a writer or reader in the way it copies what it can, and the next one
        finishes. Nothing to do on PostgreSQL.
        """
        self._uncheckpointed = 0
        if not self._in_place:
            return
        connection = self._nowait_connection()
        with self._nowait_lock:  # close() waits for it: closed under it, it would crash
            if self._nowait.get(threading.get_ident()) is not connection:
                return  # closed meanwhile
            cursor = connection.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.execute("PRAGMA wal_checkpoint(RESTART)")
            finally:
                cursor.close()

    def close(self) -> None:
        """Close :meth:`claim_nowait`'s connections (the engine's pool is the caller's).

        Waits for a :meth:`checkpoint` under way on another thread."""
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
                    db.ConversationCalls.conversation == stored_key(conversation),
                )
            )
        return int(count or 0)
