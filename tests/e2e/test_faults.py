"""Faults under the real bot: Rasa's lock store restarted, the action server killed mid-turn.

Each runs on a Rasa replica of its own (the shared assistant keeps serving the other tests).
While a part is down no request hangs; once it is back the same conversation goes on with the
right answers, and no webhook call is counted twice.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin.conftest import free_port
from tests.e2e.conftest import IN_CI, Assistant, new_sender
from tests.polling import wait_until
from tests.servers import calls_counted

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

ANSWER_4521 = ["Order #4521 has shipped and arrives in 2 days."]


class Redis:
    """A Redis of the test's own, on a free port, that it may stop and start."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.logs / "redis.log").open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis(assistant: Assistant) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    server = Redis(assistant.logs)
    server.start()
    yield server
    server.stop()


def _end(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def _calls(assistant: Assistant, sender: str) -> int:
    return calls_counted(assistant.store.engine, sender)


def _say(rasa: str, sender: str, message: str) -> tuple[int, list[str], float]:
    started = time.monotonic()
    response = httpx.post(
        f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=60
    )
    texts = [m.get("text", "") for m in response.json()] if response.status_code == 200 else []
    return response.status_code, texts, time.monotonic() - started


def test_a_lock_store_restart_leaves_the_conversation_going(
    assistant: Assistant, redis: Redis
) -> None:
    rasa = assistant.start_rasa(
        "rasa-redis",
        f"""action_endpoint:
  url: {assistant.actions_url}/tenants/demo/webhook
  token: {assistant.action_token}
lock_store:
  type: redis
  url: 127.0.0.1
  port: {redis.port}
  db: 0
""",
    )
    sender = new_sender()
    assert _say(rasa, sender, "where is my order #4521?")[1] == ANSWER_4521
    redis.stop()
    status, _, took = _say(rasa, sender, "where is my order #4522?")
    assert took < 30  # Rasa gives up on its lock store; nothing hangs
    redis.start()
    attempts = 1
    deadline = time.monotonic() + 30
    while (answer := _say(rasa, sender, "where is my order #4521?")[1]) != ANSWER_4521:
        assert time.monotonic() < deadline, (status, answer)
        attempts += 1
        time.sleep(1)
    # The turn Rasa could not lock made no call; every other turn exactly one.
    assert _calls(assistant, sender) == 1 + attempts
    _end(assistant.processes.pop("rasa-redis"))


@pytest.fixture
def slow_orders(assistant: Assistant) -> Iterator[Assistant]:
    store = assistant.store
    webhook = store.catalog.get("demo", "order_status")
    before, headers = webhook.url, store.catalog.headers_for(webhook)  # headers follow the URL
    slow = {"url": f"{assistant.demo_url}/slow?seconds=3", "headers": headers}
    store.catalog.update("demo", "order_status", slow, actor="e2e")
    yield assistant
    store.catalog.update("demo", "order_status", {"url": before, "headers": headers}, actor="e2e")
    assistant.wait_served()


def test_an_action_server_killed_mid_turn_comes_back_and_counts_once(
    slow_orders: Assistant,
) -> None:
    assistant = slow_orders
    port = free_port()
    actions = assistant.start_action_server("actions-kill", port=port)
    rasa = assistant.start_rasa(
        "rasa-kill",
        f"""action_endpoint:
  url: {actions}/tenants/demo/webhook
  token: {assistant.action_token}
""",
    )
    sender = new_sender()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        turn = pool.submit(_say, rasa, sender, "where is my order #4521?")
        # Counted just before it is sent, and the webhook answers after 3 s: under way.
        wait_until(lambda: _calls(assistant, sender) == 1, "the call is counted")
        killed = assistant.processes.pop("actions-kill")
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
        status, said, took = turn.result(timeout=60)
    # No hang: Rasa gets a failed connection at once. Rasa 3.6 then says nothing for that turn
    # (an action that fails has no reply of its own, and ours was the one that died).
    assert took < 30
    assert (status, said) == (200, [])
    store = assistant.store
    headers = store.catalog.headers_for(
        store.catalog.get("demo", "order_status")
    )  # they follow the URL
    store.catalog.update(
        "demo",
        "order_status",
        {"url": f"{assistant.demo_url}/orders/status", "headers": headers},
        actor="e2e",
    )
    assistant.start_action_server("actions-kill", port=port)  # back, on the same address
    assert _say(rasa, sender, "where is my order #4521?")[1] == ANSWER_4521
    # The killed turn's call was counted when it was made, the next one once: never twice.
    assert _calls(assistant, sender) == 2
    _end(assistant.processes.pop("rasa-kill"))
