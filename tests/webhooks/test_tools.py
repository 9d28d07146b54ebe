"""Definitions as tools: the JSON Schemas an agent reads, in MCP's and OpenAI's shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from webhooks import Parameter, Webhook, mcp_tool, tools_of
from webhooks.calls._tools import input_schema, openai_tool

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _webhook(name: str, *parameters: Parameter, enabled: bool = True) -> Webhook:
    return Webhook(
        tenant="acme", name=name, description=f"What {name} does", url="https://x.example/",
        method="POST", timeout=5.0, parameters=parameters, enabled=enabled, revision=1,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


CITY = Parameter(
    name="city", type="string", description="Which city", required=False, values=["Berlin", "Rome"]
)
ORDER = Parameter(name="order_id", type="integer", description="The order")
CODE = Parameter(name="code", type="string", description="A code", pattern=r"[A-Z]{3}")


def test_the_input_schema_is_strict_and_typed() -> None:
    assert input_schema([ORDER, CITY, CODE]) == {
        "type": "object",
        "properties": {
            "order_id": {"type": "integer", "description": "The order"},
            "city": {"type": "string", "description": "Which city", "enum": ["Berlin", "Rome"]},
            # A Python pattern is no ECMA-262 one: the server checks it, the schema leaves it.
            "code": {"type": "string", "description": "A code"},
        },
        "required": ["order_id", "code"],
        "additionalProperties": False,
    }


def test_no_parameters_is_an_empty_strict_object() -> None:
    assert input_schema([]) == {
        "type": "object", "properties": {}, "required": [], "additionalProperties": False
    }  # fmt: skip


def test_openai_strict_mode_requires_all_and_lets_optional_ones_be_null() -> None:
    function = openai_tool(_webhook("lookup", ORDER, CITY))["function"]
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["order_id", "city"]
    assert function["parameters"]["properties"]["order_id"]["type"] == "integer"
    assert function["parameters"]["properties"]["city"] == {
        "type": ["string", "null"],
        "description": "Which city",
        "enum": ["Berlin", "Rome", None],
    }


def test_the_mcp_tool_is_name_description_and_schema() -> None:
    webhook = _webhook("lookup", ORDER)
    assert mcp_tool(webhook) == {
        "name": "lookup",
        "description": "What lookup does",
        "inputSchema": input_schema([ORDER]),
    }


def test_tools_are_the_enabled_actions_by_name_while_the_skill_is_on() -> None:
    webhooks = [_webhook("b"), _webhook("a"), _webhook("off", enabled=False)]
    assert [w.name for w in tools_of(webhooks, skill_enabled=True)] == ["a", "b"]
    assert tools_of(webhooks, skill_enabled=False) == []
