"""The PromQL of deploy/: every expression of the alerts and the dashboard, and what each
selects (metric names, label matchers, grouping labels), read by promql-parser (Prometheus'
grammar) rather than by pattern."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import promql_parser
import yaml

from tests.deploy.tools import DEPLOY

#: Grafana's variables, replaced by what they stand for so the expression parses.
_GRAFANA = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


@dataclass
class Selection:
    """What an expression reads: vector selectors and the labels it groups or matches by."""

    metrics: list[str] = field(default_factory=list)
    #: (metric, label, operator, value) of every label matcher.
    matchers: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: Labels named in ``by``/``without``/``on``/``ignoring``.
    grouping: set[str] = field(default_factory=set)


def grafana_to_promql(expr: str) -> str:
    for name, value in _GRAFANA.items():
        expr = expr.replace(name, value)
    return _VARIABLE.sub(".*", expr)  # a dashboard variable ($tenant, $job) matches anything


def select(expr: str) -> Selection:
    """What ``expr`` reads; raises ``ValueError`` if it does not parse."""
    selection = Selection()
    _walk(promql_parser.parse(expr), selection)
    return selection


def _walk(node: object, selection: Selection) -> None:
    if isinstance(node, promql_parser.VectorSelector):
        name = node.name or ""
        selection.metrics.append(name)
        for matcher in node.matchers.matchers:
            if matcher.name != "__name__":
                selection.matchers.append(
                    (name, matcher.name, str(matcher.op).rsplit(".", 1)[-1], matcher.value)
                )
        return
    if isinstance(node, promql_parser.MatrixSelector):
        _walk(node.vector_selector, selection)
        return
    if isinstance(node, promql_parser.AggregateExpr):
        if node.modifier is not None:
            selection.grouping.update(node.modifier.labels)
        _walk(node.expr, selection)
        if node.param is not None:
            _walk(node.param, selection)
        return
    if isinstance(node, promql_parser.BinaryExpr):
        modifier = node.modifier
        if modifier is not None and modifier.matching is not None:
            selection.grouping.update(modifier.matching.labels)
        _walk(node.lhs, selection)
        _walk(node.rhs, selection)
        return
    if isinstance(node, promql_parser.Call):
        for argument in node.args:
            _walk(argument, selection)
        return
    for attribute in ("expr",):  # ParenExpr, UnaryExpr, SubqueryExpr
        if hasattr(node, attribute):
            _walk(getattr(node, attribute), selection)
            return
    if not isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        raise TypeError(f"no rule to walk a {type(node).__name__}")


def alert_expressions() -> dict[str, str]:
    """Every rule's expression in deploy/prometheus/alerts.yml, by ``alerts.yml:<alert>``."""
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    return {
        f"alerts.yml:{rule.get('alert') or rule.get('record')}": rule["expr"]
        for group in rules["groups"]
        for rule in group["rules"]
    }


def dashboard_expressions() -> dict[str, str]:
    """Every query of deploy/grafana/dashboard.json (panels' targets, variables' queries),
    Grafana's variables replaced, by ``dashboard.json:<panel>/<refId>``."""
    dashboard = json.loads((DEPLOY / "grafana/dashboard.json").read_text())
    found: dict[str, str] = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found[f"dashboard.json:{panel['title']}/{target['refId']}"] = grafana_to_promql(
                target["expr"]
            )
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            inner = re.fullmatch(r"label_values\((.+), *(\w+)\)", query)
            assert inner, f"variable {variable['name']}: not label_values(SELECTOR, LABEL)"
            key = f"dashboard.json:${variable['name']}"
            found[key] = grafana_to_promql(inner.group(1))
            found[key + "/label"] = (
                f"count by ({inner.group(2)}) ({grafana_to_promql(inner.group(1))})"
            )
    return found
