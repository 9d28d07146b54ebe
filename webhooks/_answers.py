"""A string parameter's answer rules: allowed values, or a pattern the answer must contain.

Both serve twice: to judge what a user answers to the question, and to take the value straight
from the request that started the action ("opening hours in Lisbon" does not ask for the city).

Allowed values are matched regardless of case and accents ("sao paulo" is São Paulo, "ZURICH"
is Zürich): both sides are folded as Unicode's caseless matching does, less the accents.
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


@functools.lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _compiled(pattern: str) -> tuple[Any, str | None]:
    """RE2's program for ``pattern`` and None, or None and why it cannot be an answer rule."""
    try:
        regexp = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "refused"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, (
            "not a pattern RE2 runs (no back-references, lookarounds or possessive "
            f"repetitions; large counted repetitions are refused): {reason}"
        )
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


def allowed_value(parameter: Parameter, answer: str) -> str | None:
    """The value ``answer`` gives under the parameter's rule: the allowed value it names (as
    the operator wrote it) or the pattern's match; the answer itself without a rule; None if
    the rule refuses it."""
    values, pattern = parameter.values, parameter.pattern
    if values is not None:
        wanted = " ".join(answer.lower().split())
        for value in values:
            if " ".join(value.lower().split()) == wanted:
                return value  # before folding: "Resume" and "Résumé" may both be allowed
        folded = _fold(answer[:MAX_SEARCHED])
        same = [v for v, f in zip(values, _folded(tuple(values)), strict=True) if f == folded]
        if len(same) == 1:
            return same[0]
        return _named(values, folded)
    if pattern is not None:
        return _matched(pattern, answer)
    return answer


def value_in_request(parameter: Parameter, text: str) -> str | None:
    """The value a request names for the parameter: the one allowed value mentioned as whole
    words (regardless of case and accents), or the pattern's match; None when there is no rule,
    none or several are named."""
    values, pattern = parameter.values, parameter.pattern
    if values is not None:
        return _named(values, _fold(text[:MAX_SEARCHED]))
    if pattern is not None:
        return _matched(pattern, text)
    return None
