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

from ._cli import (
    GENERATE_KEY_COMMAND,
    MIGRATE_COMMAND,
    Command,
    CommandArgument,
    command_of,
    command_parser,
)
from ._exceptions import ConfigurationError
from ._logs import configure_logging
from ._settings import Settings


def _check_url(args: argparse.Namespace, settings: Settings) -> int:
    from .egress._checkurl import check_url_command

    return check_url_command(args.url, rules=settings.egress_rules)


COMMANDS = (
    MIGRATE_COMMAND,
    Command(
        ("check-url",),
        "apply the URL rules and the address table to URL (exit 0 allowed, 1 refused)",
        _check_url,
        (CommandArgument("url", metavar="URL"),),
    ),
    GENERATE_KEY_COMMAND,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webhooks", description=__doc__.split("\n")[0])
    return command_parser(parser, COMMANDS, {"keys": "encryption keys"})


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ()
        configure_logging(settings.log_level)
        outcome = command_of(args).handler(args, settings)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if isinstance(outcome, int):
        return outcome
    outcome.show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
