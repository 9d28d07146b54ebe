"""The store: tenants, operators, tokens and webhook definitions, with an audit log.

Every change runs in one transaction together with its audit entry and the tenant's version
bump, so a failure leaves nothing half-written. The limit of actions per tenant is a conditional
``UPDATE tenants SET action_count = action_count + 1 WHERE action_count < limit``: on PostgreSQL
concurrent creators queue on the tenant's row and re-check the condition, so an eleventh action
can never be made; on SQLite writers are serialized by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from . import _schema as db
from ._accounts import Accounts, actor_of, operator_actor
from ._budgetsettings import BudgetSettings
from ._catalog import Catalog
from ._looks import Looks
from ._records import AuditEntry
from ._snapshots import Snapshots
from ._storebase import MAX_ACTIONS, MAX_ID, utc

__all__ = ["MAX_ACTIONS", "Store", "actor_of"]

logger = logging.getLogger("webhooks.store")


class Store(Accounts, Catalog, Snapshots, Looks, BudgetSettings):
    """Synchronous access to the store; adapters call it from a worker thread when async.

    Tenants and accounts come from :class:`Accounts`, definitions from :class:`Catalog`, the
    caches' reads from :class:`Snapshots`, the webhooks' last Tests (:class:`LastTests`) and
    the console's record of paused calls (:class:`PauseRecords`), both read at once, from
    :class:`Looks`, the tenant's budget of calls per minute from :class:`BudgetSettings`;
    signing secrets come with the definitions.
    """

    # -- audit and keys -------------------------------------------------------------------

    def audit(
        self,
        tenant: str,
        *,
        limit: int = 50,
        before_id: int | None = None,
        webhook: str | None = None,
        operator: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        """The tenant's audit log, newest first; page with ``before_id`` (an entry's id).

        Filters, each optional, all together: ``webhook``, the entries about the action of that
        name (a deleted one's too); ``operator``, those of the tenant's operator of that name
        (or of an actor written so, such as ``cli``); ``since`` (included) and ``until`` (not
        included), when they were made (timezone-aware).
        """
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            query = select(db.AuditEvent).where(db.AuditEvent.tenant_id == tenant_row.id)
            if before_id is not None and before_id <= MAX_ID:
                query = query.where(db.AuditEvent.id < before_id)
            if webhook is not None:
                # As the catalog and the last Tests write an action's target.
                query = query.where(db.AuditEvent.target == f"webhook:{webhook}")
            if operator is not None:
                ids = session.scalars(
                    select(db.Operator.id).where(
                        db.Operator.tenant_id == tenant_row.id, db.Operator.name == operator
                    )
                )
                actors = [operator, *(operator_actor(id_, operator) for id_ in ids)]
                query = query.where(db.AuditEvent.actor.in_(actors))
            # In UTC: SQLite keeps the column as UTC text without its offset.
            if since is not None:
                query = query.where(db.AuditEvent.at >= since.astimezone(UTC))
            if until is not None:
                query = query.where(db.AuditEvent.at < until.astimezone(UTC))
            rows = session.scalars(
                query.order_by(db.AuditEvent.id.desc()).limit(max(1, min(limit, 500)))
            )
            return [
                AuditEntry(
                    id=row.id,
                    tenant=tenant,
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    before=row.before,
                    after=row.after,
                    at=utc(row.at),
                )
                for row in rows
            ]
