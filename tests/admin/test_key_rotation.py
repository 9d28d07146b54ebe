"""The key rotation of docs/operators.md, with admin servers started before it: no value is lost.

The review's sequence: key file K1; an admin server runs; the operator puts K2 first and runs
`keys rotate`; the server, started before, writes a header; the old key is retired and dropped.
Before, the server kept encrypting with K1 and the value was lost with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.admin.conftest import Ran, RunMain
from tests.polling import wait_until
from tests.servers import start_server, stop
from webhooks import Keyring, Store, generate_key, key_id_of, make_engine, read_key_file

WEBHOOK = {
    "name": "orders",
    "description": "Look up an order",
    "url": "https://api.example.com/orders",
    "headers": {"X-Api-Key": "first-secret-value"},
}


#: ``python -m admin --json ARGS`` with an environment, run in this process.
Admin = Callable[..., Ran]


@pytest.fixture
def admin(run_main: RunMain) -> Admin:
    def run(env: dict[str, str], *args: str) -> Ran:
        return run_main("admin", "--json", *args, env=env)

    return run


def ok(result: Ran) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def setup(tmp_path: Path, admin: Admin) -> tuple[dict[str, str], str, Path]:
    """A file-keyed store with one tenant, its admin's token, and the key file."""
    key_file = tmp_path / "webhooks.key"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'webhooks.db'}",
        "WEBHOOKS_KEY_FILE": str(key_file),
    }
    ok(admin(env, "migrate"))
    ok(admin(env, "keys", "init"))
    ok(admin(env, "tenant", "create", "acme"))
    token = ok(admin(env, "operator", "create", "acme", "root", "--admin"))["token"]
    ok(admin(env, "skill", "enable", "acme"))
    return env, token, key_file


def test_the_documented_rotation_loses_nothing_with_servers_started_before(
    setup: tuple[dict[str, str], str, Path], tmp_path: Path, admin: Admin
) -> None:
    env, token, key_file = setup
    old_key = read_key_file(key_file)[0]
    headers = {"Authorization": f"Bearer {token}"}
    # Two admin servers started before the rotation: one reads the key file, one was given the
    # old key in WEBHOOKS_KEYS.
    file_server, file_url = start_server(
        "admin", env, tmp_path / "file.log", health="/api/v1/health"
    )
    env_server, env_url = start_server(
        "admin", env | {"WEBHOOKS_KEYS": old_key}, tmp_path / "env.log", health="/api/v1/health"
    )
    try:
        created = httpx.post(f"{file_url}/api/v1/webhooks", json=WEBHOOK, headers=headers)
        assert created.status_code == 201, created.text

        # Step 1: the new key first, the old one after it.
        new_key = generate_key()
        key_file.write_text(f"{new_key}\n{old_key}\n")
        # Step 2: rotate.
        assert ok(admin(env, "keys", "rotate")) == {"rotated": 1}

        # The file-keyed server, started before, writes with the new key as soon as it has read
        # its key file again (at most once a second); until then it refuses, writing nothing.
        def patch_on_file_server(value: str) -> httpx.Response:
            patched = httpx.patch(
                f"{file_url}/api/v1/webhooks/orders",
                json={"headers": {"X-Api-Key": value}},
                headers=headers,
            )
            refused = patched.status_code == 503 and "key_outdated" in patched.text
            assert patched.status_code == 200 or refused, patched.text
            return patched

        wait_until(
            lambda: patch_on_file_server("second-secret-value").status_code == 200,
            "the file-keyed server writes with the new key",
        )
        # The env-keyed one lacks the newest key: it refuses rather than write with the old.
        refused = httpx.patch(
            f"{env_url}/api/v1/webhooks/orders",
            json={"headers": {"X-Api-Key": "third-secret-value"}},
            headers=headers,
        )
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "key_outdated"

        # Step 3: retire the old key; it leaves the key file.
        listed = ok(admin(env, "keys", "list"))
        assert listed == [
            {"key_id": key_id_of(new_key), "position": 1, "values": 1},
            {"key_id": key_id_of(old_key), "position": 2, "values": 0},
        ]
        assert ok(admin(env, "keys", "retire", key_id_of(old_key))) == {
            "retired": key_id_of(old_key)
        }
        assert read_key_file(key_file) == [new_key]
        # The file-keyed server reads the file without the old key (it says so in its log) and
        # still writes: each write makes it look at the file.
        wait_until(
            lambda: (
                patch_on_file_server("second-secret-value").status_code == 200
                and "read again: 1 key(s)" in (tmp_path / "file.log").read_text()
            ),
            "the file-keyed server reads the key file without the old key",
        )
        tested = httpx.get(f"{file_url}/api/v1/webhooks/orders", headers=headers)
        assert tested.status_code == 200
    finally:
        stop(file_server)
        stop(env_server)

    # Every process starting now, with the new key only, reads the value written last.
    engine = make_engine(env["DATABASE_URL"])
    try:
        store = Store(engine, Keyring([new_key]))
        store.keys.verify()
        assert store.catalog.headers_for(store.catalog.get("acme", "orders")) == {
            "X-Api-Key": "second-secret-value"
        }
    finally:
        engine.dispose()
    assert ok(admin(env, "tenant", "list"))  # the CLI starts too


def test_retiring_a_key_still_in_use_is_refused(
    setup: tuple[dict[str, str], str, Path], admin: Admin
) -> None:
    env, _, key_file = setup
    old_key = read_key_file(key_file)[0]
    engine = make_engine(env["DATABASE_URL"])
    try:
        Store(engine, Keyring([old_key])).catalog.create("acme", WEBHOOK, actor="test")
    finally:
        engine.dispose()
    key_file.write_text(f"{generate_key()}\n{old_key}\n")
    refused = admin(env, "keys", "retire", key_id_of(old_key))
    assert refused.returncode == 2
    assert "run `keys rotate` first" in refused.stderr
    assert read_key_file(key_file)[1] == old_key  # the file is left as it was
    unknown = admin(env, "keys", "retire", "0123456789abcdef")
    assert unknown.returncode == 2
    assert "keys list" in unknown.stderr
