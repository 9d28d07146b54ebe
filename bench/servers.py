"""The servers a benchmark starts: a port for each, and the wait until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

#: Seconds between two looks at a starting server: short, since cold starts are measured.
POLL_INTERVAL = 0.02


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago, for a server the benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], *, timeout: float = 60, log: Path | None = None
) -> float:
    """Seconds until a GET of ``url`` answers without an error status, ``process`` being the
    server that should answer it.

    Raises RuntimeError when the process exits first or ``timeout`` seconds pass, with the
    end of the server's ``log`` when it has one.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return time.monotonic() - started
        except OSError:  # not listening yet, or an error status while it starts
            time.sleep(POLL_INTERVAL)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s{_tail(log)}")


def _tail(log: Path | None) -> str:
    return f":\n{log.read_text(errors='replace')[-3000:]}" if log is not None else ""


@contextmanager
def servers_apart() -> Iterator[Callable[[], AbstractContextManager[None]]]:
    """Keep the measured servers on a core of their own and the harness on the others.

    Inside, this process, and so the load generator and the webhook it starts, keeps to every
    core but the last; a server started within the ``starting()`` this yields is born on the
    last one, with every thread it makes. Both sides of a comparison get the same core, and
    neither shares it with the harness or is moved between cores. The process's cores are
    restored on exit; on a single core nothing moves.
    """
    every = os.sched_getaffinity(0)
    if len(every) < 2:
        yield nullcontext
        return
    server = {max(every)}
    harness = every - server

    @contextmanager
    def starting() -> Iterator[None]:
        os.sched_setaffinity(0, server)  # what this process starts now inherits it
        try:
            yield
        finally:
            os.sched_setaffinity(0, harness)

    os.sched_setaffinity(0, harness)
    try:
        yield starting
    finally:
        os.sched_setaffinity(0, every)
