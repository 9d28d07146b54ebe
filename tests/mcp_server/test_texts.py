"""A tool argument holding half a character, sent as raw JSON-RPC over real HTTP.

The SDK's own client cannot write a lone surrogate (its JSON encoder refuses one), but any
other client can: ``"\\ud800"`` is valid JSON.
"""

from __future__ import annotations

import json

import httpx
import pytest
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER

from tests.mcp_server.conftest import ToolsEnv

pytestmark = pytest.mark.asyncio

NOTE = {"name": "note", "type": "string", "description": "a note"}


def _post(request_id: int, method: str, params: dict[str, object]) -> bytes:
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return json.dumps(message, ensure_ascii=True).encode("ascii")


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_lone_surrogate_in_an_argument_is_refused_before_any_call(
    tools_env: ToolsEnv, method: str
) -> None:
    tools_env.put("noted", parameters=[NOTE], method=method)
    headers = {
        "Authorization": f"Bearer {tools_env.token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-06-18",
    }
    hello = {"protocolVersion": "2025-06-18", "capabilities": {},
             "clientInfo": {"name": "raw", "version": "1"}}  # fmt: skip
    before = len(tools_env.webhook.requests)
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            tools_env.url(), content=_post(1, "initialize", hello), headers=headers
        )
        headers[MCP_SESSION_ID_HEADER] = opened.headers[MCP_SESSION_ID_HEADER]
        call = {"name": "noted", "arguments": {"note": "a\ud800"}}
        answer = await http.post(
            tools_env.url(), content=_post(2, "tools/call", call), headers=headers
        )
    # The server refuses the message itself (mcp_server/_messages.py), before the tool is looked up.
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == -32600
    assert "surrogate" in answer.json()["error"]["message"]
    # Nothing was sent: not the POST that failed to encode, nor a GET without the half.
    assert len(tools_env.webhook.requests) == before
    assert "unexpected" not in tools_env.log_path.read_text()
