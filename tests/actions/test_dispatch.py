"""The generic dispatch over HTTP: one form, one answer slot and one call for every action,
decided from the live definition; and the routing table Rasa's live router polls.

Request bodies are captured Rasa 3.6.21 calls (fixtures/) adapted to the dispatch's names; the
real path through a trained Rasa is in tests/e2e (test_live_routing, test_conversations).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.actions.conftest import (
    ANSWER,
    ActionEnv,
    answered_at_once,
    answering,
    calling,
    dispatch_call,
    slot_events,
    starting,
    texts,
)
from webhooks import (
    ACTION_SLOT,
    ANSWER_SLOT,
    ASK_ANSWER_ACTION,
    ASKING_SLOT,
    DISPATCH_VALIDATOR,
    Category,
)

ASK = "v2_ask_2_action_ask_order_status_form_order_id.json"


def start(
    env: ActionEnv, action: str, text: str, entities: list[dict[str, Any]] | None = None
) -> httpx.Response:
    return env.call(starting(action, text, entities))


def answer(
    env: ActionEnv, action: str, asking: str, given: str, intent: str = "inform"
) -> httpx.Response:
    return env.call(answering(action, asking, given, intent=intent))


def asking(action: str, parameter: str) -> dict[str, Any]:
    """The call of the question for ``parameter`` of ``action``."""
    return dispatch_call(ASK, ASK_ANSWER_ACTION, {ACTION_SLOT: action, ASKING_SLOT: parameter})


def test_a_value_in_the_request_is_converted_and_nothing_is_asked(action_env: ActionEnv) -> None:
    """With nothing left to ask, the validator answers in the same call: the webhook gets the
    typed value, the form's slots are forgotten and Rasa listens next."""
    action_env.put("order_status")
    entity = {"entity": "order_id", "value": "#4521", "start": 18, "end": 23}
    response = start(action_env, "order_status", "where is my order #4521", [entity])
    assert answered_at_once(action_env, response) == {"order_id": 4521}
    # The designer's result slots are set as action_webhook sets them (the echo's answer).
    assert slot_events(response) == {
        "webhook_action": None,
        "order_status_result": {"method": "POST", "query": []},
        "order_status_truncated": False,
        "requested_slot": None,
    }
    assert texts(response)  # answered from the webhook's data


