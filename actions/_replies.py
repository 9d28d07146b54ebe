"""What the bot says: the webhook's own data, or a polite sentence for a failure.

The bot never invents data. A successful call is answered from the result only: the operator's
``success`` template, else a designer's ``utter_<action>_result`` response filled from the
result's fields, else the result's ``text`` or ``message`` field, else a compact rendering of
the result. A failure is answered with the operator's template for its category, else the
service's own 4xx message when the operator switched it on, else a designer's
``utter_<action>_<category>`` or, for every action, ``utter_webhook_<category>``, else the
category's sentence. The operator's words win because they are the live ones: a designer's
response changes only with a retrain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from webhooks import FAILURE_MESSAGES, failure_overrides, render_result, spoken_value
from webhooks import result_response as result_response_name

__all__ = ["designed_or_text", "failure_response", "result_response"]

_UTTER_ARGUMENTS = frozenset(
    {
        "self",
        "text",
        "image",
        "json_message",
        "template",
        "response",
        "attachment",
        "buttons",
        "elements",
    }
)


def _responses(domain: Mapping[str, Any]) -> Mapping[str, Any]:
    # Rasa's domain and a webhook's result are parsed JSON, whose objects are dicts: checked as
    # such, since an ABC check (isinstance of Mapping) costs more than the lookup it guards.
    responses = domain.get("responses")
    return responses if isinstance(responses, dict) else {}


def designed_or_text(
    domain: Mapping[str, Any], overrides: Iterable[str], text: str
) -> dict[str, Any]:
    """``utter_message`` arguments: the first of ``overrides`` the domain has as a response
    (the designer's words), else ``text``."""
    responses = _responses(domain)
    for name in overrides:
        if name in responses:
            return {"response": name}
    return {"text": text}


def failure_response(domain: Mapping[str, Any], action: str, category: str) -> dict[str, Any]:
    """``utter_message`` arguments for a failure of ``category``: an override or the default."""
    return designed_or_text(
        domain,
        failure_overrides(action, category),
        FAILURE_MESSAGES.get(category, FAILURE_MESSAGES["unavailable"]),
    )


def result_response(
    domain: Mapping[str, Any], action: str, data: object, *, truncated: bool
) -> dict[str, Any]:
    """``utter_message`` arguments for a successful result."""
    name = result_response_name(action)
    if name in _responses(domain):
        items = data.items() if isinstance(data, dict) else [("result", data)]
        fields: dict[str, str] = {}
        for key, value in items:
            if isinstance(key, str) and key.isidentifier():
                fields[f"result_{key}"] = spoken_value(value)
                # Plain names too, unless they are utter_message's own arguments.
                if key not in _UTTER_ARGUMENTS:
                    fields[key] = spoken_value(value)
        return {"response": name, **fields}
    return {"text": render_result(data, truncated=truncated)}
