"""The registry's polling: a change is picked up even after a refresh that failed half-way."""

from __future__ import annotations

import asyncio

import pytest

from webhooks import Registry, Store, TenantSnapshot


def test_a_refresh_that_fails_half_way_is_done_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.accounts.create_tenant("acme", actor="test")
    seen: list[tuple[str, TenantSnapshot | None]] = []
    registry = Registry(store, listener=lambda name, snapshot: seen.append((name, snapshot)))
    registry.load()
    store.accounts.set_skill("acme", True, actor="test")

    versions = store.snapshots.versions

    def database_away() -> dict[str, int]:
        raise ConnectionError("the database is briefly away")  # not producible on demand

    monkeypatch.setattr(store.snapshots, "versions", database_away)
    with pytest.raises(ConnectionError):  # run() logs it and keeps polling
        asyncio.run(registry.refresh())
    stale = registry.get("acme")
    assert stale is not None
    assert not stale.tenant.skill_enabled  # the cache kept serving what it had
    monkeypatch.setattr(store.snapshots, "versions", versions)
    assert asyncio.run(registry.refresh()) == {"acme"}  # not skipped as "unchanged"
    snapshot = registry.get("acme")
    assert snapshot is not None
    assert snapshot.tenant.skill_enabled
