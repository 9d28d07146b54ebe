"""A service that hangs, through the action server: user turns answered while its calls are
paused (``webhooks/calls/_pauses.py``), against turns that wait for the timeout.

The action server, the Rasa-shaped call and the load generator are ``bench actions``' (the
server on a core of its own); the webhook is a local HTTPS server that accepts, completes
TLS, reads the request and never answers, and the action's timeout is the smallest allowed,
1 s. Each round: :data:`FAILURES_TO_PAUSE` turns at once, which each wait for the timeout and
together pause the action's calls; then :data:`TURNS` turns, :data:`CONCURRENCY` in flight,
answered during that first pause (:data:`FIRST_PAUSE` s, which they stay well within); then
the action is saved again, which starts it afresh for the next round. A paused turn must be
answered with the unavailable sentence, counted as ``paused`` in the server's metrics, and
must not reach the service (its connections are counted); a round whose turns outlast the
pause fails the run rather than measuring a probe.

Target: the paused turns' p50 at most :data:`P50_BUDGET_MS` (the median of the rounds'),
with the timeout turns' p50 beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trustme
from prometheus_client.parser import text_string_to_metric_families

from bench.actions import _load, _median, _start_ours
from bench.fixtures import action_call, seed_store
from bench.servers import servers_apart, wait_until_up
from webhooks import (
    FAILURES_TO_PAUSE,
    FIRST_PAUSE,
    PAUSED_OUTCOME,
    Category,
    EgressRules,
    Keyring,
    Store,
    generate_key,
    make_engine,
)

ROUNDS = 5
TURNS = 1000
CONCURRENCY = 16
#: The smallest timeout an action may have, in seconds.
TIMEOUT = 1
P50_BUDGET_MS = 50.0
ACTION = "order_status"
#: What each kind of turn is answered (the failure categories' sentences).
TIMED_OUT = Category.TIMEOUT.sentence
UNAVAILABLE = Category.UNAVAILABLE.sentence


class _HungService:
    """HTTPS on 127.0.0.1 that accepts, reads and never answers, on its own loop in a thread;
    ``connections`` counts the connections it accepted."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._hang, "127.0.0.1", 0, ssl=context), self._loop
        ).result(10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.read(65536):  # until the client gives up
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def _hung_service(tmp: Path) -> Iterator[_HungService]:
    """The hung service with a fresh CA, whose certificate is written to ``tmp/ca.pem``."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    service = _HungService(context)
    try:
        yield service
    finally:
        service.close()


def _paused_calls(base: str, token: str) -> float:
    """The action's calls the server counted as paused so far."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        text = answer.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "webhook_calls_total"
                and labels.get("action") == ACTION
                and labels.get("outcome") == PAUSED_OUTCOME
            ):
                return float(sample.value)
    return 0.0


def _wait_refreshed(base: str, store: Store) -> None:
    """Wait until the server has the store's every change."""
    version = sum(store.snapshots.versions().values())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:  # noqa: S310
            if int(json.loads(answer.read())["version"]) >= version:
                return
        time.sleep(0.02)
    raise RuntimeError("the action server did not pick up the change")


def _answered(result: dict[str, Any], total: int) -> bool:
    return result["statuses"] == {"200": total} and not result["unexpected"]


def run() -> int:
    """Measure and print; 0 when the target is met."""
    with tempfile.TemporaryDirectory() as directory, servers_apart() as starting:
        tmp = Path(directory)
        with _hung_service(tmp) as service:
            key = generate_key()
            database_url = f"sqlite:///{tmp}/pauses.db"
            action_token = seed_store(
                database_url, key, 10, f"https://127.0.0.1:{service.port}/orders"
            )
            engine = make_engine(database_url)
            store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
            metrics_token = secrets.token_urlsafe(24)
            with starting():
                server, base = _start_ours(
                    tmp, database_url, key, environ={"WEBHOOKS_METRICS_TOKEN": metrics_token}
                )
            try:
                wait_until_up(f"{base}/health", server)
                url = f"{base}/tenants/t0/webhook?token={action_token}"
                return _measure(url, base, store, service, metrics_token)
            finally:
                server.terminate()
                server.wait(10)
                engine.dispose()


def _measure(url: str, base: str, store: Store, service: _HungService, metrics_token: str) -> int:
    body = action_call()
    tripped: list[dict[str, Any]] = []
    paused: list[dict[str, Any]] = []
    within = 0.0  # the longest time from a pause's start to the end of its round's turns
    for round_ in range(ROUNDS):
        # A new revision of the action: its calls start afresh, with the smallest timeout.
        store.catalog.update(
            "t0",
            ACTION,
            {"timeout": TIMEOUT, "description": f"Look up an order (round {round_})"},
            actor="bench",
        )
        _wait_refreshed(base, store)
        trip = _load(
            url,
            body,
            total=FAILURES_TO_PAUSE,
            concurrency=FAILURES_TO_PAUSE,
            batch=f"trip{round_}",
            expect=TIMED_OUT,
        )
        tripped_at = time.monotonic()
        if not _answered(trip, FAILURES_TO_PAUSE):
            print(f"round {round_}: the calls that should time out were answered {trip}")
            return 1
        connections = service.connections
        counted = _paused_calls(base, metrics_token)
        during = _load(
            url, body, total=TURNS, concurrency=CONCURRENCY, batch=f"r{round_}", expect=UNAVAILABLE
        )
        took = time.monotonic() - tripped_at
        newly_paused = _paused_calls(base, metrics_token) - counted
        sent = service.connections - connections
        if not _answered(during, TURNS) or newly_paused != TURNS or sent:
            print(
                f"round {round_}: {newly_paused:.0f} of {TURNS} turns counted as paused, "
                f"{sent} calls reached the service, {took:.1f} s after the pause began "
                f"(it lasts {FIRST_PAUSE:g} s); answers {during['statuses']}, "
                f"{during['unexpected']} without the unavailable sentence"
            )
            return 1
        tripped.append(trip)
        paused.append(during)
        within = max(within, took)
    return _report(tripped, paused, within)


def _report(tripped: list[dict[str, Any]], paused: list[dict[str, Any]], within: float) -> int:
    p50 = _median(paused, "median_ms")
    met = p50 <= P50_BUDGET_MS
    print(
        f"a webhook that never answers, timeout {TIMEOUT} s; medians of {ROUNDS} rounds "
        f"(the first {FAILURES_TO_PAUSE} turns at once, then {TURNS}, {CONCURRENCY} in flight, "
        f"done within {within:.1f} s of the {FIRST_PAUSE:g} s pause)"
    )
    print(f"{'turns':<30}{'p50 ms':>9}{'p99 ms':>9}{'turns/s':>9}")
    for label, results in (
        (f"first {FAILURES_TO_PAUSE} (take the timeout)", tripped),
        ("during the pause", paused),
    ):
        print(
            f"{label:<30}{_median(results, 'median_ms'):>9.1f}{_median(results, 'p99_ms'):>9.1f}"
            f"{_median(results, 'per_second'):>9.0f}"
        )
    worst = max(result["p99_ms"] for result in paused)
    print(
        f"during the pause: p50 {p50:.1f} ms (target <= {P50_BUDGET_MS:.0f}), worst round's p99 "
        f"{worst:.1f} ms, against {_median(tripped, 'median_ms'):.0f} ms waiting for the "
        f"timeout -> {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(run())
