"""Waiting for something a test can observe, instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

#: How long to wait for a condition: far more than a loaded machine needs, so it only ends
#: the wait of a broken case.
PATIENCE = 10.0


async def eventually(condition: Callable[[], object], what: str) -> None:
    """Return as soon as ``condition()`` is true; fail the test, naming ``what``, after
    :data:`PATIENCE` seconds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {PATIENCE} s: {what}")
        await asyncio.sleep(0.01)


def wait_until(condition: Callable[[], object], what: str) -> None:
    """:func:`eventually`, for a test without an event loop."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {PATIENCE} s: {what}")
        time.sleep(0.02)
