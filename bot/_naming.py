"""The names the generated Rasa entries use, in one place (the action server's contract).

For a stored definition ``X`` with parameters ``p1..pn``:

- intent ``webhook_X`` (the user asks for it; also how ``check`` tells a webhook action in a
  trained model from the designer's own actions),
- action ``X`` and, when ``X`` has required parameters, form ``X_form`` with the form validator
  ``validate_X_form``,
- one slot and one entity per parameter, named like the parameter,
- slots ``X_result`` and ``X_truncated`` holding the last result,
- responses ``utter_ask_X_form_p`` (the question), ``utter_webhook_<category>`` (failures) and
  ``utter_webhook_stopped`` (said when the user stops a form with the ``stop`` intent).
"""

from __future__ import annotations

from webhooks import FAILURE_MESSAGES

__all__ = [
    "FAILURE_CATEGORIES",
    "INTENT_PREFIX",
    "STOPPED_RESPONSE",
    "STOP_INTENT",
    "ask_response",
    "failure_response",
    "form_of",
    "intent_of",
    "result_slot",
    "truncated_slot",
    "validator_of",
    "webhook_of_intent",
]

INTENT_PREFIX = "webhook_"
STOP_INTENT = "stop"
STOPPED_RESPONSE = "utter_webhook_stopped"

#: Every failure category the action server answers, with its default sentence (the core's).
FAILURE_CATEGORIES = FAILURE_MESSAGES


def intent_of(action: str) -> str:
    return f"{INTENT_PREFIX}{action}"


def webhook_of_intent(intent: str) -> str | None:
    """The action an intent ``webhook_X`` asks for, or None for any other intent."""
    if intent.startswith(INTENT_PREFIX) and len(intent) > len(INTENT_PREFIX):
        return intent[len(INTENT_PREFIX) :]
    return None


def form_of(action: str) -> str:
    return f"{action}_form"


def validator_of(action: str) -> str:
    return f"validate_{action}_form"


def result_slot(action: str) -> str:
    return f"{action}_result"


def truncated_slot(action: str) -> str:
    return f"{action}_truncated"


def ask_response(action: str, parameter: str) -> str:
    return f"utter_ask_{form_of(action)}_{parameter}"


def failure_response(category: str) -> str:
    return f"utter_webhook_{category}"
