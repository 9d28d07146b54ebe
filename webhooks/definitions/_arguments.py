"""Values to a call's arguments, on every path to a webhook: one function, :func:`call_arguments`.

Given at once, as JSON (an operator's sample values for a Test, an agent's tool call), each value
goes through :func:`~webhooks.definitions._types.convert_for`, the very rule a user's answer goes
through, so the webhook gets what a conversation would send: ``"42"`` for an integer parameter is
the integer 42 here as in a conversation, and a value the bot would re-ask for is refused with
the sentence the user would read. Collected by a conversation (``judged``), each value was judged
so as it was given; only its type is checked again, since the definition may have changed while
the form asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._exceptions import FieldError, InvalidArguments
from ..egress._messages import SCALARS
from ._definitions import Parameter
from ._types import BadValue, Value, convert, convert_for

__all__ = ["call_arguments"]


def call_arguments(
    parameters: Sequence[Parameter],
    values: Mapping[str, object],
    *,
    at: str = "values",
    judged: bool = False,
) -> dict[str, Value]:
    """The arguments a call sends for ``values`` (parameter name -> string, number or
    boolean), in the parameters' order.

    Every required parameter needs a value. Raises :class:`InvalidArguments` listing every
    problem at ``<at>.<name>``: ``unknown_field`` for a name no parameter has, ``invalid``
    for a value that does not convert (its message is the sentence the user would read), and
    ``required`` for a required parameter left out. ``judged`` values were collected by a
    conversation, each judged as it was given: None is no value, a name no parameter has any
    more is dropped, each value is converted to its parameter's type only (a pattern's kept
    group need not match again), and one that no longer converts counts as not given.
    """
    known = {parameter.name: parameter for parameter in parameters}
    converted: dict[str, Value] = {}
    errors: list[FieldError] = []
    for name, raw in values.items():
        field = f"{at}.{name}"
        parameter = known.get(name)
        if raw is None and judged:
            continue  # a slot's "no value"
        if parameter is None:
            if not judged:
                errors.append(FieldError(field, "no parameter has this name", "unknown_field"))
        elif not isinstance(raw, SCALARS):
            if not judged:
                errors.append(FieldError(field, "must be a string, number or boolean"))
        else:
            try:
                converted[name] = (
                    convert(raw, parameter.type) if judged else convert_for(raw, parameter)
                )
            except BadValue as exc:
                if not judged:
                    errors.append(FieldError(field, str(exc)))
    errors += [
        FieldError(f"{at}.{parameter.name}", "this parameter is required", "required")
        for parameter in parameters
        if parameter.required and parameter.name not in (converted if judged else values)
    ]
    if errors:
        raise InvalidArguments(errors)
    return {
        parameter.name: converted[parameter.name]
        for parameter in parameters
        if parameter.name in converted
    }
