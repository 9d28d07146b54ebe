"""What operators shape in the conversation, over HTTP: reply templates, the service's own
words, values from the conversation's context and values remembered from earlier answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.conftest import (
    CANARY,
    ActionEnv,
    answered_at_once,
    calling,
    slot_events,
    starting,
    texts,
)
from webhooks import MEMORY_SLOT

TEMPLATES = {
    "success": "Order #{{ order_id }}: {{ result.method }} came back.",
    "not_found": "I couldn't find order #{{ order_id }} ({{ message }}).",
    "rejected": "Refused with {{ status }}.",
    "disabled": "Order lookups are off on Sundays.",
}
MEMORY_DOMAIN = {"slots": {MEMORY_SLOT: {"type": "any"}}}
#: What the bot says from /echo's answer to a POST: proof the webhook was called in that turn.
ECHOED = "method: POST; query: []"


def run(env: ActionEnv, values: dict[str, Any], **kwargs: Any) -> list[str]:
    call = calling("order_status", values, **kwargs)
    return texts(env.call(call))


def test_a_success_template_says_the_values_and_the_result(action_env: ActionEnv) -> None:
    action_env.put("order_status", replies=TEMPLATES)
    assert run(action_env, {"order_id": 4521}) == ["Order #4521: POST came back."]


def test_a_not_found_template_says_the_service_failed_with_its_values(
    action_env: ActionEnv,
) -> None:
    action_env.put("order_status", path="/status/404", replies=TEMPLATES)
    assert run(action_env, {"order_id": 12}) == ["I couldn't find order #12 (nope)."]
    action_env.put("order_status", path="/status/400", replies=TEMPLATES)
    assert run(action_env, {"order_id": 12}) == ["Refused with 400."]


def test_a_disabled_action_says_its_operators_words(action_env: ActionEnv) -> None:
    action_env.put("order_status", replies=TEMPLATES, enabled=False)
    assert run(action_env, {"order_id": 12}) == ["Order lookups are off on Sundays."]


def test_without_templates_the_default_sentences_stay(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/status/404")
    assert run(action_env, {"order_id": 12}) == [
        "Sorry, the service couldn't find what you asked for."
    ]


@pytest.mark.parametrize(
    ("switch", "expected"),
    [
        pytest.param(True, "nope", id="on-says-the-service"),
        pytest.param(False, "Sorry, the service could not handle that request.", id="off"),
    ],
)
def test_the_services_own_words_only_when_switched_on(
    action_env: ActionEnv, switch: bool, expected: str
) -> None:
    action_env.put("order_status", path="/status/422", service_messages=switch)
    assert run(action_env, {"order_id": 12}) == [expected]


def test_a_5xx_answer_is_never_said_even_when_switched_on(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/status/500", service_messages=True)
    assert run(action_env, {"order_id": 12}) == [
        "Sorry, I can't reach that service right now. Please try again later."
    ]


def test_a_broken_template_falls_back_to_the_default_reply(action_env: ActionEnv) -> None:
    # Valid when saved, but the data is not what it expected: a sum of an object.
    action_env.put("order_status", replies={"success": "{{ result | sum }}"})
    [said] = run(action_env, {"order_id": 4521})
    assert said == "method: POST; query: []"
    assert "the success reply failed" in action_env.log_path.read_text()


def test_a_template_never_shows_a_header_value_the_service_echoed(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/headers", replies={"success": "{{ result }}"})
    [said] = run(action_env, {"order_id": 4521})
    assert "x-api-key" in said.lower()
    assert CANARY not in said


def test_a_parameter_from_the_sender_id_is_not_asked(action_env: ActionEnv) -> None:
    action_env.put(
        "order_status",
        parameters=[
            {"name": "order_id", "type": "integer", "description": "your order number"},
            {"name": "customer", "description": "who asks", "source": "sender_id"},
        ],
    )
    response = action_env.call(starting("order_status", "where is order 4521", sender="alice"))
    # Nothing asked: the webhook gets the sender id with the order number, in the same turn.
    assert answered_at_once(action_env, response) == {"order_id": 4521, "customer": "alice"}
    assert texts(response) == [ECHOED]


def test_a_parameter_from_a_slot_is_asked_when_the_slot_is_empty(action_env: ActionEnv) -> None:
    action_env.put(
        "order_status",
        parameters=[{"name": "account", "description": "your account", "source": "slot:acct"}],
    )
    call = starting("order_status", "my order")
    events = slot_events(action_env.call(call))
    assert events["webhook_asking"] == "account"
    call = starting("order_status", "my order")
    call["tracker"]["slots"]["acct"] = "A-7"
    response = action_env.call(call)
    assert answered_at_once(action_env, response) == {"account": "A-7"}
    assert texts(response) == [ECHOED]


def test_a_value_given_earlier_is_reused_and_said(action_env: ActionEnv) -> None:
    action_env.put("order_status")
    call = calling("order_status", {"order_id": 4521}, sender="bob")
    call["domain"].setdefault("slots", {}).update(MEMORY_DOMAIN["slots"])
    memory = slot_events(action_env.call(call))[MEMORY_SLOT]
    assert memory["values"] == {"order_id": {"type": "integer", "value": 4521}}

    # The next request in the same conversation needs an order number: it is not asked again.
    start = starting("order_status", "and when does it arrive?", sender="bob")
    start["tracker"]["slots"][MEMORY_SLOT] = memory
    response = action_env.call(start)
    assert answered_at_once(action_env, response) == {"order_id": 4521}
    assert texts(response) == [
        "I'm using 4521 for your order number, as you told me earlier.",
        ECHOED,
    ]

    # Another conversation (a new session) remembers nothing.
    other = starting("order_status", "and when does it arrive?", sender="bob")
    other["tracker"]["slots"][MEMORY_SLOT] = memory | {"conversation": "bob:1.000000"}
    assert slot_events(action_env.call(other))["webhook_asking"] == "order_id"


def test_the_operators_template_wins_over_the_designers_response(action_env: ActionEnv) -> None:
    """Documented order: the operator's words are the live ones; a designer's response
    changes only with a retrain."""
    action_env.put("order_status", replies={"success": "From the operator: {{ result.method }}"})
    call = calling("order_status", {"order_id": 1})
    call["domain"].setdefault("responses", {})["utter_order_status_result"] = [{"text": "x"}]
    assert texts(action_env.call(call)) == ["From the operator: POST"]


def test_a_value_the_webhook_refused_is_not_remembered(action_env: ActionEnv) -> None:
    action_env.put("order_status", path="/status/404")
    call = calling("order_status", {"order_id": 12}, sender="carol")
    call["domain"].setdefault("slots", {}).update(MEMORY_DOMAIN["slots"])
    assert MEMORY_SLOT not in slot_events(action_env.call(call))


def test_the_users_words_never_replace_a_value_from_the_channel(action_env: ActionEnv) -> None:
    action_env.put(
        "order_status",
        parameters=[{"name": "customer", "description": "who asks", "source": "sender_id"}],
    )
    entity = [{"entity": "customer", "value": "mallory", "start": 0, "end": 7}]
    response = action_env.call(
        starting("order_status", "orders of mallory", entity, sender="alice")
    )
    assert answered_at_once(action_env, response) == {"customer": "alice"}
    assert texts(response) == [ECHOED]
