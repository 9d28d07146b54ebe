"""The guarded client against a real local HTTPS server (trustme CA): what it sends, what it
reads, its cap, deadline, turns and TLS, and the Test call."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import ssl
import time
from typing import Any

import pytest
from aiohttp.helpers import ceil_timeout

from tests.polling import eventually
from webhooks._exceptions import (
    ConnectionFailed,
    DestinationBlocked,
    HTTPStatusError,
    InvalidURL,
    TLSFailed,
    WebhookTimeout,
)
from webhooks.egress._egress import MAX_BODY_BYTES, USER_AGENT, Egress, _deadline, _read_capped
from webhooks.egress._messages import MAX_TIMEOUT, TRUNCATION_MARK, WebhookRequest
from webhooks.egress._rules import EgressRules

from .conftest import (
    LOOPBACK_RULES,
    PATH_SECRET,
    QUERY_SECRET,
    SECRET,
    WEBHOOK_HOST,
    StartServer,
    scripted,
)
from .https_server import GZIP_JSON, LocalServer, ScriptedResolver

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("connection_attempts")]


# --- headers and logs ----------------------------------------------------------------------------


async def test_headers_are_sent_and_never_logged(
    egress: Egress, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = WebhookRequest(
        url=server.url(f"/status/500?token={QUERY_SECRET}"),
        headers={"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET},
    )
    with pytest.raises(HTTPStatusError) as caught:
        await egress.call(request)

    (seen,) = server.seen.requests
    assert seen["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert seen["headers"]["X-Api-Key"] == SECRET
    assert seen["headers"]["Accept-Encoding"] == "identity"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["User-Agent"] == USER_AGENT
    # The call was logged, so the checks below mean something.
    assert f"https://127.0.0.1:{server.port} answered 500" in caplog.text
    for text in (caplog.text, str(caught.value), repr(request)):
        assert SECRET not in text
        assert QUERY_SECRET not in text


async def test_a_secret_in_the_url_path_is_never_logged(
    egress: Egress, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = WebhookRequest(url=server.url(f"/services/T000/B000/{PATH_SECRET}"))
    result = await egress.call(request)

    assert [r["path"] for r in server.seen.requests] == [f"/services/T000/B000/{PATH_SECRET}"]
    assert f"https://127.0.0.1:{server.port} answered 200" in caplog.text
    for text in (caplog.text, repr(request), repr(result)):
        assert PATH_SECRET not in text
        assert "/services" not in text


async def test_a_configured_user_agent_replaces_the_clients_own(
    egress: Egress, server: LocalServer
) -> None:
    request = WebhookRequest(url=server.url("/echo"), headers={"user-agent": "shop-bot/2"})
    await egress.call(request)
    await egress.call(WebhookRequest(url=server.url("/echo"), method="GET"))

    configured, default = server.seen.requests
    assert configured["headers"]["User-Agent"] == "shop-bot/2"
    assert default["headers"]["User-Agent"] == USER_AGENT
    assert "Content-Type" not in default["headers"]  # a GET has no body to describe


# --- results -------------------------------------------------------------------------------------


async def test_non_2xx_status_raises_with_the_result(egress: Egress, server: LocalServer) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await egress.call(WebhookRequest(url=server.url("/status/404")))
    assert caught.value.status == 404
    assert caught.value.category == "not_found"
    assert caught.value.result is not None
    assert caught.value.result.data == {"error": "nope"}  # type: ignore[attr-defined]

    with pytest.raises(HTTPStatusError) as caught:
        await egress.call(WebhookRequest(url=server.url("/status/503")))
    assert caught.value.category == "unavailable"


async def test_redirect_is_not_followed(egress: Egress, server: LocalServer) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await egress.call(WebhookRequest(url=server.url("/redirect"), method="GET"))
    assert caught.value.status == 302
    assert [r["path"] for r in server.seen.requests] == ["/redirect"]


async def test_gzip_body_is_not_inflated(egress: Egress, server: LocalServer) -> None:
    result = await egress.call(WebhookRequest(url=server.url("/gzip"), method="GET"))
    assert result.body == GZIP_JSON
    assert result.data != {"inflated": True}
    assert "response_text" in result.data


# --- the cap -------------------------------------------------------------------------------------


async def test_ten_megabyte_body_is_capped_and_marked(egress: Egress, server: LocalServer) -> None:
    result = await egress.call(WebhookRequest(url=server.url("/big"), method="GET"))
    assert result.truncated is True
    assert len(result.body) == MAX_BODY_BYTES == 51_200
    assert result.text.endswith(TRUNCATION_MARK.format(limit=51_200))
    assert result.data == {"response_text": result.text}


async def test_endless_body_is_capped_and_the_connection_dropped(
    egress: Egress, server: LocalServer
) -> None:
    started = time.monotonic()
    result = await egress.call(WebhookRequest(url=server.url("/endless"), method="GET"))
    assert time.monotonic() - started < 5
    assert result.truncated is True
    assert len(result.body) == 51_200
    assert result.data == {"response_text": result.text}  # cut JSON is text, not JSON
    # The server learns the client hung up: its endless write loop ends with an error.
    await eventually(lambda: server.seen.stream_ends, "the server's write loop ended")
    assert server.seen.stream_ends[0] != "complete"


@pytest.mark.parametrize(
    ("size", "truncated"),
    [
        pytest.param(51_199, False, id="under"),
        pytest.param(51_200, False, id="exactly-the-cap"),
        pytest.param(51_201, True, id="one-byte-over"),
    ],
)
async def test_cap_boundary(
    egress: Egress, server: LocalServer, size: int, truncated: bool
) -> None:
    url = server.url(f"/exact?size={size}")
    result = await egress.call(WebhookRequest(url=url, method="GET"))
    assert result.truncated is truncated
    assert len(result.body) == min(size, 51_200)


class _Pieces:
    """Just the two StreamReader methods the capped read uses, fed in fixed-size pieces."""

    def __init__(self, body: bytes, piece: int) -> None:
        self._pieces = [body[i : i + piece] for i in range(0, len(body), piece)]
        self.reads = 0

    async def read(self, n: int) -> bytes:
        self.reads += 1
        if not self._pieces:
            return b""
        head = self._pieces[0]
        if len(head) <= n:
            return self._pieces.pop(0)
        self._pieces[0] = head[n:]
        return head[:n]

    def at_eof(self) -> bool:
        return not self._pieces


@pytest.mark.parametrize(
    ("size", "piece", "truncated"),
    [
        pytest.param(0, 1, False, id="empty"),
        pytest.param(100, 1_000, False, id="one-piece"),
        pytest.param(51_200, 51_200, False, id="cap-in-one-piece"),
        pytest.param(51_200, 999, False, id="cap-in-pieces"),
        pytest.param(51_201, 51_201, True, id="over-in-one-piece"),
        pytest.param(51_201, 4_096, True, id="over-in-pieces"),
        pytest.param(10_000_000, 65_536, True, id="far-over"),
    ],
)
async def test_capped_read_in_pieces(size: int, piece: int, truncated: bool) -> None:
    body = bytes(i % 251 for i in range(size))
    stream = _Pieces(body, piece)
    content, was_truncated = await _read_capped(stream, 51_200)  # type: ignore[arg-type]
    assert was_truncated is truncated
    assert content == body[:51_200]
    assert isinstance(content, bytes)
    # Never reads more than one byte past the cap: the rest of a long body is left unread.
    assert stream.reads <= -(-min(size, 51_201) // piece) + 1


# --- deadline and turns --------------------------------------------------------------------------


async def test_slow_drip_is_stopped_by_the_deadline(egress: Egress, server: LocalServer) -> None:
    started = time.monotonic()
    with pytest.raises(WebhookTimeout) as caught:
        await egress.call(WebhookRequest(url=server.url("/drip"), method="GET", timeout=1.0))
    took = time.monotonic() - started
    # Well before the default deadline (10 s) and the drip's end (20 s): the request's own.
    assert 0.9 <= took < 5
    assert caught.value.category == "timeout"


def _hogs(client: Egress, url: str, *, running: int, waiting: int) -> list[asyncio.Task[object]]:
    """Tenant A's calls to a dripping ``url``: ``running`` that hold their turn for 3 s, then
    ``waiting`` with a 1 s deadline, which end waiting for a turn (no race with the first)."""
    hogs: list[asyncio.Task[object]] = []
    for count, seconds in ((running, 3), (waiting, 1)):
        request = WebhookRequest(url=url, method="GET", timeout=seconds)
        hogs += [asyncio.create_task(client.call(request, share="a")) for _ in range(count)]
    return hogs


async def test_one_shares_slow_calls_never_delay_another_share(
    client_ssl_context: ssl.SSLContext, server: LocalServer
) -> None:
    # Tenant A fills its share with calls that drip for seconds, and has more waiting; tenant
    # B's call to the same host is answered at once, and A's waiting calls end at their own
    # deadline (not later, and without ever holding a connection).
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, share_limit=6
    ) as client:  # three of them to one host
        hogs = _hogs(client, server.url("/drip"), running=3, waiting=3)
        await eventually(lambda: len(server.seen.requests) >= 3, "the first three are dripping")
        result = await client.call(WebhookRequest(url=server.url("/echo"), timeout=2), share="b")
        assert result.status == 200
        # Answered while A's first three still held their turns (to their 3 s deadline): B
        # waited for none of them. A state, not a stopwatch, so load cannot fake a delay.
        assert not any(hog.done() for hog in hogs[:3])
        outcomes = await asyncio.gather(*hogs, return_exceptions=True)
        assert all(isinstance(outcome, WebhookTimeout) for outcome in outcomes)
        assert sum("no turn" in str(outcome) for outcome in outcomes) == 3


async def test_one_slow_host_takes_half_of_its_tenants_share(
    client_ssl_context: ssl.SSLContext, start_server: StartServer
) -> None:
    slow_host, other_host = await start_server(), await start_server()
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, share_limit=6
    ) as client:
        hogs = _hogs(client, slow_host.url("/drip"), running=3, waiting=2)
        await eventually(lambda: len(slow_host.seen.requests) >= 3, "three calls are dripping")
        result = await client.call(
            WebhookRequest(url=other_host.url("/echo"), timeout=2), share="a"
        )
        assert result.status == 200
        assert not any(hog.done() for hog in hogs[:3])  # answered while the slow host held its half
        outcomes = await asyncio.gather(*hogs, return_exceptions=True)
        assert sum("no turn" in str(outcome) for outcome in outcomes) == 2


async def test_a_tenant_calling_several_hosts_stops_at_its_share(
    client_ssl_context: ssl.SSLContext, start_server: StartServer
) -> None:
    # Three hosts, three calls each in flight: no host reaches its half-share (3 of 6), so only
    # the tenant's own share stops the last three, which end waiting for a turn; another
    # tenant is answered meanwhile.
    hosts = [await start_server() for _ in range(3)]
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, share_limit=6
    ) as client:
        running = [
            asyncio.create_task(
                client.call(
                    WebhookRequest(url=host.url("/drip"), method="GET", timeout=3), share="a"
                )
            )
            for host in hosts[:2]
            for _ in range(3)
        ]
        await eventually(
            lambda: sum(len(host.seen.requests) for host in hosts[:2]) >= 6, "six are dripping"
        )
        waiting = [
            asyncio.create_task(
                client.call(
                    WebhookRequest(url=hosts[2].url("/drip"), method="GET", timeout=1), share="a"
                )
            )
            for _ in range(3)
        ]
        other = await client.call(WebhookRequest(url=hosts[2].url("/echo"), timeout=2), share="b")
        assert other.status == 200
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert [str(outcome) for outcome in outcomes] == [
            "no turn within the deadline: too many calls in flight"
        ] * 3
        assert hosts[2].seen.requests[:-1] == []  # only tenant B's call reached the third host
        await asyncio.gather(*running, return_exceptions=True)


@pytest.mark.parametrize("seconds", [1.0, 5.1, 12.5, 29.5, MAX_TIMEOUT])
async def test_no_allowed_deadline_is_rounded_up(seconds: float) -> None:
    # The client arms ``total`` with aiohttp's own ceil_timeout, which rounds a deadline up to
    # the loop clock's next whole second past the timeout's ceil_threshold. The 5.1 s call
    # below proves it on the wire; this, for every timeout up to the longest allowed.
    timeout = _deadline(seconds)
    loop = asyncio.get_running_loop()
    # Far from a whole second, so a rounded deadline is at least 0.2 s off.
    await eventually(lambda: 0.2 < (loop.time() + seconds) % 1 < 0.7, "the clock mid-second")
    expected = loop.time() + seconds
    armed = ceil_timeout(timeout.total, ceil_threshold=timeout.ceil_threshold)
    assert timeout.total == seconds
    assert armed.when() == pytest.approx(expected, abs=0.1)


@pytest.mark.slow
async def test_a_deadline_over_five_seconds_is_not_rounded_up(
    egress: Egress, server: LocalServer
) -> None:
    # aiohttp rounds deadlines above its ceil_threshold (5 s) up to the loop clock's next whole
    # second; the product's timeout bounds the whole call exactly. Started just after a whole
    # second, a rounded 5.1 s deadline would come at least 0.7 s late, on any machine.
    timeout = 5.1
    loop = asyncio.get_running_loop()
    await eventually(lambda: loop.time() % 1 < 0.2, "the loop clock just past a whole second")
    started = loop.time()
    with pytest.raises(WebhookTimeout):
        await egress.call(WebhookRequest(url=server.url("/drip"), method="GET", timeout=timeout))
    ended = loop.time()
    assert ended - started >= timeout - 0.1
    assert ended < math.ceil(started + timeout), "rounded up to a whole second"


class _HangingResolver(ScriptedResolver):
    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> Any:
        await asyncio.sleep(30)
        return await super().resolve(host, port, family)


async def test_deadline_also_covers_name_resolution(client_ssl_context: ssl.SSLContext) -> None:
    resolver = _HangingResolver({})
    started = time.monotonic()
    async with Egress(ssl_context=client_ssl_context, resolver=resolver) as client:
        with pytest.raises(WebhookTimeout):
            await client.call(WebhookRequest(url="https://api.example.com/", timeout=0.5))
    # Well before the default deadline (10 s) and the resolver's answer (30 s).
    assert 0.4 <= time.monotonic() - started < 5


# --- TLS -----------------------------------------------------------------------------------------


async def test_certificate_for_another_name_is_refused(
    start_server: StartServer, client_ssl_context: ssl.SSLContext
) -> None:
    other = await start_server(("other.example.com",))
    resolver = scripted(["127.0.0.1"])
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, resolver=resolver
    ) as client:
        with pytest.raises(TLSFailed):
            await client.call(WebhookRequest(url=other.url("/echo", host=WEBHOOK_HOST)))
        with pytest.raises(TLSFailed):
            await client.call(WebhookRequest(url=other.url("/echo")))  # 127.0.0.1 not in cert
    assert other.seen.requests == []


async def test_certificate_from_an_untrusted_ca_is_refused(server: LocalServer) -> None:
    async with Egress(rules=LOOPBACK_RULES) as client:  # system trust only
        with pytest.raises(TLSFailed):
            await client.call(WebhookRequest(url=server.url("/echo")))


async def test_name_with_matching_certificate_connects_to_the_checked_address(
    client_ssl_context: ssl.SSLContext, server: LocalServer
) -> None:
    resolver = scripted(["127.0.0.1"])
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, resolver=resolver
    ) as client:
        result = await client.call(WebhookRequest(url=server.url("/echo", host=WEBHOOK_HOST)))
    assert result.status == 200
    assert server.seen.requests[0]["headers"]["Host"] == f"{WEBHOOK_HOST}:{server.port}"


# --- proxies, URL rules and allowance ------------------------------------------------------------


async def test_environment_proxies_are_ignored(
    egress: Egress, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal proxy_connections
        proxy_connections += 1
        writer.close()

    proxy = await asyncio.start_server(count, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    try:
        result = await egress.call(WebhookRequest(url=server.url("/echo")))
    finally:
        proxy.close()
        await proxy.wait_closed()
    assert result.status == 200
    assert proxy_connections == 0
    assert len(server.seen.requests) == 1


async def test_url_rules_are_applied_at_every_call(egress: Egress) -> None:
    with pytest.raises(InvalidURL):
        await egress.call(WebhookRequest(url="http://api.example.com/"))
    with pytest.raises(DestinationBlocked):
        await egress.call(WebhookRequest(url="https://10.0.0.1/"))
    with pytest.raises(InvalidURL):
        await egress.test(WebhookRequest(url="https://user:pw@api.example.com/"))


@pytest.mark.parametrize(
    "network",
    [
        pytest.param("0.0.0.0/0", id="all-ipv4"),
        pytest.param("::/0", id="all-ipv6"),
        pytest.param("0.0.0.0/1", id="half"),
    ],
)
async def test_allowance_cannot_be_a_global_switch(network: str) -> None:
    with pytest.raises(ValueError, match="too broad"):
        Egress(rules=EgressRules.allowing(network))


# --- the Test call -------------------------------------------------------------------------------


async def test_test_call_posts_an_empty_object_with_the_headers(
    egress: Egress, server: LocalServer
) -> None:
    request = WebhookRequest(url=server.url("/status/418"), headers={"X-Api-Key": SECRET})
    outcome = await egress.test(request)
    assert outcome.status == 418
    assert outcome.preview == '{"error": "nope"}'
    assert (outcome.content_type, outcome.size) == ("application/json", 17)
    (seen,) = server.seen.requests
    assert seen["body"] == b"{}"
    assert seen["headers"]["X-Api-Key"] == SECRET


async def test_test_call_gets_without_parameters_and_previews_500_characters(
    egress: Egress, server: LocalServer
) -> None:
    outcome = await egress.test(WebhookRequest(url=server.url("/long"), method="GET"))
    assert outcome.status == 200
    assert len(outcome.preview) == 500
    assert outcome.preview.startswith('{"items": ["éééééééééé"')
    assert outcome.truncated is True
    assert outcome.content_type == "text/plain"
    assert outcome.size == len(json.dumps({"items": ["é" * 10] * 100}, ensure_ascii=False).encode())
    assert server.seen.requests[0]["query"] == []


@pytest.mark.parametrize(
    ("method", "sent"),
    [
        pytest.param("POST", {"body": b'{"order":4521,"gift":true}', "query": []}, id="post"),
        pytest.param(
            "GET", {"body": b"", "query": [("order", "4521"), ("gift", "true")]}, id="get"
        ),
    ],
)
async def test_test_call_sends_its_arguments_as_a_call_would(
    egress: Egress, server: LocalServer, method: str, sent: dict[str, Any]
) -> None:
    arguments = {"order": 4521, "gift": True}
    await egress.call(WebhookRequest(url=server.url("/echo"), method=method, arguments=arguments))
    await egress.test(WebhookRequest(url=server.url("/echo"), method=method, arguments=arguments))
    called, tested = server.seen.requests
    assert {key: tested[key] for key in sent} == sent
    assert {key: called[key] for key in sent} == sent


async def test_test_call_reads_at_most_the_cap(egress: Egress, server: LocalServer) -> None:
    outcome = await egress.test(WebhookRequest(url=server.url("/big"), method="GET"))
    assert (outcome.size, outcome.truncated) == (MAX_BODY_BYTES, True)


async def test_test_call_still_raises_transport_failures(egress: Egress) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionFailed):
        await egress.test(WebhookRequest(url=f"https://127.0.0.1:{port}/"))


# --- lifecycle -----------------------------------------------------------------------------------


async def test_closed_client_refuses_calls(client_ssl_context: ssl.SSLContext) -> None:
    client = Egress(ssl_context=client_ssl_context)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.call(WebhookRequest(url="https://api.example.com/"))
