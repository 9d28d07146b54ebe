"""The generated domain: the generic dispatch, declared once, and what training needs.

Every action runs through the same entries (see ``webhooks.definitions._naming``): intent
``webhook`` with entity ``webhook_action``, one form ``webhook_form`` asking through one answer
slot, its validator and question action, the call ``action_webhook``, the help and the way out. None
of them depends on the definitions, so an action saved later is served without a retrain: the action
server decides from the live definition what to ask and whom to call.

What does depend on the definitions is only what training uses: an intent ``webhook_X`` per
action and an entity per parameter name, so a model trained with the actions' examples
recognises them itself (Rasa's live router in ``routing/`` maps ``webhook_X`` onto the
dispatch). Failure and "stopped" responses are generated unless the designer wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webhooks import (
    ACTION_SLOT,
    ANSWER_SLOT,
    ASK_ANSWER_ACTION,
    ASKING_SLOT,
    CALL_ACTION,
    DISPATCH_FORM,
    DISPATCH_VALIDATOR,
    FAILURE_MESSAGES,
    HELP_ACTION,
    HELP_INTENT,
    MEMORY_SLOT,
    STOP_INTENT,
    STOPPED_ACTION,
    STOPPED_RESPONSE,
    STOPPED_TEXT,
    SWITCH_ACTION,
    VALUES_SLOT,
    WEBHOOK_INTENT,
    Webhook,
    failure_response_name,
    intent_of,
)

from ._documents import RASA_FORMAT
from ._project import DesignerDomain

__all__ = ["build_domain"]


def _dispatch_slots() -> dict[str, Any]:
    custom = [{"type": "custom"}]
    return {
        # The action a request asks for: the router's (or a trained intent's) entity, only
        # when no form runs, so a request cannot change the action whose questions are asked.
        ACTION_SLOT: {
            "type": "any",
            "influence_conversation": False,
            "mappings": [
                {
                    "type": "from_entity",
                    "entity": ACTION_SLOT,
                    "intent": [WEBHOOK_INTENT],
                    "conditions": [{"active_loop": None}],
                }
            ],
        },
        # The whole answer to the question asked; "stop" must reach the stop rule instead.
        ANSWER_SLOT: {
            "type": "any",
            "influence_conversation": False,
            "mappings": [
                {
                    "type": "from_text",
                    "not_intent": [STOP_INTENT],
                    "conditions": [{"active_loop": DISPATCH_FORM, "requested_slot": ANSWER_SLOT}],
                }
            ],
        },
        VALUES_SLOT: {"type": "any", "influence_conversation": False, "mappings": custom},
        ASKING_SLOT: {"type": "any", "influence_conversation": False, "mappings": custom},
        MEMORY_SLOT: {"type": "any", "influence_conversation": False, "mappings": custom},
    }


def build_domain(webhooks: Sequence[Webhook], designer: DesignerDomain) -> dict[str, Any]:
    """The generated domain document for ``webhooks`` (sorted by name; deterministic)."""
    ordered = sorted(webhooks, key=lambda webhook: webhook.name)
    intents: list[str] = [WEBHOOK_INTENT, *(intent_of(webhook.name) for webhook in ordered)]
    for intent in (STOP_INTENT, HELP_INTENT):
        if intent not in designer.intents:
            intents.append(intent)
    parameters = sorted({p.name for webhook in ordered for p in webhook.parameters})
    actions = [CALL_ACTION, DISPATCH_VALIDATOR, ASK_ANSWER_ACTION, STOPPED_ACTION, SWITCH_ACTION]
    if HELP_ACTION not in designer.actions:
        # The help is the assistant's answer to what it does not understand, even before the
        # first action exists (the pipeline's core fallback names it).
        actions.append(HELP_ACTION)
    responses = {
        failure_response_name(category): [{"text": text}]
        for category, text in FAILURE_MESSAGES.items()
        if failure_response_name(category) not in designer.responses
    }
    if STOPPED_RESPONSE not in designer.responses:
        responses[STOPPED_RESPONSE] = [{"text": STOPPED_TEXT}]
    return {
        "version": RASA_FORMAT,
        "intents": intents,
        "entities": [ACTION_SLOT, *parameters],
        "slots": _dispatch_slots(),
        "forms": {DISPATCH_FORM: {"required_slots": [ANSWER_SLOT]}},
        "actions": actions,
        "responses": dict(sorted(responses.items())),
    }
