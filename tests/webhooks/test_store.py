"""The store on real SQLite and real PostgreSQL: definitions, accounts, limits, audit, secrets."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from webhooks import (
    MANAGE,
    READ,
    ActionLimitReached,
    ActionTokenInUse,
    AlreadyExists,
    InvalidDefinition,
    KeyMismatch,
    Keyring,
    NotFound,
    PermissionDenied,
    Store,
    Unauthenticated,
    actor_of,
    generate_key,
    make_engine,
    token_matches,
)

CANARY = "canary-header-value-7f3a9c"


def definition(name: str = "order_status", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "description": "Look up an order",
        "url": "https://api.example.com/orders",
        "parameters": [{"name": "order_id", "type": "integer", "description": "Order number"}],
        "headers": {"X-Api-Key": CANARY},
    }
    data.update(changes)
    return data


@pytest.fixture
def tenant(store: Store) -> str:
    store.accounts.create_tenant("acme", actor="test")
    return "acme"


def raw_dump(store: Store) -> str:
    """Every row of every table as text, read past the ORM."""
    chunks: list[str] = []
    with store.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


# -- tenants, operators, permissions ----------------------------------------------------------


def test_tenant_starts_with_the_skill_off(store: Store) -> None:
    tenant = store.accounts.create_tenant("acme", actor="cli")
    assert tenant.skill_enabled is False
    assert tenant.action_count == 0


def test_duplicate_tenant_is_refused(store: Store, tenant: str) -> None:
    with pytest.raises(AlreadyExists):
        store.accounts.create_tenant(tenant, actor="cli")


@pytest.mark.parametrize("name", ["", "Acme", "1acme", "a" * 65, "ac me"])
def test_bad_tenant_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidDefinition):
        store.accounts.create_tenant(name, actor="cli")


def test_switching_the_skill_on_grants_admins_both_permissions(store: Store, tenant: str) -> None:
    admin, _ = store.accounts.create_operator(tenant, "root", admin=True, actor="cli")
    reader, _ = store.accounts.create_operator(tenant, "viewer", permissions=[READ], actor="cli")
    assert admin.permissions == frozenset()
    store.accounts.set_skill(tenant, True, actor="cli")
    assert store.accounts.get_operator(tenant, admin.id).permissions == {READ, MANAGE}
    assert store.accounts.get_operator(tenant, reader.id).permissions == {READ}
    later, _ = store.accounts.create_operator(tenant, "root2", admin=True, actor="cli")
    assert later.permissions == {READ, MANAGE}


def test_token_authenticates_its_operator_until_revoked(store: Store, tenant: str) -> None:
    operator, token = store.accounts.create_operator(
        tenant, "alice", permissions=[MANAGE], actor="cli"
    )
    assert store.accounts.authenticate(token) == operator
    second = store.accounts.issue_token(tenant, operator.id, actor="cli")
    assert store.accounts.authenticate(second).id == operator.id
    assert store.accounts.revoke_tokens(tenant, operator.id, actor="cli") == 2
    for revoked in (token, second):
        with pytest.raises(Unauthenticated):
            store.accounts.authenticate(revoked)


@pytest.mark.parametrize("token", ["", "wha_unknown", "Bearer x", "wha_" + "a" * 300])
def test_unknown_tokens_are_refused(store: Store, tenant: str, token: str) -> None:
    store.accounts.create_operator(tenant, "alice", actor="cli")
    with pytest.raises(Unauthenticated):
        store.accounts.authenticate(token)


def test_tokens_are_stored_only_as_hashes(store: Store, tenant: str) -> None:
    _, token = store.accounts.create_operator(tenant, "alice", actor="cli")
    assert token.removeprefix("wha_") not in raw_dump(store)


def test_require_checks_skill_then_permission(store: Store, tenant: str) -> None:
    reader, _ = store.accounts.create_operator(tenant, "viewer", permissions=[READ], actor="cli")
    manager, _ = store.accounts.create_operator(tenant, "editor", permissions=[MANAGE], actor="cli")
    with pytest.raises(PermissionDenied, match="switched off"):
        store.accounts.require(manager, READ)
    store.accounts.set_skill(tenant, True, actor="cli")
    store.accounts.require(reader, READ)
    store.accounts.require(manager, READ)  # manage implies read
    store.accounts.require(manager, MANAGE)
    with pytest.raises(PermissionDenied, match="webhooks:manage"):
        store.accounts.require(reader, MANAGE)


def test_set_permissions_replaces_and_rejects_unknown(store: Store, tenant: str) -> None:
    operator, _ = store.accounts.create_operator(tenant, "alice", permissions=[READ], actor="cli")
    assert store.accounts.set_permissions(
        tenant, operator.id, [MANAGE], actor="cli"
    ).permissions == {MANAGE}
    with pytest.raises(InvalidDefinition):
        store.accounts.set_permissions(tenant, operator.id, ["webhooks:everything"], actor="cli")


def test_operators_of_another_tenant_are_not_found(store: Store, tenant: str) -> None:
    store.accounts.create_tenant("other", actor="cli")
    stranger, _ = store.accounts.create_operator("other", "bob", actor="cli")
    with pytest.raises(NotFound):
        store.accounts.get_operator(tenant, stranger.id)
    with pytest.raises(NotFound):
        store.accounts.set_permissions(tenant, stranger.id, [MANAGE], actor="cli")


# -- webhooks ---------------------------------------------------------------------------------


def test_create_and_read_back(store: Store, tenant: str) -> None:
    created = store.catalog.create(tenant, definition(), actor="op")
    assert created.header_names == ("X-Api-Key",)
    assert created.parameters[0].record() == {
        "name": "order_id",
        "type": "integer",
        "description": "Order number",
        "required": True,
    }
    assert store.catalog.get(tenant, "order_status") == created
    assert [w.name for w in store.catalog.list(tenant)] == ["order_status"]
    assert store.catalog.headers_for(created) == {"X-Api-Key": CANARY}
    assert CANARY not in repr(created)
    assert CANARY not in str(created.public())


def test_header_values_never_reach_the_database_in_clear(
    store: Store, tenant: str, database_url: str
) -> None:
    store.catalog.create(tenant, definition(), actor="op")
    store.catalog.update(tenant, "order_status", {"headers": {"X-Other": CANARY + "2"}}, actor="op")
    assert CANARY not in raw_dump(store)
    if database_url.startswith("sqlite"):
        store.engine.dispose()  # checkpoint the WAL so the main file holds everything
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in path.parent.glob(path.name + "*"):
            assert CANARY.encode() not in file.read_bytes(), file.name


def test_duplicate_name_is_refused_and_changes_nothing(store: Store, tenant: str) -> None:
    store.catalog.create(tenant, definition(), actor="op")
    before = store.accounts.get_tenant(tenant)
    with pytest.raises(AlreadyExists):
        store.catalog.create(tenant, definition(), actor="op")
    assert store.accounts.get_tenant(tenant) == before
    assert len(store.audit(tenant)) == 2  # tenant.create, webhook.create


def test_invalid_definition_leaves_the_store_unchanged(store: Store, tenant: str) -> None:
    with pytest.raises(InvalidDefinition):
        store.catalog.create(tenant, definition(url="https://10.0.0.1/"), actor="op")
    assert store.catalog.list(tenant) == []
    assert store.accounts.get_tenant(tenant).action_count == 0


def test_invalid_update_leaves_the_definition_unchanged(store: Store, tenant: str) -> None:
    created = store.catalog.create(tenant, definition(), actor="op")
    for bad in (
        {"timeout": 99},
        {"headers": {"X-Unknown": None}},
        {"headers": {"X-New": "ok", "Host": "evil"}},
        {"name": "renamed"},
    ):
        with pytest.raises(InvalidDefinition):
            store.catalog.update(tenant, "order_status", bad, actor="op")
    assert store.catalog.get(tenant, "order_status") == created
    assert store.catalog.headers_for(store.catalog.get(tenant, "order_status")) == {
        "X-Api-Key": CANARY
    }


def test_headers_are_write_only_and_merge(store: Store, tenant: str) -> None:
    store.catalog.create(
        tenant, definition(headers={"X-Api-Key": "one", "X-Team": "t"}), actor="op"
    )
    kept = store.catalog.update(tenant, "order_status", {"enabled": False}, actor="op")
    assert store.catalog.headers_for(kept) == {"X-Api-Key": "one", "X-Team": "t"}
    replaced = store.catalog.update(
        tenant, "order_status", {"headers": {"x-api-key": "two"}}, actor="op"
    )
    assert store.catalog.headers_for(replaced) == {"x-api-key": "two", "X-Team": "t"}
    removed = store.catalog.update(
        tenant, "order_status", {"headers": {"X-Team": None}}, actor="op"
    )
    assert store.catalog.headers_for(removed) == {"x-api-key": "two"}


def test_put_replaces_every_other_field(store: Store, tenant: str) -> None:
    store.catalog.create(tenant, definition(method="GET", timeout=3), actor="op")
    replaced = store.catalog.update(
        tenant,
        "order_status",
        {"description": "New", "url": "https://api.example.com/orders"},
        replace=True,
        actor="op",
    )
    assert (replaced.method, replaced.timeout, replaced.parameters) == ("POST", 10, ())
    assert replaced.header_names == ("X-Api-Key",)
    assert replaced.revision == 2


def test_every_change_bumps_the_tenant_version_and_moves_the_change_mark(
    store: Store, tenant: str
) -> None:
    versions = [store.snapshots.versions()[tenant]]
    marks = [store.snapshots.change_mark()]
    for change in (
        lambda: store.catalog.create(tenant, definition(), actor="op"),
        lambda: store.catalog.update(tenant, "order_status", {"enabled": False}, actor="op"),
        lambda: store.accounts.set_skill(tenant, True, actor="op"),
        lambda: store.accounts.issue_action_token(tenant, actor="op", replace=True),
        lambda: store.catalog.delete(tenant, "order_status", actor="op"),
        lambda: store.accounts.create_tenant("another", actor="op"),
    ):
        change()
        versions.append(store.snapshots.versions()[tenant])
        marks.append(store.snapshots.change_mark())
    assert versions[:-1] == sorted(set(versions[:-1]))
    assert len(set(marks)) == len(marks)  # every change moved it
    assert marks[-1] == (len(store.snapshots.versions()), sum(store.snapshots.versions().values()))


def test_delete_frees_a_slot(store: Store, tenant: str) -> None:
    for index in range(store.max_actions):
        store.catalog.create(tenant, definition(f"hook_{index}"), actor="op")
    with pytest.raises(ActionLimitReached):
        store.catalog.create(tenant, definition("one_too_many"), actor="op")
    store.catalog.delete(tenant, "hook_0", actor="op")
    store.catalog.create(tenant, definition("one_too_many"), actor="op")
    assert store.accounts.get_tenant(tenant).action_count == store.max_actions
    with pytest.raises(NotFound):
        store.catalog.get(tenant, "hook_0")


def test_tenants_do_not_see_each_other(store: Store, tenant: str) -> None:
    store.accounts.create_tenant("other", actor="cli")
    store.catalog.create(tenant, definition(), actor="op")
    assert store.catalog.list("other") == []
    with pytest.raises(NotFound):
        store.catalog.get("other", "order_status")
    with pytest.raises(NotFound):
        store.catalog.delete("other", "order_status", actor="op")
    store.catalog.create("other", definition(), actor="op")  # same name, other tenant


def _create_concurrently(store: Store, tenant: str, count: int) -> list[BaseException | None]:
    barrier = threading.Barrier(count)
    outcomes: list[BaseException | None] = [None] * count

    def create(index: int) -> None:
        barrier.wait()
        try:
            store.catalog.create(tenant, definition(f"hook_{index}"), actor="op")
        except BaseException as exc:  # collected and checked below
            outcomes[index] = exc

    threads = [threading.Thread(target=create, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_creates_never_make_an_eleventh_action(store: Store, tenant: str) -> None:
    store.engine.dispose()
    engine = make_engine(
        store.engine.url.render_as_string(hide_password=False), pool_size=24, max_overflow=0
    )
    concurrent = Store(engine, store.keyring)
    try:
        outcomes = _create_concurrently(concurrent, tenant, 24)
    finally:
        engine.dispose()
    failures = [o for o in outcomes if o is not None]
    assert len(outcomes) - len(failures) == 10
    assert all(isinstance(f, ActionLimitReached) for f in failures), failures
    assert len(store.catalog.list(tenant)) == 10
    assert store.accounts.get_tenant(tenant).action_count == 10


# -- audit ------------------------------------------------------------------------------------


def test_audit_log_records_who_what_when_and_before_after(store: Store, tenant: str) -> None:
    store.accounts.create_operator(tenant, "root", admin=True, actor="cli")
    store.accounts.set_skill(tenant, True, actor="cli")
    store.catalog.create(tenant, definition(), actor="operator:1:root")
    store.catalog.update(
        tenant,
        "order_status",
        {"timeout": 5, "headers": {"X-Api-Key": CANARY + "-new"}},
        actor="operator:1:root",
    )
    store.catalog.delete(tenant, "order_status", actor="operator:1:root")
    entries = store.audit(tenant)
    assert [e.action for e in entries] == [
        "webhook.delete",
        "webhook.update",
        "webhook.create",
        "skill.enable",
        "operator.create",
        "tenant.create",
    ]
    delete, update, create, skill = entries[:4]
    assert update.actor == "operator:1:root"
    assert update.target == "webhook:order_status"
    assert update.before is not None
    assert update.before["timeout"] == 10
    assert update.after is not None
    assert update.after["timeout"] == 5
    assert update.after["headers_set"] == ["X-Api-Key"]
    assert create.before is None
    assert create.after is not None
    assert create.after["headers"] == ["X-Api-Key"]
    assert delete.before is not None
    assert delete.after is None
    assert skill.after == {"skill_enabled": True, "granted": [f"root:{MANAGE}", f"root:{READ}"]}
    assert entries[0].at >= entries[-1].at
    assert entries[0].at.tzinfo is not None
    assert CANARY not in repr(entries)


def test_audit_log_filters_by_action_operator_and_time(store: Store, tenant: str) -> None:
    ana, _ = store.accounts.create_operator(tenant, "ana", permissions=[MANAGE], actor="cli")
    bo, _ = store.accounts.create_operator(tenant, "bo", permissions=[MANAGE], actor="cli")
    store.catalog.create(tenant, definition("a"), actor=actor_of(ana))
    store.catalog.create(tenant, definition("b"), actor=actor_of(bo))
    store.catalog.update(tenant, "a", {"timeout": 5}, actor=actor_of(bo))
    store.catalog.delete(tenant, "a", actor=actor_of(ana))
    everything = store.audit(tenant, limit=500)

    def actions(**filters: Any) -> list[tuple[str, str]]:
        return [(e.action, e.target) for e in store.audit(tenant, limit=500, **filters)]

    assert actions(webhook="a") == [
        ("webhook.delete", "webhook:a"),
        ("webhook.update", "webhook:a"),
        ("webhook.create", "webhook:a"),
    ]
    assert actions(operator="bo") == [
        ("webhook.update", "webhook:a"),
        ("webhook.create", "webhook:b"),
    ]
    assert actions(operator="bo", webhook="b") == [("webhook.create", "webhook:b")]
    assert [e.target for e in store.audit(tenant, operator="cli", limit=500)] == [
        f"operator:{bo.id}:bo",
        f"operator:{ana.id}:ana",
    ]
    assert actions(operator="nobody") == actions(webhook="never") == []
    # since includes its moment, until does not; any offset means the same instant.
    third = everything[-4]
    assert (third.action, third.target) == ("webhook.create", "webhook:a")
    lisbon = timezone(timedelta(hours=1))
    newer = store.audit(tenant, limit=500, since=third.at.astimezone(lisbon))
    assert newer == everything[:-3]
    older = store.audit(tenant, limit=500, until=third.at.astimezone(lisbon))
    assert older == everything[-3:]
    assert store.audit(tenant, since=third.at, until=third.at) == []
    # Paged within the filter.
    first = store.audit(tenant, webhook="a", limit=2)
    assert [e.action for e in first] == ["webhook.delete", "webhook.update"]
    rest = store.audit(tenant, webhook="a", limit=2, before_id=first[-1].id)
    assert [e.action for e in rest] == ["webhook.create"]


def test_audit_log_pages_newest_first(store: Store, tenant: str) -> None:
    for index in range(5):
        store.catalog.create(tenant, definition(f"a{index}"), actor="op")
    first = store.audit(tenant, limit=2)
    second = store.audit(tenant, limit=2, before_id=first[-1].id)
    assert [e.target for e in first + second] == [
        "webhook:a4",
        "webhook:a3",
        "webhook:a2",
        "webhook:a1",
    ]


# -- keys -------------------------------------------------------------------------------------


def test_rotation_re_encrypts_every_value_with_the_new_key(store: Store, tenant: str) -> None:
    old_key, new_key = generate_key(), generate_key()
    old = Store(store.engine, Keyring([old_key]))
    old.catalog.create(tenant, definition(), actor="op")
    assert Store(store.engine, Keyring([new_key, old_key])).keys.rotate() == 1
    # Done: nothing is left to re-encrypt, and saying so is the truth.
    assert Store(store.engine, Keyring([new_key, old_key])).keys.rotate() == 0
    only_new = Store(store.engine, Keyring([new_key]))
    only_new.keys.verify()
    assert only_new.catalog.headers_for(only_new.catalog.get(tenant, "order_status")) == {
        "X-Api-Key": CANARY
    }
    with pytest.raises(KeyMismatch):
        old.keys.verify()


def test_wrong_key_is_caught_at_start_up(store: Store, tenant: str) -> None:
    store.catalog.create(tenant, definition(), actor="op")
    with pytest.raises(KeyMismatch):
        Store(store.engine, Keyring([generate_key()])).keys.verify()


@pytest.mark.parametrize("operator_id", [0, -1, 2**31, 2**62])
def test_out_of_range_operator_ids_are_not_found(
    store: Store, tenant: str, operator_id: int
) -> None:
    with pytest.raises(NotFound):
        store.accounts.get_operator(tenant, operator_id)


def test_action_token_is_stored_as_a_digest_and_bumps_the_version(
    store: Store, tenant: str
) -> None:
    before = store.snapshots.versions()[tenant]
    token = store.accounts.issue_action_token(tenant, actor="cli")
    snapshot = store.snapshots.snapshot([tenant])[tenant]
    assert token_matches(token, snapshot.action_token_hash)
    assert not token_matches(token + "x", snapshot.action_token_hash)
    assert not token_matches(token, None)
    assert store.snapshots.versions()[tenant] > before
    assert token.removeprefix("wht_") not in raw_dump(store)
    with pytest.raises(ActionTokenInUse, match="--replace"):
        store.accounts.issue_action_token(tenant, actor="cli")
    assert token_matches(token, store.snapshots.snapshot([tenant])[tenant].action_token_hash)
    replaced = store.accounts.issue_action_token(tenant, actor="cli", replace=True)
    assert not token_matches(token, store.snapshots.snapshot([tenant])[tenant].action_token_hash)
    assert token_matches(replaced, store.snapshots.snapshot([tenant])[tenant].action_token_hash)


def test_snapshot_holds_every_tenant_with_its_webhooks(store: Store, tenant: str) -> None:
    store.accounts.create_tenant("other", actor="cli")
    store.catalog.create(tenant, definition("a"), actor="op")
    store.catalog.create(tenant, definition("b", headers={}), actor="op")
    store.catalog.create("other", definition("c"), actor="op")
    everything = store.snapshots.snapshot()
    assert set(everything) == {tenant, "other"}
    assert list(everything[tenant].webhooks) == ["a", "b"]
    assert everything[tenant].webhooks["a"] == store.catalog.get(tenant, "a")
    assert everything[tenant].webhooks["b"].header_names == ()
    assert store.snapshots.snapshot(["other"])["other"].webhooks["c"] == store.catalog.get(
        "other", "c"
    )
    assert store.snapshots.snapshot(["nobody"]) == {}


def test_snapshot_shares_equal_values_between_definitions(store: Store, tenant: str) -> None:
    # What keeps 100,000 cached definitions compact: equal values are one object.
    store.accounts.create_tenant("other", actor="cli")
    for owner, name in ((tenant, "a"), (tenant, "b"), ("other", "a")):
        store.catalog.create(owner, definition(name), actor="op")
    everything = store.snapshots.snapshot()
    a, b, other = (
        everything[t].webhooks[n] for t, n in ((tenant, "a"), (tenant, "b"), ("other", "a"))
    )
    assert other == store.catalog.get("other", "a")  # built alike by the catalog
    for value in ("description", "url", "parameters", "timeout"):
        assert getattr(a, value) is getattr(b, value) is getattr(other, value), value
    assert a.name is other.name
    assert a.header_names[0] is b.header_names[0] is other.header_names[0]


@pytest.mark.postgres
def test_snapshot_is_consistent_while_webhooks_are_created(
    store: Store, tenant: str, database_url: str
) -> None:
    """A webhook committed between the snapshot's queries appears in all of them or none."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite transactions always read one snapshot")
    from sqlalchemy import event

    store.catalog.create(tenant, definition("first"), actor="op")
    other = Store(make_engine(database_url), store.keyring)
    fired: list[str] = []

    def interleave(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM webhooks" in statement and not fired:
            fired.append(statement)
            other.catalog.create(tenant, definition("second"), actor="op")

    event.listen(store.engine, "after_cursor_execute", interleave)
    try:
        snapshot = store.snapshots.snapshot([tenant])[tenant]
    finally:
        event.remove(store.engine, "after_cursor_execute", interleave)
        other.engine.dispose()
    assert fired
    assert list(snapshot.webhooks) == ["first"]
    assert list(store.snapshots.snapshot([tenant])[tenant].webhooks) == ["first", "second"]


def test_a_value_made_with_a_removed_key_is_caught_at_start_up(store: Store, tenant: str) -> None:
    """Key A made three values; B is put first and two values change; A is then dropped."""
    key_a, key_b = generate_key(), generate_key()
    with_a = Store(store.engine, Keyring([key_a]))
    for name in ("one", "two", "three"):
        with_a.catalog.create(tenant, definition(name), actor="op")
    with_both = Store(store.engine, Keyring([key_b, key_a]))
    for name in ("one", "three"):
        with_both.catalog.update(tenant, name, {"headers": {"X-Api-Key": "new"}}, actor="op")
    with_both.keys.verify()
    with pytest.raises(KeyMismatch, match="not configured"):
        Store(store.engine, Keyring([key_b])).keys.verify()
    with_both.keys.rotate()
    Store(store.engine, Keyring([key_b])).keys.verify()


def test_values_from_before_key_ids_are_each_decrypted(store: Store, tenant: str) -> None:
    from sqlalchemy import update

    from webhooks.store import _schema as db

    store.catalog.create(tenant, definition(), actor="op")
    with store.engine.begin() as connection:
        connection.execute(update(db.WebhookHeader).values(key_id=None))
    store.keys.verify()
    with pytest.raises(KeyMismatch):
        Store(store.engine, Keyring([generate_key()])).keys.verify()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://attacker.example.net/orders", id="host"),
        pytest.param("https://api.example.com:8443/orders", id="port"),
        pytest.param("https://api.example.com/echo", id="path"),
        pytest.param("https://api.example.com/orders/", id="trailing-slash"),
        pytest.param("https://api.example.com/orders?debug=echo", id="query"),
    ],
)
def test_changing_the_url_needs_every_header_again(store: Store, tenant: str, url: str) -> None:
    store.catalog.create(
        tenant, definition(headers={"X-Api-Key": CANARY, "X-Team": "t"}), actor="o"
    )
    with pytest.raises(InvalidDefinition) as caught:
        store.catalog.update(tenant, "order_status", {"url": url}, actor="o")
    error = caught.value.errors[0]
    assert (error.field, error.code) == ("headers", "headers_required")
    assert CANARY not in str(caught.value)
    # The same URL (its host in other letters): headers stay. A new URL with every header
    # given again or removed: fine.
    store.catalog.update(
        tenant, "order_status", {"url": "https://API.example.com/orders"}, actor="o"
    )
    moved = store.catalog.update(
        tenant,
        "order_status",
        {"url": url, "headers": {"X-Api-Key": "fresh", "X-Team": None}},
        actor="o",
    )
    assert store.catalog.headers_for(moved) == {"X-Api-Key": "fresh"}


