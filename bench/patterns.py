r"""Hostile patterns: the reviewer's ``\w{0,10}`` six times then ``!`` on long answers.

Part 1, time per match of the reviewer's pattern (and its seven- and twenty-fold variants) on
answers of 500, 5,000 and 50,000 word characters with no ``!``: through the project's match
(:func:`webhooks.allowed_value`, which reads the first 500 characters) and, for contrast,
through RE2 itself on the whole text. Python's ``re`` took 7.5 s on the first of them.
Target: the project's match under 1 ms at the 99th percentile at every size.

Part 2, ``/health`` latency of the admin API, the action server and the MCP tools server,
each in turn, idle and then during 2,000 hostile answers of 500 characters with 50 in flight,
sent by a load generator in its own process: to the admin API a Test with the hostile sample
value, to the action server Rasa's call of the form's validator carrying the hostile answer, to
the tools server a ``tools/call`` with the hostile argument. The control floods the same
answers at an action whose pattern is ``\d{4}``; three alternating rounds of each. Every
answer must be refused as a value that does not fit (so each reached the match). Target: the
hostile flood's ``/health`` p99 at most 1.5 x the control's (medians of the rounds). The
servers run on a core of their own; loopback only; every loop is bounded.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

import re2
import trustme

from bench.actions import _start_ours
from bench.fixtures import answer_call
from bench.servers import free_port, servers_apart, wait_until_up
from bench.tools import HEADERS, _sessions
from webhooks import (
    MANAGE,
    MAX_CALLS_PER_CONVERSATION,
    Keyring,
    Parameter,
    Store,
    allowed_value,
    generate_key,
    make_engine,
    migrate,
)

ROOT = Path(__file__).resolve().parents[1]
REVIEWERS_PATTERN = r"\w{0,10}" * 6 + "!"
#: The flooded actions: the reviewer's pattern, and for control a plain one on the same answers.
PATTERNS = {"voucher": REVIEWERS_PATTERN, "plain": r"\d{4}"}
VARIANTS = {"x6": REVIEWERS_PATTERN, "x7": r"\w{0,10}" * 7 + "!", "x20": r"\w{0,10}" * 20 + "!"}
SIZES = (500, 5_000, 50_000)
MATCHES = 200
MATCH_BUDGET_MS = 1.0
#: The longest answer a user can send (the project reads no further): every request matches.
HOSTILE = "a" * 500
CONCURRENCY = 50
FLOOD = 2000
#: The hostile flood's /health p99 against the control's: the reviewer's pattern may cost the
#: servers no more than a plain one (an absolute bound would judge the flood itself: 50 answers
#: in flight queue /health behind them, 90-160 ms at p99 on a shared two-core machine at either
#: pattern).
CONTROL_RATIO = 1.5
ROUNDS = 3
IDLE_PROBES = 200
#: Most /health probes during one flood: the loop ends with the flood or at this count.
MAX_PROBES = 20_000
#: The answer to a value that does not fit, in each server's words (the check that every
#: hostile request reached the match and was refused by it).
REFUSED = "look like"


def _timed(function: Any, text: str) -> list[float]:
    times = []
    for _ in range(MATCHES):
        started = time.perf_counter()
        function(text)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def _p(values: list[float], share: float) -> float:
    return values[max(0, int(len(values) * share) - 1)]


def _match_times() -> bool:
    print(f"time per match, {MATCHES} matches each, text of word characters and no '!'")
    print(f"{'pattern':<9}{'chars':>8}{'ours p50 ms':>13}{'ours p99 ms':>13}{'raw RE2 p50 ms':>16}")
    ok = True
    for label, pattern in VARIANTS.items():
        parameter = Parameter(name="code", type="string", description="a code", pattern=pattern)
        raw = re2.compile(pattern)
        for size in SIZES:
            text = "a" * size
            ours = _timed(lambda answer, p=parameter: allowed_value(p, answer), text)
            engine = _timed(raw.search, text)
            ok &= _p(ours, 0.99) < MATCH_BUDGET_MS
            print(
                f"{label:<9}{size:>8}{_p(ours, 0.5):>13.4f}{_p(ours, 0.99):>13.4f}"
                f"{_p(engine, 0.5):>16.4f}"
            )
    print(f"target: ours p99 < {MATCH_BUDGET_MS} ms -> {'met' if ok else 'NOT met'}")
    return ok


def _probe(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30):  # noqa: S310 - our own loopback URL
        pass
    return (time.perf_counter() - started) * 1000


class Flood(NamedTuple):
    """One flood's figures: /health latencies (ms, sorted) before and during it, and the
    load generator's own figures."""

    idle: list[float]
    during: list[float]
    load: dict[str, Any]

    @property
    def refused(self) -> bool:
        """Every hostile answer was refused as a misfit, and /health was probed meanwhile."""
        return not self.load["unexpected"] and bool(self.during)


