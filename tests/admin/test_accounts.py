"""Who am I, and a tenant admin's operators and tokens, over real HTTP on each database."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.admin.conftest import AdminServer
from webhooks import MAX_ID

_names = itertools.count()


def as_token(server: AdminServer, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=30)


def add(server: AdminServer, **body: Any) -> httpx.Response:
    body.setdefault("name", f"carol_{next(_names)}")
    with server.client("admin") as client:
        return client.post("/operators", json=body)


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        pytest.param(
            "reader",
            {"name": "reader", "tenant": "acme", "admin": False,
             "permissions": ["webhooks:read"], "skill": True},
            id="reader",
        ),
        pytest.param(
            "admin",
            {"name": "admin", "tenant": "acme", "admin": True,
             "permissions": ["webhooks:manage", "webhooks:read"], "skill": True},
            id="admin",
        ),
        # Any valid token may ask, the skill off or not: the console must say why it is empty.
        pytest.param(
            "skill_off",
            {"name": "skill_off", "tenant": "initech", "admin": True,
             "permissions": ["webhooks:manage"], "skill": False},
            id="skill-off",
        ),
    ],
)  # fmt: skip
def test_me_tells_whose_token_it_is(
    admin_server: AdminServer, identity: str, expected: dict[str, Any]
) -> None:
    with admin_server.client(identity) as client:
        response = client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"id": admin_server.identities[identity].operator_id} | expected


def test_an_added_operator_gets_a_working_token_and_only_its_permissions(
    admin_server: AdminServer,
) -> None:
    response = add(admin_server, name="carol", permissions=["webhooks:read"])
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"operator", "token"}
    operator, token = body["operator"], body["token"]
    assert operator == {
        "id": operator["id"], "name": "carol", "admin": False, "permissions": ["webhooks:read"]
    }  # fmt: skip
    with admin_server.client("admin") as client:
        assert operator in client.get("/operators").json()["items"]
        audit = client.get("/audit", params={"limit": 5}).text
    assert '"action":"operator.create"' in audit.replace(" ", "")
    with as_token(admin_server, token) as carol:
        assert carol.get("/me").json()["name"] == "carol"
        assert carol.get("/webhooks").status_code == 200
        assert carol.post("/webhooks", json=admin_server.definition("x")).status_code == 403
        assert carol.get("/operators").status_code == 403
    assert token not in audit
    assert token not in admin_server.log_path.read_text()


def test_permissions_default_to_none(admin_server: AdminServer) -> None:
    response = add(admin_server)
    assert response.status_code == 201
    assert response.json()["operator"]["permissions"] == []
    with as_token(admin_server, response.json()["token"]) as client:
        assert client.get("/webhooks").json()["error"]["code"] == "permission_denied"


def test_a_taken_name_is_409(admin_server: AdminServer) -> None:
    assert add(admin_server, name="dave").status_code == 201
    again = add(admin_server, name="dave", permissions=["webhooks:manage"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_exists"
    assert again.json()["error"]["field"] == "name"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        pytest.param({"name": ""}, "invalid", "name", id="empty-name"),
        pytest.param({"name": "x" * 65}, "invalid", "name", id="long-name"),
        pytest.param({"name": "tab\there"}, "invalid", "name", id="unprintable-name"),
        pytest.param({"name": "nul\x00"}, "invalid", "name", id="nul-name"),
        pytest.param({"name": 42}, "invalid", "name", id="name-not-a-string"),
        pytest.param({}, "invalid", "name", id="no-name"),
        pytest.param({"name": "x", "admin": True}, "unknown_field", "admin", id="no-admins"),
        pytest.param(
            {"name": "x", "permissions": ["webhooks:all"]}, "invalid", "permissions[0]",
            id="unknown-permission",
        ),
    ],
)  # fmt: skip
def test_a_bad_new_operator_is_422_at_its_field(
    admin_server: AdminServer, body: dict[str, Any], code: str, field: str
) -> None:
    with admin_server.client("admin") as client:
        response = client.post("/operators", json=body)
        assert response.status_code == 422, response.text
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
            code,
            field,
        )
        names = [o["name"] for o in client.get("/operators").json()["items"]]
    assert "x" not in names


def test_another_token_leaves_the_old_ones_and_revoking_ends_them_all(
    admin_server: AdminServer,
) -> None:
    first = add(admin_server).json()
    operator_id = first["operator"]["id"]
    with admin_server.client("admin") as client:
        second = client.post(f"/operators/{operator_id}/tokens")
        assert second.status_code == 201
        assert second.headers["cache-control"] == "no-store"
        assert second.json()["operator"] == first["operator"]
        assert second.json()["token"] != first["token"]
        tokens = [first["token"], second.json()["token"]]
        for token in tokens:
            with as_token(admin_server, token) as holder:
                assert holder.get("/me").status_code == 200
        revoked = client.delete(f"/operators/{operator_id}/tokens")
        assert (revoked.status_code, revoked.json()) == (200, {"revoked": 2})
        for token in tokens:
            with as_token(admin_server, token) as holder:
                assert holder.get("/me").status_code == 401
        assert client.delete(f"/operators/{operator_id}/tokens").json() == {"revoked": 0}
        # Revoked is not removed: a new token brings the operator back.
        again = client.post(f"/operators/{operator_id}/tokens").json()["token"]
        with as_token(admin_server, again) as holder:
            assert holder.get("/me").status_code == 200
        audit = client.get("/audit", params={"limit": 5}).json()["items"]
    assert [entry["action"] for entry in audit[:4]] == [
        "token.issue", "token.revoke", "token.revoke", "token.issue"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", "/operators/{id}/tokens", id="issue"),
        pytest.param("DELETE", "/operators/{id}/tokens", id="revoke"),
        pytest.param("PUT", "/operators/{id}/permissions", id="permissions"),
    ],
)
def test_an_operator_outside_the_tenant_is_404_as_for_permissions(
    admin_server: AdminServer, method: str, path: str
) -> None:
    stranger = admin_server.identities["stranger"].operator_id
    body = {"permissions": []} if path.endswith("permissions") else None
    with admin_server.client("admin") as client:
        for operator_id in (stranger, 999_999, MAX_ID, MAX_ID + 1):
            response = client.request(method, path.format(id=operator_id), json=body)
            assert response.status_code == 404, (operator_id, response.text)
            assert response.json()["error"]["code"] == "operator_not_found"
    with admin_server.client("stranger") as client:
        assert client.get("/me").status_code == 200  # untouched
