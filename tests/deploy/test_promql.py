"""Every PromQL expression of deploy/ (alerts.yml, the Grafana dashboard) reads only metrics,
labels and label values our servers really expose: scraped from a real action server, after
one real webhook call and calls of a failing one until its calls are paused, and a real tools
server."""

from __future__ import annotations

import re

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.actions.conftest import METRICS_TOKEN, ActionEnv, calling, store_and_webhook
from tests.deploy.promql import alert_expressions, dashboard_expressions, select
from tests.deploy.tools import DEPLOY
from tests.servers import start_server, stop
from webhooks import FAILURES_TO_PAUSE, PAUSED_OUTCOME, Category
from webhooks.definitions._budgets import BUDGET_OUTCOME

#: Every outcome a call is counted with: ok, each failure category, over the budget, paused.
OUTCOMES = {"ok", BUDGET_OUTCOME, PAUSED_OUTCOME, *(category.value for category in Category)}
#: The series that appear only once a call was retried, or an action's calls paused.
DELIVERY_SERIES = {"webhook_retries_total", "webhook_pauses_total", "webhook_paused"}
#: Labels Prometheus gives every scraped series, and the series it makes itself.
TARGET_LABELS = {"job", "instance"}
SCRAPE_SERIES = {"up": set[str]()}
EXPRESSIONS = {**alert_expressions(), **dashboard_expressions()}


@pytest.fixture(scope="module")
def exposed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[str]]:
    """Each series name the action and tools servers expose, with its label names."""
    tmp = tmp_path_factory.mktemp("scraped")
    with store_and_webhook("sqlite", tmp, request) as (store, webhook, env):
        token = store.accounts.issue_action_token("acme", actor="test")
        actions, base_url = start_server("actions", env, tmp / "actions.log")
        tools, tools_url = start_server("mcp_server", env, tmp / "tools.log")
        try:
            action_env = ActionEnv(base_url, store, token, webhook, tmp / "a.log", "")
            action_env.put("order_status")
            # One call that reached the webhook: the counter and the histogram get series.
            answered = action_env.call(calling("order_status", {"order_id": 1}))
            assert answered.status_code == 200, answered.text
            # A GET answered 503: each call is retried, fails, and enough of them in a row
            # pause the action's calls; the next is answered without being sent.
            action_env.put("flaky", path="/status/503", method="GET")
            for _ in range(FAILURES_TO_PAUSE + 1):
                failed = action_env.call(calling("flaky", {"order_id": 1}))
                assert failed.status_code == 200, failed.text
            series: dict[str, set[str]] = {}
            for url in (base_url, tools_url):
                scraped = httpx.get(
                    f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                )
                assert scraped.status_code == 200, scraped.text
                for family in text_string_to_metric_families(scraped.text):
                    for sample in family.samples:
                        series.setdefault(sample.name, set()).update(sample.labels)
        finally:
            stop(actions)
            stop(tools)
    assert "webhook_calls_total" in series, "the call was not counted"
    missing = DELIVERY_SERIES - set(series)
    assert not missing, f"never counted: {sorted(missing)}"
    return series


def _jobs() -> set[str]:
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    return {job["job_name"] for job in config["scrape_configs"]}


@pytest.mark.parametrize("expr", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_expression_reads_only_what_the_servers_expose(
    expr: str, exposed: dict[str, set[str]]
) -> None:
    known = exposed | SCRAPE_SERIES
    selection = select(expr)
    assert selection.metrics, "selects no metric"
    read: set[str] = set()
    for metric in selection.metrics:
        assert metric in known, f"{metric} is not exposed: {sorted(known)}"
        read |= known[metric] | TARGET_LABELS
    for metric, label, operator, value in selection.matchers:
        assert label in known[metric] | TARGET_LABELS, f"{metric} has no label {label}"
        values = {"outcome": OUTCOMES, "job": _jobs()}.get(label)
        if values is None or value == ".*":
            continue
        named = set(value.split("|")) if operator in {"Re", "NotRe"} else {value}
        assert all(re.fullmatch(r"[a-z_]+", name) for name in named), value
        assert named <= values, f"{label} is never {sorted(named - values)}"
    assert selection.grouping <= read, f"groups by {selection.grouping - read}"
