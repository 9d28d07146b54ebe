"""Converting user input to parameter types: forgiving, never guessing."""

from __future__ import annotations

import pytest

from webhooks import BadValue, NumberOutOfRange, Parameter, convert, convert_for


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        pytest.param("4521", "integer", 4521, id="plain"),
        pytest.param("#4521", "integer", 4521, id="hash"),
        pytest.param("order #4521 please", "integer", 4521, id="in-a-sentence"),
        pytest.param("No. 4521", "integer", 4521, id="no-dot"),
        pytest.param("4,521", "integer", 4521, id="thousands"),
        pytest.param("-3", "integer", -3, id="negative"),
        pytest.param("12.0", "integer", 12, id="integral-decimal"),
        pytest.param(7, "integer", 7, id="already-int"),
        pytest.param("0004521", "integer", 4521, id="leading-zeros"),
        pytest.param("9" * 18, "integer", 10**18 - 1, id="largest-accepted"),
        pytest.param("4521", "number", 4521, id="number-whole"),
        pytest.param(["42", "42"], "integer", 42, id="entity-twice-same"),
        pytest.param("12.5", "number", 12.5, id="decimal"),
        pytest.param("about 3 kg", "number", 3, id="number-in-text"),
        pytest.param("1,250.75", "number", 1250.75, id="thousands-and-decimals"),
        pytest.param(2.5, "number", 2.5, id="already-float"),
        pytest.param("yes", "boolean", True, id="yes"),
        pytest.param("Yes please", "boolean", True, id="yes-please"),
        pytest.param("nope", "boolean", False, id="nope"),
        pytest.param("FALSE", "boolean", False, id="false-upper"),
        pytest.param(True, "boolean", True, id="already-bool"),
        pytest.param("  hello   world ", "string", "hello world", id="string-spaces"),
        pytest.param(4521, "string", "4521", id="number-as-string"),
    ],
)
def test_good_values_convert(raw: object, kind: str, expected: object) -> None:
    value = convert(raw, kind)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        pytest.param("abc", "integer", id="no-digits"),
        pytest.param("", "integer", id="empty"),
        pytest.param("4521 or 4522", "integer", id="two-numbers"),
        pytest.param("12.5", "integer", id="fraction"),
        pytest.param("a1b2", "integer", id="glued-to-letters"),
        pytest.param(True, "integer", id="boolean-as-integer"),
        pytest.param(float("nan"), "number", id="nan"),
        pytest.param(float("inf"), "integer", id="inf"),
        pytest.param("1e999", "number", id="exponent-not-a-plain-number"),
        pytest.param("9" * 400, "number", id="too-large-for-a-float"),
        pytest.param("maybe", "boolean", id="maybe"),
        pytest.param("yes and no", "boolean", id="both"),
        pytest.param("   ", "string", id="blank"),
        pytest.param("x" * 501, "string", id="too-long"),
        pytest.param(None, "string", id="none"),
        pytest.param("a\ud800", "string", id="half-a-character"),
        pytest.param(["1", "2"], "integer", id="entity-twice-different"),
    ],
)
def test_bad_values_are_refused_with_a_hint(raw: object, kind: str) -> None:
    with pytest.raises(BadValue) as caught:
        convert(raw, kind)
    assert caught.value.hint.endswith(".")


TOO_LONG = "That number is too long: please give at most 18 digits."
TOO_LARGE = "That number is too large: please give at most 18 digits before the decimal point."
TOO_PRECISE = "That number has too many digits: please round it to at most 15."
TOO_SMALL = "That number is too close to zero: please round it."


