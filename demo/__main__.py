"""``python -m demo serve [--host H] [--port P] [--ca-dir DIR]``: the demo HTTPS service.

Exit codes: 0 stopped, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from .service import CA_DIR, DEFAULT_PORT, create_app, server_context


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo", description="The demo HTTPS service behind the demo webhooks."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the service (creates its CA on first start)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    serve.add_argument("--ca-dir", default=str(CA_DIR), help=f"CA and keys ({CA_DIR})")
    args = parser.parse_args(argv)
    context = server_context(Path(args.ca_dir))
    print(f"demo service on https://{args.host}:{args.port} (CA: {args.ca_dir}/ca.pem)", flush=True)
    web.run_app(
        create_app(),
        host=args.host,
        port=args.port,
        ssl_context=context,
        print=None,
        access_log=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
