"""The OpenAPI document of the admin API, generated from the models the server uses.

The request schemas for definitions come from the core's :class:`webhooks.DefinitionInput`, the
responses from the models of ``_schemas``; the paths are written once, below.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from webhooks import DefinitionInput

from ._schemas import (
    AuditPage,
    ErrorBody,
    Health,
    OperatorList,
    OperatorOut,
    PermissionsIn,
    SkillIn,
    SkillOut,
    TestOut,
    WebhookList,
    WebhookOut,
)

__all__ = ["openapi_document"]

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
