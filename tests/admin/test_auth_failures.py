"""Guessing API tokens is seen and slowed down: each failure is logged without the token, and
an address past 10 failures a minute gets 429 with ``Retry-After``, while others go on.

Each test sends from its own loopback address (all of 127/8 is loopback on Linux), so the
module's one server holds no test's failures against another.
"""

from __future__ import annotations

import re
import secrets

import httpx

from tests.admin.conftest import AdminServer

FAILURES = 10


def _client(admin_server: AdminServer, address: str, token: str | None) -> httpx.Client:
    return httpx.Client(
        base_url=admin_server.base_url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def _pieces(token: str) -> set[str]:
    """Every run of 8 characters of ``token``: none may reach the log."""
    return {token[i : i + 8] for i in range(len(token) - 7)}


def test_300_wrong_tokens_get_429_after_ten_and_are_logged_without_the_token(
    admin_server: AdminServer,
) -> None:
    guess = "wha_" + secrets.token_urlsafe(24)
    with _client(admin_server, "127.0.0.10", guess) as client:
        responses = [client.get("/webhooks") for _ in range(300)]
    statuses = [r.status_code for r in responses]
    assert statuses[:FAILURES] == [401] * FAILURES
    assert set(statuses[FAILURES:]) == {429}
    last = responses[-1]
    assert last.json() == {
        "error": {
            "code": "too_many_failures",
            "message": last.json()["error"]["message"],
            "field": None,
        }
    }
    assert 1 <= int(last.headers["Retry-After"]) <= 60
    log = admin_server.log_path.read_text()
    lines = re.findall(r"authentication_failed server=admin client=127\.0\.0\.10 .*", log)
    assert len(lines) == FAILURES
    assert "route=/api/v1/webhooks" in lines[0]
    assert "client_throttled server=admin client=127.0.0.10" in log
    leaked = sum(piece in log for piece in _pieces(guess))
    assert leaked == 0, f"{leaked} pieces of the wrong token in the log"


def test_a_throttled_address_still_passes_a_right_token_and_others_go_on(
    admin_server: AdminServer,
) -> None:
    # Behind one address (a proxy, an office) one person's stale token locks no one else out.
    with _client(admin_server, "127.0.0.11", "wha_" + secrets.token_urlsafe(24)) as client:
        for _ in range(FAILURES):
            assert client.get("/me").status_code == 401
        refused = client.get("/me")
    assert refused.status_code == 429, refused.text
    assert "Retry-After" in refused.headers
    manager = admin_server.identities["manager"].token
    with _client(admin_server, "127.0.0.11", manager) as client:
        assert client.get("/me").status_code == 200
    with _client(admin_server, "127.0.0.12", manager) as client:
        assert client.get("/me").status_code == 200
    with _client(admin_server, "127.0.0.12", "wha_" + secrets.token_urlsafe(24)) as client:
        assert client.get("/me").status_code == 401


def test_a_request_without_a_token_is_no_guess(admin_server: AdminServer) -> None:
    # A console opened before signing in, a health checker on a wrong path: not a guess.
    with _client(admin_server, "127.0.0.13", None) as client:
        for _ in range(3 * FAILURES):
            assert client.get("/webhooks").status_code == 401
    manager = admin_server.identities["manager"].token
    with _client(admin_server, "127.0.0.13", manager) as client:
        assert client.get("/webhooks").status_code == 200


def test_a_malformed_authorization_header_counts_as_a_guess(admin_server: AdminServer) -> None:
    with _client(admin_server, "127.0.0.14", None) as client:
        for _ in range(FAILURES):
            response = client.get("/webhooks", headers={"Authorization": "Basic Zm9vOmJhcg=="})
            assert response.status_code == 401
        malformed = client.get("/webhooks", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        assert malformed.status_code == 429
