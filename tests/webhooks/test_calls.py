"""The webhook call both servers make (``WebhookCalls``), against a real SQLite store and a
real local HTTPS server: what it sends, answers, counts and logs, and each way it can fail."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from sqlalchemy import text

from webhooks import (
    FAILURES_TO_PAUSE,
    Category,
    ConversationLimits,
    Egress,
    Keyring,
    Metrics,
    Registry,
    Store,
    Webhook,
    WebhookCalls,
    WebhookResult,
    call_logger,
    generate_key,
    make_engine,
    migrate,
)
from webhooks.calls._pauses import Pauses
from webhooks.egress._redaction import MASK

from .conftest import LOOPBACK_RULES, SECRET
from .https_server import LocalServer

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("connection_attempts")]

#: The logger the calls under test write to.
LOGGER = "tests.webhooks.calls"

MakeCalls = Callable[..., WebhookCalls]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store whose definitions may name the local server; tenant acme with
    its skill on."""
    engine = make_engine(f"sqlite:///{tmp_path / 'calls.db'}")
    migrate(engine)
    store = Store(engine, Keyring([generate_key()]), rules=LOOPBACK_RULES)
    store.accounts.create_tenant("acme", actor="test")
    store.accounts.set_skill("acme", True, actor="test")
    yield store
    engine.dispose()


@pytest.fixture
def limits(store: Store) -> ConversationLimits:
    return ConversationLimits(store.engine, limit=2)


