"""Admin API throughput on SQLite: list and create, measured from a separate process.

The server is ``python -m admin serve`` on a fresh SQLite file; the load generator
(``bench/load.py``) runs in its own process with 16 requests in flight. Creates spread over
many tenants, because each tenant holds at most 10 actions. Nothing here has a target yet; the
figures are for comparison between changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.load import run as run_load
from bench.servers import free_port, wait_until_up
from webhooks import MANAGE, Keyring, Store, generate_key, make_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 16
LIST_REQUESTS = 3000
CREATE_REQUESTS = 1500
BODY = json.dumps(
    {
        "name": "hook_{i}",
        "description": "Look up an order",
        "url": "https://api.example.com/orders",
        "parameters": [{"name": "order_id", "type": "integer", "description": "Order number"}],
        "headers": {"X-Api-Key": "bench-secret"},
    }
)


def run() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        key = generate_key()
        engine = make_engine(url)
        migrate(engine)
        store = Store(engine, Keyring([key]))
        tokens = []
        for index in range(CREATE_REQUESTS // 10 + 1):
            tenant = f"tenant{index}"
            store.create_tenant(tenant, actor="bench")
            store.set_skill(tenant, True, actor="bench")
            tokens.append(
                store.create_operator(tenant, "ops", permissions=[MANAGE], actor="bench")[1]
            )
        for number in range(10):  # the listed tenant holds the maximum of 10 actions
            store.create_webhook(
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
            server.wait(timeout=10)

    print(f"admin API on SQLite, {CONCURRENCY} in flight, load from a separate process")
    print(f"{'operation':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  statuses")
    for label, result in (("GET /webhooks (10 actions)", listing), ("POST /webhooks", creating)):
        print(
            f"{label:<28}{result['per_second']:>10.0f}{result['median_ms']:>10.2f}"
            f"{result['p99_ms']:>10.2f}  {result['statuses']}"
        )
    expected = {"GET": {"200": LIST_REQUESTS}, "POST": {"201": CREATE_REQUESTS}}
    ok = listing["statuses"] == expected["GET"] and creating["statuses"] == expected["POST"]
    if not ok:
        print("some requests failed: the figures above are not valid")
    return 0 if ok else 1
