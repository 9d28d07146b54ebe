"""The outcome of each webhook's last Test, kept beside the definitions, never in them.

A Test is a look, not a change: recording one touches no revision, no ``updated_at``, no
audit entry and no tenant version, so the action servers' caches and the routing table's
ETag stay as they are. The row goes when its webhook goes (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from sqlalchemy import select

from . import _schema as db
from ._exceptions import NotFound
from ._records import LastTest
from ._storebase import StoreBase, utc

__all__ = ["LastTests"]


class LastTests(StoreBase):
    """The store's record of the last Test of each webhook."""

    def record_test(self, tenant: str, name: str, result: LastTest) -> None:
        """Keep ``result`` as the last Test of the tenant's webhook ``name``, replacing the
        previous one; :class:`NotFound` if there is no such webhook (any more)."""
        with self._transaction() as session:
            tenant_row = self._tenant_row(session, tenant)
            # Locked, so two Tests of one webhook ending together queue rather than both
            # inserting; the webhook row itself is not written.
            webhook_id = session.scalars(
                select(db.Webhook.id)
                .where(db.Webhook.tenant_id == tenant_row.id, db.Webhook.name == name)
                .with_for_update()
            ).one_or_none()
            if webhook_id is None:
                raise NotFound("webhook", name)
            row = session.get(db.WebhookTest, webhook_id)
            if row is None:
                row = db.WebhookTest(webhook_id=webhook_id)
                session.add(row)
            row.at = result.at
            row.ok = result.ok
            row.status = result.status
            row.category = result.category
            row.elapsed_ms = result.elapsed_ms

    def last_tests(self, tenant: str) -> dict[str, LastTest]:
        """The last Test of each of the tenant's webhooks that had one, by webhook name."""
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            rows = session.execute(
                select(db.Webhook.name, db.WebhookTest)
                .join(db.WebhookTest, db.WebhookTest.webhook_id == db.Webhook.id)
                .where(db.Webhook.tenant_id == tenant_row.id)
            )
            return {
                name: LastTest(
                    at=utc(row.at),
                    ok=row.ok,
                    status=row.status,
                    category=row.category,
                    elapsed_ms=row.elapsed_ms,
                )
                for name, row in rows
            }
