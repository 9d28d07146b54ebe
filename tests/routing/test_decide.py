"""Who wins between the trained model's intent and the live router's match (routing/_decide.py).

The decision is plain Python, so it is tested here directly; the match it weighs comes from
the embeddings (tests/routing/test_encoder.py, in Rasa's environment)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from routing._decide import Decision, decide, trained_action

TRAINED = ("order_status", "opening_hours")
LIVE = ("order_status", "opening_hours", "gift_card_balance")


@dataclass(frozen=True)
class Match:
    """The fields of routing._matcher.Match the decision reads."""

    action: str
    score: float
    negative: float = 0.0


def decided(intent: str, match: Match | None, *, live: tuple[str, ...] | None = LIVE) -> Decision:
    return decide(intent, match, live=live, trained=TRAINED, threshold=0.4, floor=0.25, margin=0.05)


@pytest.mark.parametrize(
    ("intent", "match", "live", "expected"),
    [
        pytest.param("nlu_fallback", Match("gift_card_balance", 0.7, 0.3), LIVE,
                     Decision("gift_card_balance", by="router"), id="never-trained-routed"),
        pytest.param("webhook_order_status", Match("gift_card_balance", 0.7, 0.3), LIVE,
                     Decision("gift_card_balance", by="router"),
                     id="the-model-cannot-know-a-new-action"),
        pytest.param("nlu_fallback", Match("gift_card_balance", 0.39, 0.1), LIVE, Decision(),
                     id="below-the-threshold"),
        pytest.param("nlu_fallback", Match("gift_card_balance", 0.5, 0.46), LIVE, Decision(),
                     id="within-the-margin-of-a-counter-example"),
        pytest.param("webhook_order_status", None, None,
                     Decision("order_status", by="model"), id="no-table-yet-the-model"),
        pytest.param("webhook_order_status", Match("opening_hours", 0.2, 0.1), LIVE,
                     Decision(fallback=True, by="router"), id="under-the-trust-floor"),
        pytest.param("webhook_order_status", Match("order_status", 0.3, 0.1), LIVE,
                     Decision("order_status", by="model"), id="trained-and-live"),
        pytest.param("webhook_order_status", Match("opening_hours", 0.6, 0.1),
                     ("opening_hours",), Decision("opening_hours", by="router"),
                     id="deleted-since-training-routed-elsewhere"),
        pytest.param("webhook_order_status", Match("opening_hours", 0.3, 0.1),
                     ("opening_hours",), Decision(fallback=True, by="model"),
                     id="deleted-since-training-nobodys"),
        pytest.param("greet", Match("opening_hours", 0.6, 0.1), LIVE,
                     Decision("opening_hours", by="router"), id="another-intent-routed"),
        pytest.param("greet", Match("opening_hours", 0.6, 0.8), LIVE, Decision(),
                     id="nearer-a-greeting-than-an-action"),
    ],
)  # fmt: skip
def test_the_decision(
    intent: str, match: Match | None, live: tuple[str, ...] | None, expected: Decision
) -> None:
    assert decided(intent, match, live=live) == expected


@pytest.mark.parametrize(
    ("intent", "action"),
    [("webhook_order_status", "order_status"), ("webhook_", None), ("greet", None),
     ("webhook", None)],
)  # fmt: skip
def test_a_trained_intent_names_its_action(intent: str, action: str | None) -> None:
    assert trained_action(intent) == action
