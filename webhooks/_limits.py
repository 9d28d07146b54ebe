"""The per-conversation limit of webhook calls, counted atomically in the store.

One statement claims a call: an upsert that inserts the conversation's first call or adds one
to its count only while the count is below the limit. No row changed means the limit was
reached. PostgreSQL takes a row lock for the update, so two action-server replicas claiming at
once queue and re-check; SQLite serializes writers. Either way the count stays exact without a
read-modify-write race.

On a SQLite file the same statement can also be tried without waiting (:mod:`._inplace`), so
an event loop can claim in place and hand the claim to a thread only when another writer holds
the lock.
"""

from __future__ import annotations

import hashlib

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


#: One upsert claims a call. Kept as SQL text: the same statement in each driver's style. The
#: time is the database's own: on SQLite, UTC as SQLAlchemy stores a DateTime there (to the
#: millisecond), so no datetime is made and formatted in Python for every call.
CLAIM_SQL = """
INSERT INTO conversation_calls (tenant_id, conversation, calls, updated_at)
VALUES ({tenant_id}, {conversation}, 1, {now})
ON CONFLICT (tenant_id, conversation)
DO UPDATE SET calls = conversation_calls.calls + 1, updated_at = {now}
WHERE conversation_calls.calls < {limit}
"""
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def _claim_returning(style: str, now: str) -> str:
    """The claim that waits (:meth:`ConversationLimits.claim`), with named parameters in the
    driver's ``style``: it returns the call's number."""
    names = ("tenant_id", "conversation", "limit")
    claim = CLAIM_SQL.format(now=now, **{name: style.format(name) for name in names})
    return claim + "RETURNING calls"


_CLAIM_SQLITE = _claim_returning(":{}", SQLITE_NOW)
_CLAIM_POSTGRESQL = _claim_returning("%({})s", "now()")


class ConversationLimits:
    """Claims webhook calls for conversations; thread-safe, shared by all requests."""

    def __init__(self, engine: Engine, *, limit: int = MAX_CALLS_PER_CONVERSATION) -> None:
        self.engine = engine
        self.limit = limit
        self._sqlite = engine.dialect.name == "sqlite"
        self._sql = _CLAIM_SQLITE if self._sqlite else _CLAIM_POSTGRESQL
        #: The ids of the tenants looked up so far (the claims in place read them here).
        self.tenant_ids: dict[str, int] = {}
        # A database that went away, as SQLAlchemy and the driver (psycopg, sqlite3) say it.
        dbapi = engine.dialect.loaded_dbapi
        self._unavailable: tuple[type[Exception], ...] = (
            OperationalError,
            dbapi.OperationalError,
            dbapi.InterfaceError,
        )

    def _tenant_id(self, tenant: str) -> int:
        known = self.tenant_ids.get(tenant)
        if known is None:
            try:
                with self.engine.connect() as connection:
                    query = select(db.Tenant.id).where(db.Tenant.name == tenant)
                    known = connection.scalar(query)
            except self._unavailable as exc:  # as in claim(): nothing was counted
                raise StoreUnavailable() from exc
            if known is None:
                raise NotFound("tenant", tenant)
            self.tenant_ids[tenant] = known
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
