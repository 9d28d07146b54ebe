"""Fixtures for the egress tests: a trustme CA made per session, real local HTTPS servers, the
guarded client that reaches them, and a record of every address it tries to connect to.

No key is ever written to the repository: the CA and every certificate live in memory (and in
pytest's temporary files while a context loads them).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohappyeyeballs
import pytest
import pytest_asyncio
import trustme

from webhooks.egress._egress import Egress
from webhooks.egress._rules import EgressRules

from .https_server import LocalServer, ScriptedResolver

#: The egress rules of the tests: they allow one network, the loopback address the local servers
#: listen on.
LOOPBACK_RULES = EgressRules.allowing("127.0.0.1/32")
#: The name the scripted resolver maps to the local server; its certificate carries it.
WEBHOOK_HOST = "webhook.example.com"
#: A public address for the scripted resolver to answer with; nothing ever connects to it.
PUBLIC = "93.184.216.34"
#: Secrets a webhook's configuration carries, which no log, message or repr may show.
SECRET = "s3cr3t-header-value-7f1d"
QUERY_SECRET = "query-secret-5a9e"
PATH_SECRET = "XXXXpathsecret0b4c"  # a made-up token where Slack puts its secret

StartServer = Callable[..., Awaitable[LocalServer]]


def scripted(*answers: list[str]) -> ScriptedResolver:
    """A resolver whose successive lookups of :data:`WEBHOOK_HOST` give ``answers``."""
    return ScriptedResolver({WEBHOOK_HOST: list(answers)})


@pytest.fixture
def connection_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address aiohttp tries to connect to; anything off loopback fails at once.

    This is where aiohttp opens sockets, after the resolver: a guard regression shows up here
    as a recorded attempt, and no test traffic ever leaves the machine. Modules that make calls
    use it for every test (``pytest.mark.usefixtures``).
    """
    attempts: list[str] = []
    real = aiohappyeyeballs.start_connection

    async def recording(addr_infos: Any, **kwargs: Any) -> socket.socket:
        hosts = [info[4][0] for info in addr_infos]
        attempts.extend(hosts)
        if not all(ipaddress.ip_address(h).is_loopback for h in hosts):
            raise OSError(101, "tests never leave loopback")
        return await real(addr_infos, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", recording)
    return attempts


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


@pytest_asyncio.fixture
async def egress(client_ssl_context: ssl.SSLContext) -> AsyncIterator[Egress]:
    """A client allowed to reach 127.0.0.1 only, trusting the test CA."""
    async with Egress(rules=LOOPBACK_RULES, ssl_context=client_ssl_context) as client:
        yield client
