"""The store's accounts: tenants and their skill switch, operators, their permissions and API
tokens, and who a token belongs to (``store.accounts``)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .._exceptions import (
    ActionTokenInUse,
    AlreadyExists,
    FieldError,
    InvalidDefinition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from . import _schema as db
from ._permissions import PERMISSIONS
from ._records import Operator, Tenant
from ._tables import MAX_ID, TENANT_PATTERN, Tables, hash_token, utc

__all__ = [
    "MAX_OPERATOR_NAME",
    "Accounts",
    "actor_of",
    "bearer_matches",
    "bearer_token",
    "operator_actor",
    "token_matches",
]

#: An operator's name is 1 to this many printable characters.
MAX_OPERATOR_NAME = 64

TOKEN_PREFIX = "wha_"  # noqa: S105 - a public marker that makes leaked tokens easy to scan for
ACTION_TOKEN_PREFIX = "wht_"  # noqa: S105 - the same, for tokens Rasa sends to action servers
TOOLS_TOKEN_PREFIX = "whm_"  # noqa: S105 - the same, for tokens MCP clients send to tools servers


def actor_of(operator: Operator) -> str:
    """How an operator is named in the audit log."""
    return operator_actor(operator.id, operator.name)


def operator_actor(operator_id: int, name: str) -> str:
    """How the operator ``operator_id`` called ``name`` is named in the audit log."""
    return f"operator:{operator_id}:{name}"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def bearer_matches(authorization: str | None, secret: str) -> bool:
    """Whether an ``Authorization`` header value is ``Bearer <secret>`` (a configured token,
    such as the metrics token), compared in constant time."""
    token = bearer_token(authorization)
    return token is not None and hmac.compare_digest(
        token.encode("utf-8", "replace"), secret.encode("utf-8")
    )


def token_matches(token: str, digest: str | None) -> bool:
    """Whether ``token`` is the one whose SHA-256 is ``digest``, compared in constant time."""
    # Tokens are ASCII; anything else (a header's stray bytes) cannot match, nor be hashed.
    return digest is not None and token.isascii() and hmac.compare_digest(hash_token(token), digest)


#: The tenant's columns as :data:`_TOKEN_OWNER` names them.
_TENANT_COLUMNS = {f"tenant_{column.key}": column.key for column in db.Tenant.__table__.columns}

#: A token's owner: the token's state, its operator with each of their permissions (a row each,
#: or one row without), and the tenant's columns, in one statement built once. Run on the
#: connection: the ORM's loading was a fifth of a list's CPU (py-spy, bench admin).
_TOKEN_OWNER = (
    select(
        db.ApiToken.token_hash,
        db.ApiToken.revoked_at,
        db.Operator.id,
        db.Operator.name,
        db.Operator.is_admin,
        db.Operator.created_at,
        db.OperatorPermission.permission,
        *(db.Tenant.__table__.c[key].label(label) for label, key in _TENANT_COLUMNS.items()),
    )
    .join(db.Operator, db.ApiToken.operator_id == db.Operator.id)
    .join(db.Tenant, db.Operator.tenant_id == db.Tenant.id)
    .outerjoin(db.OperatorPermission, db.OperatorPermission.operator_id == db.Operator.id)
    .where(db.ApiToken.token_hash == bindparam("digest"))
)


class Accounts:
    """The store's tenants, operators and tokens: who may do what, and who a token is."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

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
            with self._tables.transaction() as session:
                row = db.Tenant(name=name, skill_enabled=False, action_count=0, version=1)
                session.add(row)
                session.flush()
                self._tables.audit(
                    session, row, actor=actor, action="tenant.create", target=f"tenant:{name}"
                )
                return self._tables.tenant(row)
        except IntegrityError as exc:
            raise AlreadyExists("tenant", name) from exc

    def get_tenant(self, name: str) -> Tenant:
        """The tenant called ``name``; :class:`NotFound` if there is none."""
        with self._tables.read(alone=True) as session:
            return self._tables.tenant(self._tables.tenant_row(session, name))

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, by name."""
        with self._tables.read() as session:
            rows = session.scalars(select(db.Tenant).order_by(db.Tenant.name))
            return [self._tables.tenant(row) for row in rows]

    def set_skill(self, tenant: str, enabled: bool, *, actor: str) -> Tenant:
        """Switch the webhook skill; switching it on grants both permissions to the admins."""
        with self._tables.transaction() as session:
            row = self._tables.tenant_row(session, tenant, lock=True)
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
            self._tables.audit(
                session,
                row,
                actor=actor,
                action="skill.enable" if enabled else "skill.disable",
                target=f"tenant:{tenant}",
                before=before,
                after={"skill_enabled": enabled, "granted": granted},
            )
            session.flush()
            return self._tables.tenant(row)

    def issue_action_token(self, tenant: str, *, actor: str, replace: bool = False) -> str:
        """A new token for the tenant's Rasa ``action_endpoint``.

        A tenant has one: a new one ends the old one, and a Rasa still sending the old one
        then gets 401 for every action. So an existing token is replaced only with
        ``replace``; otherwise :class:`ActionTokenInUse`. Returned once; only its digest is
        stored. Action servers pick it up with the tenant's next version.
        """
        return self._issue_tenant_token(tenant, "action", actor=actor, replace=replace)

    def issue_tools_token(self, tenant: str, *, actor: str, replace: bool = False) -> str:
        """A new token for the tenant's MCP clients (the tools server's bearer token).

        Like :meth:`issue_action_token`: one per tenant, replaced only with ``replace``,
        returned once, stored as a digest; tools servers pick it up with the next version.
        """
        return self._issue_tenant_token(tenant, "tools", actor=actor, replace=replace)

    def revoke_tools_token(self, tenant: str, *, actor: str) -> bool:
        """End the tenant's tools token, if it has one: whether there was one."""
        with self._tables.transaction() as session:
            row = self._tables.tenant_row(session, tenant, lock=True)
            if row.tools_token_hash is None:
                return False
            row.tools_token_hash = None
            row.version += 1
            self._tables.audit(
                session, row, actor=actor, action="tools_token.revoke", target=f"tenant:{tenant}"
            )
        return True

    def _issue_tenant_token(self, tenant: str, kind: str, *, actor: str, replace: bool) -> str:
        prefix = ACTION_TOKEN_PREFIX if kind == "action" else TOOLS_TOKEN_PREFIX
        column = f"{kind}_token_hash"
        token = prefix + secrets.token_urlsafe(32)
        with self._tables.transaction() as session:
            row = self._tables.tenant_row(session, tenant, lock=True)
            replaced = getattr(row, column) is not None
            if replaced and not replace:
                raise ActionTokenInUse(tenant, kind=f"{kind} token")
            setattr(row, column, hash_token(token))
            row.version += 1
            self._tables.audit(
                session,
                row,
                actor=actor,
                action=f"{kind}_token.issue",
                target=f"tenant:{tenant}",
                after={"replaced": replaced},
            )
        return token

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
            created_at=utc(row.created_at),
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
        session.add(db.ApiToken(operator_id=operator_id, token_hash=hash_token(token)))
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
        if not 1 <= len(name) <= MAX_OPERATOR_NAME or not name.isprintable():
            raise InvalidDefinition(
                [FieldError("name", f"1-{MAX_OPERATOR_NAME} printable characters")]
            )
        wanted = set(self._check_permissions(permissions))
        try:
            with self._tables.transaction() as session:
                # Locked like every change of permissions in the tenant (set_skill grants them
                # too), so concurrent changes queue instead of missing each other.
                tenant_row = self._tables.tenant_row(session, tenant, lock=True)
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
                self._tables.audit(
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
        """The tenant's operator ``operator_id``; :class:`NotFound` for another tenant's."""
        with self._tables.read() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            return self._operator(session, row, tenant)

    def list_operators(self, tenant: str) -> list[Operator]:
        """The tenant's operators, oldest first."""
        with self._tables.read() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
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
        with self._tables.transaction() as session:
            tenant_row = self._tables.tenant_row(session, tenant, lock=True)
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
            self._tables.audit(
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
        with self._tables.transaction() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            token = self._issue_token(session, row.id)
            self._tables.audit(
                session,
                tenant_row,
                actor=actor,
                action="token.issue",
                target=f"operator:{row.id}:{row.name}",
            )
            return token

    def revoke_tokens(self, tenant: str, operator_id: int, *, actor: str) -> int:
        """Revoke every live token of the operator; returns how many were revoked."""
        with self._tables.transaction() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            row = self._operator_row(session, tenant_row, operator_id)
            result = session.execute(
                update(db.ApiToken)
                .where(db.ApiToken.operator_id == row.id, db.ApiToken.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            count = int(result.rowcount)  # type: ignore[attr-defined]
            self._tables.audit(
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
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or not token.isascii():
            raise Unauthenticated()
        digest = hash_token(token)
        with self._tables.read(alone=True) as session:
            rows = session.connection().execute(_TOKEN_OWNER, {"digest": digest}).all()
            # The lookup is by digest; the constant-time compare keeps it honest if that changes.
            if (
                not rows
                or rows[0].revoked_at is not None
                or not hmac.compare_digest(rows[0].token_hash, digest)
            ):
                raise Unauthenticated()
            first = rows[0]
            # The tenant's row for the rest of the reading, made of the columns read here.
            tenant_row = db.Tenant(
                **{key: getattr(first, label) for label, key in _TENANT_COLUMNS.items()}
            )
            self._tables.seen_tenant(session, tenant_row)
            return Operator(
                id=first.id,
                tenant=tenant_row.name,
                name=first.name,
                is_admin=first.is_admin,
                permissions=frozenset(row.permission for row in rows if row.permission),
                created_at=utc(first.created_at),
            )

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
