"""The action server over HTTP, with request bodies captured from a real Rasa 3.6.21.

Each test adapts a captured payload (fixtures/) and checks what a Rasa would receive back,
and what the real HTTPS webhook received.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from typing import Any

import httpx
import pytest

from tests.actions.conftest import (
    CANARY,
    METRICS_TOKEN,
    START,
    ActionEnv,
    answered_at_once,
    answering,
    calling,
    dispatch_call,
    slot_events,
    starting,
    texts,
)
from tests.webhooks.https_server import ECHOED_FORMS
from webhooks import (
    ACTION_SLOT,
    ASK_ANSWER_ACTION,
    ASKING_SLOT,
    DISPATCH_SLOTS,
    HELP_ACTION,
    STOPPED_ACTION,
    VALUES_SLOT,
)
from webhooks.egress._redaction import MASK

ORDER_4521 = [{"entity": "order_id", "value": "#4521", "start": 18, "end": 23}]
#: What the bot says from /echo's answer to a POST: proof the webhook was called in that turn.
ECHOED = "method: POST; query: []"


def served(env: ActionEnv, **kwargs: Any) -> httpx.Response:
    """A call any tenant's server answers: the form's start for "where is my order #4521"."""
    return env.call(starting("order_status", "where is my order #4521", ORDER_4521), **kwargs)


def still_serving(env: ActionEnv) -> None:
    """The server still serves after an odd call: the form's start for order #4521 calls the
    webhook with it, once, and answers from its reply."""
    before = len(env.webhook.requests)
    response = served(env)
    assert answered_at_once(env, response) == {"order_id": 4521}
    assert texts(response) == [ECHOED]
    assert len(env.webhook.requests) == before + 1


def run_action(
    env: ActionEnv,
    name: str = "order_status",
    *,
    domain: dict[str, Any] | None = None,
    sender: str | None = None,
    **values: Any,
) -> httpx.Response:
    """The webhook call once the form has collected ``values``."""
    call = calling(name, values, sender=sender)
    if domain:
        for key, value in domain.items():
            call["domain"].setdefault(key, {}).update(value)
    return env.call(call)


# -- forms: conversion, re-asking, what is asked ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        pytest.param("integer", "#4521", 4521, id="integer"),
        pytest.param("number", "12.5 kg", 12.5, id="number"),
        pytest.param("boolean", "yes please", True, id="boolean"),
        pytest.param("string", "  blue  ", "blue", id="string"),
    ],
)
def test_each_type_is_converted(
    action_env: ActionEnv, kind: str, given: str, expected: object
) -> None:
    action_env.put(
        "typed", parameters=[{"name": "order_id", "type": kind, "description": "the value"}]
    )
    response = action_env.call(answering("typed", "order_id", given))
    # The only value known: the webhook is called with it, typed, in the same turn.
    assert answered_at_once(action_env, response) == {"order_id": expected}
    assert texts(response) == [ECHOED]


@pytest.mark.parametrize(
    ("kind", "given", "hint"),
    [
        pytest.param("integer", "soon", "whole number", id="integer"),
        pytest.param("number", "lots", "number", id="number"),
        pytest.param("boolean", "perhaps", "yes or no", id="boolean"),
    ],
)
def test_a_bad_value_is_re_asked_with_a_hint(
    action_env: ActionEnv, kind: str, given: str, hint: str
) -> None:
    action_env.put(
        "typed", parameters=[{"name": "order_id", "type": kind, "description": "the value"}]
    )
    response = action_env.call(answering("typed", "order_id", given))
    events = slot_events(response)
    # Not kept, and asked again.
    assert (events["webhook_values"], events["webhook_asking"]) == ({}, "order_id")
    assert events["requested_slot"] == "webhook_answer"
    assert hint in texts(response)[0]


V2_PARAMETERS = [
    {"name": "order_id", "type": "integer", "description": "order"},
    {"name": "note", "type": "string", "description": "a note", "required": False},
]


def test_what_is_required_is_decided_live(action_env: ActionEnv) -> None:
    parameters = [dict(p) for p in V2_PARAMETERS]
    action_env.put("order_status", parameters=parameters)
    call = starting("order_status", "where is my order #4521", ORDER_4521)
    # Optional parameters are never asked: once order_id is known the webhook is called.
    response = action_env.call(call)
    assert answered_at_once(action_env, response) == {"order_id": 4521}
    assert texts(response) == [ECHOED]
    # Made required through the store: asked at the next turn, no retrain, no restart.
    parameters[1]["required"] = True
    action_env.store.catalog.update(
        "acme", "order_status", {"parameters": parameters}, actor="admin"
    )
    action_env.wait_refreshed()
    assert slot_events(action_env.call(call))["webhook_asking"] == "note"


def test_a_bad_optional_value_is_asked_again(action_env: ActionEnv) -> None:
    parameters = [dict(p) for p in V2_PARAMETERS]
    parameters[1]["type"] = "integer"
    action_env.put("order_status", parameters=parameters)
    call = answering("order_status", "note", "lots", values={"order_id": 4521})
    response = action_env.call(call)
    events = slot_events(response)
    assert (events["webhook_values"], events["webhook_asking"]) == ({"order_id": 4521}, "note")
    assert "whole number" in texts(response)[0]


def ask(action_env: ActionEnv, *, own: str | None = None) -> list[str]:
    """What the question for order_id says; ``own``: a designer's question response in the
    domain."""
    call = dispatch_call(
        "v2_ask_2_action_ask_order_status_form_order_id.json",
        ASK_ANSWER_ACTION,
        {ACTION_SLOT: "order_status", ASKING_SLOT: "order_id"},
    )
    call["domain"]["responses"].pop("utter_ask_order_status_form_order_id", None)
    if own:
        call["domain"]["responses"][own] = [{"text": "Your order number?"}]
    response = action_env.call(call)
    assert response.status_code == 200, response.text
    assert response.json()["events"] == []
    return [r.get("text") or r.get("response") for r in response.json()["responses"]]


def test_questions_follow_the_live_description(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    assert ask(action_env) == ["Please tell me your order number (a whole number)."]
    action_env.store.catalog.update(
        "acme",
        "order_status",
        {"parameters": [{"name": "order_id", "type": "integer", "description": "Which order?"}]},
        actor="admin",
    )
    action_env.wait_refreshed()
    assert ask(action_env) == ["Which order?"]
    # A designer's own question in the domain wins.
    for own in ("utter_ask_order_status_form_order_id", "utter_ask_order_id"):
        assert ask(action_env, own=own) == [own]


def test_stopping_a_form_forgets_its_answers(action_env: ActionEnv) -> None:
    action_env.put("order_status", parameters=V2_PARAMETERS)
    call = dispatch_call(
        "v2_stop_4_action_webhook_stopped.json",
        STOPPED_ACTION,
        {ACTION_SLOT: "order_status", VALUES_SLOT: {"order_id": 12}},
    )
    response = action_env.call(call)
    assert slot_events(response) == dict.fromkeys(DISPATCH_SLOTS)
    assert [r.get("response") for r in response.json()["responses"]] == ["utter_webhook_stopped"]
    del call["domain"]["responses"]["utter_webhook_stopped"]
    assert texts(action_env.call(call)) == ["Okay, I've stopped. What else can I do for you?"]


@pytest.mark.parametrize(
    ("intent", "entities", "taken"),
    [
        pytest.param("greet", [], None, id="greeting"),
        pytest.param("out_of_scope", [], None, id="off-topic"),
        pytest.param("help", [], None, id="help"),
        pytest.param("inform", [], "hello there", id="answer"),
        pytest.param("nlu_fallback", [], "hello there", id="unsure-free-text"),
        pytest.param("greet", [{"entity": "order_id", "value": "Lisbon"}], "Lisbon", id="entity"),
    ],
)
def test_a_string_answer_that_is_no_answer_is_asked_again(
    action_env: ActionEnv, intent: str, entities: list[dict[str, Any]], taken: str | None
) -> None:
    action_env.put(
        "typed", parameters=[{"name": "order_id", "type": "string", "description": "the city"}]
    )
    call = answering("typed", "order_id", "hello there", intent=intent, entities=entities)
    response = action_env.call(call)
    events = slot_events(response)
    if taken is not None:
        # Taken as the answer: the webhook's reply only, no word about the answer.
        assert answered_at_once(action_env, response) == {"order_id": taken}
        assert texts(response) == [ECHOED]
    else:
        assert (events["webhook_values"], events["webhook_asking"]) == ({}, "order_id")
        assert texts(response) == [
            'I still need an answer to this to go on, or say "stop" to do something else.'
        ]


@pytest.mark.parametrize(
    ("intent", "answer", "taken"),
    [
        pytest.param("out_of_scope", "Prais", "Paris", id="a-slip-taken-for-off-topic"),
        pytest.param("chitchat", "lisbon!", "Lisbon", id="a-value-taken-for-chitchat"),
        pytest.param("out_of_scope", "the German one", None, id="no-value"),
    ],
)
def test_allowed_values_judge_an_answer_whatever_its_intent(
    action_env: ActionEnv, intent: str, answer: str, taken: str | None
) -> None:
    cities = ["Berlin", "Lisbon", "Paris", "London"]
    city = {"name": "city", "type": "string", "description": "the city", "values": cities}
    action_env.put("typed", parameters=[city])
    response = action_env.call(answering("typed", "city", answer, intent=intent))
    if taken is not None:
        assert answered_at_once(action_env, response) == {"city": taken}
    else:
        assert slot_events(response)["webhook_asking"] == "city"
        assert texts(response) == ["Please choose one of: Berlin, Lisbon, Paris, London."]


def _help(env: ActionEnv, intent: str, **domain: Any) -> httpx.Response:
    call = dispatch_call(START, HELP_ACTION)
    call["tracker"]["latest_message"]["intent"] = {"name": intent, "confidence": 0.9}
    call["domain"].setdefault("responses", {}).update(domain)
    return env.call(call)


def test_the_help_lists_the_enabled_actions_live_then_listens(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    action_env.put("typed", description="Convert units. Give it a value.")
    response = _help(action_env, "nlu_fallback")
    assert texts(response) == [
        "Sorry, I didn't understand that. Here is what I can help you with:\n"
        "- Convert units\n- Look up the status of an order"
    ]
    assert response.json()["events"] == [
        {"event": "followup", "name": "action_listen", "timestamp": None}
    ]
    assert texts(_help(action_env, "greet"))[0].startswith("Hello! Here is what I can help")
    assert texts(_help(action_env, "help"))[0].startswith("Here is what I can help you with:")
    action_env.store.catalog.update("acme", "typed", {"enabled": False}, actor="test")
    action_env.wait_refreshed()
    assert texts(_help(action_env, "help")) == [
        "Here is what I can help you with:\n- Look up the status of an order"
    ]
    action_env.store.accounts.set_skill("acme", False, actor="test")
    action_env.wait_refreshed()
    try:
        assert texts(_help(action_env, "greet")) == [
            "Hello! I can't look anything up for you at the moment. Please try again later."
        ]
    finally:
        action_env.store.accounts.set_skill("acme", True, actor="test")
        action_env.wait_refreshed()


def test_a_designers_help_response_wins_and_gets_the_list(action_env: ActionEnv) -> None:
    for webhook in action_env.store.catalog.list("acme"):
        action_env.store.catalog.delete("acme", webhook.name, actor="test")
    action_env.put("order_status")
    response = _help(
        action_env, "greet", utter_webhook_help=[{"text": "Hi, I am Shopbot. {actions}"}]
    )
    assert [r.get("response") for r in response.json()["responses"]] == ["utter_webhook_help"]
    # The list alone: the designer's words open it.
    assert response.json()["responses"][0]["actions"] == "- Look up the status of an order"


# -- the call ---------------------------------------------------------------------------------


def test_post_sends_typed_json_and_headers_and_answers_from_the_data(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status")
    response = run_action(action_env, order_id="4521")
    sent = action_env.webhook.requests[-1]
    assert json.loads(sent["body"]) == {"order_id": 4521}
    assert sent["headers"]["X-Api-Key"] == CANARY
    assert texts(response) == ["method: POST; query: []"]
    events = slot_events(response)
    # Forgotten for the next request; the result kept where the designer declared slots.
    assert {name: events.get(name) for name in DISPATCH_SLOTS} == dict.fromkeys(DISPATCH_SLOTS)
    assert "webhook_values" in events  # it held the order number
    assert events["order_status_result"] == {"method": "POST", "query": []}


def test_a_stored_header_value_echoed_by_the_endpoint_is_masked(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/headers")
    response = run_action(action_env, order_id="4521")
    assert action_env.webhook.requests[-1]["headers"]["X-Api-Key"] == CANARY  # it was sent
    assert CANARY not in response.text
    assert slot_events(response)["order_status_result"]["X-Api-Key"] == MASK


@pytest.mark.parametrize("form", list(ECHOED_FORMS))
def test_a_stored_header_value_echoed_changed_is_masked(action_env: ActionEnv, form: str) -> None:
    action_env.put("order_status", path=f"/echo-as/{form}")
    response = run_action(action_env, order_id="4521")
    assert action_env.webhook.requests[-1]["headers"]["X-Api-Key"] == CANARY  # it was sent
    seen = slot_events(response)["order_status_result"]["seen"]
    assert seen in (MASK, {"first": MASK, "second": MASK})
    assert CANARY not in response.text


def test_get_sends_a_query_string(action_env: ActionEnv) -> None:
    action_env.put("order_status", method="GET")
    response = run_action(action_env, order_id="4521")
    assert action_env.webhook.requests[-1]["query"] == [("order_id", "4521")]
    assert texts(response) == ['method: GET; query: [["order_id", "4521"]]']


def test_optional_parameters_are_sent_only_when_known(action_env: ActionEnv) -> None:
    parameters = [
        {"name": "order_id", "type": "integer", "description": "order"},
        {"name": "note", "type": "string", "description": "a note", "required": False},
    ]
    action_env.put("order_status", parameters=parameters)
    run_action(action_env, order_id="7")
    assert json.loads(action_env.webhook.requests[-1]["body"]) == {"order_id": 7}
    run_action(action_env, order_id="7", note="leave at door")
    assert json.loads(action_env.webhook.requests[-1]["body"]) == {
        "order_id": 7,
        "note": "leave at door",
    }


def test_result_and_truncated_flag_fill_slots_when_the_domain_has_them(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status", path="/big", method="GET")
    slots = {"order_status_result": {"type": "any"}, "order_status_truncated": {"type": "bool"}}
    response = run_action(action_env, order_id="1", domain={"slots": slots})
    events = slot_events(response)
    assert events["order_status_truncated"] is True
    assert events["order_status_result"]["response_text"].startswith("aaaa")
    assert texts(response)[0].endswith("(The answer was cut short.)")


@pytest.mark.parametrize(
    ("path", "text"), [("/emoji", "Café ✓ 🚀"), ("/emoji?cut=1", "Café ✓ \ud83d")]
)
def test_text_beyond_ascii_and_half_an_emoji_reach_rasa_as_sent(
    action_env: ActionEnv, path: str, text: str
) -> None:
    action_env.put("order_status", path=path, method="GET")
    response = run_action(action_env, order_id="1")
    assert response.headers["content-type"].startswith("application/json")
    assert texts(response) == [text]  # read as Rasa reads it: json.loads of the body


def test_designer_result_response_is_filled_from_the_fields(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    responses = {"utter_order_status_result": [{"text": "It is {method}"}]}
    response = run_action(action_env, order_id="1", domain={"responses": responses})
    [message] = response.json()["responses"]
    assert message["response"] == "utter_order_status_result"
    assert message["method"] == "POST"


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"path": "/drip", "method": "GET", "timeout": 1}, "too long", id="timeout"),
        pytest.param({"path": "/status/503"}, "can't reach", id="5xx"),
        pytest.param({"path": "/status/404"}, "couldn't find", id="404"),
        pytest.param({"path": "/status/400"}, "could not handle", id="4xx"),
    ],
)
def test_failures_get_a_polite_message_by_category(
    action_env: ActionEnv, changes: dict[str, Any], expected: str
) -> None:
    action_env.put("order_status", **changes)
    response = run_action(action_env, order_id="1")
    [text] = texts(response)
    assert expected in text
    assert text.startswith("Sorry")


@pytest.mark.parametrize("timeout", [1, 2])
def test_the_call_is_bounded_by_the_definitions_timeout(
    action_env: ActionEnv, timeout: int
) -> None:
    action_env.put("order_status", path="/drip", method="GET", timeout=timeout)
    started = time.monotonic()
    response = run_action(action_env, order_id="1")
    assert "too long" in texts(response)[0]
    # Well under the default timeout (10 s), with room for a loaded machine.
    assert timeout - 0.1 <= time.monotonic() - started < timeout + 3


def test_an_unreachable_webhook_is_unavailable(action_env: ActionEnv) -> None:
    from tests.admin.conftest import free_port

    action_env.put("order_status", path="/x")
    action_env.store.catalog.update(
        "acme",
        "order_status",
        {"url": f"https://127.0.0.1:{free_port()}/x", "headers": {"X-Api-Key": "k"}},
        actor="test",
    )
    action_env.wait_refreshed()
    assert "can't reach" in texts(run_action(action_env, order_id="1"))[0]


def test_an_answer_that_is_not_http_is_an_invalid_response(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/x")
    action_env.store.catalog.update(
        "acme",
        "order_status",
        {"url": action_env.webhook.garbage_url(), "headers": {"X-Api-Key": "k"}},
        actor="test",
    )
    action_env.wait_refreshed()
    assert "couldn't read" in texts(run_action(action_env, order_id="1"))[0]


def test_url_rules_are_applied_again_at_call_time(action_env: ActionEnv) -> None:
    """A URL that slipped into the store (here written past the rules) is still refused."""
    from sqlalchemy import text, update

    from webhooks.store import _schema

    action_env.put("order_status")
    before = len(action_env.webhook.requests)
    with action_env.store.engine.begin() as connection:
        connection.execute(
            update(_schema.Webhook)
            .where(_schema.Webhook.name == "order_status")
            .values(url=action_env.webhook.url("/echo").replace("127.0.0.1", "127.0.0.2"))
        )
        connection.execute(text("UPDATE tenants SET version = version + 1"))
    action_env.wait_refreshed()
    assert "not allowed" in texts(run_action(action_env, order_id="1"))[0]
    assert len(action_env.webhook.requests) == before


def test_failure_messages_can_be_overridden_by_the_domain(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/status/500")
    responses = {"utter_webhook_unavailable": [{"text": "Our shop is down."}]}
    response = run_action(action_env, order_id="1", domain={"responses": responses})
    assert response.json()["responses"][0]["response"] == "utter_webhook_unavailable"
    per_action = {"utter_order_status_unavailable": [{"text": "Orders are down."}]}
    response = run_action(action_env, order_id="1", domain={"responses": responses | per_action})
    assert response.json()["responses"][0]["response"] == "utter_order_status_unavailable"


def test_the_eleventh_call_of_a_conversation_is_refused_without_a_call(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status")
    before = len(action_env.webhook.requests)
    for _ in range(10):
        assert texts(run_action(action_env, order_id="1", sender="chatty"))[0].startswith("method")
    response = run_action(action_env, order_id="1", sender="chatty")
    assert "as many lookups" in texts(response)[0]
    assert len(action_env.webhook.requests) == before + 10
    # Another sender is another conversation.
    assert texts(run_action(action_env, order_id="1", sender="quiet"))[0].startswith("method")


@pytest.mark.parametrize("state", ["disabled", "deleted", "skill_off"])
def test_unavailable_actions_ask_nothing_and_answer_politely(
    action_env: ActionEnv, state: str
) -> None:
    action_env.put("order_status")
    if state == "disabled":
        action_env.store.catalog.update("acme", "order_status", {"enabled": False}, actor="t")
    elif state == "deleted":
        action_env.store.catalog.delete("acme", "order_status", actor="t")
    else:
        action_env.store.accounts.set_skill("acme", False, actor="t")
    action_env.wait_refreshed()
    before = len(action_env.webhook.requests)
    expected = [
        "Sorry, that feature isn't set up yet."
        if state == "deleted"
        else "Sorry, that feature is switched off at the moment."
    ]
    try:
        # The form's start asks nothing: the validator answers politely at once, and listens.
        validated = action_env.call(starting("order_status", "where is my order?"))
        assert validated.status_code == 200, validated.text
        assert [(e["event"], e["name"], e.get("value")) for e in validated.json()["events"]] == [
            ("slot", "webhook_action", None),
            ("slot", "requested_slot", None),
            ("followup", "action_listen", None),
        ]
        assert texts(validated) == expected
        # action_webhook, run by an older model's rules, answers the same.
        response = run_action(action_env)
        assert texts(response) == expected
        assert slot_events(response) == {"webhook_action": None, "webhook_values": None}
        assert len(action_env.webhook.requests) == before
    finally:
        action_env.store.accounts.set_skill("acme", True, actor="t")


def test_changes_are_served_within_a_second_without_restart(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    run_action(action_env, order_id="1")
    action_env.store.catalog.update(
        "acme",
        "order_status",
        {"url": action_env.webhook.url("/text"), "method": "GET", "headers": {"X-Api-Key": "v2"}},
        actor="admin",
    )
    changed_at = time.monotonic()  # committed
    # The health check names the version served: polling it is cheap, so on a loaded machine
    # the test's own webhook calls do not eat into the second.
    version = sum(action_env.store.snapshots.versions().values())
    while httpx.get(f"{action_env.base_url}/health").json()["version"] < version:
        assert time.monotonic() - changed_at < 1.0, "not live within 1 s"
        time.sleep(0.02)
    assert texts(run_action(action_env, order_id="1")) == ["plain words, not JSON"]
    assert action_env.webhook.requests[-1]["headers"]["X-Api-Key"] == "v2"


def test_a_value_that_fails_conversion_is_never_sent_raw(action_env: ActionEnv) -> None:
    count = {"name": "count", "type": "integer", "description": "how many", "required": False}
    order = {"name": "order_id", "type": "integer", "description": "your order number"}
    action_env.put("order_status", parameters=[order, count])
    before = len(action_env.webhook.requests)
    run_action(action_env, order_id="12", count="lots")
    sent = json.loads(action_env.webhook.requests[-1]["body"])
    assert sent == {"order_id": 12}  # the optional value that is no integer is left out
    response = run_action(action_env, order_id="twelve", count="3")
    assert len(action_env.webhook.requests) == before + 1  # a required one: no call at all
    assert texts(response) == ["Sorry, that feature isn't set up yet."]


# -- protocol, auth, drift --------------------------------------------------------------------


def test_one_tenants_token_is_refused_on_another_existing_tenants_route(
    action_env: ActionEnv,
) -> None:
    store = action_env.store
    if "globex" not in {t.name for t in store.accounts.list_tenants()}:
        store.accounts.create_tenant("globex", actor="test")
        store.accounts.set_skill("globex", True, actor="test")
    globex = store.accounts.issue_action_token("globex", actor="test", replace=True)
    if "order_status" not in {w.name for w in store.catalog.list("globex")}:
        store.catalog.create("globex", action_env.definition("order_status"), actor="test")
    action_env.wait_refreshed()
    assert served(action_env, tenant="globex", token=globex).status_code == 200
    refused = served(action_env, tenant="globex", token=action_env.token)
    assert refused.status_code == 401
    assert served(action_env, tenant="acme", token=globex).status_code == 401


def test_bad_or_missing_token_and_unknown_tenant_are_refused(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    assert served(action_env, token="wht_wrong").status_code == 401
    assert served(action_env, tenant="globex").status_code == 401
    no_token = httpx.post(
        f"{action_env.base_url}/tenants/acme/webhook",
        json=starting("order_status", "where is my order #4521", ORDER_4521),
    )
    assert no_token.status_code == 401


def test_a_reissued_token_replaces_the_old_one_at_once(action_env: ActionEnv) -> None:
    # The server remembers the query of the last admitted request; a new token must end it.
    action_env.put("order_status")
    assert served(action_env).status_code == 200
    assert served(action_env).status_code == 200
    old_token, new_token = (
        action_env.token,
        action_env.store.accounts.issue_action_token("acme", actor="test", replace=True),
    )
    action_env.token = new_token  # the module's later tests use the tenant's current token
    action_env.wait_refreshed()
    assert served(action_env, token=old_token).status_code == 401
    assert served(action_env).status_code == 200
    # Another query carrying the right token is admitted too; the same one with a wrong token
    # of the same length is not.
    extra = httpx.post(
        f"{action_env.base_url}/tenants/acme/webhook",
        params={"token": new_token, "other": "1"},
        json=starting("order_status", "where is my order #4521", ORDER_4521),
    )
    assert extra.status_code == 200
    forged = new_token[:-1] + ("A" if new_token[-1] != "A" else "B")
    assert served(action_env, token=forged).status_code == 401


def test_default_route_and_action_list(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    response = httpx.post(
        f"{action_env.base_url}/webhook",
        params={"token": action_env.token},
        json=starting("order_status", "where is my order #4521", ORDER_4521),
    )
    assert answered_at_once(action_env, response) == {"order_id": 4521}
    assert texts(response) == [ECHOED]
    listed = httpx.get(f"{action_env.base_url}/actions", params={"token": action_env.token})
    assert listed.json() == [
        {"name": name}
        for name in sorted(
            (
                "action_webhook",
                "validate_webhook_form",
                "action_ask_webhook_answer",
                "action_webhook_stopped",
                "action_webhook_switch",
                "action_webhook_help",
            )
        )
    ]


def test_a_huge_integer_in_a_slot_reaches_the_webhook_exactly(action_env: ActionEnv) -> None:
    # JSON allows any integer, and a slot may hold one (set by another action, or a result
    # kept in a slot). A parser that made it a float would send a wrong value, silently.
    action_env.put(
        "order_status",
        parameters=[{"name": "order_id", "type": "string", "description": "the order"}],
    )
    call = calling("order_status", {"order_id": 2**70})
    call["tracker"]["slots"]["order_status_result"] = {"id": -(2**70)}
    response = action_env.call(call)
    assert response.status_code == 200, response.text
    sent = json.loads(action_env.webhook.requests[-1]["body"])
    assert sent == {"order_id": str(2**70)}


def _post_raw(env: ActionEnv, body: bytes, encoding: str) -> httpx.Response:
    return httpx.post(
        f"{env.base_url}/tenants/acme/webhook",
        params={"token": env.token},
        content=body,
        headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        timeout=30,
    )


@pytest.mark.parametrize(
    "compress",
    [
        pytest.param(zlib.compress, id="deflate"),
        pytest.param(gzip.compress, id="gzip"),
    ],
)
def test_a_compressed_call_is_served_and_a_bomb_refused(
    action_env: ActionEnv, compress: Any
) -> None:
    encoding = "gzip" if compress is gzip.compress else "deflate"
    action_env.put("order_status")
    call = json.dumps(starting("order_status", "where is my order #4521", ORDER_4521)).encode()
    response = _post_raw(action_env, compress(call), encoding)
    assert answered_at_once(action_env, response) == {"order_id": 4521}
    assert texts(response) == [ECHOED]
    # 40 KB that would inflate to 40 MB: refused before it is all made.
    bomb = compress(b'{"tracker": "' + b"0" * (40 * 1024 * 1024) + b'"}')
    assert len(bomb) < 100_000
    refused = _post_raw(action_env, bomb, encoding)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_large"
    truncated = _post_raw(action_env, compress(call)[:-20], encoding)
    assert truncated.status_code == 400
    assert _post_raw(action_env, call, "br").status_code == 415
    still_serving(action_env)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda call: call.update(domain={}), id="empty-domain"),
        pytest.param(lambda call: call.update(domain=[1, 2]), id="list-domain"),
        pytest.param(lambda call: call.update(next_action=7), id="integer-action"),
        pytest.param(lambda call: call["tracker"].pop("sender_id"), id="no-sender"),
        pytest.param(lambda call: call["tracker"].update(events="x"), id="events-not-a-list"),
        pytest.param(lambda call: call["tracker"].update(slots=[]), id="slots-not-a-map"),
    ],
)
def test_an_odd_action_call_is_a_clean_4xx_or_answered(action_env: ActionEnv, change: Any) -> None:
    action_env.put("order_status")
    call = calling("order_status", {"order_id": 4521})
    change(call)
    response = action_env.call(call)
    assert response.status_code != 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "field"}
    else:
        assert texts(response)  # answered, politely or with the data
    still_serving(action_env)


def test_bodies_that_are_not_json_are_400(action_env: ActionEnv) -> None:
    for body in (
        b"\xff\xfe{\x00}\x00",  # UTF-16
        b"\xef\xbb\xbf{}",  # a byte order mark
        b'{"text": "\xff"}',  # not UTF-8
        b"[" * 100_000,  # too deep
        b'{"tracker": NaN}',
        b"{oops",
    ):
        response = httpx.post(
            f"{action_env.base_url}/tenants/acme/webhook",
            params={"token": action_env.token},
            content=body,
        )
        assert response.status_code == 400, body[:20]
        assert response.json()["error"]["code"] == "malformed_json"


def test_an_action_unknown_to_the_domain_is_404_and_bad_bodies_are_400(
    action_env: ActionEnv,
) -> None:
    call = calling("order_status")
    call["next_action"] = "action_nobody_knows"
    response = action_env.call(call)
    assert response.status_code == 404
    bad = httpx.post(
        f"{action_env.base_url}/tenants/acme/webhook",
        params={"token": action_env.token},
        content=b"{oops",
    )
    assert bad.status_code == 400
    assert "oops" not in bad.text


def metrics(env: ActionEnv, token: str | None = METRICS_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{env.base_url}/metrics", headers=headers)


def test_metrics_count_calls_by_outcome(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    run_action(action_env, order_id="1")
    text = metrics(action_env).text
    assert 'webhook_calls_total{action="order_status",outcome="ok",tenant="acme"}' in text
    store = action_env.store
    count = sum(len(store.catalog.list(tenant.name)) for tenant in store.accounts.list_tenants())
    assert f"webhook_definitions {count}.0" in text


def test_metrics_time_rasas_calls_by_action(action_env: ActionEnv) -> None:
    """Each call Rasa makes is counted and timed under the action it ran (bench turns reads
    them); one the dispatch does not serve is not, so the labels stay few."""
    series = 'action_server_request_seconds_count{action="action_webhook",tenant="acme"} '

    def counted() -> float:
        lines = [line for line in metrics(action_env).text.splitlines() if line.startswith(series)]
        return float(lines[0].removeprefix(series)) if lines else 0.0

    action_env.put("order_status")
    before = counted()
    run_action(action_env, order_id="1")
    run_action(action_env, order_id="2")
    call = calling("order_status", {})
    call["next_action"] = "action_nobody_knows"
    assert action_env.call(call).status_code == 404
    assert counted() == before + 2
    assert "action_nobody_knows" not in metrics(action_env).text


@pytest.mark.parametrize("token", [None, "wrong-token-of-some-length", METRICS_TOKEN + "x"])
def test_metrics_need_their_token_and_health_names_nothing(
    action_env: ActionEnv, token: str | None
) -> None:
    action_env.put("order_status")
    refused = metrics(action_env, token)
    assert refused.status_code == 401
    assert "acme" not in refused.text
    assert refused.headers["www-authenticate"] == "Bearer"
    health = httpx.get(f"{action_env.base_url}/health").json()
    assert set(health) == {"status", "version"}


def test_names_only_in_a_request_get_no_series_and_forge_no_log_line(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status")
    for number in range(5):
        name = f"made_up_{number}\nINFO actions.calls: webhook_call tenant=acme action=forged"
        # Named by the dispatch's slot, or (a model older than the dispatch) called itself.
        call = calling(name)
        if number % 2:
            call["next_action"] = name
            call["domain"]["actions"] = [*call["domain"].get("actions", []), name]
        response = action_env.call(call)
        assert response.status_code == 200, response.text
    text = metrics(action_env).text
    assert "made_up" not in text
    assert 'action="(unknown)",outcome="not_configured",tenant="acme"' in text
    log = action_env.log_path.read_text()
    assert "made_up_0\\nINFO" in log  # escaped, on the line it belongs to
    forged = "INFO actions.calls: webhook_call tenant=acme action=forged"
    assert not [line for line in log.splitlines() if line.startswith(forged)]


def test_logs_have_one_line_per_call_and_no_secret(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    run_action(action_env, order_id="98765")
    log = action_env.log_path.read_text()
    assert "webhook_call tenant=acme action=order_status status=200 category=ok" in log
    assert CANARY not in log
    assert "98765" not in log  # argument values are not logged


def test_a_header_no_key_can_open_gets_a_polite_answer_and_no_call(
    action_env: ActionEnv,
) -> None:
    from sqlalchemy import text

    action_env.put("order_status")
    before = len(action_env.webhook.requests)
    with action_env.store.engine.begin() as connection:
        connection.execute(text("UPDATE webhook_headers SET value_encrypted = 'gAAAAAbroken'"))
        connection.execute(text("UPDATE tenants SET version = version + 1"))
    action_env.wait_refreshed()
    assert "can't reach" in texts(run_action(action_env, order_id="1"))[0]
    assert len(action_env.webhook.requests) == before
    assert "cannot build the request" in action_env.log_path.read_text()


def test_a_result_field_named_like_an_argument_cannot_break_the_reply(
    action_env: ActionEnv,
) -> None:
    """A webhook's keys are outside data: 'self' used to crash utter_message with a 500."""
    from actions._replies import result_response

    arguments = result_response(
        {"responses": {"utter_x_result": [{"text": "{status}"}]}},
        "x",
        {"self": "s", "text": "t", "status": "ok"},
        truncated=False,
    )
    from rasa_sdk.executor import CollectingDispatcher

    CollectingDispatcher().utter_message(**arguments)
    assert arguments["status"] == "ok"
    assert arguments["result_self"] == "s"


def test_an_unexpected_failure_still_answers_politely(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    call = calling("order_status", {"order_id": "1"})
    # A session start whose time is no number: breaks conversation_of deep inside the action.
    call["tracker"]["events"].append({"event": "session_started", "timestamp": "noon"})
    response = action_env.call(call)
    assert response.status_code == 200
    assert "can't reach" in texts(response)[0]
    assert "unexpected" in action_env.log_path.read_text()
