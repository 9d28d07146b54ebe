"""Definitions as tools for LLM agents: the JSON Schema of their parameters, in MCP's shape and
in OpenAI's function-calling shape.

An agent reads the description and decides to call; the schema tells it what to send. The
server still converts every argument with the rules a conversation's answers follow
(:func:`~webhooks.definitions._arguments.call_arguments`): a schema guides, it does not guard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..definitions._definitions import Parameter
from ..definitions._types import TYPES
from ..store._records import Webhook

__all__ = ["TOOL_SHAPES", "input_schema", "mcp_tool", "openai_tool", "tools_of"]


def tools_of(webhooks: Iterable[Webhook], *, skill_enabled: bool) -> list[Webhook]:
    """A tenant's tools: its enabled definitions while its skill is on, by name."""
    if not skill_enabled:
        return []
    return sorted((w for w in webhooks if w.enabled), key=lambda w: w.name)


def _property(parameter: Parameter, *, nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = TYPES[parameter.type].json_schema()
    if nullable:
        schema["type"] = [schema["type"], "null"]
    schema["description"] = parameter.description
    if parameter.values:
        schema["enum"] = [*parameter.values, None] if nullable else list(parameter.values)
    # A pattern stays out: it is a Python expression, and JSON Schema's are ECMA-262's.
    return schema


def input_schema(parameters: Iterable[Parameter]) -> dict[str, Any]:
    """A strict object schema: the parameters with their types and descriptions, the required
    ones listed, nothing else accepted."""
    parameters = tuple(parameters)
    return {
        "type": "object",
        "properties": {p.name: _property(p) for p in parameters},
        "required": [p.name for p in parameters if p.required],
        "additionalProperties": False,
    }


def mcp_tool(webhook: Webhook) -> dict[str, Any]:
    """The definition as an MCP tool (``tools/list``'s items)."""
    return {
        "name": webhook.name,
        "description": webhook.description,
        "inputSchema": input_schema(webhook.parameters),
    }


def openai_tool(webhook: Webhook) -> dict[str, Any]:
    """The definition as an OpenAI function tool in strict mode, which wants every property
    required: an optional parameter may be ``null`` there, meaning "not given"."""
    parameters = webhook.parameters
    return {
        "type": "function",
        "function": {
            "name": webhook.name,
            "description": webhook.description,
            "parameters": {
                "type": "object",
                "properties": {p.name: _property(p, nullable=not p.required) for p in parameters},
                "required": [p.name for p in parameters],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


#: The shapes a tool list is exported in, by the name a client asks for.
TOOL_SHAPES = {"mcp": mcp_tool, "openai": openai_tool}
