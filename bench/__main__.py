"""Run the benchmarks: ``python -m bench [NAME ...]`` (all of them by default).

To add one, write ``bench/<name>.py`` with a ``run() -> int`` function (0 when its targets are
met) and list it in :data:`BENCHMARKS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: name -> module; run in this order.
BENCHMARKS: dict[str, str] = {
    "egress": "bench.egress",
    "shares": "bench.shares",
    "redaction": "bench.redaction",
    "signing": "bench.signing",
    "admin": "bench.admin",
    "actions": "bench.actions",
    "pauses": "bench.pauses",
    "tools": "bench.tools",
    "routing": "bench.routing",
    "turns": "bench.turns",
    "topics": "bench.topics",
    "patterns": "bench.patterns",
    "soak": "bench.soak",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    status = 0
    for name in args.names or list(BENCHMARKS):
        print(f"== {name} ==", flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        status |= module.run()
    return status


if __name__ == "__main__":
    sys.exit(main())
