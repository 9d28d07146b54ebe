"""Fixtures shared by every test: a clean environment and real databases (SQLite, PostgreSQL).

PostgreSQL comes from ``TEST_POSTGRES_URL`` (default: the local server, trust auth, database
``test``). Each test session makes its own throw-away database there. When the server is down
the PostgreSQL cases skip with the reason, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from webhooks import Keyring, Store, generate_key, make_engine, migrate
from webhooks._settings import VARIABLES

#: Fixtures every test package may use: the browser (Debian's chromium through Playwright).
pytest_plugins = ["tests.browser"]

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Captured before the autouse fixture below clears the environment of each test.

_PROJECT_VARIABLES = [*VARIABLES, "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the variables the project reads, nor proxies, unless it sets them."""
    for name in _PROJECT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the server means "not available"
        engine.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL}: {type(exc).__name__}"
        if IN_CI:
            pytest.fail(reason + " (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_database(postgres_admin: Engine) -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    with temporary_postgres(postgres_admin, "webhooks_test") as url:
        yield url


@contextmanager
def temporary_postgres(admin: Engine, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def database_for(kind: str, tmp: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A SQLite file in ``tmp``, or a temporary PostgreSQL database: for engine-param fixtures."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'store.db'}"
        return
    with temporary_postgres(request.getfixturevalue("postgres_admin"), "webhooks_test") as url:
        yield url


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([generate_key()])


def _truncate(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE conversation_calls, audit_events, webhook_tests, webhook_headers, "
                "webhooks, api_tokens, encryption_keys, "
                "operator_permissions, operators, tenants RESTART IDENTITY CASCADE"
            )
        )


@pytest.fixture(scope="session")
def _postgres_engine(postgres_database: str) -> Iterator[Engine]:
    engine = make_engine(postgres_database)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each engine: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'webhooks.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        return url
    engine = request.getfixturevalue("_postgres_engine")
    _truncate(engine)
    return str(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def store(database_url: str, keyring: Keyring) -> Iterator[Store]:
    engine = make_engine(database_url)
    yield Store(engine, keyring)
    engine.dispose()


def base_env() -> dict[str, str]:
    """What every process a test starts inherits: PATH, and coverage's settings when
    ``make test`` measures, so the lines the servers run count too."""
    return {
        "PATH": os.environ.get("PATH", ""),
        **{name: value for name, value in os.environ.items() if name.startswith("COVERAGE_")},
    }
