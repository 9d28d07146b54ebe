"""The admin API over real HTTP: permissions, tenancy, errors, write-only headers."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from admin import _tester
from admin._app import create_app
from admin._schemas import WebhookList
from tests.admin.conftest import CANARY, AdminServer
from tests.webhooks.test_definitions import BAD
from webhooks import Settings

_names = itertools.count()

#: The permission matrix sends dozens of wrong tokens from one address within a minute: the
#: throttle of failures is off here and has its own tests (test_auth_failures.py).
SERVER_ENV = {"WEBHOOKS_AUTH_FAILURES": "0"}


def fresh(server: AdminServer, tenant: str = "acme") -> str:
    """A new action of ``tenant`` made through the store, for one request to act on."""
    name = f"hook_{next(_names)}"
    for webhook in server.store.catalog.list(tenant):
        server.store.catalog.delete(tenant, webhook.name, actor="test")
    server.store.catalog.create(tenant, server.definition(name), actor="test")
    return name


def throwaway(server: AdminServer) -> int:
    """A new operator of acme, with no permissions, for one request to act on; its id."""
    operator, _ = server.store.accounts.create_operator(
        "acme", f"temp_{next(_names)}", actor="test"
    )
    return operator.id


def signing_secret(server: AdminServer, name: str) -> str:
    """A new signing secret of acme's action ``name``, for one request to act on; its id."""
    return server.store.signing.create("acme", name, actor="test")[0].id


# route -> (method, path template, body); {name} is a fresh acme action, {op} a new operator,
# {secret} a new signing secret of the action.
ROUTES: dict[str, tuple[str, str, Any]] = {
    "list": ("GET", "/webhooks", None),
    "create": ("POST", "/webhooks", "new"),
    "get": ("GET", "/webhooks/{name}", None),
    "put": (
        "PUT",
        "/webhooks/{name}",
        {"description": "Replaced", "url": "https://api.example.com/orders"},
    ),
    "patch": ("PATCH", "/webhooks/{name}", {"enabled": False}),
    "delete": ("DELETE", "/webhooks/{name}", None),
    "test": ("POST", "/webhooks/{name}/test", None),
    "new_secret": ("POST", "/webhooks/{name}/signing-secrets", None),
    "retire_secret": ("DELETE", "/webhooks/{name}/signing-secrets/{secret}", None),
    "preview": ("POST", "/replies/preview", {"template": "{{ result.a }}", "result": {"a": 1}}),
    "me": ("GET", "/me", None),
    "get_skill": ("GET", "/skill", None),
    "put_skill": ("PUT", "/skill", {"enabled": True}),
    "get_budget": ("GET", "/budget", None),
    "put_budget": ("PUT", "/budget", {"calls_per_minute": 600}),
    "operators": ("GET", "/operators", None),
    "permissions": ("PUT", "/operators/{op}/permissions", {"permissions": ["webhooks:read"]}),
    "create_op": ("POST", "/operators", "new operator"),
    "new_token": ("POST", "/operators/{op}/tokens", None),
    "revoke": ("DELETE", "/operators/{op}/tokens", None),
    "audit": ("GET", "/audit", None),
    "tools": ("GET", "/tools", None),
    "tools_token": ("POST", "/tools-token", {"replace": True}),
    "revoke_tools": ("DELETE", "/tools-token", None),
}
# The Test call goes to api.example.com, which this machine cannot reach: the outcome is a
# 200 with ok=false, which is what the permission check is about here.
EXPECTED: dict[str, dict[str, int]] = {
    #             none bad  reader manager admin stranger
    "list":        dict(none=401, bad=401, reader=200, manager=200, admin=200, stranger=200),
    "create":      dict(none=401, bad=401, reader=403, manager=201, admin=201, stranger=201),
    "get":         dict(none=401, bad=401, reader=200, manager=200, admin=200, stranger=404),
    "put":         dict(none=401, bad=401, reader=403, manager=200, admin=200, stranger=404),
    "patch":       dict(none=401, bad=401, reader=403, manager=200, admin=200, stranger=404),
    "delete":      dict(none=401, bad=401, reader=403, manager=204, admin=204, stranger=404),
    "test":        dict(none=401, bad=401, reader=403, manager=200, admin=200, stranger=404),
    "new_secret":  dict(none=401, bad=401, reader=403, manager=201, admin=201, stranger=404),
    "retire_secret": dict(none=401, bad=401, reader=403, manager=204, admin=204, stranger=404),
    "preview":     dict(none=401, bad=401, reader=200, manager=200, admin=200, stranger=200),
    "me":          dict(none=401, bad=401, reader=200, manager=200, admin=200, stranger=200),
    "get_skill":   dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=200),
    "put_skill":   dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=200),
    "get_budget":  dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=200),
    "put_budget":  dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=200),
    "operators":   dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=200),
    "permissions": dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=404),
    "create_op":   dict(none=401, bad=401, reader=403, manager=403, admin=201, stranger=201),
    "new_token":   dict(none=401, bad=401, reader=403, manager=403, admin=201, stranger=404),
    "revoke":      dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=404),
    "audit":       dict(none=401, bad=401, reader=200, manager=200, admin=200, stranger=200),
    "tools":       dict(none=401, bad=401, reader=200, manager=200, admin=200, stranger=200),
    "tools_token": dict(none=401, bad=401, reader=403, manager=403, admin=201, stranger=201),
    "revoke_tools": dict(none=401, bad=401, reader=403, manager=403, admin=200, stranger=200),
}  # fmt: skip


