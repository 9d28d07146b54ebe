"""The Test endpoint against a real local HTTPS server (trustme CA), through the allowance.

The admin server process is started with ``WEBHOOKS_EGRESS_ALLOW=127.0.0.1/32`` and the test CA
in ``WEBHOOKS_CA_FILE``: the explicit development allowance, never a switch of the policy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import trustme

from tests.admin.conftest import CANARY, AdminServer, free_port
from tests.webhooks.https_server import ECHOED_FORMS, LocalServer
from webhooks import MANAGE, HTTPStatusError

CA = trustme.CA()


def SERVER_ENV(tmp: Path) -> dict[str, str]:
    pem = tmp / "test-ca.pem"
    CA.cert_pem.write_to_path(str(pem))
    return {"WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32", "WEBHOOKS_CA_FILE": str(pem)}


pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def webhook_server() -> AsyncIterator[LocalServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    CA.issue_cert("127.0.0.1").configure_cert(context)
    server = LocalServer(context)
    await server.start()
    yield server
    await server.stop()


async def _test(
    admin_server: AdminServer, definition: dict[str, object], *, identity: str | None = None
) -> dict[str, object]:
    """Test ``definition`` as ``identity`` (by default a new manager: see new_manager)."""
    headers = admin_server.identities[identity or admin_server.new_manager()].headers
    async with httpx.AsyncClient(
        base_url=admin_server.base_url + "/api/v1", headers=headers
    ) as client:
        for webhook in (await client.get("/webhooks")).json()["items"]:
            await client.delete(f"/webhooks/{webhook['name']}")
        created = await client.post("/webhooks", json=definition)
        assert created.status_code == 201, created.text
        response = await client.post(f"/webhooks/{definition['name']}/test")
        assert response.status_code == 200
        admin_server.responses.append(response.text)
        return dict(response.json())


async def test_post_test_sends_empty_object_and_configured_headers(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    outcome = await _test(
        admin_server, admin_server.definition("probe", url=webhook_server.url("/echo?x=1"))
    )
    assert outcome["ok"] is True
    assert outcome["status"] == 200
    assert outcome["body"] == '{"method": "POST", "query": [["x", "1"]]}'
    seen = webhook_server.seen.requests[-1]
    assert seen["body"] == b"{}"
    assert seen["headers"]["X-Api-Key"] == CANARY


async def test_a_stored_header_value_never_shows_in_the_preview(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    # A manager cannot move headers to another host, but could point the path at an endpoint
    # of the same host that echoes them: the preview masks every stored value.
    outcome = await _test(
        admin_server, admin_server.definition("probe", url=webhook_server.url("/headers"))
    )
    assert outcome["ok"] is True
    assert webhook_server.seen.requests[-1]["headers"]["X-Api-Key"] == CANARY  # it was sent
    assert CANARY not in str(outcome["body"])
    assert '"X-Api-Key": "***"' in str(outcome["body"])


@pytest.mark.parametrize("form", list(ECHOED_FORMS))
async def test_a_stored_header_value_echoed_changed_never_shows_in_the_preview(
    admin_server: AdminServer, webhook_server: LocalServer, form: str
) -> None:
    # Cut, encoded, re-cased or spaced out: still the operator's key.
    outcome = await _test(
        admin_server, admin_server.definition("probe", url=webhook_server.url(f"/echo-as/{form}"))
    )
    assert webhook_server.seen.requests[-1]["headers"]["X-Api-Key"] == CANARY  # it was sent
    seen = json.loads(str(outcome["body"]))["seen"]
    assert seen in ("***", {"first": "***", "second": "***"})


async def test_every_test_is_in_the_audit_log_with_its_outcome_and_no_body(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    tester = admin_server.new_manager()
    outcome = await _test(
        admin_server,
        admin_server.definition("probe", url=webhook_server.url("/echo?k=v1")),
        identity=tester,
    )
    assert outcome["body"] == '{"method": "POST", "query": [["k", "v1"]]}'
    headers = admin_server.identities["manager"].headers
    async with httpx.AsyncClient(
        base_url=admin_server.base_url + "/api/v1", headers=headers
    ) as client:
        audit = (await client.get("/audit")).json()["items"]
    entry = audit[0]
    assert (entry["action"], entry["target"]) == ("webhook.test", "webhook:probe")
    assert entry["actor"] == f"operator:{admin_server.identities[tester].operator_id}:{tester}"
    assert entry["before"] is None
    assert entry["after"]["url"] == webhook_server.url("/echo?k=***")
    assert (entry["after"]["ok"], entry["after"]["status"]) == (True, 200)
    assert set(entry["after"]) == {"url", "ok", "status", "category", "elapsed_ms"}
    assert "method" not in json.dumps(entry)  # nothing of the body


async def test_a_test_whose_operator_hangs_up_is_still_audited(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    # Closing the connection cancels the handler; the Test went out, so it is on the record.
    tester = admin_server.new_manager()
    headers = admin_server.identities[tester].headers
    async with httpx.AsyncClient(
        base_url=admin_server.base_url + "/api/v1", headers=headers
    ) as client:
        for webhook in (await client.get("/webhooks")).json()["items"]:
            await client.delete(f"/webhooks/{webhook['name']}")
        definition = admin_server.definition(
            "probe", url=webhook_server.url("/drip"), method="GET", timeout=2
        )
        assert (await client.post("/webhooks", json=definition)).status_code == 201
        sent = len(webhook_server.seen.requests)
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/webhooks/probe/test", timeout=0.5)
        assert len(webhook_server.seen.requests) == sent + 1  # it went out

        async def tests_audited() -> list[dict[str, object]]:
            audit = (await client.get("/audit")).json()["items"]
            return [entry for entry in audit if entry["action"] == "webhook.test"]

        audited: list[dict[str, object]] = []

        async def audited_by_tester() -> bool:
            audited[:] = [
                entry for entry in await tests_audited() if entry["actor"].endswith(f":{tester}")
            ]
            return bool(audited)

        deadline = asyncio.get_running_loop().time() + 10
        while not await audited_by_tester():
            assert asyncio.get_running_loop().time() < deadline, "the Test was never audited"
            await asyncio.sleep(0.05)
    assert audited[0]["after"]["ok"] is False  # type: ignore[index]


async def test_get_test_sends_no_parameters(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    outcome = await _test(
        admin_server,
        admin_server.definition("probe", method="GET", url=webhook_server.url("/echo")),
    )
    assert outcome["body"] == '{"method": "GET", "query": []}'
    assert webhook_server.seen.requests[-1]["query"] == []


async def test_a_test_is_signed_with_the_secret_shown_when_it_was_made(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    headers = admin_server.identities[admin_server.new_manager()].headers
    async with httpx.AsyncClient(
        base_url=admin_server.base_url + "/api/v1", headers=headers
    ) as client:
        for webhook in (await client.get("/webhooks")).json()["items"]:
            await client.delete(f"/webhooks/{webhook['name']}")
        definition = admin_server.definition("signed", url=webhook_server.url("/echo"))
        assert (await client.post("/webhooks", json=definition)).status_code == 201
        made = (await client.post("/webhooks/signed/signing-secrets")).json()
        assert (await client.post("/webhooks/signed/test")).json()["ok"] is True
    seen = webhook_server.seen.requests[-1]["headers"]
    # As a receiver checks it (Standard Webhooks): HMAC-SHA256 of id.timestamp.body.
    key = base64.b64decode(made["secret"].removeprefix("whsec_"))
    signed = f"{seen['webhook-id']}.{seen['webhook-timestamp']}.".encode() + b"{}"
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(seen["webhook-signature"], expected)
    assert seen["Idempotency-Key"] == seen["webhook-id"]


async def test_body_preview_is_the_first_500_characters(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    outcome = await _test(
        admin_server,
        admin_server.definition("probe", method="GET", url=webhook_server.url("/long")),
    )
    body = outcome["body"]
    assert isinstance(body, str)
    assert len(body) == 500
    assert body.startswith('{"items": ["éééééééééé"')
    assert outcome["truncated"] is True  # the mark travels from the egress to the API


@pytest.mark.parametrize("status", [400, 404, 429, 500, 503])
async def test_an_error_status_is_reported_not_ok_with_the_calls_category(
    admin_server: AdminServer, webhook_server: LocalServer, status: int
) -> None:
    outcome = await _test(
        admin_server, admin_server.definition("probe", url=webhook_server.url(f"/status/{status}"))
    )
    # Not ok, as a conversation's call answered so fails, in the same category.
    assert (outcome["ok"], outcome["status"]) == (False, status)
    assert outcome["category"] == HTTPStatusError(status).category
    assert outcome["message"] == f"webhook answered HTTP {status}"
    assert outcome["body"] == '{"error": "nope"}'  # still shown: it says what went wrong
    assert outcome["truncated"] is False
    with admin_server.client("admin") as client:
        last = client.get("/webhooks/probe").json()["last_test"]
        audited = client.get("/audit", params={"limit": 1}).json()["items"][0]["after"]
    assert (last["ok"], last["status"], last["category"]) == (False, status, outcome["category"])
    assert (audited["ok"], audited["category"]) == (False, outcome["category"])


async def test_a_closed_port_and_a_silent_server_are_told_alike(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    # Otherwise the Test is a port scanner: "refused" means closed, "timeout" filtered, by
    # the answer and by the time it takes (a refusal comes in milliseconds).
    started = time.monotonic()
    closed = await _test(
        admin_server,
        admin_server.definition(
            "probe", url=f"https://127.0.0.1:{free_port()}/hook", method="GET", timeout=1
        ),
    )
    closed_seconds = time.monotonic() - started
    silent = await _test(
        admin_server,
        admin_server.definition("probe", url=webhook_server.url("/drip"), method="GET", timeout=1),
    )
    for outcome in (closed, silent):
        assert outcome["ok"] is False
        assert outcome["category"] == "unreachable"
        assert CANARY not in str(outcome)
    assert closed["message"] == silent["message"]
    assert closed_seconds >= 1.0  # the timeout, as the silent one takes


async def test_the_21st_test_of_an_operator_in_a_minute_is_429(
    admin_server: AdminServer, webhook_server: LocalServer
) -> None:
    # A bound on probing hosts and ports through the Test, per operator: others go on.
    _, token = admin_server.store.accounts.create_operator(
        "acme", f"prober-{secrets.token_hex(4)}", permissions=[MANAGE], actor="test"
    )
    manager = admin_server.identities[admin_server.new_manager()].headers
    async with httpx.AsyncClient(base_url=admin_server.base_url + "/api/v1") as client:
        for webhook in (await client.get("/webhooks", headers=manager)).json()["items"]:
            await client.delete(f"/webhooks/{webhook['name']}", headers=manager)
        definition = admin_server.definition("probe", url=webhook_server.url("/status/204"))
        assert (await client.post("/webhooks", json=definition, headers=manager)).is_success
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [
            (await client.post("/webhooks/probe/test", headers=headers)).status_code
            for _ in range(20)
        ]
        assert statuses == [200] * 20
        refused = await client.post("/webhooks/probe/test", headers=headers)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_tests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        sent = len(webhook_server.seen.requests)
        assert (await client.post("/webhooks/probe/test", headers=manager)).status_code == 200
        assert len(webhook_server.seen.requests) == sent + 1  # the refused one sent nothing


async def test_allowance_is_narrow(admin_server: AdminServer) -> None:
    headers = admin_server.identities["manager"].headers
    async with httpx.AsyncClient(
        base_url=admin_server.base_url + "/api/v1", headers=headers
    ) as client:
        refused = await client.post(
            "/webhooks", json=admin_server.definition("other", url="https://127.0.0.2/hook")
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "url"


@pytest.mark.parametrize(
    ("path", "replies", "service_messages", "expected"),
    [
        pytest.param("/echo", {}, False, "method: POST; query: []", id="default-rendering"),
        pytest.param("/echo", {"success": "It was a {{ result.method }}."}, False,
                     "It was a POST.", id="success-template"),
        pytest.param("/status/404", {"not_found": "Gone ({{ status }}): {{ message }}"}, False,
                     "Gone (404): nope", id="not-found-template"),
        pytest.param("/status/422", {}, True, "nope", id="service-message"),
        pytest.param("/status/422", {}, False,
                     "Sorry, the service could not handle that request.", id="default-sentence"),
    ],
)  # fmt: skip
async def test_a_test_shows_what_the_bot_would_say(
    admin_server: AdminServer,
    webhook_server: LocalServer,
    path: str,
    replies: dict[str, str],
    service_messages: bool,
    expected: str,
) -> None:
    definition = admin_server.definition("probe", url=webhook_server.url(path))
    outcome = await _test(
        admin_server, definition | {"replies": replies, "service_messages": service_messages}
    )
    assert outcome["reply"] == expected
    assert outcome["ok"] is (path == "/echo")


async def test_an_unreachable_test_says_the_bots_unavailable_sentence(
    admin_server: AdminServer,
) -> None:
    definition = admin_server.definition("probe", url=f"https://127.0.0.1:{free_port()}/x")
    outcome = await _test(admin_server, definition | {"timeout": 1})
    assert outcome["category"] == "unreachable"
    assert (
        outcome["reply"] == "Sorry, I can't reach that service right now. Please try again later."
    )
