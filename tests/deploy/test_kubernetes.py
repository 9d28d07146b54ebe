"""deploy/kubernetes: every manifest valid against the Kubernetes schemas in strict mode
(kubernetes-validate, which bundles them: unknown fields are errors), for the newest version it
knows and an older one still common; and held to what the deployment promises: two replicas
each with a disruption budget, probes, non-root read-only containers, secrets referenced but
never written, only the public paths routed, the kustomization listing every file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import DEPLOY, run, tool

KUBERNETES = DEPLOY / "kubernetes"
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")
#: Environment variable names whose values are secrets: only ever from a Secret.
SECRET_WORDS = ("TOKEN", "PASSWORD", "DATABASE_URL", "KEYS", "SECRET")


def _documents() -> Iterator[dict[str, Any]]:
    for path in MANIFESTS:
        yield from (doc for doc in yaml.safe_load_all(path.read_text()) if doc)


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in _documents()}


@pytest.mark.parametrize("version", ["1.30.0", "1.37.0"])
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_manifest_is_valid_in_strict_mode(path: Path, version: str) -> None:
    validate = tool("kubernetes-validate")
    done = run(validate, "--strict", "--kubernetes-version", version, "--no-warn", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in done.stdout


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]


def _deployments(resources: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for (kind, _), doc in resources.items() if kind == "Deployment"]


def test_each_server_runs_twice_behind_a_service_and_a_budget(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployments = _deployments(resources)
    assert {d["metadata"]["name"] for d in deployments} == {
        "actions", "admin", "tools", "web", "rasa",
    }  # fmt: skip
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert deployment["spec"]["replicas"] == 2, name
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        budget = resources[("PodDisruptionBudget", name)]["spec"]
        assert budget["selector"]["matchLabels"] == selector, name
        assert budget["minAvailable"] == 1, name
        assert resources[("Service", name)]["spec"]["selector"] == selector, name


def _pods(resources: dict[tuple[str, str], dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for (kind, name), doc in resources.items():
        if kind in {"Deployment", "Job"}:
            yield name, doc["spec"]["template"]["spec"]


def test_every_container_is_non_root_read_only_and_probed(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for name, pod in _pods(resources):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            if resources.get(("Deployment", name)):
                assert container["readinessProbe"]["httpGet"]["port"] == "http", name
                assert container["livenessProbe"]["httpGet"]["port"] == "http", name


def test_secrets_are_referenced_never_written(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert not [name for kind, name in resources if kind == "Secret"]
    documented = (KUBERNETES / "kustomization.yaml").read_text()
    for name, pod in _pods(resources):
        for container in pod["containers"]:
            for variable in container.get("env", []):
                if any(word in variable["name"] for word in SECRET_WORDS):
                    assert "value" not in variable, f"{name}: {variable['name']} written"
            for source in container.get("envFrom", []):
                assert f"secret generic {source['secretRef']['name']} " in documented
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                assert f"secret generic {volume['secret']['secretName']} " in documented


def test_only_public_paths_are_routed(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    routed = {}
    for (kind, _), doc in resources.items():
        if kind != "Ingress":
            continue
        for rule in doc["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                service = path["backend"]["service"]["name"]
                assert ("Service", service) in resources, service
                routed[(rule["host"], path["path"])] = service
    assert routed == {
        ("admin.example.com", "/"): "admin",
        ("chat.example.com", "/"): "web",
        ("bot.example.com", "/webhooks/"): "rasa",
        ("bot.example.com", "/socket.io/"): "rasa",
        ("mcp.example.com", "/tenants/"): "tools",
    }
    rasa = resources[("Ingress", "rasa")]["metadata"]["annotations"]
    assert rasa["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$binary_remote_addr"


def test_the_migration_job_runs_the_images_migrate(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    job = resources[("Job", "webhook-actions-migrate")]["spec"]["template"]["spec"]
    [container] = job["containers"]
    servers = resources[("Deployment", "actions")]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["migrate"]
    assert container["image"] == servers["image"]
    assert container["envFrom"] == servers["envFrom"]


def _policy_targets(policy: dict[str, Any], names: set[str]) -> set[str]:
    selector = policy["spec"]["podSelector"]
    if not selector:
        return names
    if "matchLabels" in selector:
        return {selector["matchLabels"]["app.kubernetes.io/name"]}
    (expression,) = selector["matchExpressions"]
    assert expression["key"] == "app.kubernetes.io/name"
    assert expression["operator"] == "In"
    return set(expression["values"])


def test_pods_take_connections_only_from_whom_they_serve(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """Default deny, then: the Ingress controller to the public parts, Rasa to the action
    servers, Prometheus to the metrics. Nothing else reaches Rasa's API, the admin API or an
    action server around the Ingress."""
    servers = {d["metadata"]["name"] for d in _deployments(resources)}
    policies = [doc for (kind, _), doc in resources.items() if kind == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny
    assert deny[0]["spec"]["policyTypes"] == ["Ingress"]
    allowed: set[tuple[str, str, int]] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            for source in rule["from"]:
                label = source.get("namespaceSelector") or source.get("podSelector")
                who = next(iter(label["matchLabels"].values()))
                for target in _policy_targets(policy, servers):
                    for port in rule["ports"]:
                        allowed.add((who, target, port["port"]))
    ports = {"admin": 5056, "web": 8000, "rasa": 5005, "tools": 5057, "actions": 5055}
    public = {("ingress-nginx", name, ports[name]) for name in ("admin", "web", "rasa", "tools")}
    inside = {("rasa", "actions", 5055), ("monitoring", "actions", 5055)}
    inside.add(("monitoring", "tools", 5057))
    reachable = {(who, target, port) for who, target, port in allowed if ports[target] == port}
    assert reachable == public | inside
