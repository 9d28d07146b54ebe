"""The bot is never silent: what it does not understand gets the help, phrased live.

The phrases here are not in the demo's training data (``data/nlu.yml``), so they measure what
the model learnt, not what it memorised.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Assistant, new_sender

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

HELP_LINES = ["- Look up the status of an order", "- Tell the opening hours of a store"]
OFFERS_LINE = "- List today's offers"
ORDER_ASKED = "What is your order number?"


def lines(texts: list[str]) -> list[str]:
    return [line for text in texts for line in text.splitlines()]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("what is the capital of France?", id="off-topic"),
        pytest.param("tell me a joke", id="joke"),
        pytest.param("what is the meaning of life?", id="philosophy"),
        pytest.param("asdfghjkl", id="gibberish"),
        pytest.param("", id="empty"),
    ],
)
def test_what_the_bot_does_not_understand_gets_the_help(assistant: Assistant, message: str) -> None:
    reply = assistant.say(new_sender(), message)
    assert reply, f"silence for {message!r}"
    assert reply[0].startswith("Sorry, I didn't understand that. Here is what I can help")
    assert {*HELP_LINES, OFFERS_LINE} <= set(lines(reply))


@pytest.mark.parametrize(
    ("message", "opening"),
    [
        pytest.param("what can you do?", "Here is what I can help you with:", id="help"),
        pytest.param("hi", "Hello! Here is what I can help you with:", id="greeting"),
    ],
)
def test_a_greeting_or_a_request_for_help_lists_the_actions(
    assistant: Assistant, message: str, opening: str
) -> None:
    reply = assistant.say(new_sender(), message)
    assert reply[0].startswith(opening)
    assert {*HELP_LINES, OFFERS_LINE} <= set(lines(reply))


@pytest.fixture
def offers_disabled(assistant: Assistant) -> Iterator[Assistant]:
    assistant.store.catalog.update("demo", "daily_offers", {"enabled": False}, actor="e2e")
    assistant.wait_served()
    yield assistant
    assistant.store.catalog.update("demo", "daily_offers", {"enabled": True}, actor="e2e")
    assistant.wait_served()


def test_a_disabled_action_is_no_longer_offered(offers_disabled: Assistant) -> None:
    reply = lines(offers_disabled.say(new_sender(), "what can you do?"))
    assert set(HELP_LINES) <= set(reply)
    assert OFFERS_LINE not in reply


def test_a_non_value_inside_a_form_is_asked_again_and_a_greeting_leaves_it(
    assistant: Assistant,
) -> None:
    sender = new_sender()
    assert assistant.say(sender, "where is my order?") == [ORDER_ASKED]
    # No number and no new topic: the hint and the question again.
    again = assistant.say(sender, "abc")
    assert again[-1] == ORDER_ASKED
    assert "Okay, I've stopped" not in " ".join(again)
    assert assistant.say(sender, "4521") == ["Order #4521 has shipped and arrives in 2 days."]
    # A greeting is a new topic: it is answered, and the question is left.
    sender = new_sender()
    assert assistant.say(sender, "where is my order?") == [ORDER_ASKED]
    greeted = " ".join(assistant.say(sender, "hi"))
    assert greeted.startswith("Hello! Here is what I can help you with")
    assert ORDER_ASKED not in greeted


CITY_ASKED = "Please tell me the city of the store (Berlin, Lisbon, Paris or London)."


def test_an_off_topic_question_inside_a_form_gets_the_help(assistant: Assistant) -> None:
    sender = new_sender()
    assert assistant.say(sender, "opening hours") == [CITY_ASKED]
    # A question the bot does not understand, and no city: the help, the question left.
    helped = " ".join(assistant.say(sender, "can you tell me a joke"))
    assert "Here is what I can help you with" in helped
    assert CITY_ASKED not in helped
    # A short answer that is no city is asked again.
    sender = new_sender()
    assert assistant.say(sender, "opening hours") == [CITY_ASKED]
    assert assistant.say(sender, "purple")[-1] == CITY_ASKED
    assert "Berlin" in " ".join(assistant.say(sender, "Berlin"))


def test_after_a_stopped_form_the_next_message_is_answered(assistant: Assistant) -> None:
    sender = new_sender()
    assistant.say(sender, "where is my order?")
    assert assistant.say(sender, "stop") == ["Okay, I've stopped. What else can I do for you?"]
    assert assistant.say(sender, "4521"), "silence after the form was stopped"
