"""``python -m web serve [--host H] [--port P] --rasa-url URL``: the web chat's demo page and
the embeddable widget, for Rasa's socket.io channel.

Exit codes: 0 stopped, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from webhooks import ConfigurationError, listen

from ._app import create_app

DEFAULT_PORT = 8000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web", description="The web chat: a demo page and an embeddable widget."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the demo page and the widget's files")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    serve.add_argument(
        "--rasa-url", default="http://127.0.0.1:5005", help="Rasa's address, as browsers reach it"
    )
    serve.add_argument("--title", default="Shop assistant", help="the chat window's title")
    args = parser.parse_args(argv)
    try:
        app = create_app(args.rasa_url, title=args.title, name="web_chat")
        sock = listen(args.host, args.port, what="the web chat")
    except ConfigurationError as exc:
        print(f"python -m web: {exc}", file=sys.stderr)
        return 2
    print(f"web chat on http://{args.host}:{args.port}/ (Rasa: {args.rasa_url})", flush=True)
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
