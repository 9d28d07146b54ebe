"""Guessing the action server's tokens (Rasa's ``?token=``, the routing bearer, the metrics
token) is seen and slowed down: each failure is logged without the token, and an address past
10 failures a minute gets 429 with ``Retry-After`` for every wrong token on every route that
needs one, while a right token still passes.

Each test sends from its own loopback address, so no test's failures count against another.
"""

from __future__ import annotations

import re
import secrets

import httpx

from actions._server import build
from tests.actions.conftest import METRICS_TOKEN, ActionEnv
from webhooks import Settings

FAILURES = 10


def _client(action_env: ActionEnv, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=action_env.base_url,
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def _pieces(token: str) -> set[str]:
    return {token[i : i + 8] for i in range(len(token) - 7)}


def test_300_wrong_tokens_get_429_after_ten_and_are_logged_without_the_token(
    action_env: ActionEnv,
) -> None:
    guess = "wht_" + secrets.token_urlsafe(24)
    with _client(action_env, "127.0.0.20") as client:
        responses = [
            client.post("/tenants/acme/webhook", params={"token": guess}, json={})
            for _ in range(300)
        ]
        statuses = [r.status_code for r in responses]
        assert statuses[:FAILURES] == [401] * FAILURES
        assert set(statuses[FAILURES:]) == {429}
        assert responses[-1].json()["error"]["code"] == "too_many_failures"
        assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
        # A right token still passes: one Rasa sends every tenant's calls from one address.
        right = client.get("/tenants/acme/actions", params={"token": action_env.token})
        assert right.status_code == 200
    log = action_env.log_path.read_text()
    lines = re.findall(r"authentication_failed server=actions client=127\.0\.0\.20 .*", log)
    assert len(lines) == FAILURES
    assert "route=/tenants/acme/webhook failures=1" in lines[0]
    leaked = sum(piece in log for piece in _pieces(guess))
    assert leaked == 0, f"{leaked} pieces of the wrong token in the log"
    with _client(action_env, "127.0.0.21") as other:
        served = other.get("/tenants/acme/actions", params={"token": action_env.token})
        assert served.status_code == 200


def test_wrong_routing_and_metrics_bearers_count_and_are_logged(action_env: ActionEnv) -> None:
    guess = "wht_" + secrets.token_urlsafe(24)
    bearer = {"Authorization": f"Bearer {guess}"}
    with _client(action_env, "127.0.0.22") as client:
        for _ in range(FAILURES // 2):
            assert client.get("/tenants/acme/routing", headers=bearer).status_code == 401
            metrics = client.get("/metrics", headers=bearer)
            assert metrics.status_code == 401
            assert metrics.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/metrics", headers=bearer).status_code == 429
        right = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert right.status_code == 200
        assert client.get("/health").status_code == 200  # needs no token: never throttled
    log = action_env.log_path.read_text()
    assert "client=127.0.0.22 route=/tenants/acme/routing" in log
    assert "client=127.0.0.22 route=/metrics" in log
    leaked = sum(piece in log for piece in _pieces(guess))
    assert leaked == 0, f"{leaked} pieces of the wrong token in the log"


def test_rasas_calls_with_the_right_token_never_count(action_env: ActionEnv) -> None:
    with _client(action_env, "127.0.0.23") as client:
        for _ in range(3 * FAILURES):
            served = client.get("/tenants/acme/actions", params={"token": action_env.token})
            assert served.status_code == 200
        # Nor do requests without any token: no guess was made.
        for _ in range(3 * FAILURES):
            assert client.get("/tenants/acme/actions").status_code == 401
        wrong = client.get("/tenants/acme/actions", params={"token": "wht_wrong"})
        assert wrong.status_code == 401


def test_the_servers_limit_is_the_settings(action_env: ActionEnv) -> None:
    server = build(Settings(auth_failures=3), action_env.store)
    assert server.failures.throttle is not None
    assert server.failures.throttle.limit == 3
    assert build(Settings(auth_failures=0), action_env.store).failures.throttle is None
