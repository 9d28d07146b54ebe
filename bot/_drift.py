"""What a trained model knows of the stored definitions, and whether it must be retrained.

Every action is served through the generic dispatch, declared once, so a new or changed
action never needs a retrain: the live router finds it and the action server asks what the
live definition needs. A retrain is needed only for a model made before the dispatch
existed. Training still helps recognition: actions the model has no intent ``webhook_X`` for
are reported as routed live only, and trained intents of deleted actions as left over (the
router answers them with the help).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webhooks import CALL_ACTION, DISPATCH_FORM, Webhook, webhook_of_intent

__all__ = ["Drift", "compare"]


@dataclass(frozen=True, slots=True)
class Drift:
    """What the model lacks; each item is one human-readable line."""

    dispatch_missing: bool = False
    live_only: list[str] = field(default_factory=list)
    left_over: list[str] = field(default_factory=list)

    @property
    def retrain_needed(self) -> bool:
        return self.dispatch_missing

    def lines(self) -> list[str]:
        missing = (
            ["the model predates the generic dispatch (webhook_form, action_webhook)"]
            if self.dispatch_missing
            else []
        )
        return (
            missing
            + [f"routed live, not in the trained model: {name}" for name in self.live_only]
            + [f"trained but deleted from the store: {name}" for name in self.left_over]
        )


def _list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def compare(webhooks: Sequence[Webhook], domain: Mapping[str, Any]) -> Drift:
    """Compare the stored definitions with a model's domain (``Domain.as_dict()``)."""
    forms = domain.get("forms")
    dispatch = isinstance(forms, Mapping) and DISPATCH_FORM in forms
    dispatch = dispatch and CALL_ACTION in _list(domain.get("actions"))
    trained = {
        name for intent in _list(domain.get("intents")) if (name := webhook_of_intent(intent))
    }
    stored = {webhook.name for webhook in webhooks}
    return Drift(
        dispatch_missing=not dispatch,
        live_only=sorted(stored - trained),
        left_over=sorted(trained - stored),
    )
