"""Paused calls as the operators' console sees them: what each server process decided
(``store.pauses``).

A server process that pauses an action's calls (``_pauses``) writes it here when the pause
begins and removes it when its calls are served again; each process has its own row, so one
that recovers does not hide another that is still paused. Like the last Tests, this is a look,
not a change: no revision, no tenant version, no audit entry. A row whose process went away
stays until its webhook goes or the same process writes again, and reads ignore a pause that
ended more than :data:`STALE_AFTER` ago.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import _schema as db
from ._records import CallPause
from ._tables import Tables, utc

__all__ = ["PAUSE_COLUMNS", "STALE_AFTER", "PauseRecords", "latest_pauses"]

#: How long after its end a pause is still shown (as waiting for its probe): a process that
#: ended during a pause leaves its row behind.
STALE_AFTER = timedelta(minutes=10)

#: A pause's columns, as :func:`latest_pauses` reads them.
PAUSE_COLUMNS = (
    db.WebhookPause.since,
    db.WebhookPause.until,
    db.WebhookPause.failures,
    db.WebhookPause.reason,
)


def latest_pauses(rows: Iterable[Any]) -> dict[str, CallPause]:
    """From rows of a webhook's ``name`` and a pause's columns (``since``, ``until``, ...):
    for each name, the pause that ends last, unless it ended more than :data:`STALE_AFTER`
    ago."""
    oldest = datetime.now(UTC) - STALE_AFTER
    found: dict[str, CallPause] = {}
    for row in rows:
        pause = CallPause(
            since=utc(row.since),
            until=utc(row.until),
            failures=row.failures,
            reason=row.reason,
        )
        if pause.until < oldest:
            continue
        if row.name not in found or found[row.name].until < pause.until:
            found[row.name] = pause
    return found


class PauseRecords:
    """The store's record of paused calls, per action and server process (read with
    :class:`~._looks.Looks`)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def record(self, tenant: str, name: str, replica: str, pause: CallPause) -> None:
        """Record that ``replica`` (a server process) paused the calls of ``tenant``'s webhook
        ``name``; nothing when there is no such webhook (it went meanwhile)."""
        with self._tables.transaction() as session:
            webhook_id = self._webhook_id(session, tenant, name)
            if webhook_id is None:
                return
            row = session.get(db.WebhookPause, (webhook_id, replica))
            if row is None:
                row = db.WebhookPause(webhook_id=webhook_id, replica=replica)
                session.add(row)
            row.since, row.until = pause.since, pause.until
            row.failures, row.reason = pause.failures, pause.reason

    def end(self, tenant: str, name: str, replica: str) -> None:
        """Record that ``replica`` serves the calls of ``tenant``'s webhook ``name`` again."""
        with self._tables.transaction() as session:
            webhook_id = self._webhook_id(session, tenant, name)
            if webhook_id is not None:
                session.execute(
                    delete(db.WebhookPause).where(
                        db.WebhookPause.webhook_id == webhook_id,
                        db.WebhookPause.replica == replica,
                    )
                )

    def _webhook_id(self, session: Session, tenant: str, name: str) -> int | None:
        tenant_row = self._tables.tenant_row(session, tenant)
        return session.scalar(
            select(db.Webhook.id).where(
                db.Webhook.tenant_id == tenant_row.id, db.Webhook.name == name
            )
        )
