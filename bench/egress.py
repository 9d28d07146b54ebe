"""Egress overhead: the guarded call against plain aiohttp (and httpx for reference).

One local HTTPS server (trustme certificate) runs in a separate process, so the clients measured
here do not share an event loop or a core with it. Each client keeps a pooled connection; every
call POSTs a small JSON object and reads and parses the JSON answer. Printed: median and p99
latency and calls per second at 1 and 16 calls in flight, and the guarded/plain ratios.
Targets (issue #3): the guard adds at most 1 ms at the median and keeps at least 90% of the
plain aiohttp throughput.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import trustme

from webhooks._egress import Egress
from webhooks._messages import WebhookRequest

ARGUMENTS = {"order": "4521", "email": "person@example.com"}
BODY = json.dumps(ARGUMENTS).encode()
#: Calls measured per (client, concurrency); warm-up calls come on top.
CALLS = {1: 1500, 16: 4000}
HTTPX_CALLS = {1: 1000, 16: 1500}  # about ten times slower; keep the run short
WARMUP = 200
ROUNDS = 5  # plain and guarded alternate, so drift on a shared machine hits both alike
MEDIAN_BUDGET_MS = 1.0
THROUGHPUT_FLOOR = 0.90

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Stats:
    median_ms: float
    p99_ms: float
    per_second: float


async def _measure(call: Call, *, in_flight: int, total: int) -> Stats:
    for _ in range(WARMUP // in_flight):
        await asyncio.gather(*(call() for _ in range(in_flight)))
    latencies: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(total // in_flight) for _ in range(in_flight)))
    wall = time.perf_counter() - started
    latencies.sort()
    return Stats(
        median_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        per_second=len(latencies) / wall,
    )


def _best(runs: list[Stats]) -> Stats:
    """The median of each figure over the rounds."""
    return Stats(
        median_ms=statistics.median(r.median_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        per_second=statistics.median(r.per_second for r in runs),
    )


async def _bench(url: str, context: ssl.SSLContext) -> dict[tuple[str, int], Stats]:
    results: dict[tuple[str, int], Stats] = {}
    connector = aiohttp.TCPConnector(ssl=context)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        Egress(allow=["127.0.0.1/32"], ssl_context=context) as egress,
        httpx.AsyncClient(verify=context) as client,
    ):

        async def plain() -> object:
            headers = {"Content-Type": "application/json"}
            async with session.post(url, data=BODY, headers=headers) as response:
                return json.loads(await response.read())

        request = WebhookRequest(url=url, arguments=ARGUMENTS)

        async def guarded() -> object:
            return (await egress.call(request)).data

        async def reference() -> object:
            response = await client.post(
                url, content=BODY, headers={"Content-Type": "application/json"}
            )
            return response.json()

        for in_flight in (1, 16):
            rounds: dict[str, list[Stats]] = {"a": [], "b": []}
            for _ in range(ROUNDS):
                for name, call in (("a", plain), ("b", guarded)):
                    stats = await _measure(call, in_flight=in_flight, total=CALLS[in_flight])
                    rounds[name].append(stats)
            results[("a", in_flight)] = _best(rounds["a"])
            results[("b", in_flight)] = _best(rounds["b"])
            results[("c", in_flight)] = await _measure(
                reference, in_flight=in_flight, total=HTTPX_CALLS[in_flight]
            )
    return results


def _report(results: dict[tuple[str, int], Stats]) -> int:
    names = {"a": "plain aiohttp", "b": "guarded (Egress)", "c": "plain httpx"}
    print(f"{'client':<18}{'in flight':>10}{'median ms':>12}{'p99 ms':>10}{'calls/s':>10}")
    for in_flight in (1, 16):
        for key in "abc":
            s = results[(key, in_flight)]
            print(
                f"{names[key]:<18}{in_flight:>10}{s.median_ms:>12.3f}{s.p99_ms:>10.3f}"
                f"{s.per_second:>10.0f}"
            )
    met = True
    print()
    for in_flight in (1, 16):
        a, b = results[("a", in_flight)], results[("b", in_flight)]
        added = b.median_ms - a.median_ms
        ratio = b.per_second / a.per_second
        latency_ratio = b.median_ms / a.median_ms
        ok = added <= MEDIAN_BUDGET_MS and ratio >= THROUGHPUT_FLOOR
        met &= ok
        print(
            f"{in_flight:>2} in flight: b/a median {latency_ratio:.2f}x (+{added:.3f} ms, "
            f"budget {MEDIAN_BUDGET_MS} ms), b/a throughput {ratio:.2%} "
            f"(floor {THROUGHPUT_FLOOR:.0%}): {'met' if ok else 'NOT met'}"
        )
    print(f"targets {'met' if met else 'NOT met'}")
    return 0 if met else 1


def run() -> int:
    """Start the server process, measure, print; 0 when the targets are met."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with tempfile.TemporaryDirectory() as directory:
        cert_file = Path(directory, "cert.pem")
        key_file = Path(directory, "key.pem")
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(cert_file), append=True)
        cert.private_key_pem.write_to_path(str(key_file))
        with subprocess.Popen(
            [sys.executable, "-m", "bench.https_server", str(cert_file), str(key_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as server:
            try:
                if server.stdout is None:
                    raise RuntimeError("no pipe to the server")
                port = int(server.stdout.readline())
                url = f"https://127.0.0.1:{port}/hook"
                started = time.perf_counter()
                results = asyncio.run(_bench(url, context))
                print(
                    f"server {url} in process {server.pid}; measured in "
                    f"{time.perf_counter() - started:.0f} s"
                )
            finally:
                if server.stdin is not None:
                    server.stdin.close()
                server.wait(timeout=10)
    return _report(results)
