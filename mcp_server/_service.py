"""Listing and calling a tenant's tools: the rules of a conversation, in MCP's words.

A call converts its arguments as a form converts a user's answers; the call itself (one of the
session's calls counted in the store, the core's guarded egress with the definition's settings,
metrics and the log line) is the core's ``WebhookCalls``. A tool the tenant has no definition
of is a JSON-RPC error (-32602, ``Unknown tool: <name>``), as MCP's tools page asks; every
other failure is a tool result with ``isError`` and the bot's polite sentence (a switched-off
tool or skill included: the agent is told why). Nothing of a header, an argument or an
exception's text is said or logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import mcp.types as types
from mcp.shared.exceptions import McpError

from webhooks import (
    Category,
    InvalidArguments,
    TenantSnapshot,
    Webhook,
    WebhookCalls,
    WebhookResult,
    call_arguments,
    mcp_tool,
    tools_of,
)

from ._sessions import session_key

__all__ = ["ToolService", "failure", "snapshot_tools"]


def snapshot_tools(snapshot: TenantSnapshot | None) -> list[Webhook]:
    """The tools of a cached tenant (none for a tenant not known)."""
    if snapshot is None:
        return []
    return tools_of(snapshot.webhooks.values(), skill_enabled=snapshot.tenant.skill_enabled)


def failure(text: str) -> types.CallToolResult:
    """A tool result saying ``text`` as an error."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


class ToolService:
    """The tools of every tenant of this server, and their calls."""

    def __init__(self, calls: WebhookCalls) -> None:
        self.calls = calls
        self.registry = calls.registry

    def tools(self, tenant: str) -> list[types.Tool]:
        return [
            types.Tool.model_validate(mcp_tool(w))
            for w in snapshot_tools(self.registry.get(tenant))
        ]

    async def call(
        self, tenant: str, session: str, name: str, arguments: Mapping[str, Any] | None
    ) -> types.CallToolResult:
        """Call tool ``name`` of ``tenant`` for MCP session ``session``."""
        webhook = self.calls.usable(tenant, name)
        if not isinstance(webhook, Webhook):
            self.calls.refuse(tenant, name, webhook)
            if webhook is Category.NOT_CONFIGURED:  # MCP's tools page: a protocol error
                raise McpError(
                    types.ErrorData(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}")
                )
            return failure(webhook.sentence)
        # null stands for "not given" (OpenAI's strict tools send it for optional parameters).
        given = {key: value for key, value in (arguments or {}).items() if value is not None}
        try:
            values = call_arguments(webhook.parameters, given, at="arguments")
        except InvalidArguments as exc:
            # The agent's mistake, not the webhook's: logged, not counted.
            self.calls.log(tenant, name, "invalid_arguments")
            problems = "; ".join(f"{error.field}: {error.message}" for error in exc.errors)
            return failure(f"The arguments were not accepted: {problems}")
        result = await self.calls.call(tenant, webhook, values, session_key(session))
        if not isinstance(result, WebhookResult):  # recorded by the call
            return failure(result.category.sentence)
        text = json.dumps(result.data, ensure_ascii=False)
        structured = {"status": result.status, "data": result.data, "truncated": result.truncated}
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structuredContent=structured
        )
