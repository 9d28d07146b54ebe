"""The command lines as tables: each :class:`Command` names its path, help, arguments and
handler; :func:`command_parser` builds the argparse parser from a table, and the parsed
arguments carry their command's entry (:func:`command_of`), so dispatch is a lookup.

The commands of both ``python -m webhooks`` and ``python -m admin`` are written once, here:
:data:`MIGRATE_COMMAND` and :data:`GENERATE_KEY_COMMAND`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._settings import Settings
from .store._database import make_engine, migrate
from .store._keyring import generate_key

__all__ = [
    "GENERATE_KEY_COMMAND",
    "MIGRATE_COMMAND",
    "Command",
    "CommandArgument",
    "CommandOutput",
    "command_of",
    "command_parser",
]

#: The attribute of the parsed arguments that holds the chosen :class:`Command`.
_CHOSEN = "_command"


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """What a command prints: ``text``, or ``data`` as JSON (``--json``)."""

    data: Any
    text: str

    def show(self, *, as_json: bool = False) -> None:
        print(json.dumps(self.data, indent=2, default=str) if as_json else self.text)


#: A command's work: its output (exit 0), or the exit code of a command that printed its own.
Handler = Callable[[argparse.Namespace, Settings], "CommandOutput | int"]


class CommandArgument:
    """One argument of a command, written as its ``add_argument`` call."""

    __slots__ = ("names", "options")

    def __init__(self, *names: str, **options: Any) -> None:
        self.names = names
        self.options = options


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its path (``("keys", "generate")``), help, arguments and handler."""

    path: tuple[str, ...]
    help: str
    handler: Handler
    arguments: tuple[CommandArgument, ...] = ()


def command_parser(
    parser: argparse.ArgumentParser, commands: Sequence[Command], groups: Mapping[str, str]
) -> argparse.ArgumentParser:
    """``parser`` with ``commands`` as sub-commands, in their order: one word (``migrate``) or
    two (``keys generate``), the first word's help taken from ``groups``."""
    top = parser.add_subparsers(required=True, metavar="COMMAND")
    made: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for command in commands:
        *group, name = command.path
        under = top
        if group:
            (word,) = group
            if word not in made:
                made[word] = top.add_parser(word, help=groups[word]).add_subparsers(
                    required=True, metavar="ACTION"
                )
            under = made[word]
        leaf = under.add_parser(name, help=command.help)
        for argument in command.arguments:
            leaf.add_argument(*argument.names, **argument.options)
        leaf.set_defaults(**{_CHOSEN: command})
    return parser


def command_of(args: argparse.Namespace) -> Command:
    """The table's entry for the command ``args`` were parsed for."""
    chosen: Command = getattr(args, _CHOSEN)
    return chosen


def _migrate(args: argparse.Namespace, settings: Settings) -> CommandOutput:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    shown = engine.url.render_as_string(hide_password=True)
    return CommandOutput({"migrated": True}, f"migrations applied to {shown}")


def _generate_key(args: argparse.Namespace, settings: Settings) -> CommandOutput:
    key = generate_key()
    return CommandOutput({"key": key}, key)


MIGRATE_COMMAND = Command(("migrate",), "apply the database migrations to DATABASE_URL", _migrate)
GENERATE_KEY_COMMAND = Command(("keys", "generate"), "print a new Fernet key", _generate_key)
