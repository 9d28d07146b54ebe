"""deploy/compose.yml: valid against the Compose Specification's own JSON schema (as
check-jsonschema vendors it; Debian's docker-compose 1.29 knows only an older format and
refuses the spec's top-level `name`), and held together: every name it uses is defined, the
servers wait for the migration, every container is hardened, the secrets stay out of git, the
proxy's upstreams and Prometheus' targets are services it can reach."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import DEPLOY, ROOT, run, tool

COMPOSE = DEPLOY / "compose.yml"
#: The servers of our image that need the store's schema first.
SERVERS = ("actions", "admin", "tools")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # anchors and merge keys
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def test_compose_file_matches_the_compose_specification() -> None:
    checker = tool("check-jsonschema")
    done = run(checker, "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_name_used_is_defined(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on {dependency}"
        for network in service.get("networks", []):
            assert network in compose["networks"], f"{name} joins {network}"
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name} reads {secret}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists() or source == "./models", f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name} mounts {source}"


def test_the_servers_start_after_the_migration(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in SERVERS:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_every_container_is_hardened(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        user = str(service["user"]).split(":")[0]
        assert user not in {"0", "root"}, name
        assert user.isdigit(), f"{name}: a numeric user, as runAsNonRoot can check"
        if name != "migrate":
            assert service["healthcheck"]["test"], name


def test_replicas_and_the_only_published_ports(services: dict[str, dict[str, Any]]) -> None:
    assert services["actions"]["deploy"]["replicas"] == 2
    assert services["rasa-1"]["image"] == services["rasa-2"]["image"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["80:8080", "443:8443"]


def test_rasa_is_rasas_official_image_with_the_router(services: dict[str, dict[str, Any]]) -> None:
    build = services["rasa-1"]["build"]
    containerfile = (DEPLOY / build["context"] / build["dockerfile"]).resolve()
    assert containerfile == DEPLOY / "rasa/Containerfile"
    assert "FROM docker.io/rasa/rasa:3.6.21-full\n" in containerfile.read_text()


def _networks(service: dict[str, Any]) -> set[str]:
    return set(service.get("networks", []))


def _image_ports() -> dict[str, int]:
    """The port each server of our image listens on (deploy/image/entrypoint.py's SERVERS),
    and Rasa's."""
    source = (DEPLOY / "image/entrypoint.py").read_text()
    servers = re.findall(r'"(\w+)": Server\("\w+", (\d+),', source)
    assert len(servers) == 4, "deploy/image/entrypoint.py no longer lists its servers so"
    return {name: int(port) for name, port in servers} | {"rasa": 5005}


def test_the_proxys_upstreams_are_services_it_reaches(services: dict[str, dict[str, Any]]) -> None:
    upstreams = (DEPLOY / "nginx/upstreams.conf").read_text()
    named = re.findall(r"^\s*server ([\w-]+):(\d+)", upstreams, flags=re.MULTILINE)
    assert named
    ports = _image_ports()
    for host, port in named:
        assert host in services, host
        assert _networks(services[host]) & _networks(services["proxy"]), f"{host} unreachable"
        assert int(port) == ports[host.split("-")[0]], f"{host} does not listen on {port}"
    rasa = services["rasa-1"]["command"].split()
    assert rasa[rasa.index("--port") + 1] == "5005"


def test_prometheus_and_rasa_reach_what_their_files_name(
    services: dict[str, dict[str, Any]],
) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for discovery in job.get("dns_sd_configs", []):
            for name in discovery["names"]:
                assert _networks(services[name]) & _networks(services["prometheus"]), name
    endpoints = yaml.safe_load((DEPLOY / "rasa/endpoints.yml").read_text())
    hosts = {
        endpoints["tracker_store"]["url"],
        endpoints["lock_store"]["url"],
        re.findall(r"//([\w-]+):", endpoints["action_endpoint"]["url"])[0],
    }
    for host in hosts:
        assert _networks(services[host]) & _networks(services["rasa-1"]), host


def test_secrets_have_placeholders_and_stay_out_of_git(compose: dict[str, Any]) -> None:
    for name, secret in compose["secrets"].items():
        path = Path(secret["file"])
        assert path.parts[:2] == (".", "secrets") or path.parts[0] == "secrets", name
        example = DEPLOY / "secrets.example" / path.name
        assert example.is_file(), f"no example of {name}"
        assert example.stat().st_size == 0, f"{example} holds a value: a default secret would run"
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "example.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(example) == used
    for name, value in example.items():
        # Empty: compose's ${VAR:?} refuses an empty value, so the copy as it is starts nothing.
        assert value == "", f"{name} has a value: a default password would run"
    for path in ("deploy/.env", "deploy/secrets/tls_key.pem", "deploy/models/model.tar.gz"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", path], cwd=ROOT, check=False
        ).returncode
        assert ignored == 0, f"{path} is not ignored by git"


def test_shell_scripts_pass_shellcheck() -> None:
    shellcheck = tool("shellcheck", debian="shellcheck")
    scripts = sorted(DEPLOY.rglob("*.sh"))
    assert scripts
    done = run(shellcheck, "--severity=style", *scripts)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "containerfile",
    [
        pytest.param("Containerfile", id="project"),
        pytest.param("deploy/rasa/Containerfile", id="rasa"),
    ],
)
def test_what_a_root_context_image_copies_is_in_its_build_context(containerfile: str) -> None:
    """The repository's root is the build context of both; .dockerignore keeps everything else
    (keys, deploy/.env, deploy/secrets) out of it. A COPY of something it leaves out fails."""
    kept = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    text = (ROOT / containerfile).read_text()
    sources = [
        source
        for line in re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.M)
        for source in line.split()[:-1]
        if not source.startswith("--")
    ]
    assert sources
    for source in sources:
        assert any(source == k or source.startswith(f"{k}/") for k in kept), (
            f"{containerfile} copies {source}, which .dockerignore leaves out of the context"
        )
    for secret in ("deploy/.env", "deploy/secrets/webhooks.key", ".data/webhooks.key"):
        assert not any(secret == k or secret.startswith(f"{k}/") for k in kept)
