"""The budgets of webhook calls per minute through the admin API: the tenant's, set by its
admins, and an action's own, a field of its definition; validated, audited, visible."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.conftest import AdminServer
from webhooks import DEFAULT_TENANT_BUDGET, MAX_BUDGET


def test_an_admin_reads_and_sets_the_tenants_budget_and_it_is_audited(
    admin_server: AdminServer,
) -> None:
    with admin_server.client("admin") as client:
        before = client.get("/budget").json()["calls_per_minute"]
        assert client.put("/budget", json={"calls_per_minute": 50}).json() == {
            "calls_per_minute": 50
        }
        assert client.get("/budget").json() == {"calls_per_minute": 50}
        entry = client.get("/audit").json()["items"][0]
        client.put("/budget", json={"calls_per_minute": DEFAULT_TENANT_BUDGET})
    assert (entry["action"], entry["actor"].startswith("operator:")) == ("budget.set", True)
    assert (entry["before"], entry["after"]) == (
        {"calls_per_minute": before},
        {"calls_per_minute": 50},
    )
    assert admin_server.store.accounts.get_tenant("acme").calls_per_minute == DEFAULT_TENANT_BUDGET


def test_a_new_tenant_has_the_safe_default() -> None:
    assert DEFAULT_TENANT_BUDGET == 600


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"calls_per_minute": 0}, id="zero"),
        pytest.param({"calls_per_minute": -5}, id="negative"),
        pytest.param({"calls_per_minute": MAX_BUDGET + 1}, id="too-large"),
        pytest.param({"calls_per_minute": "10"}, id="text"),
        pytest.param({"calls_per_minute": True}, id="boolean"),
        pytest.param({"calls_per_minute": 1.5}, id="fraction"),
        pytest.param({"calls_per_minute": None}, id="null"),
    ],
)
def test_a_bad_tenant_budget_is_a_422_naming_the_field(
    admin_server: AdminServer, body: dict[str, Any]
) -> None:
    with admin_server.client("admin") as client:
        response = client.put("/budget", json=body)
        after = client.get("/budget").json()["calls_per_minute"]
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "calls_per_minute"
    assert after == admin_server.store.accounts.get_tenant("acme").calls_per_minute


def test_an_actions_own_budget_is_set_read_changed_and_removed(
    admin_server: AdminServer,
) -> None:
    store = admin_server.store
    for webhook in store.catalog.list("acme"):
        store.catalog.delete("acme", webhook.name, actor="test")
    with admin_server.client("manager") as client:
        created = client.post(
            "/webhooks", json=admin_server.definition("budgeted", calls_per_minute=30)
        )
        assert created.status_code == 201, created.text
        assert created.json()["calls_per_minute"] == 30
        assert client.get("/webhooks/budgeted").json()["calls_per_minute"] == 30
        patched = client.patch("/webhooks/budgeted", json={"calls_per_minute": 5})
        assert patched.json()["calls_per_minute"] == 5
        removed = client.patch("/webhooks/budgeted", json={"calls_per_minute": None})
        assert removed.json()["calls_per_minute"] is None
        plain = client.post("/webhooks", json=admin_server.definition("plain"))
        assert plain.json()["calls_per_minute"] is None
        entries = client.get("/audit").json()["items"]
    changed = next(e for e in entries if e["action"] == "webhook.update")
    assert changed["after"]["calls_per_minute"] is None  # the removal, newest first


@pytest.mark.parametrize("value", [0, MAX_BUDGET + 1, "5", 2.5, True])
def test_a_bad_action_budget_is_a_422_naming_the_field(
    admin_server: AdminServer, value: object
) -> None:
    with admin_server.client("manager") as client:
        response = client.post(
            "/webhooks", json=admin_server.definition("overbudget", calls_per_minute=value)
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "calls_per_minute"
