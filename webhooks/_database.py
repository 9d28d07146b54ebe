"""Engines and migrations: one ``DATABASE_URL``, SQLite by default, PostgreSQL in production.

SQLite is made safe for several processes: WAL journal, foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` so a transaction that reads then writes takes the write lock up front
instead of failing with "database is locked" halfway through.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from alembic.config import Config

from ._exceptions import ConfigurationError

__all__ = ["READ_ONLY", "make_engine", "migrate", "normalize_url"]

MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(database_url: str) -> URL:
    """Parse ``DATABASE_URL``; plain ``postgresql://`` URLs use psycopg 3."""
    try:
        url = make_url(database_url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError or ValueError
        raise ConfigurationError(
            "DATABASE_URL is not a valid database URL", variable="DATABASE_URL"
        ) from exc
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigurationError(
            f"DATABASE_URL: unsupported database {url.get_backend_name()!r} "
            "(use sqlite or postgresql)",
            variable="DATABASE_URL",
        )
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL cannot corrupt the database; it only skips an fsync per commit,
    # which otherwise dominates the per-call counter update.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


#: Execution option marking a transaction that only reads: SQLite may then begin it deferred,
#: so readers run alongside each other and alongside a writer (WAL).
READ_ONLY = "webhooks_read_only"


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")  # deferred
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(database_url: str, **options: Any) -> Engine:
    """An engine for ``database_url``, with SQLite's file directory created if needed."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def _config(engine: Engine) -> Config:
    # Alembic is imported only when migrating: it costs a fifth of a second at every start.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # The engine is handed over as an attribute: the URL may hold a password, and Alembic's
    # ini interpolation would choke on a % in it anyway.
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (all by default); safe to run repeatedly."""
    from alembic import command

    command.upgrade(_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Roll the schema back to ``revision`` (``"base"`` drops every table)."""
    from alembic import command

    command.downgrade(_config(engine), revision)
