"""A real admin API server (``python -m admin serve`` in a subprocess) on each engine, and the
command lines run in the test's own process (:class:`RunMain`).

The test process sets data up through the store on the same database, then talks HTTP to the
server like any client. The server's log goes to a file that the canary test reads.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from admin.__main__ import main as admin_main
from tests.conftest import base_env, database_for
from webhooks import MANAGE, READ, Keyring, Store, generate_key, make_engine, migrate
from webhooks.__main__ import main as webhooks_main

ROOT = Path(__file__).resolve().parents[2]
#: Used as a header value everywhere in this package; must never come back out.
CANARY = "canary-8d1f0e2b-secret-header-value"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Ran:
    """What a command line run did, named as :class:`subprocess.CompletedProcess` names it."""

    returncode: int
    stdout: str
    stderr: str


MAINS: dict[str, Callable[[Sequence[str]], int]] = {
    "admin": admin_main,
    "webhooks": webhooks_main,
}


class RunMain:
    """``python -m MODULE ARGS`` with ``env``, as ``tests.servers.run_cli`` runs it, but in
    this process: the module's ``main`` with ``env`` set for the call (the test's environment
    has none of the project's variables), what it printed captured."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, module: str, *args: str, env: dict[str, str]) -> Ran:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            self._capsys.readouterr()
            try:
                code = MAINS[module](list(args))
            except SystemExit as exc:  # argparse: --help, or a usage error
                code = int(exc.code or 0)
            out, err = self._capsys.readouterr()
        return Ran(code, out, err)


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> RunMain:
    return RunMain(capsys)


@dataclass
class Identity:
    name: str
    token: str | None
    operator_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class AdminServer:
    base_url: str
    store: Store
    log_path: Path
    identities: dict[str, Identity]
    responses: list[str] = field(default_factory=list)
    #: The server's environment: another of our servers started with it shares the database.
    env: dict[str, str] = field(default_factory=dict)

    def client(self, identity: str | None = None) -> httpx.Client:
        headers = self.identities[identity].headers if identity else {}

        def record(response: httpx.Response) -> None:
            response.read()
            self.responses.append(response.text + repr(dict(response.headers)))

        return httpx.Client(
            base_url=self.base_url + "/api/v1",
            headers=headers,
            timeout=30,
            event_hooks={"response": [record]},
        )

    def new_manager(self) -> str:
        """A new manager of acme, with none of the per-minute bound of Tests used: a test
        that presses Test runs as one of its own, whatever the module's other tests pressed."""
        label = f"manager-{len(self.identities)}"
        operator, token = self.store.accounts.create_operator(
            "acme", label, permissions=[MANAGE], actor="test"
        )
        self.identities[label] = Identity(label, token, operator.id)
        return label

    def definition(self, name: str, **changes: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": name,
            "description": "Look up an order",
            "url": "https://api.example.com/orders",
            "timeout": 2,
            "parameters": [{"name": "order_id", "type": "integer", "description": "Order"}],
            "headers": {"X-Api-Key": CANARY},
        }
        data.update(changes)
        return data


def _seed(store: Store) -> dict[str, Identity]:
    identities = {"none": Identity("none", None), "bad": Identity("bad", "wha_not-a-real-token")}
    for tenant in ("acme", "globex", "initech"):
        store.accounts.create_tenant(tenant, actor="test")
    for tenant in ("acme", "globex"):
        store.accounts.set_skill(tenant, True, actor="test")
    people = {
        "reader": ("acme", False, [READ]),
        "manager": ("acme", False, [MANAGE]),
        "admin": ("acme", True, []),
        "stranger": ("globex", True, []),
        "skill_off": ("initech", True, [MANAGE]),
    }
    for label, (tenant, admin, permissions) in people.items():
        operator, token = store.accounts.create_operator(
            tenant, label, admin=admin, permissions=permissions, actor="test"
        )
        identities[label] = Identity(label, token, operator.id)
    return identities


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def admin_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AdminServer]:
    tmp = tmp_path_factory.mktemp("admin")
    databases = database_for(request.param, tmp, request)
    database_url = next(databases)
    key = generate_key()
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine, Keyring([key]))
    identities = _seed(store)

    port = free_port()
    log_path = tmp / "server.log"
    extra = getattr(request.module, "SERVER_ENV", {})
    env = {
        **base_env(),
        "DATABASE_URL": database_url,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_LOG_LEVEL": "DEBUG",
        **(extra(tmp) if callable(extra) else extra),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "admin", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"admin server exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(base_url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"admin server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        server = AdminServer(base_url, store, log_path, identities, env=env)
        yield server
        # Every module's server, whatever its tests did and in whatever order: the canary
        # header value never came back in a response nor reached the log.
        assert [r for r in server.responses if CANARY in r] == []
        assert CANARY not in log_path.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        engine.dispose()
        next(databases, None)
