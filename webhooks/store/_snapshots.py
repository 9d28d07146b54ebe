"""The store's read side for caches (``store.snapshots``): whole tenants at once, and what tells
them a change.

An action server caches :meth:`Snapshots.snapshot` and polls :meth:`Snapshots.change_mark`,
re-reading the tenants whose :meth:`Snapshots.versions` moved.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Text, cast, func, select, true

from . import _schema as db
from ._records import TenantSnapshot
from ._rows import WebhookRecords
from ._signingstore import SigningSecrets
from ._tables import Tables

__all__ = ["Snapshots"]


class Snapshots:
    """Reads for the action servers' caches; each definition comes with its secrets, read
    through ``signing``."""

    def __init__(self, tables: Tables, signing: SigningSecrets) -> None:
        self._tables = tables
        self._signing = signing

    def versions(self) -> dict[str, int]:
        """Every tenant's change version, in one cheap query, for readers that cache."""
        with self._tables.read() as session:
            rows = session.execute(select(db.Tenant.name, db.Tenant.version))
            return {name: version for name, version in rows}

    def change_mark(self) -> tuple[int, int]:
        """The number of tenants and the sum of their versions: moves with every change.

        Tenants are never deleted and every change adds one to its tenant's version, so any
        change makes this pair different, and a reader that polls needs :meth:`versions` (a
        row per tenant: ~15 ms for 10,000 tenants, measured) only when it moved. One
        aggregate the database computes itself (well under a millisecond for 10,000).
        """
        with self._tables.read() as session:
            row = session.execute(
                select(func.count(), func.coalesce(func.sum(db.Tenant.version), 0))
            ).one()
            return int(row[0]), int(row[1])

    def snapshot(self, tenants: Iterable[str] | None = None) -> dict[str, TenantSnapshot]:
        """The named tenants (all by default) with their webhooks, in four queries.

        This is what an action server caches; it re-reads a tenant when its version moves.
        Columns are read as plain rows, not ORM objects (ten times cheaper per row), and
        :class:`WebhookRecords` shares equal values between definitions, so a large store
        loads fast and stays compact (bench actions). Like the rest of a snapshot, the shared
        values (parameter records among them) are read-only.
        """
        with self._tables.read() as session:
            query = select(
                db.Tenant.id,
                db.Tenant.name,
                db.Tenant.skill_enabled,
                db.Tenant.action_count,
                db.Tenant.version,
                db.Tenant.created_at,
                db.Tenant.action_token_hash,
                db.Tenant.tools_token_hash,
                db.Tenant.calls_per_minute,
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
                db.Webhook.calls_per_minute,
                db.Webhook.replies,
                db.Webhook.service_messages,
                db.Webhook.retry_post,
            ).order_by(db.Webhook.tenant_id, db.Webhook.name)
            sealed = select(
                db.WebhookHeader.webhook_id, db.WebhookHeader.name, db.WebhookHeader.value_encrypted
            )
            ids = [row.id for row in tenant_rows]
            if tenants is not None:
                # Filter by tenant through a join: a list of webhook ids could exceed SQLite's
                # limit on bound parameters.
                webhooks = webhooks.where(db.Webhook.tenant_id.in_(ids))
                sealed = sealed.join(
                    db.Webhook, db.Webhook.id == db.WebhookHeader.webhook_id
                ).where(db.Webhook.tenant_id.in_(ids))
            records = WebhookRecords()
            signing = self._signing.sealed(
                session,
                records,
                true() if tenants is None else db.Webhook.tenant_id.in_(ids),
            )
            headers: dict[int, list[tuple[str, str]]] = {}
            # Through the connection: the ORM would buffer every row before the first.
            connection = session.connection()
            for webhook_id, name, value in connection.execute(sealed):
                headers.setdefault(webhook_id, []).append((records.text(name), value))
            for pairs in headers.values():
                pairs.sort()  # by name as Python orders them, as the catalog's records have them
            snapshots: dict[int, TenantSnapshot] = {}
            names: dict[int, str] = {}
            for row in tenant_rows:
                names[row.id] = row.name
                snapshots[row.id] = TenantSnapshot(
                    tenant=self._tables.tenant(row),
                    action_token_hash=row.action_token_hash,
                    tools_token_hash=row.tools_token_hash,
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
                calls_per_minute,
                replies,
                service_messages,
                retry_post,
            ) in connection.execute(webhooks):
                webhook = records.webhook(
                    tenant=names[tenant_id],
                    name=name,
                    description=description,
                    url=url,
                    method=method,
                    timeout=timeout,
                    parameters=parameters_text,
                    examples=examples,
                    enabled=enabled,
                    revision=revision,
                    created_at=created_at,
                    updated_at=updated_at,
                    calls_per_minute=calls_per_minute,
                    replies=replies,
                    service_messages=service_messages,
                    retry_post=retry_post,
                    sealed_headers=headers.get(webhook_id, ()),
                    signing_secrets=signing.get(webhook_id, ()),
                )
                snapshots[tenant_id].webhooks[webhook.name] = webhook
            return {names[tenant_id]: snapshot for tenant_id, snapshot in snapshots.items()}
