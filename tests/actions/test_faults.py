"""Webhooks that misbehave, as the action server meets them: the user always gets a polite or
the right answer, within the definition's deadline, and the server goes on serving.

Each fault runs in one conversation with a good call after it, so a lost or doubled count of
the conversation's calls shows too.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.actions.conftest import ActionEnv, calling, texts
from tests.servers import calls_counted

GOOD = "/echo"


@pytest.mark.parametrize(
    ("path", "changes", "expected", "within"),
    [
        pytest.param("/reset", {}, "couldn't read", 3, id="reset-mid-body"),
        pytest.param("plain", {}, "can't reach", 3, id="tls-handshake-fails"),
        pytest.param(
            "/drip?every=1", {"method": "GET", "timeout": 2}, "took too long", 3.5,
            id="a-byte-a-second",
        ),
        pytest.param("/endless", {"method": "GET"}, "(The answer was cut short.)", 3, id="endless"),
        pytest.param("/bad-json", {}, '{"text": "cut off', 3, id="invalid-json-claiming-json"),
        pytest.param("/busy", {}, "could not handle", 3, id="429-retry-after"),
        pytest.param("garbage", {}, "couldn't read", 3, id="not-http"),
    ],
)  # fmt: skip
def test_a_misbehaving_webhook_gets_an_answer_in_time_and_nothing_breaks(
    action_env: ActionEnv, path: str, changes: dict[str, Any], expected: str, within: float
) -> None:
    webhook = action_env.webhook
    url = {"plain": webhook.plain_url(), "garbage": webhook.garbage_url()}.get(path)
    action_env.put("order_status", path=path if url is None else GOOD, **changes)
    if url is not None:
        action_env.store.update_webhook(
            "acme", "order_status", {"url": url, "headers": {"X-Api-Key": "k"}}, actor="test"
        )
        action_env.wait_refreshed()
    sender = f"faults-{path.strip('/').split('?')[0]}-{time.monotonic_ns()}"
    started = time.monotonic()
    response = action_env.call(calling("order_status", {"order_id": "1"}, sender=sender))
    took = time.monotonic() - started
    assert response.status_code == 200
    assert expected in " ".join(texts(response))
    assert took < within, took

    # The server goes on: the same conversation's next call is answered from the webhook.
    action_env.put("order_status", path=GOOD)
    again = action_env.call(calling("order_status", {"order_id": "2"}, sender=sender))
    assert texts(again) == ["method: POST; query: []"]
    assert calls_counted(action_env.store.engine, sender) == 2  # once each, the failed one too
