"""Drift between the store and a trained model: what a retrain would change.

A webhook action in the model is recognised by its intent ``webhook_X`` next to the action
``X``, so the designer's own custom actions are never reported as deleted webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webhooks import Webhook, form_of, webhook_of_intent

__all__ = ["Drift", "compare"]


@dataclass(frozen=True, slots=True)
class Drift:
    """Differences found; each item is one human-readable line."""

    new_actions: list[str] = field(default_factory=list)
    deleted_actions: list[str] = field(default_factory=list)
    changed_actions: list[str] = field(default_factory=list)

    @property
    def retrain_needed(self) -> bool:
        return bool(self.new_actions or self.deleted_actions or self.changed_actions)

    def lines(self) -> list[str]:
        return (
            [f"new, not trained yet: {line}" for line in self.new_actions]
            + [f"trained but deleted from the store: {line}" for line in self.deleted_actions]
            + [f"changed since training: {line}" for line in self.changed_actions]
        )


def _list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def compare(webhooks: Sequence[Webhook], domain: Mapping[str, Any]) -> Drift:
    """Compare the stored definitions with a model's domain (``Domain.as_dict()``)."""
    actions = set(_list(domain.get("actions")))
    intents = {
        name for intent in _list(domain.get("intents")) if (name := webhook_of_intent(intent))
    }
    slots = _mapping(domain.get("slots"))
    forms = _mapping(domain.get("forms"))
    trained = {name for name in intents if name in actions}
    drift = Drift()
    stored = {webhook.name: webhook for webhook in webhooks}
    for name, webhook in sorted(stored.items()):
        if name not in trained:
            drift.new_actions.append(name)
            continue
        missing = [p["name"] for p in webhook.parameters if p["name"] not in slots]
        if missing:
            drift.changed_actions.append(f"{name}: new parameter(s) {', '.join(missing)}")
        # The form lists every parameter; which are required is the action server's live
        # decision, so only the set of parameters can drift.
        names = [p["name"] for p in webhook.parameters]
        asked = _list(_mapping(forms.get(form_of(name))).get("required_slots"))
        if not missing and sorted(names) != sorted(asked):
            drift.changed_actions.append(
                f"{name}: the model's form has [{', '.join(asked)}], "
                f"the definition has [{', '.join(names)}]"
            )
    drift.deleted_actions.extend(sorted(trained - set(stored)))
    return drift
