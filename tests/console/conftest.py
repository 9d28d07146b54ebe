"""The operator console in Debian's chromium, headless, driven by Playwright.

A real admin server (``python -m admin serve``) on SQLite serves the page and the API; the test
process seeds operators through the store and starts a local HTTPS webhook server (trustme CA)
in a thread, which the admin server reaches through the test-only egress allowance. Each test
gets a fresh browser context (an empty sessionStorage) and fails on any script error or
Content-Security-Policy violation the page reported.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

from tests.browser import screenshot as _screenshot
from tests.servers import start_server, stop
from tests.webhooks.https_server import LocalServer
from webhooks import MANAGE, READ, Keyring, Store, generate_key, make_engine, migrate

#: Header values given in the tests; none may ever be in a page.
SECRETS = ("console-secret-one-5f2c", "console-secret-two-91ab", "console-secret-new-77de")
ANSWERED_4XX = "Failed to load resource: the server responded with a status of 4"


class ThreadedHttps:
    """The tests' HTTPS webhook server on its own event loop, in a thread: the browser tests
    are synchronous."""

    def __init__(self, ca: trustme.CA) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server = LocalServer(context)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def start(self) -> None:
        self._thread.start()
        self._run(self.server.start())

    def stop(self) -> None:
        self._run(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def url(self, path: str) -> str:
        return self.server.url(path)


@dataclass
class Console:
    base_url: str
    store: Store
    tokens: dict[str, str]
    webhooks: ThreadedHttps
    log_path: Path

    def api(self, who: str = "admin") -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url + "/api/v1",
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    database_url = f"sqlite:///{tmp / 'store.db'}"
    key = generate_key()
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine, Keyring([key]))
    store.accounts.create_tenant("acme", actor="test")
    store.accounts.set_skill("acme", True, actor="test")
    tokens = {}
    for name, admin, permissions in (
        ("admin", True, []),
        ("manager", False, [READ, MANAGE]),
        ("reader", False, [READ]),
    ):
        tokens[name] = store.accounts.create_operator(
            "acme", name, admin=admin, permissions=permissions, actor="test"
        )[1]
    ca = trustme.CA()
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    webhooks = ThreadedHttps(ca)
    webhooks.start()
    env = {
        "DATABASE_URL": database_url,
        "WEBHOOKS_KEYS": key,
        "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
        "WEBHOOKS_CA_FILE": str(ca_file),
    }
    log_path = tmp / "admin.log"
    process, base_url = start_server("admin", env, log_path, health="/api/v1/health")
    try:
        yield Console(base_url, store, tokens, webhooks, log_path)
        log = log_path.read_text()
        assert not [secret for secret in SECRETS if secret in log]
    finally:
        stop(process)
        webhooks.stop()
        engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_tenant(console: Console) -> None:
    """Each test starts with the skill on and no action (at most 10 may exist)."""
    console.store.accounts.set_skill("acme", True, actor="test")
    for webhook in console.store.catalog.list("acme"):
        console.store.catalog.delete("acme", webhook.name, actor="test")


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    context = browser.new_context(
        base_url=console.base_url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer; the page shows those (a refused token, a field error).
        answered = message.text.startswith(ANSWERED_4XX)
        if message.type == "error" and not answered:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"a dialog opened: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield page
    context.close()
    assert problems == []


def sign_in(page: Page, token: str) -> None:
    page.goto("/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Actions").wait_for()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    _screenshot(page, Path(__file__).parent, name, full_page=full_page)