def _flooded(health: str, spec: dict[str, Any]) -> Flood:
    """/health latencies idle and during the flood ``spec`` describes, and the flood's figures."""
    idle = sorted(_probe(health) for _ in range(IDLE_PROBES))
    flood = subprocess.Popen(
        [sys.executable, "-m", "bench.load", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    during: list[float] = []
    while flood.poll() is None and len(during) < MAX_PROBES:
        during.append(_probe(health))
    out, _ = flood.communicate(timeout=600)
    return Flood(idle, sorted(during), dict(json.loads(out)))


def _seed(database_url: str, key: str) -> dict[str, str]:
    """The tenant, its two actions and a token for each server."""
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine, Keyring([key]))
    store.accounts.create_tenant("t0", actor="bench")
    store.accounts.set_skill("t0", True, actor="bench")
    for name, pattern in PATTERNS.items():
        parameter = {"name": "code", "type": "string", "description": "the voucher code"}
        store.catalog.create(
            "t0",
            {
                "name": name,
                "description": f"Check a voucher ({name})",
                "url": "https://api.example.com/vouchers",
                "parameters": [parameter | {"pattern": pattern}],
            },
            actor="bench",
        )
    tokens = {
        "admin": store.accounts.create_operator("t0", "ops", permissions=[MANAGE], actor="bench")[
            1
        ],
        "actions": store.accounts.issue_action_token("t0", actor="bench"),
        "tools": store.accounts.issue_tools_token("t0", actor="bench"),
    }
    engine.dispose()
    return tokens


def _start(
    tmp: Path, starting: Callable[[], AbstractContextManager[None]]
) -> tuple[list[subprocess.Popen[bytes]], dict[str, str], dict[str, str]]:
    """The three servers on a store of :data:`PATTERNS`: processes, base URLs, tokens."""
    key = generate_key()
    database_url = f"sqlite:///{tmp}/patterns.db"
    tokens = _seed(database_url, key)
    # No webhook is called (a value that does not fit stops first); the servers need a CA.
    trustme.CA().cert_pem.write_to_path(str(tmp / "ca.pem"))
    quiet = {"WEBHOOKS_LOG_LEVEL": "WARNING"}
    port = free_port()
    with starting():
        actions, actions_base = _start_ours(tmp, database_url, key, environ=quiet)
        tools, tools_base = _start_ours(tmp, database_url, key, environ=quiet, module="mcp_server")
        admin = subprocess.Popen(
            [sys.executable, "-m", "admin", "serve", "--port", str(port)],
            cwd=ROOT,
            env={
                "PATH": os.environ.get("PATH", ""),
                "DATABASE_URL": database_url,
                "WEBHOOKS_KEYS": key,
                **quiet,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    bases = {
        "admin": f"http://127.0.0.1:{port}/api/v1",
        "actions": actions_base,
        "tools": tools_base,
    }
    return [admin, actions, tools], bases, tokens


def _flood_spec(server: str, base: str, token: str, action: str) -> dict[str, Any]:
    """The load generator's spec for :data:`FLOOD` answers of :data:`HOSTILE` to ``action``."""
    spec = {
        "method": "POST",
        "concurrency": CONCURRENCY,
        "total": FLOOD,
        "expect": REFUSED,
        "tokens": [token],
    }
    if server == "admin":
        body: dict[str, Any] = {"values": {"code": HOSTILE}}
        return spec | {"url": f"{base}/webhooks/{action}/test", "body": json.dumps(body)}
    if server == "actions":
        body = answer_call(action, "code", HOSTILE)
        return spec | {"url": f"{base}/tenants/t0/webhook?token={token}", "body": json.dumps(body)}
    url = f"{base}/tenants/t0/mcp"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": action, "arguments": {"code": HOSTILE}},
    }
    return spec | {
        "url": url,
        "headers": HEADERS,
        # Sessions opened before the flood, untimed; ten calls each (the limit).
        "sessions": _sessions(url, token, FLOOD // MAX_CALLS_PER_CONVERSATION),
        "per_session": MAX_CALLS_PER_CONVERSATION,
        "body": json.dumps(body),
    }


def _median(floods: list[Flood], figure: Callable[[Flood], float]) -> float:
    return float(statistics.median(figure(flood) for flood in floods))


def _health_during_floods() -> bool:
    labels = {
        "admin": "admin API (Test)",
        "actions": "action server (validator)",
        "tools": "tools server (tools/call)",
    }
    ok = True
    with tempfile.TemporaryDirectory() as directory, servers_apart() as starting:
        processes, bases, tokens = _start(Path(directory), starting)
        try:
            for base, process in zip(bases.values(), processes, strict=True):
                wait_until_up(f"{base}/health", process)
            print(
                f"\n/health latency in ms during {FLOOD} answers of {len(HOSTILE)} characters, "
                f"{CONCURRENCY} in flight, at the reviewer's pattern (hostile) and at "
                f"{PATTERNS['plain']} (control); medians of {ROUNDS} alternating rounds"
            )
            print(
                f"{'server':<27}{'flood':<9}{'idle p50':>9}{'idle p99':>9}{'p50':>8}{'p99':>8}"
                f"{'req/s':>7}  statuses"
            )
            for server, base in bases.items():
                rounds: dict[str, list[Flood]] = {
                    "plain": [],
                    "voucher": [],
                }
                for _ in range(ROUNDS):  # alternate: drift on a shared machine hits both
                    for action, results in rounds.items():
                        spec = _flood_spec(server, base, tokens[server], action)
                        results.append(_flooded(f"{base}/health", spec))
                p99 = {}
                for action, floods in rounds.items():
                    refused = all(flood.refused for flood in floods)
                    ok &= refused
                    p99[action] = _median(floods, lambda f: _p(f.during, 0.99))
                    statuses = sum((Counter(flood.load["statuses"]) for flood in floods), Counter())
                    print(
                        f"{labels[server]:<27}{'hostile' if action == 'voucher' else 'control':<9}"
                        f"{_median(floods, lambda f: _p(f.idle, 0.5)):>9.2f}"
                        f"{_median(floods, lambda f: _p(f.idle, 0.99)):>9.2f}"
                        f"{_median(floods, lambda f: _p(f.during, 0.5)):>8.2f}"
                        f"{p99[action]:>8.2f}"
                        f"{_median(floods, lambda f: f.load['per_second']):>7.0f}  {dict(statuses)}"
                        + ("" if refused else ", some answers not refused as misfits")
                    )
                ratio = p99["voucher"] / p99["plain"]
                met = ratio <= CONTROL_RATIO
                ok &= met
                print(
                    f"{'':<27}hostile/control p99 = {ratio:.2f} "
                    f"(target <= {CONTROL_RATIO}) -> {'met' if met else 'NOT met'}"
                )
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
    return ok


def run() -> int:
    matches = _match_times()
    health = _health_during_floods()
    return 0 if matches and health else 1
