"""Listing and calling a tenant's tools: the rules of a conversation, in MCP's words.

A call converts its arguments as a form converts a user's answers, counts itself against the
session's limit in the store, and goes out through the core's guarded egress with the
definition's settings. Every failure is a tool result with ``isError`` and the bot's polite
sentence; nothing of a header, an argument or an exception's text is said or logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import mcp.types as types

from webhooks import (
    FAILURE_MESSAGES,
    CallFailed,
    Category,
    ClaimWorker,
    ConversationLimitReached,
    ConversationLimits,
    Egress,
    HeaderValues,
    HTTPStatusError,
    InvalidDefinition,
    KeyMismatch,
    Metrics,
    Registry,
    Store,
    StoreUnavailable,
    TenantSnapshot,
    Webhook,
    call_arguments,
    call_logger,
    mcp_tool,
    tools_of,
)

from ._sessions import session_key

__all__ = ["ToolService", "failure", "snapshot_tools"]

logger = call_logger("tools.calls")

#: The metrics' label for a tool name that is not stored: a name only a client sent would
#: otherwise make a new series per name.
UNKNOWN_TOOL = "(unknown)"


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

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        egress: Egress,
        limits: ConversationLimits,
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.registry = registry
        self.egress = egress
        self.limits = limits
        self.claims = ClaimWorker(limits)
        self.metrics = metrics
        self.header_values = HeaderValues(store)

    def tools(self, tenant: str) -> list[types.Tool]:
        return [
            types.Tool.model_validate(mcp_tool(w))
            for w in snapshot_tools(self.registry.get(tenant))
        ]

    def forget(self, tenant: str) -> None:
        """Drop the decrypted headers of ``tenant``'s definitions (they changed or are gone)."""
        self.header_values.forget(tenant)

    def _refuse(
        self, tenant: str, name: str, category: str, *, status: int | None = None,
        elapsed: float = 0.0,
    ) -> types.CallToolResult:  # fmt: skip
        snapshot = self.registry.get(tenant)
        stored = snapshot is not None and name in snapshot.webhooks
        self.metrics.record(tenant, name if stored else UNKNOWN_TOOL, category, elapsed)
        self._log(tenant, name if stored else UNKNOWN_TOOL, category, status, elapsed, False)
        return failure(FAILURE_MESSAGES[category])

    @staticmethod
    def _log(
        tenant: str, tool: str, category: str, status: int | None, elapsed: float, truncated: bool
    ) -> None:
        logger.info(
            "tool_call tenant=%s tool=%s status=%s category=%s elapsed_ms=%.1f truncated=%s",
            tenant,
            tool,
            status if status is not None else "-",
            category,
            elapsed * 1000,
            truncated,
        )

    async def call(
        self, tenant: str, session: str, name: str, arguments: Mapping[str, Any] | None
    ) -> types.CallToolResult:
        """Call tool ``name`` of ``tenant`` for MCP session ``session``."""
        webhook = self.registry.usable(tenant, name)
        if not isinstance(webhook, Webhook):
            return self._refuse(tenant, name, webhook)
        # null stands for "not given" (OpenAI's strict tools send it for optional parameters).
        given = {key: value for key, value in (arguments or {}).items() if value is not None}
        try:
            values = call_arguments(webhook.parameters, given, at="arguments")
        except InvalidDefinition as exc:
            self._log(tenant, name, "invalid_arguments", None, 0.0, False)
            problems = "; ".join(f"{error.field}: {error.message}" for error in exc.errors)
            return failure(f"The arguments were not accepted: {problems}")
        try:
            request = webhook.request(self.header_values.of(webhook), values)
        except (KeyMismatch, ValueError) as exc:
            logger.error(
                "cannot build the request: tenant=%s tool=%s (%s); answered as unavailable",
                tenant,
                name,
                type(exc).__name__,
            )
            return self._refuse(tenant, name, Category.UNAVAILABLE)
        try:
            await self.claims.claim(tenant, session_key(session))
        except ConversationLimitReached:
            return self._refuse(tenant, name, Category.RATE_LIMITED)
        except (StoreUnavailable, TimeoutError) as exc:  # not counted, so not called
            logger.warning(
                "cannot count the call: tenant=%s tool=%s (%s); answered as unavailable",
                tenant,
                name,
                type(exc).__name__,
            )
            return self._refuse(tenant, name, Category.UNAVAILABLE)

        started = time.perf_counter()
        try:
            result = await self.egress.call(request, share=tenant)
        except CallFailed as exc:
            status = exc.status if isinstance(exc, HTTPStatusError) else None
            elapsed = time.perf_counter() - started
            return self._refuse(tenant, name, exc.category, status=status, elapsed=elapsed)
        self.metrics.record(tenant, name, "ok", result.elapsed)
        self._log(tenant, name, "ok", result.status, result.elapsed, result.truncated)
        # An endpoint that echoes its request does not hand a stored header value on.
        result = result.without(request.headers.values())
        text = json.dumps(result.data, ensure_ascii=False)
        structured = {"status": result.status, "data": result.data, "truncated": result.truncated}
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structuredContent=structured
        )
