"""The tenant's actions as tools for LLM clients, through the admin API, and its tools token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.conftest import CANARY, AdminServer
from webhooks import token_matches


@pytest.fixture
def three(admin_server: AdminServer) -> None:
    """acme with an action of each kind: typed parameters, none, and one switched off."""
    store = admin_server.store
    for webhook in store.catalog.list("acme"):
        store.catalog.delete("acme", webhook.name, actor="test")
    parameters: list[dict[str, Any]] = [
        {"name": "city", "type": "string", "description": "Which city",
         "values": ["Berlin", "Lisbon"]},
        {"name": "day", "type": "integer", "description": "Day", "required": False},
    ]  # fmt: skip
    store.catalog.create(
        "acme", admin_server.definition("store_hours", parameters=parameters), actor="test"
    )
    store.catalog.create("acme", admin_server.definition("ping", parameters=[]), actor="test")
    store.catalog.create(
        "acme", admin_server.definition("switched_off", enabled=False), actor="test"
    )


@pytest.mark.usefixtures("three")
def test_tools_in_mcp_shape(admin_server: AdminServer) -> None:
    with admin_server.client("reader") as client:
        body = client.get("/tools").json()
        assert client.get("/tools", params={"shape": "mcp"}).json() == body
    assert body["shape"] == "mcp"
    assert [tool["name"] for tool in body["tools"]] == ["ping", "store_hours"]
    assert body["tools"][1] == {
        "name": "store_hours",
        "description": "Look up an order",
        "inputSchema": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "Which city",
                         "enum": ["Berlin", "Lisbon"]},
                "day": {"type": "integer", "description": "Day"},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    }  # fmt: skip
    assert CANARY not in str(body)


@pytest.mark.usefixtures("three")
def test_tools_in_openai_strict_shape(admin_server: AdminServer) -> None:
    with admin_server.client("reader") as client:
        body = client.get("/tools", params={"shape": "openai"}).json()
    assert body["shape"] == "openai"
    hours = body["tools"][1]
    assert hours == {
        "type": "function",
        "function": {
            "name": "store_hours",
            "description": "Look up an order",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "Which city",
                             "enum": ["Berlin", "Lisbon"]},
                    # Strict mode wants every property required: optional ones may be null.
                    "day": {"type": ["integer", "null"], "description": "Day"},
                },
                "required": ["city", "day"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }  # fmt: skip
    assert body["tools"][0]["function"]["parameters"]["properties"] == {}


def test_an_unknown_shape_names_the_parameter(admin_server: AdminServer) -> None:
    with admin_server.client("reader") as client:
        response = client.get("/tools", params={"shape": "yaml"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "shape"


@pytest.mark.usefixtures("three")
def test_a_switched_off_skill_exports_no_tools(admin_server: AdminServer) -> None:
    store = admin_server.store
    store.accounts.set_skill("acme", False, actor="test")
    try:
        with admin_server.client("admin") as client:
            response = client.get("/tools")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "skill_disabled"
    finally:
        store.accounts.set_skill("acme", True, actor="test")


def test_the_tools_token_is_shown_once_and_replaced_only_on_request(
    admin_server: AdminServer,
) -> None:
    store = admin_server.store
    with admin_server.client("admin") as client:
        client.delete("/tools-token")
        issued = client.post("/tools-token")
        refused = client.post("/tools-token")
        replaced = client.post("/tools-token", json={"replace": True})
        audit = client.get("/audit").json()["items"]
        revoked = client.delete("/tools-token").json()
        again = client.delete("/tools-token").json()
    assert issued.status_code == 201
    first = issued.json()["token"]
    assert issued.json()["tenant"] == "acme"
    assert refused.status_code == 409
    assert '"replace": true' in refused.json()["error"]["message"]
    second = replaced.json()["token"]
    assert first != second
    assert [e["action"] for e in audit[:2]] == ["tools_token.issue", "tools_token.issue"]
    assert first not in str(audit)
    assert second not in str(audit)
    assert (revoked, again) == ({"revoked": True}, {"revoked": False})
    assert not token_matches(second, store.snapshots.snapshot(["acme"])["acme"].tools_token_hash)
