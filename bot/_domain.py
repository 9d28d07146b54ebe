"""The generated domain: every stored definition as Rasa domain entries.

One action, one form (when some parameter is required), one slot and entity per parameter,
the result slots, and the responses the designer has not written (questions phrased from the
parameter descriptions, failure sentences, the "stopped" sentence). Disabled definitions are
generated too: enabling one again must work live, without a retrain, and the action server
answers a disabled one politely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webhooks import Webhook

from ._documents import RASA_FORMAT
from ._naming import (
    FAILURE_CATEGORIES,
    STOP_INTENT,
    STOPPED_RESPONSE,
    ask_response,
    failure_response,
    form_of,
    intent_of,
    result_slot,
    truncated_slot,
    validator_of,
)
from ._project import DesignerDomain

__all__ = ["build_domain", "question", "required_parameters"]

STOPPED_TEXT = "Okay, I've stopped. What else can I do for you?"
_TYPE_HINTS = {
    "integer": " (a whole number)",
    "number": " (a number)",
    "boolean": " (yes or no)",
    "string": "",
}


def required_parameters(webhook: Webhook) -> list[str]:
    return [p["name"] for p in webhook.parameters if p.get("required", True)]


def question(parameter: Mapping[str, Any]) -> str:
    """The question asking for ``parameter``, phrased from its description.

    A description that is already a question is used as it is; otherwise it reads as the
    object of "Please tell me ...", with a hint of the expected type.
    """
    description = " ".join(str(parameter.get("description", "")).split()).rstrip(" .;:")
    if not description:
        description = str(parameter["name"]).replace("_", " ")
    if description.endswith("?"):
        return description
    # "The order number" -> "the order number"; leave acronyms ("URL of ...") alone.
    if description[:1].isupper() and not description[1:2].isupper():
        description = description[0].lower() + description[1:]
    hint = _TYPE_HINTS.get(str(parameter.get("type", "string")), "")
    return f"Please tell me {description}{hint}."


def _slot_mappings(name: str, forms: Sequence[str]) -> list[dict[str, Any]]:
    mappings: list[dict[str, Any]] = [{"type": "from_entity", "entity": name}]
    if forms:
        mappings.append(
            {
                "type": "from_text",
                # "stop"/"cancel" must reach the stop rule, not become the slot's value.
                "not_intent": [STOP_INTENT],
                "conditions": [
                    {"active_loop": form, "requested_slot": name} for form in sorted(forms)
                ],
            }
        )
    return mappings


def build_domain(webhooks: Sequence[Webhook], designer: DesignerDomain) -> dict[str, Any]:
    """The generated domain document for ``webhooks`` (sorted by name; deterministic)."""
    ordered = sorted(webhooks, key=lambda webhook: webhook.name)
    intents: list[str] = [intent_of(webhook.name) for webhook in ordered]
    if ordered and STOP_INTENT not in designer.intents:
        intents.append(STOP_INTENT)

    asked_by: dict[str, list[str]] = {}  # parameter -> the forms that ask for it
    parameters: list[str] = []
    for webhook in ordered:
        for parameter in webhook.parameters:
            name = parameter["name"]
            if name not in asked_by:
                asked_by[name] = []
                parameters.append(name)
        for name in required_parameters(webhook):
            asked_by[name].append(form_of(webhook.name))

    slots: dict[str, Any] = {}
    for name in sorted(parameters):
        slots[name] = {
            "type": "any",
            "influence_conversation": False,
            "mappings": _slot_mappings(name, asked_by[name]),
        }
    for webhook in ordered:
        slots[result_slot(webhook.name)] = {
            "type": "any",
            "influence_conversation": False,
            "mappings": [{"type": "custom"}],
        }
        slots[truncated_slot(webhook.name)] = {
            "type": "bool",
            "influence_conversation": False,
            "mappings": [{"type": "custom"}],
        }

    forms: dict[str, Any] = {}
    actions: list[str] = []
    responses: dict[str, Any] = {}
    for webhook in ordered:
        actions.append(webhook.name)
        required = required_parameters(webhook)
        if not required:
            continue
        forms[form_of(webhook.name)] = {"required_slots": required}
        actions.append(validator_of(webhook.name))
        by_name = {p["name"]: p for p in webhook.parameters}
        for name in required:
            overrides = {ask_response(webhook.name, name), f"utter_ask_{name}"}
            ask_actions = {f"action_ask_{form_of(webhook.name)}_{name}", f"action_ask_{name}"}
            if overrides & designer.responses or ask_actions & designer.actions:
                continue
            responses[ask_response(webhook.name, name)] = [{"text": question(by_name[name])}]
    if ordered:
        for category, text in FAILURE_CATEGORIES.items():
            if failure_response(category) not in designer.responses:
                responses[failure_response(category)] = [{"text": text}]
        if forms and STOPPED_RESPONSE not in designer.responses:
            responses[STOPPED_RESPONSE] = [{"text": STOPPED_TEXT}]

    document: dict[str, Any] = {"version": RASA_FORMAT}
    for key, value in (
        ("intents", intents),
        ("entities", sorted(parameters)),
        ("slots", slots),
        ("forms", forms),
        ("actions", actions),
        ("responses", dict(sorted(responses.items()))),
    ):
        if value:
            document[key] = value
    return document
