"""The generated rules: intent → form → action, intent → action, and a way out of each form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webhooks import Webhook

from ._documents import RASA_FORMAT
from ._domain import required_parameters
from ._naming import STOP_INTENT, STOPPED_RESPONSE, form_of, intent_of

__all__ = ["build_rules"]


def _rules_for(webhook: Webhook) -> list[dict[str, Any]]:
    name, form = webhook.name, form_of(webhook.name)
    if not required_parameters(webhook):
        # Nothing to ask: optional parameters come from entities of the message, if any.
        return [
            {
                "rule": f"{name}: answer",
                "steps": [{"intent": intent_of(name)}, {"action": name}],
            }
        ]
    return [
        {
            "rule": f"{name}: ask for what is missing",
            "steps": [
                {"intent": intent_of(name)},
                {"action": form},
                {"active_loop": form},
            ],
        },
        {
            "rule": f"{name}: call the webhook once the form is complete",
            "condition": [{"active_loop": form}],
            "steps": [
                {"action": form},
                {"active_loop": None},
                {"slot_was_set": [{"requested_slot": None}]},
                {"action": name},
            ],
        },
        {
            "rule": f"{name}: stop asking",
            "condition": [{"active_loop": form}],
            "steps": [
                {"intent": STOP_INTENT},
                {"action": "action_deactivate_loop"},
                {"active_loop": None},
                {"slot_was_set": [{"requested_slot": None}]},
                {"action": STOPPED_RESPONSE},
            ],
        },
    ]


def build_rules(webhooks: Sequence[Webhook]) -> dict[str, Any]:
    """The generated rules document for ``webhooks`` (sorted by name; deterministic)."""
    rules: list[dict[str, Any]] = []
    for webhook in sorted(webhooks, key=lambda webhook: webhook.name):
        rules.extend(_rules_for(webhook))
    return {"version": RASA_FORMAT, "rules": rules}