@pytest.mark.parametrize("identity", ["none", "bad", "reader", "manager", "admin", "stranger"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_permission_matrix(admin_server: AdminServer, route: str, identity: str) -> None:
    method, template, body = ROUTES[route]
    name = fresh(admin_server)
    operator_id = throwaway(admin_server)
    secret = signing_secret(admin_server, name) if "{secret}" in template else ""
    path = template.format(name=name, op=operator_id, secret=secret)
    if body == "new operator":
        body = {"name": f"added_{next(_names)}"}
    if body == "new":
        body = admin_server.definition(f"created_{next(_names)}")
        for tenant in ("acme", "globex"):
            for webhook in admin_server.store.catalog.list(tenant):
                admin_server.store.catalog.delete(tenant, webhook.name, actor="test")
    with admin_server.client(identity) as client:
        response = client.request(method, path, json=body)
    assert response.status_code == EXPECTED[route][identity], response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field"}
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if identity == "stranger" and response.status_code == 200:
        assert "acme" not in response.text
        assert name not in response.text
        assert f"operator:{operator_id}:" not in response.text


def test_skill_switched_off_refuses_every_webhook_route(admin_server: AdminServer) -> None:
    with admin_server.client("skill_off") as client:
        webhook_routes = [r for r in ROUTES if ROUTES[r][1].startswith("/webhooks")]
        for route in [*webhook_routes, "audit"]:
            method, template, body = ROUTES[route]
            response = client.request(
                method,
                template.format(name="anything", secret="whs_000000000000"),
                json=admin_server.definition("x") if body == "new" else body,
            )
            assert response.status_code == 403, route
            assert response.json()["error"]["code"] == "skill_disabled"
        # The tenant admin can still switch it on, which grants the permissions.
        assert client.get("/skill").json() == {"enabled": False, "experimental": True}


def test_switching_the_skill_on_grants_the_admin_and_opens_the_routes(
    admin_server: AdminServer,
) -> None:
    store = admin_server.store
    store.accounts.create_tenant("hooli", actor="test")
    _, token = store.accounts.create_operator("hooli", "boss", admin=True, actor="test")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=admin_server.base_url + "/api/v1", headers=headers) as client:
        assert client.get("/webhooks").json()["error"]["code"] == "skill_disabled"
        assert client.put("/skill", json={"enabled": True}).json()["enabled"] is True
        assert client.get("/webhooks").json() == {"items": [], "limit": 10}
        me = client.get("/operators").json()["items"][0]
        assert me["permissions"] == ["webhooks:manage", "webhooks:read"]


def test_create_get_update_delete_round_trip(admin_server: AdminServer) -> None:
    fresh(admin_server)
    admin_server.store.catalog.delete(
        "acme", admin_server.store.catalog.list("acme")[0].name, actor="t"
    )
    with admin_server.client("manager") as client:
        created = client.post("/webhooks", json=admin_server.definition("lookup"))
        assert created.status_code == 201
        body = created.json()
        assert body["headers"] == ["X-Api-Key"]
        assert body["revision"] == 1
        assert body["method"] == "POST"
        assert body["timeout"] == 2
        assert client.get("/webhooks/lookup").json() == body
        patched = client.patch("/webhooks/lookup", json={"enabled": False, "timeout": 3})
        assert (patched.json()["enabled"], patched.json()["timeout"]) == (False, 3)
        assert patched.json()["parameters"] == body["parameters"]
        assert client.delete("/webhooks/lookup").status_code == 204
        assert client.get("/webhooks/lookup").json()["error"]["code"] == "webhook_not_found"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://api.example.com/echo", id="path"),
        pytest.param("https://api.example.com/orders?echo=1", id="query"),
    ],
)
def test_a_new_path_or_query_needs_the_headers_again(admin_server: AdminServer, url: str) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        refused = client.patch(f"/webhooks/{name}", json={"url": url})
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("headers_required", "headers")
        assert "X-Api-Key" in error["message"]
        given = client.patch(f"/webhooks/{name}", json={"url": url, "headers": {"X-Api-Key": "k"}})
        assert given.status_code == 200
    assert admin_server.store.catalog.get("acme", name).url == url


