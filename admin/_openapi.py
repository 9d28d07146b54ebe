"""The OpenAPI document of the admin API, generated from the models the server uses.

The request schemas for definitions come from the core's :class:`webhooks.DefinitionInput`, the
responses from the models of ``_schemas``; the paths are written once, below.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from webhooks import (
    MAX_ID,
    MAX_NAME_LENGTH,
    MAX_OPERATOR_NAME,
    NAME_PATTERN,
    TOOL_SHAPES,
    DefinitionInput,
)

from ._schemas import (
    AuditPage,
    BudgetIn,
    BudgetOut,
    ErrorBody,
    Health,
    MeOut,
    NewSigningSecret,
    NewToken,
    OperatorIn,
    OperatorList,
    OperatorOut,
    PermissionsIn,
    PreviewIn,
    PreviewOut,
    Revoked,
    SkillIn,
    SkillOut,
    TestIn,
    TestOut,
    ToolList,
    ToolsToken,
    ToolsTokenIn,
    ToolsTokenRevoked,
    WebhookList,
    WebhookOut,
)

__all__ = ["ROUTES", "Route", "openapi_document"]

# -- the OpenAPI document -----------------------------------------------------------------------

_ERRORS = {
    "400": "malformed JSON",
    "401": "no token, or an unknown or revoked one",
    "403": "missing permission, or the skill is switched off",
    "404": "no such webhook, operator or signing secret in your tenant",
    "405": "method not allowed",
    "409": "name taken, or a limit reached: the tenant's actions, an action's signing secrets",
    "413": "request body too large",
    "422": "a field breaks a rule; `field` names it",
    "429": "too many failed authentications from this address (`too_many_failures`), or "
    "too many Tests by this operator (`too_many_tests`); `Retry-After` says when to retry",
}


_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
}


def _error_responses(*codes: str) -> dict[str, Any]:
    return {
        code: {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        | ({"headers": _RETRY_AFTER} if code == "429" else {})
        for code in codes
    }


def _ok(status: str, model: str | None, description: str) -> dict[str, Any]:
    if model is None:
        return {status: {"description": description}}
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _body(model: str, *, required: bool) -> dict[str, Any]:
    return {
        "required": required,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
    }


def _operation(
    summary: str,
    permission: str,
    responses: dict[str, Any],
    *,
    body: str | None = None,
    body_required: bool = True,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Requires: {permission}.",
        "security": [{"bearer": []}],
        "responses": responses,
    }
    if body:
        operation["requestBody"] = _body(body, required=body_required)
    return operation


def _components() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (DefinitionInput, "validation"),
        (SkillIn, "validation"),
        (BudgetIn, "validation"),
        (PermissionsIn, "validation"),
        (OperatorIn, "validation"),
        (TestIn, "validation"),
        (PreviewIn, "validation"),
        (ToolsTokenIn, "validation"),
        (ToolList, "serialization"),
        (ToolsToken, "serialization"),
        (ToolsTokenRevoked, "serialization"),
        (WebhookOut, "serialization"),
        (WebhookList, "serialization"),
        (TestOut, "serialization"),
        (PreviewOut, "serialization"),
        (SkillOut, "serialization"),
        (BudgetOut, "serialization"),
        (MeOut, "serialization"),
        (OperatorList, "serialization"),
        (OperatorOut, "serialization"),
        (NewSigningSecret, "serialization"),
        (NewToken, "serialization"),
        (Revoked, "serialization"),
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


_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": NAME_PATTERN, "maxLength": MAX_NAME_LENGTH},
}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
_SECRET_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "a signing secret's id (whs_...), as the action lists it",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
#: What ``{id}`` is in a route's path: how Sanic matches it (naming the handler's argument), and
#: the document's parameter.
_IDS = {
    "operator": ("<operator_id:int>", _ID),
    "signing_secret": ("<secret_id:str>", _SECRET_ID),
}
_AUDIT_QUERY = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    {
        "name": "before",
        "in": "query",
        "description": "an entry's id: the page of older entries (next_before of a page)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    {
        "name": "webhook",
        "in": "query",
        "description": "only the entries about this action (a deleted one's too)",
        "schema": {"type": "string", "pattern": NAME_PATTERN, "maxLength": MAX_NAME_LENGTH},
    },
    {
        "name": "operator",
        "in": "query",
        "description": "only the entries of the operator of this name (cli: the command line)",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_OPERATOR_NAME},
    },
    {
        "name": "since",
        "in": "query",
        "description": "only the entries made at or after this moment (RFC 3339, with offset)",
        "schema": {"type": "string", "format": "date-time"},
    },
    {
        "name": "until",
        "in": "query",
        "description": "only the entries made before this moment (later than since)",
        "schema": {"type": "string", "format": "date-time"},
    },
]
_SHAPE_QUERY = [
    {
        "name": "shape",
        "in": "query",
        "description": "mcp (the default): MCP's tools/list items; openai: function tools",
        "schema": {"type": "string", "enum": list(TOOL_SHAPES), "default": "mcp"},
    }
]
_READ, _MANAGE, _ADMIN = "webhooks:read", "webhooks:manage", "tenant admin"
_ANY = "any operator's token"
_AUTH = ("401", "403", "429")


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the API: served by ``AdminApi.<handler>``, documented by ``operation``;
    ``{id}`` in its path is an operator's, or the kind ``id_of`` says."""

    method: str
    path: str  # as OpenAPI writes it: /webhooks/{name}
    handler: str
    operation: dict[str, Any]
    id_of: Literal["operator", "signing_secret"] = "operator"

    @property
    def sanic_path(self) -> str:
        return self.path.replace("{name}", "<name:str>").replace("{id}", _IDS[self.id_of][0])

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """The path's parameters, as the document describes them."""
        found = []
        if "{name}" in self.path:
            found.append(_NAME)
        if "{id}" in self.path:
            found.append(_IDS[self.id_of][1])
        return found


