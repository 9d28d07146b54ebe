"""A string parameter's answer rules: allowed values, or a pattern the answer must contain.

Both serve twice: to judge what a user answers to the question, and to take the value straight
from the request that started the action ("opening hours in Lisbon" does not ask for the city).
Patterns are the operator's regular expressions run on users' text, so one whose matching time
can explode (a repetition inside a repetition, alternatives or a back-reference under one)
is refused when saved: nested repetitions, alternatives or back-references under one, and more
than two open-ended repetitions.
"""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found]  # the stdlib's parse tree
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._definitions import Parameter

__all__ = ["allowed_value", "pattern_problem", "value_in_request"]

#: Longest text a pattern or the allowed values are tried on (an answer is at most 500).
MAX_SEARCHED = 500

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT}


#: Open-ended repetitions a pattern may have: with more, the backtracking over a text grows as a
#: high power of its length even without nesting (``\w*\w*\w*x``).
MAX_OPEN_REPEATS = 2


def _risky(tree: Any, repeated: bool, open_repeats: list[int]) -> str | None:
    """Why ``tree`` can take explosive time; ``repeated``: inside a repetition."""
    for op, av in tree:
        inner: list[Any] = []
        inside = repeated
        if op in _REPEATS:
            _, high, body = av
            if high == sre.MAXREPEAT or high > 10:
                open_repeats[0] += 1
                if open_repeats[0] > MAX_OPEN_REPEATS:
                    return f"at most {MAX_OPEN_REPEATS} open-ended repetitions (+, *, {{n,}})"
            if repeated and high > 1:
                return "a repetition inside a repetition can take exponential time"
            inner, inside = [body], repeated or high > 1
        elif op == sre.BRANCH:
            if repeated:
                return "alternatives inside a repetition can take exponential time"
            inner = list(av[1])
        elif op in {sre.GROUPREF, sre.GROUPREF_EXISTS}:
            return "back-references are not supported"
        elif op == sre.SUBPATTERN:
            inner = [av[3]]
        elif op in {sre.ASSERT, sre.ASSERT_NOT}:
            inner = [av[1]]
        elif op == sre.ATOMIC_GROUP:
            inner = [av]
        for subtree in inner:
            if found := _risky(subtree, inside, open_repeats):
                return found
    return None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an answer rule, or None."""
    try:
        compiled = re.compile(pattern)
        tree = sre.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"not a regular expression: {getattr(exc, 'msg', exc)}"
    if compiled.groups > 1:
        return "at most one group: the value is the match, or its group"
    return _risky(tree, repeated=False, open_repeats=[0])


def _matched(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text[:MAX_SEARCHED])
    if found is None:
        return None
    value = found.group(1) if found.re.groups else found.group(0)
    value = " ".join((value or "").split())
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
