"""The ASGI plumbing of the tools server: bounded bodies read once and replayed to the SDK,
errors in the admin API's JSON envelope, failed tokens counted against the client's address,
and a guard that never lets an exception's text out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from webhooks import AuthFailures, Throttled, error_body

__all__ = [
    "MAX_BODY_BYTES",
    "Asgi",
    "Guarded",
    "error_response",
    "read_body",
    "refused_by",
    "replay",
]

logger = logging.getLogger("tools")

#: The largest request body read: a tool call's arguments are a few scalars.
MAX_BODY_BYTES = 256 * 1024


def error_response(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def refused_by(
    failures: AuthFailures,
    request: Request,
    *,
    admitted: Callable[[], bool],
    message: str = "unknown tenant or bad token",
) -> JSONResponse | None:
    """None when ``admitted()`` says the request's token is right; otherwise 401, counted
    against the address when a token was sent, or 429 for an address past its failures. A
    right token always passes: agents behind one address must not lose it to another's
    wrong token."""
    if admitted():
        return None
    if "authorization" in request.headers:
        address = request.client.host if request.client is not None else None
        try:
            failures.check(address)
        except Throttled as exc:
            return error_response(429, exc.code, str(exc), **{"Retry-After": str(exc.retry_after)})
        failures.failed(address, request.url.path)
    return error_response(401, "unauthenticated", message, **{"WWW-Authenticate": "Bearer"})


async def read_body(request: Request) -> bytes | None:
    """The request's body, or None past :data:`MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the SDK: the body read already, then what the client sends next (its
    disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


class Asgi:
    """An ASGI app for a Starlette route (a plain function would be served request-response)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Guarded:
    """Answers an unexpected exception with the JSON envelope and logs its type only: its text
    could carry a request's content (Starlette's own handler re-raises it for the server to
    log in full)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            logger.error("unexpected %s while serving %s", type(exc).__name__, scope.get("path"))
            if scope["type"] == "http" and not started:
                response = error_response(
                    500, "internal_error", "internal error; see the tools server log"
                )
                await response(scope, receive, send)
