"""The parameter types: each one's conversion, question hint and sample values, in one place.

A new type is a converter and one entry of :data:`TYPES` here: the admin API's schema, the
console's type list (read from that schema) and the MCP tools' JSON Schema all come from it.
Conversion turns what a user typed (or an entity extracted) into the parameter's typed value,
forgiving but unambiguous: ``"#4521"``, ``"order 4521"`` and ``"4,521"`` are the integer 4521;
``"yes"``/``"no"`` are booleans; but ``"4521 or 4522"`` is refused, because guessing wrong would
send the wrong value to the webhook. A refusal carries a short explanation for the user; a
number refused for its size (:class:`NumberOutOfRange`) says so, with the limit, rather than
just asking again.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ..egress._messages import Value
from ._answers import allowed_value, close_values
from ._texts import LONE_SURROGATE

if TYPE_CHECKING:
    from ._definitions import Parameter

__all__ = [
    "TYPES",
    "BadValue",
    "NumberOutOfRange",
    "Value",
    "ValueType",
    "convert",
    "convert_for",
]


#: Longest string value accepted from a user.
MAX_TEXT = 500

_TRUE = {"yes", "y", "yeah", "yep", "yup", "sure", "true", "on", "1", "ok", "okay", "correct"}
_FALSE = {"no", "n", "nope", "nah", "false", "off", "0", "not", "incorrect"}
# A number as people write it: optional sign, digits with optional thousands commas, optional
# decimal part. Standing alone (not glued to letters, so "a1b2" yields nothing).
_NUMBER = re.compile(r"(?<![\w.,])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|[.,]\d)")


@dataclass(frozen=True, slots=True)
class BadValue(Exception):
    """The value cannot be read as the parameter's type; ``hint`` says what is expected."""

    hint: str

    def __str__(self) -> str:
        return self.hint


@dataclass(frozen=True, slots=True)
class NumberOutOfRange(BadValue):
    """A number was given but cannot be sent as it is: too long, too large or too precise.

    Unlike other refusals, a request that held such a number is told why it was not taken (the
    user meant it), instead of being asked as if nothing had been given.
    """


def _numbers(text: str) -> list[str]:
    # "#4521" and "No. 4521" are common ways to write an order number: drop the marks.
    return _NUMBER.findall(text.replace("#", " "))


