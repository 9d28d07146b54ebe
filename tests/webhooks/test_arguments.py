"""Sample values for a Test: converted as a user's answers are, every problem named."""

from __future__ import annotations

import pytest

from webhooks import (
    BadValue,
    InvalidArguments,
    InvalidDefinition,
    Parameter,
    call_arguments,
    convert_for,
)

ORDER = Parameter(name="order_id", type="integer", description="the order")
CITY = Parameter(name="city", type="string", description="the city", values=["Berlin", "Lisbon"])
GIFT = Parameter(name="gift", type="boolean", description="a gift?", required=False)
WEIGHT = Parameter(name="weight", type="number", description="kg", required=False)
PARAMETERS = (ORDER, CITY, GIFT, WEIGHT)


def problems(values: dict[str, object]) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidArguments) as caught:
        call_arguments(PARAMETERS, values)
    return [(e.field, e.code, e.message) for e in caught.value.errors]


def test_bad_arguments_are_no_bad_definition() -> None:
    # The operator's definition is fine: what was sent for the call is not.
    with pytest.raises(InvalidArguments) as caught:
        call_arguments(PARAMETERS, {"order_id": "soon"})
    assert not isinstance(caught.value, InvalidDefinition)
    assert caught.value.field == "values.order_id"


def test_values_convert_as_answers_do_and_come_in_the_parameters_order() -> None:
    arguments = call_arguments(
        PARAMETERS, {"weight": "2.5", "city": "lisbon", "order_id": "#4521", "gift": "yes"}
    )
    assert arguments == {"order_id": 4521, "city": "Lisbon", "gift": True, "weight": 2.5}
    assert list(arguments) == ["order_id", "city", "gift", "weight"]


def test_optional_parameters_left_out_are_not_sent() -> None:
    assert call_arguments(PARAMETERS, {"order_id": 7, "city": "Berlin"}) == {
        "order_id": 7,
        "city": "Berlin",
    }


def test_no_parameters_and_no_values_is_no_arguments() -> None:
    assert call_arguments((), {}) == {}


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        pytest.param("4521 or 4522", ORDER, id="two-numbers"),
        pytest.param(True, ORDER, id="boolean-for-integer"),
        pytest.param("Paris", CITY, id="not-an-allowed-value"),
        pytest.param("maybe", GIFT, id="neither-yes-nor-no"),
    ],
)
def test_a_value_that_does_not_convert_gets_the_users_sentence(
    raw: object, parameter: Parameter
) -> None:
    with pytest.raises(BadValue) as expected:
        convert_for(raw, parameter)
    values: dict[str, object] = {"order_id": 1, "city": "Berlin", parameter.name: raw}
    assert problems(values) == [(f"values.{parameter.name}", "invalid", str(expected.value))]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="null"),
        pytest.param([4521], id="list"),
        pytest.param({"n": 4521}, id="object"),
    ],
)
def test_only_strings_numbers_and_booleans_are_values(raw: object) -> None:
    assert problems({"order_id": raw, "city": "Berlin"}) == [
        ("values.order_id", "invalid", "must be a string, number or boolean")
    ]


def test_every_problem_is_listed_at_its_field() -> None:
    assert problems({"colour": "red", "order_id": "none", "gift": "no"}) == [
        ("values.colour", "unknown_field", "no parameter has this name"),
        ("values.order_id", "invalid", "Please give a whole number, for example 4521."),
        ("values.city", "required", "this parameter is required"),
    ]


# -- values a conversation collected, each judged as it was given --------------------------


def test_collected_values_are_checked_for_their_type_only() -> None:
    code = Parameter(name="code", description="the code", pattern=r"code:\s*(\w+)")
    # The form kept the pattern's group: matched again, it would not match.
    assert call_arguments((code, ORDER), {"code": "AB12", "order_id": 7}, judged=True) == {
        "code": "AB12",
        "order_id": 7,
    }


def test_collected_values_of_a_changed_definition() -> None:
    # Removed since, not given (None), no longer of its type: an optional one is left out...
    assert call_arguments(
        PARAMETERS,
        {"order_id": 7, "city": "Berlin", "gone": "x", "gift": None, "weight": "heavy"},
        judged=True,
    ) == {"order_id": 7, "city": "Berlin"}
    # ... and a required one is missing, named at its field.
    with pytest.raises(InvalidArguments) as caught:
        call_arguments(PARAMETERS, {"order_id": "soon", "city": "Berlin"}, judged=True)
    assert [(e.field, e.code) for e in caught.value.errors] == [("values.order_id", "required")]
