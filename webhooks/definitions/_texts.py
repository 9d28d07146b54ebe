"""Texts from outside must be Unicode that UTF-8 can write: no lone surrogates.

JSON may write one half of a UTF-16 surrogate pair on its own (``"\\ud800"``), and Python's
:mod:`json` decodes it to a ``str`` that no UTF-8 encoder takes. Let in, such a text fails far
from where it came in (a database driver, the egress, the keyring) as a 500. So the doors refuse
it like any other invalid input: a JSON body as it is decoded (:func:`reject_lone_surrogates`,
naming the field), and a value as a parameter's type converts it
(:mod:`webhooks.definitions._types`).

A pair written as two escapes (``"\\ud83c\\udf70"``) decodes to one character and is fine: any
surrogate left in a decoded text is a lone one.
"""

from __future__ import annotations

import re

from .._exceptions import FieldError, InvalidDefinition

__all__ = [
    "LONE_SURROGATE",
    "LONE_SURROGATE_MESSAGE",
    "lone_surrogate_at",
    "reject_lone_surrogates",
]

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE_MESSAGE = "must be Unicode text (a lone surrogate such as \\ud800 is not)"


def lone_surrogate_at(data: object) -> str | None:
    """The field path of the first text in ``data`` (decoded JSON) holding a lone surrogate,
    or None when none does.

    Paths read as the definition errors' do (``headers.X-Api-Key``, ``parameters[0].pattern``);
    a key holding one is reported at the object that has it (``body`` at the top), since the key
    itself is not a field one could name.
    """
    # A stack, not recursion: the body may be as deep as the JSON decoder allowed.
    pending: list[tuple[str, object]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if LONE_SURROGATE.search(value):
                return path or "body"
        elif isinstance(value, dict):
            if any(LONE_SURROGATE.search(key) for key in value):
                return path or "body"
            pending.extend(
                (f"{path}.{key}" if path else key, item) for key, item in reversed(value.items())
            )
        elif isinstance(value, list):
            pending.extend(
                (f"{path}[{index}]", value[index]) for index in reversed(range(len(value)))
            )
    return None


def reject_lone_surrogates(data: object) -> None:
    """Raise :class:`InvalidDefinition` at the field of ``data`` (decoded JSON) holding a lone
    surrogate, if any: call it where a JSON body is decoded, once for every field in it."""
    field = lone_surrogate_at(data)
    if field is not None:
        raise InvalidDefinition([FieldError(field, LONE_SURROGATE_MESSAGE)])
