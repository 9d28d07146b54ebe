"""The connection-time guard (the resolver), on its own: whatever the URL rules let through, a
blocked answer is refused before any connection, and each new connection is checked again."""

from __future__ import annotations

import asyncio
import io
import ssl

import pytest

from webhooks._exceptions import DestinationBlocked
from webhooks.egress._checkurl import check_url_command
from webhooks.egress._egress import Egress
from webhooks.egress._messages import WebhookRequest
from webhooks.egress._urls import check_url

from .conftest import LOOPBACK_RULES, PUBLIC, WEBHOOK_HOST, scripted
from .https_server import LocalServer, ScriptedResolver

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("connection_attempts")]


@pytest.mark.parametrize(
    "rebound",
    [
        pytest.param(["127.0.0.1"], id="loopback"),
        pytest.param(["10.1.2.3"], id="rfc1918"),
        pytest.param(["::ffff:127.0.0.1"], id="ipv4-mapped-loopback"),
        pytest.param(["169.254.169.254"], id="metadata"),
        pytest.param([PUBLIC, "127.0.0.1"], id="mixed-answer"),
    ],
)
async def test_dns_rebinding_is_refused_before_connecting(
    client_ssl_context: ssl.SSLContext,
    server: LocalServer,
    connection_attempts: list[str],
    rebound: list[str],
) -> None:
    resolver = scripted([PUBLIC], rebound)
    url = server.url("/echo", host=WEBHOOK_HOST)
    # Save time: the URL passes and the name resolves to a public address.
    check_url(url)
    verdict = await asyncio.to_thread(check_url_command, url, out=io.StringIO(), resolver=resolver)
    assert verdict == 0
    # Call time: the same name now points inside.
    async with Egress(ssl_context=client_ssl_context, resolver=resolver) as client:
        with pytest.raises(DestinationBlocked) as caught:
            await client.call(WebhookRequest(url=url))
    assert caught.value.category == "refused"
    assert caught.value.address in rebound
    assert connection_attempts == []
    assert server.seen.connections == 0


async def test_default_client_refuses_the_loopback_server(
    client_ssl_context: ssl.SSLContext, server: LocalServer, connection_attempts: list[str]
) -> None:
    async with Egress(ssl_context=client_ssl_context, resolver=scripted(["127.0.0.1"])) as client:
        with pytest.raises(DestinationBlocked):
            await client.call(WebhookRequest(url=server.url("/echo")))  # IP literal: URL rules
        with pytest.raises(DestinationBlocked):
            await client.call(WebhookRequest(url=server.url("/echo", host=WEBHOOK_HOST)))
    assert connection_attempts == []
    assert server.seen.connections == 0


