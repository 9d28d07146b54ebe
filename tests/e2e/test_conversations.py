"""Conversations with the real, trained demo assistant over Rasa's REST channel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Assistant, new_sender

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

ORDER_KEY = {"X-Api-Key": "demo-key-not-secret"}


@pytest.fixture
def order_status(assistant: Assistant) -> Iterator[Assistant]:
    """Restores the order_status definition after a test that changes it."""
    before = assistant.store.catalog.get("demo", "order_status").public()
    yield assistant
    restore = {k: v for k, v in before.items() if k not in {"name", "headers"}}
    assistant.store.catalog.update(
        "demo", "order_status", restore | {"headers": ORDER_KEY}, replace=True, actor="e2e"
    )
    assistant.wait_served()


def test_order_status_is_answered_from_the_webhook_in_one_turn(assistant: Assistant) -> None:
    reply = assistant.say(new_sender(), "where is my order #4521?")
    assert reply == ["Order #4521 has shipped and arrives in 2 days."]


def test_a_missing_value_is_asked_and_a_wrong_one_re_asked(assistant: Assistant) -> None:
    sender = new_sender()
    asked = " ".join(assistant.say(sender, "where is my order?"))
    assert "order number" in asked.lower()
    re_asked = " ".join(assistant.say(sender, "no idea"))
    assert "whole number" in re_asked
    assert " ".join(assistant.say(sender, "4522")) == (
        "Order #4522 is being packed and should arrive in 4 days."
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/broken", "can't reach", id="500"),
        pytest.param("/slow?seconds=20", "took too long", id="slow"),
    ],
)
def test_failures_are_polite_and_the_next_turn_works(
    order_status: Assistant, path: str, expected: str
) -> None:
    store = order_status.store
    store.catalog.update(
        "demo",
        "order_status",
        {"url": order_status.demo_url + path, "timeout": 2, "headers": ORDER_KEY},
        actor="e2e",
    )
    order_status.wait_served()
    sender = new_sender()
    assert expected in " ".join(order_status.say(sender, "where is my order #4521?"))
    assert order_status.say(sender, "hello")  # the conversation goes on


def test_a_service_that_is_down_gets_a_polite_message(order_status: Assistant) -> None:
    from tests.admin.conftest import free_port

    order_status.store.catalog.update(
        "demo",
        "order_status",
        {"url": f"https://127.0.0.1:{free_port()}/orders/status", "headers": ORDER_KEY},
        actor="e2e",
    )
    order_status.wait_served()
    assert "can't reach" in " ".join(order_status.say(new_sender(), "where is my order #4521?"))


def test_disabling_and_enabling_take_effect_without_restart(order_status: Assistant) -> None:
    store = order_status.store
    store.catalog.update("demo", "order_status", {"enabled": False}, actor="e2e")
    order_status.wait_served()
    assert "switched off" in " ".join(order_status.say(new_sender(), "where is my order #4521?"))
    store.catalog.update("demo", "order_status", {"enabled": True}, actor="e2e")
    order_status.wait_served()
    assert order_status.say(new_sender(), "where is my order #4521?") == [
        "Order #4521 has shipped and arrives in 2 days."
    ]


def test_a_changed_url_is_used_by_the_next_call(order_status: Assistant) -> None:
    order_status.store.catalog.update(
        "demo",
        "order_status",
        {"url": order_status.demo_url + "/slow?seconds=0", "headers": ORDER_KEY},
        actor="e2e",
    )
    order_status.wait_served()
    assert order_status.say(new_sender(), "where is my order #4521?") == ["Finally!"]


def test_the_eleventh_call_in_a_conversation_is_refused(assistant: Assistant) -> None:
    sender = new_sender()
    for _ in range(10):
        assert "Order #4521" in " ".join(assistant.say(sender, "where is my order #4521?"))
    assert "as many lookups" in " ".join(assistant.say(sender, "where is my order #4521?"))


def test_changed_headers_are_used_by_the_next_call(order_status: Assistant) -> None:
    store = order_status.store
    store.catalog.update("demo", "order_status", {"headers": {"X-Api-Key": "wrong"}}, actor="e2e")
    order_status.wait_served()
    assert "could not handle" in " ".join(
        order_status.say(new_sender(), "where is my order #4521?")
    )
    store.catalog.update("demo", "order_status", {"headers": ORDER_KEY}, actor="e2e")
    order_status.wait_served()
    assert order_status.say(new_sender(), "where is my order #4521?") == [
        "Order #4521 has shipped and arrives in 2 days."
    ]


@pytest.fixture
def restore(assistant: Assistant) -> Iterator[Assistant]:
    """Restores opening_hours and daily_offers after a test that changes them."""
    names = ("opening_hours", "daily_offers")
    before = {name: assistant.store.catalog.get("demo", name).public() for name in names}
    yield assistant
    for name, definition in before.items():
        restored = {k: v for k, v in definition.items() if k not in {"name", "headers"}}
        assistant.store.catalog.update("demo", name, restored, replace=True, actor="e2e")
    assistant.wait_served()


def test_a_new_description_is_asked_without_a_retrain(restore: Assistant) -> None:
    sender = new_sender()
    assert restore.say(sender, "when are you open?") == [
        "Please tell me the city of the store (Berlin, Lisbon, Paris or London)."
    ]
    restore.say(sender, "stop")
    restore.store.catalog.update(
        "demo",
        "opening_hours",
        {"parameters": [{"name": "city", "type": "string", "description": "Which city?"}]},
        actor="e2e",
    )
    restore.wait_served()
    assert restore.say(new_sender(), "when are you open?") == ["Which city?"]


def test_a_parameter_made_required_is_asked_without_a_retrain(restore: Assistant) -> None:
    # Optional: not asked, all offers are listed.
    assert "Today's offers" in " ".join(restore.say(new_sender(), "any offers today?"))
    category = {"name": "category", "type": "string", "description": "a product category"}
    restore.store.catalog.update(
        "demo", "daily_offers", {"parameters": [category | {"required": True}]}, actor="e2e"
    )
    restore.wait_served()
    sender = new_sender()
    assert restore.say(sender, "any offers today?") == ["Please tell me a product category."]
    assert "Rasa in Action" in " ".join(restore.say(sender, "books"))


def test_stop_ends_the_form_and_the_conversation_goes_on(assistant: Assistant) -> None:
    sender = new_sender()
    assert "order number" in " ".join(assistant.say(sender, "where is my order?")).lower()
    assert assistant.say(sender, "stop") == ["Okay, I've stopped. What else can I do for you?"]
    # The form is over; the next request starts afresh.
    assert assistant.say(sender, "where is my order #4521?") == [
        "Order #4521 has shipped and arrives in 2 days."
    ]


# -- what operators shape: replies, topic changes, forgiving answers, remembered values -------


def test_the_operators_not_found_reply_is_said(assistant: Assistant) -> None:
    assert assistant.say(new_sender(), "where is my order #12?") == [
        "I couldn't find order #12. Please check the number in your confirmation email."
    ]


def test_another_request_while_a_question_is_open_is_served(assistant: Assistant) -> None:
    sender = new_sender()
    assert "city" in " ".join(assistant.say(sender, "when are you open?"))
    assert assistant.say(sender, "where is my order #4521?") == [
        "Order #4521 has shipped and arrives in 2 days."
    ]
    # The question was left: a city now is no answer to it.
    assert "Berlin" not in " ".join(assistant.say(sender, "thanks"))


def test_a_greeting_while_a_question_is_open_is_answered(assistant: Assistant) -> None:
    sender = new_sender()
    assert "order number" in " ".join(assistant.say(sender, "where is my order?")).lower()
    assert "Here is what I can help you with" in " ".join(assistant.say(sender, "hi there"))
    # Nothing is still asked: a number now starts nothing by itself.
    assert "Order #4522" not in " ".join(assistant.say(sender, "hello"))


def test_an_answer_in_a_sentence_is_still_the_answer(assistant: Assistant) -> None:
    sender = new_sender()
    assistant.say(sender, "where is my order?")
    assert assistant.say(sender, "it's 4522") == [
        "Order #4522 is being packed and should arrive in 4 days."
    ]


def test_a_city_with_a_typo_is_understood(assistant: Assistant) -> None:
    sender = new_sender()
    assistant.say(sender, "when are you open?")
    assert assistant.say(sender, "lisbn") == ["Our Lisbon store is open today from 10:00 to 22:00."]


def test_a_number_too_long_is_said_so(assistant: Assistant) -> None:
    sender = new_sender()
    assistant.say(sender, "where is my order?")
    said = " ".join(assistant.say(sender, "99999999999999999999"))
    assert "too long" in said
    assert "18 digits" in said


def test_a_value_given_earlier_is_used_again_and_said(assistant: Assistant) -> None:
    sender = new_sender()
    assert "Order #4521" in " ".join(assistant.say(sender, "where is my order #4521?"))
    assert assistant.say(sender, "has my package shipped yet?") == [
        "I'm using 4521 for your order number, as you told me earlier.",
        "Order #4521 has shipped and arrives in 2 days.",
    ]