#: Every route but the two that describe the API itself (health and this document).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/webhooks", "list_webhooks", _operation(
        "List the tenant's webhook actions", _READ,
        _ok("200", "WebhookList", "the actions") | _error_responses(*_AUTH))),
    Route("POST", "/webhooks", "create_webhook", _operation(
        "Create a webhook action", _MANAGE,
        _ok("201", "WebhookOut", "created")
        | _error_responses("400", *_AUTH, "409", "413", "422"), body="DefinitionInput")),
    Route("GET", "/webhooks/{name}", "get_webhook", _operation(
        "View one webhook action", _READ,
        _ok("200", "WebhookOut", "the action") | _error_responses(*_AUTH, "404"))),
    Route("PUT", "/webhooks/{name}", "replace_webhook", _operation(
        "Replace a webhook action (headers not named keep their values)", _MANAGE,
        _ok("200", "WebhookOut", "the updated action")
        | _error_responses("400", *_AUTH, "404", "413", "422"), body="WebhookReplace")),
    Route("PATCH", "/webhooks/{name}", "patch_webhook", _operation(
        "Change some fields of a webhook action (e.g. enabled)", _MANAGE,
        _ok("200", "WebhookOut", "the updated action")
        | _error_responses("400", *_AUTH, "404", "413", "422"), body="WebhookPatch")),
    Route("DELETE", "/webhooks/{name}", "delete_webhook", _operation(
        "Delete a webhook action", _MANAGE,
        _ok("204", None, "deleted") | _error_responses(*_AUTH, "404"))),
    Route("POST", "/webhooks/{name}/test", "test_webhook", _operation(
        "Send a test request: with sample values, as a conversation would send them; without, "
        "an empty JSON body for POST and no parameters for GET", _MANAGE,
        _ok("200", "TestOut", "the outcome, successful or not")
        | _error_responses("400", *_AUTH, "404", "413", "422"),
        body="TestIn", body_required=False)),
    Route("POST", "/webhooks/{name}/signing-secrets", "create_signing_secret", _operation(
        "Make a signing secret (shown once): every call is then signed with it, beside the "
        "older one until that is retired", _MANAGE,
        _ok("201", "NewSigningSecret", "the secret and what it means")
        | _error_responses(*_AUTH, "404", "409"))),
    Route("DELETE", "/webhooks/{name}/signing-secrets/{id}", "retire_signing_secret", _operation(
        "Retire a signing secret: calls are no longer signed with it", _MANAGE,
        _ok("204", None, "retired") | _error_responses(*_AUTH, "404")),
        id_of="signing_secret"),
    Route("POST", "/replies/preview", "preview_reply", _operation(
        "Render a reply template on a result, as the bot would say it (nothing is saved)",
        _READ, _ok("200", "PreviewOut", "the reply")
        | _error_responses("400", *_AUTH, "413", "422"), body="PreviewIn")),
    Route("GET", "/me", "me", _operation(
        "Who am I: the token's operator, permissions and the tenant's skill switch", _ANY,
        _ok("200", "MeOut", "the operator") | _error_responses("401", "429"))),
    Route("GET", "/skill", "get_skill", _operation(
        "Is the webhook skill switched on?", _ADMIN,
        _ok("200", "SkillOut", "the switch") | _error_responses(*_AUTH))),
    Route("PUT", "/skill", "put_skill", _operation(
        "Switch the webhook skill (experimental) on or off", _ADMIN,
        _ok("200", "SkillOut", "the switch")
        | _error_responses("400", *_AUTH, "413", "422"), body="SkillIn")),
    Route("GET", "/budget", "get_budget", _operation(
        "The tenant's budget of webhook calls per minute", _ADMIN,
        _ok("200", "BudgetOut", "the budget") | _error_responses(*_AUTH))),
    Route("PUT", "/budget", "put_budget", _operation(
        "Set the tenant's budget of webhook calls per minute (all actions, all servers)",
        _ADMIN,
        _ok("200", "BudgetOut", "the budget")
        | _error_responses("400", *_AUTH, "413", "422"), body="BudgetIn")),
    Route("GET", "/operators", "list_operators", _operation(
        "List the tenant's operators", _ADMIN,
        _ok("200", "OperatorList", "the operators") | _error_responses(*_AUTH))),
    Route("POST", "/operators", "create_operator", _operation(
        "Add an operator, with a first API token (shown once)", _ADMIN,
        _ok("201", "NewToken", "the operator and its token")
        | _error_responses("400", *_AUTH, "409", "413", "422"), body="OperatorIn")),
    Route("POST", "/operators/{id}/tokens", "issue_token", _operation(
        "Issue another API token for an operator (shown once; the others stay valid)", _ADMIN,
        _ok("201", "NewToken", "the operator and the new token")
        | _error_responses(*_AUTH, "404"))),
    Route("DELETE", "/operators/{id}/tokens", "revoke_tokens", _operation(
        "Revoke every live API token of an operator", _ADMIN,
        _ok("200", "Revoked", "how many were revoked") | _error_responses(*_AUTH, "404"))),
    Route("PUT", "/operators/{id}/permissions", "put_permissions", _operation(
        "Set an operator's webhook permissions", _ADMIN,
        _ok("200", "OperatorOut", "the operator")
        | _error_responses("400", *_AUTH, "404", "413", "422"), body="PermissionsIn")),
    Route("GET", "/tools", "list_tools", _operation(
        "The tenant's actions as tools for LLM clients (enabled ones, while the skill is on)",
        _READ, _ok("200", "ToolList", "the tools") | _error_responses(*_AUTH, "422"))
        | {"parameters": _SHAPE_QUERY}),
    Route("POST", "/tools-token", "issue_tools_token", _operation(
        "Issue the tenant's token for MCP clients of the tools server (shown once)", _ADMIN,
        _ok("201", "ToolsToken", "the new token")
        | _error_responses("400", *_AUTH, "409", "413", "422"),
        body="ToolsTokenIn", body_required=False)),
    Route("DELETE", "/tools-token", "revoke_tools_token", _operation(
        "Revoke the tenant's tools token (its MCP sessions end)", _ADMIN,
        _ok("200", "ToolsTokenRevoked", "whether there was one") | _error_responses(*_AUTH))),
    Route("GET", "/audit", "audit", _operation(
        "The audit log, newest first, by action, operator and time if asked", _READ,
        _ok("200", "AuditPage", "one page") | _error_responses(*_AUTH, "422"))
        | {"parameters": _AUDIT_QUERY}),
)  # fmt: skip


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "Liveness", "responses": _ok("200", "Health", "alive")}}
    }
    for route in ROUTES:
        item = paths.setdefault(route.path, {})
        if route.parameters:
            item["parameters"] = route.parameters
        item[route.method.lower()] = route.operation
    return paths


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API."""
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
        "paths": _paths(),
    }
