"""Soak: the action server under steady load for minutes, its memory and speed at both ends.

16 calls in flight against one action server (SQLite, the default store), each call a new
conversation's first, in rounds of 2,000 calls for ``SOAK_SECONDS`` (600 by default); the
webhook is a local HTTPS server in its own process. The server's resident memory is read after
a warm-up round and after the last round, with throughput of the first and last rounds.

Target (issue #13): memory stays flat, growing by at most 10% (and every call answered with
the webhook's data).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.actions import _all_answered, _round, _rss_mb, _start_ours
from bench.fixtures import action_call, seed_store
from bench.https_server import running
from bench.servers import wait_until_up
from webhooks import generate_key

CALLS = 2000
GROWTH_BUDGET = 0.10


def run() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    body = action_call()
    with running() as hook, tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        (tmp / "ca.pem").write_bytes(hook.ca_file.read_bytes())
        key = generate_key()
        database_url = f"sqlite:///{tmp}/soak.db"
        token = seed_store(database_url, key, 10, f"https://127.0.0.1:{hook.port}/hook")
        server, base = _start_ours(tmp, database_url, key)
        try:
            wait_until_up(f"{base}/health", server)
            url = f"{base}/tenants/t0/webhook?token={token}"
            warm = _round(server, url, body, CALLS, "warm")
            start_rss = _rss_mb(server.pid)
            rounds = [warm]
            began = time.monotonic()
            while time.monotonic() - began < seconds:
                rounds.append(_round(server, url, body, CALLS, f"soak{len(rounds)}"))
            end_rss = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(10)
    answered = _all_answered(rounds, CALLS)
    growth = (end_rss - start_rss) / start_rss
    calls = CALLS * (len(rounds) - 1)
    print(
        f"{len(rounds) - 1} rounds, {calls} calls in {seconds:.0f} s, 16 in flight; "
        f"calls/s first {rounds[1]['per_second']:.0f}, last {rounds[-1]['per_second']:.0f}"
    )
    met = answered and growth <= GROWTH_BUDGET
    print(
        f"RSS after warm-up {start_rss:.1f} MB, at the end {end_rss:.1f} MB ({growth:+.1%}, "
        f"budget +{GROWTH_BUDGET:.0%}); every call answered: {answered} -> "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if met else 1
