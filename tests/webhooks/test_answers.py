"""Answer rules on users' text: patterns run on RE2, in time linear in the text.

No timings here (speed targets live in ``python -m bench patterns``): these tests pin what
only RE2 does, so swapping the engine back to Python's ``re`` fails them.
"""

from __future__ import annotations

import logging

import pytest

from webhooks import Parameter, allowed_value, pattern_problem, value_in_request
from webhooks._answers import _compiled, _unrunnable

REVIEWERS_PATTERN = r"\w{0,10}" * 6 + "!"


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


#: RE2's own wording for its error codes: never said to an operator.
RE2_WORDS = ("missing", "unexpected", "invalid", "trailing", "bad repetition", "no argument")


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        pytest.param("(order", "a group opened with ( is never closed: at (order", id="open-group"),
        pytest.param("a)", "a ) closes no group: at a)", id="stray-close"),
        pytest.param("[a-z", "never closed: at [a-z", id="open-set"),
        pytest.param("[z-a]", "backwards or unknown", id="backwards-range"),
        pytest.param(r"(a)\1", r"back-references such as \1 are not", id="back-reference"),
        pytest.param("(?=a)b", "lookarounds", id="lookahead"),
        pytest.param("x++", "possessive", id="possessive"),
        pytest.param("a{2000}", "over 1000: at {2000}", id="counted"),
        pytest.param("*a", "nothing before it", id="nothing-to-repeat"),
        pytest.param("ab\\", "ends with a lone", id="trailing-backslash"),
        pytest.param("(?P<x", "(?P<name>...)", id="named-group"),
    ],
)
def test_a_refused_pattern_is_said_in_plain_words_with_the_part_at_fault(
    pattern: str, said: str
) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    assert said in problem
    assert not problem.startswith(RE2_WORDS)