def test_a_kept_list_is_never_served_after_a_change_by_another_process(
    tenant: str, database_url: str
) -> None:
    """The list a store keeps goes stale with nothing: every change, by any store on the
    database (another replica), is in the next list or get; revoking a token, at once."""
    old_key, new_key = generate_key(), generate_key()
    kept = Store(make_engine(database_url), Keyring([old_key]))
    other = Store(make_engine(database_url), Keyring([old_key]))
    rotated = Store(other.engine, Keyring([new_key, old_key]))
    try:
        kept.catalog.create(tenant, definition(), actor="op")
        _, token = other.accounts.create_operator(tenant, "ops", permissions=[READ], actor="op")
        kept.accounts.authenticate(token)
        changes = (
            lambda: other.catalog.update(tenant, "order_status", {"enabled": False}, actor="op"),
            lambda: other.catalog.update(
                tenant, "order_status", {"headers": {"X-Other": "v"}}, actor="op"
            ),
            lambda: other.signing.create(tenant, "order_status", actor="op"),
            lambda: rotated.keys.rotate(),
            lambda: rotated.catalog.create(tenant, definition("second"), actor="op"),
        )
        seen = [kept.catalog.list(tenant)]
        for change in changes:
            assert kept.catalog.list(tenant) == seen[-1]  # kept, and the same
            change()
            assert kept.catalog.list(tenant) == other.catalog.list(tenant)
            assert kept.catalog.get(tenant, "order_status") == other.catalog.get(
                tenant, "order_status"
            )
            seen.append(kept.catalog.list(tenant))
        # Each change was seen (a rotation changes the sealed values only).
        assert all(
            [(w, w.sealed_headers) for w in before] != [(w, w.sealed_headers) for w in after]
            for before, after in itertools.pairwise(seen)
        )
        rotated.catalog.delete(tenant, "second", actor="op")
        with pytest.raises(NotFound):
            kept.catalog.get(tenant, "second")
        (operator,) = [o for o in other.accounts.list_operators(tenant) if o.name == "ops"]
        other.accounts.revoke_tokens(tenant, operator.id, actor="op")
        with pytest.raises(Unauthenticated):
            kept.accounts.authenticate(token)
    finally:
        kept.engine.dispose()
        other.engine.dispose()


