"""What the store returns: frozen value objects, detached from any database session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..definitions._budgets import DEFAULT_TENANT_BUDGET
from ..definitions._definitions import Parameter
from ..egress._messages import Argument, WebhookRequest
from ..egress._signing import Signer
from ._permissions import implied

__all__ = [
    "AuditEntry",
    "CallPause",
    "LastTest",
    "Operator",
    "SigningSecret",
    "Tenant",
    "TenantSnapshot",
    "Webhook",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """A customer with its own assistant; ``skill_enabled`` is the (experimental) skill switch,
    ``calls_per_minute`` its budget of webhook calls for all its actions on all replicas."""

    name: str
    skill_enabled: bool
    action_count: int
    version: int
    created_at: datetime
    calls_per_minute: int = DEFAULT_TENANT_BUDGET


@dataclass(frozen=True, slots=True, kw_only=True)
class Operator:
    """A person or script acting on one tenant's configuration."""

    id: int
    tenant: str
    name: str
    is_admin: bool
    permissions: frozenset[str]
    created_at: datetime

    def has(self, permission: str) -> bool:
        """Whether the operator holds ``permission`` (manage implies read)."""
        return permission in implied(self.permissions)


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningSecret:
    """One of an action's signing secrets: its public ``id`` and when it was made; the value
    stays sealed and out of the repr."""

    id: str
    created_at: datetime
    sealed: str = field(repr=False)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at}


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """A stored definition. Header values stay sealed (encrypted) and out of the repr."""

    tenant: str
    name: str
    description: str
    url: str
    method: Literal["POST", "GET"]
    timeout: float
    parameters: tuple[Parameter, ...]
    enabled: bool
    examples: tuple[str, ...] = ()
    #: This action's own budget of calls per minute (within the tenant's); None: none.
    calls_per_minute: int | None = None
    #: The operator's reply templates: ``success`` and per failure category.
    replies: Mapping[str, str] = field(default_factory=dict)
    #: Whether a 4xx answer's own message is said to the user.
    service_messages: bool = False
    #: Whether a failed POST may be made again as a GET may.
    retry_post: bool = False
    #: The secrets its calls are signed with, newest first (none: calls are not signed).
    signing_secrets: tuple[SigningSecret, ...] = ()
    revision: int
    created_at: datetime
    updated_at: datetime
    sealed_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def request(
        self,
        headers: Mapping[str, str],
        arguments: Mapping[str, Argument],
        *,
        signer: Signer | None = None,
    ) -> WebhookRequest:
        """The call of this definition with its decrypted ``headers``, ``arguments`` and the
        ``signer`` of its secrets; raises ``ValueError`` for a header value the client
        refuses."""
        return WebhookRequest(
            url=self.url,
            method=self.method,
            timeout=self.timeout,
            headers=headers,
            arguments=arguments,
            signer=signer,
            retry_post=self.retry_post,
        )

    @property
    def header_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.sealed_headers)

    def public(self) -> dict[str, Any]:
        """The configuration as operators may see it: header names, never values."""
        return {
            "name": self.name,
            "description": self.description,
            "url": self.url,
            "method": self.method,
            "timeout": self.timeout,
            "parameters": [p.record() for p in self.parameters],
            "examples": list(self.examples),
            "headers": list(self.header_names),
            "enabled": self.enabled,
            "calls_per_minute": self.calls_per_minute,
            "replies": dict(self.replies),
            "service_messages": self.service_messages,
            "retry_post": self.retry_post,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LastTest:
    """The outcome of a webhook's last Test: when it ended, whether it succeeded (``ok``: a 2xx
    answer, as a call counts it), else the failure's ``category`` (for an answer with another
    ``status``, the category a call would fail with: ``rejected`` for 4xx, ``unavailable`` for
    5xx), and how long an answer took."""

    at: datetime
    ok: bool
    status: int | None = None
    category: str | None = None
    elapsed_ms: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPause:
    """An action's calls paused by a server process after its service kept failing: since
    when, until when (then one call probes the service), after how many ``failures`` in a
    row, the last of category ``reason``."""

    since: datetime
    until: datetime
    failures: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One change: who did what to which target, when, with the state before and after."""

    id: int
    tenant: str
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantSnapshot:
    """Everything an action server needs about one tenant, read in one go.

    ``action_token_hash`` is the SHA-256 of the token Rasa must present, ``tools_token_hash``
    that of the token MCP clients must present (None: none issued).
    """

    tenant: Tenant
    action_token_hash: str | None = field(repr=False)
    tools_token_hash: str | None = field(default=None, repr=False)
    webhooks: dict[str, Webhook]
