"""The tools server through the ``mcp`` SDK's own client, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER

from tests.actions.conftest import CANARY, METRICS_TOKEN, ThreadedWebhook
from tests.mcp_server.conftest import ToolsEnv, connect
from tests.servers import start_server
from webhooks import MAX_CALLS_PER_CONVERSATION, Category
from webhooks.egress._egress import MAX_BODY_BYTES
from webhooks.egress._messages import TRUNCATION_MARK
from webhooks.egress._redaction import MASK

pytestmark = pytest.mark.asyncio

#: A value no log line may show: arguments are the users' data.
PRIVATE_ORDER = 918273645


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content)


def _initialize(request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }


def _headers(token: str | None, session: str | None = None) -> dict[str, str]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if session is not None:
        headers[MCP_SESSION_ID_HEADER] = session
    return headers


def _call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def _webhook_requests(webhook: ThreadedWebhook, path: str) -> list[dict[str, Any]]:
    return [r for r in webhook.requests if r["path"] == path]


async def test_lists_the_enabled_tools_with_strict_schemas(tools_env: ToolsEnv) -> None:
    tools_env.put(
        "store_hours",
        description="Opening hours of a store",
        parameters=[
            {"name": "city", "type": "string", "description": "Which city",
             "values": ["Berlin", "Lisbon"]},
            {"name": "day", "type": "integer", "description": "Day of the month",
             "required": False},
            {"name": "open_now", "type": "boolean", "description": "Only open stores",
             "required": False},
            {"name": "radius", "type": "number", "description": "Kilometres", "required": False},
        ],
    )  # fmt: skip
    tools_env.put("switched_off", enabled=False)
    async with connect(tools_env.url(), tools_env.token) as client:
        listed = {tool.name: tool for tool in (await client.session.list_tools()).tools}
    assert "switched_off" not in listed
    hours = listed["store_hours"]
    assert hours.description == "Opening hours of a store"
    assert hours.inputSchema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "Which city", "enum": ["Berlin", "Lisbon"]},
            "day": {"type": "integer", "description": "Day of the month"},
            "open_now": {"type": "boolean", "description": "Only open stores"},
            "radius": {"type": "number", "description": "Kilometres"},
        },
        "required": ["city"],
        "additionalProperties": False,
    }


async def test_the_server_says_its_tool_list_changes(tools_env: ToolsEnv) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
    assert response.status_code == 200
    assert response.json()["result"]["capabilities"]["tools"] == {"listChanged": True}
    assert response.headers[MCP_SESSION_ID_HEADER]


async def test_a_post_call_returns_what_the_webhook_answered(tools_env: ToolsEnv) -> None:
    tools_env.put("order_status")
    before = len(_webhook_requests(tools_env.webhook, "/echo"))
    async with connect(tools_env.url(), tools_env.token) as client:
        result = await client.session.call_tool("order_status", {"order_id": "#4521"})
    assert result.isError is False
    assert result.structuredContent == {
        "status": 200,
        "data": {"method": "POST", "query": []},
        "truncated": False,
    }
    assert json.loads(_text(result)) == {"method": "POST", "query": []}
    sent = _webhook_requests(tools_env.webhook, "/echo")[before:]
    assert len(sent) == 1
    # Converted as a user's answer is: "#4521" for an integer is 4521.
    assert json.loads(sent[0]["body"]) == {"order_id": 4521}
    assert sent[0]["headers"]["X-Api-Key"] == CANARY


async def test_a_tool_result_stays_data_whatever_the_bots_replies(tools_env: ToolsEnv) -> None:
    """Reply templates are for the bot's users; an agent gets the webhook's data as it came."""
    tools_env.put("order_status", replies={"success": "Order {{ order_id }}: {{ result.method }}"})
    async with connect(tools_env.url(), tools_env.token) as client:
        result = await client.session.call_tool("order_status", {"order_id": "4521"})
    assert result.structuredContent is not None
    assert result.structuredContent["data"] == {"method": "POST", "query": []}
    assert "Order 4521" not in _text(result)


async def test_a_get_call_sends_a_query_string(tools_env: ToolsEnv) -> None:
    tools_env.put("order_lookup", method="GET")
    async with connect(tools_env.url(), tools_env.token) as client:
        result = await client.session.call_tool("order_lookup", {"order_id": 7})
    assert result.isError is False
    assert result.structuredContent == {
        "status": 200,
        "data": {"method": "GET", "query": [["order_id", "7"]]},
        "truncated": False,
    }


async def test_a_text_answer_comes_as_response_text(tools_env: ToolsEnv) -> None:
    tools_env.put("say_text", path="/text", method="GET", parameters=[])
    async with connect(tools_env.url(), tools_env.token) as client:
        result = await client.session.call_tool("say_text", {})
    assert result.structuredContent == {
        "status": 200,
        "data": {"response_text": "plain words, not JSON"},
        "truncated": False,
    }


async def test_a_long_answer_is_cut_and_says_so(tools_env: ToolsEnv) -> None:
    tools_env.put("big", path="/big", method="GET", parameters=[])
    async with connect(tools_env.url(), tools_env.token) as client:
        result = await client.session.call_tool("big", {})
    assert result.isError is False
    assert result.structuredContent is not None
    assert result.structuredContent["truncated"] is True
    assert result.structuredContent["data"]["response_text"].endswith(
        TRUNCATION_MARK.format(limit=MAX_BODY_BYTES)
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"order_id": "abc"}, "arguments.order_id: Please give a whole number"),
        ({"order_id": True}, "arguments.order_id: Please give"),
        ({}, "arguments.order_id: this parameter is required"),
        ({"order_id": None}, "arguments.order_id: this parameter is required"),
        ({"order_id": 1, "colour": "red"}, "arguments.colour: no parameter has this name"),
        ({"order_id": [1, 2]}, "arguments.order_id: must be a string, number or boolean"),
    ],
)
async def test_bad_arguments_get_an_error_naming_the_parameter(
    tools_env: ToolsEnv, arguments: dict[str, Any], expected: str
) -> None:
    tools_env.put("order_status")
    before = len(tools_env.webhook.requests)
    async with connect(tools_env.url(), tools_env.token) as client:
        result = await client.session.call_tool("order_status", arguments)
    assert result.isError is True
    assert expected in _text(result)
    assert len(tools_env.webhook.requests) == before  # nothing was sent


async def test_a_failed_call_is_a_polite_error_without_detail(tools_env: ToolsEnv) -> None:
    tools_env.put("broken", path="/status/500")
    tools_env.put("secretive", path="/headers")
    async with connect(tools_env.url(), tools_env.token) as client:
        failed = await client.session.call_tool("broken", {"order_id": 1})
        echoed = await client.session.call_tool("secretive", {"order_id": 1})
    assert failed.isError is True
    assert _text(failed) == Category.UNAVAILABLE.sentence
    assert failed.structuredContent is None
    # An endpoint that echoes its request does not hand the stored header value on.
    assert echoed.isError is False
    assert echoed.structuredContent is not None
    assert echoed.structuredContent["data"]["X-Api-Key"] == MASK
    assert CANARY not in _text(echoed)
    assert CANARY not in json.dumps(echoed.structuredContent)


async def test_a_header_value_echoed_changed_is_masked_in_tool_results(
    tools_env: ToolsEnv,
) -> None:
    async with connect(tools_env.url(), tools_env.token) as client:
        for form in ["prefix-cut", "base64", "hex", "u-escaped", "split"]:  # one of each rule
            # The name of an earlier test's action: the tenant holds 10 at most.
            tools_env.put("secretive", path=f"/echo-as/{form}")
            result = await client.session.call_tool("secretive", {"order_id": 1})
            assert result.structuredContent is not None
            seen = result.structuredContent["data"]["seen"]
            assert seen in (MASK, {"first": MASK, "second": MASK}), form


async def test_a_disabled_tool_goes_and_a_new_one_comes_within_a_second(
    tools_env: ToolsEnv,
) -> None:
    tools_env.put("order_status")
    async with connect(tools_env.url(), tools_env.token) as client:
        await client.listening(within=5.0)
        tools_env.store.catalog.update("acme", "order_status", {"enabled": False}, actor="test")
        await client.heard_list_changed(within=1.0)
        names = {tool.name for tool in (await client.session.list_tools()).tools}
        assert "order_status" not in names
        refused = await client.session.call_tool("order_status", {"order_id": 1})
        assert refused.isError is True
        assert _text(refused) == Category.DISABLED.sentence

        client.heard.clear()
        tools_env.store.catalog.create("acme", tools_env.definition("brand_new"), actor="test")
        await client.heard_list_changed(within=1.0)
        names = {tool.name for tool in (await client.session.list_tools()).tools}
        assert "brand_new" in names
    tools_env.store.catalog.delete("acme", "brand_new", actor="test")


async def test_a_switched_off_skill_leaves_no_tools(tools_env: ToolsEnv) -> None:
    tools_env.put("order_status")
    tools_env.store.accounts.set_skill("acme", False, actor="test")
    tools_env.wait_refreshed()
    try:
        async with connect(tools_env.url(), tools_env.token) as client:
            assert (await client.session.list_tools()).tools == []
            result = await client.session.call_tool("order_status", {"order_id": 1})
        assert _text(result) == Category.DISABLED.sentence
    finally:
        tools_env.store.accounts.set_skill("acme", True, actor="test")
        tools_env.wait_refreshed()


@pytest.mark.parametrize("who", ["wrong", "none", "another tenant's"])
async def test_a_wrong_token_is_refused(tools_env: ToolsEnv, who: str) -> None:
    token = {
        "wrong": "whm_" + "x" * 43,
        "none": None,
        "another tenant's": tools_env.store.accounts.issue_tools_token(
            "globex", actor="test", replace=True
        ),
    }[who]
    tools_env.wait_refreshed()
    with pytest.raises(ExceptionGroup) as raised:
        async with connect(tools_env.url("acme"), token):
            pass
    assert raised.group_contains(httpx.HTTPStatusError, match="401")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            tools_env.url("acme"), json=_initialize(), headers=_headers(token)
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_session_must_be_one_the_server_issued(tools_env: ToolsEnv) -> None:
    tools_env.put("order_status")
    async with httpx.AsyncClient() as http:
        no_session = await http.post(
            tools_env.url(), json=_call(2, "order_status", {"order_id": 1}),
            headers=_headers(tools_env.token),
        )  # fmt: skip
        made_up = await http.post(
            tools_env.url(), json=_call(2, "order_status", {"order_id": 1}),
            headers=_headers(tools_env.token, "madeup.0123456789abcdef0123456789abcdef"),
        )  # fmt: skip
        stream = await http.get(tools_env.url(), headers=_headers(tools_env.token))
        ended = await http.delete(tools_env.url(), headers=_headers(tools_env.token))
    assert (no_session.status_code, no_session.json()["error"]["code"]) == (400, "missing_session")
    assert (made_up.status_code, made_up.json()["error"]["code"]) == (404, "session_not_found")
    assert (stream.status_code, stream.json()["error"]["code"]) == (400, "missing_session")
    assert ended.status_code == 405


async def test_the_eleventh_call_of_a_session_is_refused(tools_env: ToolsEnv) -> None:
    tools_env.put("counted")
    before = len(_webhook_requests(tools_env.webhook, "/echo"))
    async with connect(tools_env.url(), tools_env.token) as client:
        results = [
            await client.session.call_tool("counted", {"order_id": n})
            for n in range(MAX_CALLS_PER_CONVERSATION + 1)
        ]
    assert [r.isError for r in results] == [False] * MAX_CALLS_PER_CONVERSATION + [True]
    assert _text(results[-1]) == Category.RATE_LIMITED.sentence
    assert len(_webhook_requests(tools_env.webhook, "/echo")) - before == 10
    # A new session has its own ten.
    async with connect(tools_env.url(), tools_env.token) as client:
        again = await client.session.call_tool("counted", {"order_id": 1})
    assert again.isError is False


async def test_two_servers_make_exactly_ten_calls_for_thirty_in_one_session(
    tools_env: ToolsEnv,
) -> None:
    tools_env.put("raced")
    process, second = start_server("mcp_server", tools_env.env, tools_env.log_path)
    tools_env.processes.append(process)
    tools_env.wait_refreshed(second)
    before = len(_webhook_requests(tools_env.webhook, "/echo"))
    async with httpx.AsyncClient(timeout=30) as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
        session = opened.headers[MCP_SESSION_ID_HEADER]
        answers = await asyncio.gather(
            *(
                http.post(
                    tools_env.url(base_url=(tools_env.base_url, second)[n % 2]),
                    json=_call(n + 10, "raced", {"order_id": n}),
                    headers=_headers(tools_env.token, session),
                )
                for n in range(30)
            )
        )
    results = [answer.json()["result"] for answer in answers]
    assert [answer.status_code for answer in answers] == [200] * 30
    assert sum(not result["isError"] for result in results) == 10
    refused = [r["content"][0]["text"] for r in results if r["isError"]]
    assert refused == [Category.RATE_LIMITED.sentence] * 20
    assert len(_webhook_requests(tools_env.webhook, "/echo")) - before == 10


async def test_a_new_token_ends_the_old_one_and_its_sessions(tools_env: ToolsEnv) -> None:
    tools_env.put("order_status")
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
        session = opened.headers[MCP_SESSION_ID_HEADER]
        new = tools_env.store.accounts.issue_tools_token("acme", actor="test", replace=True)
        tools_env.wait_refreshed()
        try:
            old = await http.post(
                tools_env.url(), json=_call(2, "order_status", {"order_id": 1}),
                headers=_headers(tools_env.token, session),
            )  # fmt: skip
            stale = await http.post(
                tools_env.url(), json=_call(2, "order_status", {"order_id": 1}),
                headers=_headers(new, session),
            )  # fmt: skip
        finally:
            tools_env.token = new
    assert old.status_code == 401
    assert stale.status_code == 404


async def test_logs_and_metrics_say_what_happened_and_nothing_private(
    tools_env: ToolsEnv,
) -> None:
    tools_env.put("order_status")
    async with connect(tools_env.url(), tools_env.token) as client:
        await client.session.call_tool("order_status", {"order_id": PRIVATE_ORDER})
        await client.session.call_tool("order_status", {"order_id": "not a number"})
    async with httpx.AsyncClient() as http:
        metrics = await http.get(
            tools_env.base_url + "/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        )
        refused = await http.get(tools_env.base_url + "/metrics")
    assert refused.status_code == 401
    assert 'webhook_calls_total{action="order_status",outcome="ok",tenant="acme"}' in metrics.text
    gauges = dict(line.split() for line in metrics.text.splitlines() if line.startswith("webhook_"))
    assert 0 < float(gauges["webhook_cache_age_seconds"]) < 5  # the registry's, read now
    assert float(gauges["webhook_definitions"]) >= 1
    log = tools_env.log_path.read_text()
    assert "tool_call tenant=acme tool=order_status status=200 category=ok" in log
    assert "tool_call tenant=acme tool=order_status status=- category=invalid_arguments" in log
    assert str(PRIVATE_ORDER) not in log
    assert "not a number" not in log
    assert CANARY not in log
    assert tools_env.token not in log


def _sessions_open(base_url: str) -> int:
    metrics = httpx.get(
        base_url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    line = next(line for line in metrics.splitlines() if line.startswith("mcp_sessions_open "))
    return int(float(line.split()[1]))


async def test_a_plain_call_is_answered_as_the_sdk_answers_one_with_meta(
    tools_env: ToolsEnv,
) -> None:
    tools_env.put("order_status")
    # A second server: the session is opened on the first, so the second runs the SDK's
    # server for it only once a call takes the SDK's path.
    process, second = start_server("mcp_server", tools_env.env, tools_env.log_path)
    tools_env.processes.append(process)
    tools_env.wait_refreshed(second)
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
        session = opened.headers[MCP_SESSION_ID_HEADER]
        headers = _headers(tools_env.token, session)
        url = tools_env.url(base_url=second)
        plain = await http.post(
            url, json=_call(7, "order_status", {"order_id": "#12"}), headers=headers
        )
        assert _sessions_open(second) == 0  # answered without the SDK's session
        asking = _call(8, "order_status", {"order_id": "#12"})
        asking["params"]["_meta"] = {"progressToken": "p1"}  # progress: the SDK's path
        through_sdk = await http.post(url, json=asking, headers=headers)
        assert _sessions_open(second) == 1
        failing = await http.post(
            url, json=_call(9, "order_status", {"order_id": "x"}), headers=headers
        )
        failing_sdk = _call(10, "order_status", {"order_id": "x"})
        failing_sdk["params"]["_meta"] = {"progressToken": "p2"}
        failing_through_sdk = await http.post(url, json=failing_sdk, headers=headers)
    for answer in (plain, through_sdk, failing, failing_through_sdk):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers[MCP_SESSION_ID_HEADER] == session
    assert plain.json() == {**through_sdk.json(), "id": 7}
    assert plain.json()["result"]["structuredContent"]["data"] == {"method": "POST", "query": []}
    assert failing.json() == {**failing_through_sdk.json(), "id": 9}
    assert failing.json()["result"]["isError"] is True


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"params": {"arguments": {}}}, 200),  # no tool name: a JSON-RPC error, as the SDK's
        ({"method": "tools/unknown"}, 200),
        ({"jsonrpc": "1.0"}, 400),
    ],
)
async def test_a_malformed_call_gets_a_json_rpc_error(
    tools_env: ToolsEnv, change: dict[str, Any], status: int
) -> None:
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
        session = opened.headers[MCP_SESSION_ID_HEADER]
        answer = await http.post(
            tools_env.url(),
            json={**_call(3, "order_status", {"order_id": 1}), **change},
            headers=_headers(tools_env.token, session),
        )
    assert answer.status_code == status
    assert "error" in answer.json()
    assert "result" not in answer.json()


async def test_a_client_that_accepts_no_json_is_refused_by_the_sdk(tools_env: ToolsEnv) -> None:
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
        headers = _headers(tools_env.token, opened.headers[MCP_SESSION_ID_HEADER])
        headers["Accept"] = "text/event-stream"
        answer = await http.post(
            tools_env.url(), json=_call(3, "order_status", {"order_id": 1}), headers=headers
        )
    assert answer.status_code == 406


async def test_a_new_token_ends_the_notification_streams_of_the_old_one(
    tools_env: ToolsEnv,
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        opened = await http.post(
            tools_env.url(), json=_initialize(), headers=_headers(tools_env.token)
        )
        headers = _headers(tools_env.token, opened.headers[MCP_SESSION_ID_HEADER])
        async with http.stream("GET", tools_env.url(), headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            new = tools_env.store.accounts.issue_tools_token("acme", actor="test", replace=True)
            tools_env.token = new
            async with asyncio.timeout(5):  # the stream ends: the old token's sessions are over
                async for _ in stream.aiter_bytes():
                    pass
