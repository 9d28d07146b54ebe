"""Reading the admin API's requests: a JSON body, a model of it, query arguments (a bounded
integer, a name, a moment).

Every problem is an :class:`~admin._errors.ApiError` or an ``InvalidDefinition`` naming the
offending field, answered as JSON by the one error handler.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sanic import Request

from webhooks import InvalidDefinition, input_errors, reject_json_constant, reject_lone_surrogates

from ._errors import ApiError

__all__ = ["body_of", "int_arg", "model_of", "moment_arg", "text_arg"]

#: The codes these requests' errors always had: a missing field is ``invalid`` here.
_CODES = {"extra_forbidden": "unknown_field"}


def body_of(request: Request) -> object:
    if not request.body:
        raise ApiError(400, "malformed_json", "expected a JSON body")
    try:
        data = json.loads(request.body, parse_constant=reject_json_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    # Here, once for every body: a "\ud800" escape is valid JSON but no storable text.
    reject_lone_surrogates(data)
    return data


def model_of(model: type[BaseModel], data: object) -> Any:
    """``data`` validated as ``model``; every broken rule an ``InvalidDefinition`` at its
    field, in plain words (pydantic's own messages are never passed on)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidDefinition(input_errors(exc, codes=_CODES)) from None


def int_arg(request: Request, name: str, *, default: int | None, low: int, high: int) -> Any:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "invalid", f"{name} must be an integer", field=name) from None
    if not low <= value <= high:
        raise ApiError(422, "invalid", f"{name} must be between {low} and {high}", field=name)
    return value


def text_arg(
    request: Request, name: str, *, max_length: int, pattern: str | None = None, rule: str
) -> str | None:
    """The argument ``name`` (None when absent): at most ``max_length`` printable characters
    matching ``pattern``, else a 422 at it saying ``rule``: the same rule, in words. (No name
    holds a control character, and PostgreSQL could not even compare one with NUL.)"""
    raw: str | None = request.args.get(name)
    if raw is None:
        return None
    if (
        len(raw) > max_length
        or not raw.isprintable()
        or (pattern is not None and not re.fullmatch(pattern, raw))
    ):
        raise ApiError(422, "invalid", rule, field=name)
    return raw


#: How a moment is written in a query: RFC 3339, with its offset (``Z`` for UTC).
MOMENT_RULE = "a date and time with its offset, such as 2026-05-01T00:00:00Z"


def moment_arg(request: Request, name: str) -> datetime | None:
    """The argument ``name`` as a moment in UTC (None when absent), else a 422 at it."""
    raw: str | None = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError(raw)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(422, "invalid", f"must be {MOMENT_RULE}", field=name) from None
