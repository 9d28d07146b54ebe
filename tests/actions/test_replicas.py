"""Two action-server processes on one PostgreSQL store agree on the conversation limit and
share the tenant's budget of calls per minute."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from sqlalchemy import Engine

from tests.actions.conftest import ThreadedWebhook, calling, start_action_server, stop
from tests.budgets import start_of_a_minute
from tests.conftest import temporary_postgres
from webhooks import EgressRules, Keyring, Store, generate_key, make_engine, migrate

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres_admin: Engine) -> Iterator[str]:
    with temporary_postgres(postgres_admin, "webhooks_replicas") as url:
        yield url


@contextmanager
def _two_replicas(
    database: str, tmp_path: Path, *, calls_per_minute: int | None = None
) -> Iterator[tuple[str, ThreadedWebhook, list[str]]]:
    """Tenant acme with order_status on a local webhook, served by two action-server
    processes on ``database``: its action token, the webhook and the two base URLs."""
    key = generate_key()
    engine = make_engine(database)
    migrate(engine)
    store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
    store.accounts.create_tenant("acme", actor="test")
    store.accounts.set_skill("acme", True, actor="test")
    if calls_per_minute is not None:
        store.budgets.set_calls_per_minute("acme", calls_per_minute, actor="test")
    token = store.accounts.issue_action_token("acme", actor="test")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    webhook = ThreadedWebhook(ca)
    store.catalog.create(
        "acme",
        {
            "name": "order_status",
            "description": "Look up an order",
            "url": webhook.url("/echo"),
            "parameters": [{"name": "order_id", "type": "integer", "description": "order"}],
        },
        actor="test",
    )
    env = {
        "DATABASE_URL": database,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
        "WEBHOOKS_CA_FILE": str(tmp_path / "ca.pem"),
    }
    replicas = [start_action_server(env, tmp_path / f"replica{i}.log") for i in range(2)]
    try:
        yield token, webhook, [url for _, url in replicas]
    finally:
        for process, _ in replicas:
            stop(process)
        webhook.stop()
        engine.dispose()


def _fire(urls: list[str], token: str, calls: list[dict[str, Any]]) -> list[httpx.Response]:
    """Every call at once, alternating between the replicas."""

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{urls[i % 2]}/tenants/acme/webhook", params={"token": token}, json=call
                    )
                    for i, call in enumerate(calls)
                )
            )

    return asyncio.run(fire())


def test_fifty_concurrent_calls_over_two_replicas_make_exactly_ten(
    database: str, tmp_path: Path
) -> None:
    call = calling("order_status", {"order_id": "1"}, sender="busy-user")
    with _two_replicas(database, tmp_path) as (token, webhook, urls):
        responses = _fire(urls, token, [call] * 50)
    assert all(r.status_code == 200 for r in responses)
    answers = [r.json()["responses"][0]["text"] for r in responses]
    assert sum(a.startswith("method: POST") for a in answers) == 10
    assert sum("as many lookups" in a for a in answers) == 40
    assert len(webhook.requests) == 10


def test_twelve_senders_over_two_replicas_share_a_budget_of_ten(
    database: str, tmp_path: Path
) -> None:
    calls = [calling("order_status", {"order_id": "1"}, sender=f"sender-{i}") for i in range(12)]
    with _two_replicas(database, tmp_path, calls_per_minute=10) as (token, webhook, urls):
        start_of_a_minute()
        responses = _fire(urls, token, calls)
    assert all(r.status_code == 200 for r in responses)
    answers = [r.json()["responses"][0]["text"] for r in responses]
    assert sum(a.startswith("method: POST") for a in answers) == 10
    assert sum("as many lookups" in a for a in answers) == 2
    assert len(webhook.requests) == 10