def test_header_values_are_write_only(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    store = admin_server.store
    with admin_server.client("manager") as client:
        client.patch(f"/webhooks/{name}", json={"description": "changed"})
        assert store.catalog.headers_for(store.catalog.get("acme", name)) == {"X-Api-Key": CANARY}
        response = client.patch(f"/webhooks/{name}", json={"headers": {"X-Team": CANARY + "2"}})
        assert response.json()["headers"] == ["X-Api-Key", "X-Team"]
        response = client.put(
            f"/webhooks/{name}",
            json={
                "description": "d",
                "url": "https://api.example.com/orders",
                "headers": {"X-Team": None},
            },
        )
        assert response.json()["headers"] == ["X-Api-Key"]
        bad = client.patch(f"/webhooks/{name}", json={"headers": {"X-Absent": None}})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "headers.X-Absent"


def test_duplicate_name_is_409_and_the_eleventh_action_is_refused(
    admin_server: AdminServer,
) -> None:
    fresh(admin_server)
    with admin_server.client("manager") as client:
        duplicate = client.post("/webhooks", json=admin_server.definition("hook_dup"))
        assert duplicate.status_code == 201
        again = client.post("/webhooks", json=admin_server.definition("hook_dup"))
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "already_exists"
        for index in range(8):
            assert (
                client.post("/webhooks", json=admin_server.definition(f"x{index}")).status_code
                == 201
            )
        eleventh = client.post("/webhooks", json=admin_server.definition("eleventh"))
        assert eleventh.status_code == 409
        assert eleventh.json()["error"]["code"] == "action_limit_reached"
        assert "10" in eleventh.json()["error"]["message"]
        assert len(client.get("/webhooks").json()["items"]) == 10


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_core_validation_errors_surface_as_422_with_the_field(
    admin_server: AdminServer, changes: dict[str, Any], field: str
) -> None:
    data = admin_server.definition("valid_name") | changes
    with admin_server.client("manager") as client:
        response = client.post("/webhooks", json=data)
    assert response.status_code == 422, response.text
    fields = [response.json()["error"]["field"]] + [
        e["field"] for e in response.json().get("errors", [])
    ]
    assert field in fields


#: pydantic's own wording, or a regular expression: never in an answer.
LIBRARY_TEXT = ("should be", "should have", "Field required", "Extra inputs", "^[", "]*$")


def test_every_field_error_of_a_request_is_answered_at_once(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    bad = {
        "name": "Order Status",
        "url": "http://api.example.com/orders",
        "timeout": 0,
        "parameters": [
            {"name": "id", "type": "date", "description": "d"},
            {"name": "requested_slot", "description": "d"},
        ],
    }
    with admin_server.client("manager") as client:
        created = client.post("/webhooks", json=admin_server.definition("x") | bad)
        changed = client.put(f"/webhooks/{name}", json={"description": ""} | bad)
    assert created.status_code == changed.status_code == 422
    answered = {(e["field"], e["code"]) for e in created.json()["errors"]}
    assert answered == {
        ("name", "invalid"),
        ("url", "invalid_url"),
        ("timeout", "invalid"),
        ("parameters[0].type", "invalid"),
        ("parameters[1].name", "reserved"),
    }
    assert created.json()["error"] == created.json()["errors"][0]
    answered = {(e["field"], e["code"]) for e in changed.json()["errors"]}
    assert ("name", "immutable") in answered
    assert {("description", "invalid"), ("url", "invalid_url")} < answered
    for response in (created, changed):
        messages = [e["message"] for e in response.json()["errors"]]
        assert not [m for m in messages if any(text in m for text in LIBRARY_TEXT)]
    assert "lowercase letters, digits and underscores" in created.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/budget", {"calls_per_minute": 0}, id="budget"),
        pytest.param("/skill", {"enabled": "yes", "force": 1}, id="skill"),
        pytest.param("/operators", {"name": 5, "permissions": ["webhooks:all"]}, id="operator"),
        pytest.param("/tools-token", {"replace": "please"}, id="tools-token"),
    ],
)
def test_the_other_requests_errors_are_plain_words_too(
    admin_server: AdminServer, path: str, body: dict[str, Any]
) -> None:
    with admin_server.client("admin") as client:
        method = "PUT" if path in {"/budget", "/skill"} else "POST"
        response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    errors = response.json().get("errors") or [response.json()["error"]]
    messages = [e["message"] for e in errors]
    assert not [m for m in messages if any(text in m for text in LIBRARY_TEXT)], messages


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        pytest.param(b"{not json", 400, "malformed_json", id="malformed"),
        pytest.param(b"", 400, "malformed_json", id="empty"),
        pytest.param(b'{"timeout": NaN}', 400, "malformed_json", id="nan"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, "malformed_json", id="deep-nesting"),
        pytest.param(b"\xff\xfe\x00", 400, "malformed_json", id="not-utf8"),
        pytest.param(b'"a string"', 422, "invalid_type", id="not-an-object"),
        pytest.param(b"x" * 300_000, 413, "payload_too_large", id="too-large"),
    ],
)
def test_bad_bodies_get_clear_json_errors(
    admin_server: AdminServer, content: bytes, status: int, code: str
) -> None:
    with admin_server.client("manager") as client:
        response = client.post(
            "/webhooks", content=content, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text


def test_unknown_fields_are_rejected_not_dropped(admin_server: AdminServer) -> None:
    with admin_server.client("admin") as client:
        response = client.put("/skill", json={"enabled": True, "force": True})
        assert response.status_code == 422
        assert response.json()["error"] == {
            "code": "unknown_field",
            "message": "unknown field: remove it",
            "field": "force",
        }


def test_unknown_route_and_method_are_json(admin_server: AdminServer) -> None:
    with admin_server.client("manager") as client:
        missing = client.get("/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        wrong = client.request("DELETE", "/webhooks")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_audit_is_paginated_newest_first(admin_server: AdminServer) -> None:
    fresh(admin_server)
    with admin_server.client("reader") as client:
        first = client.get("/audit", params={"limit": 2}).json()
        assert len(first["items"]) == 2
        assert first["items"][0]["id"] > first["items"][1]["id"]
        second = client.get("/audit", params={"limit": 2, "before": first["next_before"]}).json()
        assert second["items"][0]["id"] < first["items"][1]["id"]
        assert client.get("/audit", params={"limit": 0}).status_code == 422
        assert client.get("/audit", params={"limit": "x"}).json()["error"]["field"] == "limit"


def test_audit_filters_by_action_operator_and_time_and_pages_within(
    admin_server: AdminServer,
) -> None:
    name = fresh(admin_server)  # created by "test"
    with admin_server.client("manager") as manager, admin_server.client("admin") as admin:
        for timeout in (3, 4, 5):
            assert manager.patch(f"/webhooks/{name}", json={"timeout": timeout}).is_success
        assert admin.patch(f"/webhooks/{name}", json={"timeout": 6}).is_success
        assert admin.put("/skill", json={"enabled": True}).is_success
    with admin_server.client("reader") as client:

        def audit(**params: Any) -> dict[str, Any]:
            response = client.get("/audit", params=params)
            assert response.status_code == 200, response.text
            return dict(response.json())

        mine = audit(webhook=name, operator="manager")["items"]
        assert [(e["action"], e["after"]["timeout"]) for e in mine] == [
            ("webhook.update", 5),
            ("webhook.update", 4),
            ("webhook.update", 3),
        ]
        assert {e["actor"] for e in audit(operator="admin", limit=500)["items"]} == {
            f"operator:{admin_server.identities['admin'].operator_id}:admin"
        }
        about = audit(webhook=name, limit=500)["items"]
        assert [e["action"] for e in about][-1] == "webhook.create"
        assert {e["target"] for e in about} == {f"webhook:{name}"}
        # Paging keeps to the filter.
        first = audit(webhook=name, operator="manager", limit=2)
        rest = audit(webhook=name, operator="manager", limit=2, before=first["next_before"])
        assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in mine]
        assert rest["next_before"] is None
        # A time range: since includes its moment, until does not.
        middle = mine[1]["at"]
        newer = audit(webhook=name, operator="manager", since=middle)["items"]
        assert [e["after"]["timeout"] for e in newer] == [5, 4]
        older = audit(webhook=name, operator="manager", until=middle)["items"]
        assert [e["after"]["timeout"] for e in older] == [3]
        assert audit(webhook="never_was", operator="nobody")["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"webhook": "Not A Name"}, "webhook", id="webhook-not-a-name"),
        pytest.param({"webhook": "a" * 65}, "webhook", id="webhook-too-long"),
        pytest.param({"operator": "x" * 65}, "operator", id="operator-too-long"),
        pytest.param({"operator": "nul\x00"}, "operator", id="operator-with-nul"),
        pytest.param({"since": "yesterday"}, "since", id="since-not-a-moment"),
        pytest.param({"since": "2026-05-01T00:00:00"}, "since", id="since-without-offset"),
        pytest.param({"until": "0001-01-01T00:00:00+01:00"}, "until", id="until-out-of-range"),
        pytest.param(
            {"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}, "until",
            id="until-before-since",
        ),
        pytest.param({"limit": "x"}, "limit", id="limit-not-a-number"),
    ],
)  # fmt: skip
def test_a_bad_audit_filter_is_a_json_422_at_its_parameter(
    admin_server: AdminServer, params: dict[str, str], field: str
) -> None:
    with admin_server.client("reader") as client:
        response = client.get("/audit", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", field)
    assert "should" not in error["message"]


def test_openapi_document_lists_every_route_the_server_serves(admin_server: AdminServer) -> None:
    with admin_server.client() as client:
        document = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    app = create_app(admin_server.store, _tester.Tester(Settings()))
    api = [route for route in app.router.routes if route.path.startswith("api/v1/")]
    served = {
        (method, "/" + route.path.removeprefix("api/v1/"))
        for route in api
        for method in route.methods
        if route.path != "api/v1/openapi.json"
    }
    # Beside the API, only the console's page and its files.
    assert {r.name for r in app.router.routes if r not in api} == {
        f"{app.name}.console_index",
        f"{app.name}.console",
    }
    to_openapi = {"<name:str>": "{name}", "<operator_id:int>": "{id}", "<secret_id:str>": "{id}"}
    for sanic, openapi in to_openapi.items():
        served = {(method, path.replace(sanic, openapi)) for method, path in served}
    assert served == documented
    # And this module's own table of requests covers every route.
    table = {
        (m, t.replace("{op}", "{id}").replace("{secret}", "{id}")) for m, t, _ in ROUTES.values()
    }
    assert table | {("GET", "/health")} == documented


def test_reading_everything_never_returns_a_header_value(admin_server: AdminServer) -> None:
    """Lists, single reads and the whole audit log; the fixture also checks the server log."""
    fresh(admin_server)
    with admin_server.client("manager") as client:
        for webhook in client.get("/webhooks").json()["items"]:
            assert CANARY not in client.get(f"/webhooks/{webhook['name']}").text
        audit = client.get("/audit", params={"limit": 500})
    assert audit.json()["items"]
    assert CANARY not in audit.text
    assert json.dumps(CANARY) not in admin_server.log_path.read_text()


def test_failures_before_a_public_answer_are_told_alike() -> None:
    from admin._tester import UNREACHABLE, shown_failure
    from webhooks import ConnectionFailed, DestinationBlocked, InvalidURL, WebhookTimeout

    for failure in (
        DestinationBlocked(
            "db.corp.example.com resolves to private network", address="10.1.2.3", resolved=True
        ),
        ConnectionFailed("cannot resolve host db.corp.example.com"),
        ConnectionFailed("connection refused"),
        WebhookTimeout("no answer within 2 s"),
    ):
        assert shown_failure(failure) == ("unreachable", UNREACHABLE), failure
    # Refused as written: the URL itself says as much, so the reason is given.
    literal = shown_failure(DestinationBlocked("loopback", address="127.0.0.1"))
    assert literal == ("refused", "destination blocked: loopback (127.0.0.1)")
    assert shown_failure(InvalidURL("only https URLs are allowed"))[0] == "refused"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param({}, "no API token: send the header Authorization: Bearer <token>", id="none"),
        pytest.param(
            {"Authorization": "Token abc"}, "the Authorization header must be: Bearer <token>",
            id="scheme",
        ),
        pytest.param({"Authorization": "Bearer nope"}, "unknown or revoked API token", id="bad"),
    ],
)  # fmt: skip
def test_a_missing_token_is_told_apart_from_a_wrong_one(
    admin_server: AdminServer, headers: dict[str, str], message: str
) -> None:
    response = httpx.get(admin_server.base_url + "/api/v1/webhooks", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthenticated",
        "message": message,
        "field": None,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"description": "a\x00b"}, "description", id="nul-description"),
        pytest.param({"description": "a\x1b[2Jb"}, "description", id="escape-description"),
        pytest.param(
            {"parameters": [{"name": "p", "type": "string", "description": "x\x00"}]},
            "parameters[0].description",
            id="nul-parameter",
        ),
        pytest.param(
            {"parameters": [{"name": "p", "description": "x", "pattern": "a\x00"}]},
            "parameters[0].pattern",
            id="nul-pattern",
        ),
        pytest.param(
            {"parameters": [{"name": "p", "description": "x", "pattern": "\x1b\\d+"}]},
            "parameters[0].pattern",
            id="escape-pattern",
        ),
    ],
)
def test_control_characters_in_texts_are_422_on_every_database(
    admin_server: AdminServer, changes: dict[str, Any], field: str
) -> None:
    data = admin_server.definition("texts") | changes
    with admin_server.client("manager") as client:
        response = client.post("/webhooks", json=data)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["field"] == field
        assert error["message"] == "must not contain control characters (NUL and the like)"
        # Tab and newline are text.
        fine = admin_server.definition("texts") | {"description": "line\n\tnext"}
        fine = client.post("/webhooks", json=fine)
        assert fine.status_code == 201, fine.text
        client.delete("/webhooks/texts")


