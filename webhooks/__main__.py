"""Command line of the core: python -m webhooks COMMAND.

    migrate          apply the database migrations to DATABASE_URL
    check-url URL    would a webhook to URL be allowed? exit 0 if so, 1 if refused
    keys generate    print a new Fernet key (for WEBHOOKS_KEYS or the key file)

Exit codes: 0 success, 1 refused (check-url), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._exceptions import ConfigurationError
from ._logs import configure_logging
from ._settings import Settings
from .store._database import make_engine, migrate
from .store._keyring import generate_key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webhooks", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("migrate", help="apply the database migrations to DATABASE_URL")
    check = commands.add_parser(
        "check-url",
        help="apply the URL rules and the address table to URL (exit 0 allowed, 1 refused)",
    )
    check.add_argument("url", metavar="URL")
    keys = commands.add_parser("keys", help="encryption keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    key_commands.add_parser("generate", help="print a new Fernet key")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)

    if args.command == "migrate":
        engine = make_engine(settings.database_url)
        try:
            migrate(engine)
        except ConfigurationError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 2
        finally:
            engine.dispose()
        print(f"migrated {engine.url.render_as_string(hide_password=True)}")
        return 0
    if args.command == "check-url":
        from .egress._checkurl import check_url_command

        return check_url_command(args.url, allow=settings.egress_allow)
    if args.command == "keys" and args.keys_command == "generate":
        print(generate_key())
        return 0
    raise AssertionError("unreachable: argparse requires a known command")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
