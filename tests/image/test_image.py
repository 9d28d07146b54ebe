"""The project's OCI image, run as a deployment runs it: real containers from the image that
``make image`` built (``WEBHOOKS_IMAGE``), on the test PostgreSQL, with the trained demo bot.

The database is migrated and the tenant set up by the image's own commands; the admin, action,
tools and web servers run from it with a read-only root (and no tmpfs at all) as its non-root
user, configured by environment variables and two read-only files: the key file and the demo
service's CA. The demo action is defined through the containerized admin API, and the host's
Rasa, pointed at the containerized action server, answers a user over its REST channel.
Skipped unless ``WEBHOOKS_IMAGE`` names the image (``make image-test`` sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.admin.conftest import free_port
from tests.conftest import temporary_postgres
from tests.e2e.conftest import Assistant, new_sender
from webhooks import generate_key
from webhooks._settings import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("WEBHOOKS_IMAGE", "")
#: Podman's settings for these machines (runc, no default ulimits); nothing global is changed.
CONTAINERS_CONF = ROOT / "deploy/image/containers.conf"
#: The image's user (Containerfile: USER 10001:10001).
UID = 10001
KEY_FILE = "/run/secrets/webhooks.key"
CA_FILE = "/run/webhooks/ca.pem"

pytestmark = [
    pytest.mark.skipif(
        not IMAGE,
        reason="WEBHOOKS_IMAGE is not set: `make image-test` builds the image and names it",
    ),
    pytest.mark.slow,
    pytest.mark.rasa,
    pytest.mark.postgres,
]


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``podman ARGS`` with the project's containers.conf; fails the test with its output."""
    done = subprocess.run(
        ["podman", *args],
        env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done


@dataclass
class Containers:
    """The containers of one run, each named ``<prefix>-<role>``; all removed at the end."""

    prefix: str
    env: dict[str, str]
    mounts: dict[Path, str]
    names: list[str] = field(default_factory=list)

    def options(self) -> list[str]:
        """What every container of the deployment gets: the host's network (the test
        PostgreSQL and the demo service are on its loopback), a read-only root without even
        a tmpfs, the environment, and the files mounted read-only."""
        options = ["--network", "host", "--read-only", "--read-only-tmpfs=false"]
        for name, value in self.env.items():
            options += ["--env", f"{name}={value}"]
        for source, target in self.mounts.items():
            options += ["--volume", f"{source}:{target}:ro"]
        return options

    def command(self, *args: str) -> str:
        """Run the image with ``args`` to its end (a migration, the admin CLI); its output."""
        done = podman("run", "--rm", "--no-healthcheck", *self.options(), IMAGE, *args)
        return done.stdout

    def start(self, role: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Start the image's ``role`` server with ``args``; the container's name."""
        name = f"{self.prefix}-{role}"
        self.names.append(name)
        extra = [f"--env={key}={value}" for key, value in (env or {}).items()]
        podman("run", "--detach", "--name", name, *self.options(), *extra, IMAGE, role, *args)
        return name

    def wait_healthy(self, name: str, timeout: float = 60) -> None:
        """Until the image's HEALTHCHECK passes in ``name``. Podman schedules health checks
        with systemd timers, which these machines lack, so the check is run here, as
        ``podman healthcheck run`` (the image's own command), and podman records its result."""
        deadline = time.monotonic() + timeout
        while podman("healthcheck", "run", name, check=False).returncode != 0:
            state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            if state != "running" or time.monotonic() > deadline:
                pytest.fail(f"{name} is {state}, not healthy:\n{self.logs(name)[-4000:]}")
            time.sleep(0.25)

    def logs(self, name: str) -> str:
        done = podman("logs", name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        for name in self.names:
            podman("rm", "--force", "--time", "2", name, check=False)


@pytest.fixture(scope="module")
def database(postgres_admin: Engine) -> Iterator[str]:
    """A database of this run's own on the test PostgreSQL, dropped at the end."""
    with temporary_postgres(postgres_admin, "webhooks_image") as url:
        yield url


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key file, generated here, readable by the image's user only (0400)."""
    directory = tmp_path_factory.mktemp("image-secrets")
    key_file = directory / "webhooks.key"
    key_file.write_text(generate_key() + "\n")
    os.chown(key_file, UID, UID)
    key_file.chmod(0o400)
    return directory


@dataclass
class Deployment:
    containers: Containers
    key: str
    admin_token: str
    action_token: str
    admin_url: str
    actions_url: str
    tools_url: str
    web_url: str
    rasa_url: str
    servers: dict[str, str]


@pytest.fixture(scope="module")
def deployment(assistant: Assistant, database: str, secrets_dir: Path) -> Iterator[Deployment]:
    containers = Containers(
        prefix=f"webhooks-test-{uuid.uuid4().hex[:8]}",
        env={
            "DATABASE_URL": database,
            "WEBHOOKS_KEY_FILE": KEY_FILE,
            # The demo service is on the host's loopback, with its own CA.
            "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
            "WEBHOOKS_CA_FILE": CA_FILE,
            "WEBHOOKS_REFRESH_INTERVAL": "0.1",
        },
        mounts={
            secrets_dir / "webhooks.key": KEY_FILE,
            Path(assistant.env["WEBHOOKS_CA_FILE"]): CA_FILE,
        },
    )
    try:
        containers.command("migrate")
        containers.command("tenant", "create", "demo")
        containers.command("skill", "enable", "demo")
        admin = json.loads(
            containers.command("--json", "operator", "create", "demo", "ops", "--admin")
        )
        action_token = json.loads(containers.command("--json", "tenant", "action-token", "demo"))[
            "action_token"
        ]

        ports = {role: free_port() for role in ("admin", "actions", "tools", "web")}
        servers = {
            role: containers.start(role, "--port", str(port))
            for role, port in ports.items()
            if role != "web"
        }
        rasa_port = free_port()
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        servers["web"] = containers.start(
            "web", "--port", str(ports["web"]), env={"WEBHOOKS_RASA_URL": rasa_url}
        )
        for name in servers.values():
            containers.wait_healthy(name)
        urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}

        # The demo action, defined through the containerized admin API as an operator would.
        definition = next(
            d
            for d in json.loads((ROOT / "demo/actions.json").read_text())
            if d["name"] == "order_status"
        )
        definition["url"] = definition["url"].replace("https://127.0.0.1:8443", assistant.demo_url)
        created = httpx.post(
            f"{urls['admin']}/api/v1/webhooks",
            json=definition,
            headers={"Authorization": f"Bearer {admin['token']}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        _wait_routed(urls["actions"], action_token, "order_status")

        # The host's Rasa on the trained demo model, its actions and live routing served by
        # the container.
        assistant.start_rasa(
            f"rasa-{containers.prefix}",
            "action_endpoint:\n"
            f"  url: {urls['actions']}/tenants/demo/webhook\n"
            f"  token: {action_token}\n",
            rasa_port,
            env={
                "WEBHOOKS_ROUTING_URL": f"{urls['actions']}/tenants/demo/routing",
                "WEBHOOKS_ROUTING_TOKEN": action_token,
            },
        )
        yield Deployment(
            containers=containers,
            key=(secrets_dir / "webhooks.key").read_text().strip(),
            admin_token=admin["token"],
            action_token=action_token,
            admin_url=urls["admin"],
            actions_url=urls["actions"],
            tools_url=urls["tools"],
            web_url=urls["web"],
            rasa_url=rasa_url,
            servers=servers,
        )
    finally:
        containers.remove()


def _wait_routed(actions_url: str, token: str, action: str, timeout: float = 10) -> None:
    """Until the action server's routing table (what Rasa's live router polls) has ``action``."""
    deadline = time.monotonic() + timeout
    while True:
        table = httpx.get(
            f"{actions_url}/tenants/demo/routing",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        if table.status_code == 200 and action in table.text:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the action server never served {action}: {table.status_code}")
        time.sleep(0.1)


def test_the_bot_answers_through_the_containerized_action_server(
    deployment: Deployment, assistant: Assistant
) -> None:
    texts = assistant.say_to(deployment.rasa_url, new_sender(), "where is my order #4521?")
    assert texts == ["Order #4521 has shipped and arrives in 2 days."]


@pytest.mark.parametrize("role", ["admin", "actions", "tools", "web"])
def test_each_server_is_healthy_as_a_non_root_user_on_a_read_only_root(
    deployment: Deployment, role: str
) -> None:
    name = deployment.servers[role]
    state = json.loads(podman("inspect", name).stdout)[0]
    assert state["State"]["Health"]["Status"] == "healthy"
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    # The image's own user: the test passes no --user.
    assert state["Config"]["User"] == f"{UID}:{UID}"
    assert podman("exec", name, "id", "-u").stdout.strip() == str(UID)
    # Not even /tmp is writable (no tmpfs was given): the servers need no writable path.
    refused = podman("exec", name, "touch", "/tmp/probe", check=False)  # noqa: S108 (in the container)
    assert refused.returncode != 0
    assert "Read-only file system" in refused.stderr


def test_the_health_check_fails_where_no_server_runs() -> None:
    done = podman("run", "--rm", "--no-healthcheck", "--network", "none", IMAGE, "healthcheck",
                  check=False)  # fmt: skip
    assert done.returncode == 1
    assert "no server runs in this container" in done.stderr


def test_the_web_chat_serves_its_page_and_the_socket_io_client(deployment: Deployment) -> None:
    page = httpx.get(deployment.web_url + "/", timeout=10)
    assert page.status_code == 200
    assert deployment.rasa_url in page.text  # from WEBHOOKS_RASA_URL
    client = httpx.get(deployment.web_url + "/widget/socket.io.esm.min.js", timeout=10)
    assert client.status_code == 200
    assert "socket.io" in client.text[:400].lower()


def test_the_admin_api_and_console_are_served(deployment: Deployment) -> None:
    listed = httpx.get(
        f"{deployment.admin_url}/api/v1/webhooks",
        headers={"Authorization": f"Bearer {deployment.admin_token}"},
        timeout=10,
    )
    assert listed.status_code == 200
    assert "order_status" in listed.text
    console = httpx.get(deployment.admin_url + "/", timeout=10)
    assert console.status_code == 200
    assert "Content-Security-Policy" in console.headers


def test_no_secret_is_in_the_image_or_the_containers_configuration(
    deployment: Deployment,
) -> None:
    secrets = {
        "the Fernet key": deployment.key,
        "the action token": deployment.action_token,
        "the admin token": deployment.admin_token,
    }
    image = podman("image", "inspect", IMAGE).stdout
    history = podman("history", "--no-trunc", "--format", "json", IMAGE).stdout
    seen = {"image": image, "image history": history}
    for role, name in deployment.servers.items():
        seen[f"{role} container"] = podman("inspect", name).stdout
        seen[f"{role} log"] = deployment.containers.logs(name)
    for what, text in seen.items():
        for secret, value in secrets.items():
            assert value not in text, f"{secret} is in the {what}"
    # Configured only at run time: the image sets none of the project's variables.
    config = json.loads(image)[0]["Config"]
    names = {entry.split("=", 1)[0] for entry in config.get("Env", [])}
    assert names.isdisjoint(VARIABLES)
    assert config["User"] == f"{UID}:{UID}"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "Webhook Actions for Rasa"
    assert labels["org.opencontainers.image.version"]


def test_the_image_has_no_pip_compiler_or_node(deployment: Deployment) -> None:
    found = podman(
        "run", "--rm", "--no-healthcheck", "--network", "none", "--entrypoint", "sh", IMAGE,
        "-c", "for p in pip pip3 gcc cc node npm; do command -v $p; done; "
        "ls /opt/venv/bin/ | grep -i pip; true",
    )  # fmt: skip
    assert found.stdout.strip() == ""


def test_a_sqlite_store_lives_in_a_volume_at_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without PostgreSQL: the database in a named volume, everything else read-only. A new
    # volume takes /data's owner from the image, so the non-root user may write it.
    volume = f"webhooks-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    options = [
        "run", "--rm", "--no-healthcheck", "--network", "none", "--read-only",
        "--read-only-tmpfs=false", "--volume", f"{volume}:/data",
        "--env", "DATABASE_URL=sqlite:////data/webhooks.db",
        # The key by name only: podman takes its value from its own environment, so it is on
        # no command line.
        "--env", "WEBHOOKS_KEYS",
    ]  # fmt: skip
    monkeypatch.setenv("WEBHOOKS_KEYS", generate_key())
    try:
        podman(*options, IMAGE, "migrate")
        podman(*options, IMAGE, "tenant", "create", "shop")
        listed = podman(*options, IMAGE, "--json", "tenant", "list")
        assert json.loads(listed.stdout) == [{"tenant": "shop", "skill_enabled": False}]
        mode = podman(*options, "--entrypoint", "stat", IMAGE, "-c", "%u %a", "/data/webhooks.db")
        assert mode.stdout.split() == [str(UID), "600"]
    finally:
        podman("volume", "rm", "--force", volume, check=False)


def test_check_url_refuses_the_metadata_address() -> None:
    done = podman(
        "run", "--rm", "--no-healthcheck", "--network", "none", IMAGE,
        "check-url", "https://169.254.169.254/latest", check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