@pytest.mark.parametrize("token", [b"wha_\xff\xfe", b"wha_caf\xc3\xa9", b"\xe2\x82\xac"])
def test_a_token_with_bytes_beyond_ascii_is_401(admin_server: AdminServer, token: bytes) -> None:
    response = httpx.get(
        admin_server.base_url + "/api/v1/webhooks", headers={b"Authorization": b"Bearer " + token}
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"


def test_query_values_are_masked_for_readers_and_in_the_audit(admin_server: AdminServer) -> None:
    url = "https://api.example.com/hook?key=query-secret-42&region=eu"
    with admin_server.client("manager") as manager:
        manager.delete("/webhooks/queried")
        created = manager.post("/webhooks", json=admin_server.definition("queried", url=url))
        assert created.status_code == 201, created.text
        assert created.json()["url"] == url  # who may edit sees what they edit
        assert manager.get("/webhooks/queried").json()["url"] == url
        # An update records the URL before and after the change.
        assert manager.patch("/webhooks/queried", json={"timeout": 3}).status_code == 200
        audit = manager.get("/audit", params={"limit": 500}).text
    with admin_server.client("reader") as reader:
        shown = reader.get("/webhooks/queried").json()["url"]
        listed = reader.get("/webhooks").text
    assert shown == "https://api.example.com/hook?key=***&region=***"
    for text in (listed, audit):
        assert "query-secret-42" not in text
    assert "key=***" in audit


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(CANARY + "\x01", id="control"),
        pytest.param(CANARY + "\x00", id="nul"),
        pytest.param(CANARY + "\r\nX-Injected: 1", id="crlf"),
        pytest.param(CANARY * 200, id="overlong"),
    ],
)
def test_a_refused_header_value_is_never_quoted(admin_server: AdminServer, value: str) -> None:
    data = admin_server.definition("refused_header") | {"headers": {"X-Api-Key": value}}
    with admin_server.client("manager") as client:
        response = client.post("/webhooks", json=data)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "headers.X-Api-Key"
    assert CANARY not in response.text
    assert CANARY not in admin_server.log_path.read_text()