# Addresses the resolver may return; each must be refused at connection time on its own,
# whatever the URL rules do (each SSRF layer is tested alone). The URL is a plain public name,
# so only the guard stands between the call and these addresses.
BLOCKED_ANSWERS = [
    pytest.param("127.0.0.0", id="loopback-first"),
    pytest.param("127.0.0.1", id="loopback"),
    pytest.param("127.255.255.255", id="loopback-last"),
    pytest.param("0.0.0.0", id="this-network-first"),  # noqa: S104 - refused, not bound
    pytest.param("0.1.2.3", id="this-network"),
    pytest.param("0.255.255.255", id="this-network-last"),
    pytest.param("10.0.0.0", id="rfc1918-10-first"),
    pytest.param("10.255.255.255", id="rfc1918-10-last"),
    pytest.param("172.16.0.0", id="rfc1918-172-first"),
    pytest.param("172.31.255.255", id="rfc1918-172-last"),
    pytest.param("192.168.0.0", id="rfc1918-192-first"),
    pytest.param("192.168.255.255", id="rfc1918-192-last"),
    pytest.param("100.64.0.0", id="cgnat-first"),
    pytest.param("100.127.255.255", id="cgnat-last"),
    pytest.param("100.100.100.200", id="cgnat-alibaba-metadata"),
    pytest.param("169.254.0.0", id="link-local-first"),
    pytest.param("169.254.255.255", id="link-local-last"),
    pytest.param("169.254.169.254", id="metadata"),
    pytest.param("192.0.0.0", id="ietf-first"),
    pytest.param("192.0.0.255", id="ietf-last"),
    pytest.param("192.0.0.9", id="ietf-pcp-anycast"),
    pytest.param("192.0.2.0", id="test-net-1-first"),
    pytest.param("192.0.2.255", id="test-net-1-last"),
    pytest.param("198.51.100.0", id="test-net-2-first"),
    pytest.param("198.51.100.255", id="test-net-2-last"),
    pytest.param("203.0.113.0", id="test-net-3-first"),
    pytest.param("203.0.113.255", id="test-net-3-last"),
    pytest.param("198.18.0.0", id="benchmark-first"),
    pytest.param("198.19.255.255", id="benchmark-last"),
    pytest.param("192.88.99.1", id="6to4-relay-anycast"),
    pytest.param("192.31.196.1", id="as112"),
    pytest.param("192.52.193.1", id="amt"),
    pytest.param("192.175.48.1", id="as112-direct"),
    pytest.param("224.0.0.0", id="multicast-first"),
    pytest.param("239.255.255.255", id="multicast-last"),
    pytest.param("224.0.0.251", id="multicast-mdns"),
    pytest.param("240.0.0.0", id="reserved-first"),
    pytest.param("254.255.255.255", id="reserved-last"),
    pytest.param("255.255.255.255", id="broadcast"),
    pytest.param("::", id="v6-unspecified"),
    pytest.param("::1", id="v6-loopback"),
    pytest.param("::127.0.0.1", id="v4-compatible-loopback"),
    pytest.param("::10.0.0.1", id="v4-compatible-rfc1918"),
    pytest.param("::8.8.8.8", id="v4-compatible-public"),
    pytest.param("::ffff:127.0.0.1", id="mapped-loopback"),
    pytest.param("::ffff:7f00:2", id="mapped-loopback-hex"),
    pytest.param("::ffff:0.0.0.0", id="mapped-unspecified"),
    pytest.param("::ffff:10.0.0.1", id="mapped-rfc1918-10"),
    pytest.param("::ffff:172.16.0.1", id="mapped-rfc1918-172"),
    pytest.param("::ffff:192.168.1.1", id="mapped-rfc1918-192"),
    pytest.param("::ffff:100.64.0.1", id="mapped-cgnat"),
    pytest.param("::ffff:169.254.169.254", id="mapped-metadata"),
    pytest.param("::ffff:a9fe:1", id="mapped-link-local-hex"),
    pytest.param("::ffff:224.0.0.1", id="mapped-multicast"),
    pytest.param("::ffff:255.255.255.255", id="mapped-broadcast"),
    pytest.param("::ffff:0:7f00:1", id="translated-loopback"),
    pytest.param("::ffff:0:10.0.0.1", id="translated-rfc1918"),
    pytest.param("::ffff:0:169.254.169.254", id="translated-metadata"),
    pytest.param("::ffff:0:192.168.0.1", id="translated-rfc1918-192"),
    pytest.param("64:ff9b::", id="nat64-first"),
    pytest.param("64:ff9b::ffff:ffff", id="nat64-last"),
    pytest.param("64:ff9b::127.0.0.1", id="nat64-loopback"),
    pytest.param("64:ff9b::a00:1", id="nat64-rfc1918"),
    pytest.param("64:ff9b::8.8.8.8", id="nat64-public"),
    pytest.param("64:ff9b:1::", id="nat64-local-first"),
    pytest.param("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", id="nat64-local-last"),
    pytest.param("64:ff9b:1::a00:1", id="nat64-local-rfc1918"),
    pytest.param("2002::", id="6to4-first"),
    pytest.param("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", id="6to4-last"),
    pytest.param("2002:7f00:1::1", id="6to4-loopback"),
    pytest.param("2002:a9fe:a9fe::1", id="6to4-metadata"),
    pytest.param("2002:808:808::1", id="6to4-public"),
    pytest.param("2001::", id="teredo-first"),
    pytest.param("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", id="teredo-last"),
    pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", id="teredo-rfc4380-example"),
    pytest.param("100::", id="discard-first"),
    pytest.param("100::ffff:ffff:ffff:ffff", id="discard-last"),
    pytest.param("2001:2::", id="v6-benchmark-first"),
    pytest.param("2001:2:0:ffff:ffff:ffff:ffff:ffff", id="v6-benchmark-last"),
    pytest.param("2001:10::", id="orchid-first"),
    pytest.param("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", id="orchid-last"),
    pytest.param("2001:20::", id="orchidv2-first"),
    pytest.param("2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", id="orchidv2-last"),
    pytest.param("2001:db8::", id="v6-documentation-first"),
    pytest.param("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", id="v6-documentation-last"),
    pytest.param("3fff::", id="v6-documentation-3fff-first"),
    pytest.param("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", id="v6-documentation-3fff-last"),
    pytest.param("5f00::1", id="srv6-sid"),
    pytest.param("fc00::", id="ula-first"),
    pytest.param("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", id="ula-last"),
    pytest.param("fd12:3456::1", id="ula"),
    pytest.param("fe80::", id="v6-link-local-first"),
    pytest.param("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", id="v6-link-local-last"),
    pytest.param("fec0::", id="site-local-first"),
    pytest.param("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", id="site-local-last"),
    pytest.param("ff00::", id="v6-multicast-first"),
    pytest.param("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", id="v6-multicast-last"),
    pytest.param("ff02::1", id="v6-all-nodes"),
    pytest.param("ff05::1:3", id="v6-dhcp-site"),
    pytest.param("1::1", id="v6-reserved-below-2000"),
    pytest.param("4000::1", id="v6-reserved-4000"),
    pytest.param("8000::1", id="v6-reserved-8000"),
    pytest.param("fe80::1%eth0", id="zone-link-local-eth0"),
    pytest.param("fe80::1%lo", id="zone-link-local-lo"),
    pytest.param("fe80::1%1", id="zone-numeric"),
    pytest.param("ff02::1%eth0", id="zone-multicast"),
    pytest.param("fd00::1%eth0", id="zone-ula"),
    pytest.param("::1%lo", id="zone-loopback"),
    pytest.param("not-an-address", id="not-an-address"),
    pytest.param("127.1", id="short-form-not-an-address"),
    pytest.param("", id="empty"),
]


