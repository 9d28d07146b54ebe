"""Helpers for the tests of the budgets of webhook calls per minute through the servers."""

from __future__ import annotations

import time

import pytest

#: Seconds a test's calls may take: it starts them only this far from the next minute.
ROOM = 15


def start_of_a_minute() -> None:
    """Wait until the minute has at least :data:`ROOM` seconds left, so that the calls a
    test makes next are counted in one window of a server's budget (a minute, from the
    database's clock: here the same machine's).

    Polls the clock instead of sleeping a fixed time; waits at most ``ROOM`` seconds (longer
    than the usual patience of :func:`tests.polling.wait_until`, which once cut it short).
    """
    deadline = time.monotonic() + ROOM + 1
    while time.time() % 60 >= 60 - ROOM:
        if time.monotonic() > deadline:
            pytest.fail(f"not within {ROOM + 1} s: a minute with room for the calls")
        time.sleep(0.02)
