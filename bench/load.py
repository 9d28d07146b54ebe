"""A small HTTP load generator, run as its own process: ``python -m bench.load SPEC``.

SPEC is a JSON object: ``url``, ``method``, ``concurrency``, ``total``, ``tokens`` (bearer
tokens, request i uses ``tokens[i // per_token]``), ``per_token``, ``body`` (for POST; the
string ``{i}`` in it becomes the request's number), ``expect`` (optional: bytes every answer's
body must contain), ``headers`` (optional, sent with every request) and ``sessions`` (optional
MCP session ids: request i sends ``sessions[i // per_session]`` as ``Mcp-Session-Id``).
Prints one JSON line: requests per second, median and p99 latency in ms, the count of each
status, and how many answers lacked ``expect``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    counter = iter(range(spec["total"]))
    tokens: list[str] = spec["tokens"]
    per_token: int = spec.get("per_token") or spec["total"]
    body_template: str | None = spec.get("body")
    expect: bytes | None = spec["expect"].encode() if spec.get("expect") else None
    unexpected = 0
    extra: dict[str, str] = spec.get("headers") or {}
    sessions: list[str] = spec.get("sessions") or []
    per_session: int = spec.get("per_session") or 1
    connector = aiohttp.TCPConnector(limit=spec["concurrency"])

    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal unexpected
            for index in counter:
                headers = {
                    "Authorization": f"Bearer {tokens[index // per_token % len(tokens)]}",
                    **extra,
                }
                if sessions:
                    headers["Mcp-Session-Id"] = sessions[index // per_session]
                data = None
                if body_template is not None:
                    data = body_template.replace("{i}", str(index)).encode()
                    headers["Content-Type"] = "application/json"
                started = time.perf_counter()
                async with session.request(
                    spec["method"], spec["url"], data=data, headers=headers
                ) as response:
                    answer = await response.read()
                if expect is not None and expect not in answer:
                    unexpected += 1
                latencies.append(time.perf_counter() - started)
                statuses[response.status] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "per_second": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": dict(statuses),
        "unexpected": unexpected,
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator on SPEC in its own process (not sharing a loop or a core with
    the caller) and return its figures."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(spec)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_load(json.loads(sys.argv[1])))))