@pytest.fixture
def make_calls(
    store: Store, egress: Egress, limits: ConversationLimits, caplog: pytest.LogCaptureFixture
) -> Iterator[MakeCalls]:
    """Calls over the store as it is now (its registry loaded), logging to :data:`LOGGER`."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    made: list[WebhookCalls] = []

    def make(*, egress: Egress = egress, **words: Any) -> WebhookCalls:
        registry = Registry(store, listener=lambda name, snapshot: None)
        registry.load()
        made.append(
            calls := WebhookCalls(
                store=store,
                registry=registry,
                egress=egress,
                limits=limits,
                metrics=Metrics(),
                logger=call_logger(LOGGER),
                **({"event": "webhook_call", "noun": "action"} | words),
            )
        )
        return calls

    yield make
    for calls in made:
        calls.claims.close()


def define(store: Store, url: str, name: str = "order_status") -> None:
    store.catalog.create(
        "acme",
        {
            "name": name,
            "description": "Look up the status of an order",
            "url": url,
            "parameters": [
                {"name": "order_id", "type": "integer", "description": "your order number"}
            ],
            "headers": {"X-Api-Key": SECRET},
            "timeout": 2,
        },
        actor="test",
    )


def usable(calls: WebhookCalls, name: str = "order_status") -> Webhook:
    webhook = calls.usable("acme", name)
    assert isinstance(webhook, Webhook)
    return webhook


def counted(calls: WebhookCalls, action: str, outcome: str) -> float:
    labels = {"tenant": "acme", "action": action, "outcome": outcome}
    return calls.metrics.registry.get_sample_value("webhook_calls_total", labels) or 0.0


def timed(calls: WebhookCalls) -> float:
    """How many calls the latency histogram observed."""
    labels = {"tenant": "acme"}
    return calls.metrics.registry.get_sample_value("webhook_call_seconds_count", labels) or 0.0


def lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def one_line(caplog: pytest.LogCaptureFixture, pattern: str) -> None:
    (line,) = lines(caplog)
    assert re.fullmatch(pattern, line), line


async def test_a_call_sends_answers_counts_and_logs_one_line(
    store: Store,
    server: LocalServer,
    limits: ConversationLimits,
    make_calls: MakeCalls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    define(store, server.url("/echo"))
    calls = make_calls()
    result = await calls.call("acme", usable(calls), {"order_id": 7}, "alice:1")
    assert isinstance(result, WebhookResult)
    assert (result.status, result.data) == (200, {"method": "POST", "query": []})
    (seen,) = server.seen.requests
    assert seen["body"] == b'{"order_id":7}'
    assert seen["headers"]["X-Api-Key"] == SECRET
    assert limits.calls("acme", "alice:1") == 1
    assert counted(calls, "order_status", "ok") == 1
    assert timed(calls) == 1
    one_line(
        caplog,
        r"webhook_call tenant=acme action=order_status status=200 category=ok "
        r"elapsed_ms=\d+\.\d truncated=False",
    )
    assert SECRET not in caplog.text


async def test_header_values_an_endpoint_echoes_are_masked(
    store: Store, server: LocalServer, make_calls: MakeCalls, caplog: pytest.LogCaptureFixture
) -> None:
    define(store, server.url("/headers"))
    calls = make_calls(event="tool_call", noun="tool")
    result = await calls.call("acme", usable(calls), {"order_id": 7}, "session:1")
    assert isinstance(result, WebhookResult)
    assert SECRET not in result.text
    assert isinstance(result.data, dict)
    assert result.data["X-Api-Key"] == MASK
    one_line(caplog, r"tool_call tenant=acme tool=order_status status=200 category=ok .*")


@pytest.mark.parametrize(
    ("path", "category"),
    [
        pytest.param("/status/503", Category.UNAVAILABLE, id="5xx-unavailable"),
        pytest.param("/status/404", Category.NOT_FOUND, id="404-not-found"),
        pytest.param("/status/400", Category.REJECTED, id="4xx-rejected"),
    ],
)
async def test_a_failed_call_is_recorded_with_its_status_and_time(
    store: Store,
    server: LocalServer,
    make_calls: MakeCalls,
    caplog: pytest.LogCaptureFixture,
    path: str,
    category: Category,
) -> None:
    define(store, server.url(path))
    calls = make_calls()
    assert (
        await calls.call("acme", usable(calls), {"order_id": 7}, "alice:1")
    ).category is category
    assert counted(calls, "order_status", category) == 1
    assert timed(calls) == 1  # it reached the network
    status = path.rsplit("/", 1)[1]
    one_line(
        caplog,
        rf"webhook_call tenant=acme action=order_status status={status} category={category} "
        r"elapsed_ms=\d+\.\d truncated=False",
    )


async def test_a_refused_destination_is_recorded_without_a_status(
    store: Store,
    server: LocalServer,
    make_calls: MakeCalls,
    client_ssl_context: ssl.SSLContext,
    connection_attempts: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    define(store, server.url("/echo"))
    # The store allows loopback (tests only); this egress, like a deployment's, does not.
    async with Egress(ssl_context=client_ssl_context) as strict:
        calls = make_calls(egress=strict)
        outcome = await calls.call("acme", usable(calls), {"order_id": 7}, "alice:1")
    assert outcome.category is Category.REFUSED
    assert connection_attempts == []
    assert counted(calls, "order_status", "refused") == 1
    one_line(caplog, r"webhook_call tenant=acme action=order_status status=- category=refused .*")


async def test_the_conversation_limit_refuses_a_call_before_it_is_sent(
    store: Store, server: LocalServer, make_calls: MakeCalls, caplog: pytest.LogCaptureFixture
) -> None:
    define(store, server.url("/echo"))
    calls = make_calls()
    webhook = usable(calls)
    for _ in range(2):  # the limit
        assert isinstance(await calls.call("acme", webhook, {}, "alice:1"), WebhookResult)
    assert (await calls.call("acme", webhook, {}, "alice:1")).category is Category.RATE_LIMITED
    assert isinstance(await calls.call("acme", webhook, {}, "bob:1"), WebhookResult)
    assert len(server.seen.requests) == 3
    assert counted(calls, "order_status", "rate_limited") == 1
    assert lines(caplog)[2] == (
        "webhook_call tenant=acme action=order_status status=- category=rate_limited "
        "elapsed_ms=0.0 truncated=False"
    )


async def test_a_header_no_key_opens_is_unavailable_and_neither_counted_nor_sent(
    store: Store,
    server: LocalServer,
    limits: ConversationLimits,
    make_calls: MakeCalls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    define(store, server.url("/echo"))
    with store.engine.begin() as connection:  # a key removed without `keys rotate`
        connection.execute(text("UPDATE webhook_headers SET value_encrypted = 'gAAAAAbroken'"))
    calls = make_calls()
    outcome = await calls.call("acme", usable(calls), {"order_id": 7}, "alice:1")
    assert outcome.category is Category.UNAVAILABLE
    assert server.seen.requests == []
    assert limits.calls("acme", "alice:1") == 0
    assert counted(calls, "order_status", "unavailable") == 1
    assert lines(caplog, logging.ERROR) == [
        "cannot build the request: tenant=acme action=order_status (KeyMismatch); "
        "answered as unavailable"
    ]
    one_line(
        caplog, r"webhook_call tenant=acme action=order_status status=- category=unavailable .*"
    )


async def test_a_call_the_store_cannot_count_is_unavailable_and_not_sent(
    store: Store,
    server: LocalServer,
    limits: ConversationLimits,
    make_calls: MakeCalls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    define(store, server.url("/echo"))
    calls = make_calls()
    webhook = usable(calls)
    limits.claim("acme", "warm:1")  # the tenant is known: what fails is the count itself
    with store.engine.begin() as connection:  # the store's claims cannot be kept any more
        connection.execute(text("DROP TABLE conversation_calls"))
    assert (
        await calls.call("acme", webhook, {"order_id": 7}, "alice:1")
    ).category is Category.UNAVAILABLE
    assert server.seen.requests == []
    assert counted(calls, "order_status", "unavailable") == 1
    assert lines(caplog, logging.WARNING) == [
        "cannot count the call: tenant=acme action=order_status (StoreUnavailable); "
        "answered as unavailable"
    ]


async def test_usable_says_why_a_call_cannot_run(store: Store, make_calls: MakeCalls) -> None:
    define(store, "https://127.0.0.1/echo")
    calls = make_calls()
    assert calls.usable("acme", "order_status") == usable(calls)
    assert calls.usable("acme", "made_up") is Category.NOT_CONFIGURED
    assert calls.usable("globex", "order_status") is Category.DISABLED
    store.accounts.set_skill("acme", False, actor="test")
    assert make_calls().usable("acme", "order_status") is Category.DISABLED


@pytest.mark.parametrize(
    ("log_unknown_names", "logged"),
    [
        pytest.param(False, "(unknown)", id="as-unknown"),
        pytest.param(True, "made_up", id="as-sent"),
    ],
)
async def test_a_name_the_store_does_not_have_makes_no_series(
    store: Store,
    make_calls: MakeCalls,
    caplog: pytest.LogCaptureFixture,
    log_unknown_names: bool,
    logged: str,
) -> None:
    define(store, "https://127.0.0.1/echo")
    calls = make_calls(log_unknown_names=log_unknown_names)
    calls.refuse("acme", "made_up", Category.NOT_CONFIGURED)
    calls.refuse("acme", "order_status", Category.DISABLED)
    assert counted(calls, "made_up", "not_configured") == 0
    assert counted(calls, "(unknown)", "not_configured") == 1
    assert counted(calls, "order_status", "disabled") == 1
    assert timed(calls) == 0  # nothing reached the network
    assert lines(caplog) == [
        f"webhook_call tenant=acme action={logged} status=- category=not_configured "
        "elapsed_ms=0.0 truncated=False",
        "webhook_call tenant=acme action=order_status status=- category=disabled "
        "elapsed_ms=0.0 truncated=False",
    ]


async def test_log_writes_the_line_without_counting(
    store: Store, make_calls: MakeCalls, caplog: pytest.LogCaptureFixture
) -> None:
    define(store, "https://127.0.0.1/echo")
    calls = make_calls(event="tool_call", noun="tool")
    calls.log("acme", "order_status", "invalid_arguments")
    assert counted(calls, "order_status", "invalid_arguments") == 0
    assert lines(caplog) == [
        "tool_call tenant=acme tool=order_status status=- category=invalid_arguments "
        "elapsed_ms=0.0 truncated=False"
    ]


async def test_a_percent_sign_in_the_words_is_no_format(
    make_calls: MakeCalls, caplog: pytest.LogCaptureFixture
) -> None:
    calls = make_calls(event="call_100%", noun="tool%s")
    calls.refuse("acme", "made_up", Category.NOT_CONFIGURED)
    assert lines(caplog)[0].startswith("call_100% tenant=acme tool%s=(unknown) status=- ")


async def test_forget_drops_the_decrypted_header_values(
    store: Store, make_calls: MakeCalls
) -> None:
    define(store, "https://127.0.0.1/echo")
    calls = make_calls()
    webhook = usable(calls)
    decrypted = calls.header_values.of(webhook)
    assert calls.header_values.of(webhook) is decrypted  # decrypted once
    calls.forget("acme")
    again = calls.header_values.of(webhook)
    assert again is not decrypted
    assert again == decrypted == {"X-Api-Key": SECRET}


# -- signatures, retries and pauses ------------------------------------------------------


async def test_a_call_is_signed_with_the_actions_secrets(
    store: Store, server: LocalServer, make_calls: MakeCalls, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    define(store, server.url("/echo"))
    _, old = store.signing.create("acme", "order_status", actor="test")
    _, new = store.signing.create("acme", "order_status", actor="test")
    calls = make_calls()
    assert isinstance(
        await calls.call("acme", usable(calls), {"order_id": 7}, "a:1"), WebhookResult
    )
    (seen,) = server.seen.requests
    for secret in (old, new):
        verified = standardwebhooks.Webhook(secret).verify(seen["body"], dict(seen["headers"]))
        assert verified == {"order_id": 7}
        assert secret not in caplog.text


async def test_a_retried_call_counts_once_and_its_retries_are_counted(
    store: Store,
    server: LocalServer,
    limits: ConversationLimits,
    make_calls: MakeCalls,
) -> None:
    server.scripts["k"] = [("status", 503, {"Retry-After": "0"})]
    define(store, server.url("/script/k"))
    calls = make_calls()
    assert isinstance(
        await calls.call("acme", usable(calls), {"order_id": 7}, "a:1"), WebhookResult
    )
    assert len(server.seen.requests) == 2
    assert limits.calls("acme", "a:1") == 1
    labels = {"tenant": "acme", "action": "order_status", "reason": "503"}
    assert calls.metrics.registry.get_sample_value("webhook_retries_total", labels) == 1
    assert counted(calls, "order_status", "ok") == 1


async def test_a_failing_service_is_paused_then_probed_and_served_again(
    store: Store,
    server: LocalServer,
    limits: ConversationLimits,
    make_calls: MakeCalls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Five 500s in a row: the next users are answered at once, with nothing sent or counted
    against their conversation, and the console's record says so; after the pause one call
    probes, finds the service back, and everyone is served again."""
    server.scripts["k"] = [("status", 500)] * FAILURES_TO_PAUSE
    define(store, server.url("/script/k"))
    calls = make_calls(pauses=Pauses(first_pause=0.3))
    webhook = usable(calls)
    for turn in range(FAILURES_TO_PAUSE):
        failure = await calls.call("acme", webhook, {"order_id": 7}, f"u{turn}:1")
        assert getattr(failure, "category", None) is Category.UNAVAILABLE
    assert len(server.seen.requests) == FAILURES_TO_PAUSE
    assert any(
        "calls paused: tenant=acme action=order_status" in line
        for line in lines(caplog, logging.WARNING)
    )

    started = time.perf_counter()
    failure = await calls.call("acme", webhook, {"order_id": 7}, "late:1")
    assert time.perf_counter() - started < 0.05
    assert getattr(failure, "category", None) is Category.UNAVAILABLE
    assert len(server.seen.requests) == FAILURES_TO_PAUSE  # nothing sent
    assert limits.calls("acme", "late:1") == 0  # nor counted
    assert counted(calls, "order_status", "paused") == 1
    await asyncio.gather(*calls._writes.values())
    (pause,) = store.looks.pauses("acme").values()
    assert (pause.failures, pause.reason) == (FAILURES_TO_PAUSE, "unavailable")
    labels = {"tenant": "acme", "action": "order_status"}
    assert calls.metrics.registry.get_sample_value("webhook_paused", labels) == 1

    await asyncio.sleep(0.3)
    assert isinstance(await calls.call("acme", webhook, {"order_id": 7}, "probe:1"), WebhookResult)
    assert isinstance(await calls.call("acme", webhook, {"order_id": 7}, "next:1"), WebhookResult)
    assert any("calls resumed" in line for line in lines(caplog))
    await asyncio.gather(*calls._writes.values())
    assert store.looks.pauses("acme") == {}
    assert calls.metrics.registry.get_sample_value("webhook_paused", labels) == 0
    assert calls.metrics.registry.get_sample_value("webhook_pauses_total", labels) == 1
