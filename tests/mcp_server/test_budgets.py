"""The budgets of webhook calls per minute through the tools server: new MCP sessions cost a
tenant its budget, on every server of the tenant."""

from __future__ import annotations

import httpx
import pytest

from tests.actions.conftest import METRICS_TOKEN
from tests.budgets import start_of_a_minute
from tests.mcp_server.conftest import ToolsEnv, connect
from tests.servers import start_server
from webhooks import Category
from webhooks.definitions._budgets import BUDGET_OUTCOME

pytestmark = pytest.mark.asyncio


def _text(result: object) -> str:
    return "".join(block.text for block in result.content)  # type: ignore[attr-defined]


async def test_five_sessions_over_a_budget_of_ten_make_ten_calls(tools_env: ToolsEnv) -> None:
    store = tools_env.store
    store.accounts.create_tenant("swarmed", actor="test")
    store.accounts.set_skill("swarmed", True, actor="test")
    token = store.accounts.issue_tools_token("swarmed", actor="test")
    store.catalog.create("swarmed", tools_env.definition("order_status"), actor="test")
    store.budgets.set_calls_per_minute("swarmed", 10, actor="test")
    # A second server of the same store: the budget is the tenant's, not a server's.
    process, second = start_server("mcp_server", tools_env.env, tools_env.log_path)
    tools_env.processes.append(process)
    tools_env.wait_refreshed()
    tools_env.wait_refreshed(second)
    before = len(tools_env.webhook.requests)
    start_of_a_minute()
    said: list[str] = []
    for session in range(5):
        base_url = (tools_env.base_url, second)[session % 2]
        async with connect(tools_env.url("swarmed", base_url), token) as client:
            for order in range(3):
                result = await client.session.call_tool("order_status", {"order_id": order})
                said.append("refused" if result.isError else "answered")
                if result.isError:
                    assert _text(result) == Category.RATE_LIMITED.sentence
    assert (said.count("answered"), said.count("refused")) == (10, 5)
    assert len(tools_env.webhook.requests) - before == 10
    refused = 0.0
    async with httpx.AsyncClient() as http:
        for base_url in (tools_env.base_url, second):
            metrics = await http.get(
                base_url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            series = (
                f'webhook_calls_total{{action="order_status",outcome="{BUDGET_OUTCOME}",'
                'tenant="swarmed"}'
            )
            refused += sum(
                float(line.split()[1])
                for line in metrics.text.splitlines()
                if line.startswith(series)
            )
    assert refused == 5
