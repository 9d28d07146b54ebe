"""Answer rules on users' text: allowed values regardless of case and accents, and patterns
run on RE2, in time linear in the text.

No timings here (speed targets live in ``python -m bench patterns``): the pattern tests pin what
only RE2 does, so swapping the engine back to Python's ``re`` fails them.
"""

from __future__ import annotations

import logging

import pytest

from webhooks import Parameter, allowed_value, value_in_request
from webhooks.definitions._answers import _compiled, _unrunnable, close_values, pattern_problem

REVIEWERS_PATTERN = r"\w{0,10}" * 6 + "!"


CITIES = ["Berlin", "Lisbon", "São Paulo", "Zürich", "Kraków", "København", "Łódź"]
#: The demo's store cities.
STORES = ("Berlin", "Lisbon", "Paris", "London")


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


# -- slips --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "answer", "expected"),
    [
        pytest.param(STORES, "lisbn", "Lisbon", id="letter-missing"),
        pytest.param(STORES, "lisbom", "Lisbon", id="letter-wrong"),
        pytest.param(STORES, "lsibon", "Lisbon", id="letters-swapped"),
        pytest.param(STORES, "berlinn", "Berlin", id="letter-extra"),
        pytest.param(STORES, "LONDN", "London", id="slip-in-capitals"),
        pytest.param(("Amsterdam", "Frankfurt"), "frankfrut", "Frankfurt", id="nine-letters"),
        pytest.param(("New York", "Boston"), "new yrok", "New York", id="two-words"),
        pytest.param(("New York", "Boston"), "newyork", "New York", id="space-left-out"),
        pytest.param(("São Paulo", "Lima"), "sao paolo", "São Paulo", id="slip-and-accent"),
        pytest.param(("Copenhagen", "Oslo"), "copenhagn", "Copenhagen", id="ten-letters"),
        pytest.param(("Austin", "Boston"), "bostn", "Boston", id="one-close-one-far"),
        pytest.param(("Express", "Standard"), "stnadard", "Standard", id="not-a-place"),
        # Two neighbouring letters swapped keep every letter: taken in five letters too.
        pytest.param(STORES, "parsi", "Paris", id="five-letters-swapped"),
        pytest.param(STORES, "PAIRS", "Paris", id="five-letters-swapped-a-word"),
        pytest.param(("Basel", "Genf"), "baesl", "Basel", id="swapped-in-the-middle"),
    ],
)
def test_an_answer_with_a_slip_takes_the_one_close_value(
    values: tuple[str, ...], answer: str, expected: str
) -> None:
    assert allowed_value(allowed(*values), answer) == expected
    assert close_values(allowed(*values), answer) == ()


@pytest.mark.parametrize(
    ("values", "answer", "offered"),
    [
        # Another slip in five letters also makes other words ("parks"): offered, not taken.
        pytest.param(STORES, "parks", ("Paris",), id="five-letters-a-word"),
        pytest.param(STORES, "pariz", ("Paris",), id="five-letters-wrong"),
        # Among other words a slip is offered, never taken: they may be a slip themselves.
        pytest.param(STORES, "in londn", ("London",), id="a-word-around"),
        pytest.param(STORES, "I'm near lisbn", ("Lisbon",), id="three-words-around"),
        pytest.param(("New York", "Boston"), "new yrok please", ("New York",), id="two-word-value"),
        pytest.param(("Nevers", "Paris"), "never mind", ("Nevers",), id="a-word-not-a-value"),
        pytest.param(STORES, "not lisbn", ("Lisbon",), id="a-refusal"),
        pytest.param(STORES, "the parsi one", ("Paris",), id="five-letters-among-words"),
        pytest.param(
            ("Austin", "Boston"), "in Bostin", ("Boston", "Austin"), id="two-close-among-words"
        ),
        pytest.param(STORES, "lissabon", ("Lisbon",), id="two-slips"),
        # One slip from one value and two from another: which was meant is not clear.
        pytest.param(("Austin", "Boston"), "Bostin", ("Boston", "Austin"), id="best-first"),
        pytest.param(("Austria", "Australia"), "Austrlia", ("Australia", "Austria"), id="near"),
        pytest.param(("Bologna", "Cologne"), "Cologna", ("Bologna", "Cologne"), id="tie"),
        pytest.param(("Munich", "Zurich"), "Murich", ("Munich", "Zurich"), id="tie-in-order"),
        pytest.param(("Resume", "Résumé"), "resumé", ("Resume", "Résumé"), id="only-accents"),
        pytest.param(
            ("Hansen", "Jansen", "Janssen", "Hanson"),
            "Hanssen",
            ("Hansen", "Janssen", "Jansen"),
            id="three-at-most",
        ),
    ],
)
def test_close_values_are_offered_but_not_taken(
    values: tuple[str, ...], answer: str, offered: tuple[str, ...]
) -> None:
    assert allowed_value(allowed(*values), answer) is None
    assert close_values(allowed(*values), answer) == offered


