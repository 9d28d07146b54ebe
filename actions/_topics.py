"""Changing topic while a question is open: an answer, or a request for something else?

While the form asks for a parameter, every message the user sends (but ``stop``) reaches the
validator as the answer. It is a **new topic** when it clearly asks for something else: another
action (trained, or routed live: Rasa's NLU sets intent ``webhook`` with entity
``webhook_action`` naming a different action), or help, a greeting, thanks, goodbye or "are you
a bot" (:data:`SWITCH_INTENTS`). It is still **the answer** when it is a plausible value for the
parameter and little else ("4521", "it's 4521", "Lisbon please"): a value of the parameter's
type that its allowed values or pattern accept, with at most :data:`AROUND_A_VALUE` other
words, or a value in a sentence nearer in meaning to this action than to the other one. For a
free-text parameter every message is a plausible value, so only a request clearly nearer to
another action (:data:`TOPIC_LEAD`), or one of the switch intents without a number or code in
it, changes topic. Nearness is the live router's: its cosines to each action's requests, and
to what the open question asks for ("the gift card number").

A new topic is served as if no question had been open, the way Rasa's own two-stage fallback
re-reads a message: the validator ends the form without a call and hands over to
``action_webhook_switch``, which reverts the user's message, clears the question and gives the
same message back to Rasa, whose rules then serve it (the other action's form, the help, the
designer's goodbye).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SlotSet, UserUtteranceReverted, UserUttered

from webhooks import (
    ACTION_SLOT,
    DISPATCH_SLOTS,
    SWITCH_INTENTS,
    WEBHOOK_INTENT,
    BadValue,
    Parameter,
    convert_for,
)

from ._service import REQUESTED_SLOT, Events, entities_of_latest, intent_of_latest

__all__ = [
    "AROUND_A_VALUE",
    "WAY_OUT",
    "carries_code",
    "in_doubt",
    "new_topic",
    "switch_events",
]

#: Most words besides the value for a message to still read as an answer ("order number 4521
#: please" is three) when Rasa routed it to another action.
AROUND_A_VALUE = 3
#: How much nearer in meaning (the live router's cosines) a free-text answer must be to another
#: action than to the one asking, to be a request for it. Chosen on the development set
#: (bench/topics-development.yml): requests led by 0.54 to 0.84, answers that look like
#: another action's values (card numbers near "order number") by 0.22 at most.
TOPIC_LEAD = 0.25
#: Intents of a message the bot did not understand: a whole sentence of them that is no value
#: of a typed or ruled parameter is a question, answered by the help.
_NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})
#: Words that make a message a question rather than a wrong answer ("the blue one" is three).
_SENTENCE = 4
_WORD = re.compile(r"[^\W\d_]{2,}")
#: A run of letters and digits, dashes or dots inside ("X7KP-99TR-2M4Q", "5521", "A-1.2").
_TOKEN = re.compile(r"[^\W_](?:[\w.-]*[^\W_])?")
#: Fewest letters and digits in a code.
_CODE = 4
#: Fewest digits that make a number of a message whatever else it holds (a year has four).
_CODE_DIGITS = 6


def _routed_action(tracker: Tracker) -> str | None:
    for name, value in entities_of_latest(tracker):
        if name == ACTION_SLOT:
            return value if isinstance(value, str) else None
    return None


def _words_besides(text: str, value: object) -> int:
    """How many words ``text`` has besides the words of ``value``."""
    own = {word.lower() for word in _WORD.findall(str(value))}
    return sum(1 for word in _WORD.findall(text) if word.lower() not in own)


def _mostly_digits(text: str) -> bool:
    """Whether at least half of ``text``'s letters and digits are digits: a number or a code
    ("hi, it's 5521 0098 7711"), which the router, seeing every number alike, places near any
    action that takes numbers."""
    digits = sum(c.isdigit() for c in text)
    return digits > 0 and digits * 2 >= sum(c.isalnum() for c in text)


def carries_code(text: str) -> bool:
    """Whether ``text`` holds a number or a code: mostly digits ("4455"), six digits or more
    ("hi, it's 5521 0098"), or a code of letters and digits ("X7KP-99TR-2M4Q": four or more,
    two digits at least). What a greeting, a thank-you or chit-chat does not hold, and an answer
    to a free-text question often does; a year or a time ("see you in 2025", "10.30") is no
    code."""
    if _mostly_digits(text) or sum(c.isdigit() for c in text) >= _CODE_DIGITS:
        return True
    return any(
        sum(c.isalnum() for c in token) >= _CODE
        and sum(c.isdigit() for c in token) >= 2
        and any(c.isalpha() for c in token)
        for token in _TOKEN.findall(text)
    )


def _plausible(parameter: Parameter, text: str) -> object | None:
    """The value ``text`` gives the parameter, or None when it gives none."""
    try:
        return convert_for(text, parameter)
    except BadValue:
        return None


def _entity_value(tracker: Tracker, parameter: Parameter) -> object | None:
    """The value the model's entity named like ``parameter`` gives it, if one does."""
    for name, raw in entities_of_latest(tracker):
        value = _plausible(parameter, str(raw)) if name == parameter.name else None
        if value is not None:
            return value
    return None


