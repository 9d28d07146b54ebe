"""What the console shows beside the definitions, read together (``store.looks``): last Tests
and paused calls.

Both are looks, not changes (see ``_lasttests`` and ``_pausestore``); a list of the actions
shows both, so they come in one statement instead of one each: on a server database each
statement is a round trip.
"""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select

from . import _schema as db
from ._lasttests import TEST_COLUMNS, last_test_of
from ._pausestore import PAUSE_COLUMNS, latest_pauses
from ._records import CallPause, LastTest
from ._tables import Tables

__all__ = ["Looks"]

#: Each of a tenant's webhooks that had a Test or has a pause: the Test's columns (none when
#: there was none) beside each of its pauses (one row without when there is none).
_LOOKS = (
    select(db.Webhook.name, *TEST_COLUMNS, *PAUSE_COLUMNS)
    .select_from(db.Webhook)
    .outerjoin(db.WebhookTest, db.WebhookTest.webhook_id == db.Webhook.id)
    .outerjoin(db.WebhookPause, db.WebhookPause.webhook_id == db.Webhook.id)
    .where(
        db.Webhook.tenant_id == bindparam("tenant_id"),
        or_(db.WebhookTest.webhook_id.is_not(None), db.WebhookPause.webhook_id.is_not(None)),
    )
)


class Looks:
    """The last Tests (written by :class:`~._lasttests.LastTests`) and paused calls (by
    :class:`~._pausestore.PauseRecords`) of a tenant, in one read."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def read(self, tenant: str) -> tuple[dict[str, LastTest], dict[str, CallPause]]:
        """What :meth:`last_tests` and :meth:`pauses` answer, in one statement: the last Tests
        by webhook name, and for each paused action the pause that ends last."""
        with self._tables.read(alone=True) as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            # Through the connection: plain rows need nothing of the ORM.
            rows = session.connection().execute(_LOOKS, {"tenant_id": tenant_row.id}).all()
            tests = {row.name: last_test_of(row) for row in rows if row.at is not None}
            return tests, latest_pauses(row for row in rows if row.since is not None)

    def last_tests(self, tenant: str) -> dict[str, LastTest]:
        """The last Test of each of the tenant's webhooks that had one, by webhook name."""
        return self.read(tenant)[0]

    def pauses(self, tenant: str) -> dict[str, CallPause]:
        """The tenant's actions whose calls a server process has paused, by name: for each,
        the pause that ends last."""
        return self.read(tenant)[1]
