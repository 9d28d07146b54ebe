"""Claims on a SQLite file that never wait, so an event loop can make them itself.

The statement is :class:`ConversationLimits`'s upsert, run on a connection of the calling
thread's own with no busy timeout and no automatic checkpoint: tens of microseconds, where a
hand-over to a thread costs the loop far more. When another writer holds the lock SQLite
refuses at once and nothing is counted; the caller claims again where waiting is allowed.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import cast

from .._exceptions import BudgetExhausted, ConversationLimitReached
from ..definitions._budgets import SQLITE_PERIOD, TENANT_SCOPE, UPSERT_SQL, Budget
from ._limits import CLAIM_SQL, SQLITE_NOW, ConversationLimits, stored_key

__all__ = ["CHECKPOINT_EVERY", "InPlaceClaims"]

#: The claim in place only needs to know whether a row changed: RETURNING would cost it as
#: much again (callgrind: 60,000 instructions a claim with it, 33,000 without).
_CLAIM_IN_PLACE = CLAIM_SQL.format(tenant_id="?1", conversation="?2", limit="?3", now=SQLITE_NOW)
#: A budget's upsert (:mod:`webhooks.definitions._budgets`), with numbered parameters as the claim
#: above.
_BUDGET_IN_PLACE = UPSERT_SQL.format(
    tenant_id="?1", scope="?2", limit="?3", period=SQLITE_PERIOD.format(window="?4")
)

#: Claims in place between checkpoints. Each claim is its own commit and adds a page or two to
#: SQLite's write-ahead log (1.5 on average, with the conversations' keys in no order), so the
#: log stays within a few megabytes; other connections' commits past 1,000 pages checkpoint it
#: as SQLite does by default.
CHECKPOINT_EVERY = 1000


class InPlaceClaims:
    """The claims of ``limits`` that never wait; thread-safe, one connection per thread.

    Only a SQLite file can be claimed on without waiting (:meth:`possible`): an in-memory
    database lives in its one pooled connection, and PostgreSQL answers over the network.
    """

    def __init__(self, limits: ConversationLimits) -> None:
        self.limits = limits
        # Each thread keeps to its own connection.
        self._connections: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._uncheckpointed = 0

    @staticmethod
    def possible(limits: ConversationLimits) -> bool:
        """Whether ``limits`` counts in a SQLite file, where claims in place work."""
        engine = limits.engine
        return engine.dialect.name == "sqlite" and (engine.url.database or "") not in (
            "",
            ":memory:",
        )

    def _connection(self) -> sqlite3.Connection:
        """The calling thread's connection (made on first use)."""
        thread = threading.get_ident()
        connection = self._connections.get(thread)
        if connection is None:
            # The engine's connect step sets WAL, foreign keys and synchronous=NORMAL; once
            # detached, the connection never returns to the pool with the settings below.
            proxied = self.limits.engine.raw_connection()
            connection = cast(sqlite3.Connection, proxied.driver_connection)
            proxied.detach()
            # No busy timeout: "locked" is answered at once, never waited for. No automatic
            # checkpoint: it syncs the file in the middle of a claim; see checkpoint().
            connection.execute("PRAGMA busy_timeout = 0")
            connection.execute("PRAGMA wal_autocheckpoint = 0")
            with self._lock:
                self._connections[thread] = connection
        return connection

    def open(self) -> None:
        """Open the calling thread's connection now.

        Opening it may wait (a pool checkout, the connect step's pragmas under the engine's
        busy timeout), so an event loop calls this before it serves, not in its first claim.
        """
        self._connection()

    def claim(self, tenant: str, conversation: str, *, budget: Budget | None = None) -> bool:
        """:meth:`ConversationLimits.claim` if it need not wait: whether the call was counted.

        Raises :class:`ConversationLimitReached` like it (nothing counted). ``False`` when
        another writer holds the lock (an admin change, another replica, a checkpoint) and for
        a tenant not looked up yet (that reads the database); any other error is raised, with
        nothing counted either. These writes never checkpoint; call :meth:`checkpoint` (where
        waiting is allowed) when :attr:`checkpoint_due`.
        """
        limits = self.limits
        tenant_id = limits.tenant_ids.get(tenant)
        if tenant_id is None:
            return False
        connection = self._connection()
        if budget is not None:
            return self._claim_within(connection, tenant_id, conversation, budget)
        try:
            # Autocommit (the engine's connections leave transactions to us): the statement
            # is the transaction, done and committed when execute() returns.
            changed = connection.execute(
                _CLAIM_IN_PLACE, (tenant_id, stored_key(conversation), limits.limit)
            ).rowcount
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:  # any kind of "locked"
                return False
            raise
        if changed != 1:  # the upsert's WHERE kept the row as it was: at the limit
            raise ConversationLimitReached(limits.limit)
        self._uncheckpointed += 1
        return True

    def _claim_within(
        self, connection: sqlite3.Connection, tenant_id: int, conversation: str, budget: Budget
    ) -> bool:
        """:meth:`claim` with ``budget``: the chain of :func:`sqlite_chain` (the budgets'
        upserts, then the conversation's, in one transaction committed only when all
        counted), written out with numbered parameters: it runs on every call."""
        limits = self.limits
        execute = connection.execute
        try:
            execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            # Another writer holds the lock: refused at once, nothing counted.
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                return False
            raise
        refused: Exception | None = None
        done = False
        try:
            window = limits.window
            if (
                execute(_BUDGET_IN_PLACE, (tenant_id, TENANT_SCOPE, budget.tenant, window)).rowcount
                != 1
            ):
                refused = BudgetExhausted(TENANT_SCOPE, budget.tenant)
            elif (
                budget.action is not None
                and budget.per_action is not None
                and execute(
                    _BUDGET_IN_PLACE, (tenant_id, budget.action, budget.per_action, window)
                ).rowcount
                != 1
            ):
                refused = BudgetExhausted(budget.action, budget.per_action)
            elif (
                execute(
                    _CLAIM_IN_PLACE, (tenant_id, stored_key(conversation), limits.limit)
                ).rowcount
                != 1
            ):
                refused = ConversationLimitReached(limits.limit)
            done = True
        finally:
            # Any refusal, or an error half-way, takes back what the chain counted.
            execute("COMMIT" if done and refused is None else "ROLLBACK")
        if refused is not None:
            raise refused
        self._uncheckpointed += 1
        return True

    @property
    def checkpoint_due(self) -> bool:
        """Whether :meth:`claim` wrote enough since the last :meth:`checkpoint`."""
        return self._uncheckpointed >= CHECKPOINT_EVERY

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file and start the log afresh.

        What SQLite's automatic checkpoint does in the writing connection, which the claims in
        place turn off because it syncs the disk. A passive checkpoint beside a steady stream
        of claims would never catch up with them, and the log would grow without end; RESTART
        holds the writers back while it copies (the claims in place answer ``False`` then)
        and lets the next one start the log from its beginning. So a passive checkpoint first
        copies what is there without holding anyone back, and RESTART then only copies the few
        frames written meanwhile; the next write syncs the log's new header. It waits for
        nobody: with a writer or reader in the way it copies what it can, and the next one
        finishes. Figures in bench/README.md.
        """
        self._uncheckpointed = 0
        connection = self._connection()
        with self._lock:  # close() waits for it: closed under it, it would crash
            if self._connections.get(threading.get_ident()) is not connection:
                return  # closed meanwhile
            cursor = connection.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.execute("PRAGMA wal_checkpoint(RESTART)")
            finally:
                cursor.close()

    def close(self) -> None:
        """Close the threads' connections (the engine's pool is the caller's); waits for a
        :meth:`checkpoint` under way on another thread."""
        with self._lock:
            connections, self._connections = self._connections, {}
            for connection in connections.values():
                connection.close()
