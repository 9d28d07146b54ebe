"""Answer rules on users' text: allowed values regardless of case and accents, and patterns
run on RE2, in time linear in the text.

No timings here (speed targets live in ``python -m bench patterns``): the pattern tests pin what
only RE2 does, so swapping the engine back to Python's ``re`` fails them.
"""

from __future__ import annotations

import logging

import pytest

from webhooks import Parameter, allowed_value, value_in_request
from webhooks._answers import _compiled, _unrunnable

REVIEWERS_PATTERN = r"\w{0,10}" * 6 + "!"


CITIES = ["Berlin", "Lisbon", "São Paulo", "Zürich", "Kraków", "København", "Łódź"]


def allowed(*values: str) -> Parameter:
    return Parameter(name="city", type="string", description="the city", values=list(values))


def coded(pattern: str) -> Parameter:
    return Parameter(name="code", type="string", description="the code", pattern=pattern)


def stored(pattern: str) -> Parameter:
    """A parameter as the store hands it out: built without the checks of a save."""
    record = {"name": "code", "type": "string", "description": "the code", "pattern": pattern}
    return Parameter.stored(record)


def test_patterns_are_compiled_by_re2_once() -> None:
    regexp, problem = _compiled(r"\d{4}")
    assert problem is None
    assert type(regexp).__module__ == "re2"
    assert _compiled(r"\d{4}")[0] is regexp  # cached, not compiled per message


def test_a_unicode_class_matches_as_re2_reads_it() -> None:
    # Python's re has no \p{...}: this pattern only runs on RE2.
    city = coded(r"(\p{Lu}\p{Ll}+)")
    assert allowed_value(city, "I live in zürich, near Zürich") == "Zürich"
    assert value_in_request(city, "opening hours in Lisbon") == "Lisbon"


@pytest.mark.parametrize("repeats", [6, 7, 20])
def test_the_reviewers_pattern_answers_a_long_hostile_text(repeats: int) -> None:
    # Python's re took 7.5 s on the first of these (80 s at seven, no end at twenty).
    rule = coded(r"\w{0,10}" * repeats + "!")
    assert allowed_value(rule, "a" * 500) is None
    assert allowed_value(rule, "a" * 499 + "!") == "a" * 10 * repeats + "!"


def test_the_match_keeps_its_meaning_search_group_and_collapsed_whitespace() -> None:
    assert allowed_value(coded(r"code:\s*(\w+)"), "my code:   XY12 thanks") == "XY12"
    assert allowed_value(coded(r"(?i)ref\s+\d+\s+\d+"), "REF  12 \n 34") == "REF 12 34"
    assert allowed_value(coded(r"(a)|b"), "just b") is None  # an empty group is no value
    assert allowed_value(coded(r"\d{4}"), "a" * 500 + "1234") is None  # past MAX_SEARCHED


def test_a_lone_surrogate_in_the_answer_is_no_error() -> None:
    assert allowed_value(coded(r"\d{4}"), "\ud800 code 4521") == "4521"
    assert allowed_value(coded(r"\d{4}"), "a\ud800") is None


def test_a_stored_pattern_re2_cannot_run_matches_nothing_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Saved before patterns ran on RE2: the answer is refused as any non-matching one (the
    # user is asked again), and the log says why without the user's text, once per pattern.
    _unrunnable.cache_clear()
    with caplog.at_level(logging.WARNING, logger="webhooks.answers"):
        assert allowed_value(stored(r"(\w)\1"), "secret aa answer") is None
        assert value_in_request(stored(r"(?=a)a"), "secret aa answer") is None
        assert allowed_value(stored(r"(\w)\1"), "another answer") is None
    assert len(caplog.records) == 2
    assert "RE2 cannot run" in caplog.text
    assert "secret" not in caplog.text


# -- allowed values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param("Lisbon", "Lisbon", id="as-written"),
        pytest.param("  BERLIN ", "Berlin", id="case-and-spaces"),
        pytest.param("sao paulo", "São Paulo", id="tilde-left-out"),
        pytest.param("Sao   PAULO", "São Paulo", id="tilde-case-and-spaces"),
        pytest.param("zurich", "Zürich", id="umlaut-left-out"),
        pytest.param("ZÜRICH", "Zürich", id="umlaut-in-capitals"),
        pytest.param("krakow", "Kraków", id="acute-left-out"),
        pytest.param("kobenhavn", "København", id="stroke-left-out"),
        pytest.param("lodz", "Łódź", id="stroke-and-acutes-left-out"),
        pytest.param("\uff22\uff25\uff32\uff2c\uff29\uff2e", "Berlin", id="full-width-letters"),
        pytest.param("the one in sao paulo please", "São Paulo", id="named-in-a-sentence"),
        pytest.param("Madrid", None, id="not-allowed"),
        pytest.param("berlin or lisbon", None, id="two-named"),
        pytest.param("Sao", None, id="part-of-a-value"),
    ],
)
def test_an_answer_names_an_allowed_value_regardless_of_case_and_accents(
    answer: str, expected: str | None
) -> None:
    assert allowed_value(allowed(*CITIES), answer) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("opening hours in sao paulo?", "São Paulo", id="accent-left-out"),
        pytest.param("are you open in ZURICH today", "Zürich", id="capitals"),
        pytest.param("hours of the Zürich store", "Zürich", id="as-written"),
        pytest.param("opening hours in zurichsee", None, id="not-a-whole-word"),
        pytest.param("berlin or krakow?", None, id="two-named"),
        pytest.param("opening hours", None, id="none-named"),
    ],
)
def test_a_request_names_an_allowed_value_regardless_of_case_and_accents(
    text: str, expected: str | None
) -> None:
    assert value_in_request(allowed(*CITIES), text) == expected


def test_values_that_differ_only_by_accents_are_told_apart_by_them() -> None:
    both = allowed("Resume", "Résumé")
    assert allowed_value(both, "RESUME") == "Resume"
    assert allowed_value(both, "résumé") == "Résumé"
    assert allowed_value(both, "resumé") is None  # either one: no guess


def test_marks_outside_the_latin_accents_are_kept() -> None:
    # Without its virama, सत्य (satya) is another word: such marks are no accent to forgive.
    assert allowed_value(allowed("सत्य"), "सतय") is None
    assert allowed_value(allowed("सत्य"), "सत्य") == "सत्य"
