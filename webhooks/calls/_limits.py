"""The per-conversation limit of webhook calls, counted atomically in the store.

One statement claims a call: an upsert that inserts the conversation's first call or adds one
to its count only while the count is below the limit. No row changed means the limit was
reached. PostgreSQL takes a row lock for the update, so two action-server replicas claiming at
once queue and re-check; SQLite serializes writers. Either way the count stays exact without a
read-modify-write race.

On a SQLite file the same statement can also be tried without waiting (:mod:`._inplace`), so
an event loop can claim in place and hand the claim to a thread only when another writer holds
the lock.

With a :class:`~webhooks.definitions._budgets.Budget`, the call is claimed against the tenant's (and
the action's) budget of calls per minute in the same transaction, and counted in all or none: on
PostgreSQL one statement (the budgets' upserts and the conversation's, chained so each runs only
when the one before counted), committed or rolled back in the round trip that commits a plain claim;
on SQLite the same upserts one after the other inside ``BEGIN IMMEDIATE`` (no network there). Every
claim takes the budgets' rows before the conversation's, so two claims never wait on each other in a
circle.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from .._exceptions import BudgetExhausted, ConversationLimitReached, NotFound, StoreUnavailable
from ..definitions._budgets import (
    BUDGET_WINDOW,
    POSTGRESQL_PERIOD,
    TENANT_SCOPE,
    Budget,
    sqlite_upsert,
)
from ..store import _schema as db

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
_BUDGET_SQLITE = sqlite_upsert(":{}")


#: The claim with budgets on PostgreSQL, in one statement: the tenant's budget, then the
#: action's own (where ``{action}`` is), then the conversation, each upsert inserting only from
#: the row the one before returned, so a refusal stops the chain. It returns the three counts,
#: None from the one that refused on; the caller then rolls back what the chain did count.
_CHAINED_POSTGRESQL = """
WITH tenant_budget AS (
    INSERT INTO call_budgets (tenant_id, scope, period, calls)
    VALUES (%(tenant_id)s, '*', {period}, 1)
    ON CONFLICT (tenant_id, scope) DO UPDATE SET
        calls = CASE WHEN call_budgets.period < excluded.period
            THEN 1 ELSE call_budgets.calls + 1 END,
        period = CASE WHEN call_budgets.period < excluded.period
            THEN excluded.period ELSE call_budgets.period END
    WHERE call_budgets.period < excluded.period OR call_budgets.calls < %(tenant_limit)s
    RETURNING calls
),{action}
conversation AS (
    INSERT INTO conversation_calls (tenant_id, conversation, calls, updated_at)
    SELECT %(tenant_id)s, %(conversation)s, 1, now() FROM {source}
    ON CONFLICT (tenant_id, conversation) DO UPDATE SET
        calls = conversation_calls.calls + 1, updated_at = now()
    WHERE conversation_calls.calls < %(limit)s
    RETURNING calls
)
SELECT (SELECT calls FROM tenant_budget), {action_calls}, (SELECT calls FROM conversation)
"""
_ACTION_BUDGET_POSTGRESQL = """
action_budget AS (
    INSERT INTO call_budgets (tenant_id, scope, period, calls)
    SELECT %(tenant_id)s, %(action)s, {period}, 1 FROM tenant_budget
    ON CONFLICT (tenant_id, scope) DO UPDATE SET
        calls = CASE WHEN call_budgets.period < excluded.period
            THEN 1 ELSE call_budgets.calls + 1 END,
        period = CASE WHEN call_budgets.period < excluded.period
            THEN excluded.period ELSE call_budgets.period END
    WHERE call_budgets.period < excluded.period OR call_budgets.calls < %(action_limit)s
    RETURNING calls
),"""
_PERIOD_POSTGRESQL = POSTGRESQL_PERIOD.format(window="%(window)s")
#: By whether the action has a budget of its own.
_CHAINS_POSTGRESQL = {
    False: _CHAINED_POSTGRESQL.format(
        period=_PERIOD_POSTGRESQL, action="", source="tenant_budget", action_calls="NULL"
    ),
    True: _CHAINED_POSTGRESQL.format(
        period=_PERIOD_POSTGRESQL,
        action=_ACTION_BUDGET_POSTGRESQL.format(period=_PERIOD_POSTGRESQL),
        source="action_budget",
        action_calls="(SELECT calls FROM action_budget)",
    ),
}


class ConversationLimits:
    """Claims webhook calls for conversations; thread-safe, shared by all requests."""

    def __init__(
        self,
        engine: Engine,
        *,
        limit: int = MAX_CALLS_PER_CONVERSATION,
        window: int = BUDGET_WINDOW,
    ) -> None:
        self.engine = engine
        self.limit = limit
        #: Seconds in a budget's window (a minute; shorter only in tests).
        self.window = window
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

    def claim(self, tenant: str, conversation: str, *, budget: Budget | None = None) -> int:
        """Count one more call for ``conversation``; its number (1 for the first).

        Raises :class:`ConversationLimitReached` when ``limit`` calls were already made, and
        :class:`BudgetExhausted` when ``budget`` (if given) is spent in this window; a refused
        attempt is counted nowhere.
        """
        if budget is not None:
            return self._claim_within(tenant, conversation, budget)
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

    def budget_values(self, tenant_id: int, budget: Budget) -> dict[str, object]:
        """The budget's parameters of the claim statements."""
        return {
            "tenant_id": tenant_id,
            "tenant_limit": budget.tenant,
            "action": budget.action,
            "action_limit": budget.per_action,
            "window": self.window,
        }

    def _claim_within(self, tenant: str, conversation: str, budget: Budget) -> int:
        values = self.budget_values(self._tenant_id(tenant), budget)
        values["conversation"] = stored_key(conversation)
        values["limit"] = self.limit
        per_action = budget.action is not None and budget.per_action is not None
        try:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                try:
                    if self._sqlite:
                        counts = sqlite_chain(cursor, values, per_action=per_action)
                    else:
                        cursor.execute(_CHAINS_POSTGRESQL[per_action], values)
                        row = cursor.fetchone()
                        counts = (row[0], row[1], row[2]) if row is not None else (None,) * 3
                        # The conversation counts last, so only when every count did.
                        if counts[2] is None:
                            raw.rollback()  # a budget counted a call a later count refused
                        else:
                            raw.commit()
                finally:
                    cursor.close()
            finally:
                raw.close()
        except self._unavailable as exc:
            raise StoreUnavailable() from exc
        return counted(counts, budget, self.limit)

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


