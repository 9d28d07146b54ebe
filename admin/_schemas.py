"""The API's JSON shapes, as pydantic models; ``_openapi`` builds the document from them.

Requests for definitions are validated by the core (its ``parse_definition`` and
``merge_definition``, built on :class:`webhooks.DefinitionInput`); every response is serialized
through the models below, so the document cannot drift from what the server does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from webhooks import (
    DEFAULT_TENANT_BUDGET,
    MAX_BUDGET,
    MAX_TEMPLATE,
    TOOL_SHAPES,
    AuditEntry,
    CallPause,
    HTTPStatusError,
    Operator,
    Parameter,
    SigningSecret,
    Tenant,
    Webhook,
    WebhookTestResult,
    masked_url,
)
from webhooks import LastTest as StoredTest

from ._tester import answered_failure

__all__ = [
    "AuditPage",
    "BudgetIn",
    "BudgetOut",
    "ErrorBody",
    "LastTest",
    "MeOut",
    "NewSigningSecret",
    "NewToken",
    "OperatorIn",
    "OperatorList",
    "OperatorOut",
    "Paused",
    "PermissionsIn",
    "PreviewIn",
    "PreviewOut",
    "Revoked",
    "SigningSecretOut",
    "SkillIn",
    "SkillOut",
    "TestIn",
    "TestOut",
    "ToolList",
    "ToolsToken",
    "ToolsTokenIn",
    "ToolsTokenRevoked",
    "WebhookList",
    "WebhookOut",
]

Permission = Literal["webhooks:read", "webhooks:manage"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_OK = "true only for a 2xx answer, the only one a conversation's call takes as a success"
_CATEGORY = (
    "why it is not ok: the category a call would fail with (rejected for a 4xx answer, "
    "unavailable for 5xx, unreachable when no public server answered, ...)"
)


class LastTest(_Out):
    """How the action's last Test went: ``ok`` for a 2xx answer, else the failure's
    ``category`` (with the ``status`` when a server answered)."""

    at: datetime
    ok: bool = Field(description=_OK)
    status: int | None
    category: str | None = Field(description=_CATEGORY)
    elapsed_ms: float | None

    @classmethod
    def of(cls, record: StoredTest) -> LastTest:
        ok, category = record.ok, record.category
        if ok and record.status is not None and not 200 <= record.status < 300:
            # Kept before ok meant a 2xx answer: said as a Test made now would say it.
            ok, category = False, HTTPStatusError(record.status).category
        return cls(
            at=record.at,
            ok=ok,
            status=record.status,
            category=category,
            elapsed_ms=record.elapsed_ms,
        )


class SigningSecretOut(_Out):
    """One of the action's signing secrets as anyone may see it: its id and when it was made
    (the value is shown once, when it is made)."""

    id: str = Field(description="what tells the action's secrets apart (not secret)")
    created_at: datetime

    @classmethod
    def of(cls, secret: SigningSecret) -> SigningSecretOut:
        return cls.model_validate(secret.public())


class Paused(_Out):
    """The action's calls paused by a server process after its service kept failing: a call
    until ``until`` gets the unavailable reply at once; the first call after it tests the
    service again."""

    since: datetime
    until: datetime = Field(
        description="when the pause ends (if past: the next call tests the service)"
    )
    failures: int = Field(description="failed calls in a row before the pause")
    reason: str = Field(description="the failure category of the last of them (e.g. timeout)")

    @classmethod
    def of(cls, pause: CallPause) -> Paused:
        return cls(
            since=pause.since, until=pause.until, failures=pause.failures, reason=pause.reason
        )


class WebhookOut(_Out):
    """A stored webhook action; header values are never returned, only their names."""

    name: str
    description: str
    url: str
    method: Literal["POST", "GET"]
    timeout: float
    parameters: list[Parameter]
    examples: list[str] = Field(description="requests as users would write them")
    headers: list[str] = Field(description="names of the configured headers (values are secret)")
    enabled: bool
    calls_per_minute: int | None = Field(
        description="the action's own budget of webhook calls per minute on all replicas, "
        "within the tenant's; null: none of its own"
    )
    replies: dict[str, str] = Field(
        description="the operator's reply templates: success, and per failure category"
    )
    service_messages: bool = Field(
        description="on a 4xx answer, the bot says the service's own message"
    )
    retry_post: bool = Field(
        description="a failed POST may be made again as a GET may (for a receiver that "
        "deduplicates calls by their Idempotency-Key)"
    )
    revision: int
    created_at: datetime
    updated_at: datetime
    last_test: LastTest | None = Field(description="null until the action is tested")
    signing_secrets: list[SigningSecretOut] = Field(
        description="the secrets its calls are signed with, newest first (two during a "
        "rotation); empty: calls are not signed"
    )
    paused: Paused | None = Field(
        description="null unless a server process paused its calls after its service kept failing"
    )

    @classmethod
    def of(
        cls,
        webhook: Webhook,
        *,
        mask_query: bool = False,
    ) -> WebhookOut:
        """``webhook`` as an operator sees it, without its last Test and pause (the admin API
        lays them over its dump); ``mask_query`` hides the URL's query values (from operators
        who may only read: a query may carry a secret)."""
        public = webhook.public()
        if mask_query:
            public["url"] = masked_url(public["url"])
        return cls.model_validate(
            public
            | {
                "revision": webhook.revision,
                "created_at": webhook.created_at,
                "updated_at": webhook.updated_at,
                "last_test": None,
                "signing_secrets": [SigningSecretOut.of(s) for s in webhook.signing_secrets],
                "paused": None,
            },
            strict=False,
        )


class WebhookList(_Out):
    items: list[WebhookOut]
    limit: int = Field(description="the most actions the tenant may have")


#: A sample value: what a user could answer (JSON null, arrays and objects are refused).
Sample = Annotated[Any, WithJsonSchema({"type": ["string", "number", "boolean"]})]


class TestIn(_In):
    """Sample values for a Test, converted as a user's answers are; without them, the Test
    sends an empty JSON object (POST) or no parameters (GET)."""

    values: dict[str, Sample] | None = Field(
        default=None,
        description="parameter name -> value; every required parameter needs one",
    )


class TestOut(_Out):
    """The outcome of a Test call: status, media type, size and the first 500 characters of
    the body when a server answered; ``ok`` only for a 2xx answer, else why not."""

    ok: bool = Field(description=_OK)
    status: int | None = None
    body: str | None = Field(default=None, description="first 500 characters of the body")
    truncated: bool | None = Field(default=None, description="whether the body went on")
    elapsed_ms: float | None = None
    content_type: str | None = Field(default=None, description="the answer's media type")
    size: int | None = Field(default=None, description="bytes of body read (at most 50 KB)")
    category: str | None = Field(default=None, description=_CATEGORY)
    message: str | None = Field(default=None, description="why it is not ok, in words")
    result: Any = Field(
        default=None,
        description="the whole answer as a call reads it (parsed JSON, or "
        '{"response_text": ...}), header values masked: what reply templates see',
    )
    reply: str | None = Field(
        default=None,
        description="what the bot would say to this answer: the action's replies applied "
        "(a designer's responses, which only Rasa knows, are not)",
    )

    @classmethod
    def of(cls, result: WebhookTestResult) -> TestOut:
        """The outcome of a Test a server answered, whatever its status."""
        category, message = answered_failure(result) or (None, None)
        return cls(
            ok=result.ok,
            category=category,
            message=message,
            status=result.status,
            body=result.preview,
            truncated=result.truncated,
            elapsed_ms=round(result.elapsed * 1000, 1),
            content_type=result.content_type,
            size=result.size,
            result=result.data,
        )


class PreviewIn(_In):
    """A reply template to try on a result (the last Test's body, say) before saving it."""

    template: str = Field(max_length=MAX_TEMPLATE, description="the template, as it would be saved")
    result: Any = Field(default=None, description="the webhook's answer, as parsed JSON")
    status: int | None = Field(default=None, ge=100, le=599, description="the HTTP status")
    values: dict[str, Sample] = Field(
        default_factory=dict, description="parameter name -> the value a user gave"
    )


class PreviewOut(_Out):
    """What the bot would say with the template."""

    text: str = Field(description="the reply (at most 1,000 characters)")
    cut: bool = Field(description="whether the reply was cut at 1,000 characters")
    missing: list[str] = Field(description="fields the template asked for that the data lacks")


class SkillIn(_In):
    enabled: bool


class SkillOut(_Out):
    enabled: bool
    experimental: bool = True

    @classmethod
    def of(cls, tenant: Tenant) -> SkillOut:
        return cls(enabled=tenant.skill_enabled)


class BudgetIn(_In):
    """The tenant's budget of webhook calls per minute, for all its actions together."""

    calls_per_minute: int = Field(ge=1, le=MAX_BUDGET)


class BudgetOut(_Out):
    calls_per_minute: int = Field(
        description="webhook calls per minute for all the tenant's actions together, on all "
        f"servers (a new tenant has {DEFAULT_TENANT_BUDGET}); over it a call is refused "
        "with the rate-limit sentence"
    )

    @classmethod
    def of(cls, tenant: Tenant) -> BudgetOut:
        return cls(calls_per_minute=tenant.calls_per_minute)


class PermissionsIn(_In):
    permissions: list[Permission] = Field(max_length=2)


class OperatorOut(_Out):
    id: int
    name: str
    admin: bool
    permissions: list[Permission]

    @classmethod
    def of(cls, operator: Operator) -> OperatorOut:
        return cls.model_validate(
            {
                "id": operator.id,
                "name": operator.name,
                "admin": operator.is_admin,
                "permissions": sorted(operator.permissions),
            }
        )


class MeOut(_Out):
    """Who the token belongs to, and whether the tenant's skill is switched on."""

    id: int
    name: str
    tenant: str
    admin: bool
    permissions: list[Permission]
    skill: bool = Field(description="the tenant's webhook skill switch")

    @classmethod
    def of(cls, operator: Operator, tenant: Tenant) -> MeOut:
        return cls.model_validate(
            OperatorOut.of(operator).model_dump()
            | {"tenant": operator.tenant, "skill": tenant.skill_enabled}
        )


class OperatorList(_Out):
    items: list[OperatorOut]


class OperatorIn(_In):
    """A new operator of the tenant (never an admin: those are made with the CLI)."""

    name: str = Field(description="1-64 printable characters, unique in the tenant")
    permissions: list[Permission] = Field(default=[], max_length=2)


class NewSigningSecret(_Out):
    """A new signing secret of an action: its value is shown this once (it is kept encrypted,
    for signing only)."""

    id: str
    secret: str = Field(
        description="whsec_ and the base64 of 32 random bytes, as Standard Webhooks "
        "receivers' libraries take it"
    )
    created_at: datetime
    message: str = Field(description="what it means, in words")


class NewToken(_Out):
    """An operator and a new API token of theirs: shown this once, only its digest is kept."""

    operator: OperatorOut
    token: str = Field(description="send as Authorization: Bearer <token>")


class Revoked(_Out):
    revoked: int = Field(description="how many live tokens were revoked")


class ToolList(_Out):
    """The tenant's tools (its enabled actions while the skill is on) for LLM clients."""

    shape: str = Field(json_schema_extra={"enum": list(TOOL_SHAPES)})
    tools: list[dict[str, Any]] = Field(
        description="MCP: {name, description, inputSchema}; OpenAI: {type: function, function: "
        "{name, description, parameters, strict}}"
    )


class ToolsTokenIn(_In):
    replace: bool = Field(
        default=False, description="replace a current token (its MCP clients then get 401)"
    )


class ToolsToken(_Out):
    """The tenant's new tools token: shown this once, only its digest is kept."""

    tenant: str
    token: str = Field(description="MCP clients send it as Authorization: Bearer <token>")


class ToolsTokenRevoked(_Out):
    revoked: bool = Field(description="whether the tenant had a tools token")


class AuditOut(_Out):
    id: int
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(
            id=entry.id,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            before=entry.before,
            after=entry.after,
            at=entry.at,
        )


class AuditPage(_Out):
    items: list[AuditOut]
    next_before: int | None = Field(
        description="pass as ?before= (with the same filters) for the next, older page"
    )


class ErrorDetail(_Out):
    code: str = Field(description="stable, machine-readable error code")
    message: str
    field: str | None = Field(description="path of the offending field, e.g. parameters[2].type")


class ErrorBody(_Out):
    error: ErrorDetail
    errors: list[ErrorDetail] | None = Field(
        default=None, description="every broken rule, when there are several"
    )


class Health(_Out):
    status: Literal["ok"]
