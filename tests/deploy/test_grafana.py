"""deploy/grafana/dashboard.json is a dashboard Grafana imports: its JSON model's required
fields, panels that fit the grid without overlapping, every query on the data source
variable, unique ids and refIds. What the queries read is test_promql.py's."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.tools import DEPLOY

DASHBOARD = DEPLOY / "grafana/dashboard.json"
#: Panel types of Grafana's core (no plugin to install).
PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "bargauge", "table", "text"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def test_the_model_has_what_an_import_needs(dashboard: dict[str, Any]) -> None:
    assert isinstance(dashboard["title"], str)
    assert dashboard["uid"] == "webhook-actions"
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["schemaVersion"] >= 36  # panels' own datasource references
    assert "id" not in dashboard  # the importing Grafana assigns it
    assert isinstance(dashboard["panels"], list)
    assert dashboard["panels"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_panels_have_unique_ids_and_known_types(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        assert panel["title"]


def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["w"] >= 1
        assert grid["h"] >= 1
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_every_query_uses_the_data_source_variable(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            assert "targets" not in panel
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids, panel["title"]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
            assert target["expr"].strip()
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE


def test_every_variable_used_is_defined(dashboard: dict[str, Any]) -> None:
    defined = {variable["name"] for variable in dashboard["templating"]["list"]}
    text = json.dumps(dashboard["panels"]) + json.dumps(dashboard["templating"])
    used = set(re.findall(r"\$\{?([a-z]\w*)", text))
    assert used <= defined, used - defined
