"""Two Rasa replicas sharing one conversation through PostgreSQL and Redis, each with its own
action-server process on the same store."""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest
from sqlalchemy import Engine, make_url

from tests.conftest import IN_CI, temporary_postgres
from tests.e2e.conftest import METRICS_TOKEN, Assistant, new_sender

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


def _redis_up() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return
    except OSError:
        pass
    reason = "Redis is not reachable at 127.0.0.1:6379"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _calls(action_server: str) -> float:
    metrics = httpx.get(
        f"{action_server}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("webhook_calls_total{")
    )


def test_one_conversation_across_two_rasa_and_two_action_servers(
    assistant: Assistant, postgres_admin: Engine
) -> None:
    _redis_up()
    token = assistant.action_token
    with temporary_postgres(postgres_admin, "rasa_tracker") as tracker_url:
        url = make_url(tracker_url)
        servers = [assistant.start_action_server(f"actions-{i}") for i in (1, 2)]
        prefix = f"e2e_{uuid.uuid4().hex[:8]}"
        rasas = [
            assistant.start_rasa(
                f"rasa-{i}",
                f"""action_endpoint:
  url: {server}/tenants/demo/webhook
  token: {token}
tracker_store:
  type: SQL
  dialect: postgresql
  url: {url.host}
  port: {url.port}
  db: {url.database}
  username: {url.username}
lock_store:
  type: redis
  url: 127.0.0.1
  port: 6379
  db: 1
  key_prefix: {prefix}
""",
            )
            for i, server in zip((1, 2), servers, strict=True)
        ]
        sender = new_sender()
        asked = " ".join(assistant.say_to(rasas[0], sender, "where is my order?"))
        assert "order number" in asked.lower()
        # The other replica picks the conversation up mid-form from the shared tracker store.
        assert assistant.say_to(rasas[1], sender, "4521") == [
            "Order #4521 has shipped and arrives in 2 days."
        ]
        assert assistant.say_to(rasas[0], sender, "where is my order #4523?") == [
            "Order #4523 has shipped and arrives tomorrow."
        ]
        assert _calls(servers[0]) == 1
        assert _calls(servers[1]) == 1
        stopping = [
            assistant.processes.pop(n) for n in ("rasa-1", "rasa-2", "actions-1", "actions-2")
        ]
        for process in stopping:
            process.terminate()
        for process in stopping:
            process.wait(timeout=30)
