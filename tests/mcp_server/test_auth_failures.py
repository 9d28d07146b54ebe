"""Guessing the tools server's bearer tokens (a tenant's MCP token, the metrics token) is seen
and slowed down: each failure is logged without the token, and an address past 10 failures a
minute gets 429 with ``Retry-After`` for its wrong tokens; right tokens and other addresses go
on.

Each test sends from its own loopback address, so no test's failures count against another.
"""

from __future__ import annotations

import re
import secrets

import httpx

from mcp_server._app import build
from tests.actions.conftest import METRICS_TOKEN
from tests.mcp_server.conftest import ToolsEnv
from webhooks import Settings

FAILURES = 10
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


def _client(tools_env: ToolsEnv, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=tools_env.base_url,
        headers={"Accept": "application/json, text/event-stream"},
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _pieces(token: str) -> set[str]:
    return {token[i : i + 8] for i in range(len(token) - 7)}


def test_300_wrong_tokens_get_429_after_ten_and_are_logged_without_the_token(
    tools_env: ToolsEnv,
) -> None:
    guess = "whm_" + secrets.token_urlsafe(32)
    with _client(tools_env, "127.0.0.30") as client:
        responses = [
            client.post("/tenants/acme/mcp", json=INITIALIZE, headers=_bearer(guess))
            for _ in range(300)
        ]
        statuses = [r.status_code for r in responses]
        assert statuses[:FAILURES] == [401] * FAILURES
        assert set(statuses[FAILURES:]) == {429}
        assert responses[-1].json()["error"]["code"] == "too_many_failures"
        assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
        right = client.post("/tenants/acme/mcp", json=INITIALIZE, headers=_bearer(tools_env.token))
        assert right.status_code == 200, right.text  # agents behind one address go on
    log = tools_env.log_path.read_text()
    lines = re.findall(r"authentication_failed server=tools client=127\.0\.0\.30 .*", log)
    assert len(lines) == FAILURES
    assert "route=/tenants/acme/mcp failures=1" in lines[0]
    leaked = sum(piece in log for piece in _pieces(guess))
    assert leaked == 0, f"{leaked} pieces of the wrong token in the log"
    with _client(tools_env, "127.0.0.31") as other:
        served = other.post("/tenants/acme/mcp", json=INITIALIZE, headers=_bearer(tools_env.token))
        assert served.status_code == 200, served.text


def test_a_wrong_metrics_token_counts_and_is_logged(tools_env: ToolsEnv) -> None:
    guess = "metrics-" + secrets.token_urlsafe(24)
    with _client(tools_env, "127.0.0.32") as client:
        for _ in range(FAILURES):
            refused = client.get("/metrics", headers=_bearer(guess))
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/metrics", headers=_bearer(guess)).status_code == 429
        assert client.get("/metrics", headers=_bearer(METRICS_TOKEN)).status_code == 200
        assert client.get("/health").status_code == 200  # needs no token: never throttled
    log = tools_env.log_path.read_text()
    assert "authentication_failed server=tools client=127.0.0.32 route=/metrics" in log
    leaked = sum(piece in log for piece in _pieces(guess))
    assert leaked == 0, f"{leaked} pieces of the wrong token in the log"


def test_a_request_without_a_token_is_no_guess(tools_env: ToolsEnv) -> None:
    with _client(tools_env, "127.0.0.33") as client:
        for _ in range(3 * FAILURES):
            assert client.post("/tenants/acme/mcp", json=INITIALIZE).status_code == 401
        served = client.post("/tenants/acme/mcp", json=INITIALIZE, headers=_bearer(tools_env.token))
        assert served.status_code == 200, served.text


def test_the_servers_limit_is_the_settings(tools_env: ToolsEnv) -> None:
    server = build(Settings(auth_failures=3), tools_env.store)
    assert server.failures.throttle is not None
    assert server.failures.throttle.limit == 3
    assert build(Settings(auth_failures=0), tools_env.store).failures.throttle is None
