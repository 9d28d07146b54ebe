"""Converting user input to parameter types: forgiving, never guessing."""

from __future__ import annotations

import pytest

from webhooks import BadValue, convert


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


@pytest.mark.parametrize("kind", ["integer", "number"])
@pytest.mark.parametrize("raw", ["9" * 5000, "1" + "0" * 18, 10**18, -(10**18)])
def test_huge_numbers_are_re_asked_not_crashed_on(kind: str, raw: object) -> None:
    with pytest.raises(BadValue, match="smaller"):
        convert(raw, kind)
