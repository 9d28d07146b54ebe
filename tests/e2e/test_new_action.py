"""A new action added through the admin API reaches the running bot: sync, train, reload."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Assistant, new_sender

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


def test_a_new_action_is_used_after_sync_train_reload_without_restart(
    assistant: Assistant,
) -> None:
    rasa = assistant.processes["rasa"]
    assistant.store.create_webhook(
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
    assert check.returncode == 1, check.stdout  # the model predates the action
    assert "bargain_hunt" in check.stdout
    model = assistant.train()
    reload = assistant.bot(
        "reload", "--rasa", assistant.rasa_url, "--token", assistant.rasa_token,
        "--model", str(model),
    )  # fmt: skip
    assert reload.returncode == 0, reload.stdout + reload.stderr
    assert assistant.bot("check", "--model", str(model)).returncode == 0
    reply = " ".join(assistant.say(new_sender(), "find bargains"))
    assert reply.startswith("Today's offers:")
    assert rasa.poll() is None  # the same Rasa process, never restarted
