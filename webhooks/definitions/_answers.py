"""A string parameter's answer rules: allowed values, or a pattern the answer must contain.

Both serve twice: to judge what a user answers to the question, and to take the value straight
from the request that started the action ("opening hours in Lisbon" does not ask for the city).

Allowed values are matched regardless of case and accents ("sao paulo" is São Paulo, "ZURICH"
is Zürich): both sides are folded as Unicode's caseless matching does, less the accents. An
answer to the question is also forgiven a small slip ("lisbn" is Lisbon), never at the price of
a wrong value: a value is taken only when it alone is close (:data:`FUZZY_TAKE`), two close
ones are asked about (:func:`close_values`, "Did you mean Bologna or Cologne?"), and short
answers and values with digits are forgiven nothing but case and accents. A slip in a value
said with a few other words ("in londn") is offered, never taken: the other words can be a slip
from a value themselves ("never mind" is one from Nevers, "not lisbn" is no Lisbon). Nor are a
request's words forgiven: they were not written as this answer, and nobody would see the guess
before the webhook.
Patterns are the operator's regular expressions run on users' text, on the event loop of every
server. Python's ``re`` backtracks, so a short pattern can take seconds on one answer; RE2 runs
in time linear in the text by construction, so patterns run on RE2 only. A pattern RE2 cannot
compile (back-references, lookarounds, a program too large) is refused when saved; one stored
before this rule matches nothing.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import re2
from rapidfuzz import process
from rapidfuzz.distance import OSA

if TYPE_CHECKING:
    from ._definitions import Parameter

__all__ = [
    "FUZZY_MIN_LENGTH",
    "FUZZY_SUGGEST",
    "FUZZY_TAKE",
    "FUZZY_WORDS_AROUND",
    "MAX_SUGGESTED",
    "allowed_value",
    "close_values",
    "pattern_problem",
    "value_in_request",
]

logger = logging.getLogger("webhooks.answers")

#: Longest text a pattern or the allowed values are tried on (an answer is at most 500).
MAX_SEARCHED = 500

#: RE2's memory for one pattern: its program and the DFA states it caches while matching
#: (RE2's own default, stated here). Smaller budgets starve the DFA, and crafted patterns then
#: fall back to RE2's slower NFA: 12 ms per answer at 2 MiB against microseconds at 8 MiB.
PATTERN_MEMORY = 8 << 20

#: Most RE2 instructions a pattern may compile to. RE2's time is linear in the text but also
#: grows with the program, and crafted counted repetitions make big ones (``(?:.{0,200}){5}!``,
#: 9,005 instructions, took 66 ms on 500 characters); ``\p{L}+`` is 1,201.
MAX_PROGRAM_SIZE = 2000

#: Compiled patterns kept per process: a pattern compiles once, not on every message.
PATTERN_CACHE_SIZE = 128


#: How alike an answer and an allowed value (both folded) must be for the value to be taken
#: despite a slip. The score is RapidFuzz's optimal string alignment similarity, 1 - edits / the
#: longer one's length, where a letter wrong, missing, extra, or two swapped are one edit each
#: (``fuzz.ratio`` counts a wrong letter twice, so "lisbun" would score below "lisbn"). 0.83 takes
#: one slip in six characters (5/6 = 0.833: "lisbn", "lsibon", "londn"), two in twelve
#: ("amsterdm", "frankfrut", "new yrok"); a five-letter value with a slip (0.8) is only offered,
#: since there one slip also makes other words ("parks" for Paris, "bagel" for Basel), unless
#: the slip is two neighbouring letters swapped ("parsi"), which keeps every letter of the value.
FUZZY_TAKE = 0.83

#: Allowed values at least this alike are offered ("Did you mean Lisbon?"), and a second value
#: this close stops the best from being taken: "bostin" is one slip from Boston but two from
#: Austin, so both are offered. 0.65 offers two slips in six characters (0.667), not in five
#: (0.6), and none of "hello", "thanks", "later" or "maybe" for Berlin, Lisbon, Paris or London
#: (0.33 at most).
FUZZY_SUGGEST = 0.65

#: Answers and values shorter than this are forgiven no slip: a slip in "no", "stop", "help"
#: or "Rome" makes another word, not a typo.
FUZZY_MIN_LENGTH = 5

#: Most allowed values offered in one "Did you mean ...?".
MAX_SUGGESTED = 3

#: Most other words an answer may have for a value with a slip in it to be offered ("I'm near
#: lisbn" has three: I, m, near). A longer sentence is likelier to hold a word a slip away from a
#: value.
FUZZY_WORDS_AROUND = 3

#: A digit: answers and values with one are codes or numbers, and 4521 is never 4522.
_DIGIT = re.compile(r"\d")
#: A word of an answer or a value, as runs of them are compared.
_WORDS = re.compile(r"[^\W_]+")

#: The marks Unicode's decomposition splits off Latin, Greek and Cyrillic letters (é is e and
#: U+0301): the accents people leave out when typing. Other scripts' marks (a Devanagari virama,
#: Hebrew points) change the word, so they stay.
_ACCENTS = re.compile("[\u0300-\u036f]")
#: Letters that do not decompose, as people type them without their stroke or ligature.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "\u0131": "i", "æ": "ae", "œ": "oe"}
)


def _fold(text: str) -> str:
    """``text`` as compared with allowed values: caseless (Unicode's compatibility caseless
    matching, NFKD around a casefold), without accents, with single spaces."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join(_ACCENTS.sub("", decomposed).translate(_UNDECOMPOSED).split())


