"""Deciding between the trained model's intent and the live router's match.

The model wins for what it was trained on, unless the message shares next to nothing with any
action's wording; the router covers what it cannot know (an action saved after training) and
what it did not understand (``nlu_fallback``, or an intent that is not a webhook action's when
the router finds an action nearer than any counter-example). A trained action deleted since is
nobody's any more: the bot's fallback answers it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the decision itself is plain Python: testable without numpy
    from ._matcher import Match

__all__ = ["Decision", "decide", "trained_action"]

INTENT_PREFIX = "webhook_"


def trained_action(intent: str) -> str | None:
    """The action a trained intent ``webhook_X`` asks for, or None."""
    if intent.startswith(INTENT_PREFIX) and len(intent) > len(INTENT_PREFIX):
        return intent[len(INTENT_PREFIX) :]
    return None


@dataclass(frozen=True)
class Decision:
    """``action`` to dispatch to; else ``fallback`` (the bot's help) or neither (the model's
    intent stands)."""

    action: str | None = None
    fallback: bool = False
    by: str = "model"


def decide(
    intent: str,
    match: Match | None,
    *,
    live: Collection[str] | None,
    trained: Collection[str],
    threshold: float,
    floor: float = 0.0,
    margin: float = 0.0,
) -> Decision:
    """What to do with a message the model classified as ``intent``.

    ``live`` is the tenant's current actions (None: not known yet, so the model is trusted);
    ``trained`` the actions the model has intents for; ``threshold`` how like an action's text
    a message must be for the router to route it, and ``margin`` how much more like it than like
    any counter-example; ``floor`` how like one a message must be for the model's intent to be
    trusted.
    """
    routed = None
    if match is not None and match.score >= threshold and match.score > match.negative + margin:
        routed = match.action
    if routed is not None and routed not in trained:
        return Decision(action=routed, by="router")  # the model cannot know it
    asked = trained_action(intent)
    if asked is not None:
        if live is None:
            return Decision(action=asked, by="model")
        if match is not None and match.score < floor:
            # A classifier must pick one of its intents, and does so confidently for text it
            # never saw ("set an alarm for 7am"): a message sharing next to no wording with any
            # action is not trusted to be a request for one.
            return Decision(fallback=True, by="router")
        if asked in live:
            return Decision(action=asked, by="model")
        if routed is not None:
            return Decision(action=routed, by="router")
        return Decision(fallback=True, by="model")  # deleted since training
    if routed is not None:
        return Decision(action=routed, by="router")
    return Decision()
