"""The Test with sample values, and the last Test kept per action, over real HTTP.

The webhook is a real local HTTPS server (trustme CA) in its own thread, reached through the
explicit development allowance, so these tests are plain functions. The routing table is
served by a real action server on the same database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.actions.conftest import ThreadedWebhook
from tests.admin.conftest import CANARY, AdminServer, free_port
from tests.servers import start_server, stop
from webhooks import HTTPStatusError, LastTest

CA = trustme.CA()
ORDER = {"name": "order_id", "type": "integer", "description": "the order"}
GIFT = {"name": "gift", "type": "boolean", "description": "a gift?", "required": False}


def SERVER_ENV(tmp: Path) -> dict[str, str]:
    pem = tmp / "test-ca.pem"
    CA.cert_pem.write_to_path(str(pem))
    return {"WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32", "WEBHOOKS_CA_FILE": str(pem)}


@pytest.fixture(scope="module")
def webhook() -> Iterator[ThreadedWebhook]:
    server = ThreadedWebhook(CA)
    yield server
    server.stop()


@pytest.fixture
def probe(admin_server: AdminServer, webhook: ThreadedWebhook) -> Iterator[httpx.Client]:
    """A manager's client, with one action ``probe`` (POST to /echo) and no other."""
    with admin_server.client(admin_server.new_manager()) as client:
        for existing in client.get("/webhooks").json()["items"]:
            client.delete(f"/webhooks/{existing['name']}")
        definition = admin_server.definition(
            "probe", url=webhook.url("/echo?from=url"), parameters=[ORDER, GIFT]
        )
        assert client.post("/webhooks", json=definition).status_code == 201
        yield client


def press(client: httpx.Client, body: Any = None) -> httpx.Response:
    """Press Test on ``probe``, with ``body`` as JSON when given."""
    return client.post("/webhooks/probe/test", json=body)


# -- sample values ---------------------------------------------------------------------------


def test_values_are_posted_as_a_conversations_call_would_post_them(
    probe: httpx.Client, webhook: ThreadedWebhook
) -> None:
    response = press(probe, {"values": {"gift": "yes please", "order_id": "#4521"}})
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert outcome["ok"] is True
    assert outcome["status"] == 200
    sent = webhook.requests[-1]
    assert sent["body"] == b'{"order_id":4521,"gift":true}'
    assert sent["query"] == [("from", "url")]
    answer = json.dumps({"method": "POST", "query": [["from", "url"]]})
    assert outcome["body"] == answer
    assert (outcome["content_type"], outcome["size"]) == ("application/json", len(answer))


def test_values_go_in_the_query_string_for_get(
    probe: httpx.Client, webhook: ThreadedWebhook
) -> None:
    assert probe.patch("/webhooks/probe", json={"method": "GET"}).status_code == 200
    assert press(probe, {"values": {"order_id": "42", "gift": False}}).json()["ok"] is True
    sent = webhook.requests[-1]
    assert sent["query"] == [("from", "url"), ("order_id", "42"), ("gift", "false")]
    assert sent["body"] == b""


