"""Bodies read as one JSON-RPC message before the SDK: the error each bad one gets."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types
import pytest

from mcp_server._messages import MAX_DEPTH, Message, Refusal, read_message

PRIVATE = "private-argument-value"


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels - 1):
        value = [value]
    return value


def _call(arguments: Any, **changes: Any) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "order_status", "arguments": arguments},
    }
    return json.dumps({**message, **changes}).encode()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, types.PARSE_ERROR, id="parser-depth"),
        pytest.param(b'{"a": "\xff"}', 400, types.PARSE_ERROR, id="not-utf-8"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', 400, types.PARSE_ERROR, id="utf-8-surrogate"),
        pytest.param(b"{", 400, types.PARSE_ERROR, id="not-json"),
        pytest.param(_call({"who": "a\ud800"}), 400, types.INVALID_REQUEST, id="lone-surrogate"),
        pytest.param(_call({"\uDFFF": 1}), 400, types.INVALID_REQUEST, id="lone-surrogate-key"),
        pytest.param(b"[]", 400, types.INVALID_REQUEST, id="batch"),
        pytest.param(b'"tools/call"', 400, types.INVALID_REQUEST, id="a-string"),
        pytest.param(_call({}, jsonrpc="1.0"), 400, types.INVALID_REQUEST, id="json-rpc-1"),
        pytest.param(_call(_nested(MAX_DEPTH)), 400, types.INVALID_REQUEST, id="too-deep"),
        pytest.param(_call({}, method="tools/run"), 200, types.METHOD_NOT_FOUND, id="method"),
        pytest.param(_call(PRIVATE), 200, types.INVALID_PARAMS, id="arguments-not-an-object"),
        pytest.param(
            json.dumps({"jsonrpc": "2.0", "method": "notifications/nothing"}).encode(),
            400, types.METHOD_NOT_FOUND, id="notification-method",
        ),
    ],
)  # fmt: skip
def test_a_bad_body_is_refused_with_its_json_rpc_error(body: bytes, status: int, code: int) -> None:
    refusal = read_message(body)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.code) == (status, code)
    assert refusal.id == (7 if status == 200 else None)
    assert PRIVATE not in refusal.message


def test_the_params_error_names_the_place_and_no_value() -> None:
    refusal = read_message(_call(PRIVATE))
    assert isinstance(refusal, Refusal)
    assert refusal.message == "Invalid params: params.arguments"


def test_paired_surrogates_and_escaped_backslashes_are_text() -> None:
    message = read_message(_call({"who": "\U0001f600 \\ud800"}))  # an emoji, and "\\ud800"
    assert isinstance(message, Message)
    assert isinstance(message.request, types.CallToolRequest)
    assert message.request.params.arguments == {"who": "\U0001f600 \\ud800"}


def test_a_message_as_deep_as_allowed_passes() -> None:
    # The call's arguments sit two levels down: an object holding them at the limit.
    message = read_message(_call({"order_id": _nested(MAX_DEPTH - 2)}))
    assert isinstance(message, Message)
    assert isinstance(message.request, types.CallToolRequest)
    assert not message.initializes


def test_an_initialize_is_one() -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {"roots": {"listChanged": True}},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }
    message = read_message(json.dumps(body).encode())
    assert isinstance(message, Message)
    assert message.initializes


def test_a_refusal_answers_as_json_rpc_with_the_session() -> None:
    response = Refusal(400, types.PARSE_ERROR, "Parse error: the body is not UTF-8").response("s1")
    assert response.status_code == 400
    assert response.headers["mcp-session-id"] == "s1"
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: the body is not UTF-8"},
    }
