"""The correction Rasa 3.6.21 gets when it loads the live router: the action server's answers are
validated against Rasa's own schema with a validator built once, and a bad answer still fails as
Rasa makes it fail. Run in the bot runtime, where Rasa is."""

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