def test_reads_inside_reading_take_two_statements(store: Store, tenant: str) -> None:
    """An admin request's reads (operator, tenant, a kept list, last Tests, pauses) are two
    statements, the tenant's row read with the operator: on SQLite in one transaction, on
    PostgreSQL each on its own (autocommit: no BEGIN or COMMIT round trip). A list read anew
    reads its definitions in a transaction, on PostgreSQL REPEATABLE READ."""
    from sqlalchemy import event

    store.accounts.set_skill(tenant, True, actor="op")
    _, token = store.accounts.create_operator(tenant, "ops", permissions=[MANAGE], actor="op")
    store.catalog.create(tenant, definition(), actor="op")
    store.catalog.list(tenant)  # now kept
    statements: list[tuple[str, bool]] = []
    begins: list[object] = []

    def seen(conn: Any, cursor: object, statement: str, *args: object) -> None:
        dbapi = conn.connection.dbapi_connection
        # psycopg's own state, not SQLAlchemy's idea of it; SQLite is never in autocommit here.
        alone = bool(getattr(dbapi, "autocommit", False)) and conn.dialect.name == "postgresql"
        if statement != "BEGIN":  # SQLite's, sent by the engine's begin hook
            statements.append((statement, alone))

    def began(conn: object) -> None:
        begins.append(conn)

    event.listen(store.engine, "before_cursor_execute", seen)
    event.listen(store.engine, "begin", began)
    postgres = store.engine.dialect.name == "postgresql"
    try:
        with store.reading():
            operator = store.accounts.authenticate(token)
            store.accounts.require(operator, READ)
            store.looks.read(tenant)
            store.catalog.list(tenant)
            store.catalog.get(tenant, "order_status")
        assert len(statements) == 2, [statement[:60] for statement, _ in statements]
        assert "FROM api_tokens JOIN operators" in statements[0][0]
        assert "JOIN tenants" in statements[0][0]
        assert "webhook_tests" in statements[1][0]
        if postgres:
            assert all(alone for _, alone in statements)
        else:
            assert len(begins) == 1

        store.catalog.update(tenant, "order_status", {"timeout": 5}, replace=False, actor="op")
        statements.clear()
        with store.reading():
            store.accounts.authenticate(token)
            assert store.catalog.list(tenant)[0].timeout == 5
        read_anew = [alone for statement, alone in statements if "FROM webhooks" in statement]
        assert read_anew
        assert not any(read_anew)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
        event.remove(store.engine, "begin", began)


