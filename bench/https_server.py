"""A small HTTPS webhook for the benchmarks, run in its own process.

``python -m bench.https_server CERT KEY`` listens on 127.0.0.1 (a random port), prints the port
on one line, and serves until its standard input closes (the parent exiting stops it).
"""

from __future__ import annotations

import asyncio
import ssl
import sys

from aiohttp import web

ANSWER = b'{"status": "shipped", "order": "4521", "eta": "2 days"}'


async def hook(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


async def serve(cert: str, key: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_route("*", "/hook", hook)
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
