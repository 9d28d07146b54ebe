"""A real tools server (``python -m mcp_server serve``) on SQLite and on PostgreSQL, a real HTTPS
webhook (trustme CA), and the ``mcp`` SDK's own client over streamable HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mcp.types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.session import RequestResponder

from tests.actions.conftest import ServerEnv, ThreadedWebhook, store_and_webhook
from tests.servers import start_server, stop
from webhooks import Store


@dataclass
class ToolsEnv(ServerEnv):
    base_url: str
    store: Store
    token: str
    webhook: ThreadedWebhook
    log_path: Path
    database_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def url(self, tenant: str = "acme", base_url: str | None = None) -> str:
        return f"{base_url or self.base_url}/tenants/{tenant}/mcp"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def tools_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ToolsEnv]:
    tmp = tmp_path_factory.mktemp("tools")
    log_path = tmp / "tools.log"
    with store_and_webhook(request.param, tmp, request, ("acme", "globex")) as (
        store,
        webhook,
        env,
    ):
        token = store.accounts.issue_tools_token("acme", actor="test")
        process, base_url = start_server("mcp_server", env, log_path)
        tools = ToolsEnv(
            base_url, store, token, webhook, log_path, env["DATABASE_URL"], env, [process]
        )
        try:
            yield tools
        finally:
            for process in tools.processes:
                stop(process)


class Client:
    """An MCP client session with the notifications it heard."""

    def __init__(
        self,
        session: ClientSession,
        heard: list[str],
        session_id: Any,
        stream_open: asyncio.Event,
    ) -> None:
        self.session = session
        self.heard = heard
        self._session_id = session_id
        self._stream_open = stream_open

    async def listening(self, within: float) -> None:
        """Return once the server's notification stream is open (the SDK opens it with a GET
        after initialize; a change made before then is announced to nobody)."""
        await asyncio.wait_for(self._stream_open.wait(), timeout=within)

    @property
    def session_id(self) -> str:
        value: str = self._session_id()
        return value

    async def heard_list_changed(self, within: float) -> float:
        """Seconds until ``notifications/tools/list_changed`` arrived (fails after ``within``)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while "notifications/tools/list_changed" not in self.heard:
            if loop.time() - started > within:
                raise AssertionError(f"no list_changed within {within} s; heard {self.heard}")
            await asyncio.sleep(0.01)
        return loop.time() - started


@contextlib.asynccontextmanager
async def connect(url: str, token: str | None) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP to ``url``, initialized."""
    heard: list[str] = []

    async def hear(
        message: RequestResponder[types.ServerRequest, types.ClientResult]
        | types.ServerNotification
        | Exception,
    ) -> None:
        if isinstance(message, types.ServerNotification):
            heard.append(message.root.method)

    stream_open = asyncio.Event()

    async def answered(response: httpx.Response) -> None:
        # The server registers the stream before it answers the GET: its headers mean open.
        if response.request.method == "GET" and response.status_code == 200:
            stream_open.set()

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(30, read=300),
            event_hooks={"response": [answered]},
        ) as http,
        streamable_http_client(url, http_client=http) as (read, write, session_id),
        ClientSession(read, write, message_handler=hear) as session,
    ):
        await session.initialize()
        yield Client(session, heard, session_id, stream_open)