def test_examples_and_allowed_values_round_trip_with_field_errors(
    admin_server: AdminServer,
) -> None:
    city = {"name": "city", "type": "string", "description": "the city",
            "values": ["Berlin", "Lisbon"]}  # fmt: skip
    with admin_server.client("manager") as client:
        client.delete("/webhooks/hours")
        created = client.post(
            "/webhooks",
            json=admin_server.definition(
                "hours", examples=["when are you open?"], parameters=[city]
            ),
        )
        assert created.status_code == 201, created.text
        assert created.json()["examples"] == ["when are you open?"]
        assert created.json()["parameters"][0]["values"] == ["Berlin", "Lisbon"]
        bad = client.patch("/webhooks/hours", json={"examples": ["a", "A"]})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "examples[1]"
        patched = client.patch("/webhooks/hours", json={"examples": ["opening times"]})
        assert patched.json()["examples"] == ["opening times"]
        audit = client.get("/audit", params={"limit": 5}).json()["items"][0]
    assert audit["before"]["examples"] == ["when are you open?"]
    assert audit["after"]["examples"] == ["opening times"]


def _raw(client: httpx.Client, method: str, url: str, data: Any) -> httpx.Response:
    """``data`` sent as JSON with ASCII escapes, as any client may write a lone ``\\ud800``."""
    body = json.dumps(data, ensure_ascii=True).encode("ascii")
    return client.request(method, url, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("method", "changes", "field"),
    [
        pytest.param("PATCH", {"headers": {"X-A": "\ud800"}}, "headers.X-A", id="header-value"),
        pytest.param("PATCH", {"headers": {"X-\udfff": "v"}}, "headers", id="header-name"),
        pytest.param("PATCH", {"description": "a\udc00b"}, "description", id="description"),
        pytest.param("PATCH", {"url": "https://a.example/\ud83d"}, "url", id="url"),
        pytest.param(
            "PATCH", {"examples": ["fine", "cut \ud83d"]}, "examples[1]", id="second-example"
        ),
        pytest.param(
            "PUT",
            {"parameters": [{"name": "p", "description": "d", "pattern": "\ud800"}]},
            "parameters[0].pattern",
            id="pattern",
        ),
        pytest.param("PATCH", {"\ud800": 1}, "body", id="unknown-key"),
    ],
)
def test_a_lone_surrogate_anywhere_is_422_at_its_field_on_every_database(
    admin_server: AdminServer, method: str, changes: dict[str, Any], field: str
) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        before = client.get(f"/webhooks/{name}").json()
        # A PUT names every required field, so only the changed one can be wrong.
        required = {"name": name, "description": "d", "url": before["url"]}
        data = (required if method == "PUT" else {}) | changes
        response = _raw(client, method, f"/webhooks/{name}", data)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == {
            "code": "invalid",
            "message": "must be Unicode text (a lone surrogate such as \\ud800 is not)",
            "field": field,
        }
        assert client.get(f"/webhooks/{name}").json() == before
    assert "Traceback" not in admin_server.log_path.read_text()