def _lead(tracker: Tracker, routed: str, action: str) -> float | None:
    """How much nearer in meaning the message is to a request for ``routed`` than to a request
    for ``action`` or an answer to its questions (the live router's cosines; None when it did
    not say)."""
    routing = (tracker.latest_message or {}).get("webhook_routing")
    match = routing.get("match") if isinstance(routing, dict) else None
    scores = match.get("scores") if isinstance(match, dict) else None
    if not isinstance(scores, dict):
        return None
    answers = match.get("answers") if isinstance(match, dict) else None
    answering = answers.get(action) if isinstance(answers, dict) else None
    ahead, asking = scores.get(routed), scores.get(action)
    if not isinstance(ahead, int | float) or not isinstance(asking, int | float):
        return None
    if isinstance(answering, int | float):
        asking = max(asking, answering)
    return float(ahead) - float(asking)


def new_topic(action: str, parameter: Parameter, text: str, tracker: Tracker) -> bool:
    """Whether ``text``, sent while ``parameter`` of ``action`` is asked, asks for something
    else rather than answering."""
    intent = intent_of_latest(tracker)
    if intent != WEBHOOK_INTENT and _entity_value(tracker, parameter) is not None:
        return False  # the model found the value asked for in it ("hi! it's 4521")
    if intent == WEBHOOK_INTENT:
        routed = _routed_action(tracker)
        if routed is None or routed == action:
            return False  # the same action asked again: the message is the answer
        value = _plausible(parameter, text)
        if value is None:
            return True
        if parameter.free_text:
            # Any text is a value: a message of mostly digits is one; otherwise the message
            # asks for the other action when it is clearly nearer to it in meaning than to the
            # one asking ("special offers please"), not when it merely resembles another
            # action's values ("the code is X7KP-99TR-2M4Q").
            if _mostly_digits(text):
                return False  # a number or a code, whatever it resembles
            lead = _lead(tracker, routed, action)
            if lead is not None:
                return lead > TOPIC_LEAD
            return len(_WORD.findall(text)) > AROUND_A_VALUE
        if _words_besides(text, value) <= AROUND_A_VALUE:
            return False
        # A value in a sentence: another action's request, unless the sentence is nearer in
        # meaning to this action than to that one ("I'll be in London on saturday", asked for
        # a store's city, is no request for the offers the model took it for).
        lead = _lead(tracker, routed, action)
        return lead is None or lead > 0
    if intent in SWITCH_INTENTS:
        if parameter.free_text:
            return not carries_code(text)  # "hi, it's X7KP-99TR" still answers
        return _plausible(parameter, text) is None
    if intent in _NOT_UNDERSTOOD and not parameter.free_text:
        return len(_WORD.findall(text)) >= _SENTENCE and _plausible(parameter, text) is None
    return False


#: Said after a refused answer that reads as a sentence: the question stays, and how to leave it.
WAY_OUT = 'Or say "stop" to do something else.'


def in_doubt(text: str) -> bool:
    """Whether a refused answer reads as a sentence (the user may want something else)."""
    return len(_WORD.findall(text)) >= _SENTENCE


def switch_events(tracker: Tracker) -> Events:
    """``action_webhook_switch``'s events: the user's message taken back, the question left,
    and the same message given back to Rasa as if no question had been open."""
    latest: Mapping[str, Any] = tracker.latest_message or {}
    return [
        UserUtteranceReverted(),
        ActiveLoop(None),
        SlotSet(REQUESTED_SLOT, None),
        *(SlotSet(slot, None) for slot in DISPATCH_SLOTS),
        ActionExecuted("action_listen"),
        UserUttered(
            text=str(latest.get("text") or ""),
            parse_data=dict(latest),
            input_channel=tracker.get_latest_input_channel(),
        ),
    ]
