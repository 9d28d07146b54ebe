"""The names of the Rasa entries for the webhook actions, in one place.

Every action runs through one generic dispatch, declared once in the domain, so an action saved
through the admin API is served without a retrain: intent ``webhook`` with entity
``webhook_action`` naming the action (set by the live router, or by the trained intent
``webhook_X``, in Rasa's NLU), the slot ``webhook_action``, one form ``webhook_form`` whose
validator decides from the live definition which parameter to ask next (its name in slot
``webhook_asking``, its typed values in ``webhook_values``), one answer slot
``webhook_answer`` asked by ``action_ask_webhook_answer``, and the call ``action_webhook``.

Models trained before the generic dispatch have per-action entries, still served until they are
retrained. For a stored definition ``X`` with parameters ``p1..pn``:

- intent ``webhook_X`` (the user asks for it; also how ``bot check`` tells a webhook action in a
  trained model from the designer's own actions),
- action ``X`` and, when ``X`` has parameters, form ``X_form`` listing all of them, its
  validator ``validate_X_form`` (which decides, from the live definition, what is still
  required) and one question action ``action_ask_X_form_p`` per parameter (phrased from the
  live description, unless the designer wrote ``utter_ask_X_form_p`` or ``utter_ask_p``),
- one slot and one entity per parameter, named like the parameter,
- slots ``X_result`` and ``X_truncated`` holding the last result,
- responses ``utter_webhook_<category>`` (failures) and ``utter_webhook_stopped``, said by the
  action ``action_webhook_stopped`` when the user stops a form with the ``stop`` intent.

For the whole assistant: ``action_webhook_help`` answers what the bot did not understand
(Rasa's ``nlu_fallback`` and ``out_of_scope``, and the core fallback), a greeting and ``help``,
listing the enabled actions; ``utter_webhook_help`` overrides its words. Inside a form, a message
recognised as one of :data:`NOT_AN_ANSWER_INTENTS` is not taken as the asked value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from ._definitions import NAME_PATTERN

__all__ = [
    "ACTION_SLOT",
    "ANSWER_SLOT",
    "ASKING_SLOT",
    "ASK_ANSWER_ACTION",
    "ASK_PREFIX",
    "CALL_ACTION",
    "DISPATCH_FORM",
    "DISPATCH_VALIDATOR",
    "FALLBACK_INTENTS",
    "GREET_INTENT",
    "HELP_ACTION",
    "HELP_INTENT",
    "HELP_RESPONSE",
    "INTENT_PREFIX",
    "NOT_AN_ANSWER_INTENTS",
    "NOT_AN_ANSWER_RESPONSE",
    "STOPPED_ACTION",
    "STOPPED_RESPONSE",
    "STOP_INTENT",
    "VALUES_SLOT",
    "WEBHOOK_INTENT",
    "ask_action",
    "ask_overrides",
    "asked_by",
    "failure_response_name",
    "form_of",
    "intent_of",
    "result_slot",
    "truncated_slot",
    "validator_of",
    "webhook_of_form",
    "webhook_of_intent",
    "webhook_of_validator",
]

INTENT_PREFIX = "webhook_"
WEBHOOK_INTENT = "webhook"
#: The entity the router (or a trained intent) adds, and the slot it fills: the action asked for.
ACTION_SLOT = "webhook_action"
DISPATCH_FORM = "webhook_form"
DISPATCH_VALIDATOR = "validate_webhook_form"
ANSWER_SLOT = "webhook_answer"
ASK_ANSWER_ACTION = "action_ask_webhook_answer"
ASKING_SLOT = "webhook_asking"
VALUES_SLOT = "webhook_values"
CALL_ACTION = "action_webhook"
ASK_PREFIX = "action_ask_"
STOP_INTENT = "stop"
STOPPED_RESPONSE = "utter_webhook_stopped"
STOPPED_ACTION = "action_webhook_stopped"
HELP_ACTION = "action_webhook_help"
HELP_RESPONSE = "utter_webhook_help"
NOT_AN_ANSWER_RESPONSE = "utter_webhook_not_an_answer"
GREET_INTENT = "greet"
HELP_INTENT = "help"
#: Rasa's own intents for a message it did not understand (FallbackClassifier) or that is out of
#: the assistant's scope; both get the help.
FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
#: Intents that are never an answer to a form's question (the conversational ones, by the
#: names Rasa's starter projects use): the question is asked again instead.
NOT_AN_ANSWER_INTENTS = frozenset(
    {GREET_INTENT, HELP_INTENT, "goodbye", "thanks", "bot_challenge", "chitchat", "out_of_scope"}
)
_FORM_SUFFIX = "_form"
_VALIDATE_PREFIX = "validate_"


def intent_of(action: str) -> str:
    return f"{INTENT_PREFIX}{action}"


def webhook_of_intent(intent: str) -> str | None:
    """The action an intent ``webhook_X`` asks for, or None for any other intent."""
    if intent.startswith(INTENT_PREFIX) and len(intent) > len(INTENT_PREFIX):
        return intent[len(INTENT_PREFIX) :]
    return None


def form_of(action: str) -> str:
    return f"{action}{_FORM_SUFFIX}"


def webhook_of_form(form: str) -> str | None:
    """The action whose form is ``form`` (``X_form`` -> ``X``), or None."""
    if form.endswith(_FORM_SUFFIX) and len(form) > len(_FORM_SUFFIX):
        return form[: -len(_FORM_SUFFIX)]
    return None


def validator_of(action: str) -> str:
    return f"{_VALIDATE_PREFIX}{form_of(action)}"


def webhook_of_validator(name: str) -> str | None:
    """The action whose form ``name`` validates (``validate_X_form`` -> ``X``), or None."""
    if not name.startswith(_VALIDATE_PREFIX):
        return None
    action = webhook_of_form(name[len(_VALIDATE_PREFIX) :])
    return action if action is not None and re.match(NAME_PATTERN, action) else None


def ask_action(action: str, parameter: str) -> str:
    """The action Rasa runs to ask for ``parameter`` in ``action``'s form (it wins over
    responses: Rasa looks for ``action_ask_<form>_<slot>`` first)."""
    return f"{ASK_PREFIX}{form_of(action)}_{parameter}"


def ask_overrides(action: str, parameter: str) -> tuple[str, str]:
    """The designer's responses that replace the generated question, most specific first."""
    return f"utter_ask_{form_of(action)}_{parameter}", f"utter_ask_{parameter}"


def asked_by(
    name: str, parameters_of: Callable[[str], Collection[str] | None]
) -> tuple[str, str] | None:
    """``(action, parameter)`` for a question action ``action_ask_<action>_form_<parameter>``,
    where ``parameters_of(action)`` (None for an unknown action) holds ``parameter``; None
    for any other name.

    Names may themselves contain ``_form_`` (``a`` asking ``b_form_c`` and ``a_form_b``
    asking ``c`` share a question name), so every split is tried against what each action
    really asks for rather than guessed from the text.
    """
    if not name.startswith(ASK_PREFIX):
        return None
    rest = name[len(ASK_PREFIX) :]
    marker = f"{_FORM_SUFFIX}_"
    at = rest.find(marker)
    while at > 0:
        action, parameter = rest[:at], rest[at + len(marker) :]
        parameters = parameters_of(action)
        if parameter and parameters is not None and parameter in parameters:
            return action, parameter
        at = rest.find(marker, at + 1)
    return None


def result_slot(action: str) -> str:
    return f"{action}_result"


def truncated_slot(action: str) -> str:
    return f"{action}_truncated"


def failure_response_name(category: str) -> str:
    return f"utter_webhook_{category}"