@pytest.mark.parametrize(
    ("raw", "kind", "hint"),
    [
        pytest.param("9" * 20, "integer", TOO_LONG, id="twenty-digits"),
        pytest.param("9" * 19, "integer", TOO_LONG, id="nineteen-digits"),
        pytest.param("1" + "0" * 18, "integer", TOO_LONG, id="ten-to-the-18"),
        pytest.param("-" + "9" * 20, "integer", TOO_LONG, id="negative"),
        pytest.param("order #" + "9" * 20, "integer", TOO_LONG, id="in-a-sentence"),
        pytest.param("9" * 5000, "integer", TOO_LONG, id="past-pythons-int-to-text-limit"),
        pytest.param(10**18, "integer", TOO_LONG, id="int-ten-to-the-18"),
        pytest.param(-(10**18), "integer", TOO_LONG, id="int-negative"),
        pytest.param(10**5000, "integer", TOO_LONG, id="int-of-5000-digits"),
        pytest.param(1e300, "integer", TOO_LONG, id="float-1e300"),
        pytest.param("9" * 20, "number", TOO_LARGE, id="number-twenty-digits"),
        pytest.param("9" * 400, "number", TOO_LARGE, id="number-past-a-float"),
        pytest.param("9" * 20 + ".5", "number", TOO_LARGE, id="number-with-decimals"),
        pytest.param(10**18, "number", TOO_LARGE, id="number-int-ten-to-the-18"),
        # A float would send 12345678901234568.0 and 1.1111111111111112: a different number.
        pytest.param("12345678901234567.5", "number", TOO_PRECISE, id="rounded-by-a-float"),
        pytest.param("1." + "1" * 20, "number", TOO_PRECISE, id="long-fraction"),
        pytest.param("0." + "0" * 400 + "1", "number", TOO_SMALL, id="zero-as-a-float"),
    ],
)
def test_a_number_out_of_range_is_refused_saying_why(raw: object, kind: str, hint: str) -> None:
    with pytest.raises(NumberOutOfRange) as caught:
        convert(raw, kind)
    assert caught.value.hint == hint
    assert isinstance(caught.value, BadValue)  # asked again as any refused answer is


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        pytest.param("9" * 18, "integer", 10**18 - 1, id="eighteen-digits"),
        pytest.param("0" * 30 + "7", "integer", 7, id="leading-zeros-are-no-digits"),
        pytest.param("-" + "9" * 18, "number", -(10**18) + 1, id="number-eighteen-digits"),
        pytest.param("12345678901234567", "number", 12345678901234567, id="whole-sent-exactly"),
        pytest.param("0.123456789012345", "number", 0.123456789012345, id="fifteen-digits"),
        pytest.param("2.50000000000000000000", "number", 2.5, id="trailing-zeros"),
        pytest.param(1e-320, "number", 1e-320, id="already-a-tiny-float"),
        pytest.param(0.1 + 0.2, "number", 0.30000000000000004, id="already-a-float"),
    ],
)
def test_numbers_at_the_limits_are_kept_exactly(raw: object, kind: str, expected: object) -> None:
    value = convert(raw, kind)
    assert (value, type(value)) == (expected, type(expected))


def choice(*values: str) -> Parameter:
    return Parameter(name="city", type="string", description="the city", values=list(values))


@pytest.mark.parametrize(
    ("values", "raw", "hint"),
    [
        pytest.param(("Berlin", "Lisbon", "Paris"), "parks", "Did you mean Paris?", id="one"),
        pytest.param(("Austin", "Boston"), "Bostin", "Did you mean Boston or Austin?", id="two"),
        pytest.param(
            ("Hansen", "Jansen", "Janssen"),
            "Hanssen",
            "Did you mean Hansen, Janssen or Jansen?",
            id="three",
        ),
        pytest.param(
            ("Berlin", "Lisbon", "Paris"),
            "Madrid",
            "Please choose one of: Berlin, Lisbon, Paris.",
            id="none-close",
        ),
    ],
)
def test_a_refused_answer_close_to_allowed_values_is_asked_which(
    values: tuple[str, ...], raw: str, hint: str
) -> None:
    with pytest.raises(BadValue) as caught:
        convert_for(raw, choice(*values))
    assert caught.value.hint == hint


def test_an_answer_with_a_slip_is_converted_to_the_value_as_written() -> None:
    assert convert_for("  lisbn ", choice("Berlin", "Lisbon")) == "Lisbon"
    assert convert_for("sao paulo", choice("São Paulo")) == "São Paulo"
