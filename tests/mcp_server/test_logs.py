"""The SDK's own log lines, with the tools server's filter on the handler: what a client sent
never shows, whichever logger the SDK used."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import mcp.types as types
import pytest
from mcp.server.lowlevel import Server
from mcp.shared.message import SessionMessage

from mcp_server._logs import WITHHELD, SdkDetail

PRIVATE = "private-5e2b7a-argument-value"


@pytest.fixture
def filtered(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    sdk_detail = SdkDetail()
    caplog.handler.addFilter(sdk_detail)
    yield caplog
    caplog.handler.removeFilter(sdk_detail)


async def _answer(*messages: types.JSONRPCMessage) -> types.JSONRPCMessage:
    """What the SDK's low-level server (in its stateless mode, as the tools server runs it)
    answers to the last of ``messages`` (its notifications skipped), sent in order without any
    of our checks in front."""
    server: Server[object, object] = Server("test")
    to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](4)
    server_writes, from_server = anyio.create_memory_object_stream[SessionMessage](4)
    async with (
        to_server,
        server_reads,
        server_writes,
        from_server,
        anyio.create_task_group() as tasks,
    ):
        options = server.create_initialization_options()
        tasks.start_soon(lambda: server.run(server_reads, server_writes, options, stateless=True))
        for message in messages:
            await to_server.send(SessionMessage(message))
        with anyio.fail_after(5):
            answer = await from_server.receive()
            while isinstance(answer.message.root, types.JSONRPCNotification):
                answer = await from_server.receive()
        tasks.cancel_scope.cancel()
    return answer.message


@pytest.mark.asyncio
async def test_the_sdks_validation_lines_lose_the_arguments(
    filtered: pytest.LogCaptureFixture,
) -> None:
    request = types.JSONRPCRequest(
        jsonrpc="2.0", id=1, method="tools/call", params={"arguments": {"who": PRIVATE}}
    )
    answer = await _answer(types.JSONRPCMessage(request))
    assert isinstance(answer.root, types.JSONRPCError)  # the SDK refused it, and logged why
    assert f"Failed to validate request {WITHHELD}" in filtered.text
    assert PRIVATE not in filtered.text


@pytest.mark.asyncio
async def test_a_line_the_sdk_formats_itself_loses_the_value_in_its_middle(
    filtered: pytest.LogCaptureFixture,
) -> None:
    # A client's answer to a request the server never sent, with an id of its own making;
    # the ping after it is answered once the SDK has handled (and logged) it.
    answer = types.JSONRPCResponse(jsonrpc="2.0", id=PRIVATE, result={})
    ping = types.JSONRPCRequest(jsonrpc="2.0", id=2, method="ping")
    pong = await _answer(types.JSONRPCMessage(answer), types.JSONRPCMessage(ping))
    assert isinstance(pong.root, types.JSONRPCResponse)
    assert f"Response ID {WITHHELD}" in filtered.text
    assert PRIVATE not in filtered.text


def test_an_sdk_traceback_keeps_only_the_exceptions_type(
    filtered: pytest.LogCaptureFixture,
) -> None:
    try:
        raise ValueError(PRIVATE)
    except ValueError:
        logging.getLogger("mcp.server.streamable_http").exception("Error handling POST request")
    assert filtered.records[-1].getMessage() == "Error handling POST request [ValueError]"
    assert PRIVATE not in filtered.text
    assert "Traceback" not in filtered.text


def test_the_sdks_arguments_are_dropped_and_other_lines_kept(
    filtered: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger("mcp.server.lowlevel.server").warning("Tool '%s' not listed", PRIVATE)
    logging.getLogger("tools").warning("ours: %s", "kept")
    assert [record.getMessage() for record in filtered.records] == [
        f"Tool {WITHHELD}",
        "ours: kept",
    ]
