"""The translation of a webhook call's foreign errors into the project's tree, on its own and
from a real server's answer."""

from __future__ import annotations

import asyncio
import inspect
import ssl
from typing import Any

import aiohttp
import pytest

from webhooks._exceptions import (
    CallFailed,
    ConnectionFailed,
    InvalidResponse,
    TLSFailed,
    WebhookTimeout,
)
from webhooks.egress._client_errors import map_client_errors, mapping_for, translate_error
from webhooks.egress._egress import Egress
from webhooks.egress._messages import WebhookRequest


def _aiohttp_client_errors() -> list[type[BaseException]]:
    found = set()
    for name in aiohttp.__all__:
        candidate = getattr(aiohttp, name)
        if inspect.isclass(candidate) and issubclass(candidate, aiohttp.ClientError):
            found.add(candidate)
    pending = list(found)
    while pending:  # also the subclasses aiohttp does not export
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith("aiohttp") and subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize(
    "error_class", [pytest.param(c, id=c.__name__) for c in _aiohttp_client_errors()]
)
def test_every_aiohttp_client_error_is_mapped(error_class: type[BaseException]) -> None:
    error = error_class.__new__(error_class)  # constructors differ; the class is what matters
    mapped = translate_error(error)
    assert isinstance(mapped, CallFailed)
    assert type(mapped) is not CallFailed
    if error_class is not aiohttp.ClientError:
        # Matched by a deliberate entry, not only by the catch-all for the root.
        assert mapping_for(error_class) is not aiohttp.ClientError


def test_the_walk_found_aiohttp_errors() -> None:
    assert len(_aiohttp_client_errors()) >= 25  # so the table above cannot be empty


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(TimeoutError(), WebhookTimeout, id="timeout"),
        pytest.param(ssl.SSLError(1, "bad"), TLSFailed, id="ssl"),
        pytest.param(ConnectionRefusedError(111, "refused"), ConnectionFailed, id="refused"),
        pytest.param(aiohttp.ServerDisconnectedError(), ConnectionFailed, id="disconnected"),
        pytest.param(aiohttp.ClientPayloadError("cut"), InvalidResponse, id="payload"),
    ],
)
def test_foreign_errors_are_translated_with_cause(
    error: BaseException, expected: type[CallFailed]
) -> None:
    with pytest.raises(expected) as caught, map_client_errors():
        raise error
    assert caught.value.__cause__ is error


@pytest.mark.asyncio
async def test_garbage_answer_is_an_invalid_response(
    egress: Egress, ca: Any, connection_attempts: list[str]
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(garbage, "127.0.0.1", 0, ssl=context)
    port = listener.sockets[0].getsockname()[1]
    try:
        with pytest.raises(InvalidResponse):
            await egress.call(WebhookRequest(url=f"https://127.0.0.1:{port}/"))
    finally:
        listener.close()
        await listener.wait_closed()