def test_a_surrogate_pair_is_one_character_and_kept(admin_server: AdminServer) -> None:
    name = fresh(admin_server)
    with admin_server.client("manager") as client:
        response = _raw(client, "PATCH", f"/webhooks/{name}", {"description": "cake \U0001f370"})
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "cake \U0001f370"


@pytest.mark.postgres
def test_a_read_meeting_a_connection_the_database_ended_is_tried_again(
    admin_server: AdminServer,
) -> None:
    """The database ends the server's connections (a restart under load): the next list,
    which meets a dead one at once (too soon for a ping), is answered all the same."""
    from sqlalchemy import text

    if not admin_server.env["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    with admin_server.client("reader") as client:
        assert client.get("/webhooks").status_code == 200
        with admin_server.store.engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        admin_server.store.engine.dispose()  # this side's own connections were ended too
        assert ended >= 1
        listed = client.get("/webhooks")
    assert listed.status_code == 200, listed.text


def test_a_listed_action_is_shown_as_its_model_dumps_it_and_never_stale(
    admin_server: AdminServer,
) -> None:
    """Lists and reads reuse what they made of a definition until it changes: each shows what
    ``WebhookList``/``WebhookOut`` make of it, and a change (by PATCH here) at once."""
    with admin_server.client("manager") as manager:
        manager.delete("/webhooks/shown_once")
        assert manager.post("/webhooks", json=admin_server.definition("shown_once")).is_success
        for timeout in (4, 7):
            for _ in range(2):  # the second read is served from what the first made
                listed = manager.get("/webhooks").json()
                one = manager.get("/webhooks/shown_once").json()
                assert WebhookList.model_validate(listed).model_dump(mode="json") == listed
                assert [item for item in listed["items"] if item["name"] == "shown_once"] == [one]
                assert one["timeout"] == (2 if timeout == 4 else 4)
            assert manager.patch("/webhooks/shown_once", json={"timeout": timeout}).is_success
    with admin_server.client("reader") as reader:
        assert reader.get("/webhooks/shown_once").json()["timeout"] == 7


def test_what_is_shown_of_a_record_is_made_once_and_the_oldest_leaves_first() -> None:
    """``_Shown`` by the record's identity: the same record gets what was made of it; an equal
    record that is another object (a definition read anew) is made anew; past its limit the
    oldest entry leaves, the others stay."""
    from datetime import UTC, datetime

    from admin._app import _Shown
    from webhooks import Webhook

    def record(name: str) -> Webhook:
        now = datetime(2026, 12, 7, tzinfo=UTC)
        return Webhook(
            tenant="acme",
            name=name,
            description="Look up an order",
            url="https://api.example.com/orders?key=k1",
            method="POST",
            timeout=5,
            parameters=(),
            enabled=True,
            revision=1,
            created_at=now,
            updated_at=now,
        )

    shown = _Shown()
    first = record("first")
    made = shown(first, mask_query=False)
    assert made["url"] == "https://api.example.com/orders?key=k1"
    assert shown(first, mask_query=True)["url"] == "https://api.example.com/orders?key=***"
    assert shown(first, mask_query=False) is made
    assert shown(record("first"), mask_query=False) is not made  # equal, but another record

    shown = _Shown(limit=2)
    first, second = record("first"), record("second")
    made_first, made_second = shown(first, mask_query=False), shown(second, mask_query=False)
    shown(record("third"), mask_query=False)
    assert shown(second, mask_query=False) is made_second
    assert shown(first, mask_query=False) is not made_first
