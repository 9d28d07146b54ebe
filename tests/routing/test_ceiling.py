"""The upper bound `bench routing` prints for the router alone on a development set
(bench/routing.py `_ceiling`): the best any threshold and margin could do on the set itself."""

from __future__ import annotations

from typing import Any

from bench.routing import _ceiling


def row(label: str, action: str, score: float, negative: float = 0.0) -> dict[str, Any]:
    return {"label": label, "match": {"action": action, "score": score, "negative": negative}}


def test_a_threshold_that_separates_requests_from_unrelated_messages_reaches_them_all() -> None:
    rows = [row("a", "a", 0.7), row("b", "b", 0.6)] + [row("none", "a", 0.3)] * 20
    assert _ceiling(rows) == (1.0, 1.0, 1.0)


def test_unrelated_messages_as_near_as_the_requests_cap_what_any_setting_reaches() -> None:
    # Every unrelated message scores like a request, with the same margin over the
    # counter-examples: routing one request routes them all, so within 5% none is routed.
    rows = [row("a", "a", 0.6)] * 10 + [row("none", "a", 0.6)] * 10
    nearest, within, within_twice = _ceiling(rows)
    assert (nearest, within, within_twice) == (1.0, 0.0, 0.0)


def test_a_request_whose_nearest_action_is_another_is_never_right() -> None:
    rows = [row("a", "b", 0.9), row("a", "a", 0.9)] + [row("none", "a", 0.1)] * 20
    assert _ceiling(rows) == (0.5, 0.5, 0.5)


def test_the_margin_over_the_counter_examples_is_searched_too() -> None:
    # Same scores, but the unrelated messages are nearer to a counter-example.
    rows = [row("a", "a", 0.6, negative=0.3)] * 10 + [row("none", "a", 0.6, negative=0.55)] * 10
    assert _ceiling(rows)[1] == 1.0
