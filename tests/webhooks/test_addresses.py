"""The address table: every special-purpose range is refused with a reason; public ones pass."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.egress._addresses import BLOCKED_NETWORKS, blocked_reason

BLOCKED = [
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
    ("0.255.255.255", "this network"),
    ("10.0.0.1", "RFC 1918"),
    ("10.255.255.255", "RFC 1918"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.100.100.200", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback"),
    ("169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"),
    ("172.16.0.1", "RFC 1918"),
    ("172.31.255.255", "RFC 1918"),
    ("192.0.0.8", "IETF"),
    ("192.0.0.170", "IETF"),
    ("192.0.0.192", "IETF"),
    ("192.0.2.10", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.0.1", "RFC 1918"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.254", "benchmarking"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("224.0.0.251", "multicast"),
    ("239.1.2.3", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "IPv6 form of 127.0.0.1: loopback"),
    ("::ffff:169.254.169.254", "IPv6 form of 169.254.169.254: cloud metadata"),
    ("::ffff:0:a00:1", "IPv6 form of 10.0.0.1"),
    ("::7f00:1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("64:ff9b::808:808", "NAT64"),
    ("64:ff9b::a9fe:a9fe", "NAT64"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("100::1", "discard"),
    ("2001::1", "Teredo"),
    ("2001:2::1", "benchmarking"),
    ("2001:10::1", "ORCHID"),
    ("2001:20::1", "ORCHIDv2"),
    ("2001:db8::1", "documentation"),
    ("2002:a00:1::1", "6to4"),
    ("3fff::1", "documentation"),
    ("5f00::1", "segment routing"),
    ("fc00::1", "unique local"),
    ("fd00:ec2::254", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("1::1", "reserved IPv6"),
    ("4000::1", "reserved IPv6"),
    ("not an address", "not an IP address"),
    ("127.1", "not an IP address"),
    ("", "not an IP address"),
]


@pytest.mark.parametrize(("address", "reason"), [pytest.param(a, r, id=a) for a, r in BLOCKED])
def test_special_purpose_addresses_are_blocked_with_a_reason(address: str, reason: str) -> None:
    found = blocked_reason(address)
    assert found is not None
    assert reason in found


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(a, id=a)
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "100.63.255.255",  # just below CGNAT
            "100.128.0.0",  # just above CGNAT
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",  # mapped public: judged as 8.8.8.8
        ]
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(address) is None


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("64:ff9b::7f00:1", id="nat64"),
        pytest.param("::7f00:1", id="ipv4-compatible"),
        pytest.param("fec0::1", id="site-local"),
        pytest.param("192.88.99.1", id="6to4-relay"),
        pytest.param("100.100.100.200", id="cgnat-metadata"),
        pytest.param("ff0e::1", id="global-multicast"),
        pytest.param("224.0.1.1", id="ipv4-multicast"),
    ],
)
def test_table_catches_what_is_global_alone_gets_wrong(address: str) -> None:
    # ipaddress.is_global is wrong or undecided for these on Python 3.11; the table refuses them.
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert reason != "not a globally routable address"  # the table's own entry, not the fallback


def test_every_table_entry_blocks_its_first_and_last_address() -> None:
    for network, reason in BLOCKED_NETWORKS:
        assert reason
        for address in (network.network_address, network.broadcast_address):
            if network.version == 6 and ipaddress.ip_address(address).ipv4_mapped:
                continue  # judged as IPv4
            assert blocked_reason(address) is not None, (network, address)


# Written here, not read from the code's table: deleting an entry there must fail a test here.
# (an address at an edge of each blocked range, the words its reason must contain)
BLOCKED_BY_NAME = [
    ("0.0.0.0", "0.0.0.0/8"),  # noqa: S104 - an address to refuse, not to bind
    ("0.255.255.255", "0.0.0.0/8"),
    ("10.0.0.0", "10.0.0.0/8"),
    ("10.255.255.255", "10.0.0.0/8"),
    ("100.64.0.0", "100.64.0.0/10"),
    ("100.100.100.200", "100.64.0.0/10"),  # Alibaba Cloud's metadata service
    ("127.0.0.1", "127.0.0.0/8"),
    ("127.255.255.255", "127.0.0.0/8"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.0.1", "169.254.0.0/16"),
    ("172.16.0.0", "172.16.0.0/12"),
    ("172.31.255.255", "172.16.0.0/12"),
    ("192.0.0.192", "192.0.0.0/24"),
    ("192.0.2.1", "192.0.2.0/24"),
    ("192.88.99.1", "192.88.99.0/24"),
    ("192.168.0.1", "192.168.0.0/16"),
    ("192.168.255.255", "192.168.0.0/16"),
    ("198.18.0.1", "198.18.0.0/15"),
    ("198.19.255.255", "198.18.0.0/15"),
    ("198.51.100.7", "198.51.100.0/24"),
    ("203.0.113.9", "203.0.113.0/24"),
    ("224.0.0.1", "224.0.0.0/4"),
    ("239.255.255.255", "224.0.0.0/4"),
    ("240.0.0.1", "240.0.0.0/4"),
    ("255.255.255.255", "255.255.255.255"),
    ("::", "unspecified"),
    ("::1", "loopback (::1)"),
    ("::7f00:1", "::/96"),
    ("64:ff9b::a00:1", "64:ff9b::/96"),
    ("64:ff9b:1::1", "64:ff9b:1::/48"),
    ("100::1", "100::/64"),
    ("2001::1", "2001::/32"),
    ("2001:db8::1", "2001:db8::/32"),
    ("2002:a00:1::", "2002::/16"),
    ("fc00::1", "fc00::/7"),
    ("fdff:ffff::1", "fc00::/7"),
    ("fe80::1", "fe80::/10"),
    ("febf::1", "fe80::/10"),
    ("fec0::1", "fec0::/10"),
    ("ff02::1", "ff00::/8"),
    ("ff0e::1", "ff00::/8"),
]


@pytest.mark.parametrize(("address", "words"), BLOCKED_BY_NAME, ids=[a for a, _ in BLOCKED_BY_NAME])
def test_each_documented_range_is_blocked_by_its_own_entry(address: str, words: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert words in reason


@pytest.mark.parametrize("address", ["::ffff:10.0.0.1", "::ffff:169.254.169.254"])
def test_ipv4_mapped_forms_are_judged_as_ipv4(address: str) -> None:
    mapped = ipaddress.ip_address(address).ipv4_mapped
    assert blocked_reason(ipaddress.ip_address(address)) == f"IPv6 form of {mapped}: " + str(
        blocked_reason(mapped)
    )
