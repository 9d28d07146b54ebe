"""The store's signing secrets of actions (``store.signing``): made, retired, read back sealed,
opened for a call.

A secret is made by the store (never given by an operator), returned once in clear, and kept
sealed with the header values' keyring (``keys rotate`` re-encrypts both). Making or retiring
one is a change of the definition: a new revision, a new tenant version (every action server
signs with the new set within its refresh) and an audit entry naming the secret's id, never
its value.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from .._exceptions import NotFound, SigningSecretLimitReached
from ..egress._signing import MAX_SIGNING_SECRETS, Signer, new_secret, new_secret_id, secret_key
from . import _schema as db
from ._records import SigningSecret, Webhook
from ._rotation import Rotation
from ._rows import WebhookRecords
from ._tables import Tables

__all__ = ["SigningSecrets"]


class SigningSecrets:
    """The store's signing secrets of webhook definitions, sealed with the ``keys``; the catalog
    and the snapshots read them with the definitions (:meth:`sealed`)."""

    def __init__(self, tables: Tables, keys: Rotation) -> None:
        self._tables = tables
        self._keys = keys

    @staticmethod
    def sealed(
        session: Session, records: WebhookRecords, where: ColumnElement[bool]
    ) -> dict[int, list[SigningSecret]]:
        """The sealed secrets of the webhooks ``where`` selects, by webhook id, newest first."""
        rows = session.execute(
            select(
                db.WebhookSigningSecret.webhook_id,
                db.WebhookSigningSecret.secret_id,
                db.WebhookSigningSecret.created_at,
                db.WebhookSigningSecret.value_encrypted,
            )
            .join(db.Webhook, db.Webhook.id == db.WebhookSigningSecret.webhook_id)
            .where(where)
            .order_by(
                db.WebhookSigningSecret.webhook_id,
                db.WebhookSigningSecret.created_at.desc(),
                db.WebhookSigningSecret.secret_id,
            )
        )
        found: dict[int, list[SigningSecret]] = {}
        for webhook_id, secret_id, created_at, sealed in rows:
            found.setdefault(webhook_id, []).append(
                records.signing_secret(secret_id, created_at, sealed)
            )
        return found

    def _signing_row(
        self, session: Session, tenant: str, name: str
    ) -> tuple[db.Tenant, db.Webhook]:
        tenant_row = self._tables.tenant_row(session, tenant)
        return tenant_row, self._tables.webhook_row(session, tenant_row, name)

    @staticmethod
    def _changed(session: Session, tenant_row: db.Tenant, row: db.Webhook) -> None:
        row.revision += 1
        row.updated_at = datetime.now(UTC)
        session.execute(
            update(db.Tenant)
            .where(db.Tenant.id == tenant_row.id)
            .values(version=db.Tenant.version + 1)
        )

    def create(self, tenant: str, name: str, *, actor: str) -> tuple[SigningSecret, str]:
        """Make a new signing secret for the tenant's webhook ``name``; its record and its
        value (``whsec_...``), which nobody can read again. Every call is then signed with it
        too, beside the one it may replace (retire that one with :meth:`retire`);
        :class:`SigningSecretLimitReached` when the action has the most it may."""
        with self._tables.transaction() as session:
            tenant_row, row = self._signing_row(session, tenant, name)
            held = session.scalars(
                select(db.WebhookSigningSecret.secret_id).where(
                    db.WebhookSigningSecret.webhook_id == row.id
                )
            ).all()
            if len(held) >= MAX_SIGNING_SECRETS:
                raise SigningSecretLimitReached(name, MAX_SIGNING_SECRETS)
            self._keys.check_writing(session)
            secret = new_secret()
            sealed, key_id = self._tables.keyring.seal(secret)
            created = db.WebhookSigningSecret(
                webhook_id=row.id,
                secret_id=new_secret_id(),
                value_encrypted=sealed,
                key_id=key_id,
                created_at=datetime.now(UTC),
            )
            session.add(created)
            self._changed(session, tenant_row, row)
            session.flush()
            record = WebhookRecords().signing_secret(created.secret_id, created.created_at, sealed)
            self._tables.audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.signing_secret.create",
                target=f"webhook:{name}",
                after={"signing_secret": record.id, "signing_secrets": [*held, record.id]},
            )
            return record, secret

    def retire(self, tenant: str, name: str, secret_id: str, *, actor: str) -> None:
        """Stop signing the webhook ``name``'s calls with the secret ``secret_id``;
        :class:`NotFound` (kind ``signing_secret``) when it has no such secret."""
        with self._tables.transaction() as session:
            tenant_row, row = self._signing_row(session, tenant, name)
            secret = session.get(db.WebhookSigningSecret, (row.id, secret_id))
            if secret is None:
                raise NotFound("signing_secret", secret_id)
            session.delete(secret)
            self._changed(session, tenant_row, row)
            session.flush()
            left = session.scalars(
                select(db.WebhookSigningSecret.secret_id).where(
                    db.WebhookSigningSecret.webhook_id == row.id
                )
            ).all()
            self._tables.audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.signing_secret.retire",
                target=f"webhook:{name}",
                before={"signing_secret": secret_id},
                after={"signing_secrets": list(left)},
            )

    def signer_for(self, webhook: Webhook) -> Signer | None:
        """What signs ``webhook``'s calls with its secrets (decrypted here, kept in memory
        only); ``None`` when it has none."""
        if not webhook.signing_secrets:
            return None
        return Signer(
            [secret_key(self._tables.keyring.decrypt(s.sealed)) for s in webhook.signing_secrets]
        )
