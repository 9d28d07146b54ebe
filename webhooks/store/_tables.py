"""What every part of the store shares: one engine and keyring, the sessions and transactions
they run in, and the rows more than one part reads or writes (a tenant, a definition, an audit
entry)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .._exceptions import (
    NotFound,
    StoreUnavailable,
)
from ..egress._messages import masked_url
from ..egress._rules import EgressRules
from . import _schema as db
from ._database import READ_ONLY
from ._keyring import Keyring
from ._records import Tenant

__all__ = ["MAX_ACTIONS", "MAX_ID", "TENANT_PATTERN", "Tables", "hash_token", "utc"]

#: At most this many webhook actions per tenant (product rule).
MAX_ACTIONS = 10
#: Ids are 32-bit integer columns on PostgreSQL: larger ones cannot exist.
MAX_ID = 2**31 - 1
TENANT_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
#: Seconds a writer of this process waits for another on SQLite: SQLite's own busy timeout.
WRITER_WAIT = 30.0
#: Where a reading transaction's session keeps the tenant rows it has read, by name.
_TENANT_ROWS = "webhooks.tenant_rows"
#: Whether a reading session runs each statement on its own (PostgreSQL's autocommit).
_AUTOCOMMIT = "webhooks.autocommit"

#: An audit entry's row, as a statement built once.
_INSERT_AUDIT = insert(db.Base.metadata.tables[db.AuditEvent.__tablename__])


def utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain digest is enough (no salt or slow hash needed).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _masked(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    # A URL's query may carry a secret; the audit log keeps its names, never its values.
    if entry is None or not isinstance(entry.get("url"), str):
        return entry
    return entry | {"url": masked_url(entry["url"])}


@contextmanager
def _translated() -> Iterator[None]:
    """The database going away (a restart, a network cut, SQLite's lock held too long) as
    :class:`StoreUnavailable`: nothing was written, and the caller may try again."""
    try:
        yield
    except OperationalError as exc:
        raise StoreUnavailable(connection_lost=exc.connection_invalidated) from exc


class TenantColumns(Protocol):
    """What a tenant's record is made of, read from its row."""

    @property
    def name(self) -> str: ...
    @property
    def skill_enabled(self) -> bool: ...
    @property
    def action_count(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def calls_per_minute(self) -> int: ...


class Tables:
    """The sessions and row helpers every part of :class:`~webhooks.Store` is given: one
    object per store, so all parts write under one lock and read in one open reading."""

    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        *,
        max_actions: int = MAX_ACTIONS,
        rules: EgressRules = EgressRules(),
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.max_actions = max_actions
        #: The deployment's egress rules, which every saved URL must pass.
        self.rules = rules
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._open_read = threading.local()
        # SQLite takes one writer at a time: this process's writers queue on a lock, woken as
        # soon as the one before commits, instead of in SQLite's busy handler, which sleeps up
        # to 100 ms between tries (bench admin: creates' p99 fell from 370 ms). Writers of
        # other processes still meet in the busy handler.
        self._writer = threading.RLock() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one write transaction (on SQLite, after this process's writer before
        it); refused inside :meth:`reading`."""
        if getattr(self._open_read, "session", None) is not None:
            # Its reads would not see the write, and SQLite without WAL would wait on itself.
            raise RuntimeError("a store write inside Store.reading(): write before or after it")
        with self._one_writer(), _translated(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _one_writer(self) -> Iterator[None]:
        """On SQLite, this process's writers one at a time, for as long as SQLite itself would
        wait for another process's (its busy timeout); then :class:`StoreUnavailable`."""
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=WRITER_WAIT):
            raise StoreUnavailable()
        try:
            yield
        finally:
            self._writer.release()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every read of this store inside, in this thread, shares one session, and reads a
        tenant's row once: a request that authenticates, then lists, then reads what it shows
        beside the list. A write inside is refused (its reads would not see it); nested, the
        outermost one counts.

        On SQLite the session is one transaction: one snapshot for all. On PostgreSQL, where
        each statement is a round trip, the reads of one statement (a token's owner, a tenant's
        row, the last Tests and pauses) run without a transaction, each seeing what was
        committed when it ran, which saves a BEGIN and a COMMIT (two round trips of a list's
        four); a read of several statements that must agree (a tenant's definitions with their
        headers) still gets its own REPEATABLE READ transaction (:meth:`read`).
        """
        with self.read(alone=True):
            yield

    @contextmanager
    def read(self, *, alone: bool = False) -> Iterator[Session]:
        """A session that only reads; inside :meth:`reading`, that one's where it serves.

        Without ``alone``, a transaction that sees one consistent state across its queries: on
        PostgreSQL REPEATABLE READ (READ COMMITTED would give each statement its own snapshot,
        so rows committed between two queries could appear in one and not the other); a SQLite
        transaction already reads one snapshot, begun deferred instead of IMMEDIATE.

        ``alone`` says the caller reads with one statement (beside a tenant's row, read once
        per session: :meth:`tenant_row`): on PostgreSQL it then runs in autocommit, with no
        transaction to begin or end; elsewhere as above.
        """
        open_session: Session | None = getattr(self._open_read, "session", None)
        if open_session is not None and (alone or not open_session.info[_AUTOCOMMIT]):
            yield open_session
            return
        options: dict[str, object] = {READ_ONLY: True}
        autocommit = alone and self.engine.dialect.name == "postgresql"
        if autocommit:
            options["isolation_level"] = "AUTOCOMMIT"
        elif self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with _translated(), self._sessions() as session, session.begin():
            session.connection(execution_options=options)
            session.info[_TENANT_ROWS] = {}
            session.info[_AUTOCOMMIT] = autocommit
            self._open_read.session = session
            try:
                yield session
            finally:
                self._open_read.session = open_session

    # -- tenants --------------------------------------------------------------------------

    @staticmethod
    def tenant_row(session: Session, name: str, *, lock: bool = False) -> db.Tenant:
        """The tenant's row; in a reading transaction, read once for all its queries."""
        known: dict[str, db.Tenant] | None = session.info.get(_TENANT_ROWS)
        if known is not None and name in known:
            return known[name]
        query = select(db.Tenant).where(db.Tenant.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound("tenant", name)
        if known is not None:
            known[name] = row
        return row

    @staticmethod
    def seen_tenant(session: Session, row: db.Tenant) -> None:
        """Keep a tenant's row read with something else for the rest of a reading transaction."""
        known: dict[str, db.Tenant] | None = session.info.get(_TENANT_ROWS)
        if known is not None:
            known[row.name] = row

    @staticmethod
    def webhook_row(session: Session, tenant: db.Tenant, name: str) -> db.Webhook:
        """The tenant's definition ``name``, locked for a change; :class:`NotFound` if none."""
        row = session.scalars(
            select(db.Webhook)
            .where(db.Webhook.tenant_id == tenant.id, db.Webhook.name == name)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound("webhook", name)
        return row

    @staticmethod
    def tenant(row: TenantColumns) -> Tenant:
        """The record of a tenant's row: an ORM object or a row of its columns."""
        return Tenant(
            name=row.name,
            skill_enabled=row.skill_enabled,
            action_count=row.action_count,
            version=row.version,
            created_at=utc(row.created_at),
            calls_per_minute=row.calls_per_minute,
        )

    @staticmethod
    def audit(
        session: Session,
        tenant: db.Tenant | int,
        *,
        actor: str,
        action: str,
        target: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        # Written at once on the connection (the entry refers to nothing but its tenant):
        # cheaper than the ORM's unit of work, on every write.
        session.connection().execute(
            _INSERT_AUDIT,
            {
                "tenant_id": tenant if isinstance(tenant, int) else tenant.id,
                "actor": actor,
                "action": action,
                "target": target,
                "before": _masked(before),
                "after": _masked(after),
            },
        )