async def test_the_blocked_answer_table_is_large_and_distinct() -> None:
    answers = [param.values[0] for param in BLOCKED_ANSWERS]
    assert len(answers) >= 80
    assert len(set(answers)) == len(answers)


@pytest.mark.parametrize("answer", BLOCKED_ANSWERS)
async def test_connection_time_guard_refuses_blocked_answers(
    client_ssl_context: ssl.SSLContext, connection_attempts: list[str], answer: str
) -> None:
    resolver = ScriptedResolver({"api.example.com": [[answer]]})
    async with Egress(ssl_context=client_ssl_context, resolver=resolver) as client:
        with pytest.raises(DestinationBlocked) as caught:
            await client.call(WebhookRequest(url="https://api.example.com/hook"))
    assert caught.value.address == answer
    # Refused by an explicit entry of the address table, not only by ipaddress's second opinion.
    assert "not a globally routable address" not in str(caught.value)
    assert resolver.lookups == [("api.example.com", 443)]
    assert connection_attempts == []


async def test_allowance_reaches_only_the_named_network(
    client_ssl_context: ssl.SSLContext, connection_attempts: list[str]
) -> None:
    resolver = ScriptedResolver({"api.example.com": [["127.0.0.2"]]})
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, resolver=resolver
    ) as client:
        with pytest.raises(DestinationBlocked):
            await client.call(WebhookRequest(url="https://api.example.com/hook"))
    assert connection_attempts == []


async def test_pooled_connection_is_reused(
    client_ssl_context: ssl.SSLContext, server: LocalServer
) -> None:
    resolver = scripted(["127.0.0.1"])
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, resolver=resolver
    ) as client:
        for _ in range(2):
            await client.call(WebhookRequest(url=server.url("/echo", host=WEBHOOK_HOST)))
    ports = {r["peer_port"] for r in server.seen.requests}
    assert len(server.seen.requests) == 2
    assert len(ports) == 1
    assert server.seen.connections == 1
    assert len(resolver.lookups) == 1


async def test_new_connection_checks_the_address_again(
    client_ssl_context: ssl.SSLContext, server: LocalServer, connection_attempts: list[str]
) -> None:
    resolver = scripted(["127.0.0.1"], ["10.0.0.7"])
    url = server.url("/close", host=WEBHOOK_HOST)  # the server closes after answering
    async with Egress(
        rules=LOOPBACK_RULES, ssl_context=client_ssl_context, resolver=resolver
    ) as client:
        await client.call(WebhookRequest(url=url, method="GET"))
        with pytest.raises(DestinationBlocked):
            await client.call(WebhookRequest(url=url, method="GET"))
    assert len(resolver.lookups) == 2
    assert server.seen.connections == 1
    assert connection_attempts == ["127.0.0.1"]
