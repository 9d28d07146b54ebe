"""Migrations build the schema from an empty database on both engines, and match the models."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tests.conftest import temporary_postgres
from webhooks import make_engine, migrate
from webhooks.store._database import downgrade
from webhooks.store._schema import Base

TABLES = {
    "tenants",
    "operators",
    "operator_permissions",
    "api_tokens",
    "webhooks",
    "webhook_headers",
    "webhook_tests",
    "webhook_signing_secrets",
    "webhook_pauses",
    "audit_events",
    "conversation_calls",
    "call_budgets",
    "encryption_keys",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    with temporary_postgres(request.getfixturevalue("postgres_admin"), "webhooks_migrate") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_build_the_schema_from_nothing(empty_engine: Engine) -> None:
    assert _tables(empty_engine) == set()
    migrate(empty_engine)
    assert _tables(empty_engine) == TABLES


def test_migrated_schema_matches_the_models(empty_engine: Engine) -> None:
    migrate(empty_engine)
    with empty_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrating_twice_is_harmless_and_downgrade_round_trips(empty_engine: Engine) -> None:
    migrate(empty_engine)
    migrate(empty_engine)
    downgrade(empty_engine, "base")
    assert _tables(empty_engine) == set()
    migrate(empty_engine)
    assert _tables(empty_engine) == TABLES


def test_the_start_up_check_knows_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from webhooks.store._database import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_a_database_behind_the_code_is_refused_with_the_fix(tmp_path: Path) -> None:
    from webhooks import ConfigurationError
    from webhooks.store._database import check_database

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate(engine, "0003")
        with pytest.raises(ConfigurationError, match=r"at migration 0003.*python -m admin migrate"):
            check_database(engine)
        migrate(engine)
        check_database(engine)
    finally:
        engine.dispose()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask for the test: modes must not depend on the caller's."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_sqlite_database_and_its_folder_are_the_owners_alone(tmp_path: Path) -> None:
    database = tmp_path / "data" / "webhooks.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate(engine)
        # The WAL and shared-memory files SQLite makes later take the database file's mode.
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE written (x INTEGER)")
            wal, shm = (database.with_name(database.name + end) for end in ("-wal", "-shm"))
            modes = {p.name: _mode(p) for p in (database.parent, database, wal, shm)}
    finally:
        engine.dispose()
    assert modes == {"data": 0o700, "webhooks.db": 0o600,
                     "webhooks.db-wal": 0o600, "webhooks.db-shm": 0o600}  # fmt: skip


@pytest.mark.usefixtures("open_umask")
def test_migrating_tightens_a_database_made_readable_to_others(tmp_path: Path) -> None:
    database = tmp_path / "webhooks.db"
    database.touch(mode=0o644)
    folder = _mode(tmp_path)
    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    assert _mode(database) == 0o600
    assert _mode(tmp_path) == folder  # a folder someone else made is theirs: left as it is
