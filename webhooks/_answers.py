"""A string parameter's answer rules: allowed values, or a pattern the answer must contain.

Both serve twice: to judge what a user answers to the question, and to take the value straight
from the request that started the action ("opening hours in Lisbon" does not ask for the city).
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
from typing import TYPE_CHECKING, Any

import re2

if TYPE_CHECKING:
    from ._definitions import Parameter

__all__ = ["allowed_value", "pattern_problem", "value_in_request"]

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


def allowed_value(parameter: Parameter, answer: str) -> str | None:
    """The value ``answer`` gives under the parameter's rule: the allowed value it names (as
    the operator wrote it) or the pattern's match; the answer itself without a rule; None if
    the rule refuses it."""
    values, pattern = parameter.values, parameter.pattern
    if values is not None:
        wanted = " ".join(answer.lower().split())
        for value in values:
            if " ".join(value.lower().split()) == wanted:
                return value
        return value_in_request(parameter, answer)
    if pattern is not None:
        return _matched(pattern, answer)
    return answer


def value_in_request(parameter: Parameter, text: str) -> str | None:
    """The value a request names for the parameter: the one allowed value mentioned as whole
    words, or the pattern's match; None when there is no rule, none or several are named."""
    values, pattern = parameter.values, parameter.pattern
    if values is not None:
        lowered = text[:MAX_SEARCHED].lower()
        named = {
            value
            for value in values
            if re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", lowered)
        }
        return named.pop() if len(named) == 1 else None
    if pattern is not None:
        return _matched(pattern, text)
    return None
