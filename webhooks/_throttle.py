"""Slowing down a source that fails: failed authentications per client address, and any
other count of events per key within a window.

A :class:`Throttle` keeps, per key, the times of its last ``limit`` events; a key with
``limit`` events inside the window waits until the oldest leaves it. Memory is bounded twice:
at most ``limit`` times per key, and at most ``capacity`` keys (the key whose last event is
oldest goes first). It lives in one process: each server process counts on its own, so a
deployment of N replicas lets a source make N times the limit.

:class:`AuthFailures` is what every server uses around its token checks: a wrong credential
from an address that failed too often gets 429 instead of 401 until its failures leave the
window, and each failure is logged without the token. A right credential always passes: one
Rasa sends every tenant's calls from one address, and a proxy carries many clients', so a
stale token of one must not lock the others out (the tokens are 256 random bits: guessing
them is hopeless either way; the throttle slows the noise and makes it visible).
"""

from __future__ import annotations

import collections
import functools
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Hashable

from ._exceptions import Throttled

__all__ = [
    "AUTH_FAILURE_WINDOW",
    "DEFAULT_AUTH_FAILURES",
    "THROTTLE_CAPACITY",
    "AuthFailures",
    "Throttle",
    "client_key",
]

logger = logging.getLogger("webhooks.auth")

#: Failed authentications one address may make per window before it is refused.
DEFAULT_AUTH_FAILURES = 10
#: Seconds a failure counts against its address.
AUTH_FAILURE_WINDOW = 60.0
#: Keys a throttle remembers at most: 10,000 keys of 10 times each take about 11 MB.
THROTTLE_CAPACITY = 10_000
#: Characters of a request's path kept in a log line (the path comes from the client).
_PATH_CHARS = 200


class Throttle:
    """At most ``limit`` events per key within ``window`` seconds of ``clock``.

    Not asynchronous and cheap (a dictionary lookup for a key without events), so a server
    calls it on its event loop; a lock keeps it whole if a worker thread calls it too.
    """

    def __init__(
        self,
        *,
        limit: int,
        window: float,
        capacity: int = THROTTLE_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0 or capacity < 1:
            raise ValueError("limit and capacity must be at least 1, window above 0")
        self.limit = limit
        self.window = window
        self.capacity = capacity
        self._clock = clock
        self._events: collections.OrderedDict[Hashable, collections.deque[float]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def retry_after(self, key: Hashable) -> int:
        """Whole seconds until ``key`` may have another event; 0 when it may now."""
        events = self._events.get(key)
        if events is None or len(events) < self.limit:
            return 0
        remaining = events[0] + self.window - self._clock()
        return max(1, math.ceil(remaining)) if remaining > 0 else 0

    def record(self, key: Hashable) -> int:
        """Count an event of ``key`` now; how many of its events are inside the window."""
        now = self._clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = collections.deque(maxlen=self.limit)
                if len(self._events) > self.capacity:
                    # The least recently counted key: under a flood of new addresses an old
                    # one is forgotten rather than memory growing without end.
                    self._events.popitem(last=False)
            else:
                self._events.move_to_end(key)
            while events and events[0] <= now - self.window:
                events.popleft()
            events.append(now)
            return len(events)


@functools.lru_cache(maxsize=1024)
def client_key(address: str | None) -> str:
    """What an address is counted under: itself for IPv4, its /64 for IPv6 (one host usually
    holds a whole /64, so counting single addresses would give it billions of budgets)."""
    if not address:
        return "(unknown)"
    if ":" not in address:  # IPv4, the usual case: no parsing on every request
        return address
    try:
        ip = ipaddress.IPv6Address(address.partition("%")[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    # Integer arithmetic: an IPv6Network object costs ten times as much to make.
    return f"{ipaddress.IPv6Address(int(ip) >> 64 << 64)}/64"


class AuthFailures:
    """Failed authentications of one server, by client address: logged and throttled.

    When a presented credential did not match, call :meth:`check` (429 past the limit), then
    :meth:`failed`. A request without any credential is no guess and is
    not counted. Successes do not reset the count: a guesser holding one valid token of its
    own could otherwise wipe its failures between guesses. ``limit=0`` turns the throttle off
    (failures are still logged).
    """

    def __init__(
        self,
        server: str,
        *,
        limit: int = DEFAULT_AUTH_FAILURES,
        window: float = AUTH_FAILURE_WINDOW,
        capacity: int = THROTTLE_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self.throttle = (
            Throttle(limit=limit, window=window, capacity=capacity, clock=clock) if limit else None
        )

    def check(self, address: str | None) -> None:
        """Raise :class:`Throttled` when ``address`` failed too often within the window."""
        if self.throttle is None:
            return
        wait = self.throttle.retry_after(client_key(address))
        if wait:
            raise Throttled(
                f"too many failed authentications from this address; retry after {wait} seconds",
                code="too_many_failures",
                retry_after=wait,
            )

    def failed(self, address: str | None, path: str) -> None:
        """Log and count a presented credential that did not match, on ``path`` (no query:
        a token may be in it)."""
        count = 0 if self.throttle is None else self.throttle.record(client_key(address))
        logger.warning(
            "authentication_failed server=%s client=%s route=%s failures=%d",
            self.server,
            address or "(unknown)",
            path[:_PATH_CHARS],
            count,
        )
        if self.throttle is not None and count == self.throttle.limit:
            logger.warning(
                "client_throttled server=%s client=%s seconds=%d",
                self.server,
                address or "(unknown)",
                math.ceil(self.throttle.window),
            )
