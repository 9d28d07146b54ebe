"""The names of the generated Rasa entries, and reading a question action's name back."""

from __future__ import annotations

from webhooks import ask_action, asked_by

ASKS = {"a": ["b_form_c"], "a_form_b": ["c"], "order_status": ["order_id"]}


def test_a_question_action_names_its_action_and_parameter() -> None:
    name = ask_action("order_status", "order_id")
    assert name == "action_ask_order_status_form_order_id"
    assert asked_by(name, ASKS.get) == ("order_status", "order_id")


def test_names_containing_form_are_told_apart_by_what_each_action_asks() -> None:
    # Both questions have the same name; each split is checked against the action's own
    # parameters, so neither is mistaken for the other's.
    assert ask_action("a", "b_form_c") == ask_action("a_form_b", "c")
    assert asked_by(ask_action("a", "b_form_c"), {"a": ["b_form_c"]}.get) == ("a", "b_form_c")
    assert asked_by(ask_action("a_form_b", "c"), {"a_form_b": ["c"]}.get) == ("a_form_b", "c")


def test_other_names_are_not_questions() -> None:
    for name in ("order_status", "action_ask_", "action_ask_order_status_form_x", "utter_ask_x"):
        assert asked_by(name, ASKS.get) is None
