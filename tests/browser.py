"""Debian's chromium, headless, driven by Playwright: the browser every page test uses.

Playwright never downloads a browser here: it launches /usr/bin/chromium (``make browser``
installs it when missing). Screenshots go to a ``screenshots/`` folder beside the test that
takes them (git-ignored), for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

# Chromium as root in a container, without the calls home this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


# Module-scoped: Playwright's sync API runs an event loop in the main thread while it is open,
# and pytest-asyncio cannot run a test while one runs; each browser module closes its own.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is missing: `make browser` installs it", pytrace=False)
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def screenshot(page: Page, folder: Path, name: str, *, full_page: bool = True) -> None:
    """Save what ``page`` shows as ``folder/screenshots/NAME.png``."""
    (folder / "screenshots").mkdir(exist_ok=True)
    page.screenshot(path=folder / "screenshots" / f"{name}.png", full_page=full_page)
