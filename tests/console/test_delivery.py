"""Delivery in the console: an action's signing secrets, retrying its POSTs, its paused calls.

A secret's value is asserted about only through booleans and counts, so that no failure message
ever prints it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.console.conftest import Console, screenshot, sign_in
from tests.console.test_console import (
    assert_asks_safely,
    assert_labelled,
    assert_no_secret,
    create,
    stored,
)
from webhooks import CallPause
from webhooks.egress._signing import MAX_SIGNING_SECRETS

WHSEC = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


def holds(page: Page, value: str) -> bool:
    """Whether the page shows ``value``, in its text or in a field."""
    values = page.evaluate(
        "() => [...document.querySelectorAll('input, textarea')].map((e) => e.value)"
    )
    return value in page.content() or value in values


def test_a_signing_secret_is_shown_once_then_only_its_id_and_retired(
    page: Page, console: Console
) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    signing = page.get_by_role("group", name="Signing")
    expect(signing).to_contain_text("Calls are not signed.")
    signing.get_by_role("button", name="New signing secret").click()

    panel = signing.get_by_role("region", name="New signing secret")
    value_field = panel.get_by_label(re.compile("^Signing secret whs_"))
    expect(value_field).to_be_focused()
    value = value_field.input_value()
    shaped = WHSEC.fullmatch(value) is not None
    assert shaped
    expect(panel).to_contain_text("shown once")
    expect(panel).to_contain_text("Every call of order_status is now signed with it.")
    first = console.store.catalog.get("acme", "order_status").signing_secrets[0].id
    listed = signing.get_by_role("list", name="Signing secrets")
    expect(listed.get_by_role("listitem")).to_have_count(1)
    expect(listed).to_contain_text(first)
    expect(signing).to_contain_text("Calls are signed with this secret.")
    # Enter in the field would submit the editor's form: save, leave, and lose the value.
    saved = console.store.catalog.get("acme", "order_status").revision
    value_field.press("Enter")
    expect(value_field).to_be_visible()
    assert page.url.endswith("/edit")
    assert console.store.catalog.get("acme", "order_status").revision == saved
    panel.get_by_role("button", name="Copy").click()
    expect(panel.get_by_text("Copied.")).to_be_visible()
    assert_labelled(page)
    signing.scroll_into_view_if_needed()
    screenshot(page, "editor-signing-new", full_page=False)

    # Shown once: after a reload, only its id.
    page.reload()
    expect(signing.get_by_role("list", name="Signing secrets")).to_contain_text(first)
    expect(signing.get_by_role("region", name="New signing secret")).to_have_count(0)
    shown_again = holds(page, value)
    assert not shown_again
    in_storage = page.evaluate(
        "(v) => Object.values(sessionStorage).some((s) => s.includes(v))", value
    )
    assert not in_storage

    # A second one: both sign, and a third must wait for one to be retired.
    for _ in range(MAX_SIGNING_SECRETS - 1):
        signing.get_by_role("button", name="New signing secret").click()
        expect(signing.get_by_role("region", name="New signing secret")).to_be_visible()
    expect(signing).to_contain_text("Calls are signed with both secrets until one is retired.")
    expect(signing.get_by_role("region", name="New signing secret")).to_contain_text(
        f"and with the older secret {first} until that one is retired"
    )
    make = signing.get_by_role("button", name="New signing secret")
    expect(make).to_be_disabled()
    expect(make).to_have_accessible_description(re.compile("retire one first"))
    signing.scroll_into_view_if_needed()
    screenshot(page, "editor-signing-full", full_page=False)

    signing.get_by_role("button", name=f"Retire {first}").click()
    dialog = page.get_by_role("dialog", name=f"Retire {first}?")
    expect(dialog).to_have_accessible_description(re.compile("stop being signed with it"))
    assert_asks_safely(page, dialog)
    screenshot(page, "editor-signing-retire", full_page=False)
    dialog.get_by_role("button", name="Retire").click()
    expect(signing.get_by_text(f"{first} was retired.")).to_have_role("status")
    expect(signing.get_by_role("listitem")).to_have_count(1)
    expect(make).to_be_enabled()
    expect(make).to_be_focused()
    left = [s.id for s in console.store.catalog.get("acme", "order_status").signing_secrets]
    assert first not in left
    assert len(left) == 1
    in_log = value in console.log_path.read_text()
    assert not in_log


def test_a_reader_sees_the_secrets_ids_and_nothing_to_press(page: Page, console: Console) -> None:
    create(console)
    made, _ = console.store.signing.create("acme", "order_status", actor="test")
    sign_in(page, console.tokens["reader"])
    page.get_by_role("link", name="View order_status").click()
    signing = page.get_by_role("group", name="Signing")
    expect(signing).to_contain_text("Calls are signed with this secret.")
    expect(signing.get_by_role("listitem")).to_have_text(re.compile(f"^{made.id} made "))
    expect(signing.get_by_role("button")).to_have_count(0)
    expect(signing).not_to_contain_text("act at once")
    assert_no_secret(page)
    screenshot(page, "details-reader-signing")


def test_retry_post_is_saved_from_the_editor(page: Page, console: Console) -> None:
    create(console, method="POST")
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    retry = page.get_by_label("Retry POST calls")
    expect(retry).not_to_be_checked()
    expect(retry).to_have_accessible_description(re.compile("Idempotency-Key"))
    retry.check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["retry_post"] is True

    page.get_by_role("link", name="Edit order_status").click()
    expect(page.get_by_label("Retry POST calls")).to_be_checked()
    screenshot(page, "editor-retry-post", full_page=False)
    page.get_by_label("Retry POST calls").uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["retry_post"] is False


def test_a_paused_action_shows_a_badge_and_why(page: Page, console: Console) -> None:
    create(console)
    create(console, "opening_hours")
    now = datetime.now(UTC)
    console.store.pauses.record(
        "acme",
        "order_status",
        "replica-1",
        CallPause(
            since=now - timedelta(seconds=5),
            until=now + timedelta(minutes=5),
            failures=5,
            reason="timeout",
        ),
    )
    sign_in(page, console.tokens["reader"])
    row = page.locator("tr", has_text="order_status")
    badge = row.locator(".badge.paused")
    expect(badge).to_have_text("Paused")
    why = re.compile(
        r"^Calls paused until \d{1,2}:\d{2}:\d{2}.* after 5 failures in a row \(timeout\); "
        r"the next call after that tests the service\.$"
    )
    expect(badge).to_have_attribute("title", why)
    expect(row.locator(".paused-why")).to_have_text(why)
    expect(page.locator("tr", has_text="opening_hours").locator(".badge.paused")).to_have_count(0)
    screenshot(page, "actions-paused", full_page=False)

    # Its time is over, no call has tested the service yet: still said, in the past.
    console.store.pauses.record(
        "acme",
        "order_status",
        "replica-1",
        CallPause(
            since=now - timedelta(minutes=2),
            until=now - timedelta(minutes=1),
            failures=6,
            reason="invalid_response",
        ),
    )
    page.reload()
    expect(row.locator(".paused-why")).to_have_text(
        "Calls were paused after 6 failures in a row (invalid response); the next call tests "
        "the service."
    )
    console.store.pauses.end("acme", "order_status", "replica-1")
    page.reload()
    expect(page.locator("tr", has_text="order_status")).to_be_visible()
    expect(page.locator(".badge.paused")).to_have_count(0)