def test_a_lone_number_fills_the_only_numeric_parameter(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    response = start(action_env, "order_status", "status of order no. 7788 please")
    assert answered_at_once(action_env, response) == {"order_id": 7788}
    # Two numbers: no guess, the question is asked.
    events = slot_events(start(action_env, "order_status", "order 7788 or 7789"))
    assert (events["webhook_values"], events["webhook_asking"]) == ({}, "order_id")


def test_what_is_missing_is_asked_through_the_one_answer_slot(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    events = slot_events(start(action_env, "order_status", "where is my order?"))
    assert events == {
        "webhook_values": {},
        "webhook_answer": None,
        "webhook_asking": "order_id",
        "requested_slot": "webhook_answer",
    }
    asked = asking("order_status", "order_id")
    asked["domain"]["responses"].pop("utter_ask_order_status_form_order_id", None)
    response = action_env.call(asked)
    assert texts(response) == ["Please tell me your order number (a whole number)."]


def test_a_question_offers_few_allowed_values_as_buttons(action_env: ActionEnv) -> None:
    cities = ["Berlin", "Lisbon", "Paris"]
    city = {"name": "city", "description": "the city of the store", "values": cities}
    asked = asking("opening_hours", "city")
    action_env.put("opening_hours", parameters=[city])
    response = action_env.call(asked).json()["responses"]
    assert [r["buttons"] for r in response] == [
        [{"title": c, "payload": c} for c in cities]  # each answers as if typed
    ]
    many = [f"City {n}" for n in range(7)]
    action_env.put("opening_hours", parameters=[city | {"values": many}])
    assert [r["buttons"] for r in action_env.call(asked).json()["responses"]] == [[]]
    action_env.put("order_status")
    order = asking("order_status", "order_id")
    order["domain"]["responses"].pop("utter_ask_order_status_form_order_id", None)
    response = action_env.call(order).json()["responses"]
    assert [(r["text"], r["buttons"]) for r in response] == [
        ("Please tell me your order number (a whole number).", [])
    ]


def test_a_designers_question_still_wins(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    asked = asking("order_status", "order_id")
    asked["domain"]["responses"]["utter_ask_order_status_form_order_id"] = [
        {"text": "What is your order number?"}
    ]
    response = action_env.call(asked)
    assert response.json()["responses"][0]["response"] == "utter_ask_order_status_form_order_id"


def test_an_answer_is_typed_and_a_bad_one_asked_again(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    response = answer(action_env, "order_status", "order_id", "it's 4521")
    assert answered_at_once(action_env, response) == {"order_id": 4521}
    response = answer(action_env, "order_status", "order_id", "no idea")
    events = slot_events(response)
    assert (events["webhook_values"], events["webhook_asking"]) == ({}, "order_id")
    assert events["requested_slot"] == "webhook_answer"
    assert texts(response) == ["Please give a whole number, for example 4521."]


def test_a_number_too_long_is_refused_saying_so_in_the_request_and_in_an_answer(
    action_env: ActionEnv,
) -> None:
    # The request's only number was dropped without a word, and the question asked as if
    # nothing had been given.
    action_env.put("order_status")
    too_long = "That number is too long: please give at most 18 digits."
    response = start(action_env, "order_status", "where is my order 99999999999999999999?")
    assert (slot_events(response)["webhook_values"], texts(response)) == ({}, [too_long])
    response = answer(action_env, "order_status", "order_id", "99999999999999999999")
    assert (slot_events(response)["webhook_asking"], texts(response)) == ("order_id", [too_long])
    # Two numeric parameters: no lone number is taken, but an entity named like one is.
    numbers = [{"name": n, "type": "integer", "description": n} for n in ("order_id", "item")]
    action_env.put("order_status", parameters=numbers)
    entity = {"entity": "order_id", "value": "9" * 20, "start": 6, "end": 26}
    response = start(action_env, "order_status", f"order {'9' * 20} item 3", [entity])
    assert (slot_events(response)["webhook_asking"], texts(response)) == ("order_id", [too_long])


def test_a_greeting_is_no_answer_to_a_string_question(action_env: ActionEnv) -> None:
    action_env.put(
        "opening_hours",
        parameters=[{"name": "city", "type": "string", "description": "the city"}],
    )
    response = answer(action_env, "opening_hours", "city", "hello", intent="greet")
    assert slot_events(response)["webhook_asking"] == "city"
    assert "still need an answer" in texts(response)[0]


def test_on_a_stop_turn_the_validator_answers_nothing(action_env: ActionEnv) -> None:
    # Nothing extracted ("stop" fills no slot): no event at all, so Rasa rejects the form and
    # the stop rule runs (an event other than requested_slot would keep the form going).
    action_env.put("order_status")
    call = dispatch_call(
        ANSWER,
        DISPATCH_VALIDATOR,
        {ACTION_SLOT: "order_status"},
        text="stop",
        slots={"requested_slot": ANSWER_SLOT},
        validate={},
    )
    response = action_env.call(call)
    assert response.status_code == 200
    assert response.json() == {"events": [], "responses": []}


def test_allowed_values_are_taken_from_the_request_and_enforced(action_env: ActionEnv) -> None:
    city = {
        "name": "city",
        "type": "string",
        "description": "the city of the store",
        "values": ["Berlin", "Lisbon"],
    }
    action_env.put("opening_hours", parameters=[city])
    response = start(action_env, "opening_hours", "opening hours in lisbon?")
    assert answered_at_once(action_env, response) == {"city": "Lisbon"}  # as the operator wrote it
    response = answer(action_env, "opening_hours", "city", "Madrid")
    assert texts(response) == ["Please choose one of: Berlin, Lisbon."]
    response = answer(action_env, "opening_hours", "city", " BERLIN ")
    assert answered_at_once(action_env, response) == {"city": "Berlin"}


def test_an_answer_with_a_slip_is_taken_and_two_close_values_are_asked_about(
    action_env: ActionEnv,
) -> None:
    city = {"name": "city", "description": "the city", "values": ["Austin", "Boston", "Lisbon"]}
    action_env.put("opening_hours", parameters=[city])
    response = answer(action_env, "opening_hours", "city", "lisbn")
    assert answered_at_once(action_env, response) == {"city": "Lisbon"}
    response = answer(action_env, "opening_hours", "city", "Bostin")
    events = slot_events(response)
    assert (events["webhook_values"], events["webhook_asking"]) == ({}, "city")
    assert texts(response) == ["Did you mean Boston or Austin?"]
    # In the request, a slip is not forgiven: the question is asked.
    events = slot_events(start(action_env, "opening_hours", "opening hours in lisbn"))
    assert (events["webhook_values"], events["webhook_asking"]) == ({}, "city")


def test_a_pattern_takes_its_match(action_env: ActionEnv) -> None:
    code = {
        "name": "code",
        "type": "string",
        "description": "the voucher code",
        "pattern": r"(?i)\b([a-z]{2}\d{4})\b",
    }
    action_env.put("voucher", parameters=[code])
    response = start(action_env, "voucher", "is voucher AB1234 still valid?")
    assert answered_at_once(action_env, response) == {"code": "AB1234"}
    response = answer(action_env, "voucher", "code", "my code is lost")
    assert "doesn't look like" in texts(response)[0]


def test_a_stored_pattern_re2_cannot_run_asks_again_instead_of_failing(
    action_env: ActionEnv,
) -> None:
    """A pattern saved before patterns ran on RE2 (here written past the rules) matches
    nothing: the value is not taken from the request, and an answer is asked for again."""
    from sqlalchemy import text, update

    from webhooks.store import _schema

    code = {"name": "code", "type": "string", "description": "the code", "pattern": r"\d{4}"}
    action_env.put("voucher", parameters=[code])
    with action_env.store.engine.begin() as connection:
        connection.execute(
            update(_schema.Webhook)
            .where(_schema.Webhook.name == "voucher")
            .values(parameters=[code | {"pattern": r"(\d)\1(?=\d)"}])
        )
        connection.execute(text("UPDATE tenants SET version = version + 1"))
    action_env.wait_refreshed()
    events = slot_events(start(action_env, "voucher", "is voucher 1123 still valid?"))
    assert (events["webhook_values"], events["webhook_asking"]) == ({}, "code")
    response = answer(action_env, "voucher", "code", "1123")
    assert "doesn't look like" in texts(response)[0]
    assert "RE2 cannot run" in action_env.log_path.read_text()


def test_the_call_sends_the_collected_typed_values_and_forgets_them(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status")
    response = action_env.call(calling("order_status", {"order_id": 4521}))
    assert json.loads(action_env.webhook.requests[-1]["body"]) == {"order_id": 4521}
    events = slot_events(response)
    # What held a value is forgotten (the other two were empty already).
    assert {name: events[name] for name in ("webhook_action", "webhook_values")} == {
        "webhook_action": None,
        "webhook_values": None,
    }
    assert texts(response)  # answered from the webhook's data


def test_a_disabled_action_asks_nothing_and_is_answered_politely(action_env: ActionEnv) -> None:
    """By the validator at once, and by ``action_webhook`` (a model whose rules call it)."""
    action_env.put("order_status", enabled=False)
    calls = len(action_env.webhook.requests)
    response = start(action_env, "order_status", "where is my order?")
    assert texts(response) == ["Sorry, that feature is switched off at the moment."]
    assert slot_events(response) == {"webhook_action": None, "requested_slot": None}
    assert response.json()["events"][-1]["name"] == "action_listen"
    response = action_env.call(calling("order_status"))
    assert texts(response) == ["Sorry, that feature is switched off at the moment."]
    assert len(action_env.webhook.requests) == calls


def test_a_value_the_changed_definition_no_longer_takes_is_not_sent(
    action_env: ActionEnv,
) -> None:
    # The form collected 4521 for order_id; meanwhile the operator made it a boolean and added a
    # required parameter: the call is not made, and the user hears it is not available.
    action_env.put(
        "order_status",
        parameters=[
            {"name": "order_id", "type": "boolean", "description": "the order"},
            {"name": "email", "type": "string", "description": "your email", "required": False},
        ],
    )
    calls = len(action_env.webhook.requests)
    response = action_env.call(calling("order_status", {"order_id": 4521, "gone": "x"}))
    assert texts(response) == [Category.NOT_CONFIGURED.sentence]
    assert len(action_env.webhook.requests) == calls
    assert "required parameter order_id has no value" in action_env.log_path.read_text()


# -- the routing table -----------------------------------------------------------------------


def routing(env: ActionEnv, **kwargs: Any) -> httpx.Response:
    return httpx.get(f"{env.base_url}/tenants/acme/routing", timeout=10, **kwargs)


def test_the_routing_table_lists_every_action_for_the_tenants_token(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status", examples=["where is my parcel"])
    action_env.put(
        "opening_hours",
        enabled=False,
        parameters=[{"name": "who", "description": "the user", "source": "sender_id"}],
    )
    bearer = {"Authorization": f"Bearer {action_env.token}"}
    response = routing(action_env, headers=bearer)
    assert response.status_code == 200
    table = response.json()
    listed = {a["name"]: (a["examples"], a["enabled"]) for a in table["actions"]}
    assert {name: listed[name] for name in ("order_status", "opening_hours")} == {
        "order_status": (["where is my parcel"], True),
        # Listed, so a request for it is answered politely rather than mistaken for another.
        "opening_hours": ([], False),
    }
    # What each question asks for, as the question says it: an answer is judged against it.
    questions = {a["name"]: a["questions"] for a in table["actions"]}
    assert questions["order_status"] == ["your order number"]
    assert questions["opening_hours"] == []  # taken from the conversation, never asked
    assert routing(action_env, params={"token": action_env.token}).json() == table
    for refused in ({}, {"headers": {"Authorization": "Bearer wrong"}}, {"params": {"token": "x"}}):
        assert routing(action_env, **refused).status_code == 401, refused


def test_an_unchanged_table_is_a_bare_304_and_a_change_shows(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    bearer = {"Authorization": f"Bearer {action_env.token}"}
    first = routing(action_env, headers=bearer)
    etag = first.headers["ETag"]
    # The table's shape is in its tag: a router holding an older shape's table gets the new one.
    version = action_env.store.accounts.get_tenant("acme").version
    assert etag == f'"{version}-2"'
    older = routing(action_env, headers=bearer | {"If-None-Match": f'"{version}"'})
    assert older.status_code == 200
    again = routing(action_env, headers=bearer | {"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    action_env.put("order_status", description="Track an order")
    changed = routing(action_env, headers=bearer | {"If-None-Match": etag})
    assert changed.status_code == 200
    described = {a["name"]: a["description"] for a in changed.json()["actions"]}
    assert described["order_status"] == "Track an order"


def test_a_pattern_value_kept_by_the_validator_is_sent_as_kept(action_env: ActionEnv) -> None:
    # The group leaves out its context, so the pattern does not match again what it kept.
    code = {
        "name": "code",
        "type": "string",
        "description": "the code",
        "pattern": r"code:\s*(\w+)",
    }
    action_env.put("voucher", parameters=[code])
    response = start(action_env, "voucher", "my code: AB12 please")
    assert answered_at_once(action_env, response) == {"code": "AB12"}
    assert "isn't set up" not in " ".join(texts(response))
    # As action_webhook sends it too.
    response = action_env.call(calling("voucher", {"code": "AB12"}))
    assert json.loads(action_env.webhook.requests[-1]["body"]) == {"code": "AB12"}
    assert "isn't set up" not in " ".join(texts(response))


def test_an_answer_to_one_question_is_no_value_for_the_others(action_env: ActionEnv) -> None:
    cities = ["Berlin", "Lisbon"]
    parameters = [
        {"name": "origin", "type": "string", "description": "from", "values": cities},
        {"name": "destination", "type": "string", "description": "to", "values": cities},
        {"name": "street", "type": "string", "description": "the street"},
        {"name": "order_id", "type": "integer", "description": "the order"},
    ]
    action_env.put("trip", parameters=parameters)
    events = slot_events(action_env.call(answering("trip", "origin", "Lisbon")))
    assert (events["webhook_values"], events["webhook_asking"]) == (
        {"origin": "Lisbon"},
        "destination",
    )
    street = answering(
        "trip", "street", "12 Baker Street", values={"origin": "Lisbon", "destination": "Berlin"}
    )
    events = slot_events(action_env.call(street))
    assert events["webhook_values"] == {
        "origin": "Lisbon",
        "destination": "Berlin",
        "street": "12 Baker Street",
    }
    assert events["webhook_asking"] == "order_id"  # the 12 was no order number
