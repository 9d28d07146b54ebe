"""``python -m actions serve [--host H] [--port P]``: start the action server.

Rasa's endpoints.yml points its ``action_endpoint`` at ``/tenants/<tenant>/webhook`` with the
tenant's action token (``python -m admin tenant action-token TENANT`` issues one) as ``token:``.
Exit codes: 0 stopped, 2 configuration error.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence

from webhooks import ConfigurationError, Settings, configure_logging, listen, open_store

from ._server import build, create_app

#: Net container allocations between young collections (CPython's default is 700).
YOUNG_COLLECTION_THRESHOLD = 50_000


#: What a log line shows; nothing of the caller's place, thread or process.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def _lighten_log_records() -> None:
    """Make log records without the names :data:`LOG_FORMAT` never shows.

    The logging HOWTO's "Optimization" flags; the call lines' logger skips the caller's file
    and line itself (``CallLogger``, in ``webhooks/_logs.py``).
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions", description="The Rasa action server of Webhook Actions."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the action server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5055, help="port to listen on")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_environ()
        configure_logging(settings.log_level, fmt=LOG_FORMAT)
        _lighten_log_records()
        store = open_store(settings)
        # Before loading every definition: a port in use is said at once.
        sock = listen(args.host, args.port, what="an action server")
        server = build(settings, store)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    # What is loaded by now (modules, and every definition, 100,000 of them in ~275,000
    # objects) lives as long as the process; a refresh replaces only tenants that changed.
    # Frozen, full collections no longer walk it all: measured, each took 60-100 ms, stalling
    # every call in flight. Collected first, so no garbage is kept; never again later, while
    # requests are in flight (their cycles would then never be collected).
    gc.collect()
    gc.freeze()
    # Every call parses a tracker of hundreds of containers, so with 16 calls in flight the
    # live young objects alone exceed the default threshold of 700: a young collection ran
    # every ~9 calls and walked them all (measured: ~1,000 collections for 9,300 calls, 0.2 ms
    # each, 30 us of every call). Refcounting frees a call's objects when it ends; only
    # cycles wait for the collector, and 50,000 of them are a few megabytes.
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)
    logging.getLogger("actions").info("action server on http://%s:%s", args.host, args.port)
    create_app(server).run(sock=sock, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