@functools.lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _folded(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each allowed value folded, once per process rather than at every message."""
    return tuple(_fold(value) for value in values)


def _options() -> Any:
    options = re2.Options()
    options.max_mem = PATTERN_MEMORY
    # A refused pattern is answered to the operator who wrote it, not printed on stderr.
    options.log_errors = False
    return options


#: RE2's reasons for refusing a pattern (its error codes' text) in plain words. Said with the
#: part of the operator's own pattern RE2 points at, never with RE2's wording.
_REFUSALS = {
    "missing )": "a group opened with ( is never closed",
    "unexpected )": "a ) closes no group",
    "missing ]": "a set of characters opened with [ is never closed",
    "invalid character class": "a set of characters in [ ] is not one RE2 knows",
    "invalid character class range": "a range of characters is backwards or unknown (such as "
    "z-a, or a \\p{...} name RE2 does not know)",
    "invalid escape sequence": "this \\ escape is not allowed (back-references such as \\1 "
    "are not)",
    "trailing \\": "the pattern ends with a lone \\",
    "no argument for repetition operator": "a repetition (*, + or ?) has nothing before it",
    "bad repetition operator": "a repetition is repeated (such as ** or ++: possessive "
    "repetitions are not allowed)",
    "invalid repetition size": "a counted repetition is over 1000",
    "invalid perl operator": "this (? form is not allowed (lookarounds such as (?= and (?<= "
    "are not)",
    "invalid named capture group": "a named group is not written (?P<name>...)",
}
_REFUSED = "not a pattern RE2 runs (no back-references, lookarounds or possessive repetitions)"


def _refusal(reason: str) -> str:
    """RE2's ``code: fragment`` reason in plain words, with the fragment of the pattern."""
    code, _, fragment = reason.partition(": ")
    sentence = _REFUSALS.get(code)
    if sentence is None:
        return _REFUSED
    return f"{sentence}: at {fragment}" if fragment else sentence


@functools.lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _compiled(pattern: str) -> tuple[Any, str | None]:
    """RE2's program for ``pattern`` and None, or None and why it cannot be an answer rule."""
    try:
        regexp = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, _refusal(str(reason))
    if regexp.programsize > MAX_PROGRAM_SIZE:
        return None, (
            f"too large: {regexp.programsize} RE2 instructions, at most {MAX_PROGRAM_SIZE} "
            "(make counted repetitions smaller or open-ended)"
        )
    if regexp.groups > 1:
        return None, "at most one group: the value is the match, or its group"
    return regexp, None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an answer rule, or None."""
    return _compiled(pattern)[1]


@functools.lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _unrunnable(problem: str) -> None:
    """Say once per process (per pattern's problem), not at every message, that a stored
    pattern matches nothing."""
    logger.warning("a stored pattern RE2 cannot run matches nothing: %s", problem)


def _matched(pattern: str, text: str) -> str | None:
    regexp, problem = _compiled(pattern)
    if regexp is None:
        # Stored before RE2 (or before a limit changed): the answer is refused as any
        # non-matching one is, and the operator learns why when saving the definition again.
        _unrunnable(problem or "")
        return None
    # RE2 reads UTF-8 bytes; surrogatepass keeps a lone surrogate from raising here, and the
    # engine treats its bytes as the invalid UTF-8 they are.
    found = regexp.search(text[:MAX_SEARCHED].encode("utf-8", "surrogatepass"))
    if found is None:
        return None
    matched: bytes | None = found.group(1) if regexp.groups else found.group(0)
    value = " ".join((matched or b"").decode("utf-8", "replace").split())
    return value or None


def _named(values: Sequence[str], text: str) -> str | None:
    """The one allowed value ``text`` (folded) mentions as whole words, or None."""
    named = {
        value
        for value, folded in zip(values, _folded(tuple(values)), strict=True)
        if folded and re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", text)
    }
    return named.pop() if len(named) == 1 else None


def _fuzzy(text: str) -> bool:
    """Whether ``text`` (folded) may match despite a slip: long enough, and no number."""
    return len(text) >= FUZZY_MIN_LENGTH and not _DIGIT.search(text)


def _close(values: Sequence[str], answer: str) -> list[tuple[str, float]]:
    """The allowed values at least :data:`FUZZY_SUGGEST` alike ``answer`` (folded) with their
    scores, best first, ties in the operator's order."""
    if not _fuzzy(answer):
        return []
    choices = {i: f for i, f in enumerate(_folded(tuple(values))) if _fuzzy(f)}
    found = process.extract(
        answer,
        choices,
        scorer=OSA.normalized_similarity,
        processor=None,
        score_cutoff=FUZZY_SUGGEST,
        limit=None,
    )
    return [(values[i], score) for _, score, i in sorted(found, key=lambda f: (-f[1], f[2]))]


def _swapped(answer: str, value: str) -> bool:
    """Whether ``answer`` is ``value`` (both folded) with two neighbouring letters swapped
    ("parsi" for Paris): every letter typed right, in the wrong order. Taken at any length the
    slips are forgiven at, where another slip in five letters is only offered: a wrong letter
    makes another word ("parks"), a swap keeps the value's letters."""
    if len(answer) != len(value) or answer == value:
        return False
    differ = [i for i, (a, b) in enumerate(zip(answer, value, strict=True)) if a != b]
    return (
        len(differ) == 2
        and differ[1] == differ[0] + 1
        and answer[differ[0]] == value[differ[1]]
        and answer[differ[1]] == value[differ[0]]
    )


def _close_in_words(values: Sequence[str], answer: str) -> list[tuple[str, float]]:
    """As :func:`_close`, for a value said with a few other words ("in londn", "lisbn
    please"), to offer: each allowed value's best score over the answer's runs of as many words
    as it has, best first, ties in the operator's order. A longer sentence is no answer with a
    slip: among its words, one is too likely to be a slip from a value by chance."""
    words = _WORDS.findall(answer)
    best: dict[int, float] = {}
    for index, value in enumerate(_folded(tuple(values))):
        own = _WORDS.findall(value)
        if not _fuzzy(value) or not len(own) < len(words) <= len(own) + FUZZY_WORDS_AROUND:
            continue  # the whole answer was compared already, or it is a sentence
        runs = [" ".join(words[i : i + len(own)]) for i in range(len(words) - len(own) + 1)]
        found = process.extractOne(
            " ".join(own),
            [run for run in runs if _fuzzy(run)],
            scorer=OSA.normalized_similarity,
            processor=None,
            score_cutoff=FUZZY_SUGGEST,
        )
        if found is not None:
            best[index] = found[1]
    return [(values[i], score) for i, score in sorted(best.items(), key=lambda b: (-b[1], b[0]))]


def _choice(values: Sequence[str], answer: str) -> tuple[str | None, tuple[str, ...]]:
    """The allowed value ``answer`` gives, or None and the values close enough to offer."""
    wanted = " ".join(answer.lower().split())
    for value in values:
        if " ".join(value.lower().split()) == wanted:
            return value, ()  # before folding: "Resume" and "Résumé" may both be allowed
    folded = _fold(answer[:MAX_SEARCHED])
    same = tuple(v for v, f in zip(values, _folded(tuple(values)), strict=True) if f == folded)
    if len(same) == 1:
        return same[0], ()
    if same:
        return None, same[:MAX_SUGGESTED]  # the same but for accents: which one?
    named = _named(values, folded)
    if named is not None:
        return named, ()
    close = _close(values, folded)
    if len(close) == 1 and (close[0][1] >= FUZZY_TAKE or _swapped(folded, _fold(close[0][0]))):
        return close[0][0], ()  # alone close enough to offer, and close enough to take
    # Among other words, a slip is only offered ("never mind" is not Nevers).
    close = close or _close_in_words(values, folded)
    return None, tuple(value for value, _ in close[:MAX_SUGGESTED])


def allowed_value(parameter: Parameter, answer: str) -> str | None:
    """The value ``answer`` gives under the parameter's rule: the allowed value it names (as
    the operator wrote it; regardless of case and accents, or despite a slip when no other
    value is close) or the pattern's match; the answer itself without a rule; None if the rule
    refuses it."""
    values, pattern = parameter.values, parameter.pattern
    if values is not None:
        return _choice(values, answer)[0]
    if pattern is not None:
        return _matched(pattern, answer)
    return answer


def close_values(parameter: Parameter, answer: str) -> tuple[str, ...]:
    """The allowed values to offer for an answer :func:`allowed_value` refuses, best first:
    those it might have meant (a slip, or the same but for accents); none when nothing is close
    or the answer is taken."""
    values = parameter.values
    return _choice(values, answer)[1] if values else ()


def value_in_request(parameter: Parameter, text: str) -> str | None:
    """The value a request names for the parameter: the one allowed value mentioned as whole
    words (regardless of case and accents, but without forgiving slips), or the pattern's
    match; None when there is no rule, none or several are named.

    No slip is forgiven here: the request was not written as this answer, its other words can
    be a slip from a value ("never" from Nevers, "returns" from Return, "parks" from Paris),
    and the value would reach the webhook unseen. A request with a slip is asked the question,
    whose answer is forgiven it."""
    values, pattern = parameter.values, parameter.pattern
    if values is not None:
        return _named(values, _fold(text[:MAX_SEARCHED]))
    if pattern is not None:
        return _matched(pattern, text)
    return None
