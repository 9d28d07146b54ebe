"""A real action server (``python -m actions serve``) and a real HTTPS webhook (trustme CA).

The webhook server runs on its own event loop in a thread, so the tests can stay plain
functions that talk HTTP to the action server like Rasa does, with request bodies built from
payloads captured from a real Rasa 3.6.21 (``fixtures/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from bench.fixtures import with_dispatch_slots
from tests.conftest import database_for
from tests.servers import start_server, stop
from tests.webhooks.https_server import LocalServer
from webhooks import (
    ACTION_SLOT,
    ANSWER_SLOT,
    ASKING_SLOT,
    CALL_ACTION,
    DISPATCH_SLOTS,
    DISPATCH_VALIDATOR,
    VALUES_SLOT,
    EgressRules,
    Keyring,
    NotFound,
    Store,
    generate_key,
    make_engine,
    migrate,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).with_name("fixtures")
CANARY = "canary-5c0e1f-action-header-value"


class ThreadedWebhook:
    """A LocalServer on its own loop in a daemon thread."""

    def __init__(self, ca: trustme.CA) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server = LocalServer(context)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        self._garbage = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._answer_garbage, "127.0.0.1", 0, ssl=context), self.loop
        ).result(10)
        # No TLS at all: the client's handshake fails.
        self._plain = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._answer_garbage, "127.0.0.1", 0), self.loop
        ).result(10)

    @staticmethod
    async def _answer_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    def garbage_url(self) -> str:
        """A TLS server on 127.0.0.1 that answers anything with bytes that are not HTTP."""
        return f"https://127.0.0.1:{self._garbage.sockets[0].getsockname()[1]}/"

    def plain_url(self) -> str:
        """A server on 127.0.0.1 that speaks no TLS: every handshake with it fails."""
        return f"https://127.0.0.1:{self._plain.sockets[0].getsockname()[1]}/"

    def url(self, path: str) -> str:
        return self.server.url(path)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.server.seen.requests

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._garbage.close)
        self.loop.call_soon_threadsafe(self._plain.close)
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def load_fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


#: The action servers' metrics token in these tests.
METRICS_TOKEN = "metrics-" + "x" * 24


class ServerEnv:
    """A server of ours under test, on a store, calling the local HTTPS webhook: the
    definitions of tenant acme it serves, and the wait until it has the store's changes."""

    base_url: str
    store: Store
    webhook: ThreadedWebhook

    def definition(self, name: str, path: str = "/echo", **changes: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": name,
            "description": "Look up the status of an order",
            "url": self.webhook.url(path),
            "parameters": [
                {"name": "order_id", "type": "integer", "description": "your order number"}
            ],
            "headers": {"X-Api-Key": CANARY},
            "timeout": 2,
        }
        data.update(changes)
        return data

    def put(self, name: str, **changes: Any) -> None:
        """Create or replace ``name`` in tenant acme and wait until the server has it."""
        with contextlib.suppress(NotFound):  # absent is fine
            self.store.catalog.delete("acme", name, actor="test")
        self.store.catalog.create("acme", self.definition(name, **changes), actor="test")
        self.wait_refreshed()

    def wait_refreshed(self, base_url: str | None = None) -> None:
        """Wait until the server at ``base_url`` (this one by default) has every change."""
        version = sum(self.store.snapshots.versions().values())
        health = (base_url or self.base_url) + "/health"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if httpx.get(health).json()["version"] >= version:
                return
            time.sleep(0.02)
        raise AssertionError("the server did not pick up the change")


@dataclass
class ActionEnv(ServerEnv):
    base_url: str
    store: Store
    token: str
    webhook: ThreadedWebhook
    log_path: Path
    database_url: str

    def call(
        self,
        payload: dict[str, Any],
        *,
        tenant: str = "acme",
        token: str | None = None,
    ) -> httpx.Response:
        return httpx.post(
            f"{self.base_url}/tenants/{tenant}/webhook",
            params={"token": token or self.token},
            json=payload,
            timeout=30,
        )


def start_action_server(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_server("actions", env, log_path)


@contextlib.contextmanager
def store_and_webhook(
    kind: str, tmp: Path, request: pytest.FixtureRequest, tenants: tuple[str, ...] = ("acme",)
) -> Iterator[tuple[Store, ThreadedWebhook, dict[str, str]]]:
    """For a server of ours under test: a migrated store on ``kind`` (sqlite, postgresql) with
    ``tenants``, skill on; the local HTTPS webhook; and the environment that serves both, with
    the test-only allowance for loopback."""
    databases = database_for(kind, tmp, request)
    database_url = next(databases)
    key = generate_key()
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
    for tenant in tenants:
        store.accounts.create_tenant(tenant, actor="test")
        store.accounts.set_skill(tenant, True, actor="test")
    ca = trustme.CA()
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    webhook = ThreadedWebhook(ca)
    env = {
        "DATABASE_URL": database_url,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
        "WEBHOOKS_CA_FILE": str(ca_file),
        "WEBHOOKS_REFRESH_INTERVAL": "0.1",
        "WEBHOOKS_LOG_LEVEL": "DEBUG",
        "WEBHOOKS_METRICS_TOKEN": METRICS_TOKEN,
    }
    try:
        yield store, webhook, env
    finally:
        webhook.stop()
        engine.dispose()
        next(databases, None)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def action_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ActionEnv]:
    tmp = tmp_path_factory.mktemp("actions")
    log_path = tmp / "actions.log"
    with store_and_webhook(request.param, tmp, request) as (store, webhook, env):
        token = store.accounts.issue_action_token("acme", actor="test")
        process, base_url = start_action_server(env | {"WEBHOOKS_DEFAULT_TENANT": "acme"}, log_path)
        try:
            yield ActionEnv(base_url, store, token, webhook, log_path, env["DATABASE_URL"])
        finally:
            stop(process)
    # Rasa sends every slot its domain declares: a lookup of one left out (rasa-sdk logs it)
    # means a test's call is not one Rasa would make.
    left_out = set(re.findall(r"non existent slot '(\w+)'", log_path.read_text()))
    assert not left_out, f"calls left out slots Rasa always sends: {sorted(left_out)}"


