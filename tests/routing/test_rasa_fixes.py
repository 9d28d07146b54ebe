"""The corrections Rasa 3.6.21 gets when it loads the live router (routing/_rasa_fixes.py): each
keeps what Rasa does and changes only its cost. Run in the bot runtime, where Rasa is."""

from __future__ import annotations

import pytest

from tests.routing.test_encoder import in_bot

pytestmark = [pytest.mark.rasa]

PROGRAM = """
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

original = RemoteAction._validate_action_result
import routing.component  # applies the correction, as Rasa loading the pipeline does
from routing import _rasa_fixes

action = RemoteAction("action_webhook", None)
good = {
    "events": [{"event": "slot", "name": "webhook_action", "value": None}],
    "responses": [{"text": "Order #4521 has shipped."}],
}
bad = [
    {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
    {"events": "not a list"},
    {"responses": [{"text": "hi"}, "not an object"]},
]


def failure(validate, answer):
    try:
        validate(action, answer)
    except ValidationError as exc:
        return exc.message
    return None


print(json.dumps({
    "replaced": RemoteAction._validate_action_result is not original,
    "again": _rasa_fixes.apply(),
    "good": RemoteAction._validate_action_result(action, good),
    "bad": [failure(RemoteAction._validate_action_result, answer) for answer in bad],
    "rasa_says": [failure(original, answer) for answer in bad],
}))
"""


def test_answers_are_validated_as_rasa_validates_them() -> None:
    result = in_bot(PROGRAM)
    assert result["replaced"]
    assert result["again"]
    assert result["good"] is True
    assert all(message is not None for message in result["bad"])
    assert result["bad"] == result["rasa_says"]  # the same error, in Rasa's words
    assert all("Failed to validate Action server response" in m for m in result["bad"])


SESSIONS = """
import asyncio, gc, json
import aiohttp
import routing.component
from rasa.utils.endpoints import EndpointConfig

endpoint = EndpointConfig("http://127.0.0.1:5055/webhook", headers={"X-Test": "1"})
other = EndpointConfig("http://127.0.0.1:5055/webhook")
with_ca = EndpointConfig("https://127.0.0.1:5055/webhook", cafile="/nonexistent/ca.pem")


async def twice():
    async with endpoint.session() as first:
        pass
    async with endpoint.session() as second:
        pass
    async with other.session() as third:
        pass
    own_ca = [await with_ca.session().__aenter__() for _ in range(2)]
    # An endpoint that goes away takes its sessions along: a new one never gets them.
    alice = {"username": "alice", "password": "a"}
    gone = EndpointConfig("http://127.0.0.1:5055/webhook", basic_auth=alice, headers={"X-A": "1"})
    async with gone.session() as old:
        pass
    del gone
    gc.collect()
    strangers = []
    for _ in range(100):
        newcomer = EndpointConfig("http://127.0.0.1:5055/webhook", headers={"X-B": "1"})
        async with newcomer.session() as new:
            theirs = dict(new.headers) != {"X-B": "1"} or new.auth is not None
            strangers.append(new is old or theirs)
        del newcomer
    return first, second, third, own_ca, any(strangers)


first, second, third, own_ca, strangers = asyncio.run(twice())
again, *_ = asyncio.run(twice())  # another loop
print(json.dumps({
    "kept": first is second and not first.closed,
    "per_endpoint": first is not third,
    "headers": dict(first.headers),
    "per_loop": again is not first,
    "no_cookies": isinstance(first.cookie_jar, aiohttp.DummyCookieJar),
    "no_bound": first.connector.limit == 0,
    "cafile_as_rasa": own_ca[0] is not own_ca[1],
    "strangers": strangers,
}))
"""


def test_each_endpoint_keeps_one_session_per_loop() -> None:
    """Rasa's calls to the action server reuse their connections: a session with Rasa's
    headers is kept per endpoint and event loop instead of closed after each call; it keeps no
    cookies and no bound on the calls in flight, as a session per call did; an endpoint with
    its own CA file keeps Rasa's way; a new endpoint never gets one that went away."""
    result = in_bot(SESSIONS)
    assert result == {
        "kept": True,
        "per_endpoint": True,
        "headers": {"X-Test": "1"},
        "per_loop": True,
        "no_cookies": True,
        "no_bound": True,
        "cafile_as_rasa": True,
        "strangers": False,
    }


EVENT_TYPES = """
import json
from rasa.shared.core.events import Event, SlotSet, UserUttered
import routing.component

def unknown():
    try:
        Event.resolve_by_type("no_such_event")
    except ValueError as exc:
        return str(exc)

print(json.dumps({
    "slot": Event.resolve_by_type("slot") is SlotSet,
    "again": Event.resolve_by_type("slot") is SlotSet,
    "user": Event.resolve_by_type("user") is UserUttered,
    "default": Event.resolve_by_type("no_such_event", SlotSet) is SlotSet,
    "unknown": unknown(),
    "topic": Event.resolve_by_type("topic"),
    "read": Event.from_parameters({"event": "slot", "name": "city", "value": "Berlin"}).value,
}))
"""


def test_event_types_are_found_as_rasa_finds_them() -> None:
    result = in_bot(EVENT_TYPES)
    assert result == {
        "slot": True,
        "again": True,
        "user": True,
        "default": True,
        "unknown": "Unknown event name 'no_such_event'.",
        "topic": None,
        "read": "Berlin",
    }


FREEZE = """
import gc, json, weakref
from routing import _rasa_fixes


class Node:
    pass


before = gc.get_freeze_count()
# A cycle made while the first model loads and dropped when it is replaced.
old = Node()
old.me = old
alive = weakref.ref(old)
_rasa_fixes.freeze_loaded()
first = gc.get_freeze_count()
del old
_rasa_fixes.freeze_loaded()  # the next model: unfrozen, collected, frozen once more
second = gc.get_freeze_count()
print(json.dumps({
    "before": before, "first": first, "second": second, "replaced_collected": alive() is None,
}))
"""


def test_what_a_loaded_model_made_is_frozen_once() -> None:
    """After a model loads, what exists is out of the cyclic collector's walks; a reload
    unfreezes first, so nothing is frozen twice and a replaced model's cycles can go."""
    result = in_bot(FREEZE)
    assert result["before"] == 0
    assert result["first"] > 10_000
    assert abs(result["second"] - result["first"]) < result["first"] // 10
    assert result["replaced_collected"]
