"""The listening socket of a server, bound before the framework starts.

Bound here, a port already in use (or an address that is not this machine's) is one clear
:class:`ConfigurationError` with the fix, instead of a traceback from inside the server's
start-up; the servers hand the bound socket to Sanic.
"""

from __future__ import annotations

import errno
import socket

from ._exceptions import ConfigurationError

__all__ = ["listen"]


def listen(host: str, port: int, *, what: str) -> socket.socket:
    """A socket bound to ``host:port`` (IPv4 or IPv6), for the server ``what`` names."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            reason = f"port {port} on {host} is already in use (is {what} already running?)"
            fix = "stop the other process or pass another --port"
        elif isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL:
            reason = f"{host} is not an address of this machine"
            fix = "pass another --host"
        else:
            reason = f"cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc})"
            fix = "check --host and --port"
        raise ConfigurationError(f"{reason}: {fix}") from exc
    return sock
