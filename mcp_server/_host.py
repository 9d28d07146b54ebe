"""This process's share of the MCP sessions: one SDK transport and server task per session.

Any replica may serve any session (the ids are signed, see :mod:`mcp_server._sessions`), so a
session this process has not seen yet is adopted on its first request: a transport with its id
and the SDK's server run in its ``stateless`` mode, which the SDK documents as "clients can
perform initialization with any node". After that, a request is one hop into a running session,
not the SDK's per-request server set-up of its own stateless manager (measured: three times the
CPU of an action-server call). Sessions idle for :data:`IDLE_SECONDS`, or the least recently
used beyond :data:`MAX_SESSIONS`, are closed here; the client never notices, since any later
request adopts the session again.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.lowlevel import Server
from mcp.server.streamable_http import StreamableHTTPServerTransport
from starlette.types import Receive, Scope, Send

__all__ = ["IDLE_SECONDS", "MAX_SESSIONS", "SessionHost"]

logger = logging.getLogger("tools.sessions")

#: Seconds without a request after which this process closes its part of a session.
IDLE_SECONDS = 300.0
#: Sessions kept open in this process at most; the least recently used closes first.
MAX_SESSIONS = 1000


class SessionHost:
    """Runs ``server`` for the sessions this process serves."""

    def __init__(
        self, server: Server[Any, Any], *, idle: float = IDLE_SECONDS, limit: int = MAX_SESSIONS
    ) -> None:
        self._server = server
        self._idle = idle
        self._limit = limit
        self._open: OrderedDict[str, StreamableHTTPServerTransport] = OrderedDict()
        # Sessions being adopted: their other requests wait for the transport to be ready.
        self._adopting: dict[str, anyio.Event] = {}
        self._tasks: TaskGroup | None = None

    def __len__(self) -> int:
        return len(self._open)

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Serve sessions while the block runs; every one is closed at its end."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
                self._tasks = None

    async def handle(self, session: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request of ``session`` (already checked), adopting it if need be."""
        transport = self._open.get(session)
        if transport is None or transport.is_terminated:
            transport = await self._adopt(session)
        else:
            self._open.move_to_end(session)
        await transport.handle_request(scope, receive, send)

    async def _adopt(self, session: str) -> StreamableHTTPServerTransport:
        if self._tasks is None:
            raise RuntimeError("SessionHost.run() is not running")
        while (adopting := self._adopting.get(session)) is not None:
            await adopting.wait()
            transport = self._open.get(session)
            if transport is not None and not transport.is_terminated:
                return transport
        self._adopting[session] = adopting = anyio.Event()
        try:
            while len(self._open) >= self._limit:
                _, oldest = self._open.popitem(last=False)
                await self._close(oldest)
            transport = StreamableHTTPServerTransport(
                mcp_session_id=session, is_json_response_enabled=True, idle_timeout=self._idle
            )
            await self._tasks.start(self._serve, session, transport)
            self._open[session] = transport
        finally:
            del self._adopting[session]
            adopting.set()
        return transport

    async def _serve(
        self,
        session: str,
        transport: StreamableHTTPServerTransport,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        server = self._server
        try:
            async with transport.connect() as (read, write):
                task_status.started()
                assert transport.idle_scope is not None  # made by connect() with idle_timeout
                with transport.idle_scope:  # cancelled by the transport once idle
                    await server.run(
                        read, write, server.create_initialization_options(), stateless=True
                    )
        except Exception as exc:  # one session's end must not end the others
            logger.error("MCP session ended by %s", type(exc).__name__)
        finally:
            if self._open.get(session) is transport:
                del self._open[session]
            await self._close(transport)

    @staticmethod
    async def _close(transport: StreamableHTTPServerTransport) -> None:
        if not transport.is_terminated:
            with anyio.CancelScope(shield=True):
                await transport.terminate()