def _decimal(raw: object, *, what: str) -> Decimal:
    if isinstance(raw, bool):
        raise BadValue(f"Please give {what}, not yes or no.")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise BadValue(f"Please give {what}.")
        return Decimal(str(raw))
    found = _numbers(str(raw))
    if not found:
        raise BadValue(f"Please give {what}, for example 4521.")
    if len(found) > 1:
        raise BadValue(f"I found several numbers there; please give just one ({what}).")
    try:
        return Decimal(found[0].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only matches valid numbers
        raise BadValue(f"Please give {what}.") from None


#: Most digits of a whole number. Larger values are refused: no order number needs them, and
#: Python's int-to-text limit (4,300 digits) would otherwise turn a user's very long answer into
#: an error.
MAX_DIGITS = 18
MAX_MAGNITUDE = Decimal(10) ** MAX_DIGITS
_MAX_PLAIN = int(MAX_MAGNITUDE)

#: Significant digits a decimal keeps exactly through a float (an IEEE 754 double, which is what
#: Python sends and most JSON readers take a number with decimals for). A longer fraction would
#: be rounded on its way to the webhook, so it is refused instead of changed.
FLOAT_DIGITS = sys.float_info.dig


def _plain_integer(raw: object) -> int | None:
    """``raw`` when it is already plainly an integer (an int, or ASCII digits as Rasa stores a
    converted slot), else None: the common case, spared the search for a number in text."""
    if type(raw) is int:
        return raw if -_MAX_PLAIN < raw < _MAX_PLAIN else None
    if type(raw) is str and 0 < len(raw) <= MAX_DIGITS and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def _integer(raw: object) -> int:
    plain = _plain_integer(raw)
    if plain is not None:
        return plain
    value = _decimal(raw, what="a whole number")
    if abs(value) >= MAX_MAGNITUDE:
        raise NumberOutOfRange(f"That number is too long: please give at most {MAX_DIGITS} digits.")
    if value != value.to_integral_value():
        raise BadValue("Please give a whole number, without decimals.")
    return int(value)


def _number(raw: object) -> int | float:
    plain = _plain_integer(raw)
    if plain is not None:
        return plain
    value = _decimal(raw, what="a number")
    if abs(value) >= MAX_MAGNITUDE:
        raise NumberOutOfRange(
            f"That number is too large: please give at most {MAX_DIGITS} digits before the "
            "decimal point."
        )
    if value == value.to_integral_value():
        return int(value)  # exact in JSON, whatever its digits
    as_float = float(value)
    if Decimal(repr(as_float)) != value:  # the float is not the number the user gave
        if len(value.normalize().as_tuple().digits) > FLOAT_DIGITS:
            raise NumberOutOfRange(
                f"That number has too many digits: please round it to at most {FLOAT_DIGITS}."
            )
        raise NumberOutOfRange("That number is too close to zero: please round it.")
    return as_float


def _boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    words = re.findall(r"[a-z0-9]+", str(raw).lower())
    verdicts = {True for w in words if w in _TRUE} | {False for w in words if w in _FALSE}
    if len(verdicts) != 1:
        raise BadValue("Please answer yes or no.")
    return verdicts.pop()


def _string(raw: object) -> str:
    text = " ".join(str(raw).split())
    if not text:
        raise BadValue("Please give a value.")
    if len(text) > MAX_TEXT:
        raise BadValue(f"That is too long; please keep it under {MAX_TEXT} characters.")
    if LONE_SURROGATE.search(text):
        # Half a character (JSON's lone "\ud800"): no UTF-8 request could carry it.
        raise BadValue("Part of a character is missing there; please write it again.")
    return text


@dataclass(frozen=True, slots=True)
class ValueType:
    """A parameter type: its name in definitions, how a user's answer becomes its value, the
    hint a question adds, sample values for training examples, whether a lone number in a
    request can be its value, and its JSON Schema for LLM tools (the JSON type of the same
    name unless said)."""

    name: str
    convert: Callable[[object], Value]
    hint: str = ""
    samples: tuple[str, ...] = ()
    numeric: bool = False
    schema: Mapping[str, str] = field(default_factory=dict)

    def json_schema(self) -> dict[str, str]:
        return dict(self.schema) or {"type": self.name}


#: Every parameter type, by name; definitions accept exactly these.
TYPES: dict[str, ValueType] = {
    t.name: t
    for t in (
        ValueType("string", _string),
        ValueType(
            "number",
            _number,
            " (a number)",
            ("12.5", "3", "99.90", "7.25", "42", "0.5", "18.75", "250", "64.2"),
            numeric=True,
        ),
        ValueType(
            "integer",
            _integer,
            " (a whole number)",
            ("4521", "1203", "7788", "3310", "5698", "8042", "2275", "9163", "6487"),
            numeric=True,
        ),
        ValueType("boolean", _boolean, " (yes or no)", ("yes", "no")),
    )
}


def convert(raw: object, kind: str) -> Value:
    """``raw`` as a value of ``kind`` (string, number, integer, boolean); :class:`BadValue` if not.

    Lists (an entity extracted twice) are accepted when they hold one distinct value.
    """
    if isinstance(raw, list):
        distinct = {repr(item) for item in raw}
        if len(distinct) != 1:
            raise BadValue("I got more than one value there; please give just one.")
        raw = raw[0]
    if raw is None:
        raise BadValue("Please give a value.")
    return TYPES[kind].convert(raw)


#: Allowed values listed in a refusal, at most.
_LISTED = 10


def convert_for(raw: object, parameter: Parameter) -> Value:
    """``raw`` as ``parameter``'s value: its type, then for a string its allowed values or
    pattern (the value is then the allowed value as the operator wrote it, or the match). A
    refused answer close to allowed values is asked "Did you mean ...?" with them."""
    value = convert(raw, parameter.type)
    if not isinstance(value, str):
        return value
    ruled = allowed_value(parameter, value)
    if ruled is not None:
        return ruled
    values = parameter.values
    if values:
        close = close_values(parameter, value)
        if close:
            offered = ", ".join(close[:-1]) + " or " + close[-1] if len(close) > 1 else close[0]
            raise BadValue(f"Did you mean {offered}?")
        listed = ", ".join(values[:_LISTED]) + (", ..." if len(values) > _LISTED else "")
        raise BadValue(f"Please choose one of: {listed}.")
    raise BadValue("That doesn't look like what I need; please check and try again.")
