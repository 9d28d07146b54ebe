"""deploy/prometheus: promtool checks the scrape configuration and the rules, and runs the
rules' unit tests, each of which fires and keeps quiet each alert on synthetic series."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import DEPLOY, run, tool

PROMETHEUS = DEPLOY / "prometheus"
#: The secret Prometheus reads its bearer token from, in the deployment.
TOKEN_FILE = "/run/secrets/metrics_token"


@pytest.fixture(scope="module")
def promtool() -> str:
    return tool("promtool", debian="prometheus")


def test_scrape_configuration_passes_promtool(promtool: str, tmp_path: Path) -> None:
    # promtool also checks that the files named exist: the token is a deployment's secret.
    text = (PROMETHEUS / "prometheus.yml").read_text()
    assert TOKEN_FILE in text
    token = tmp_path / "metrics_token"
    token.write_text("a-metrics-token-of-32-characters")
    (tmp_path / "prometheus.yml").write_text(text.replace(TOKEN_FILE, str(token)))
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path)
    done = run(promtool, "check", "config", tmp_path / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout


def test_every_scrape_job_of_ours_sends_the_metrics_token() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"actions", "tools"} <= set(jobs)
    for name in ("actions", "tools"):
        assert jobs[name]["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_FILE}


def test_rules_pass_promtool(promtool: str) -> None:
    done = run(promtool, "check", "rules", PROMETHEUS / "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    done = run(promtool, "test", "rules", "alerts.test.yml", cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _alerts() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [
        rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    ]


def test_every_alert_is_tested_firing_and_quiet() -> None:
    tests: list[dict[str, Any]] = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())[
        "tests"
    ]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    alerts = _alerts()
    assert len(alerts) == len(set(alerts)), "an alert name is used twice"
    assert set(alerts) - fires == set(), "alerts never tested firing"
    assert set(alerts) - quiet == set(), "alerts never tested staying quiet"
    assert (fires | quiet) - set(alerts) == set(), "tests of alerts that do not exist"
