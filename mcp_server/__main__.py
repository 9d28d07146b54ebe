"""``python -m mcp_server serve [--host H] [--port P]``: start the tools server (MCP).

MCP clients connect to ``http://H:P/tenants/<tenant>/mcp`` with the tenant's tools token
(``python -m admin tenant tools-token TENANT`` issues one) as ``Authorization: Bearer``.
Exit codes: 0 stopped, 2 configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import uvicorn

from webhooks import ConfigurationError, Settings, configure_logging, listen, open_store

from ._app import build, create_app
from ._logs import withhold_sdk_detail

#: What a log line shows; nothing of the caller's place, thread or process.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_server", description="The MCP tools server of Webhook Actions."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the tools server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5057, help="port to listen on")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_environ()
        configure_logging(settings.log_level, fmt=LOG_FORMAT)
        # The SDK logs every request at INFO; our own line per call says what matters.
        logging.getLogger("mcp").setLevel(logging.WARNING)
        withhold_sdk_detail()  # nothing a client sent in the SDK's own lines
        store = open_store(settings)
        sock = listen(args.host, args.port, what="a tools server")
        server = build(settings, store)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("tools").info("tools server on http://%s:%s", args.host, args.port)
    config = uvicorn.Config(
        create_app(server), log_config=None, access_log=False, server_header=False, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
