"""The store as one object: its parts (accounts, catalog, signing secrets, keys, snapshots, last
Tests, pauses, budgets), each an attribute, and the audit log they all write.

Every change runs in one transaction together with its audit entry and the tenant's version
bump, so a failure leaves nothing half-written. The limit of actions per tenant is a conditional
``UPDATE tenants SET action_count = action_count + 1 WHERE action_count < limit``: on PostgreSQL
concurrent creators queue on the tenant's row and re-check the condition, so an eleventh action
can never be made; on SQLite writers are serialized by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from ..egress._rules import EgressRules
from . import _schema as db
from ._accounts import Accounts, actor_of, operator_actor
from ._budgetsettings import BudgetSettings
from ._catalog import Catalog
from ._keyring import Keyring
from ._lasttests import LastTests
from ._looks import Looks
from ._pausestore import PauseRecords
from ._records import AuditEntry
from ._rotation import Rotation
from ._signingstore import SigningSecrets
from ._snapshots import Snapshots
from ._tables import MAX_ACTIONS, MAX_ID, Tables, utc

__all__ = ["MAX_ACTIONS", "Store", "actor_of"]

logger = logging.getLogger("webhooks.store")


class Store:
    """Synchronous access to the store; adapters call it from a worker thread when async.

    Its parts, each an attribute that says what a call is about: ``accounts`` (tenants, the
    skill switch, operators, permissions, tokens: :class:`Accounts`), ``catalog`` (webhook
    definitions: :class:`Catalog`), ``signing`` (their signing secrets: :class:`SigningSecrets`),
    ``keys`` (key checks and rotation: :class:`Rotation`), ``snapshots`` (the caches' reads:
    :class:`Snapshots`), ``tests`` (the last Test of each webhook: :class:`LastTests`),
    ``pauses`` (the paused calls servers record: :class:`PauseRecords`), ``looks`` (both read at
    once for the console: :class:`Looks`) and ``budgets`` (a tenant's calls per minute:
    :class:`BudgetSettings`). They share one :class:`Tables`, so all of them write under one lock
    and read inside one :meth:`reading`; the store itself reads the audit log (:meth:`audit`).
    """

    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        *,
        max_actions: int = MAX_ACTIONS,
        rules: EgressRules = EgressRules(),
    ) -> None:
        self._tables = tables = Tables(engine, keyring, max_actions=max_actions, rules=rules)
        self.accounts = Accounts(tables)
        self.keys = Rotation(tables)
        self.signing = SigningSecrets(tables, self.keys)
        self.catalog = Catalog(tables, self.keys, self.signing)
        self.snapshots = Snapshots(tables, self.signing)
        self.tests = LastTests(tables)
        self.pauses = PauseRecords(tables)
        self.looks = Looks(tables)
        self.budgets = BudgetSettings(tables)

    @property
    def engine(self) -> Engine:
        return self._tables.engine

    @property
    def keyring(self) -> Keyring:
        return self._tables.keyring

    @property
    def max_actions(self) -> int:
        return self._tables.max_actions

    @property
    def rules(self) -> EgressRules:
        """The deployment's egress rules every saved URL must pass."""
        return self._tables.rules

    def __repr__(self) -> str:
        return f"<Store {self.engine.url.render_as_string(hide_password=True)}>"

    def reading(self) -> AbstractContextManager[None]:
        """Every read of this store inside, in this thread, shares one session, and reads a
        tenant's row once (:meth:`Tables.reading`): a request that authenticates, then lists,
        then reads what it shows beside the list. A write inside is refused."""
        return self._tables.reading()

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
        with self._tables.read() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
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
