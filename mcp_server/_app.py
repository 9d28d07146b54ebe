"""The tools server: MCP's streamable HTTP at ``/tenants/<tenant>/mcp``, on Starlette.

Any replica serves any request. Sessions are ours (:mod:`mcp_server._sessions`): an ``initialize``
gets a new ``Mcp-Session-Id``, later requests must bring one the tenant's current token signed,
each process runs the SDK's server for the sessions it is sent (:mod:`mcp_server._host`), and the
session's calls are counted in the store, so the limit holds across replicas. A session's
``GET`` stream hears ``notifications/tools/list_changed`` when the tenant's tools change (the
registry polls the store) and ends when its token is replaced or revoked. Routes also:
``GET /health`` and ``GET /metrics`` (``WEBHOOKS_METRICS_TOKEN``). Errors are JSON in the
admin API's envelope, except a body's: it is one JSON-RPC message checked before the SDK reads
it (:mod:`mcp_server._messages`), else a JSON-RPC error. A browser's ``Origin`` must be listed in
``WEBHOOKS_MCP_ORIGINS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Collection
from typing import Any

import mcp.types as types
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import McpError
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from mcp.types import DEFAULT_NEGOTIATED_VERSION
from prometheus_client import Gauge
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from webhooks import (
    DEFAULT_AUTH_FAILURES,
    DEFAULT_REFRESH_INTERVAL,
    METRICS_CONTENT_TYPE,
    VERSION,
    AuthFailures,
    Category,
    ConversationLimits,
    Egress,
    Metrics,
    Registry,
    Settings,
    Store,
    TenantSnapshot,
    WebhookCalls,
    bearer_matches,
    bearer_token,
    call_logger,
    egress_for,
    mcp_tool,
    token_matches,
)

from ._asgi import (
    MAX_BODY_BYTES,
    Asgi,
    Guarded,
    error_response,
    read_body,
    refused_by,
    replay,
)
from ._host import SessionHost
from ._messages import Message, Refusal, read_message
from ._service import ToolService, failure, snapshot_tools
from ._sessions import new_session, session_valid

__all__ = ["ToolsServer", "build", "create_app"]

#: The server's loggers keep the role's name ("tools", as the image and deployments call it),
#: so its log lines read the same as before the package was named mcp_server.
logger = logging.getLogger("tools")
#: One line per tool call (``tool_call tenant=… tool=… …``), and why a call could not be made.
calls_logger = call_logger("tools.calls")

#: Seconds between keep-alive comments on a session's notification stream.
PING_SECONDS = 15
#: Where a request's tenant and session wait for the MCP handlers (an ASGI scope extension).
CALLER = "webhooks.caller"

_LIST_CHANGED = types.JSONRPCNotification(
    jsonrpc="2.0", method="notifications/tools/list_changed"
).model_dump_json(exclude_none=True)


class _McpServer(Server[Any, Request]):
    """The SDK's low-level server, saying that tool lists change (its stateless mode asks
    for the options without any), with the options made once: the stateless mode asks for
    them at every request, and making them reads the package's metadata from disk (measured:
    a quarter of the server's time per call)."""

    @functools.cached_property
    def _options(self) -> InitializationOptions:
        return super().create_initialization_options(NotificationOptions(tools_changed=True))

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        if notification_options is None and experimental_capabilities is None:
            return self._options
        return super().create_initialization_options(
            notification_options, experimental_capabilities
        )


