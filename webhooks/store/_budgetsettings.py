"""The tenant's budget of webhook calls per minute, as its admins set it (``store.budgets``).

An action's own budget is a field of its definition (:mod:`._catalog`); the tenant's budget,
for all its actions together, is set here. Either change bumps the tenant's version, so every
replica's cache (:class:`~._registry.Registry`) claims against the new budget within its
refresh.
"""

from __future__ import annotations

from .._exceptions import FieldError, InvalidDefinition
from ..definitions._budgets import MAX_BUDGET
from ._records import Tenant
from ._tables import Tables

__all__ = ["BudgetSettings"]


class BudgetSettings:
    """Setting a tenant's budget of calls per minute, with its audit entry."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def set_calls_per_minute(self, tenant: str, calls: object, *, actor: str) -> Tenant:
        """Set ``tenant``'s budget to ``calls`` webhook calls per minute (1 to
        :data:`MAX_BUDGET`); :class:`InvalidDefinition` for anything else."""
        # bool is an int in Python; true is no budget.
        if not isinstance(calls, int) or isinstance(calls, bool) or not 1 <= calls <= MAX_BUDGET:
            raise InvalidDefinition(
                [
                    FieldError(
                        "calls_per_minute",
                        f"a whole number of calls from 1 to {MAX_BUDGET}",
                        "invalid",
                    )
                ]
            )
        with self._tables.transaction() as session:
            row = self._tables.tenant_row(session, tenant, lock=True)
            before = {"calls_per_minute": row.calls_per_minute}
            row.calls_per_minute = calls
            row.version += 1
            self._tables.audit(
                session,
                row,
                actor=actor,
                action="budget.set",
                target=f"tenant:{tenant}",
                before=before,
                after={"calls_per_minute": calls},
            )
            session.flush()
            return self._tables.tenant(row)
