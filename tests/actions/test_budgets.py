"""The budgets of webhook calls per minute through the action server: new senders cost a
tenant its budget, the answer is the rate-limit sentence, metrics count the refusals apart,
and a changed budget is live within the cache's refresh."""

from __future__ import annotations

import httpx

from tests.actions.conftest import METRICS_TOKEN, ActionEnv, calling, texts
from tests.budgets import start_of_a_minute
from webhooks import Category
from webhooks.definitions._budgets import BUDGET_OUTCOME


def flooded_tenant(env: ActionEnv, tenant: str, *, calls_per_minute: int) -> str:
    """A new tenant with the skill on, action ``order_status`` and the budget given; its
    action token, once the server has it all."""
    store = env.store
    store.accounts.create_tenant(tenant, actor="test")
    store.accounts.set_skill(tenant, True, actor="test")
    token = store.accounts.issue_action_token(tenant, actor="test")
    store.catalog.create(tenant, env.definition("order_status"), actor="test")
    store.budgets.set_calls_per_minute(tenant, calls_per_minute, actor="test")
    env.wait_refreshed()
    return token


def answers(env: ActionEnv, tenant: str, token: str, senders: list[str], name: str) -> list[str]:
    """The first text the bot says to each sender asking ``name``, one call each."""
    said = []
    for sender in senders:
        response = env.call(
            calling(name, {"order_id": "1"}, sender=sender), tenant=tenant, token=token
        )
        said.append(texts(response)[0])
    return said


def metrics(env: ActionEnv) -> str:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    return httpx.get(f"{env.base_url}/metrics", headers=headers).text


def test_twelve_new_senders_over_a_budget_of_ten_get_ten_answers(action_env: ActionEnv) -> None:
    token = flooded_tenant(action_env, "flooded", calls_per_minute=10)
    before = len(action_env.webhook.requests)
    start_of_a_minute()
    said = answers(action_env, "flooded", token, [f"sender-{n}" for n in range(12)], "order_status")
    assert [s.startswith("method: POST") for s in said] == [True] * 10 + [False] * 2
    assert said[10:] == [Category.RATE_LIMITED.sentence] * 2
    assert len(action_env.webhook.requests) - before == 10  # nothing sent for the refused
    series = (
        f'webhook_calls_total{{action="order_status",outcome="{BUDGET_OUTCOME}",tenant="flooded"}}'
    )
    assert f"{series} 2.0" in metrics(action_env)
    assert 'outcome="rate_limited",tenant="flooded"' not in metrics(action_env)


def test_an_actions_own_budget_and_its_change_are_live(action_env: ActionEnv) -> None:
    token = flooded_tenant(action_env, "limited", calls_per_minute=100)
    store = action_env.store
    store.catalog.create(
        "limited", action_env.definition("lookup", calls_per_minute=3), actor="test"
    )
    action_env.wait_refreshed()
    start_of_a_minute()
    senders = [f"s{n}" for n in range(4)]
    said = answers(action_env, "limited", token, senders, "lookup")
    assert said[3] == Category.RATE_LIMITED.sentence
    assert all(s.startswith("method: POST") for s in said[:3])
    # Another action of the tenant is not held back by this one's budget.
    other = answers(action_env, "limited", token, ["s9"], "order_status")
    assert other[0].startswith("method: POST")
    # Raised by an admin: live on the server within its refresh, in the same window.
    store.catalog.update("limited", "lookup", {"calls_per_minute": 5}, actor="test")
    action_env.wait_refreshed()
    said = answers(action_env, "limited", token, [f"t{n}" for n in range(3)], "lookup")
    assert said[2] == Category.RATE_LIMITED.sentence
    assert all(s.startswith("method: POST") for s in said[:2])