def payload(
    template: str,
    *,
    action: str | None = None,
    sender: str | None = None,
    slots: dict[str, Any] | None = None,
    text: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    validate: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A captured Rasa request, adapted: the action to run, the sender, slot values.

    ``validate`` appends slot events at the end of the tracker, as Rasa does for the slot
    candidates a form's validation action must judge. Fixture names say what was captured.
    """
    call = copy.deepcopy(load_fixture(template))
    original = call["tracker"]["sender_id"]
    sender = sender or f"user-{uuid.uuid4().hex[:8]}"
    if action is not None:
        old = call["next_action"]
        call["next_action"] = action
        _rename(call, old, action)
    call["sender_id"] = sender
    call["tracker"]["sender_id"] = sender
    assert original
    if slots:
        call["tracker"]["slots"].update(slots)
    if text is not None:
        call["tracker"]["latest_message"]["text"] = text
    if entities is not None:
        call["tracker"]["latest_message"]["entities"] = entities
    if validate is not None:
        events = call["tracker"]["events"]
        while events and events[-1].get("event") == "slot":
            events.pop()
        for name, value in validate.items():
            events.append({"event": "slot", "name": name, "value": value, "timestamp": time.time()})
            call["tracker"]["slots"][name] = value
    return call


def _rename(call: dict[str, Any], old: str, new: str) -> None:
    """Make the captured domain describe ``new`` as it described ``old`` (action and form)."""
    old_base = old.removeprefix("validate_").removesuffix("_form")
    new_base = new.removeprefix("validate_").removesuffix("_form")
    domain = call.get("domain") or {}
    actions = domain.get("actions") or []
    for name in (new_base, f"validate_{new_base}_form"):
        if name not in actions:
            actions.append(name)
    forms = domain.get("forms") or {}
    if f"{old_base}_form" in forms and f"{new_base}_form" not in forms:
        forms[f"{new_base}_form"] = copy.deepcopy(forms[f"{old_base}_form"])
    active = call["tracker"].get("active_loop") or {}
    if active.get("name") == f"{old_base}_form":
        active["name"] = f"{new_base}_form"


# -- the generic dispatch's calls, built on captured ones -------------------------------------

START = "v2_ask_1_validate_order_status_form.json"  # the validator at a form's start
ANSWER = "v2_ask_3_validate_order_status_form.json"  # the validator with the user's answer
CALL = "v2_ask_4_order_status.json"  # the action once the form is complete


def slot_events(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return {e["name"]: e["value"] for e in response.json()["events"] if e["event"] == "slot"}


def answered_at_once(env: ActionEnv, response: httpx.Response) -> Any:
    """What the validator called the webhook with (its JSON body), having had nothing left to
    ask: it answered at once, forgetting the form's slots as ``action_webhook`` would, and
    ended with Rasa's listen (so Rasa runs neither the call action nor a prediction)."""
    events = response.json()["events"]
    assert events[-1]["event"] == "followup", events
    assert events[-1]["name"] == "action_listen"
    slots = slot_events(response)
    assert slots["requested_slot"] is None
    assert all(slots[slot] is None for slot in DISPATCH_SLOTS if slot in slots), slots
    return json.loads(env.webhook.requests[-1]["body"])


def texts(response: httpx.Response) -> list[str]:
    return [r["text"] for r in response.json()["responses"] if r.get("text")]


def dispatch_call(
    template: str, action: str, dispatch: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """:func:`payload` for the dispatch's ``action``, with every dispatch slot as Rasa sends
    them: ``dispatch``'s values, None for the others."""
    return with_dispatch_slots(payload(template, action=action, **kwargs), dispatch or {})


def starting(
    action: str, text: str, entities: list[dict[str, Any]] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """The validator's call when a request for ``action`` starts the form."""
    return dispatch_call(
        START,
        DISPATCH_VALIDATOR,
        {ACTION_SLOT: action},
        text=text,
        entities=entities or [],
        slots={"requested_slot": None},
        **kwargs,
    )


def answering(
    action: str,
    asking: str,
    given: object,
    *,
    intent: str = "inform",
    values: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The validator's call with ``given`` as the answer to the question for ``asking``."""
    call = dispatch_call(
        ANSWER,
        DISPATCH_VALIDATOR,
        {ACTION_SLOT: action, ASKING_SLOT: asking, VALUES_SLOT: values or {}, ANSWER_SLOT: given},
        text=str(given),
        entities=entities or [],
        slots={"requested_slot": ANSWER_SLOT},
        validate={ANSWER_SLOT: given},
    )
    call["tracker"]["latest_message"]["intent"] = {"name": intent, "confidence": 0.9}
    return call


def calling(
    action: str, values: dict[str, Any] | None = None, *, sender: str | None = None
) -> dict[str, Any]:
    """The call of ``action_webhook`` once the form collected ``values``."""
    return dispatch_call(
        CALL, CALL_ACTION, {ACTION_SLOT: action, VALUES_SLOT: values or {}}, sender=sender
    )
