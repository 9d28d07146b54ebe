"""Training is optional but still helps: a new action routed live can be added to the trained
model (sync, train, reload), whose intent then routes it into the same generic dispatch."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Assistant, new_sender

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


def test_a_live_action_joins_the_trained_model_after_sync_train_reload(
    assistant: Assistant,
) -> None:
    rasa = assistant.processes["rasa"]
    assistant.store.catalog.create(
        "demo",
        {
            "name": "bargain_hunt",
            "description": "Find bargains",
            "url": f"{assistant.demo_url}/offers",
            "method": "GET",
            "parameters": [
                {"name": "category", "type": "string", "description": "a category",
                 "required": False},
            ],
        },
        actor="e2e",
    )  # fmt: skip
    check = assistant.bot("check", "--model", str(assistant.model))
    assert check.returncode == 0, check.stdout  # served live: no retrain needed
    assert "routed live, not in the trained model: bargain_hunt" in check.stdout
    model = assistant.train()
    reload = assistant.bot(
        "reload", "--rasa", assistant.rasa_url, "--token", assistant.rasa_token,
        "--model", str(model),
    )  # fmt: skip
    assert reload.returncode == 0, reload.stdout + reload.stderr
    check = assistant.bot("check", "--model", str(model))
    assert check.returncode == 0
    assert "up to date" in check.stdout
    parsed = httpx.post(
        f"{assistant.rasa_url}/model/parse",
        params={"token": assistant.rasa_token},
        json={"text": "find bargains"},
        timeout=30,
    ).json()
    assert parsed["webhook_routing"]["model_intent"] == "webhook_bargain_hunt"
    assert (parsed["intent"]["name"], parsed["webhook_routing"]["action"]) == (
        "webhook",
        "bargain_hunt",
    )
    reply = " ".join(assistant.say(new_sender(), "find bargains"))
    assert reply.startswith("Today's offers:")
    assert rasa.poll() is None  # the same Rasa process, never restarted