def test_a_write_inside_reading_is_refused(store: Store, tenant: str) -> None:
    """Its reads would not see it (and SQLite without WAL would wait on itself): a mistake of
    the caller's, said at once; nothing is written and reading goes on."""
    with store.reading():
        store.accounts.get_tenant(tenant)
        with pytest.raises(RuntimeError, match=r"inside Store\.reading"):
            store.catalog.create(tenant, definition(), actor="op")
        assert store.catalog.list(tenant) == []
    store.catalog.create(tenant, definition(), actor="op")
    assert [w.name for w in store.catalog.list(tenant)] == ["order_status"]


def test_reading_ends_with_its_block_whatever_happens(store: Store, tenant: str) -> None:
    """An error inside leaves no transaction open on the thread; another thread has its own."""
    seen: list[object] = []
    with pytest.raises(NotFound), store.reading():
        store.catalog.get(tenant, "missing")
    store.catalog.create(tenant, definition(), actor="op")  # no read left open: allowed

    def other() -> None:
        with store.reading():
            seen.append(store._tables._open_read.session)

    with store.reading():
        mine = store._tables._open_read.session
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen[0] is not None
    assert seen[0] is not mine
    assert store._tables._open_read.session is None


def _end_pooled_connection(store: Store) -> None:
    """End the store's one pooled connection from another, as a database restart would."""
    with store.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert store.engine.pool.checkedin() == 1
    killer = make_engine(store.engine.url.render_as_string(hide_password=False))
    try:
        with killer.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        killer.dispose()


@pytest.mark.postgres
def test_a_connection_idle_for_a_while_is_checked_before_use(
    store: Store, tenant: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that waited in the pool is pinged first: one the database ended is
    replaced, and nobody sees it fail."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    import webhooks.store._database

    _end_pooled_connection(store)
    monkeypatch.setattr(webhooks.store._database, "PING_AFTER_IDLE", 0.0)
    assert store.accounts.get_tenant(tenant).name == tenant


@pytest.mark.postgres
def test_a_connection_lost_under_load_says_so_and_the_next_read_works(
    store: Store, tenant: str, database_url: str
) -> None:
    """A connection reused at once is not pinged: if the database ended it, the read fails
    as StoreUnavailable marked connection_lost (what lets a read be tried again), and the
    pool's older connections are replaced, so the next read works."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    from webhooks import StoreUnavailable

    _end_pooled_connection(store)
    with pytest.raises(StoreUnavailable) as failed:
        store.accounts.get_tenant(tenant)
    assert failed.value.connection_lost
    assert store.accounts.get_tenant(tenant).name == tenant
