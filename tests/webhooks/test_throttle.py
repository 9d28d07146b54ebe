"""The throttle of failing sources: its window (with an injected clock, no sleeping), its
memory bound, the address an IPv6 host is counted under, and the failure log lines."""

from __future__ import annotations

import logging

import pytest

from webhooks import AuthFailures, Throttle, Throttled
from webhooks._throttle import client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_waits_once_it_had_its_limit_within_the_window() -> None:
    clock = Clock()
    throttle = Throttle(limit=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.record("a")
        clock.now += 1
    assert throttle.retry_after("a") == 57  # now 1003; the first event leaves at 1060
    assert throttle.retry_after("b") == 0


def test_the_wait_ends_when_the_oldest_event_leaves_the_window() -> None:
    clock = Clock()
    throttle = Throttle(limit=2, window=60, clock=clock)
    throttle.record("a")
    clock.now += 30
    throttle.record("a")
    clock.now += 29.5
    assert throttle.retry_after("a") == 1
    clock.now += 0.5
    assert throttle.retry_after("a") == 0
    assert throttle.record("a") == 2  # the first one no longer counts
    assert throttle.retry_after("a") == 30


def test_memory_stays_bounded_under_many_addresses() -> None:
    throttle = Throttle(limit=10, window=60, capacity=100, clock=Clock())
    for n in range(100_000):
        throttle.record(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
        throttle.record("10.0.0.1")  # recently active: kept
    assert len(throttle) == 100
    assert throttle.retry_after("10.0.0.1") > 0
    assert throttle.retry_after("10.0.0.2") == 0  # forgotten, the oldest


def test_one_keys_times_are_bounded_too() -> None:
    throttle = Throttle(limit=5, window=60, clock=Clock())
    for _ in range(1000):
        assert throttle.record("a") <= 5


@pytest.mark.parametrize(
    ("address", "key"),
    [
        pytest.param("203.0.113.7", "203.0.113.7", id="ipv4"),
        pytest.param("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", id="ipv6-by-its-64"),
        pytest.param("2001:db8:1:2::ffff", "2001:db8:1:2::/64", id="same-64"),
        pytest.param("::ffff:198.51.100.1", "198.51.100.1", id="ipv4-mapped"),
        pytest.param("fe80::1%eth0", "fe80::/64", id="scoped"),
        pytest.param(None, "(unknown)", id="none"),
        pytest.param("", "(unknown)", id="empty"),
    ],
)
def test_an_address_is_counted_under_its_host(address: str | None, key: str) -> None:
    assert client_key(address) == key


def test_failures_past_the_limit_refuse_the_address_until_the_window_ends() -> None:
    clock = Clock()
    failures = AuthFailures("admin", limit=3, window=60, clock=clock)
    for _ in range(3):
        failures.check("192.0.2.1")
        failures.failed("192.0.2.1", "/api/v1/me")
    with pytest.raises(Throttled) as refused:
        failures.check("192.0.2.1")
    assert (refused.value.code, refused.value.retry_after) == ("too_many_failures", 60)
    failures.check("192.0.2.2")  # another address is not slowed down
    clock.now += 60
    failures.check("192.0.2.1")


def test_a_limit_of_zero_throttles_nothing_but_still_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = AuthFailures("tools", limit=0)
    with caplog.at_level(logging.WARNING, logger="webhooks.auth"):
        for _ in range(100):
            failures.failed("192.0.2.1", "/metrics")
            failures.check("192.0.2.1")
    assert len(caplog.records) == 100


def test_each_failure_is_logged_with_server_address_and_route_and_the_limit_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = AuthFailures("actions", limit=2)
    with caplog.at_level(logging.WARNING, logger="webhooks.auth"):
        failures.failed("192.0.2.9", "/tenants/acme/webhook")
        failures.failed("192.0.2.9", "/tenants/acme/webhook")
    assert [r.getMessage() for r in caplog.records] == [
        "authentication_failed server=actions client=192.0.2.9 route=/tenants/acme/webhook "
        "failures=1",
        "authentication_failed server=actions client=192.0.2.9 route=/tenants/acme/webhook "
        "failures=2",
        "client_throttled server=actions client=192.0.2.9 seconds=60",
    ]


def test_a_throttle_needs_a_limit_and_a_window() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Throttle(limit=0, window=60)
