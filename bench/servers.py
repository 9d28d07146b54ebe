"""The servers a benchmark starts: a port for each, and the wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
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