@pytest.mark.parametrize(
    ("values", "answer"),
    [
        pytest.param(STORES, "a", id="a-letter"),
        pytest.param(STORES, "no", id="no"),
        pytest.param(STORES, "yes", id="yes"),
        pytest.param(STORES, "stop", id="stop"),
        pytest.param(STORES, "help", id="help"),
        pytest.param(STORES, "hello", id="hello"),
        pytest.param(STORES, "thanks", id="thanks"),
        pytest.param(STORES, "maybe later", id="maybe-later"),
        pytest.param(STORES, "i don't know", id="dont-know"),
        pytest.param(STORES, "cancel", id="cancel"),
        pytest.param(STORES, "Madrid", id="another-city"),
        pytest.param(STORES, "Dublin", id="a-city-sharing-letters"),
        pytest.param(STORES, "Bern", id="a-city-inside-a-value"),
        pytest.param(STORES, "I think I'm near lisbn now", id="a-slip-in-a-sentence"),
        pytest.param(STORES, "in the morning", id="short-words-around-no-value"),
        pytest.param(("Rome", "Nice", "Oslo"), "home", id="short-value-one-slip"),
        pytest.param(("Rome", "Nice", "Oslo"), "rom", id="short-answer"),
        pytest.param(("A100", "A101", "Room 12"), "A102", id="a-code"),
        pytest.param(("A100", "A101", "Room 12"), "Roon 12", id="a-slip-beside-a-number"),
        pytest.param(("Terminal 1", "Terminal 2"), "Terminl 2", id="a-numbered-value"),
        pytest.param(("12345", "67890"), "12346", id="digits"),
    ],
)
def test_an_unrelated_or_short_answer_neither_matches_nor_is_offered_a_value(
    values: tuple[str, ...], answer: str
) -> None:
    assert allowed_value(allowed(*values), answer) is None
    assert close_values(allowed(*values), answer) == ()


@pytest.mark.parametrize(
    ("values", "answer", "expected"),
    [
        pytest.param(("Hamburg", "Homburg"), "homburg", "Homburg", id="exact-beside-a-slip"),
        pytest.param(("Vienna", "Sienna"), "SIENNA", "Sienna", id="exact-in-capitals"),
        pytest.param(("Zurich", "Zürich"), "zurich", "Zurich", id="exact-without-accent"),
        pytest.param(STORES, "the lisbon one", "Lisbon", id="named-word-beats-no-slip"),
    ],
)
def test_an_exact_value_always_wins_over_a_close_one(
    values: tuple[str, ...], answer: str, expected: str
) -> None:
    assert allowed_value(allowed(*values), answer) == expected


def test_a_request_is_not_forgiven_slips() -> None:
    # Its words were not written as this answer: the question is asked instead.
    assert value_in_request(allowed(*STORES), "opening hours in lisbn") is None
    assert value_in_request(allowed("Nevers", "Lyon"), "I never go there") is None
    assert value_in_request(allowed(*STORES), "opening hours in lisbon") == "Lisbon"


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
