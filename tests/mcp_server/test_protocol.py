"""What the tools server answers to bodies, origins and names a client should not send, and
what it says of itself: JSON-RPC errors (never a 500), no argument value in its log, browser
origins refused unless listed, an unknown tool as MCP's -32602, and the project's version."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import McpError

from mcp_server._logs import WITHHELD
from tests.mcp_server.conftest import ToolsEnv, connect
from tests.mcp_server.test_server import _call, _headers, _initialize
from tests.servers import ROOT, start_server

pytestmark = pytest.mark.asyncio

#: An argument value no log line may show (arguments may be personal data).
PRIVATE = "private-7d41c9-argument-value"
#: The origin the second server of this module serves (``WEBHOOKS_MCP_ORIGINS``).
AGENT_ORIGIN = "https://agent.example.com"


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _nested(levels: int) -> Any:
    value: Any = PRIVATE
    for _ in range(levels):
        value = [value]
    return value


def _body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


@pytest.fixture
def log_tail(tools_env: ToolsEnv) -> Callable[[], str]:
    """What the server logs from now on (read when called)."""
    start = tools_env.log_path.stat().st_size
    return lambda: tools_env.log_path.read_bytes()[start:].decode(errors="replace")


async def _session(http: httpx.AsyncClient, tools_env: ToolsEnv) -> str:
    opened = await http.post(tools_env.url(), json=_initialize(), headers=_headers(tools_env.token))
    session: str = opened.headers[MCP_SESSION_ID_HEADER]
    return session


BAD_BODIES = [
    pytest.param(_deep(100_000), 400, -32700, id="nested-100000-deep"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"order_status",'
        b'"arguments":{"order_id":"\xff\xfe' + PRIVATE.encode() + b'"}}}',
        400, -32700, id="invalid-utf-8",
    ),
    pytest.param(b"order_id=" + PRIVATE.encode(), 400, -32700, id="not-json"),
    pytest.param(b"", 400, -32700, id="empty"),
    pytest.param(b"[]", 400, -32600, id="empty-batch"),
    pytest.param(b"42", 400, -32600, id="a-number"),
    pytest.param(_body({"jsonrpc": "2.0", "id": 1}), 400, -32600, id="no-method"),
    pytest.param(
        json.dumps([_call(1, "order_status", {"order_id": PRIVATE})]).encode(),
        400, -32600, id="a-batch",
    ),
    pytest.param(
        _body(_call(1, "order_status", {"order_id": _nested(40)})), 400, -32600,
        id="nested-40-deep",
    ),
    pytest.param(
        _body(_call(1, "order_status", {"\ud800": PRIVATE})), 400, -32600,
        id="lone-surrogate-in-a-name",
    ),
    pytest.param(
        _body(_call(1, "greeting", {"who": PRIVATE + "\udc00"})), 400, -32600,
        id="lone-surrogate-in-a-value",
    ),
    pytest.param(
        _body(_call(1, "no_such_tool\ud800", {})), 400, -32600, id="lone-surrogate-in-a-tool",
    ),
    pytest.param(
        _body({**_call(1, "order_status", {"order_id": 1}), "id": "\ud800"}), 400, -32600,
        id="lone-surrogate-in-the-id",
    ),
    pytest.param(
        _body({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
               "params": {"arguments": {"order_id": PRIVATE}}}),
        200, -32602, id="call-without-a-name",
    ),
    pytest.param(
        _body({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
               "params": {"name": 7, "arguments": PRIVATE}}),
        200, -32602, id="call-of-the-wrong-shape",
    ),
    pytest.param(
        _body({"jsonrpc": "2.0", "id": 5, "method": "tools/run", "params": {"x": PRIVATE}}),
        200, -32601, id="unknown-method",
    ),
    pytest.param(
        _body({"jsonrpc": "2.0", "method": "notifications/progress",
               "params": {"note": PRIVATE}}),
        400, -32602, id="notification-of-the-wrong-shape",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "code"), BAD_BODIES)
async def test_a_bad_body_gets_a_json_rpc_error_and_no_traceback(
    tools_env: ToolsEnv, log_tail: Callable[[], str], body: bytes, status: int, code: int
) -> None:
    tools_env.put("order_status")
    tools_env.put("greeting", parameters=[
        {"name": "who", "type": "string", "description": "whom to greet"},
    ])  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        session = await _session(http, tools_env)
        headers = {**_headers(tools_env.token, session), "Content-Type": "application/json"}
        answer = await http.post(tools_env.url(), content=body, headers=headers)
        still = await http.post(
            tools_env.url(), json=_call(2, "order_status", {"order_id": 1}), headers=headers
        )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["jsonrpc"] == "2.0"
    assert error["error"]["code"] == code
    assert error["id"] == (5 if status == 200 else None)
    assert PRIVATE not in answer.text
    assert still.json()["result"]["isError"] is False  # the session goes on
    log = log_tail()
    assert "Traceback" not in log
    assert "unexpected" not in log  # no exception reached the guard either
    assert PRIVATE not in log
    assert WITHHELD not in log  # refused before the SDK: it had nothing to log


async def test_a_bad_body_without_a_session_gets_the_same_error(tools_env: ToolsEnv) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            tools_env.url(),
            content=b"\xff" + PRIVATE.encode(),
            headers={**_headers(tools_env.token), "Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == -32700
    assert MCP_SESSION_ID_HEADER not in answer.headers


async def test_no_log_line_holds_an_argument_value(
    tools_env: ToolsEnv, log_tail: Callable[[], str]
) -> None:
    tools_env.put("order_status")
    tools_env.put("greeting", parameters=[
        {"name": "who", "type": "string", "description": "whom to greet"},
    ])  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        session = await _session(http, tools_env)
        headers = _headers(tools_env.token, session)
        answers = [
            await http.post(tools_env.url(), json=message, headers=headers)
            for message in (
                _call(1, "greeting", {"who": PRIVATE}),  # valid
                _call(2, "order_status", {"order_id": PRIVATE}),  # a wrong value
                _call(3, "greeting", {"who": PRIVATE, "extra": PRIVATE}),  # an unknown name
                {**_call(4, "greeting", {"who": PRIVATE}), "params": {"arguments": PRIVATE}},
                {"jsonrpc": "2.0", "id": 5, "method": "ping", "params": PRIVATE},
                # An answer to no request of the server's: the SDK logs its id.
                {"jsonrpc": "2.0", "id": PRIVATE, "result": {}},
            )
        ]
        call = _call(6, "greeting", {"who": PRIVATE})
        call["params"]["_meta"] = {"progressToken": PRIVATE}  # through the SDK's session
        answers.append(await http.post(tools_env.url(), json=call, headers=headers))
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 202, 200]
    assert answers[0].json()["result"]["isError"] is False
    assert answers[6].json()["result"]["isError"] is False
    assert PRIVATE.encode() in tools_env.webhook.requests[-1]["body"]  # it was sent
    log = log_tail()
    assert "tool_call tenant=acme tool=greeting status=200 category=ok" in log
    assert PRIVATE not in log


@pytest.fixture(scope="module")
def with_origin(tools_env: ToolsEnv) -> str:
    """A second server of the same store that serves :data:`AGENT_ORIGIN`."""
    env = {**tools_env.env, "WEBHOOKS_MCP_ORIGINS": f"{AGENT_ORIGIN}, http://localhost:8080"}
    process, base_url = start_server("mcp_server", env, tools_env.log_path)
    tools_env.processes.append(process)
    return base_url


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        pytest.param(None, 200, id="no-origin"),
        pytest.param(AGENT_ORIGIN, 200, id="listed"),
        pytest.param("http://localhost:8080", 200, id="listed-with-port"),
        pytest.param("https://evil.example", 403, id="another-site"),
        pytest.param("http://127.0.0.1", 403, id="the-servers-own-host"),
        pytest.param("http://localhost:8081", 403, id="another-port"),
        pytest.param("http://agent.example.com", 403, id="another-scheme"),
        pytest.param("null", 403, id="null"),
    ],
)
async def test_a_browser_origin_must_be_listed(
    tools_env: ToolsEnv, with_origin: str, origin: str | None, status: int
) -> None:
    headers = _headers(tools_env.token)
    if origin is not None:
        headers["Origin"] = origin
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            tools_env.url(base_url=with_origin), json=_initialize(), headers=headers
        )
        unlisted = await http.post(tools_env.url(), json=_initialize(), headers=headers)
        tokenless = await http.get(
            tools_env.url(base_url=with_origin), headers={"Origin": origin or ""}
        )
    assert answer.status_code == status
    # With nothing listed (the default), every browser origin is refused.
    assert unlisted.status_code == (200 if origin is None else 403)
    if status == 403:
        assert answer.json()["error"]["code"] == "origin_not_allowed"
        assert tokenless.status_code == 403  # before the token is looked at


async def test_an_unknown_tool_is_a_json_rpc_error_naming_it(tools_env: ToolsEnv) -> None:
    async with connect(tools_env.url(), tools_env.token) as client:
        with pytest.raises(McpError) as raised:
            await client.session.call_tool("no_such_tool", {})
    assert raised.value.error.code == -32602
    assert raised.value.error.message == "Unknown tool: no_such_tool"
    async with httpx.AsyncClient() as http:
        headers = _headers(tools_env.token, await _session(http, tools_env))
        plain = await http.post(tools_env.url(), json=_call(3, "no_such_tool", {}), headers=headers)
        asking = _call(4, "no_such_tool", {})
        asking["params"]["_meta"] = {"progressToken": "p"}  # the SDK's path
        through_sdk = await http.post(tools_env.url(), json=asking, headers=headers)
    error = {"code": -32602, "message": "Unknown tool: no_such_tool"}
    assert plain.status_code == through_sdk.status_code == 200
    assert plain.json() == {"jsonrpc": "2.0", "id": 3, "error": error}
    assert through_sdk.json() == {"jsonrpc": "2.0", "id": 4, "error": error}


async def test_the_server_reports_the_projects_version(tools_env: ToolsEnv) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
    info = opened.json()["result"]["serverInfo"]
    assert info == {"name": "webhook-actions", "version": pyproject["project"]["version"]}
