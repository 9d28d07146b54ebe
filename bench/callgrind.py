"""Instructions the action server executes per webhook call, counted by callgrind.

``python -m bench.callgrind [--naive | --signed] [--calls N] [--warm N] [--out FILE]`` starts
the action server (or, with ``--naive``, bench/naive_action.py; with ``--signed``, the action
server calling an action with a signing secret) under ``valgrind --tool=callgrind`` with
counting off, sends it ``--warm`` calls of ``bench actions`` (its body and store), counts the
next ``--calls`` and prints the instructions per call. The webhook and the load generator run
in processes of their own, outside valgrind. Instruction counts do not depend on what else the
machine runs, where CPU time and throughput do; a run differs from the next by about 0.5%.
``callgrind_annotate FILE`` then shows where the instructions went, by C function.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.actions import ROOT, _load, _start_ours
from bench.fixtures import action_call, seed_store
from bench.https_server import running
from bench.servers import free_port, wait_until_up
from webhooks import EgressRules, Keyring, Store, generate_key, make_engine


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is not installed (Debian: apt-get install valgrind)")
    return path


def _counting(process: subprocess.Popen[bytes], on: bool) -> None:
    subprocess.run(
        [_tool("callgrind_control"), "--instr=on" if on else "--instr=off", str(process.pid)],
        check=True,
        capture_output=True,
    )


def _instructions(out: Path) -> int:
    """The total of a callgrind output file (its ``totals:`` line; ``summary:`` counts from
    the start, before counting was switched on)."""
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def _sign(database_url: str, key: str) -> None:
    """Give the benchmark's action a signing secret: every call of it is then signed."""
    engine = make_engine(database_url)
    store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
    store.signing.create("t0", "order_status", actor="bench")  # its value is not kept
    engine.dispose()


def measure(*, naive: bool, calls: int, warm: int, out: Path, signed: bool = False) -> float:
    """Instructions per call of the server (ours, or the naive one; ours calling a signed
    action with ``signed``), written to ``out``."""
    valgrind = [
        _tool("valgrind"),
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
    ]
    body = action_call()
    with running() as hook, tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        (tmp / "ca.pem").write_bytes(hook.ca_file.read_bytes())
        webhook_url = f"https://127.0.0.1:{hook.port}/hook"
        key = generate_key()
        database_url = f"sqlite:///{tmp}/small.db"
        token = seed_store(database_url, key, 10, webhook_url)
        if signed:
            _sign(database_url, key)
        if naive:
            port = free_port()
            server = subprocess.Popen(
                [*valgrind, sys.executable, "-m", "bench.naive_action", str(port), webhook_url,
                 str(tmp / "ca.pem")],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            base = url = f"http://127.0.0.1:{port}"
            url += "/webhook"
        else:
            # The longest refresh interval: each check of the store costs as much as a call.
            server, base = _start_ours(
                tmp, database_url, key, wrapper=valgrind,
                environ={"WEBHOOKS_REFRESH_INTERVAL": "10"},
            )  # fmt: skip
            url = f"{base}/tenants/t0/webhook?token={token}"
        try:
            wait_until_up(f"{base}/health", server, timeout=600)
            _load(url, body, warm, "warm")
            _counting(server, True)
            result = _load(url, body, calls, "counted")
            _counting(server, False)
            if result["statuses"] != {"200": calls} or result["unexpected"]:
                raise RuntimeError(f"not every call was answered with the webhook's data: {result}")
        finally:
            server.terminate()
            server.wait(120)
    return _instructions(out) / calls


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.callgrind", description=__doc__.split("\n")[0]
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--naive", action="store_true", help="the naive rasa-sdk action")
    which.add_argument("--signed", action="store_true", help="ours, the action signed")
    parser.add_argument("--calls", type=int, default=1000, help="calls counted (1000)")
    parser.add_argument("--warm", type=int, default=300, help="calls before counting (300)")
    default_out = Path(tempfile.gettempdir(), "callgrind.actions.out")
    parser.add_argument("--out", type=Path, default=default_out, help=f"its file ({default_out})")
    args = parser.parse_args(argv)
    per_call = measure(
        naive=args.naive, calls=args.calls, warm=args.warm, out=args.out, signed=args.signed
    )
    who = "naive rasa-sdk action" if args.naive else "action server"
    if args.signed:
        who += ", signed calls"
    print(f"{who}: {per_call:,.0f} instructions per call ({args.calls} calls; {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