def sqlite_chain(
    cursor: Any, values: dict[str, object], *, per_action: bool
) -> tuple[int | None, int | None, int | None]:
    """The claim with budgets on SQLite, on a DBAPI ``cursor`` in autocommit mode: each upsert
    in turn inside ``BEGIN IMMEDIATE``, stopping at the first that refuses; committed only when
    all counted. The three counts (1 for counted, the call's number for the conversation), None
    from the one that refused on."""
    cursor.execute("BEGIN IMMEDIATE")
    counts: tuple[int | None, int | None, int | None] = (None, None, None)
    try:
        cursor.execute(
            _BUDGET_SQLITE, {**values, "scope": TENANT_SCOPE, "limit": values["tenant_limit"]}
        )
        if cursor.rowcount == 1:
            counts = (1, None, None)
            if per_action:
                action = {**values, "scope": values["action"], "limit": values["action_limit"]}
                cursor.execute(_BUDGET_SQLITE, action)
            if not per_action or cursor.rowcount == 1:
                counts = (1, 1 if per_action else None, None)
                cursor.execute(_CLAIM_SQLITE, values)
                row = cursor.fetchone()
                if row is not None:
                    counts = (1, counts[1], int(row[0]))
    finally:
        complete = counts[2] is not None
        cursor.execute("COMMIT" if complete else "ROLLBACK")
    return counts


def counted(counts: tuple[int | None, int | None, int | None], budget: Budget, limit: int) -> int:
    """The conversation's call number from the chain's ``counts``, or the refusal raised."""
    tenant_count, action_count, conversation_count = counts
    if tenant_count is None:
        raise BudgetExhausted(TENANT_SCOPE, budget.tenant)
    if budget.action is not None and budget.per_action is not None and action_count is None:
        raise BudgetExhausted(budget.action, budget.per_action)
    if conversation_count is None:
        raise ConversationLimitReached(limit)
    return conversation_count
