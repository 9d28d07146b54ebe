"""The deployment's egress rules: by default they change nothing, and an allowance stays narrow."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from webhooks.egress._rules import EgressRules


def test_by_default_nothing_private_is_allowed() -> None:
    rules = EgressRules()
    assert rules.allow == ()
    for address in ("127.0.0.1", "10.0.0.1", "::1", "169.254.169.254"):
        assert rules.blocked_reason(address) is not None, address
    assert rules.blocked_reason("93.184.216.34") is None


def test_allowance_lets_only_its_own_network_through() -> None:
    rules = EgressRules.allowing("127.0.0.1/32")
    assert rules.blocked_reason("127.0.0.1") is None
    assert rules.blocked_reason("::ffff:127.0.0.1") is None  # the same destination
    assert rules.blocked_reason("127.0.0.2") is not None
    assert rules.blocked_reason("10.0.0.1") is not None
    assert rules.blocked_reason("::1") is not None


def test_allowance_accepts_networks_and_text() -> None:
    network = ipaddress.ip_network("10.1.0.0/16")
    expected = (network, ipaddress.ip_network("fd00::/64"))
    assert EgressRules.allowing(network, "fd00::/64").allow == expected
    assert EgressRules(allow=expected) == EgressRules.allowing(network, "fd00::/64")
    assert EgressRules.allowing() == EgressRules()


@pytest.mark.parametrize(
    "network",
    [
        pytest.param("0.0.0.0/0", id="everything"),
        pytest.param("0.0.0.0/7", id="wider-than-8"),
        pytest.param("::/0", id="ipv6-everything"),
        pytest.param("fc00::/7", id="all-ula"),
        pytest.param("127.0.0.1/8", id="host-bits-set"),
        pytest.param("loopback", id="not-a-network"),
    ],
)
def test_allowance_refuses_global_switches_and_garbage(network: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - ipaddress's own message varies
        EgressRules.allowing(network)


def test_a_wide_network_is_refused_however_the_rules_are_made() -> None:
    everything = ipaddress.ip_network("0.0.0.0/0")
    with pytest.raises(ValueError, match="too broad"):
        EgressRules(allow=(everything,))
    with pytest.raises(ValueError, match="too broad"):
        dataclasses.replace(EgressRules(), allow=(everything,))


def test_the_rules_cannot_change_once_made() -> None:
    rules = EgressRules.allowing("127.0.0.1/32")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.allow = ()  # type: ignore[misc]
    assert hash(rules) == hash(EgressRules.allowing("127.0.0.1/32"))
