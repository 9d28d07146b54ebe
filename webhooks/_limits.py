"""The per-conversation limit of webhook calls, counted atomically in the store.

One statement claims a call: an upsert that inserts the conversation's first call or adds one
to its count only while the count is below the limit, returning the new count. No row back
means the limit was reached. PostgreSQL takes a row lock for the update, so two action-server
replicas claiming at once queue and re-check; SQLite serializes writers. Either way the count
stays exact without a read-modify-write race.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from . import _schema as db
from ._exceptions import ConversationLimitReached, NotFound

__all__ = ["MAX_CALLS_PER_CONVERSATION", "ConversationLimits"]

#: At most this many webhook calls per conversation (product rule).
MAX_CALLS_PER_CONVERSATION = 10
#: Conversation keys longer than this are cut (sender ids are chosen by chat clients).
MAX_KEY_LENGTH = 300


class ConversationLimits:
    """Claims webhook calls for conversations; thread-safe, shared by all requests."""

    def __init__(self, engine: Engine, *, limit: int = MAX_CALLS_PER_CONVERSATION) -> None:
        self.engine = engine
        self.limit = limit
        self._tenant_ids: dict[str, int] = {}

    def _tenant_id(self, tenant: str) -> int:
        known = self._tenant_ids.get(tenant)
        if known is None:
            with self.engine.connect() as connection:
                known = connection.scalar(select(db.Tenant.id).where(db.Tenant.name == tenant))
            if known is None:
                raise NotFound("tenant", tenant)
            self._tenant_ids[tenant] = known
        return known

    def _claim_statement(self, tenant_id: int, key: str, now: datetime) -> ReturningInsert[Any]:
        row = db.ConversationCalls
        values = {"tenant_id": tenant_id, "conversation": key, "calls": 1, "updated_at": now}
        conflict: dict[str, Any] = {
            "index_elements": [row.tenant_id, row.conversation],
            "set_": {"calls": row.calls + 1, "updated_at": now},
            "where": row.calls < self.limit,
        }
        if self.engine.dialect.name == "postgresql":
            pg = postgresql.insert(row).values(values).on_conflict_do_update(**conflict)
            return pg.returning(row.calls)
        lite = sqlite.insert(row).values(values).on_conflict_do_update(**conflict)
        return lite.returning(row.calls)

    def claim(self, tenant: str, conversation: str) -> int:
        """Count one more call for ``conversation``; its number (1 for the first).

        Raises :class:`ConversationLimitReached` when ``limit`` calls were already made; that
        refused attempt is not counted.
        """
        statement = self._claim_statement(
            self._tenant_id(tenant), conversation[:MAX_KEY_LENGTH], datetime.now(UTC)
        )
        with self.engine.begin() as connection:
            calls = connection.scalar(statement)
        if calls is None:
            raise ConversationLimitReached(self.limit)
        return int(calls)

    def calls(self, tenant: str, conversation: str) -> int:
        """How many calls ``conversation`` has made (0 if none)."""
        with self.engine.connect() as connection:
            count = connection.scalar(
                select(db.ConversationCalls.calls).where(
                    db.ConversationCalls.tenant_id == self._tenant_id(tenant),
                    db.ConversationCalls.conversation == conversation[:MAX_KEY_LENGTH],
                )
            )
        return int(count or 0)
