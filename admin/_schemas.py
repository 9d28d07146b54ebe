"""The API's JSON shapes, as pydantic models, and the OpenAPI document built from them.

Requests for definitions are validated by the core (``webhooks.parse_definition`` and
``merge_definition``, built on :class:`webhooks.DefinitionInput`); the document's request
schemas are generated from that same model, and every response is serialized through the models
below, so the document cannot drift from what the server does.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from webhooks import (
    AuditEntry,
    DefinitionInput,
    Operator,
    Parameter,
    Tenant,
    Webhook,
    masked_url,
)

__all__ = [
    "AuditPage",
    "ErrorBody",
    "OperatorList",
    "OperatorOut",
    "PermissionsIn",
    "SkillIn",
    "SkillOut",
    "TestOut",
    "WebhookList",
    "WebhookOut",
    "openapi_document",
]

Permission = Literal["webhooks:read", "webhooks:manage"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


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
    revision: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, webhook: Webhook, *, mask_query: bool = False) -> WebhookOut:
        """``webhook`` as an operator sees it; ``mask_query`` hides the URL's query values
        (from operators who may only read: a query may carry a secret)."""
        public = webhook.public()
        if mask_query:
            public["url"] = masked_url(public["url"])
        return cls.model_validate(
            public
            | {
                "revision": webhook.revision,
                "created_at": webhook.created_at,
                "updated_at": webhook.updated_at,
            },
            strict=False,
        )


class WebhookList(_Out):
    items: list[WebhookOut]


class TestOut(_Out):
    """The outcome of a Test call: status and the first 500 characters, or why it failed."""

    ok: bool
    status: int | None = None
    body: str | None = Field(default=None, description="first 500 characters of the body")
    elapsed_ms: float | None = None
    category: str | None = None
    message: str | None = None


class SkillIn(_In):
    enabled: bool


class SkillOut(_Out):
    enabled: bool
    experimental: bool = True

    @classmethod
    def of(cls, tenant: Tenant) -> SkillOut:
        return cls(enabled=tenant.skill_enabled)


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


class OperatorList(_Out):
    items: list[OperatorOut]


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
    next_before: int | None = Field(description="pass as ?before= for the next (older) page")


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


# -- the OpenAPI document -----------------------------------------------------------------------

_ERRORS = {
    "400": "malformed JSON",
    "401": "no token, or an unknown or revoked one",
    "403": "missing permission, or the skill is switched off",
    "404": "no such webhook or operator in your tenant",
    "405": "method not allowed",
    "409": "name taken, or the tenant's action limit reached",
    "413": "request body too large",
    "422": "a field breaks a rule; `field` names it",
}


def _error_responses(*codes: str) -> dict[str, Any]:
    return {
        code: {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for code in codes
    }


def _ok(status: str, model: str | None, description: str) -> dict[str, Any]:
    if model is None:
        return {status: {"description": description}}
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _body(model: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
    }


def _operation(
    summary: str, permission: str, responses: dict[str, Any], *, body: str | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Requires: {permission}.",
        "security": [{"bearer": []}],
        "responses": responses,
    }
    if body:
        operation["requestBody"] = _body(body)
    return operation


def _components() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (DefinitionInput, "validation"),
        (SkillIn, "validation"),
        (PermissionsIn, "validation"),
        (WebhookOut, "serialization"),
        (WebhookList, "serialization"),
        (TestOut, "serialization"),
        (SkillOut, "serialization"),
        (OperatorList, "serialization"),
        (OperatorOut, "serialization"),
        (AuditPage, "serialization"),
        (ErrorBody, "serialization"),
        (Health, "serialization"),
    ]
    _, schema = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = schema["$defs"]
    # Header values: a string sets or replaces, null removes (on create, null is refused).
    schemas["DefinitionInput"]["properties"]["headers"] = {
        "type": "object",
        "description": "header name -> value (write-only); null removes a stored header",
        "additionalProperties": {
            "anyOf": [{"type": "string", "writeOnly": True}, {"type": "null"}]
        },
        "default": {},
    }
    replace = copy.deepcopy(schemas["DefinitionInput"])
    replace["title"] = "WebhookReplace"
    replace["required"] = [r for r in replace["required"] if r != "name"]
    schemas["WebhookReplace"] = replace
    patch = copy.deepcopy(schemas["DefinitionInput"])
    patch["title"] = "WebhookPatch"
    patch.pop("required", None)
    for prop in patch["properties"].values():
        prop.pop("default", None)
    schemas["WebhookPatch"] = patch
    return schemas


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API."""
    read, manage, admin = "webhooks:read", "webhooks:manage", "tenant admin"
    name_param = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$", "maxLength": 64},
    }
    auth_errors = ("401", "403")
    webhook = {
        "parameters": [name_param],
        "get": _operation(
            "View one webhook action",
            read,
            _ok("200", "WebhookOut", "the action") | _error_responses(*auth_errors, "404"),
        ),
        "put": _operation(
            "Replace a webhook action (headers not named keep their values)",
            manage,
            _ok("200", "WebhookOut", "the updated action")
            | _error_responses("400", *auth_errors, "404", "413", "422"),
            body="WebhookReplace",
        ),
        "patch": _operation(
            "Change some fields of a webhook action (e.g. enabled)",
            manage,
            _ok("200", "WebhookOut", "the updated action")
            | _error_responses("400", *auth_errors, "404", "413", "422"),
            body="WebhookPatch",
        ),
        "delete": _operation(
            "Delete a webhook action",
            manage,
            _ok("204", None, "deleted") | _error_responses(*auth_errors, "404"),
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Webhook Actions for Rasa: admin API",
            "version": "1",
            "description": "Operators define webhook actions for their tenant's assistant. "
            "Every error is JSON {error: {code, message, field}}.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/health": {"get": {"summary": "Liveness", "responses": _ok("200", "Health", "alive")}},
            "/webhooks": {
                "get": _operation(
                    "List the tenant's webhook actions",
                    read,
                    _ok("200", "WebhookList", "the actions") | _error_responses(*auth_errors),
                ),
                "post": _operation(
                    "Create a webhook action",
                    manage,
                    _ok("201", "WebhookOut", "created")
                    | _error_responses("400", *auth_errors, "409", "413", "422"),
                    body="DefinitionInput",
                ),
            },
            "/webhooks/{name}": webhook,
            "/webhooks/{name}/test": {
                "parameters": [name_param],
                "post": _operation(
                    "Send a test request (empty JSON body for POST, no parameters for GET)",
                    manage,
                    _ok("200", "TestOut", "the outcome, successful or not")
                    | _error_responses(*auth_errors, "404"),
                ),
            },
            "/skill": {
                "get": _operation(
                    "Is the webhook skill switched on?",
                    admin,
                    _ok("200", "SkillOut", "the switch") | _error_responses(*auth_errors),
                ),
                "put": _operation(
                    "Switch the webhook skill (experimental) on or off",
                    admin,
                    _ok("200", "SkillOut", "the switch")
                    | _error_responses("400", *auth_errors, "413", "422"),
                    body="SkillIn",
                ),
            },
            "/operators": {
                "get": _operation(
                    "List the tenant's operators",
                    admin,
                    _ok("200", "OperatorList", "the operators") | _error_responses(*auth_errors),
                ),
            },
            "/operators/{id}/permissions": {
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    }
                ],
                "put": _operation(
                    "Set an operator's webhook permissions",
                    admin,
                    _ok("200", "OperatorOut", "the operator")
                    | _error_responses("400", *auth_errors, "404", "413", "422"),
                    body="PermissionsIn",
                ),
            },
            "/audit": {
                "get": {
                    **_operation(
                        "The audit log, newest first",
                        read,
                        _ok("200", "AuditPage", "one page") | _error_responses(*auth_errors, "422"),
                    ),
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        },
                        {
                            "name": "before",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                        },
                    ],
                },
            },
        },
    }
