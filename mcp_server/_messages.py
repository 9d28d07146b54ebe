"""A request body read as one JSON-RPC message before the SDK sees it.

The SDK answers some bodies with a 500 and a traceback in the log (invalid UTF-8 raises a
``UnicodeDecodeError`` its parser does not expect, deep nesting a ``RecursionError``), and it
logs the pydantic text of a message it cannot validate, whose ``input_value`` is the client's
arguments. So every body is decoded, parsed, bounded and validated here, with the SDK's own
types, and a bad one is answered here with the JSON-RPC error the streamable HTTP transport
asks for, whose message names no value of the body:

- not UTF-8, not JSON, or nested past what the parser follows: -32700 (parse error), HTTP 400;
- nested past :data:`MAX_DEPTH`, a string with a lone surrogate (``"\\ud800"``: no text
  UTF-8 can carry), or not one JSON-RPC 2.0 message (a batch, a number, a request without
  a method): -32600 (invalid request), HTTP 400;
- a request for a method MCP clients do not send: -32601, and one whose params do not fit
  its method: -32602, both with the request's id and HTTP 200 as any answer to a request;
  a notification cannot be answered, so either is HTTP 400 without an id.

What passes validates again in the SDK, unchanged (it validates what it is given the same way).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, get_args

import mcp.types as types
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

__all__ = ["MAX_DEPTH", "Message", "Refusal", "read_message"]

#: How deep arrays and objects may nest in a message. Arguments are scalars, and the deepest
#: part of a client's ``initialize`` (its capabilities) is four levels down.
MAX_DEPTH = 32


def _by_method(union: Any) -> dict[str, type[BaseModel]]:
    models: tuple[type[BaseModel], ...] = get_args(union)
    return {get_args(model.model_fields["method"].annotation)[0]: model for model in models}


#: The requests and notifications an MCP client sends, by method (the SDK's own lists).
REQUESTS = _by_method(types.ClientRequestType)
NOTIFICATIONS = _by_method(types.ClientNotificationType)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A body answered with a JSON-RPC error instead of being handed on."""

    status: int
    code: int
    message: str
    id: str | int | None = None

    def response(self, session: str | None = None) -> Response:
        """The HTTP answer: the error as JSON, with the session's id when there is one."""
        body = {
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {"code": self.code, "message": self.message},
        }
        headers = {MCP_SESSION_ID_HEADER: session} if session is not None else None
        return Response(
            json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            status_code=self.status,
            media_type="application/json",
            headers=headers,
        )


@dataclass(frozen=True, slots=True)
class Message:
    """A valid message: the JSON-RPC envelope, and the client's request when it is one."""

    envelope: types.JSONRPCMessage
    #: The request as its method's model (``types.CallToolRequest``...), None for the rest.
    request: BaseModel | None = None
    #: The request's id (None for the rest).
    request_id: str | int | None = None

    @property
    def initializes(self) -> bool:
        return isinstance(self.request, types.InitializeRequest)


#: The escape of a surrogate (paired ones parse to one character, lone ones to no text).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _unicode(value: Any) -> bool:
    """Whether every string of ``value`` can be written as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests deeper than :data:`MAX_DEPTH` (iterative: no recursion)."""
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH + 1):
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
        if not below:
            return False
        level = below
    return True


def read_message(body: bytes) -> Message | Refusal:
    """``body`` as one valid client message, or the error that answers it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, types.PARSE_ERROR, "Parse error: the body is not UTF-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:  # its position only: exc's text quotes no input
        return Refusal(
            400,
            types.PARSE_ERROR,
            f"Parse error: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
        )
    except RecursionError:
        return Refusal(400, types.PARSE_ERROR, "Parse error: nested too deeply")
    # A \ud800 escape parses to a string no UTF-8 can carry: every answer or log line
    # quoting it would fail (a 500). Only a body with such an escape is looked at twice.
    if _SURROGATE_ESCAPE.search(text) is not None and not _unicode(raw):
        return Refusal(
            400, types.INVALID_REQUEST, "Invalid request: a string holds a lone surrogate"
        )
    # Fewer brackets in all than the depth allowed cannot nest too deep: no walk needed.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _too_deep(raw):
        return Refusal(
            400, types.INVALID_REQUEST, f"Invalid request: nested more than {MAX_DEPTH} deep"
        )
    try:
        envelope = types.JSONRPCMessage.model_validate(raw)
    except ValidationError:  # its text quotes the input: never said or logged
        return Refusal(400, types.INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message")
    message = envelope.root
    if isinstance(message, types.JSONRPCRequest):
        model = REQUESTS.get(message.method)
        if model is None:
            return Refusal(200, types.METHOD_NOT_FOUND, "Method not found", message.id)
        try:  # what the SDK's session validates, against the method's own model
            request = model.model_validate(_dumped(message))
        except ValidationError as exc:
            return Refusal(200, types.INVALID_PARAMS, _invalid_params(exc), message.id)
        return Message(envelope, request, message.id)
    if isinstance(message, types.JSONRPCNotification):
        model = NOTIFICATIONS.get(message.method)
        if model is None:
            return Refusal(400, types.METHOD_NOT_FOUND, "Method not found")
        try:
            model.model_validate(_dumped(message))
        except ValidationError as exc:
            return Refusal(400, types.INVALID_PARAMS, _invalid_params(exc))
    return Message(envelope)


def _dumped(message: types.JSONRPCRequest | types.JSONRPCNotification) -> dict[str, Any]:
    return message.model_dump(by_alias=True, mode="json", exclude_none=True)


def _invalid_params(exc: ValidationError) -> str:
    """Where the params are wrong, by place only (pydantic's text quotes the values)."""
    places = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
    return "Invalid params: " + ", ".join(places[:5])
