"""Migrations build the schema from an empty database on both engines, and match the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tests.conftest import temporary_postgres
from webhooks import make_engine, migrate
from webhooks._database import downgrade
from webhooks._schema import Base

TABLES = {
    "tenants",
    "operators",
    "operator_permissions",
    "api_tokens",
    "webhooks",
    "webhook_headers",
    "webhook_tests",
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

    from webhooks._database import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_a_database_behind_the_code_is_refused_with_the_fix(tmp_path: Path) -> None:
    from webhooks import ConfigurationError, check_database

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate(engine, "0003")
        with pytest.raises(ConfigurationError, match=r"at migration 0003.*python -m admin migrate"):
            check_database(engine)
        migrate(engine)
        check_database(engine)
    finally:
        engine.dispose()
