"""An upgrade as docs/operations.md has it: the new version's migration runs while the old
version's action server keeps serving, then the new one starts; an old server restarted after
the migration refuses to start instead of serving a schema it does not know.

The old version is the code of the commit before the last migration (from the repository's
history, with ``git archive``), run with this environment's packages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
import trustme

from tests.actions.conftest import ThreadedWebhook, calling, texts
from tests.admin.conftest import free_port
from tests.conftest import IN_CI, base_env, database_for
from tests.servers import start_server, stop
from webhooks import EgressRules, Keyring, Store, generate_key, make_engine, migrate
from webhooks.store._database import HEAD_REVISION

ROOT = Path(__file__).resolve().parents[2]

#: Run by the old version's code, so written in its API: the store's methods were its own
#: then, before its parts (``store.accounts``, ``store.catalog``...). The first migration added
#: after the parts makes the old version one with them: then this says ``store.accounts.``.
SETUP = """
import json, sys
from webhooks import Keyring, Store, make_engine, migrate
url, key, definition = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
engine = make_engine(url)
migrate(engine)
store = Store(engine, Keyring([key]), allow=("127.0.0.1/32",))  # the old version's signature
store.create_tenant("acme", actor="old")
store.set_skill("acme", True, actor="old")
store.create_webhook("acme", definition, actor="old")
print(store.issue_action_token("acme", actor="old"))
"""


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def old_version(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code as it was before the newest migration was added."""
    try:
        added = _git(
            "log", "--follow", "-1", "--format=%H", f"-SHEAD_REVISION = \"{HEAD_REVISION}\"", "--",
            "webhooks/store/_database.py",
        ).decode().strip()  # fmt: skip
        archive = _git("archive", f"{added}^", "webhooks", "actions")
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        reason = f"the repository's history is needed for the old version ({exc})"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("old-version")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_for(request.param, tmp_path, request)


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[tuple[ThreadedWebhook, Path]]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = ThreadedWebhook(ca)
    yield server, ca_file
    server.stop()


def _answered(url: str, token: str, action: str) -> list[str]:
    response = httpx.post(
        f"{url}/tenants/acme/webhook",
        params={"token": token},
        json=calling(action, {"order_id": 4521}),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return texts(response)


def _served_version(url: str, version: int) -> None:
    for _ in range(100):
        if httpx.get(f"{url}/health", timeout=5).json()["version"] >= version:
            return
        time.sleep(0.05)
    pytest.fail(f"{url} did not reach version {version}")


def test_the_old_server_serves_through_the_migration_and_the_new_one_takes_over(
    old_version: Path, database: str, webhook: tuple[ThreadedWebhook, Path], tmp_path: Path
) -> None:
    server, ca_file = webhook
    key = generate_key()
    definition = {
        "name": "order_status",
        "description": "Look up the status of an order",
        "url": server.url("/echo"),
        "parameters": [{"name": "order_id", "type": "integer", "description": "the number"}],
        "headers": {"X-Api-Key": "upgrade-secret-1234"},
        "timeout": 5,
    }
    env = {
        "DATABASE_URL": database,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
        "WEBHOOKS_CA_FILE": str(ca_file),
        "WEBHOOKS_REFRESH_INTERVAL": "0.1",
    }
    setup = subprocess.run(
        [sys.executable, "-c", SETUP, database, key, json.dumps(definition)],
        cwd=old_version, env=base_env() | {"PYTHONPATH": str(old_version)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    token = setup.stdout.strip().splitlines()[-1]
    old, old_url = start_server(
        "actions", env | {"PYTHONPATH": str(old_version)}, tmp_path / "old.log", cwd=old_version
    )
    try:
        before = _answered(old_url, token, "order_status")
        assert before, "the old server did not answer"

        engine = make_engine(database)
        migrate(engine)  # the new version's migration, the old server running
        assert _answered(old_url, token, "order_status") == before

        # What the new version writes, the old one serves (the new columns have defaults).
        store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
        store.catalog.create("acme", definition | {"name": "order_status_2"}, actor="new")
        _served_version(old_url, sum(store.snapshots.versions().values()))
        assert _answered(old_url, token, "order_status_2") == before

        new, new_url = start_server("actions", env, tmp_path / "new.log")
        try:
            assert _answered(new_url, token, "order_status") == before
            assert _answered(new_url, token, "order_status_2") == before
        finally:
            stop(new)
        engine.dispose()
    finally:
        stop(old)

    # Restarted now, the old version refuses: it does not know this schema.
    again = subprocess.run(
        [sys.executable, "-m", "actions", "serve", "--port", str(free_port())],
        cwd=old_version, env=base_env() | env | {"PYTHONPATH": str(old_version)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode != 0
    assert f"is at migration {HEAD_REVISION}" in again.stderr + again.stdout
