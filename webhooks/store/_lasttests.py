"""The outcome of each webhook's last Test, kept beside the definitions, never in them
(``store.tests``).

A Test is a look, not a change: recording one touches no revision, no ``updated_at`` and no
tenant version, so the action servers' caches and the routing table's ETag stay as they are.
It is in the audit log all the same (who, when, which action, its URL with query values
masked, the outcome; never a body or a header value): a Test sends the stored header values,
so who pressed it matters. The row goes when its webhook goes (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .._exceptions import NotFound
from . import _schema as db
from ._records import LastTest
from ._tables import Tables, utc

__all__ = ["TEST_COLUMNS", "LastTests", "last_test_of"]

#: A last Test's columns, as :func:`last_test_of` reads them.
TEST_COLUMNS = (
    db.WebhookTest.at,
    db.WebhookTest.ok,
    db.WebhookTest.status,
    db.WebhookTest.category,
    db.WebhookTest.elapsed_ms,
)


def last_test_of(row: Any) -> LastTest:
    """The last Test of a row with its columns (``at``, ``ok``, ``status``, ...)."""
    return LastTest(
        at=utc(row.at),
        ok=row.ok,
        status=row.status,
        category=row.category,
        elapsed_ms=row.elapsed_ms,
    )


class LastTests:
    """The store's record of the last Test of each webhook (read with :class:`~._looks.Looks`)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def record(self, tenant: str, name: str, result: LastTest, *, actor: str) -> None:
        """Keep ``result`` as the last Test of the tenant's webhook ``name``, replacing the
        previous one, and put the Test in the audit log as ``actor``'s; :class:`NotFound` if
        there is no such webhook (any more: the Test still went out, so it is audited)."""
        with self._tables.transaction() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            # Locked, so two Tests of one webhook ending together queue rather than both
            # inserting; the webhook row itself is not written.
            webhook = session.execute(
                select(db.Webhook.id, db.Webhook.url)
                .where(db.Webhook.tenant_id == tenant_row.id, db.Webhook.name == name)
                .with_for_update()
            ).one_or_none()
            outcome = {
                "ok": result.ok,
                "status": result.status,
                "category": result.category,
                "elapsed_ms": result.elapsed_ms,
            }
            self._tables.audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.test",
                target=f"webhook:{name}",
                after=outcome if webhook is None else {"url": webhook.url} | outcome,
            )
            if webhook is not None:
                row = session.get(db.WebhookTest, webhook.id)
                if row is None:
                    row = db.WebhookTest(webhook_id=webhook.id)
                    session.add(row)
                row.at = result.at
                row.ok = result.ok
                row.status = result.status
                row.category = result.category
                row.elapsed_ms = result.elapsed_ms
        if webhook is None:
            raise NotFound("webhook", name)
