"""Budgets of webhook calls per minute: a tenant's, for all its actions together, and an
action's own, shared by every replica of every server.

The conversation limit (:mod:`webhooks.calls._limits`) is per conversation, and a new sender id or
MCP session costs nothing; a budget bounds what a flood through the bot can send to an operator's
service. It is counted in the store, in the same transaction as the conversation's call
(:class:`~webhooks.calls._limits.ConversationLimits`), so a call is counted in every count or in
none.

A fixed window, not a sliding one: one row per budget (``call_budgets``), holding the number
of the current window and its count, and one conditional upsert that adds a call while the
count is under the budget, or starts the count again in a new window. Exact across replicas
for the same reason as the conversation limit (a row lock on PostgreSQL, one writer on
SQLite), with no row per call to keep or clean up. The cost: up to twice the budget can pass
within a minute that straddles two windows, which bounds a flood as well as a budget half as
large would. The window's number comes from the database's clock, so replicas whose clocks
differ still agree.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BUDGET_OUTCOME",
    "BUDGET_WINDOW",
    "DEFAULT_TENANT_BUDGET",
    "MAX_BUDGET",
    "TENANT_SCOPE",
    "Budget",
]

#: Seconds in a budget's window: budgets are calls per minute. Tests pass another length to
#: :class:`~webhooks.calls._limits.ConversationLimits` so a window ends without waiting a minute.
BUDGET_WINDOW = 60
#: A new tenant's budget of webhook calls per minute (tenant admins change it).
DEFAULT_TENANT_BUDGET = 600
#: The largest budget an admin may set, tenant or action: beyond it a budget protects nothing.
MAX_BUDGET = 1_000_000
#: The metrics outcome (and log category) of a call a budget refused, apart from
#: ``rate_limited`` (the conversation's limit) so operators tell the two apart.
BUDGET_OUTCOME = "over_budget"
#: The ``scope`` of a tenant's own budget row (an action's row is scoped by its name, which
#: can never be ``*``).
TENANT_SCOPE = "*"


@dataclass(frozen=True, slots=True)
class Budget:
    """The budgets one call is claimed against: the tenant's calls per minute, and the
    action's own (``action`` its name) when it has one."""

    tenant: int
    action: str | None = None
    per_action: int | None = None


#: Adds one call to a budget's row in the current window, or starts the window's count, while
#: the count is under the budget. ``{period}`` is the window's number in SQL. A window never
#: goes back: a claim whose transaction began in the window before, and waited on the row
#: while another began the next, counts in the newer window instead of starting the old again.
UPSERT_SQL = """
INSERT INTO call_budgets (tenant_id, scope, period, calls)
VALUES ({tenant_id}, {scope}, {period}, 1)
ON CONFLICT (tenant_id, scope)
DO UPDATE SET
    calls = CASE WHEN call_budgets.period < excluded.period THEN 1 ELSE call_budgets.calls + 1 END,
    period = CASE WHEN call_budgets.period < excluded.period
        THEN excluded.period ELSE call_budgets.period END
WHERE call_budgets.period < excluded.period OR call_budgets.calls < {limit}
"""
#: The window's number from the database's clock, on each engine.
SQLITE_PERIOD = "CAST(strftime('%s', 'now') AS INTEGER) / {window}"
POSTGRESQL_PERIOD = "CAST(floor(extract(epoch FROM now()) / {window}) AS BIGINT)"


def sqlite_upsert(style: str) -> str:
    """The upsert for SQLite with parameters ``tenant_id``, ``scope``, ``limit`` and
    ``window`` named in ``style`` (``":{}"``, or ``"?{}"`` with their numbers)."""
    names = {name: style.format(name) for name in ("tenant_id", "scope", "limit", "window")}
    period = SQLITE_PERIOD.format(window=names["window"])
    return UPSERT_SQL.format(
        tenant_id=names["tenant_id"], scope=names["scope"], limit=names["limit"], period=period
    )
