"""The names of the Rasa entries for the webhook actions, in one place.

Every action runs through one generic dispatch, declared once in the domain, so an action saved
through the admin API is served without a retrain: intent ``webhook`` with entity
``webhook_action`` naming the action (set by the live router, or by the trained intent
``webhook_X``, in Rasa's NLU), the slot ``webhook_action``, one form ``webhook_form`` whose
validator ``validate_webhook_form`` decides from the live definition which parameter to ask
next (its name in slot ``webhook_asking``, its typed values in ``webhook_values``), one answer
slot ``webhook_answer`` asked by ``action_ask_webhook_answer``, and the call ``action_webhook``;
``webhook_memory`` keeps the values given in the conversation for the next action.

Per action ``X`` only designer-facing names remain: the trained intent ``webhook_X``, the
responses that override what is said (``utter_X_result``, ``utter_X_<category>``,
``utter_ask_X_form_<parameter>`` or ``utter_ask_<parameter>`` for a question) and the slots
``X_result`` and ``X_truncated`` a designer may declare. For the whole assistant:
``utter_webhook_<category>`` (failures), ``action_webhook_stopped`` and its
``utter_webhook_stopped`` when the user stops a form with the ``stop`` intent, and
``action_webhook_help`` (``utter_webhook_help``) for what the bot did not understand (Rasa's
``nlu_fallback`` and ``out_of_scope``, and the core fallback), a greeting and ``help``. Inside a
form, a message recognised as one of :data:`NOT_AN_ANSWER_INTENTS` is not taken as the value.
"""

from __future__ import annotations

__all__ = [
    "ACTION_SLOT",
    "ANSWER_SLOT",
    "ASKING_SLOT",
    "ASK_ANSWER_ACTION",
    "CALL_ACTION",
    "DISPATCH_FORM",
    "DISPATCH_SLOTS",
    "DISPATCH_VALIDATOR",
    "FALLBACK_INTENTS",
    "GREET_INTENT",
    "HELP_ACTION",
    "HELP_INTENT",
    "HELP_RESPONSE",
    "INTENT_PREFIX",
    "MEMORY_SLOT",
    "NOT_AN_ANSWER_INTENTS",
    "NOT_AN_ANSWER_RESPONSE",
    "STOPPED_ACTION",
    "STOPPED_RESPONSE",
    "STOP_INTENT",
    "SWITCH_ACTION",
    "SWITCH_INTENTS",
    "VALUES_SLOT",
    "WEBHOOK_INTENT",
    "ask_overrides",
    "failure_overrides",
    "failure_response_name",
    "intent_of",
    "result_response",
    "result_slot",
    "truncated_slot",
    "webhook_of_intent",
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
#: The values the user gave in this conversation, by parameter name with their type: the next
#: action needing a value of the same name and type uses it instead of asking again.
MEMORY_SLOT = "webhook_memory"
#: What the dispatch keeps while a form runs; Rasa sends all four with every call (None when
#: empty), and the dispatch forgets them once the action has answered.
DISPATCH_SLOTS = (ACTION_SLOT, VALUES_SLOT, ASKING_SLOT, ANSWER_SLOT)
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
#: Intents that, while a question is open, ask for something else: the question is left and
#: the message served as a new topic (``action_webhook_switch`` hands it back to Rasa).
SWITCH_INTENTS = frozenset({GREET_INTENT, HELP_INTENT, "goodbye", "thanks", "bot_challenge"})
SWITCH_ACTION = "action_webhook_switch"
_FORM_SUFFIX = "_form"


def intent_of(action: str) -> str:
    return f"{INTENT_PREFIX}{action}"


def webhook_of_intent(intent: str) -> str | None:
    """The action an intent ``webhook_X`` asks for, or None for any other intent."""
    if intent.startswith(INTENT_PREFIX) and len(intent) > len(INTENT_PREFIX):
        return intent[len(INTENT_PREFIX) :]
    return None


def ask_overrides(action: str, parameter: str) -> tuple[str, str]:
    """The designer's responses that replace the generated question, most specific first."""
    return f"utter_ask_{action}{_FORM_SUFFIX}_{parameter}", f"utter_ask_{parameter}"


def result_response(action: str) -> str:
    """The designer's response for ``action``'s result, filled from its fields."""
    return f"utter_{action}_result"


def failure_overrides(action: str, category: str) -> tuple[str, ...]:
    """The designer's responses for a failure of ``category``, most specific first. A 404 was
    ``rejected`` before ``not_found`` had its own category: a designer's responses for that
    still answer it, after the new names."""
    names = (f"utter_{action}_{category}", failure_response_name(category))
    if category == "not_found":
        return (*names[:1], f"utter_{action}_rejected", *names[1:], "utter_webhook_rejected")
    return names


def result_slot(action: str) -> str:
    return f"{action}_result"


def truncated_slot(action: str) -> str:
    return f"{action}_truncated"


def failure_response_name(category: str) -> str:
    return f"utter_webhook_{category}"
