"""pydantic's errors in plain words: a walk over every field of a definition with every kind of
wrong value, so a new field or a new kind of error cannot let pydantic's text through."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from webhooks import DefinitionInput, InvalidDefinition, Parameter
from webhooks.definitions._definitions import parse_definition
from webhooks.definitions._input_errors import SENTENCES

#: What pydantic writes (and what a regular expression looks like): never in a message.
PYDANTIC = re.compile(
    r"Input should|should be|should have|Field required|Extra inputs|Value error|"
    r"after validation|valid dictionary|instance of|String should|List should|"
    r"\^\[|\]\*|\]\+|\]\{|\$$|\\[dwsbp]|\[a-z",
    re.IGNORECASE,
)

#: A value of every JSON kind, and the neighbours of every bound a field has.
WRONG: list[Any] = [
    None, True, 0, -1, 0.5, 31, 10**12, 1e400, 2.5, "", " ", "Not A Name!", "x" * 5000,
    "a\x07b", [], [1], ["x"] * 60, [{}] * 30, {}, {"a": 1}, {"name": "X"},
]  # fmt: skip

VALID = {
    "name": "order_status",
    "description": "Look up an order",
    "url": "https://api.example.com/orders",
}
PARAMETER = {"name": "order_id", "type": "integer", "description": "The order number"}


def attempts() -> Iterator[dict[str, Any]]:
    """Definitions with one wrong value each: at every field, in every list and object."""
    for field in [*DefinitionInput.model_fields, "unknown"]:
        for wrong in WRONG:
            yield VALID | {field: wrong}
    for field in [*Parameter.model_fields, "unknown"]:
        for wrong in WRONG:
            yield VALID | {"parameters": [PARAMETER | {"type": "string", field: wrong}]}
    for wrong in WRONG:
        yield VALID | {"parameters": [wrong]}
        yield VALID | {"examples": [wrong]}
        yield VALID | {"headers": {"X-Api-Key": wrong}}
        yield VALID | {"parameters": [PARAMETER | {"type": "string", "values": [wrong]}]}
    for missing in ("name", "description", "url"):
        yield {k: v for k, v in VALID.items() if k != missing}
    yield VALID | {"parameters": [{"name": "x"}]}


def pydantic_types(data: dict[str, Any]) -> set[str]:
    try:
        DefinitionInput.model_validate(data)
    except ValidationError as exc:
        return {error["type"] for error in exc.errors()}
    return set()


def test_every_error_type_a_definition_raises_has_a_sentence() -> None:
    raised = set().union(*(pydantic_types(data) for data in attempts()))
    assert raised - set(SENTENCES) == set()
    # The walk reaches them all (so the check above cannot pass on an empty walk).
    assert raised >= {
        "missing", "extra_forbidden", "value_error", "string_type", "string_too_short",
        "string_too_long", "string_pattern_mismatch", "bool_type", "int_type", "float_type",
        "greater_than_equal", "less_than_equal", "literal_error", "list_type", "dict_type",
        "model_type", "too_long",
    }  # fmt: skip


def test_no_message_is_pydantics_or_a_regular_expression() -> None:
    seen = 0
    for data in attempts():
        try:
            parse_definition(data)
        except InvalidDefinition as exc:
            for error in exc.errors:
                seen += 1
                assert not PYDANTIC.search(error.message), (error.field, error.message)
    assert seen > 300


def errors_of(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(data)
    return {error.field: (error.code, error.message) for error in caught.value.errors}


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        pytest.param(
            {"name": "Order-Status"}, "name",
            ("invalid", "use 1 to 64 lowercase letters, digits and underscores, starting with a "
             "letter"),
            id="name-pattern",
        ),
        pytest.param(
            {"parameters": [PARAMETER | {"name": "1st"}]}, "parameters[0].name",
            ("invalid", "use 1 to 64 lowercase letters, digits and underscores, starting with a "
             "letter"),
            id="parameter-name-pattern",
        ),
        pytest.param(
            {"timeout": 0}, "timeout", ("invalid", "must be a number of seconds from 1 to 30"),
            id="timeout-too-small",
        ),
        pytest.param(
            {"timeout": "10"}, "timeout", ("invalid", "must be a number of seconds from 1 to 30"),
            id="timeout-as-text",
        ),
        pytest.param(
            {"calls_per_minute": 0}, "calls_per_minute",
            ("invalid", "must be a whole number from 1 to 1,000,000 (or none)"),
            id="budget-too-small",
        ),
        pytest.param(
            {"examples": [f"example {n}" for n in range(21)]}, "examples",
            ("invalid", "at most 20 examples"), id="too-many-examples",
        ),
        pytest.param(
            {"parameters": [PARAMETER | {"type": "string", "values": ["a"] * 51}]},
            "parameters[0].values", ("invalid", "at most 50 allowed values"),
            id="too-many-values",
        ),
        pytest.param({"description": ""}, "description", ("invalid", "must not be empty"),
                     id="empty-description"),
        pytest.param({"description": 7}, "description", ("invalid", "must be text"),
                     id="description-not-text"),
        pytest.param({"description": "x" * 1001}, "description",
                     ("invalid", "at most 1,000 characters"), id="description-too-long"),
        pytest.param({"method": "PUT"}, "method", ("invalid", "must be POST or GET"),
                     id="method"),
        pytest.param({"enabled": "yes"}, "enabled", ("invalid", "must be true or false"),
                     id="enabled"),
        pytest.param({"colour": "blue"}, "colour", ("unknown_field", "unknown field: remove it"),
                     id="unknown-field"),
        pytest.param({"parameters": [{"name": "x"}]}, "parameters[0].description",
                     ("required", "required"), id="missing"),
        pytest.param({"parameters": [PARAMETER | {"type": "date"}]}, "parameters[0].type",
                     ("invalid", "must be one of string, number, integer, boolean"),
                     id="our-own-validator"),
    ],
)  # fmt: skip
def test_messages_say_the_rule_in_plain_words(
    changes: dict[str, Any], field: str, expected: tuple[str, str]
) -> None:
    assert errors_of(VALID | changes)[field] == expected
