"""Fixtures for the egress tests: a trustme CA made per session and real local HTTPS servers.

No key is ever written to the repository: the CA and every certificate live in memory (and in
pytest's temporary files while a context loads them).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
import trustme

from .https_server import LocalServer

#: The one network the tests allow: the loopback address the local servers listen on.
LOOPBACK_ALLOWANCE = (ipaddress.ip_network("127.0.0.1/32"),)
#: The name the scripted resolver maps to the local server; its certificate carries it.
WEBHOOK_HOST = "webhook.example.com"

StartServer = Callable[..., Awaitable[LocalServer]]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def client_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    """Trusts the test CA only (not the system store), verifying host names."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.load_verify_locations(cadata=ca.cert_pem.bytes().decode())
    return context


def _server_context(ca: trustme.CA, names: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest_asyncio.fixture
async def start_server(ca: trustme.CA) -> AsyncIterator[StartServer]:
    """Start local HTTPS servers whose certificate names ``names``; all stop at teardown."""
    servers: list[LocalServer] = []

    async def start(names: tuple[str, ...] = ("127.0.0.1", WEBHOOK_HOST)) -> LocalServer:
        server = LocalServer(_server_context(ca, names))
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> LocalServer:
    """A local HTTPS server with a certificate for 127.0.0.1 and ``webhook.example.com``."""
    return await start_server()
