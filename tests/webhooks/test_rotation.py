"""Key rotation loses no value, whatever order its steps are taken in and whoever lags behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.webhooks.test_store import CANARY, definition
from webhooks import (
    KeyOutdated,
    Keyring,
    KeyringError,
    Store,
    generate_key,
    key_id_of,
    read_key_file,
    write_key_file,
)


def stale_file(path: Path, keys: list[str]) -> None:
    """Write ``keys`` to ``path`` with a changed stamp, as an operator's editor would."""
    write_key_file(path, keys)
    later = time.time() + 5
    os.utime(path, (later, later))


def test_a_process_follows_its_key_file_without_a_restart(store: Store, tmp_path: Path) -> None:
    store.accounts.create_tenant("acme", actor="test")
    old, new = generate_key(), generate_key()
    path = tmp_path / "webhooks.key"
    write_key_file(path, [old])
    running = Store(store.engine, Keyring.from_file(path, reload_after=0))
    running.catalog.create("acme", definition("a"), actor="op")
    stale_file(path, [new, old])
    running.catalog.create("acme", definition("b"), actor="op")  # started before the change
    assert dict(running.keys.usage()) == {key_id_of(old): 1, key_id_of(new): 1}
    assert running.catalog.headers_for(running.catalog.get("acme", "a")) == {"X-Api-Key": CANARY}


def test_a_file_that_is_no_key_list_keeps_the_keys_read_before(
    store: Store, tmp_path: Path
) -> None:
    key = generate_key()
    path = tmp_path / "webhooks.key"
    write_key_file(path, [key])
    keyring = Keyring.from_file(path, reload_after=0)
    stale_file(path, ["half-written"])
    assert keyring.ids == (key_id_of(key),)
    assert keyring.decrypt(keyring.encrypt("x")) == "x"


def test_a_writer_whose_keys_lack_the_newest_refuses_to_write(store: Store) -> None:
    store.accounts.create_tenant("acme", actor="test")
    old, new = generate_key(), generate_key()
    before = Store(store.engine, Keyring([old]))  # started before the rotation
    before.catalog.create("acme", definition("a"), actor="op")
    Store(store.engine, Keyring([new, old])).keys.rotate()
    with pytest.raises(KeyOutdated, match="newest"):
        before.catalog.update("acme", "a", {"headers": {"X-Api-Key": "v2"}}, actor="op")
    with pytest.raises(KeyOutdated):
        before.catalog.create("acme", definition("b"), actor="op")
    before.catalog.update("acme", "a", {"timeout": 3}, actor="op")  # no secret: still fine
    # A process a key ahead of the rotation writes with its newer key.
    ahead = Store(store.engine, Keyring([generate_key(), new, old]))
    ahead.catalog.update("acme", "a", {"headers": {"X-Api-Key": "v3"}}, actor="op")


def test_retiring_is_refused_while_any_value_needs_the_key(store: Store) -> None:
    store.accounts.create_tenant("acme", actor="test")
    old, new = generate_key(), generate_key()
    Store(store.engine, Keyring([old])).catalog.create("acme", definition("a"), actor="op")
    both = Store(store.engine, Keyring([new, old]))
    with pytest.raises(KeyringError, match="run `keys rotate` first"):
        both.keys.retire(key_id_of(old))
    with pytest.raises(KeyringError, match="the one that encrypts"):
        both.keys.retire(key_id_of(new))
    assert both.keys.rotate() == 1
    both.keys.retire(key_id_of(old))
    # Nobody writes with a retired key again, even a process that still puts it first.
    lagging = Store(store.engine, Keyring([old, new]))
    with pytest.raises(KeyOutdated, match="retired"):
        lagging.catalog.create("acme", definition("b"), actor="op")
    only_new = Store(store.engine, Keyring([new]))
    only_new.keys.verify()
    assert only_new.catalog.headers_for(only_new.catalog.get("acme", "a")) == {"X-Api-Key": CANARY}


def test_rotation_makes_action_servers_read_the_definitions_again(store: Store) -> None:
    store.accounts.create_tenant("acme", actor="test")
    store.accounts.create_tenant("other", actor="test")
    old, new = generate_key(), generate_key()
    Store(store.engine, Keyring([old])).catalog.create("acme", definition("a"), actor="op")
    versions = store.snapshots.versions()
    Store(store.engine, Keyring([new, old])).keys.rotate()
    after = store.snapshots.versions()
    assert after["acme"] > versions["acme"]  # its cached ciphertexts need the old key
    assert after["other"] == versions["other"]


def test_the_key_file_is_replaced_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.key"
    keys = [generate_key(), generate_key()]
    write_key_file(path, keys)
    assert read_key_file(path) == keys
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["webhooks.key"]
