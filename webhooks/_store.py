"""The store: tenants, operators, tokens and webhook definitions, with an audit log.

Every change runs in one transaction together with its audit entry and the tenant's version
bump, so a failure leaves nothing half-written. The limit of actions per tenant is a conditional
``UPDATE tenants SET action_count = action_count + 1 WHERE action_count < limit``: on PostgreSQL
concurrent creators queue on the tenant's row and re-check the condition, so an eleventh action
can never be made; on SQLite writers are serialized by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, select

from . import _schema as db
from ._accounts import Accounts, actor_of
from ._catalog import Catalog
from ._definitions import Parameter
from ._records import AuditEntry, TenantSnapshot
from ._storebase import MAX_ACTIONS, MAX_ID, utc

__all__ = ["MAX_ACTIONS", "Store", "actor_of"]

logger = logging.getLogger("webhooks.store")


class Store(Accounts, Catalog):
    """Synchronous access to the store; adapters call it from a worker thread when async.

    Tenants and accounts come from :class:`Accounts`, definitions from :class:`Catalog`.
    """

    # -- audit and keys -------------------------------------------------------------------

    def audit(
        self, tenant: str, *, limit: int = 50, before_id: int | None = None
    ) -> list[AuditEntry]:
        """The tenant's audit log, newest first; page with ``before_id`` (an entry's id)."""
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            query = select(db.AuditEvent).where(db.AuditEvent.tenant_id == tenant_row.id)
            if before_id is not None and before_id <= MAX_ID:
                query = query.where(db.AuditEvent.id < before_id)
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

    def count_webhooks(self) -> int:
        """How many definitions the store holds, over all tenants."""
        with self._reading() as session:
            return int(session.scalar(select(func.count()).select_from(db.Webhook)) or 0)

    def snapshot(self, tenants: Iterable[str] | None = None) -> dict[str, TenantSnapshot]:
        """The named tenants (all by default) with their webhooks, in three queries.

        This is what an action server caches; it re-reads a tenant when its version moves.
        Columns are read as plain rows, not ORM objects (ten times cheaper per row), and equal
        values (URLs, descriptions, times, parameter lists) are shared between definitions, so
        100,000 definitions load in about a second and stay compact. The parameter dicts may
        be shared by several definitions: like the rest of a snapshot, they are read-only.
        """
        # Imported here to keep this method's change self-contained.
        import json
        from datetime import datetime

        from sqlalchemy import Text, cast

        from ._records import Tenant, Webhook

        with self._reading() as session:
            query = select(
                db.Tenant.id,
                db.Tenant.name,
                db.Tenant.skill_enabled,
                db.Tenant.action_count,
                db.Tenant.version,
                db.Tenant.created_at,
                db.Tenant.action_token_hash,
            )
            if tenants is not None:
                query = query.where(db.Tenant.name.in_(list(tenants)))
            tenant_rows = session.execute(query).all()
            webhooks = select(
                db.Webhook.id,
                db.Webhook.tenant_id,
                db.Webhook.name,
                db.Webhook.description,
                db.Webhook.url,
                db.Webhook.method,
                db.Webhook.timeout,
                # As text: equal lists are then decoded once and shared.
                cast(db.Webhook.parameters, Text),
                db.Webhook.examples,
                db.Webhook.enabled,
                db.Webhook.revision,
                db.Webhook.created_at,
                db.Webhook.updated_at,
            ).order_by(db.Webhook.tenant_id, db.Webhook.name)
            sealed = select(
                db.WebhookHeader.webhook_id, db.WebhookHeader.name, db.WebhookHeader.value_encrypted
            ).order_by(db.WebhookHeader.webhook_id, db.WebhookHeader.name)
            if tenants is not None:
                ids = [row.id for row in tenant_rows]
                # Filter by tenant through a join: a list of webhook ids could exceed SQLite's
                # limit on bound parameters.
                webhooks = webhooks.where(db.Webhook.tenant_id.in_(ids))
                sealed = sealed.join(
                    db.Webhook, db.Webhook.id == db.WebhookHeader.webhook_id
                ).where(db.Webhook.tenant_id.in_(ids))
            strings: dict[str, str] = {}
            text = strings.setdefault  # text(s, s) is the first equal string seen
            floats: dict[float, float] = {}
            headers: dict[int, list[tuple[str, str]]] = {}
            # Through the connection: the ORM would buffer every row before the first.
            connection = session.connection()
            for webhook_id, name, value in connection.execute(sealed):
                headers.setdefault(webhook_id, []).append((text(name, name), value))
            times: dict[datetime, datetime] = {}
            lists: dict[str, tuple[Parameter, ...]] = {}
            snapshots: dict[int, TenantSnapshot] = {}
            names: dict[int, str] = {}
            for row in tenant_rows:
                names[row.id] = row.name
                snapshots[row.id] = TenantSnapshot(
                    tenant=Tenant(
                        name=row.name,
                        skill_enabled=row.skill_enabled,
                        action_count=row.action_count,
                        version=row.version,
                        created_at=utc(row.created_at),
                    ),
                    action_token_hash=row.action_token_hash,
                    webhooks={},
                )
            for (
                webhook_id,
                tenant_id,
                name,
                description,
                url,
                method,
                timeout,
                parameters_text,
                examples,
                enabled,
                revision,
                created_at,
                updated_at,
            ) in connection.execute(webhooks):
                parameters = lists.get(parameters_text)
                if parameters is None:
                    parameters = lists[parameters_text] = tuple(
                        Parameter.stored(p) for p in json.loads(parameters_text)
                    )
                created = times.get(created_at)
                if created is None:
                    created = times[created_at] = utc(created_at)
                updated = times.get(updated_at)
                if updated is None:
                    updated = times[updated_at] = utc(updated_at)
                name = text(name, name)
                snapshots[tenant_id].webhooks[name] = Webhook(
                    tenant=names[tenant_id],
                    name=name,
                    description=text(description, description),
                    url=text(url, url),
                    method="GET" if method == "GET" else "POST",
                    timeout=floats.setdefault(timeout, timeout),
                    parameters=parameters,
                    examples=tuple(examples or ()),
                    enabled=enabled,
                    revision=revision,
                    created_at=created,
                    updated_at=updated,
                    sealed_headers=tuple(headers.get(webhook_id, ())),
                )
            return {names[tenant_id]: snapshot for tenant_id, snapshot in snapshots.items()}
