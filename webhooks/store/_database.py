"""Engines and migrations: one ``DATABASE_URL``, SQLite by default, PostgreSQL in production.

SQLite is made safe for several processes: WAL journal, foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` so a transaction that reads then writes takes the write lock up front
instead of failing with "database is locked" halfway through.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError, OperationalError

if TYPE_CHECKING:
    from alembic.config import Config

from .._exceptions import ConfigurationError

__all__ = [
    "HEAD_REVISION",
    "READ_ONLY",
    "check_database",
    "make_engine",
    "migrate",
    "normalize_url",
]

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest migration; a test keeps it equal to Alembic's head. Known here so a start-up
#: check need not import Alembic (a fifth of a second).
HEAD_REVISION = "0011"
_MIGRATE_HINT = "run `python -m admin migrate` (or `make migrate`)"


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


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


#: A server database's connection that waited in the pool longer than this many seconds is
#: pinged before it is used again (see :func:`_ping_when_idle`).
PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "webhooks.idle_since"


def _returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_when_idle(engine: Engine) -> Any:
    """A pool checkout hook that pings a connection only when it has been idle a while.

    A ping is a round trip before every transaction: on a busy admin server that is one
    statement in six of a list. So a connection reused at once is not pinged; one that
    waited longer than :data:`PING_AFTER_IDLE` is, and a dead one is replaced before anybody
    sees it (a restart in a quiet moment costs no request). A connection that dies under
    load fails its statement instead; the first such failure invalidates every older
    connection of the pool, and read-only work may be retried once
    (:attr:`~webhooks.StoreUnavailable.connection_lost`).
    """

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool then discards this connection and checks out another.
            raise DisconnectionError() from exc

    return checkout


def make_engine(database_url: str, **options: Any) -> Engine:
    """An engine for ``database_url``. Nothing is created yet: a SQLite file (and its
    directory) is made by :func:`migrate`, the one step that may create a database."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, **options)
    if not options.get("pool_pre_ping"):
        event.listen(engine, "checkin", _returned)
        event.listen(engine, "checkout", _ping_when_idle(engine))
    return engine


def _config(engine: Engine) -> Config:
    # Alembic is imported only when migrating: it costs a fifth of a second at every start.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # The engine is handed over as an attribute: the URL may hold a password, and Alembic's
    # ini interpolation would choke on a % in it anyway.
    config.attributes["engine"] = engine
    return config


def _describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _unreachable(engine: Engine, exc: OperationalError) -> ConfigurationError:
    # The driver's first line says why (refused, unknown host, no such database, bad
    # password); the rest is a hint list and SQLAlchemy's link.
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    return ConfigurationError(
        f"cannot reach the database {_describe(engine)}: {reason}. Is it running, and is "
        "DATABASE_URL right?",
        variable="DATABASE_URL",
    )


#: A SQLite database holds tokens' digests, the audit log and encrypted header values: only
#: its owner may read it. Its folder, when we make it, is the owner's alone too.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def _private_sqlite_file(path: Path) -> None:
    """Make the SQLite file at ``path`` (and its missing folders) readable by its owner only.

    SQLite would create it with 0644 less the umask; made here first (empty, which SQLite
    takes as a new database), it is 0600 whatever the umask. The ``-wal`` and ``-shm`` files
    SQLite makes later take the database file's mode, so they are 0600 too. A database made
    before, readable by others, is tightened, with any ``-wal`` and ``-shm`` beside it. A
    folder that exists already is left as it is: it may be one the operator chose to share.
    """
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
        path.parent.chmod(PRIVATE_FOLDER)  # mkdir's mode is cut by the umask
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        os.fchmod(descriptor, PRIVATE_FILE)  # as above: the umask could have cut the mode
        os.close(descriptor)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(file.stat().st_mode) & ~PRIVATE_FILE:
                file.chmod(PRIVATE_FILE)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (all by default); safe to run repeatedly.

    A SQLite file is created first, with its folder, readable by its owner only (0600 and
    0700). Raises :class:`ConfigurationError` when the database cannot be reached.
    """
    from alembic import command

    path = _sqlite_file(engine)
    if path is not None:
        _private_sqlite_file(path)
    try:
        command.upgrade(_config(engine), revision)
    except OperationalError as exc:
        raise _unreachable(engine, exc) from exc


def check_database(engine: Engine) -> None:
    """Raise :class:`ConfigurationError` with the fix unless the database is reachable and
    migrated to :data:`HEAD_REVISION`. Creates nothing, not even a SQLite file."""
    path = _sqlite_file(engine)
    if path is not None and not path.is_file():
        raise ConfigurationError(
            f"no database at {path}: {_MIGRATE_HINT} to create it", variable="DATABASE_URL"
        )
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                raise ConfigurationError(
                    f"the database {_describe(engine)} is not migrated: {_MIGRATE_HINT}",
                    variable="DATABASE_URL",
                )
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise _unreachable(engine, exc) from exc
    if found != HEAD_REVISION:
        raise ConfigurationError(
            f"the database {_describe(engine)} is at migration {found or 'none'}, this version "
            f"needs {HEAD_REVISION}: {_MIGRATE_HINT}",
            variable="DATABASE_URL",
        )


def downgrade(engine: Engine, revision: str) -> None:
    """Roll the schema back to ``revision`` (``"base"`` drops every table)."""
    from alembic import command

    command.downgrade(_config(engine), revision)
