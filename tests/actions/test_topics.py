"""Changing topic while a question is open, over HTTP: the validator's decision and the
switch action that gives the message back to Rasa. The whole path through a trained Rasa is in
tests/e2e/test_conversations.py; the measured accuracy in `python -m bench topics`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.actions.conftest import (
    ActionEnv,
    answered_at_once,
    answering,
    dispatch_call,
    slot_events,
    texts,
)
from webhooks import ACTION_SLOT, ASKING_SLOT, SWITCH_ACTION

SWITCH_TEMPLATE = "v2_stop_4_action_webhook_stopped.json"
CITY = {
    "name": "city",
    "type": "string",
    "description": "the city of the store",
    "values": ["Berlin", "Lisbon", "Paris", "London"],
}


def routed(action: str) -> list[dict[str, Any]]:
    return [{"entity": ACTION_SLOT, "value": action, "start": 0, "end": 1}]


def judged(
    env: ActionEnv,
    action: str,
    asking: str,
    text: str,
    *,
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    switch_known: bool = True,
    match: dict[str, Any] | None = None,
) -> httpx.Response:
    """The validator's judgement of ``text``; ``match`` is the live router's, if it said."""
    call = answering(action, asking, text, intent=intent, entities=entities)
    actions = call["domain"].setdefault("actions", [])
    if switch_known and SWITCH_ACTION not in actions:
        actions.append(SWITCH_ACTION)
    if match is not None:
        call["tracker"]["latest_message"]["webhook_routing"] = {"match": match}
    return env.call(call)


def switched(env: ActionEnv, response: httpx.Response) -> bool:
    """Whether the validator gave the message back to Rasa as a new topic. If not, it was
    judged as the answer: asked again, or, with nothing left to ask, answered at once."""
    events = response.json()["events"]
    follow = [e["name"] for e in events if e["event"] == "followup"]
    if follow == [SWITCH_ACTION]:
        assert slot_events(response)["requested_slot"] is None
        assert response.json()["responses"] == []  # nothing said: the new topic speaks
        return True
    if follow:
        assert follow == ["action_listen"]
        answered_at_once(env, response)
        assert texts(response) == ["method: POST; query: []"]  # /echo's reply: called now
    return False


@pytest.fixture
def city_env(action_env: ActionEnv) -> ActionEnv:
    action_env.put("opening_hours", parameters=[CITY])
    action_env.put("order_status")
    action_env.put(
        "gift_card",
        parameters=[{"name": "card_number", "description": "the gift card number"}],
    )
    return action_env


@pytest.mark.parametrize(
    ("asked", "parameter", "text", "intent", "to", "expected"),
    [
        pytest.param("order_status", "order_id", "what time do you open in Berlin", "webhook",
                     "opening_hours", True, id="another-action"),
        pytest.param("order_status", "order_id", "4521", "webhook", "order_status", False,
                     id="same-action-is-an-answer"),
        pytest.param("order_status", "order_id", "order number 4521 please", "webhook",
                     "opening_hours", False, id="a-value-routed-elsewhere-is-an-answer"),
        pytest.param("order_status", "order_id", "are you open on sundays in store 4",
                     "webhook", "opening_hours", True, id="a-request-holding-a-number"),
        pytest.param("opening_hours", "city", "hi", "greet", None, True, id="greeting"),
        pytest.param("opening_hours", "city", "what can you do?", "help", None, True,
                     id="help"),
        pytest.param("opening_hours", "city", "bye", "goodbye", None, True, id="goodbye"),
        pytest.param("opening_hours", "city", "Lisbon", "greet", None, False,
                     id="a-city-misread-as-greeting-is-an-answer"),
        pytest.param("gift_card", "card_number", "hello there", "greet", None, True,
                     id="free-text-greeting"),
        pytest.param("gift_card", "card_number", "GC-7781-2234", "webhook", "order_status",
                     False, id="free-text-value-routed-elsewhere"),
        pytest.param("gift_card", "card_number", "where is my order 4521 right now", "webhook",
                     "order_status", True, id="free-text-request"),
        pytest.param("opening_hours", "city", "nice weather", "out_of_scope", None,
                     False, id="in-doubt-asked-again"),
        pytest.param("gift_card", "card_number", "see you in 2025", "goodbye", None, True,
                     id="free-text-goodbye-with-a-year"),
        pytest.param("gift_card", "card_number", "ok, 10.30 then bye", "goodbye", None, True,
                     id="free-text-goodbye-with-a-time"),
    ],
)  # fmt: skip
def test_a_new_topic_leaves_the_question_and_an_answer_stays_one(
    city_env: ActionEnv,
    asked: str,
    parameter: str,
    text: str,
    intent: str,
    to: str | None,
    expected: bool,
) -> None:
    entities = routed(to) if to else []
    response = judged(city_env, asked, parameter, text, intent=intent, entities=entities)
    assert switched(city_env, response) is expected


def test_a_model_without_the_switch_action_keeps_asking(city_env: ActionEnv) -> None:
    response = judged(city_env, "opening_hours", "city", "hi", intent="greet", switch_known=False)
    assert not switched(city_env, response)
    assert slot_events(response)[ASKING_SLOT] == "city"


def test_the_switch_gives_the_message_back_to_rasa(city_env: ActionEnv) -> None:
    call = dispatch_call(SWITCH_TEMPLATE, SWITCH_ACTION, {ACTION_SLOT: "opening_hours"})
    latest = call["tracker"]["latest_message"]
    latest["text"] = "where is my order 4521"
    latest["intent"] = {"name": "webhook", "confidence": 0.9}
    latest["entities"] = routed("order_status")
    response = city_env.call(call)
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["rewind", "active_loop"]
    assert events[1]["name"] is None
    listen, uttered = events[-2], events[-1]
    assert (listen["event"], listen["name"]) == ("action", "action_listen")
    assert uttered["event"] == "user"
    assert uttered["text"] == "where is my order 4521"
    assert uttered["parse_data"]["intent"]["name"] == "webhook"
    assert uttered["parse_data"]["entities"] == routed("order_status")
    cleared = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert cleared[ACTION_SLOT] is None
    assert cleared["requested_slot"] is None


@pytest.mark.parametrize(
    ("scores", "expected", "answers"),
    [
        pytest.param({"order_status": 0.62, "gift_card": 0.31}, True, None,
                     id="clearly-the-other"),
        pytest.param({"order_status": 0.48, "gift_card": 0.52}, False, None,
                     id="nearer-the-asking"),
        pytest.param({"order_status": 0.50, "gift_card": 0.47}, False, None,
                     id="within-the-margin"),
        # Near what the question asks for ("the gift card number"), however near the other.
        pytest.param({"order_status": 0.62, "gift_card": 0.31}, False, {"gift_card": 0.55},
                     id="near-what-is-asked"),
        pytest.param({"order_status": 0.62, "gift_card": 0.31}, True, {"order_status": 0.9},
                     id="only-the-asking-actions-questions-count"),
    ],
)  # fmt: skip
def test_free_text_weighs_the_routers_scores(
    city_env: ActionEnv,
    scores: dict[str, float],
    expected: bool,
    answers: dict[str, float] | None,
) -> None:
    match: dict[str, Any] = {"action": "order_status", "score": max(scores.values())}
    response = judged(
        city_env,
        "gift_card",
        "card_number",
        "the number on the back is 8877 6655 44",
        intent="webhook",
        entities=routed("order_status"),
        match=match | {"scores": scores} | ({"answers": answers} if answers else {}),
    )
    assert switched(city_env, response) is expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        pytest.param({"opening_hours": 0.49, "daily_offers": 0.23}, False,
                     id="nearer-the-asking-is-an-answer"),
        pytest.param({"opening_hours": 0.23, "daily_offers": 0.49}, True,
                     id="nearer-the-other-is-a-request"),
        pytest.param(None, True, id="without-the-routers-word-a-request"),
    ],
)  # fmt: skip
def test_a_value_in_a_sentence_weighs_the_routers_scores(
    city_env: ActionEnv, scores: dict[str, float] | None, expected: bool
) -> None:
    # The model took a sentence holding a city for a request for the offers.
    city_env.put("daily_offers")
    response = judged(
        city_env,
        "opening_hours",
        "city",
        "I'll be in London on saturday",
        intent="webhook",
        entities=routed("daily_offers"),
        match=None if scores is None else {"action": "opening_hours", "score": 0.49,
                                           "scores": scores},
    )  # fmt: skip
    assert switched(city_env, response) is expected


def test_an_answer_the_model_found_the_value_in_stays_an_answer(city_env: ActionEnv) -> None:
    # Two numbers: the text alone gives no order number, and the intent says greeting; the
    # model's entity names the order number, so the message answers the question.
    entities = [{"entity": "order_id", "value": "4521", "start": 10, "end": 14}]
    text = "hi! it's 4521, ordered on 3 May"
    response = judged(city_env, "order_status", "order_id", text, intent="greet",
                      entities=entities)  # fmt: skip
    assert not switched(city_env, response)
    assert json.loads(city_env.webhook.requests[-1]["body"]) == {"order_id": 4521}


def test_a_request_is_judged_before_the_models_entities(city_env: ActionEnv) -> None:
    # The model finds "order numbers" in a request for another action as readily as in an
    # answer: taken first, they would answer the open question with the gift card's digits.
    entities = [
        {"entity": "order_id", "value": "6006", "start": 33, "end": 37},
        *routed("gift_card"),
    ]
    response = judged(
        city_env,
        "order_status",
        "order_id",
        "how much is left on my gift card 6006 4921 3387?",
        intent="webhook",
        entities=entities,
    )
    assert switched(city_env, response)


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        pytest.param("the code is X7KP-99TR-2M4Q", "out_of_scope", True, id="a-code"),
        pytest.param("hi, it's 5521 0098", "greet", True, id="a-greeting-with-a-number"),
        pytest.param("tell me a joke", "out_of_scope", False, id="chit-chat"),
        pytest.param("are you open 24/7", "out_of_scope", False, id="a-short-number"),
    ],
)  # fmt: skip
def test_a_free_text_answer_holding_a_code_is_taken(
    city_env: ActionEnv, text: str, intent: str, expected: bool
) -> None:
    response = judged(city_env, "gift_card", "card_number", text, intent=intent)
    follow = [e["name"] for e in response.json()["events"] if e["event"] == "followup"]
    if expected:
        assert follow == ["action_listen"]  # answered at once: called with it
        # Any text answers a free-text question: the whole answer is the value sent.
        assert answered_at_once(city_env, response) == {"card_number": text}
    else:
        assert follow == []  # asked again
        assert slot_events(response)[ASKING_SLOT] == "card_number"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("how does this work?", True, id="a-question"),
        pytest.param("no idea", False, id="two-words-asked-again"),
        pytest.param("order 4521 i think", False, id="a-value"),
    ],
)
def test_a_sentence_not_understood_that_is_no_value_gets_the_help(
    city_env: ActionEnv, text: str, expected: bool
) -> None:
    response = judged(city_env, "order_status", "order_id", text, intent="out_of_scope")
    assert switched(city_env, response) is expected
