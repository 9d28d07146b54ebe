"""The generated rules: intent → form → action, intent → action, a way out of each form, and
the help for ``help`` and for what the bot did not understand (``nlu_fallback``, ``out_of_scope``).

Every definition with parameters goes through its form, even when none is required today: the
validator decides from the live definition what must be asked, so a parameter that becomes
required is asked for without a retrain (a form with nothing to ask completes at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webhooks import (
    FALLBACK_INTENTS,
    HELP_ACTION,
    HELP_INTENT,
    STOP_INTENT,
    STOPPED_ACTION,
    Webhook,
    form_of,
    intent_of,
)

from ._documents import RASA_FORMAT

__all__ = ["build_rules"]


def _rules_for(webhook: Webhook) -> list[dict[str, Any]]:
    name, form = webhook.name, form_of(webhook.name)
    if not webhook.parameters:
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
                # Says so and forgets the answers given so far.
                {"action": STOPPED_ACTION},
            ],
        },
    ]


def build_rules(webhooks: Sequence[Webhook]) -> dict[str, Any]:
    """The generated rules document for ``webhooks`` (sorted by name; deterministic)."""
    rules: list[dict[str, Any]] = [
        {"rule": f"help: {intent}", "steps": [{"intent": intent}, {"action": HELP_ACTION}]}
        for intent in (HELP_INTENT, *FALLBACK_INTENTS)
    ]
    for webhook in sorted(webhooks, key=lambda webhook: webhook.name):
        rules.extend(_rules_for(webhook))
    return {"version": RASA_FORMAT, "rules": rules}
