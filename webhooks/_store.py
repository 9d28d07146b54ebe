"""The store: tenants, operators, tokens and webhook definitions, with an audit log.

Every change runs in one transaction together with its audit entry and the tenant's version
bump, so a failure leaves nothing half-written. The limit of actions per tenant is a conditional
``UPDATE tenants SET action_count = action_count + 1 WHERE action_count < limit``: on PostgreSQL
concurrent creators queue on the tenant's row and re-check the condition, so an eleventh action
can never be made; on SQLite writers are serialized by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import _schema as db
from ._addresses import Allowance
from ._database import READ_ONLY
from ._definitions import MAX_HEADERS, DefinitionInput, merge_definition, parse_definition
from ._exceptions import (
    ActionLimitReached,
    AlreadyExists,
    FieldError,
    InvalidDefinition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from ._keyring import Keyring
from ._permissions import PERMISSIONS
from ._records import AuditEntry, Operator, Tenant, Webhook

__all__ = ["MAX_ACTIONS", "Store"]

logger = logging.getLogger("webhooks.store")

#: At most this many webhook actions per tenant (product rule).
MAX_ACTIONS = 10
MAX_ID = 2**31 - 1
TENANT_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
TOKEN_PREFIX = "wha_"  # noqa: S105 - a public marker that makes leaked tokens easy to scan for


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain digest is enough (no salt or slow hash needed).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def actor_of(operator: Operator) -> str:
    """How an operator is named in the audit log."""
    return f"operator:{operator.id}:{operator.name}"


class Store:
    """Synchronous access to the store; adapters call it from a worker thread when async."""

    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        *,
        max_actions: int = MAX_ACTIONS,
        allow: Allowance = (),
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.max_actions = max_actions
        self.allow = allow
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"<Store {self.engine.url.render_as_string(hide_password=True)}>"

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """A transaction that only reads (SQLite begins it deferred instead of IMMEDIATE)."""
        with self._sessions() as session, session.begin():
            session.connection(execution_options={READ_ONLY: True})
            yield session

    # -- tenants --------------------------------------------------------------------------

    @staticmethod
    def _tenant_row(session: Session, name: str, *, lock: bool = False) -> db.Tenant:
        query = select(db.Tenant).where(db.Tenant.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound("tenant", name)
        return row

    @staticmethod
    def _tenant(row: db.Tenant) -> Tenant:
        return Tenant(
            name=row.name,
            skill_enabled=row.skill_enabled,
            action_count=row.action_count,
            version=row.version,
            created_at=_utc(row.created_at),
        )

    @staticmethod
    def _audit(
        session: Session,
        tenant: db.Tenant,
        *,
        actor: str,
        action: str,
        target: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            db.AuditEvent(
                tenant_id=tenant.id,
                actor=actor,
                action=action,
                target=target,
                before=before,
                after=after,
            )
        )

    def create_tenant(self, name: str, *, actor: str) -> Tenant:
        """A new tenant, with the skill switched off."""
        if not TENANT_PATTERN.match(name):
            raise InvalidDefinition(
                [
                    FieldError(
                        "name",
                        "tenant names are 1-64 lowercase letters, digits, '_' or '-', "
                        "starting with a letter",
                    )
                ]
            )
        try:
            with self._transaction() as session:
                row = db.Tenant(name=name, skill_enabled=False, action_count=0, version=1)
                session.add(row)
                session.flush()
                self._audit(
                    session, row, actor=actor, action="tenant.create", target=f"tenant:{name}"
                )
                return self._tenant(row)
        except IntegrityError as exc:
            raise AlreadyExists("tenant", name) from exc

    def get_tenant(self, name: str) -> Tenant:
        with self._reading() as session:
            return self._tenant(self._tenant_row(session, name))

    def list_tenants(self) -> list[Tenant]:
        with self._reading() as session:
            rows = session.scalars(select(db.Tenant).order_by(db.Tenant.name))
            return [self._tenant(row) for row in rows]

    def set_skill(self, tenant: str, enabled: bool, *, actor: str) -> Tenant:
        """Switch the webhook skill; switching it on grants both permissions to the admins."""
        with self._transaction() as session:
            row = self._tenant_row(session, tenant, lock=True)
            before = {"skill_enabled": row.skill_enabled}
            row.skill_enabled = enabled
            row.version += 1
            granted: list[str] = []
            if enabled:
                admins = session.scalars(
                    select(db.Operator).where(
                        db.Operator.tenant_id == row.id, db.Operator.is_admin.is_(True)
                    )
                )
                for admin in admins:
                    held = self._permissions(session, admin.id)
                    for permission in sorted(PERMISSIONS - held):
                        session.add(
                            db.OperatorPermission(operator_id=admin.id, permission=permission)
                        )
                        granted.append(f"{admin.name}:{permission}")
            self._audit(
                session,
                row,
                actor=actor,
                action="skill.enable" if enabled else "skill.disable",
                target=f"tenant:{tenant}",
                before=before,
                after={"skill_enabled": enabled, "granted": granted},
            )
            session.flush()
            return self._tenant(row)

    def versions(self) -> dict[str, int]:
        """Every tenant's change version, in one cheap query, for readers that cache."""
        with self._reading() as session:
            rows = session.execute(select(db.Tenant.name, db.Tenant.version))
            return {name: version for name, version in rows}

    # -- operators and tokens -------------------------------------------------------------

    @staticmethod
    def _permissions(session: Session, operator_id: int) -> frozenset[str]:
        query = select(db.OperatorPermission.permission).where(
            db.OperatorPermission.operator_id == operator_id
        )
        return frozenset(session.scalars(query))

    @staticmethod
    def _operator_row(session: Session, tenant: db.Tenant, operator_id: int) -> db.Operator:
        # Ids are 32-bit columns on PostgreSQL; a larger one cannot exist (and must not error).
        row = session.get(db.Operator, operator_id) if 0 < operator_id <= MAX_ID else None
        if row is None or row.tenant_id != tenant.id:
            raise NotFound("operator", operator_id)
        return row

    def _operator(self, session: Session, row: db.Operator, tenant: str) -> Operator:
        return Operator(
            id=row.id,
            tenant=tenant,
            name=row.name,
            is_admin=row.is_admin,
            permissions=self._permissions(session, row.id),
            created_at=_utc(row.created_at),
        )

    @staticmethod
    def _check_permissions(permissions: Iterable[str]) -> frozenset[str]:
        wanted = frozenset(permissions)
        unknown = sorted(wanted - PERMISSIONS)
        if unknown:
            raise InvalidDefinition(
                [
                    FieldError(
                        "permissions",
                        f"unknown permission {unknown[0]!r}; "
                        f"allowed: {', '.join(sorted(PERMISSIONS))}",
                    )
                ]
            )
        return wanted

    def _issue_token(self, session: Session, operator_id: int) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        session.add(db.ApiToken(operator_id=operator_id, token_hash=_hash_token(token)))
        return token

    def create_operator(
        self,
        tenant: str,
        name: str,
        *,
        admin: bool = False,
        permissions: Iterable[str] = (),
        actor: str,
    ) -> tuple[Operator, str]:
        """A new operator and its first API token (shown once; only its hash is stored)."""
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise InvalidDefinition([FieldError("name", "1-64 printable characters")])
        wanted = set(self._check_permissions(permissions))
        try:
            with self._transaction() as session:
                tenant_row = self._tenant_row(session, tenant)
                if admin and tenant_row.skill_enabled:
                    wanted |= PERMISSIONS
                row = db.Operator(tenant_id=tenant_row.id, name=name, is_admin=admin)
                session.add(row)
                session.flush()
                for permission in sorted(wanted):
                    session.add(db.OperatorPermission(operator_id=row.id, permission=permission))
                token = self._issue_token(session, row.id)
                session.flush()
                operator = self._operator(session, row, tenant)
                self._audit(
                    session,
                    tenant_row,
                    actor=actor,
                    action="operator.create",
                    target=f"operator:{row.id}:{name}",
                    after={"admin": admin, "permissions": sorted(wanted)},
                )
                return operator, token
        except IntegrityError as exc:
            raise AlreadyExists("operator", name) from exc

    def get_operator(self, tenant: str, operator_id: int) -> Operator:
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            return self._operator(session, row, tenant)

    def list_operators(self, tenant: str) -> list[Operator]:
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            rows = session.scalars(
                select(db.Operator)
                .where(db.Operator.tenant_id == tenant_row.id)
                .order_by(db.Operator.id)
            )
            return [self._operator(session, row, tenant) for row in rows]

    def set_permissions(
        self, tenant: str, operator_id: int, permissions: Iterable[str], *, actor: str
    ) -> Operator:
        """Replace an operator's webhook permissions."""
        wanted = self._check_permissions(permissions)
        with self._transaction() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            before = self._permissions(session, row.id)
            for permission in before - wanted:
                session.execute(
                    delete(db.OperatorPermission).where(
                        db.OperatorPermission.operator_id == row.id,
                        db.OperatorPermission.permission == permission,
                    )
                )
            for permission in sorted(wanted - before):
                session.add(db.OperatorPermission(operator_id=row.id, permission=permission))
            session.flush()
            self._audit(
                session,
                tenant_row,
                actor=actor,
                action="operator.permissions",
                target=f"operator:{row.id}:{row.name}",
                before={"permissions": sorted(before)},
                after={"permissions": sorted(wanted)},
            )
            return self._operator(session, row, tenant)

    def issue_token(self, tenant: str, operator_id: int, *, actor: str) -> str:
        """Another API token for the operator, returned once."""
        with self._transaction() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            token = self._issue_token(session, row.id)
            self._audit(
                session,
                tenant_row,
                actor=actor,
                action="token.issue",
                target=f"operator:{row.id}:{row.name}",
            )
            return token

    def revoke_tokens(self, tenant: str, operator_id: int, *, actor: str) -> int:
        """Revoke every live token of the operator; returns how many were revoked."""
        with self._transaction() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            result = session.execute(
                update(db.ApiToken)
                .where(db.ApiToken.operator_id == row.id, db.ApiToken.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            count = int(result.rowcount)  # type: ignore[attr-defined]
            self._audit(
                session,
                tenant_row,
                actor=actor,
                action="token.revoke",
                target=f"operator:{row.id}:{row.name}",
                after={"revoked": count},
            )
            return count

    def authenticate(self, token: str) -> Operator:
        """The operator owning a live ``token``; :class:`Unauthenticated` otherwise."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise Unauthenticated()
        digest = _hash_token(token)
        with self._reading() as session:
            found = session.execute(
                select(db.ApiToken, db.Operator, db.Tenant)
                .join(db.Operator, db.ApiToken.operator_id == db.Operator.id)
                .join(db.Tenant, db.Operator.tenant_id == db.Tenant.id)
                .where(db.ApiToken.token_hash == digest)
            ).one_or_none()
            # The lookup is by digest; the constant-time compare keeps it honest if that changes.
            if (
                found is None
                or found[0].revoked_at is not None
                or not hmac.compare_digest(found[0].token_hash, digest)
            ):
                raise Unauthenticated()
            return self._operator(session, found[1], found[2].name)

    def require(self, operator: Operator, permission: str) -> Tenant:
        """The operator's tenant if its skill is on and the operator holds ``permission``."""
        tenant = self.get_tenant(operator.tenant)
        if not tenant.skill_enabled:
            raise PermissionDenied(
                "the webhook actions skill is switched off for this tenant "
                "(a tenant admin can switch it on)",
                code="skill_disabled",
                permission=permission,
            )
        if not operator.has(permission):
            raise PermissionDenied(
                f"this operator lacks the {permission!r} permission", permission=permission
            )
        return tenant

    # -- webhooks -------------------------------------------------------------------------

    @staticmethod
    def _sealed_headers(
        session: Session, webhook_ids: list[int]
    ) -> dict[int, list[tuple[str, str]]]:
        found: dict[int, list[tuple[str, str]]] = {webhook_id: [] for webhook_id in webhook_ids}
        rows = session.execute(
            select(
                db.WebhookHeader.webhook_id, db.WebhookHeader.name, db.WebhookHeader.value_encrypted
            )
            .where(db.WebhookHeader.webhook_id.in_(webhook_ids))
            .order_by(db.WebhookHeader.webhook_id, db.WebhookHeader.name)
        )
        for webhook_id, name, sealed in rows:
            found[webhook_id].append((name, sealed))
        return found

    def _webhook(
        self,
        session: Session,
        row: db.Webhook,
        tenant: str,
        headers: list[tuple[str, str]] | None = None,
    ) -> Webhook:
        if headers is None:
            headers = self._sealed_headers(session, [row.id])[row.id]
        return Webhook(
            tenant=tenant,
            name=row.name,
            description=row.description,
            url=row.url,
            method="GET" if row.method == "GET" else "POST",
            timeout=row.timeout,
            parameters=tuple(dict(p) for p in row.parameters),
            enabled=row.enabled,
            revision=row.revision,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
            sealed_headers=tuple(headers),
        )

    @staticmethod
    def _webhook_row(session: Session, tenant: db.Tenant, name: str) -> db.Webhook:
        row = session.scalars(
            select(db.Webhook)
            .where(db.Webhook.tenant_id == tenant.id, db.Webhook.name == name)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound("webhook", name)
        return row

    def _apply_headers(
        self, session: Session, row: db.Webhook, definition: DefinitionInput
    ) -> list[str]:
        stored = {
            header.name.lower(): header
            for header in session.scalars(
                select(db.WebhookHeader).where(db.WebhookHeader.webhook_id == row.id)
            )
        }
        kept = set(stored)
        changed: list[str] = []
        errors: list[FieldError] = []
        for name, value in definition.headers.items():
            existing = stored.pop(name.lower(), None)
            kept.discard(name.lower())
            if existing is not None:
                session.delete(existing)
                session.flush()
            if value is None:
                if existing is None:
                    errors.append(
                        FieldError(f"headers.{name}", "no such header to remove", "not_found")
                    )
                continue
            session.add(
                db.WebhookHeader(
                    webhook_id=row.id,
                    name=name,
                    value_encrypted=self.keyring.encrypt(value.get_secret_value()),
                )
            )
            kept.add(name.lower())
            changed.append(name)
        if len(kept) > MAX_HEADERS:
            errors.append(FieldError("headers", f"at most {MAX_HEADERS} headers"))
        if errors:
            raise InvalidDefinition(errors)
        return sorted(changed)

    def create_webhook(self, tenant: str, data: object, *, actor: str) -> Webhook:
        """Validate and store a new definition; refuse the tenant's (max_actions + 1)th."""
        definition = parse_definition(data, allow=self.allow)
        try:
            with self._transaction() as session:
                tenant_row = self._tenant_row(session, tenant)
                claimed = session.execute(
                    update(db.Tenant)
                    .where(db.Tenant.id == tenant_row.id, db.Tenant.action_count < self.max_actions)
                    .values(action_count=db.Tenant.action_count + 1, version=db.Tenant.version + 1)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    raise ActionLimitReached(tenant, self.max_actions)
                row = db.Webhook(
                    tenant_id=tenant_row.id,
                    name=definition.name,
                    description=definition.description,
                    url=definition.url,
                    method=definition.method,
                    timeout=definition.timeout,
                    parameters=[p.model_dump() for p in definition.parameters],
                    enabled=definition.enabled,
                    revision=1,
                )
                session.add(row)
                session.flush()
                changed = self._apply_headers(session, row, definition)
                session.flush()
                webhook = self._webhook(session, row, tenant)
                self._audit(
                    session,
                    tenant_row,
                    actor=actor,
                    action="webhook.create",
                    target=f"webhook:{definition.name}",
                    after=webhook.public() | {"headers_set": changed},
                )
                return webhook
        except IntegrityError as exc:
            raise AlreadyExists("webhook", definition.name) from exc

    def update_webhook(
        self, tenant: str, name: str, changes: object, *, replace: bool = False, actor: str
    ) -> Webhook:
        """Change a definition (PATCH, or PUT with ``replace``); header values are write-only."""
        with self._transaction() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = self._webhook_row(session, tenant_row, name)
            before = self._webhook(session, row, tenant)
            definition = merge_definition(
                before.public(), changes, replace=replace, allow=self.allow
            )
            row.description = definition.description
            row.url = definition.url
            row.method = definition.method
            row.timeout = definition.timeout
            row.parameters = [p.model_dump() for p in definition.parameters]
            row.enabled = definition.enabled
            row.revision += 1
            row.updated_at = datetime.now(UTC)
            changed = self._apply_headers(session, row, definition)
            session.execute(
                update(db.Tenant)
                .where(db.Tenant.id == tenant_row.id)
                .values(version=db.Tenant.version + 1)
            )
            session.flush()
            after = self._webhook(session, row, tenant)
            self._audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.update",
                target=f"webhook:{name}",
                before=before.public(),
                after=after.public() | {"headers_set": changed},
            )
            return after

    def delete_webhook(self, tenant: str, name: str, *, actor: str) -> None:
        with self._transaction() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = self._webhook_row(session, tenant_row, name)
            before = self._webhook(session, row, tenant).public()
            session.delete(row)
            session.execute(
                update(db.Tenant)
                .where(db.Tenant.id == tenant_row.id)
                .values(action_count=db.Tenant.action_count - 1, version=db.Tenant.version + 1)
            )
            self._audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.delete",
                target=f"webhook:{name}",
                before=before,
            )

    def get_webhook(self, tenant: str, name: str) -> Webhook:
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            row = session.scalars(
                select(db.Webhook).where(
                    db.Webhook.tenant_id == tenant_row.id, db.Webhook.name == name
                )
            ).one_or_none()
            if row is None:
                raise NotFound("webhook", name)
            return self._webhook(session, row, tenant)

    def list_webhooks(self, tenant: str) -> list[Webhook]:
        with self._reading() as session:
            tenant_row = self._tenant_row(session, tenant)
            rows = list(
                session.scalars(
                    select(db.Webhook)
                    .where(db.Webhook.tenant_id == tenant_row.id)
                    .order_by(db.Webhook.name)
                )
            )
            headers = self._sealed_headers(session, [row.id for row in rows])
            return [self._webhook(session, row, tenant, headers[row.id]) for row in rows]

    def headers_for(self, webhook: Webhook) -> dict[str, str]:
        """The decrypted header values, for the request about to be sent and nothing else."""
        return {name: self.keyring.decrypt(sealed) for name, sealed in webhook.sealed_headers}

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
                    at=_utc(row.at),
                )
                for row in rows
            ]

    def verify_keys(self) -> None:
        """Raise :class:`KeyMismatch` now if stored values cannot be decrypted (start-up check)."""
        with self._reading() as session:
            for order in (db.WebhookHeader.webhook_id.asc(), db.WebhookHeader.webhook_id.desc()):
                sealed = session.scalars(
                    select(db.WebhookHeader.value_encrypted).order_by(order).limit(1)
                ).first()
                if sealed is not None:
                    self.keyring.decrypt(sealed)

    def rotate_keys(self) -> int:
        """Re-encrypt every stored header value with the first key; returns the count."""
        count = 0
        with self._transaction() as session:
            for header in session.scalars(select(db.WebhookHeader)):
                header.value_encrypted = self.keyring.rotate(header.value_encrypted)
                count += 1
        logger.info("re-encrypted %s header value(s) with the newest key", count)
        return count

    def count_webhooks(self) -> int:
        with self._reading() as session:
            return int(session.scalar(select(func.count()).select_from(db.Webhook)) or 0)
