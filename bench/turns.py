"""A chat turn's time, where it goes, and how many turns one Rasa replica serves.

``python -m bench turns`` drives a running bot over Rasa's REST channel: by default the demo,
which it starts with ``scripts/run.sh`` on free ports, with a store and a log folder of its own
and the demo tenant's call budget raised out of the way (a ``make run`` beside it keeps its
store, tokens and logs; ``.data/endpoints.yml`` is written again, which a running Rasa has
already read);
or the bot at ``--url`` (``--token`` or ``RASA_TOKEN`` for Rasa's API, ``--metrics`` and
``WEBHOOKS_METRICS_TOKEN`` for the action server's metrics, ``--rasa-pid`` for Rasa's CPU; what
is not given is left out).

Each conversation says, in this order: a greeting (the help action), an order lookup in one
message, a question (opening hours) and its answer (a city), a parameterless action (today's
offers), something off-topic (the help again) and two plain turns (thanks, bye: an ``utter_``
response, no action server). Every answer is checked, so figures of a bot that misunderstood
are not reported as its speed.

1. One conversation at a time: p50 and p99 of each kind of turn, and where the time goes.
   Rasa 3.6.21 Open Source has no tracing (its OpenTelemetry spans are Rasa Pro's), so from
   timestamps: Rasa logs the user's event once NLU and the live router have parsed the message,
   and each action's event once the action was predicted and run; the action server's
   ``action_server_request_seconds`` and ``webhook_call_seconds``, read before and after each
   turn, count and time its calls and the webhook. Columns: NLU (sent -> user event); policies
   and Rasa's side of the calls (the actions' steps less the action server's time); the action
   server (calls, and their time less the webhook's); the webhook; out (last event -> answer
   received: the tracker saved, the answer sent).
2. Sixteen conversations at once: p50 and p99 of each kind.
3. A replica's rate: sixteen conversations of plain turns only, then of order lookups only
   (each conversation 8 turns long, under the limit of webhook calls per conversation): turns
   per second, p50, p99, and Rasa's CPU per turn (``/proc``).

Targets (#30), checked at the end: at one conversation, a webhook turn's p50 at most 1.5 times a
plain turn's, a greeting's and the help's at most 1.2 times; at sixteen, p99 at most 3 times
p50 for every kind; lookups served at no less than 60% of the plain turns' rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[1]

#: (kind, message, what the answer must contain, lowercased).
CONVERSATION: tuple[tuple[str, str, str], ...] = (
    ("greeting", "hello", "hello"),
    ("lookup", "where is my order #4521?", "4521"),
    ("question", "what are your opening hours?", "city"),
    ("answer", "Berlin", "berlin"),
    ("parameterless", "any offers today?", "offers"),
    ("off-topic", "what is the capital of France?", ""),
    ("plain", "thanks", "welcome"),
    ("plain", "bye", "goodbye"),
)
_SERIES = (
    "action_server_request_seconds_count",
    "action_server_request_seconds_sum",
    "webhook_call_seconds_sum",
)
WEBHOOK_TURNS = ("lookup", "answer", "parameterless")
HELP_TURNS = ("greeting", "off-topic")
SEQUENTIAL_CONVERSATIONS = 30
CONCURRENCY = 16
CONCURRENT_CONVERSATIONS = 64
RATE_TURNS = 480
TURNS_PER_CONVERSATION = 8
WEBHOOK_RATIO = 1.5
HELP_RATIO = 1.2
TAIL_RATIO = 3.0
RATE_SHARE = 0.6
LOOKUP = CONVERSATION[1]
PLAIN = [turn for turn in CONVERSATION if turn[0] == "plain"]


@dataclass
class Bot:
    """Where the bot under measure answers, and what we may read of it."""

    url: str
    token: str | None = None
    metrics: str | None = None
    metrics_token: str | None = None
    rasa_pid: int | None = None


@dataclass
class Step:
    """One turn at one conversation: its time and, when readable, where it went (ms)."""

    kind: str
    total: float
    nlu: float | None = None
    actions: list[tuple[str, float]] = field(default_factory=list)
    out: float | None = None
    calls: int = 0
    server: float = 0.0
    webhook: float = 0.0


class WrongAnswer(RuntimeError):
    """The bot answered something else than the conversation expects."""


# -- the bot -----------------------------------------------------------------------------------


@contextmanager
def _demo() -> Iterator[Bot]:
    """The demo, started by ``scripts/run.sh`` on free ports, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        ports = {
            name: str(free_port())
            for name in ("ADMIN_PORT", "ACTIONS_PORT", "TOOLS_PORT", "RASA_PORT", "DEMO_PORT")
        }
        ports["WEB_PORT"] = str(free_port())
        metrics_token = secrets.token_hex(16)
        env = {
            **os.environ,
            **ports,
            "DATABASE_URL": f"sqlite:///{tmp}/webhooks.db",
            "LOG_DIR": f"{tmp}/logs",
            "WEBHOOKS_METRICS_TOKEN": metrics_token,
            "WEBHOOKS_LOG_LEVEL": "WARNING",
        }
        run = subprocess.Popen(
            [str(ROOT / "scripts/run.sh")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            said = _until_up(run, timeout=900)
            rasa_port = ports["RASA_PORT"]
            _raise_budget(f"http://127.0.0.1:{ports['ADMIN_PORT']}", _said(said, "TOKEN"))
            yield Bot(
                url=f"http://127.0.0.1:{rasa_port}",
                token=_said(said, "RASA_TOKEN"),
                metrics=f"http://127.0.0.1:{ports['ACTIONS_PORT']}/metrics",
                metrics_token=metrics_token,
                rasa_pid=_rasa_pid(rasa_port),
            )
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGINT)
                try:
                    run.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(run.pid, signal.SIGKILL)
                    run.wait()


def _until_up(run: subprocess.Popen[str], *, timeout: float) -> str:
    """What ``run.sh`` printed until everything was up."""
    assert run.stdout is not None
    lines: list[str] = []
    began = time.monotonic()
    for line in run.stdout:
        lines.append(line)
        if line.startswith("Logs are in"):
            return "".join(lines)
        if time.monotonic() - began > timeout:
            break
    raise RuntimeError("scripts/run.sh did not come up:\n" + "".join(lines)[-3000:])


def _said(text: str, name: str) -> str:
    found = re.search(rf"\b{name}=([0-9A-Za-z_.-]+)", text)
    if found is None:
        raise RuntimeError(f"scripts/run.sh printed no {name}")
    return found.group(1)


def _raise_budget(admin: str, token: str) -> None:
    """The demo tenant's budget of webhook calls per minute, out of the way of the load."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{admin}/api/v1/budget",
        method="PUT",
        data=json.dumps({"calls_per_minute": 1_000_000}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - our own loopback URL
        pass


def _rasa_pid(port: str) -> int | None:
    """The Rasa process serving ``port`` (its launcher's command line names the port)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(w.endswith(b"rasa_run.py") for w in words) and port.encode() in words:
            return int(entry.name)
    return None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one turn ----------------------------------------------------------------------------------


async def _say(session: aiohttp.ClientSession, bot: Bot, sender: str, text: str) -> str:
    async with session.post(
        f"{bot.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
    ) as response:
        response.raise_for_status()
        answers = await response.json()
    return " ".join(str(answer.get("text", "")) for answer in answers)


def _check(kind: str, expected: str, answer: str) -> None:
    if not answer or expected not in answer.lower():
        raise WrongAnswer(f"{kind}: expected {expected!r} in the answer, got {answer[:200]!r}")


async def _metrics(session: aiohttp.ClientSession, bot: Bot) -> dict[str, float]:
    """The action server's calls and webhook time so far: sums and counts."""
    assert bot.metrics is not None
    headers = {"Authorization": f"Bearer {bot.metrics_token}"}
    async with session.get(bot.metrics, headers=headers) as response:
        response.raise_for_status()
        text = await response.text()
    found: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in _SERIES:
                found[sample.name] += sample.value
    return dict(found)


async def _tracked_turn(
    session: aiohttp.ClientSession, bot: Bot, sender: str, turn: tuple[str, str, str]
) -> Step:
    """A turn with its breakdown: the tracker's timestamps and the action server's metrics."""
    kind, text, expected = turn
    before = await _metrics(session, bot) if bot.metrics else {}
    sent = time.time()
    answer = await _say(session, bot, sender, text)
    received = time.time()
    _check(kind, expected, answer)
    step = Step(kind, (received - sent) * 1000)
    if bot.metrics:
        after = await _metrics(session, bot)

        def delta(name: str) -> float:
            return after.get(name, 0.0) - before.get(name, 0.0)

        step.calls = round(delta("action_server_request_seconds_count"))
        step.server = delta("action_server_request_seconds_sum") * 1000
        step.webhook = delta("webhook_call_seconds_sum") * 1000
    if bot.token:
        async with session.get(
            f"{bot.url}/conversations/{sender}/tracker", params={"token": bot.token}
        ) as response:
            response.raise_for_status()
            events = (await response.json())["events"]
        start = max(i for i, event in enumerate(events) if event["event"] == "user")
        user = events[start]["timestamp"]
        step.nlu = (user - sent) * 1000
        last = user
        for event in events[start + 1 :]:
            if event["event"] == "action":
                step.actions.append((event["name"], (event["timestamp"] - last) * 1000))
                last = event["timestamp"]
        step.out = (received - last) * 1000
    return step


async def _turn(
    session: aiohttp.ClientSession, bot: Bot, sender: str, turn: tuple[str, str, str]
) -> Step:
    kind, text, expected = turn
    started = time.perf_counter()
    answer = await _say(session, bot, sender, text)
    total = (time.perf_counter() - started) * 1000
    _check(kind, expected, answer)
    return Step(kind, total)


# -- the phases --------------------------------------------------------------------------------


async def _one_at_a_time(bot: Bot) -> list[Step]:
    steps: list[Step] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(SEQUENTIAL_CONVERSATIONS):
            sender = uuid.uuid4().hex
            for turn in CONVERSATION:
                steps.append(await _tracked_turn(session, bot, sender, turn))
    return steps


async def _at_once(bot: Bot) -> list[Step]:
    conversations = iter(range(CONCURRENT_CONVERSATIONS))
    steps: list[Step] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def talker() -> None:
            for _ in conversations:
                sender = uuid.uuid4().hex
                for turn in CONVERSATION:
                    steps.append(await _turn(session, bot, sender, turn))

        await asyncio.gather(*(talker() for _ in range(CONCURRENCY)))
    return steps


async def _rate(bot: Bot, turns: Sequence[tuple[str, str, str]]) -> dict[str, float]:
    """Sixteen conversations saying ``turns`` in a cycle: turns/s, p50, p99, Rasa CPU/turn."""
    numbers = iter(range(RATE_TURNS))
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def talker() -> None:
            said = 0
            sender = uuid.uuid4().hex
            for number in numbers:
                if said == TURNS_PER_CONVERSATION:  # a new conversation, under its call limit
                    said, sender = 0, uuid.uuid4().hex
                step = await _turn(session, bot, sender, turns[number % len(turns)])
                said += 1
                latencies.append(step.total)

        cpu = _cpu_seconds(bot.rasa_pid) if bot.rasa_pid else None
        began = time.perf_counter()
        await asyncio.gather(*(talker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
        used = _cpu_seconds(bot.rasa_pid) - cpu if bot.rasa_pid and cpu is not None else None
    return {
        "per_second": len(latencies) / elapsed,
        "p50": _p(latencies, 0.5),
        "p99": _p(latencies, 0.99),
        "cpu_ms": used / len(latencies) * 1000 if used is not None else float("nan"),
    }


def _p(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile, nearest rank (p99 of fewer than 100 values is their largest)."""
    ordered = sorted(values)
    if q == 0.5:
        return statistics.median(ordered)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# -- the report --------------------------------------------------------------------------------


def _by_kind(steps: Sequence[Step]) -> dict[str, list[Step]]:
    found: dict[str, list[Step]] = defaultdict(list)
    for step in steps:
        found[step.kind].append(step)
    return found


def _median(values: Sequence[float | None]) -> float:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else float("nan")


def _report_sequential(steps: Sequence[Step]) -> dict[str, float]:
    print(f"one conversation at a time, {SEQUENTIAL_CONVERSATIONS} conversations (ms, medians)")
    print(
        f"{'turn':<14}{'p50':>7}{'p99':>7}{'NLU':>7}{'Rasa':>7}{'calls':>7}{'server':>8}"
        f"{'webhook':>9}{'out':>6}  steps (predicted and run)"
    )
    p50s: dict[str, float] = {}
    for kind, found in _by_kind(steps).items():
        totals = [step.total for step in found]
        p50s[kind] = _p(totals, 0.5)
        rasa = [
            sum(ms for _, ms in step.actions) - step.server if step.actions else None
            for step in found
        ]
        server = [step.server - step.webhook for step in found]
        names: dict[str, list[float]] = defaultdict(list)
        for step in found:
            for name, ms in step.actions:
                names[name].append(ms)
        shown = ", ".join(f"{name} {statistics.median(ms):.1f}" for name, ms in names.items())
        print(
            f"{kind:<14}{p50s[kind]:>7.1f}{_p(totals, 0.99):>7.1f}"
            f"{_median([s.nlu for s in found]):>7.1f}{_median(rasa):>7.1f}"
            f"{_median([float(s.calls) for s in found]):>7.0f}{_median(server):>8.1f}"
            f"{_median([s.webhook for s in found]):>9.1f}{_median([s.out for s in found]):>6.1f}"
            f"  {shown}"
        )
    return p50s


def _report_concurrent(steps: Sequence[Step]) -> dict[str, tuple[float, float]]:
    print(f"\n{CONCURRENCY} conversations at once, {CONCURRENT_CONVERSATIONS} conversations (ms)")
    print(f"{'turn':<14}{'p50':>8}{'p99':>8}{'p99/p50':>9}")
    tails: dict[str, tuple[float, float]] = {}
    for kind, found in _by_kind(steps).items():
        totals = [step.total for step in found]
        tails[kind] = (_p(totals, 0.5), _p(totals, 0.99))
        p50, p99 = tails[kind]
        print(f"{kind:<14}{p50:>8.1f}{p99:>8.1f}{p99 / p50:>9.2f}")
    return tails


async def measure(bot: Bot) -> int:
    sequential = await _one_at_a_time(bot)
    concurrent = await _at_once(bot)
    plain = await _rate(bot, PLAIN)
    lookups = await _rate(bot, [LOOKUP])

    p50s = _report_sequential(sequential)
    tails = _report_concurrent(concurrent)
    print(f"\none replica's rate: {CONCURRENCY} conversations, {RATE_TURNS} turns each load")
    print(f"{'turns':<14}{'turns/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'Rasa CPU ms/turn':>18}")
    for label, rate in (("plain", plain), ("order lookups", lookups)):
        print(
            f"{label:<14}{rate['per_second']:>9.1f}{rate['p50']:>8.1f}{rate['p99']:>8.1f}"
            f"{rate['cpu_ms']:>18.1f}"
        )

    checks: list[tuple[str, bool]] = []
    for kind in WEBHOOK_TURNS:
        ratio = p50s[kind] / p50s["plain"]
        checks.append(
            (f"{kind} p50 = {ratio:.2f} x plain (<= {WEBHOOK_RATIO})", ratio <= WEBHOOK_RATIO)
        )
    for kind in HELP_TURNS:
        ratio = p50s[kind] / p50s["plain"]
        checks.append((f"{kind} p50 = {ratio:.2f} x plain (<= {HELP_RATIO})", ratio <= HELP_RATIO))
    for kind, (p50, p99) in tails.items():
        checks.append(
            (
                f"{kind} at {CONCURRENCY}: p99 = {p99 / p50:.2f} x p50 (<= {TAIL_RATIO:g})",
                p99 <= TAIL_RATIO * p50,
            )
        )
    for label, rate in (("plain", plain), ("lookups", lookups)):
        checks.append(
            (
                f"{label} load: p99 = {rate['p99'] / rate['p50']:.2f} x p50 (<= {TAIL_RATIO:g})",
                rate["p99"] <= TAIL_RATIO * rate["p50"],
            )
        )
    share = lookups["per_second"] / plain["per_second"]
    checks.append(
        (
            f"lookups served at {share:.0%} of the plain rate (>= {RATE_SHARE:.0%})",
            share >= RATE_SHARE,
        )
    )
    print("\ntargets:")
    for text, met in checks:
        print(f"  {'met   ' if met else 'MISSED'} {text}")
    return 0 if all(met for _, met in checks) else 1


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench turns", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--url", help="a running bot's Rasa (default: start the demo)")
    parser.add_argument("--token", default=os.environ.get("RASA_TOKEN"), help="Rasa's API token")
    parser.add_argument("--metrics", help="the action server's /metrics URL")
    parser.add_argument("--rasa-pid", type=int, help="Rasa's process, for its CPU")
    args = parser.parse_args([] if argv is None else argv)
    if args.url is None:
        with _demo() as bot:
            return asyncio.run(measure(bot))
    bot = Bot(
        url=args.url.rstrip("/"),
        token=args.token,
        metrics=args.metrics,
        metrics_token=os.environ.get("WEBHOOKS_METRICS_TOKEN"),
        rasa_pid=args.rasa_pid,
    )
    return asyncio.run(measure(bot))


if __name__ == "__main__":
    import sys

    sys.exit(run(sys.argv[1:]))
