"""Retries, against a real local HTTPS server scripted to fail: only what cannot be done twice
is made again, within the call's one deadline, with the same id."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import standardwebhooks

from webhooks import (
    ConnectionFailed,
    HTTPStatusError,
    Signer,
    WebhookRequest,
    WebhookTimeout,
)
from webhooks.egress._egress import Egress
from webhooks.egress._retries import MAX_RETRIES, MIN_ATTEMPT_SECONDS, backoff, parse_retry_after
from webhooks.egress._signing import new_secret, secret_key

from .conftest import StartServer
from .https_server import LocalServer

pytestmark = pytest.mark.asyncio


def scripted(server: LocalServer, *steps: tuple[object, ...]) -> str:
    server.scripts["k"] = list(steps)
    return server.url("/script/k")


def attempts(server: LocalServer) -> int:
    return sum(1 for seen in server.seen.requests if seen["path"] == "/script/k")


async def test_a_get_is_retried_on_a_bad_gateway_and_succeeds(
    egress: Egress, server: LocalServer
) -> None:
    url = scripted(server, ("status", 502), ("status", 504))
    result = await egress.call(WebhookRequest(url=url, method="GET"))
    assert result.status == 200
    assert attempts(server) == 3
    assert result.retries == ("502", "504")


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_a_post_is_never_retried_blindly(
    egress: Egress, server: LocalServer, status: int
) -> None:
    url = scripted(server, ("status", status))
    with pytest.raises(HTTPStatusError) as raised:
        await egress.call(WebhookRequest(url=url, arguments={"a": 1}))
    assert raised.value.status == status
    assert attempts(server) == 1
    assert raised.value.retries == ()


async def test_a_post_is_retried_when_the_operator_allows_it_with_one_id(
    egress: Egress, server: LocalServer
) -> None:
    secret = new_secret()
    url = scripted(server, ("status", 503))
    request = WebhookRequest(
        url=url, arguments={"a": 1}, retry_post=True, signer=Signer([secret_key(secret)])
    )
    result = await egress.call(request)
    assert result.status == 200
    assert result.retries == ("503",)
    first, second = (dict(seen["headers"]) for seen in server.seen.requests[-2:])
    assert first["webhook-id"] == second["webhook-id"] == second["Idempotency-Key"]
    # Each attempt is signed for its own time, and verifies.
    for seen in server.seen.requests[-2:]:
        standardwebhooks.Webhook(secret).verify(seen["body"], dict(seen["headers"]))


@pytest.mark.parametrize("status", [429, 503])
async def test_a_post_is_retried_when_the_service_says_it_did_nothing(
    egress: Egress, server: LocalServer, status: int
) -> None:
    url = scripted(server, ("status", status, {"Retry-After": "0"}))
    result = await egress.call(WebhookRequest(url=url, arguments={"a": 1}))
    assert result.status == 200
    assert attempts(server) == 2
    assert result.retries == (str(status),)


async def test_a_retry_after_the_deadline_cannot_wait_for_fails_at_once(
    egress: Egress, server: LocalServer
) -> None:
    url = scripted(server, ("status", 429, {"Retry-After": "30"}))
    started = time.monotonic()
    with pytest.raises(HTTPStatusError) as raised:
        await egress.call(WebhookRequest(url=url, arguments={"a": 1}, timeout=10))
    assert raised.value.status == 429
    assert attempts(server) == 1
    assert time.monotonic() - started < 1  # no waiting in vain


async def test_a_429_without_retry_after_is_not_retried(
    egress: Egress, server: LocalServer
) -> None:
    url = scripted(server, ("status", 429))
    with pytest.raises(HTTPStatusError):
        await egress.call(WebhookRequest(url=url, method="GET"))
    assert attempts(server) == 1


async def test_retries_stop_after_two(egress: Egress, server: LocalServer) -> None:
    url = scripted(server, *[("status", 502)] * 5)
    with pytest.raises(HTTPStatusError) as raised:
        await egress.call(WebhookRequest(url=url, method="GET"))
    assert attempts(server) == 1 + MAX_RETRIES
    assert raised.value.retries == ("502", "502")


async def test_every_attempt_fits_in_the_one_deadline(egress: Egress, server: LocalServer) -> None:
    # Each answer takes 0.4 s: after the first, too little of the 1 s deadline is left.
    url = scripted(server, ("sleep", 0.4, 502), ("sleep", 0.4, 502), ("sleep", 0.4, 502))
    started = time.monotonic()
    with pytest.raises(HTTPStatusError):
        await egress.call(WebhookRequest(url=url, method="GET", timeout=1))
    assert time.monotonic() - started < 1
    assert attempts(server) == 1


async def test_a_timeout_is_never_retried(egress: Egress, server: LocalServer) -> None:
    url = scripted(server, ("sleep", 2, 200))
    with pytest.raises(WebhookTimeout) as raised:
        await egress.call(WebhookRequest(url=url, method="GET", timeout=1))
    assert attempts(server) == 1
    assert raised.value.retries == ()


async def test_a_connection_lost_after_sending_is_retried_for_get_only(
    egress: Egress, server: LocalServer
) -> None:
    url = scripted(server, ("drop",))
    with pytest.raises(ConnectionFailed):
        await egress.call(WebhookRequest(url=url, arguments={"a": 1}))
    assert attempts(server) == 1  # the POST may have been handled: never twice

    url = scripted(server, ("drop",))
    result = await egress.call(WebhookRequest(url=url, method="GET"))
    assert result.status == 200
    assert result.retries == ("connection_lost",)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_post_whose_connection_failed_before_sending_is_retried(
    egress: Egress, start_server: StartServer, ca: object
) -> None:
    """Nothing listens at first (the connection is refused: nothing was sent); the service
    starts listening before the backoff is over, and the second attempt reaches it."""
    port = _free_port()
    server = await start_server()
    # The same server's app, now on the port that refused a moment ago.
    loop = asyncio.get_running_loop()
    listening: list[asyncio.AbstractServer] = []

    async def listen_soon() -> None:
        await asyncio.sleep(0.02)
        assert server._runner is not None
        assert server._runner.server is not None
        factory = server._runner.server
        context = server.ssl_context
        assert isinstance(context, ssl.SSLContext)
        listening.append(
            await loop.create_server(factory, "127.0.0.1", port, ssl=context, family=socket.AF_INET)
        )

    opener = asyncio.create_task(listen_soon())
    try:
        result = await egress.call(
            WebhookRequest(url=f"https://127.0.0.1:{port}/echo", arguments={"a": 1})
        )
    finally:
        await opener
        for listener in listening:
            listener.close()
    assert result.status == 200
    assert result.retries == ("connect",)
    assert [seen["body"] for seen in server.seen.requests] == [b'{"a":1}']


async def test_backoff_is_jittered_and_grows() -> None:
    firsts = {round(backoff(0), 6) for _ in range(50)}
    seconds = [backoff(1) for _ in range(50)]
    assert len(firsts) > 40
    assert all(0.1 <= wait <= 0.2 for wait in firsts)
    assert all(0.2 <= wait <= 0.4 for wait in seconds)
    assert MIN_ATTEMPT_SECONDS == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0", 0.0, id="zero"),
        pytest.param("12", 12.0, id="seconds"),
        pytest.param(" 3 ", 3.0, id="spaces"),
        pytest.param("-1", None, id="negative"),
        pytest.param("1.5", None, id="fraction"),
        pytest.param("soon", None, id="words"),
        pytest.param(None, None, id="none"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="a-past-date"),
        pytest.param("²", None, id="a-digit-only-to-unicode"),
        pytest.param("9" * 400, 86_400.0, id="endless"),
    ],
)
async def test_retry_after_is_read_as_the_rfc_says(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value) == expected


async def test_retry_after_as_a_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=20)
    seconds = parse_retry_after(format_datetime(later, usegmt=True))
    assert seconds is not None
    assert 18 < seconds <= 20
