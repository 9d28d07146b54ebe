"""The generated rules: the generic dispatch's three, and the help.

A request routed to an action (intent ``webhook``) starts the form; the form, complete, is
followed by the call (which the form's validator has usually made itself, ending the turn
with a listen: then the rule does not run); ``stop`` while it asks ends it. The same three
rules serve every action, present and future. ``help``, ``nlu_fallback`` and ``out_of_scope``
get the help.
"""

from __future__ import annotations

from typing import Any

from webhooks import (
    CALL_ACTION,
    DISPATCH_FORM,
    FALLBACK_INTENTS,
    HELP_ACTION,
    HELP_INTENT,
    STOP_INTENT,
    STOPPED_ACTION,
    WEBHOOK_INTENT,
)

from ._documents import RASA_FORMAT

__all__ = ["build_rules"]


def build_rules() -> dict[str, Any]:
    """The generated rules document (the same for every set of definitions)."""
    rules: list[dict[str, Any]] = [
        {"rule": f"help: {intent}", "steps": [{"intent": intent}, {"action": HELP_ACTION}]}
        for intent in (HELP_INTENT, *FALLBACK_INTENTS)
    ]
    rules += [
        {
            "rule": "webhook: ask for what is missing",
            "steps": [
                {"intent": WEBHOOK_INTENT},
                {"action": DISPATCH_FORM},
                {"active_loop": DISPATCH_FORM},
            ],
        },
        {
            "rule": "webhook: call once the form is complete",
            "condition": [{"active_loop": DISPATCH_FORM}],
            "steps": [
                {"action": DISPATCH_FORM},
                {"active_loop": None},
                {"slot_was_set": [{"requested_slot": None}]},
                {"action": CALL_ACTION},
            ],
        },
        {
            "rule": "webhook: stop asking",
            "condition": [{"active_loop": DISPATCH_FORM}],
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
    return {"version": RASA_FORMAT, "rules": rules}
