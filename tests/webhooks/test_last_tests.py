"""The last Test of each webhook, on SQLite and PostgreSQL: kept, replaced, deleted with its
webhook, and invisible to everything that watches the definitions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.webhooks.test_store import definition
from webhooks import LastTest, NotFound, Store
from webhooks.store import _schema as db

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ANSWERED = LastTest(at=AT, ok=False, status=503, category="unavailable", elapsed_ms=12.5)
FAILED = LastTest(at=AT + timedelta(minutes=1), ok=False, category="unreachable")


@pytest.fixture
def tenant(store: Store) -> str:
    store.accounts.create_tenant("acme", actor="test")
    store.catalog.create("acme", definition("order_status"), actor="test")
    store.catalog.create("acme", definition("opening_hours"), actor="test")
    return "acme"


def test_a_test_is_kept_and_the_next_replaces_it(store: Store, tenant: str) -> None:
    assert store.looks.last_tests(tenant) == {}
    store.tests.record(tenant, "order_status", ANSWERED, actor="op")
    assert store.looks.last_tests(tenant) == {"order_status": ANSWERED}
    store.tests.record(tenant, "order_status", FAILED, actor="op")
    store.tests.record(tenant, "opening_hours", ANSWERED, actor="op")
    assert store.looks.last_tests(tenant) == {"order_status": FAILED, "opening_hours": ANSWERED}


def test_recording_a_test_changes_nothing_the_definitions_readers_watch(
    store: Store, tenant: str
) -> None:
    watched = (
        store.snapshots.versions(),
        store.snapshots.change_mark(),
        store.snapshots.snapshot(),
        store.catalog.get(tenant, "order_status"),
    )
    store.tests.record(tenant, "order_status", ANSWERED, actor="op")
    store.tests.record(tenant, "order_status", FAILED, actor="op")
    assert (
        store.snapshots.versions(),
        store.snapshots.change_mark(),
        store.snapshots.snapshot(),
        store.catalog.get(tenant, "order_status"),
    ) == watched


def test_every_test_is_in_the_audit_log_with_its_outcome(store: Store, tenant: str) -> None:
    store.catalog.update(
        tenant,
        "order_status",
        {
            "url": "https://api.example.com/orders?key=s3cret-query-value",
            "headers": {"X-Api-Key": "k"},
        },
        actor="op",
    )
    store.tests.record(tenant, "order_status", ANSWERED, actor="operator:7:ana")
    store.tests.record(tenant, "order_status", FAILED, actor="operator:7:ana")
    failed, answered = store.audit(tenant, limit=2)
    assert (answered.actor, answered.action, answered.target, answered.before) == (
        "operator:7:ana",
        "webhook.test",
        "webhook:order_status",
        None,
    )
    assert answered.after == {
        "url": "https://api.example.com/orders?key=***",
        "ok": False,
        "status": 503,
        "category": "unavailable",
        "elapsed_ms": 12.5,
    }
    assert failed.after is not None
    assert (failed.after["ok"], failed.after["category"]) == (False, "unreachable")
    # Deleted while its Test ran: the Test still went out, so it is still audited.
    with pytest.raises(NotFound):
        store.tests.record(tenant, "no_such_hook", ANSWERED, actor="operator:7:ana")
    assert store.audit(tenant, limit=1)[0].target == "webhook:no_such_hook"


def test_the_record_goes_with_its_webhook(store: Store, tenant: str) -> None:
    store.tests.record(tenant, "order_status", ANSWERED, actor="op")
    store.catalog.delete(tenant, "order_status", actor="test")
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(db.WebhookTest)) == 0
    store.catalog.create(tenant, definition("order_status"), actor="test")
    assert store.looks.last_tests(tenant) == {}


def test_only_the_tenants_own_webhooks_are_recorded(store: Store, tenant: str) -> None:
    store.accounts.create_tenant("globex", actor="test")
    with pytest.raises(NotFound):
        store.tests.record("globex", "order_status", ANSWERED, actor="op")
    with pytest.raises(NotFound):
        store.tests.record(tenant, "no_such_hook", ANSWERED, actor="op")
    assert store.looks.last_tests(tenant) == {}
    assert store.looks.last_tests("globex") == {}


def test_tests_ending_together_each_replace_the_record(store: Store, tenant: str) -> None:
    results = [LastTest(at=AT, ok=True, status=200 + n, elapsed_ms=1.0) for n in range(8)]
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(results))

    def record(result: LastTest) -> None:
        barrier.wait()
        try:
            store.tests.record(tenant, "order_status", result, actor="op")
        except BaseException as exc:  # collected: a thread's exception would be lost
            failures.append(exc)

    threads = [threading.Thread(target=record, args=(result,)) for result in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.looks.last_tests(tenant)["order_status"] in results


def test_looks_answer_what_last_tests_and_pauses_answer_in_one_statement(
    store: Store, tenant: str
) -> None:
    """One action with a Test, one with pauses of two server processes (one long over), a
    third with both, a fourth with neither: the one statement tells each apart."""
    from sqlalchemy import event

    from webhooks import CallPause

    now = datetime.now(UTC)
    current = CallPause(since=now, until=now + timedelta(seconds=30), failures=5, reason="timeout")
    later = CallPause(since=now, until=now + timedelta(seconds=60), failures=6, reason="timeout")
    over = CallPause(since=AT, until=AT + timedelta(seconds=30), failures=5, reason="timeout")
    store.catalog.create(tenant, definition("both"), actor="test")
    store.catalog.create(tenant, definition("neither"), actor="test")
    store.tests.record(tenant, "order_status", ANSWERED, actor="op")
    store.pauses.record(tenant, "opening_hours", "replica-a", current)
    store.pauses.record(tenant, "opening_hours", "replica-b", over)
    store.tests.record(tenant, "both", FAILED, actor="op")
    store.pauses.record(tenant, "both", "replica-a", current)
    store.pauses.record(tenant, "both", "replica-b", later)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with store.reading():
        event.listen(store.engine, "before_cursor_execute", seen)
        try:
            tests, pauses = store.looks.read(tenant)
        finally:
            event.remove(store.engine, "before_cursor_execute", seen)
    assert tests == {"order_status": ANSWERED, "both": FAILED} == store.looks.last_tests(tenant)
    assert pauses == {"opening_hours": current, "both": later} == store.looks.pauses(tenant)
    assert len([s for s in statements if "webhook" in s]) == 1
