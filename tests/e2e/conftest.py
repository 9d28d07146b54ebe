"""The whole product, as a user meets it: a trained Rasa 3.6.21 over its REST channel.

One assistant per test session, in a copy of the demo project: the demo HTTPS service (its own
CA), a store with the demo actions, the action server, and Rasa trained by ``python -m bot``
(the model cached by fingerprint in ~/.cache/webhook-actions/models, so an unchanged bot is
not retrained) and started with ``rasa run``. Tests talk to ``/webhooks/rest/webhook``, or
through the demo page's web chat (``web_chat``, socket.io) in chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.admin.conftest import free_port
from tests.conftest import base_env
from tests.servers import start_server, stop
from webhooks import EgressRules, Keyring, Store, generate_key, make_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-bot/bin/rasa"
#: ``rasa run`` as make run starts it: the auth token comes from RASA_TOKEN, off the command line.
RASA_RUN = [str(RASA.with_name("python")), str(ROOT / "scripts/rasa_run.py")]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MODEL_CACHE = (
    Path(os.environ.get("WEBHOOKS_CACHE_DIR", Path.home() / ".cache/webhook-actions")) / "models"
)
PROJECT_FILES = ("config.yml", "domain", "data", "credentials.yml")
METRICS_TOKEN = "e2e-metrics-token-0123456789"
#: An answer takes Rasa a moment: the model, the action server, the demo service.
ANSWER = 30_000


def _needs_rasa() -> None:
    if not RASA.exists():
        reason = ".venv-bot is missing (make venv-bot builds it)"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2, verify=False).status_code == 200:  # noqa: S501
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{url} did not come up:\n{log.read_text()[-4000:]}")


@dataclass
class Assistant:
    project: Path
    env: dict[str, str]
    store: Store
    rasa_url: str
    rasa_token: str
    demo_url: str
    logs: Path
    model: Path
    action_token: str
    actions_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_rasa(
        self,
        name: str,
        endpoints: str,
        port: int | None = None,
        *,
        credentials: str = "",
        env: dict[str, str] | None = None,
    ) -> str:
        """Another Rasa on the current model with these endpoints (on ``port``, or a free one),
        channels (``credentials``, else the project's) and extra ``env``; its URL once it
        answers."""
        port = port or free_port()
        (self.project / f"{name}.endpoints.yml").write_text(endpoints)
        channels = "credentials.yml"
        if credentials:
            channels = f"{name}.credentials.yml"
            (self.project / channels).write_text(credentials)
        self.processes[name] = _start(
            name,
            [*RASA_RUN, "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m", str(self.model),
             "--endpoints", f"{name}.endpoints.yml", "--credentials", channels],
            self.env | (env or {}) | {"RASA_TOKEN": self.rasa_token}, self.logs,
            cwd=self.project,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/status?token={self.rasa_token}", self.processes[name],
                 self.logs / f"{name}.log", 240)  # fmt: skip
        return url

    def start_action_server(self, name: str, port: int | None = None) -> str:
        """Another action-server process on the same store (on ``port``, or a free one); its
        URL once it answers."""
        port = port or free_port()
        self.processes[name] = _start(
            name, [sys.executable, "-m", "actions", "serve", "--port", str(port)],
            self.env, self.logs,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/health", self.processes[name], self.logs / f"{name}.log", 30)
        return url

    def wait_served(self, timeout: float = 10.0) -> None:
        """Until the action server serves every change made to the store so far."""
        version = sum(self.store.snapshots.versions().values())
        deadline = time.monotonic() + timeout
        while httpx.get(f"{self.actions_url}/health", timeout=5).json()["version"] < version:
            if time.monotonic() > deadline:
                pytest.fail(f"the action server did not reach version {version}")
            time.sleep(0.05)

    def say_to(self, rasa_url: str, sender: str, message: str) -> list[str]:
        response = httpx.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        return [m.get("text", "") for m in response.json()]

    def say(self, sender: str, message: str) -> list[str]:
        """Send ``message`` as ``sender``; the texts Rasa answers with."""
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        return [m.get("text", "") for m in response.json()]

    def train(self) -> Path:
        """``bot sync`` then ``bot train``; the model's path (trained or reused)."""
        for step in (("sync", "--tenant", "demo"), ("train",)):
            done = self.bot(*step)
            assert done.returncode == 0, done.stdout + done.stderr
        # "trained PATH in S s" or "unchanged bot: reused the model PATH"
        line = next(
            line
            for line in reversed(done.stdout.splitlines())
            if line.startswith(("trained ", "unchanged bot"))
        )
        words = line.split()
        return Path(words[1] if words[0] == "trained" else words[-1])

    def bot(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args, "--project", str(self.project)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


def _start(
    name: str, args: list[str], env: dict[str, str], logs: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    with (logs / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    _needs_rasa()
    tmp = tmp_path_factory.mktemp("e2e")
    project = tmp / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy(source, project / name)
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    (project / "models").symlink_to(MODEL_CACHE)
    logs = tmp / "logs"
    logs.mkdir()

    ports = {name: free_port() for name in ("demo", "actions", "rasa")}
    key = generate_key()
    database_url = f"sqlite:///{tmp / 'store.db'}"
    rasa_token = uuid.uuid4().hex
    env = {
        **base_env(),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
        "WEBHOOKS_CA_FILE": str(tmp / "demo-ca/ca.pem"),
        "WEBHOOKS_DEFAULT_TENANT": "demo",
        "WEBHOOKS_REFRESH_INTERVAL": "0.1",
        "RASA_TELEMETRY_ENABLED": "false",
        "WEBHOOKS_METRICS_TOKEN": METRICS_TOKEN,
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    engine = make_engine(database_url)
    try:
        processes["demo"] = _start(
            "demo",
            [
                sys.executable,
                "-m",
                "demo",
                "serve",
                "--port",
                str(ports["demo"]),
                "--ca-dir",
                str(tmp / "demo-ca"),
            ],
            env,
            logs,
        )
        demo_url = f"https://127.0.0.1:{ports['demo']}"
        wait_for(f"{demo_url}/health", processes["demo"], logs / "demo.log", 30)

        migrate(engine)
        store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
        store.accounts.create_tenant("demo", actor="e2e")
        store.accounts.set_skill("demo", True, actor="e2e")
        action_token = store.accounts.issue_action_token("demo", actor="e2e")
        # Rasa's live router polls the action server's routing table with the same token.
        env["WEBHOOKS_ROUTING_URL"] = f"http://127.0.0.1:{ports['actions']}/tenants/demo/routing"
        env["WEBHOOKS_ROUTING_TOKEN"] = action_token
        for definition in json.loads((ROOT / "demo/actions.json").read_text()):
            definition["url"] = definition["url"].replace("https://127.0.0.1:8443", demo_url)
            store.catalog.create("demo", definition, actor="e2e")

        processes["actions"] = _start(
            "actions",
            [sys.executable, "-m", "actions", "serve", "--port", str(ports["actions"])],
            env,
            logs,
        )
        wait_for(
            f"http://127.0.0.1:{ports['actions']}/health",
            processes["actions"],
            logs / "actions.log",
            30,
        )
        (project / "endpoints.yml").write_text(
            "action_endpoint:\n"
            f"  url: http://127.0.0.1:{ports['actions']}/tenants/demo/webhook\n"
            f"  token: {action_token}\n"
        )
        assistant = Assistant(
            project=project,
            env=env,
            store=store,
            rasa_url=f"http://127.0.0.1:{ports['rasa']}",
            rasa_token=rasa_token,
            demo_url=demo_url,
            logs=logs,
            model=Path(),
            action_token=action_token,
            actions_url=f"http://127.0.0.1:{ports['actions']}",
            processes=processes,
        )
        model = assistant.model = assistant.train()
        processes["rasa"] = _start(
            "rasa",
            [
                *RASA_RUN,
                "--enable-api",
                "-i",
                "127.0.0.1",
                "-p",
                str(ports["rasa"]),
                # As make run: the web chat's page is served from another origin.
                "--cors",
                "*",
                "-m",
                str(model),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            env | {"RASA_TOKEN": rasa_token},
            logs,
            cwd=project,
        )
        wait_for(
            f"{assistant.rasa_url}/status?token={rasa_token}",
            processes["rasa"],
            logs / "rasa.log",
            180,
        )
        yield assistant
    finally:
        for process in list(processes.values()):
            process.terminate()
        for process in list(processes.values()):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        engine.dispose()


@pytest.fixture(scope="module")
def web_chat(assistant: Assistant) -> Iterator[str]:
    """The demo page with the chat widget (``python -m web serve``), talking to the assistant's
    Rasa over socket.io; its URL."""
    process, url = start_server(
        "web", {}, assistant.logs / "web.log", args=["--rasa-url", assistant.rasa_url]
    )
    yield url
    stop(process)


@contextmanager
def echoing_action(assistant: Assistant) -> Iterator[str]:
    """An action ``store_finder`` whose service repeats the city it was asked for, so its
    answer carries whatever markup the user sent; its name. Deleted after the block."""
    assistant.store.catalog.create(
        "demo",
        {
            "name": "store_finder",
            "description": "Find a store in a city",
            "url": f"{assistant.demo_url}/stores/hours",
            "method": "GET",
            "parameters": [{"name": "city", "description": "the city"}],
        },
        actor="e2e",
    )
    try:
        assistant.wait_served()
        yield "store_finder"
    finally:
        assistant.store.catalog.delete("demo", "store_finder", actor="e2e")
        assistant.wait_served()


def new_sender() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


def answer(texts: list[str]) -> str:
    return " ".join(texts)


def bot(page: Page) -> Locator:
    """The bot's messages in the web chat's widget."""
    return page.locator(".rasa-chat .rc-bot")


def say(page: Page, text: str) -> None:
    """Type ``text`` in the widget and send it, as a visitor does."""
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".rasa-chat .rc-user").last).to_have_text(text)


def open_chat(page: Page) -> None:
    """Open the demo page and wait for the bot's greeting."""
    page.goto("/")
    expect(page.get_by_role("region", name="Shop assistant")).to_be_visible()
    # The initial message is sent for the visitor: the bot greets first.
    expect(bot(page).first).to_contain_text("Here is what I can help you with", timeout=ANSWER)
