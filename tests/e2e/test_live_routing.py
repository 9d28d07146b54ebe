"""An action saved through the admin API is used by every Rasa replica within seconds, with no
training, no reload and no shell: the live router in Rasa's NLU and the generic dispatch.

The model was trained once, before the action existed (the session's assistant).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin.conftest import free_port
from tests.e2e.conftest import RASA_RUN, ROOT, Assistant, _start, answer, new_sender, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

GIFT_CARD = "gift_card_balance"
PARAPHRASE = "how much money is left on my gift card?"
DESCRIPTION = "Check the balance of a gift card"
EXAMPLES = ["what's left on my gift card", "gift card balance"]
#: Shares no word with the action's name, description or examples: routed by meaning.
BY_MEANING = "how much credit remains for this voucher from grandma?"


def words(*texts: str) -> set[str]:
    return {
        word for text in texts for word in re.findall(r"[a-z']+", text.lower().replace("_", " "))
    }


def routed_to(assistant: Assistant, rasa_url: str, text: str) -> str | None:
    """The action Rasa's NLU routes ``text`` to (``/model/parse``), without a conversation."""
    response = httpx.post(
        f"{rasa_url}/model/parse",
        params={"token": assistant.rasa_token},
        json={"text": text},
        timeout=30,
    )
    response.raise_for_status()
    routing = response.json().get("webhook_routing") or {}
    action = routing.get("action")
    return action if isinstance(action, str) else None


