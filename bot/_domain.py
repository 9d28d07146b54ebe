"""The generated domain: every stored definition as Rasa domain entries.

One action per definition; when it has parameters, a form listing all of them with its
validator and one question action per parameter; one slot and entity per parameter; the
result slots; the failure and "stopped" responses the designer has not written; the help
action and its ``help`` intent, which answer whatever the bot did not understand. What changes
live is left to the action server: the validator decides from the current definition which
parameters are still required (so a required flag flips without a retrain) and the question
actions phrase the current description. Disabled definitions are generated too: enabling one
again must work live, and the action server answers a disabled one politely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webhooks import (
    FAILURE_MESSAGES,
    HELP_ACTION,
    HELP_INTENT,
    STOP_INTENT,
    STOPPED_ACTION,
    STOPPED_RESPONSE,
    STOPPED_TEXT,
    Webhook,
    ask_action,
    ask_overrides,
    failure_response_name,
    form_of,
    intent_of,
    result_slot,
    truncated_slot,
    validator_of,
)

from ._documents import RASA_FORMAT
from ._project import DesignerDomain

__all__ = ["build_domain"]


def _slot_mappings(name: str, actions: Sequence[str]) -> list[dict[str, Any]]:
    """Where parameter ``name``'s value comes from: an entity of the request that starts one
    of ``actions``, an entity said while one of their forms is active, or, when the form asks
    for it, the whole answer. Never from an unrelated turn, and never "stop"."""
    forms = [form_of(action) for action in sorted(actions)]
    return [
        {
            "type": "from_entity",
            "entity": name,
            "intent": [intent_of(action) for action in sorted(actions)],
        },
        {
            "type": "from_entity",
            "entity": name,
            "not_intent": [STOP_INTENT],
            "conditions": [{"active_loop": form} for form in forms],
        },
        {
            "type": "from_text",
            # "stop"/"cancel" must reach the stop rule, not become the slot's value.
            "not_intent": [STOP_INTENT],
            "conditions": [{"active_loop": form, "requested_slot": name} for form in forms],
        },
    ]


def build_domain(webhooks: Sequence[Webhook], designer: DesignerDomain) -> dict[str, Any]:
    """The generated domain document for ``webhooks`` (sorted by name; deterministic)."""
    ordered = sorted(webhooks, key=lambda webhook: webhook.name)
    intents: list[str] = [intent_of(webhook.name) for webhook in ordered]
    if ordered and STOP_INTENT not in designer.intents:
        intents.append(STOP_INTENT)
    if HELP_INTENT not in designer.intents:
        intents.append(HELP_INTENT)

    used_by: dict[str, list[str]] = {}  # parameter -> the actions that take it
    for webhook in ordered:
        for parameter in webhook.parameters:
            used_by.setdefault(parameter["name"], []).append(webhook.name)

    slots: dict[str, Any] = {}
    for name in sorted(used_by):
        slots[name] = {
            "type": "any",
            "influence_conversation": False,
            "mappings": _slot_mappings(name, used_by[name]),
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
    for webhook in ordered:
        actions.append(webhook.name)
        names = [p["name"] for p in webhook.parameters]
        if not names:
            continue
        forms[form_of(webhook.name)] = {"required_slots": names}
        actions.append(validator_of(webhook.name))
        for name in names:
            # Rasa asks with the first of action_ask_<form>_<slot>, utter_ask_<form>_<slot>,
            # action_ask_<slot>, utter_ask_<slot> that the domain has: a designer's own
            # question must keep winning, so the generated action steps aside for it.
            own_actions = {ask_action(webhook.name, name), f"action_ask_{name}"}
            if set(ask_overrides(webhook.name, name)) & designer.responses or (
                own_actions & designer.actions
            ):
                continue
            actions.append(ask_action(webhook.name, name))
    responses: dict[str, Any] = {}
    if ordered:
        for category, text in FAILURE_MESSAGES.items():
            if failure_response_name(category) not in designer.responses:
                responses[failure_response_name(category)] = [{"text": text}]
    if HELP_ACTION not in designer.actions:
        # Always: the help is the assistant's answer to what it does not understand, even
        # before the first action exists (the pipeline's core fallback names it).
        actions.append(HELP_ACTION)
    if forms:
        actions.append(STOPPED_ACTION)
        if STOPPED_RESPONSE not in designer.responses:
            responses[STOPPED_RESPONSE] = [{"text": STOPPED_TEXT}]

    document: dict[str, Any] = {"version": RASA_FORMAT}
    for key, value in (
        ("intents", intents),
        ("entities", sorted(used_by)),
        ("slots", slots),
        ("forms", forms),
        ("actions", actions),
        ("responses", dict(sorted(responses.items()))),
    ):
        if value:
            document[key] = value
    return document