@pytest.mark.parametrize(
    "request_body",
    [
        pytest.param({}, id="no-body"),
        pytest.param({"json": {}}, id="empty-object"),
        pytest.param({"json": {"values": None}}, id="values-null"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_without_values_the_test_is_the_specifications(
    probe: httpx.Client, webhook: ThreadedWebhook, request_body: dict[str, Any], method: str
) -> None:
    assert probe.patch("/webhooks/probe", json={"method": method}).status_code == 200
    response = probe.post("/webhooks/probe/test", **request_body)
    assert response.json()["status"] == 200, response.text
    sent = webhook.requests[-1]
    assert (sent["method"], sent["query"]) == (method, [("from", "url")])
    assert sent["body"] == (b"{}" if method == "POST" else b"")


REFUSED = [
    pytest.param(
        {"values": {"order_id": "soon"}},
        [("invalid", "values.order_id", "Please give a whole number, for example 4521.")],
        id="does-not-convert",
    ),
    pytest.param(
        {"values": {"order_id": 1, "colour": "red"}},
        [("unknown_field", "values.colour", "no parameter has this name")],
        id="unknown-name",
    ),
    pytest.param(
        {"values": {"gift": True}},
        [("required", "values.order_id", "this parameter is required")],
        id="required-left-out",
    ),
    pytest.param(
        {"values": {}},
        [("required", "values.order_id", "this parameter is required")],
        id="values-given-empty",
    ),
    pytest.param(
        {"values": {"order_id": None}},
        [("invalid", "values.order_id", "must be a string, number or boolean")],
        id="null",
    ),
    pytest.param(
        {"values": {"order_id": [4521]}},
        [("invalid", "values.order_id", "must be a string, number or boolean")],
        id="array",
    ),
    pytest.param(
        {"values": {"colour": "red", "gift": "maybe"}},
        [
            ("unknown_field", "values.colour", "no parameter has this name"),
            ("invalid", "values.gift", "Please answer yes or no."),
            ("required", "values.order_id", "this parameter is required"),
        ],
        id="several",
    ),
    pytest.param(
        {"values": ["4521"]}, [("invalid", "values", "must be an object (names and values)")],
        id="values-not-an-object",
    ),
    pytest.param(
        {"value": {"order_id": 1}}, [("unknown_field", "value", "unknown field: remove it")],
        id="unknown-field",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "problems"), REFUSED)
def test_a_refused_value_is_422_at_its_field_and_nothing_is_sent(
    probe: httpx.Client,
    webhook: ThreadedWebhook,
    body: dict[str, Any],
    problems: list[tuple[str, str, str]],
) -> None:
    sent = len(webhook.requests)
    response = press(probe, body)
    assert response.status_code == 422, response.text
    error = response.json()
    first = problems[0]
    assert error["error"] == {"code": first[0], "field": first[1], "message": first[2]}
    listed = [
        (e["code"], e["field"], e["message"]) for e in error.get("errors") or [error["error"]]
    ]
    assert listed == problems
    assert len(webhook.requests) == sent
    assert probe.get("/webhooks/probe").json()["last_test"] is None


def test_a_body_that_is_not_json_is_400(probe: httpx.Client) -> None:
    response = probe.post(
        "/webhooks/probe/test", content=b"{values", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")


def test_a_header_value_echoed_back_never_shows(
    admin_server: AdminServer, probe: httpx.Client, webhook: ThreadedWebhook
) -> None:
    moved = {"url": webhook.url("/headers"), "headers": {"X-Api-Key": CANARY}}
    assert probe.patch("/webhooks/probe", json=moved).status_code == 200
    response = press(probe, {"values": {"order_id": 7}})
    outcome = response.json()
    assert webhook.requests[-1]["headers"]["X-Api-Key"] == CANARY  # it was sent
    assert webhook.requests[-1]["body"] == b'{"order_id":7}'
    assert CANARY not in response.text
    assert '"X-Api-Key": "***"' in outcome["body"]
    admin_server.responses.append(response.text)  # the fixture checks it again at the end


# -- the last Test ---------------------------------------------------------------------------


def test_every_test_is_kept_as_the_actions_last(
    probe: httpx.Client, webhook: ThreadedWebhook
) -> None:
    assert probe.get("/webhooks/probe").json()["last_test"] is None
    started = datetime.now(UTC)
    failing = {"url": webhook.url("/status/503"), "headers": {"X-Api-Key": CANARY}}
    assert probe.patch("/webhooks/probe", json=failing).is_success
    assert press(probe).json()["status"] == 503
    answered = probe.get("/webhooks/probe").json()["last_test"]
    assert set(answered) == {"at", "ok", "status", "category", "elapsed_ms"}
    assert (answered["ok"], answered["status"], answered["category"]) == (
        False,
        503,
        "unavailable",
    )
    assert answered["elapsed_ms"] > 0
    assert started <= datetime.fromisoformat(answered["at"]) <= datetime.now(UTC)
    assert probe.get("/webhooks").json()["items"][0]["last_test"] == answered
    # A failure is a Test too, and replaces it.
    closed = f"https://127.0.0.1:{free_port()}/hook"
    moved = {"url": closed, "headers": {"X-Api-Key": CANARY}}  # headers follow the URL
    assert probe.patch("/webhooks/probe", json=moved).json()["last_test"] == answered
    assert press(probe, {"values": {"order_id": 1}}).json()["ok"] is False
    failed = probe.get("/webhooks/probe").json()["last_test"]
    assert (failed["ok"], failed["status"], failed["category"]) == (False, None, "unreachable")
    assert failed["elapsed_ms"] is None
    assert failed["at"] > answered["at"]


def test_a_test_kept_before_ok_meant_2xx_reads_as_one_made_now(
    admin_server: AdminServer, probe: httpx.Client
) -> None:
    # Recorded by an earlier version, for which ok meant "a server answered".
    earlier = LastTest(at=datetime.now(UTC), ok=True, status=404, elapsed_ms=3.0)
    admin_server.store.tests.record("acme", "probe", earlier, actor="test")
    last = probe.get("/webhooks/probe").json()["last_test"]
    assert (last["ok"], last["status"]) == (False, 404)
    assert last["category"] == HTTPStatusError(404).category


def test_the_record_goes_with_the_action(probe: httpx.Client) -> None:
    press(probe)
    assert probe.get("/webhooks/probe").json()["last_test"] is not None
    definition = probe.get("/webhooks/probe").json()
    assert probe.delete("/webhooks/probe").status_code == 204
    again = {k: definition[k] for k in ("name", "description", "url", "parameters")}
    assert probe.post("/webhooks", json=again).json()["last_test"] is None
    assert probe.get("/webhooks/probe").json()["last_test"] is None


def test_a_test_changes_nothing_the_action_servers_and_the_router_watch(
    admin_server: AdminServer, probe: httpx.Client, tmp_path: Path
) -> None:
    store = admin_server.store
    token = store.accounts.issue_action_token("acme", actor="test", replace=True)
    env = admin_server.env | {"WEBHOOKS_REFRESH_INTERVAL": "0.1"}
    process, base_url = start_server("actions", env, tmp_path / "actions.log")
    bearer = {"Authorization": f"Bearer {token}"}

    def caught_up() -> None:
        version = sum(store.snapshots.versions().values())
        deadline = time.monotonic() + 5
        while httpx.get(base_url + "/health").json()["version"] < version:
            assert time.monotonic() < deadline, "the action server did not catch up"
            time.sleep(0.02)

    def routing(etag: str | None = None) -> httpx.Response:
        headers = bearer | ({"If-None-Match": etag} if etag else {})
        return httpx.get(f"{base_url}/tenants/acme/routing", headers=headers, timeout=10)

    try:
        caught_up()
        etag = routing().headers["ETag"]
        before = probe.get("/webhooks/probe").json()
        audit = probe.get("/audit", params={"limit": 1}).json()["items"]
        versions = store.snapshots.versions()
        assert press(probe, {"values": {"order_id": 4521}}).json()["ok"] is True
        assert press(probe).json()["ok"] is True
        caught_up()
        assert store.snapshots.versions() == versions
        assert routing(etag).status_code == 304
        after = probe.get("/webhooks/probe").json()
        assert after["last_test"] is not None
        assert after | {"last_test": None} == before
        # The audit log has the two Tests (who pressed Test matters), and nothing else.
        newest = probe.get("/audit", params={"limit": 3}).json()["items"]
        assert [entry["action"] for entry in newest[:2]] == ["webhook.test", "webhook.test"]
        assert newest[2:] == audit
        # And the same check sees a real change.
        assert probe.patch("/webhooks/probe", json={"description": "Find an order"}).is_success
        caught_up()
        assert routing(etag).status_code == 200
    finally:
        stop(process)


def test_a_lone_surrogate_in_a_free_text_value_is_422_and_nothing_is_sent(
    probe: httpx.Client, webhook: ThreadedWebhook
) -> None:
    note = {"name": "note", "type": "string", "description": "a note", "required": False}
    assert probe.patch("/webhooks/probe", json={"parameters": [ORDER, note]}).is_success
    sent = len(webhook.requests)
    body = json.dumps({"values": {"order_id": 1, "note": "a\ud800"}}).encode("ascii")
    response = probe.post(
        "/webhooks/probe/test", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "values.note"
    assert len(webhook.requests) == sent