def seconds_until_routed(
    assistant: Assistant, rasa_url: str, text: str, action: str | None, timeout: float
) -> float:
    started = time.monotonic()
    while routed_to(assistant, rasa_url, text) != action:
        if time.monotonic() - started > timeout:
            pytest.fail(f"{text!r} was not routed to {action} within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def replica(assistant: Assistant) -> Iterator[str]:
    """A second Rasa on the same model and action server, started before the action exists."""
    url = assistant.start_rasa(
        "rasa-live-2",
        "action_endpoint:\n"
        f"  url: {assistant.actions_url}/tenants/demo/webhook\n"
        f"  token: {assistant.action_token}\n",
    )
    yield url
    process = assistant.processes.pop("rasa-live-2")
    process.terminate()
    process.wait(timeout=30)


def test_a_saved_action_is_used_at_once_on_every_replica_without_training(
    assistant: Assistant, replica: str
) -> None:
    assert routed_to(assistant, assistant.rasa_url, PARAPHRASE) is None
    assistant.store.catalog.create(
        "demo",
        {
            "name": GIFT_CARD,
            "description": DESCRIPTION,
            "url": f"{assistant.demo_url}/giftcards/balance",
            "method": "POST",
            "parameters": [
                {"name": "card_number", "type": "integer", "description": "the gift card number"}
            ],
            "examples": EXAMPLES,
        },
        actor="e2e",
    )
    try:
        waited = seconds_until_routed(assistant, assistant.rasa_url, PARAPHRASE, GIFT_CARD, 10)
        print(f"saved -> routed on the first replica in {waited:.2f} s")
        # Asked, typed, re-asked, answered from the webhook.
        sender = new_sender()
        assert assistant.say(sender, PARAPHRASE) == [
            "Please tell me the gift card number (a whole number)."
        ]
        assert "whole number" in answer(assistant.say(sender, "the blue one"))
        assert answer(assistant.say(sender, "#123456")) == "Gift card 123456 has 64.56 EUR left."
        # The same on the second replica, which shares nothing with the first but the server.
        seconds_until_routed(assistant, replica, PARAPHRASE, GIFT_CARD, 10)
        other = new_sender()
        assert "gift card number" in answer(assistant.say_to(replica, other, PARAPHRASE))
        assert "64.56 EUR" in answer(assistant.say_to(replica, other, "123456"))
        # By meaning, on both replicas: no word in common with what the operator wrote.
        assert not words(BY_MEANING) & words(GIFT_CARD, DESCRIPTION, *EXAMPLES)
        for rasa in (assistant.rasa_url, replica):
            assert routed_to(assistant, rasa, BY_MEANING) == GIFT_CARD, rasa
        assert "gift card number" in answer(assistant.say_to(replica, new_sender(), BY_MEANING))
        # A number in the request is taken, for the action's only numeric parameter.
        assert "has 12.34 EUR left" in answer(
            assistant.say(new_sender(), "balance of gift card 1234 please")
        )

        assistant.store.catalog.update("demo", GIFT_CARD, {"enabled": False}, actor="e2e")
        assistant.wait_served()  # the router keeps routing it; the action server says it is off
        assert assistant.say(new_sender(), PARAPHRASE) == [
            "Sorry, that feature is switched off at the moment."
        ]
    finally:
        assistant.store.catalog.delete("demo", GIFT_CARD, actor="e2e")
    seconds_until_routed(assistant, assistant.rasa_url, PARAPHRASE, None, 10)
    reply = answer(assistant.say(new_sender(), PARAPHRASE))
    assert "Look up the status of an order" in reply, reply  # the help lists what is there
    assert "gift card" not in reply.lower()


def test_a_value_named_in_the_request_is_not_asked_for(assistant: Assistant) -> None:
    # city has allowed values: "Lisbon" in the request is taken, nothing is asked.
    assert answer(assistant.say(new_sender(), "what are the opening hours in lisbon?")) == (
        "Our Lisbon store is open today from 10:00 to 22:00."
    )
    sender = new_sender()
    assert "Berlin, Lisbon, Paris or London" in answer(assistant.say(sender, "store hours"))
    # Not an allowed value: asked again (with the choices, or as no answer at all).
    assert assistant.say(sender, "Madrid")[-1].startswith(
        ("Please choose one of", "Please tell me the city")
    )
    assert "Paris store is open" in answer(assistant.say(sender, "paris"))


def test_unrelated_messages_are_not_routed(assistant: Assistant) -> None:
    for text in ("what's the capital of Italy?", "I want to speak to a manager", "lol"):
        assert routed_to(assistant, assistant.rasa_url, text) is None, text


def test_with_the_skill_off_requests_are_answered_politely_and_nothing_is_called(
    assistant: Assistant,
) -> None:
    assistant.store.accounts.set_skill("demo", False, actor="e2e")
    try:
        assistant.wait_served()
        reply = assistant.say(new_sender(), "where is my order #4521?")
        assert reply == ["Sorry, that feature is switched off at the moment."]
    finally:
        assistant.store.accounts.set_skill("demo", True, actor="e2e")
        assistant.wait_served()
    assert "Order #4521" in answer(assistant.say(new_sender(), "where is my order #4521?"))


def test_a_model_whose_router_files_were_changed_does_not_load(
    assistant: Assistant, tmp_path: Path
) -> None:
    installed = Path(
        subprocess.run(
            [str(ROOT / ".venv-bot/bin/python"), "-c",
             "from routing._encoder import model_directory; print(model_directory())"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    changed = tmp_path / "model"
    shutil.copytree(installed, changed, ignore=shutil.ignore_patterns("model.safetensors"))
    (changed / "model.safetensors").symlink_to(installed / "model.safetensors")
    tokenizer = changed / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"[UNK]"', '"[UNKNOWN]"', 1))
    port = free_port()
    (assistant.project / "tampered.endpoints.yml").write_text(
        f"action_endpoint:\n  url: {assistant.actions_url}/tenants/demo/webhook\n"
    )
    name = "rasa-tampered"
    assistant.processes[name] = process = _start(
        name,
        [*RASA_RUN, "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m", str(assistant.model),
         "--endpoints", "tampered.endpoints.yml"],
        assistant.env | {"RASA_TOKEN": assistant.rasa_token,
                         "WEBHOOKS_ROUTING_MODEL_DIR": str(changed)},
        assistant.logs, cwd=assistant.project,
    )  # fmt: skip
    try:
        log = assistant.logs / f"{name}.log"
        deadline = time.monotonic() + 240
        while "Could not load model" not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert f"tokenizer.json in {changed} is not the pinned file" in log.read_text()
        wait_for(f"http://127.0.0.1:{port}/", process, log, 60)
        status = httpx.get(
            f"http://127.0.0.1:{port}/status", params={"token": assistant.rasa_token}, timeout=10
        )
        assert status.status_code == 409, status.text  # Rasa up, with no model: nothing answered
    finally:
        assistant.processes.pop(name)
        process.terminate()
        process.wait(timeout=30)
