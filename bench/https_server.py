"""A small HTTPS webhook for the benchmarks, run in its own process.

``python -m bench.https_server CERT KEY`` listens on 127.0.0.1 (a random port), prints the port
on one line, and serves until its standard input closes (the parent exiting stops it).
:func:`running` starts it with a fresh trustme CA and yields the port and a client context.
``/hook`` answers at once; ``/slow?seconds=S`` after S seconds.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme
from aiohttp import web

ANSWER = b'{"status": "shipped", "order": "4521", "eta": "2 days"}'


async def hook(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("seconds", "5")))
    return web.Response(body=ANSWER, content_type="application/json")


@dataclass(frozen=True)
class Hook:
    """The running server: its port, a client context trusting it, its process, its CA file."""

    port: int
    context: ssl.SSLContext
    pid: int
    ca_file: Path


@contextmanager
def running() -> Iterator[Hook]:
    """The server in its own process, while the block runs."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with tempfile.TemporaryDirectory() as directory:
        cert_file = Path(directory, "cert.pem")
        key_file = Path(directory, "key.pem")
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(cert_file), append=True)
        cert.private_key_pem.write_to_path(str(key_file))
        ca_file = Path(directory, "ca.pem")
        ca.cert_pem.write_to_path(str(ca_file))
        with subprocess.Popen(
            [sys.executable, "-m", "bench.https_server", str(cert_file), str(key_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as server:
            try:
                if server.stdout is None:
                    raise RuntimeError("no pipe to the server")
                yield Hook(int(server.stdout.readline()), context, server.pid, ca_file)
            finally:
                if server.stdin is not None:
                    server.stdin.close()
                server.wait(timeout=10)


async def serve(cert: str, key: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_route("*", "/hook", hook)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context, backlog=1024)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # returns when the parent closes the pipe
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
