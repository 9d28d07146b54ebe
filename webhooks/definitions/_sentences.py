"""The bot's default sentences: the question for a parameter, failures, "stopped".

The action server says them when the domain has no override, and the bot tooling writes the
failure and "stopped" sentences into the generated domain as default responses: one text for
both. Questions are phrased at the time they are asked, from the live definition, so an
operator's new description is used by the next question without a retrain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._types import TYPES

if TYPE_CHECKING:
    from ._definitions import Parameter

__all__ = [
    "NOT_AN_ANSWER_TEXT",
    "STOPPED_TEXT",
    "action_list",
    "asked_for",
    "choices",
    "help_text",
    "question",
    "reused",
    "summary",
]

STOPPED_TEXT = "Okay, I've stopped. What else can I do for you?"
NOT_AN_ANSWER_TEXT = 'I still need an answer to this to go on, or say "stop" to do something else.'

_HELP_INTROS = {
    "greet": "Hello! ",
    "help": "",
    "fallback": "Sorry, I didn't understand that. ",
}
#: Words of a description's first clause kept in a summary.
_SUMMARY_WORDS = 12

#: A question lists the allowed values when there are at most this many.
_CHOICES_LISTED = 6


def summary(description: str) -> str:
    """The first clause of ``description`` (at most twelve words): what an action does."""
    text = re.split(r"[.;:!?\n]", description, maxsplit=1)[0]
    return " ".join(text.split()[:_SUMMARY_WORDS])


def action_list(descriptions: Sequence[str]) -> str:
    """What the actions do, one ``- `` line each, from their descriptions ("" for none)."""
    items = [item for item in (summary(d) for d in descriptions) if item]
    return "\n".join(f"- {item[:1].upper()}{item[1:]}" for item in items)


def help_text(descriptions: Sequence[str], *, why: str) -> str:
    """What the assistant can do, from the enabled actions' descriptions, one per line.

    ``why`` is ``greet``, ``help`` or ``fallback`` (a message it did not understand), and
    chooses the opening. With nothing enabled it still answers, politely.
    """
    intro = _HELP_INTROS.get(why, _HELP_INTROS["fallback"])
    lines = action_list(descriptions)
    if not lines:
        return f"{intro}I can't look anything up for you at the moment. Please try again later."
    return f"{intro}Here is what I can help you with:\n{lines}"


def question(parameter: Parameter) -> str:
    """The question asking for ``parameter``, phrased from its description.

    A description that is already a question is used as it is; otherwise it reads as the
    object of "Please tell me ...", with a hint of the expected type.
    """
    description = " ".join(parameter.description.split()).rstrip(" .;:")
    if not description:
        description = parameter.name.replace("_", " ")
    if description.endswith("?"):
        return description
    # "The order number" -> "the order number"; leave acronyms ("URL of ...") alone.
    if description[:1].isupper() and not description[1:2].isupper():
        description = description[0].lower() + description[1:]
    kind = TYPES.get(parameter.type)
    hint = kind.hint if kind is not None else ""
    values = choices(parameter)
    if values:
        hint = f" ({', '.join(values[:-1])} or {values[-1]})" if len(values) > 1 else ""
    return f"Please tell me {description}{hint}."


def asked_for(parameter: Parameter) -> str:
    """What ``parameter`` is, as its question and its reuse name it ("the order number")."""
    description = " ".join(parameter.description.split()).rstrip(" .;:?")
    if not description:
        return parameter.name.replace("_", " ")
    if description[:1].isupper() and not description[1:2].isupper():
        description = description[0].lower() + description[1:]
    return description


def reused(parameter: Parameter, value: object) -> str:
    """What the bot says when it uses a value the user gave earlier instead of asking."""
    shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return f"I'm using {shown} for {asked_for(parameter)}, as you told me earlier."


def choices(parameter: Parameter) -> list[str]:
    """The answers a question offers to pick (as buttons, on channels that show them): the
    allowed values when there are few enough to list, else none."""
    values = parameter.values or []
    return list(values) if 0 < len(values) <= _CHOICES_LISTED else []
