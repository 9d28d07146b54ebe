"""The store's tables (SQLAlchemy 2 declarative). Alembic migrations create and evolve them.

Header values live only as Fernet tokens in ``webhook_headers.value_encrypted``; API tokens only
as SHA-256 digests in ``api_tokens.token_hash``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CallBudget",
    "ConversationCalls",
    "EncryptionKey",
    "Operator",
    "OperatorPermission",
    "Tenant",
    "Webhook",
    "WebhookHeader",
    "WebhookTest",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    skill_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Kept equal to the number of the tenant's webhooks by a conditional UPDATE, so the limit
    # holds under concurrent creates without locking the table.
    action_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every change a reader of definitions must see; polled by the action servers.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # SHA-256 of the token Rasa's action_endpoint sends; None until one is issued.
    action_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # SHA-256 of the token MCP clients send to the tools server; None until one is issued.
    tools_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # Webhook calls per minute for all the tenant's actions together, on every replica.
    calls_per_minute: Mapped[int] = mapped_column(Integer, default=600, server_default="600")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_operators_tenant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OperatorPermission(Base):
    __tablename__ = "operator_permissions"

    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Webhook(Base):
    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_webhooks_tenant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(8))
    timeout: Mapped[float] = mapped_column(Float)
    parameters: Mapped[list[Any]] = mapped_column(JSON)
    examples: Mapped[list[Any]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # This action's own budget of calls per minute, within the tenant's; None: none of its own.
    calls_per_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    #: The operator's reply templates by key (``success``, a failure category).
    replies: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    service_messages: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether a failed POST may be made again as a GET may (the receiver deduplicates).
    retry_post: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class WebhookHeader(Base):
    __tablename__ = "webhook_headers"

    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    # Stored as given; uniqueness is case-insensitive and enforced by the definitions rules.
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value_encrypted: Mapped[str] = mapped_column(Text)
    # Fingerprint of the key that encrypted the value (Keyring.ids); None for values written
    # before migration 0003, which the start-up check decrypts one by one instead.
    key_id: Mapped[str | None] = mapped_column(String(16), default=None)


class WebhookSigningSecret(Base):
    """A secret an action's calls are signed with (two during a rotation), sealed like a
    header value; ``secret_id`` is what operators see of it."""

    __tablename__ = "webhook_signing_secrets"

    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    secret_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    value_encrypted: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class WebhookPause(Base):
    """A pause of an action's calls that one server process (``replica``) decided, kept for
    the operators' console; written when a pause begins, removed when it ends. Like
    :class:`WebhookTest`, writing it changes no revision, version or audit entry."""

    __tablename__ = "webhook_pauses"

    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    replica: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))


class WebhookTest(Base):
    """The outcome of a webhook's last Test, kept for the operators' console.

    Apart from the definition on purpose: writing it changes no revision, no tenant version
    (which the action servers and the routing endpoint watch) and no audit entry.
    """

    __tablename__ = "webhook_tests"

    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    category: Mapped[str | None] = mapped_column(String(32), default=None)
    elapsed_ms: Mapped[float | None] = mapped_column(Float, default=None)


class ConversationCalls(Base):
    """Webhook calls made so far in one conversation (a Rasa session of one sender)."""

    __tablename__ = "conversation_calls"
    # One B-tree on SQLite: a claim writes one page, not a row page and a key page (0004).
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it once

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    conversation: Mapped[str] = mapped_column(String(300), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class CallBudget(Base):
    """Webhook calls counted in a tenant's current budget window: ``scope`` is ``*`` for the
    tenant's budget, or an action's name for that action's own.

    One row per budget, not one per window: a claim in a new window starts the count again
    (``_budgets.py``), so the table never grows with time.
    """

    __tablename__ = "call_budgets"
    # One B-tree on SQLite, as conversation_calls (0004): a claim writes one page.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it once

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The window's number: the database's Unix time divided by the window's length.
    period: Mapped[int] = mapped_column(BigInteger)
    calls: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class EncryptionKey(Base):
    """What `keys rotate` and `keys retire` decided about a key (by fingerprint).

    ``newest``: the key the last rotation re-encrypted everything with (one row at most);
    ``older``: an earlier newest; ``retired``: no value uses it and none may be written with it.
    A writer refuses when it lacks the newest or would encrypt with a retired key.
    """

    __tablename__ = "encryption_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
