"""Foreign errors of input validation (pydantic's) as the project's own, in plain words.

One table, by pydantic's error type: each type a request model can raise has a sentence an
operator reads next to the field (``at most 20 examples``, ``must be true or false``), never
pydantic's own text ("Input should be a valid string", "List should have at most 20 items
after validation") and never a regular expression. A caller may give a field's rule in words
(``rules``), said for every wrong value of that field. The ``code`` stays the stable one the API
documents: ``required``, ``unknown_field``, else ``invalid``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from .._exceptions import FieldError

__all__ = ["CODES", "SENTENCES", "field_path", "input_errors"]


def field_path(loc: tuple[int | str, ...]) -> str:
    """The API's path of a value: ``parameters[2].type``; ``body`` for the whole input."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "body"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _noun(loc: tuple[int | str, ...]) -> str:
    """What a list holds, from its field's name: ``examples``, ``allowed values``."""
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return "items"
    return {"values": "allowed values"}.get(names[-1], names[-1].replace("_", " "))


def _choices(expected: str) -> str:
    # pydantic writes "'POST' or 'GET'": the choices are the model's, never the input.
    return expected.replace("'", "")


def _own(context: Mapping[str, Any]) -> str:
    """Our validators' own sentence (a ValueError's text), without pydantic's prefix."""
    return str(context.get("error", "is not valid"))


#: pydantic's error type -> the sentence, from the error's context and location.
SENTENCES: dict[str, Callable[[Mapping[str, Any], tuple[int | str, ...]], str]] = {
    "missing": lambda c, loc: "required",
    "extra_forbidden": lambda c, loc: "unknown field: remove it",
    "value_error": lambda c, loc: _own(c),
    "string_type": lambda c, loc: "must be text",
    "string_too_short": lambda c, loc: (
        "must not be empty"
        if c.get("min_length") == 1
        else f"at least {_number(c.get('min_length'))} characters"
    ),
    "string_too_long": lambda c, loc: f"at most {_number(c.get('max_length'))} characters",
    "string_pattern_mismatch": lambda c, loc: "is not written in the expected form",
    "bool_type": lambda c, loc: "must be true or false",
    "int_type": lambda c, loc: "must be a whole number",
    "float_type": lambda c, loc: "must be a number",
    "finite_number": lambda c, loc: "must be a finite number",
    "greater_than_equal": lambda c, loc: f"must be at least {_number(c.get('ge'))}",
    "greater_than": lambda c, loc: f"must be more than {_number(c.get('gt'))}",
    "less_than_equal": lambda c, loc: f"must be at most {_number(c.get('le'))}",
    "less_than": lambda c, loc: f"must be less than {_number(c.get('lt'))}",
    "literal_error": lambda c, loc: f"must be {_choices(str(c.get('expected', '')))}",
    "enum": lambda c, loc: f"must be {_choices(str(c.get('expected', '')))}",
    "list_type": lambda c, loc: "must be a list",
    "dict_type": lambda c, loc: "must be an object (names and values)",
    "model_type": lambda c, loc: "must be an object",
    "model_attributes_type": lambda c, loc: "must be an object",
    "too_long": lambda c, loc: f"at most {_number(c.get('max_length'))} {_noun(loc)}",
    "too_short": lambda c, loc: f"at least {_number(c.get('min_length'))} {_noun(loc)}",
}

#: The stable codes of the definitions' errors (any other type is ``invalid``).
CODES = {"missing": "required", "extra_forbidden": "unknown_field"}
#: Errors about the field being there at all, which a field's rule does not answer.
_PRESENCE = frozenset(CODES)


def _sentence(error: Mapping[str, Any], rules: Mapping[str, str]) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    names = [part for part in loc if isinstance(part, str)]
    if kind not in _PRESENCE and kind != "value_error" and names and names[-1] in rules:
        return rules[names[-1]]
    phrase = SENTENCES.get(kind)
    if phrase is None:
        return "is not valid here"
    return phrase(error.get("ctx") or {}, loc)


def input_errors(
    exc: ValidationError,
    *,
    rules: Mapping[str, str] | None = None,
    codes: Mapping[str, str] = CODES,
) -> list[FieldError]:
    """Every error of ``exc`` as a :class:`FieldError` in plain words, at its field's path.

    ``rules`` maps a field's name (the last name in the path: ``name`` is also each
    parameter's) to the rule it breaks, in words ("use lowercase letters, digits and
    underscores, starting with a letter"), said instead of the type's sentence for any wrong
    value of that field. ``codes`` maps an error type to its code (``invalid`` for the
    others). The input is never quoted: it could be a header value.
    """
    return [
        FieldError(
            field=field_path(tuple(error["loc"])),
            message=_sentence(error, rules or {}),
            code=codes.get(error["type"], "invalid"),
        )
        for error in exc.errors(include_input=False, include_url=False)
    ]
