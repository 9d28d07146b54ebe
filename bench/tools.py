"""The MCP tools server against the action server: the same webhook call, as a tool.

Both servers run on one store (SQLite) and call the same local HTTPS webhook; a load generator
in its own process keeps 16 calls in flight: to the action server the captured Rasa call of
``bench actions`` (each a new conversation), to the tools server a ``tools/call`` of the same
action with the same argument over streamable HTTP (JSON answers), ten calls per MCP session
(the limit), the sessions opened before each round and not timed. Alternating rounds; calls per
second, p50 and p99 latency and each server's CPU time per call (medians).
Target: tools/call throughput >= 0.8 x the action server's, judged on the median of the rounds
(each tools round against the action round just before it).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench.actions import CONCURRENCY, EXPECTED, _cpu_seconds, _print_rounds, _round, _start_ours
from bench.fixtures import action_call, seed_store
from bench.https_server import running
from bench.load import run as run_load
from bench.servers import wait_until_up
from webhooks import MAX_CALLS_PER_CONVERSATION, Keyring, Store, generate_key, make_engine

CALLS = 2000
ROUNDS = 9
THROUGHPUT_FLOOR = 0.8
PROTOCOL = "2025-06-18"
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": PROTOCOL}
CALL = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 123456789,
        "method": "tools/call",
        "params": {"name": "order_status", "arguments": {"order_id": 4521}},
    }
).replace("123456789", "{i}")


def _sessions(url: str, token: str, count: int) -> list[str]:
    """``count`` new MCP sessions (initialize requests); their ids."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    headers = {**HEADERS, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    ids = []
    for _ in range(count):
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            ids.append(response.headers["Mcp-Session-Id"])
    return ids


def _tools_round(process: Any, url: str, token: str) -> dict[str, Any]:
    sessions = _sessions(url, token, CALLS // MAX_CALLS_PER_CONVERSATION)
    before = _cpu_seconds(process.pid)
    result = run_load(
        {
            "url": url,
            "method": "POST",
            "concurrency": CONCURRENCY,
            "total": CALLS,
            "tokens": [token],
            "headers": HEADERS,
            "sessions": sessions,
            "per_session": MAX_CALLS_PER_CONVERSATION,
            "body": CALL,
            "expect": EXPECTED,
        }
    )
    result["cpu_ms"] = (_cpu_seconds(process.pid) - before) / CALLS * 1000
    return result


def run() -> int:
    body = action_call()
    with running() as hook, tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        (tmp / "ca.pem").write_bytes(hook.ca_file.read_bytes())
        key = generate_key()
        database_url = f"sqlite:///{tmp}/tools.db"
        action_token = seed_store(database_url, key, 10, f"https://127.0.0.1:{hook.port}/hook")
        engine = make_engine(database_url)
        tools_token = Store(engine, Keyring([key])).accounts.issue_tools_token("t0", actor="bench")
        engine.dispose()
        actions, actions_base = _start_ours(tmp, database_url, key)
        tools, tools_base = _start_ours(tmp, database_url, key, module="mcp_server")
        try:
            wait_until_up(f"{actions_base}/health", actions)
            wait_until_up(f"{tools_base}/health", tools)
            action_url = f"{actions_base}/tenants/t0/webhook?token={action_token}"
            tools_url = f"{tools_base}/tenants/t0/mcp"
            runs: dict[str, list[dict[str, Any]]] = {"actions": [], "tools": []}
            for round_ in range(ROUNDS):  # alternate: drift on a shared machine hits both
                runs["actions"].append(_round(actions, action_url, body, CALLS, f"r{round_}"))
                runs["tools"].append(_tools_round(tools, tools_url, tools_token))
        finally:
            for process in (actions, tools):
                process.terminate()
                process.wait(10)
    print(
        f"one webhook call, {CONCURRENCY} in flight, {CALLS} calls a round, "
        f"{ROUNDS} alternating rounds (medians)"
    )
    labels = {"actions": "action server (Rasa's call)", "tools": "tools server (MCP tools/call)"}
    ok = _print_rounds({labels[name]: results for name, results in runs.items()}, CALLS)
    ratios = sorted(
        t["per_second"] / a["per_second"]
        for a, t in zip(runs["actions"], runs["tools"], strict=True)
    )
    ratio = statistics.median(ratios)
    met = ratio >= THROUGHPUT_FLOOR
    print(
        f"throughput tools/actions = {ratio:.2f} (target >= {THROUGHPUT_FLOOR}; rounds "
        f"{ratios[0]:.2f}-{ratios[-1]:.2f}) -> {'met' if met else 'NOT met'}"
    )
    return 0 if ok and met else 1
