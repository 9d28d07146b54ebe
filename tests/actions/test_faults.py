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
from webhooks import FAILURES_TO_PAUSE, FIRST_PAUSE

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
        action_env.store.catalog.update(
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


def test_a_service_failing_again_and_again_is_paused_then_served_again(
    action_env: ActionEnv,
) -> None:
    """Five 500s in a row pause the action: the next users hear at once that the service is
    unavailable, and nothing is sent; after the pause, a call finds the service back and
    users are served from it again."""
    action_env.webhook.server.scripts["flaky"] = [("status", 500)] * FAILURES_TO_PAUSE
    action_env.put("order_status", path="/script/flaky")
    sent = len(action_env.webhook.requests)
    for turn in range(FAILURES_TO_PAUSE):
        response = action_env.call(calling("order_status", {"order_id": "1"}, sender=f"f{turn}"))
        assert "can't reach" in " ".join(texts(response))

    started = time.monotonic()
    pauses_seen = []
    while time.monotonic() - started < FIRST_PAUSE - 1:
        asked = time.monotonic()
        response = action_env.call(calling("order_status", {"order_id": "1"}, sender="during"))
        pauses_seen.append(time.monotonic() - asked)
        assert "can't reach" in " ".join(texts(response))
        if action_env.store.looks.pauses("acme"):
            break
    assert max(pauses_seen) < 0.5  # at once, not after the 2 s timeout
    assert len(action_env.webhook.requests) == sent + FAILURES_TO_PAUSE  # nothing sent
    (pause,) = action_env.store.looks.pauses("acme").values()
    assert (pause.failures, pause.reason) == (FAILURES_TO_PAUSE, "unavailable")

    time.sleep(max(0.0, FIRST_PAUSE - (time.monotonic() - started)) + 0.2)
    response = action_env.call(calling("order_status", {"order_id": "1"}, sender="after"))
    assert texts(response) == [f"attempt: {sent + FAILURES_TO_PAUSE + 1}"]
    deadline = time.monotonic() + 5
    while action_env.store.looks.pauses("acme") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert action_env.store.looks.pauses("acme") == {}
