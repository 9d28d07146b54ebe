"""Admin API throughput on SQLite and on PostgreSQL: list and create, from a separate process.

The server is ``python -m admin serve`` on a fresh SQLite file, then on a fresh PostgreSQL
database (made on the server ``BENCH_POSTGRES_URL`` names, the tests' by default, and dropped
after); the load generator (``bench/load.py``) runs in its own process with 16 requests in
flight. Lists read one tenant that does not change (as a console polling it does): what they
measure is authentication and the definitions kept per tenant version, with the last Tests and
pauses read each time. Creates spread over many tenants, because each tenant holds at most 10
actions.
Targets, on each database: at least 1,000 lists and 300 creates a second, p99 at most 100 ms.
Without a reachable PostgreSQL its half is not measured, and the benchmark says so and fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bench.load import run as run_load
from bench.servers import free_port, wait_until_up
from webhooks import MANAGE, Keyring, Store, generate_key, make_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 16
LIST_REQUESTS = 3000
CREATE_REQUESTS = 1500
LISTS_PER_SECOND = 1000
CREATES_PER_SECOND = 300
P99_BUDGET_MS = 100.0
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BODY = json.dumps(
    {
        "name": "hook_{i}",
        "description": "Look up an order",
        "url": "https://api.example.com/orders",
        "parameters": [{"name": "order_id", "type": "integer", "description": "Order number"}],
        "headers": {"X-Api-Key": "bench-secret"},
    }
)


@contextmanager
def _postgres() -> Iterator[str]:
    """A fresh database on the PostgreSQL server of :data:`POSTGRES_URL`, dropped after."""
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"bench_admin_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def _measure(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lists and creates against an admin server on the empty database ``url``."""
    key = generate_key()
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine, Keyring([key]))
    tokens = []
    for index in range(CREATE_REQUESTS // 10 + 1):
        tenant = f"tenant{index}"
        store.accounts.create_tenant(tenant, actor="bench")
        store.accounts.set_skill(tenant, True, actor="bench")
        tokens.append(
            store.accounts.create_operator(tenant, "ops", permissions=[MANAGE], actor="bench")[1]
        )
    for number in range(10):  # the listed tenant holds the maximum of 10 actions
        store.catalog.create(
            "tenant0", json.loads(BODY.replace("{i}", f"seed{number}")), actor="bench"
        )
    engine.dispose()

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": url,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "admin", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_until_up(base + "/health", server)
        listing = run_load(
            {
                "url": base + "/webhooks",
                "method": "GET",
                "concurrency": CONCURRENCY,
                "total": LIST_REQUESTS,
                "tokens": tokens[:1],
            }
        )
        creating = run_load(
            {
                "url": base + "/webhooks",
                "method": "POST",
                "concurrency": CONCURRENCY,
                "total": CREATE_REQUESTS,
                "tokens": tokens[1:],
                "per_token": 10,
                "body": BODY,
            }
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return listing, creating


def run() -> int:
    results: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = _measure(f"sqlite:///{tmp}/bench.db")
    missing = None
    try:
        with _postgres() as url:
            results["PostgreSQL"] = _measure(url)
    except OperationalError as exc:
        missing = f"PostgreSQL not measured: not reachable at {POSTGRES_URL} ({type(exc).__name__})"

    print(f"admin API, {CONCURRENCY} in flight, load from a separate process")
    print(f"{'database':<12}{'operation':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  statuses")
    ok = missing is None
    expected = {"GET": {"200": LIST_REQUESTS}, "POST": {"201": CREATE_REQUESTS}}
    for database, (listing, creating) in results.items():
        for label, result, floor, method in (
            ("GET /webhooks (10 actions)", listing, LISTS_PER_SECOND, "GET"),
            ("POST /webhooks", creating, CREATES_PER_SECOND, "POST"),
        ):
            print(
                f"{database:<12}{label:<28}{result['per_second']:>10.0f}"
                f"{result['median_ms']:>10.2f}{result['p99_ms']:>10.2f}  {result['statuses']}"
            )
            if result["statuses"] != expected[method]:
                print("  some requests failed: the figures above are not valid")
                ok = False
            elif result["per_second"] < floor or result["p99_ms"] > P99_BUDGET_MS:
                print(f"  missed: target >= {floor} req/s with p99 <= {P99_BUDGET_MS:g} ms")
                ok = False
    if missing:
        print(missing)
    print(
        f"targets: >= {LISTS_PER_SECOND} lists/s and >= {CREATES_PER_SECOND} creates/s, "
        f"p99 <= {P99_BUDGET_MS:g} ms, on each database: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1
