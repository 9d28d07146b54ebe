"""A server's cache of the store (the action server's, the tools server's): every tenant's
definitions, kept fresh by polling.

The database is the source of truth. At start the registry reads everything once; then every
``interval`` it reads the store's change mark (one aggregate: the number of tenants and the sum
of their versions), and only when that moved the tenants' versions, re-reading the tenants whose
version moved. So a change made through the admin API reaches every replica within about one
interval, a call in steady state reads no definition from the database, and polling stays
cheap with 10,000 tenants (reading every version four times a second cost, measured, about
40 µs of every call at 100,000 definitions).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .._categories import Category
from ._records import TenantSnapshot, Webhook
from ._store import Store

__all__ = ["DEFAULT_REFRESH_INTERVAL", "Registry"]

logger = logging.getLogger("webhooks.registry")

#: Seconds between version checks; changes are live within about this long.
DEFAULT_REFRESH_INTERVAL = 0.25

#: Seconds after which the versions are read even if the change mark stayed: the mark relies
#: on the store's rules (tenants never deleted, versions only grow), not on a hand-edited
#: database.
FULL_READ_INTERVAL = 30.0

Listener = Callable[[str, TenantSnapshot | None], None]


class Registry:
    """Tenant snapshots by name; ``listener(name, snapshot_or_None)`` hears every change."""

    def __init__(
        self, store: Store, *, interval: float = DEFAULT_REFRESH_INTERVAL, listener: Listener
    ) -> None:
        self._store = store
        self._interval = interval
        self._listener = listener
        self._tenants: dict[str, TenantSnapshot] = {}
        self.refreshed_at = 0.0
        self.reloads = 0
        self._mark: tuple[int, int] | None = None
        self._read_at = 0.0

    def get(self, tenant: str) -> TenantSnapshot | None:
        return self._tenants.get(tenant)

    def usable(self, tenant: str, name: str) -> Webhook | Category:
        """The definition ``name`` of ``tenant`` if a call may run it, else why not: the
        skill or the definition is switched off, or there is no such definition."""
        snapshot = self._tenants.get(tenant)
        if snapshot is None or not snapshot.tenant.skill_enabled:
            return Category.DISABLED
        webhook = snapshot.webhooks.get(name)
        if webhook is None:
            return Category.NOT_CONFIGURED
        return webhook if webhook.enabled else Category.DISABLED

    def __len__(self) -> int:
        return len(self._tenants)

    def version(self) -> int:
        return sum(snapshot.tenant.version for snapshot in self._tenants.values())

    def definitions(self) -> int:
        return sum(len(snapshot.webhooks) for snapshot in self._tenants.values())

    def load(self) -> None:
        """Read every tenant (synchronously, at start-up)."""
        self._mark = self._store.snapshots.change_mark()
        self._read_at = time.monotonic()
        for name, snapshot in self._store.snapshots.snapshot().items():
            self._apply(name, snapshot)
        self.refreshed_at = time.monotonic()
        logger.info(
            "loaded %s tenant(s) with %s webhook action(s)", len(self._tenants), self.definitions()
        )

    def _apply(self, name: str, snapshot: TenantSnapshot | None) -> None:
        if snapshot is None:
            self._tenants.pop(name, None)
        else:
            self._tenants[name] = snapshot
        self._listener(name, snapshot)

    async def refresh(self) -> set[str]:
        """Re-read the tenants whose version moved; returns their names."""
        mark = await asyncio.to_thread(self._store.snapshots.change_mark)
        now = time.monotonic()
        if mark == self._mark and now - self._read_at < FULL_READ_INTERVAL:
            self.refreshed_at = now
            return set()
        versions = await asyncio.to_thread(self._store.snapshots.versions)
        changed = {
            name
            for name, version in versions.items()
            if (known := self._tenants.get(name)) is None or known.tenant.version != version
        }
        gone = set(self._tenants) - set(versions)
        if changed:
            fresh = await asyncio.to_thread(self._store.snapshots.snapshot, changed)
            for name in changed:
                self._apply(name, fresh.get(name))
            self.reloads += 1
        for name in gone:
            self._apply(name, None)
        # Only now, all applied: a refresh that failed half-way is done again next time. The
        # mark was read before the versions, so a change made in between is seen next time.
        self._mark, self._read_at = mark, now
        self.refreshed_at = time.monotonic()
        if changed or gone:
            logger.info("refreshed tenant(s) %s", ", ".join(sorted(changed | gone)))
        return changed | gone

    async def run(self) -> None:
        """Refresh forever; a failing refresh is logged and retried, never fatal."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                try:
                    await self.refresh()
                except Exception as exc:  # the database may be briefly away; keep serving
                    logger.warning(
                        "refresh failed (%s); serving the cached definitions",
                        type(exc).__name__,
                    )
        except asyncio.CancelledError:
            # The server is stopping, which cancels this task: end quietly (Sanic warns of
            # every task that ends cancelled, at every shutdown).
            return
