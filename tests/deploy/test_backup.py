"""Backups and their restore, with the commands docs/operations.md gives: the store (pg_dump and
pg_restore for PostgreSQL, sqlite3's online ``.backup`` for SQLite) and the key file, kept apart.

A restored store serves its actions and decrypts their header values with the backed-up key
file; without it the values cannot be read, and the restore says so instead of sending
garbage.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import temporary_postgres
from tests.servers import run_cli
from webhooks import KeyMismatch, Keyring, Store, make_engine, migrate, write_key_file
from webhooks import generate_key as new_key

SECRET = {"X-Api-Key": "backup-secret-value-1234"}
ACTION = {
    "name": "order_status",
    "description": "Look up the status of an order",
    "url": "https://api.example.com/orders/status",
    "parameters": [{"name": "order_id", "type": "integer", "description": "the order number"}],
    "headers": SECRET,
}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing (Debian's postgresql-client / sqlite3)", pytrace=False)
    return path


def _filled(url: str, key_file: Path) -> None:
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine, Keyring.from_file(key_file))
    store.accounts.create_tenant("shop", actor="ops")
    store.catalog.create("shop", ACTION, actor="ops")
    engine.dispose()


def _served(url: str, key_file: Path) -> dict[str, str]:
    """The restored action's header values, decrypted with ``key_file``'s keys."""
    engine = make_engine(url)
    try:
        store = Store(engine, Keyring.from_file(key_file))
        return store.catalog.headers_for(store.catalog.get("shop", "order_status"))
    finally:
        engine.dispose()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "webhooks.key"
    path.parent.mkdir()
    write_key_file(path, [new_key()])
    return path


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump takes it (no driver name)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def two_databases(postgres_admin: Engine) -> Iterator[tuple[str, str]]:
    with (
        temporary_postgres(postgres_admin, "webhooks_live") as live,
        temporary_postgres(postgres_admin, "webhooks_restored") as restored,
    ):
        yield live, restored


@pytest.mark.postgres
def test_a_postgres_backup_restores_with_its_key_file(
    two_databases: tuple[str, str], key_file: Path, tmp_path: Path
) -> None:
    live, restored = two_databases
    _filled(live, key_file)
    dump, keys = tmp_path / "webhooks.dump", tmp_path / "webhooks.key.backup"
    subprocess.run(
        [_tool("pg_dump"), "--format=custom", f"--file={dump}", _libpq(live)], check=True
    )
    shutil.copy2(key_file, keys)  # kept apart from the dump: one alone reads nothing

    subprocess.run(
        [_tool("pg_restore"), "--no-owner", f"--dbname={_libpq(restored)}", str(dump)],
        check=True,
    )
    # The restored database is at the code's revision: migrate has nothing to do.
    env = {"DATABASE_URL": restored, "WEBHOOKS_KEY_FILE": str(keys)}
    done = run_cli("admin", "migrate", env=env)
    assert done.returncode == 0, done.stderr
    assert _served(restored, keys) == SECRET

    other = tmp_path / "other.key"
    write_key_file(other, [new_key()])
    with pytest.raises(KeyMismatch):
        _served(restored, other)


def test_a_sqlite_backup_taken_while_serving_restores_with_its_key_file(
    tmp_path: Path, key_file: Path
) -> None:
    live = tmp_path / "live" / "webhooks.db"
    _filled(f"sqlite:///{live}", key_file)
    backup = tmp_path / "backup.db"
    # .backup is SQLite's online backup: a consistent copy while the servers write.
    reader = make_engine(f"sqlite:///{live}")
    with reader.connect():  # a server holding the database open meanwhile
        subprocess.run([_tool("sqlite3"), str(live), f".backup '{backup}'"], check=True)
    reader.dispose()
    keys = tmp_path / "webhooks.key.backup"
    shutil.copy2(key_file, keys)

    restored = tmp_path / "restored" / "webhooks.db"
    restored.parent.mkdir()
    shutil.copy2(backup, restored)
    assert _served(f"sqlite:///{restored}", keys) == SECRET
    check = subprocess.run(
        [_tool("sqlite3"), str(restored), "PRAGMA integrity_check;"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert check.stdout.strip() == "ok"