class ToolsServer:
    """The registry, the MCP server and the open notification streams of one process."""

    def __init__(
        self,
        store: Store,
        egress: Egress,
        *,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        metrics_token: str | None = None,
        origins: Collection[str] = (),
        auth_failures: int = DEFAULT_AUTH_FAILURES,
    ) -> None:
        self.metrics = Metrics()
        #: The browser origins served (``WEBHOOKS_MCP_ORIGINS``), as browsers write them.
        self.origins = frozenset(origins)
        self.egress = egress
        self.metrics_token = metrics_token
        self.failures = AuthFailures("tools", limit=auth_failures)
        self.registry = Registry(store, interval=refresh_interval, listener=self._changed)
        self.calls = WebhookCalls(
            store=store,
            registry=self.registry,
            egress=egress,
            limits=ConversationLimits(store.engine),
            metrics=self.metrics,
            logger=calls_logger,
            event="tool_call",
            noun="tool",
        )
        self.service = ToolService(self.calls)
        # For tenants with open streams only: what their clients were told (a digest of the
        # tools, and the token's digest), so no other tenant costs anything at a refresh.
        self._told: dict[str, tuple[bytes, str | None]] = {}
        # The open notification streams by tenant: None in a queue ends its stream.
        self._streams: dict[str, set[asyncio.Queue[str | None]]] = {}
        self.mcp = _McpServer("webhook-actions", version=VERSION, instructions=_INSTRUCTIONS)
        self.mcp.request_handlers[types.ListToolsRequest] = self._list_tools
        self.mcp.request_handlers[types.CallToolRequest] = self._call_tool
        self.sessions = SessionHost(self.mcp)
        self.open_sessions = Gauge(
            "mcp_sessions_open",
            "MCP sessions this process runs the SDK's server for (adopted, not yet idle).",
            registry=self.metrics.registry,
        )

    # -- what changed, told to the open streams ------------------------------------------------

    @staticmethod
    def _state(snapshot: TenantSnapshot | None) -> tuple[bytes, str | None]:
        tools = json.dumps([mcp_tool(w) for w in snapshot_tools(snapshot)], sort_keys=True)
        token = snapshot.tools_token_hash if snapshot is not None else None
        return hashlib.sha256(tools.encode()).digest(), token

    def _changed(self, tenant: str, snapshot: TenantSnapshot | None) -> None:
        self.calls.forget(tenant)
        streams = self._streams.get(tenant)
        if not streams:
            return
        before, now = self._told[tenant], self._state(snapshot)
        self._told[tenant] = now
        if now[1] != before[1]:  # a new token, or none: the old one's sessions are over
            for queue in streams:
                queue.put_nowait(None)
        elif now[0] != before[0]:
            for queue in streams:
                queue.put_nowait(_LIST_CHANGED)

    async def _notifications(self, tenant: str) -> AsyncIterator[dict[str, str]]:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        streams = self._streams.get(tenant)
        if streams is None:  # the first stream: what the tenant's clients know starts now
            streams = self._streams[tenant] = set()
            self._told[tenant] = self._state(self.registry.get(tenant))
        streams.add(queue)
        try:
            while (message := await queue.get()) is not None:
                yield {"event": "message", "data": message}
        finally:
            streams.discard(queue)
            if not streams:
                del self._streams[tenant], self._told[tenant]

    # -- the MCP handlers ------------------------------------------------------------------

    def _caller(self) -> tuple[str, str]:
        request = self.mcp.request_context.request
        assert request is not None  # always over HTTP here
        caller: tuple[str, str] = request.scope[CALLER]
        return caller

    async def _list_tools(self, request: types.ListToolsRequest) -> types.ServerResult:
        tenant, _ = self._caller()
        return types.ServerResult(types.ListToolsResult(tools=self.service.tools(tenant)))

    async def _call_tool(self, request: types.CallToolRequest) -> types.ServerResult:
        tenant, session = self._caller()
        return types.ServerResult(await self._call(tenant, session, request.params))

    async def _call(
        self, tenant: str, session: str, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            result = await self.service.call(tenant, session, params.name, params.arguments)
        except McpError:  # a JSON-RPC error for the client: the tool is unknown
            raise
        except Exception as exc:  # the SDK would send the exception's text; say nothing of it
            logger.error(
                "unexpected %s in tool %s of tenant %s", type(exc).__name__, params.name, tenant
            )
            result = failure(Category.UNAVAILABLE.sentence)
        return result

    # -- HTTP ---------------------------------------------------------------------------------

    async def serve_mcp(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/tenants/<tenant>/mcp``: the origin, the token, the session and the body
        checked, then the SDK."""
        request = Request(scope, receive)
        # MCP's transport asks servers to check Origin against DNS rebinding: a page whose
        # name now resolves to this server sends its own origin (with a Host header to match,
        # so "the server's own host" is no rule). Clients that are no browser send none.
        if any(o not in self.origins for o in request.headers.getlist("origin")):
            response: Response = error_response(
                403, "origin_not_allowed", "this origin may not use the MCP endpoint"
            )
            return await response(scope, receive, send)
        tenant: str = scope["path_params"]["tenant"]
        snapshot = self.registry.get(tenant)
        digest = snapshot.tools_token_hash if snapshot is not None else None
        token = bearer_token(request.headers.get("authorization"))
        refused = refused_by(
            self.failures,
            request,
            admitted=lambda: (
                digest is not None and token is not None and token_matches(token, digest)
            ),
        )
        if refused is not None:
            return await refused(scope, receive, send)
        if digest is None:  # never admitted; said for the type checker
            return None
        session = request.headers.get(MCP_SESSION_ID_HEADER)
        if session is not None and not session_valid(session, tenant, digest):
            response = error_response(
                404, "session_not_found", "unknown or ended session: initialize a new one"
            )
            return await response(scope, receive, send)
        if request.method == "GET":
            if session is None:
                response = error_response(
                    400, "missing_session", f"send the {MCP_SESSION_ID_HEADER} header"
                )
            else:
                response = EventSourceResponse(self._notifications(tenant), ping=PING_SECONDS)
            return await response(scope, receive, send)
        if request.method == "DELETE":
            # A session is a signed id: nothing to end here. It ends with the token.
            response = error_response(
                405, "method_not_allowed", "sessions end with the token", Allow="GET, POST"
            )
            return await response(scope, receive, send)
        body = await read_body(request)
        if body is None:
            response = error_response(
                413, "too_large", f"a request body has at most {MAX_BODY_BYTES} bytes"
            )
            return await response(scope, receive, send)
        message = read_message(body)
        if isinstance(message, Refusal):
            return await message.response(session)(scope, receive, send)
        if session is None:
            if not message.initializes:
                response = error_response(
                    400, "missing_session", "initialize first, then send its session id"
                )
                return await response(scope, receive, send)
            session = new_session(tenant, digest)  # the SDK's answer to initialize names it
        else:
            direct = await self._answer_directly(tenant, session, request, message)
            if direct is not None:
                return await direct(scope, receive, send)
        scope[CALLER] = (tenant, session)
        await self.sessions.handle(session, scope, replay(body, receive), send)
        return None

    async def _answer_directly(
        self, tenant: str, session: str, request: Request, message: Message
    ) -> Response | None:
        """A plain ``tools/call`` answered here; None sends the request down the SDK's path.

        Through the SDK's session a call costs three times the CPU of the call's own work
        (streams, tasks and a second validation per message; bench tools, py-spy). A plain
        call needs none of it: it was validated with the SDK's own types already and is
        answered by the very handler the SDK would run. A call asking for protocol features
        (``_meta``: progress) and any other method take the SDK's path.
        """
        headers = request.headers
        call = message.request
        if (
            not isinstance(call, types.CallToolRequest)
            or call.params.meta is not None
            or "application/json" not in headers.get("accept", "")
            or headers.get("content-type", "").partition(";")[0].strip() != "application/json"
            or headers.get("mcp-protocol-version", DEFAULT_NEGOTIATED_VERSION)
            not in SUPPORTED_PROTOCOL_VERSIONS
        ):
            return None
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": message.request_id}
        try:
            result = await self._call(tenant, session, call.params)
        except McpError as exc:
            answer["error"] = exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)
        else:
            answer["result"] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        return Response(
            json.dumps(answer, ensure_ascii=False, separators=(",", ":")),
            media_type="application/json",
            headers={MCP_SESSION_ID_HEADER: session},
        )


_INSTRUCTIONS = (
    "Each tool calls one of the operator's HTTPS services and returns what it answered "
    "(structuredContent.data; response_text when the answer is not JSON). A session may make "
    "at most 10 calls."
)


def create_app(server: ToolsServer) -> Guarded:
    """The Starlette application serving ``server``."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": server.registry.version()})

    async def metrics(request: Request) -> Response:
        if server.metrics_token is None:
            return error_response(
                404, "metrics_off", "set WEBHOOKS_METRICS_TOKEN to serve /metrics"
            )
        token = server.metrics_token
        refused = refused_by(
            server.failures,
            request,
            admitted=lambda: bearer_matches(request.headers.get("authorization"), token),
            message="send Authorization: Bearer <metrics token>",
        )
        if refused is not None:
            return refused
        server.open_sessions.set(len(server.sessions))
        return Response(server.metrics.render(server.registry), media_type=METRICS_CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # On the loop's thread, where claims are made in place: opened now, not mid-request.
        server.calls.claims.open_in_place()
        refresh = asyncio.create_task(server.registry.run())
        try:
            async with server.sessions.run():
                yield
        finally:
            refresh.cancel()
            await server.egress.aclose()

    routes = [
        Route("/tenants/{tenant}/mcp", Asgi(server.serve_mcp), methods=["GET", "POST", "DELETE"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Guarded(Starlette(routes=routes, lifespan=lifespan))


def build(settings: Settings, store: Store) -> ToolsServer:
    """A tools server for ``settings``: the egress with the deployment's rules and CA."""
    server = ToolsServer(
        store,
        egress_for(settings),
        refresh_interval=settings.refresh_interval,
        metrics_token=settings.metrics_token,
        origins=settings.mcp_origins,
        auth_failures=settings.auth_failures,
    )
    server.registry.load()
    return server
