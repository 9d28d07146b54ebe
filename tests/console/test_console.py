"""The operator console, screen by screen, as operators use it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.console.conftest import SECRETS, Console, screenshot, sign_in
from webhooks import TYPES, CallPause, Category, HTTPStatusError, token_matches
from webhooks.definitions._definitions import REPLY_KEYS

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((e) => e.offsetParent !== null)
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
    && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map((e) => e.outerHTML)"""


def assert_labelled(page: Page) -> None:
    assert page.evaluate(UNLABELLED) == []


def assert_no_secret(page: Page) -> None:
    html = page.content()
    values = page.evaluate(
        "() => [...document.querySelectorAll('input, textarea')].map((e) => e.value)"
    )
    for secret in SECRETS:
        assert secret not in html
        assert secret not in values


def create(console: Console, name: str = "order_status", **changes: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": name,
        "description": "Look up an order",
        "url": console.webhooks.url("/echo"),
        "method": "GET",
        "timeout": 5,
        "parameters": [
            {"name": "order_id", "type": "integer", "description": "The order number"},
            {"name": "note", "type": "string", "description": "A note", "required": False},
        ],
        "headers": {"X-Api-Key": SECRETS[0], "X-Tenant": SECRETS[1]},
    } | changes
    with console.api() as client:
        response = client.post("/webhooks", json=definition)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _definition(console: Console, name: str = "order_status") -> dict[str, Any]:
    return {
        "name": name,
        "description": "Look up an order",
        "url": console.webhooks.url("/echo"),
        "method": "GET",
    }


def stored(console: Console, name: str = "order_status") -> dict[str, Any]:
    with console.api() as client:
        response = client.get(f"/webhooks/{name}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_asks_safely(page: Page, dialog: Locator) -> None:
    """A confirmation as the console asks it: the safe choice (Cancel) has the focus, the page
    behind is inert, and the dialog is in the middle of the 1280 x 900 window."""
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    assert page.evaluate("() => document.querySelector('dialog').matches(':modal')")
    box = dialog.bounding_box()
    assert box is not None
    assert abs(box["x"] + box["width"] / 2 - 1280 / 2) <= 2
    assert abs(box["y"] + box["height"] / 2 - 900 / 2) <= 2


def test_sign_in_keeps_the_token_in_this_tab_only(page: Page, console: Console) -> None:
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))
    page.goto("/")
    expect(page.get_by_label("API token")).to_be_focused()
    assert_labelled(page)
    page.get_by_label("API token").fill("wha_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That token is not valid")).to_be_visible()
    expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "sign-in")

    token = console.tokens["admin"]
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    expect(page.get_by_text("admin · acme")).to_be_visible()
    kept = page.evaluate(
        "() => [Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),"
        " localStorage.length, document.cookie]"
    )
    assert kept == [[token], 0, ""]
    page.reload()
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    assert all(token not in address for address in addresses)
    assert all(address.startswith(console.base_url) for address in addresses)


def test_a_revoked_token_signs_the_page_out(page: Page, console: Console) -> None:
    operator, token = console.store.accounts.create_operator(
        "acme", "short_lived", permissions=["webhooks:read"], actor="test"
    )
    sign_in(page, token)
    console.store.accounts.revoke_tokens("acme", operator.id, actor="test")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_text("Your token is no longer accepted")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_create_an_action_with_parameters_and_headers(page: Page, console: Console) -> None:
    sign_in(page, console.tokens["admin"])
    expect(page.get_by_text("0 of 10")).to_be_visible()
    page.get_by_role("link", name="New action").click()
    page.get_by_label("Name", exact=True).first.fill("order_status")
    page.get_by_label("Description", exact=True).first.fill("Look up an order")
    page.get_by_label("URL").fill("http://shop.example.com/orders")
    page.get_by_label("Method").select_option("GET")
    page.get_by_label("Timeout (seconds)").fill("5")
    page.get_by_label("Example requests (one per line)").fill("where is my order\ntrack order 12")
    rows = [("order_id", "integer"), ("email", "string"), ("order_id", "boolean")]
    for number, (name, kind) in enumerate(rows, start=1):
        page.get_by_role("button", name="Add parameter").click()
        row = page.get_by_role("group", name=f"Parameter {number}")
        expect(row.get_by_label("Name", exact=True)).to_be_focused()
        # The types offered are the API's own (its OpenAPI document), not a copy.
        with console.api() as client:
            described = client.get("/openapi.json").json()["components"]["schemas"]
        offered = row.get_by_label("Type").locator("option").all_text_contents()
        assert offered == described["Parameter"]["properties"]["type"]["enum"] == list(TYPES)
        row.get_by_label("Name", exact=True).fill(name)
        row.get_by_label("Type").select_option(kind)
        row.get_by_label("Description").fill(f"The customer's {name}")
    for number, name in enumerate(("X-Api-Key", "X-Tenant")):
        page.get_by_role("button", name="Add header").click()
        page.get_by_label("Header name").nth(number).fill(name)
        page.get_by_label("Value", exact=True).nth(number).fill(SECRETS[number])
    assert_labelled(page)
    page.get_by_role("button", name="Create action").click()

    url = page.get_by_label("URL")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_accessible_description(re.compile("https", re.I))
    duplicate = page.get_by_role("group", name="Parameter 3").get_by_label("Name", exact=True)
    expect(duplicate).to_have_attribute("aria-invalid", "true")
    expect(duplicate).to_have_accessible_description(re.compile("duplicate parameter name"))
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    screenshot(page, "editor-errors")

    url.fill(console.webhooks.url("/echo"))
    page.get_by_role("group", name="Parameter 3").get_by_label("Name", exact=True).fill("gift")
    page.get_by_role("button", name="Remove parameter 2").click()
    expect(page.get_by_role("group", name="Parameter 3")).to_have_count(0)
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_role("group", name="Parameter 3").get_by_label("Name", exact=True).fill("email")
    page.get_by_role("group", name="Parameter 3").get_by_label("Description").fill("Email")
    page.get_by_role("group", name="Parameter 3").get_by_label("Required").uncheck()
    page.get_by_role("button", name="Create action").click()

    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    row = page.locator("tr", has_text="order_status")
    expect(row).to_contain_text("Look up an order")
    expect(row).to_contain_text("127.0.0.1")
    expect(page.get_by_text("1 of 10")).to_be_visible()
    screenshot(page, "actions")
    assert_no_secret(page)

    saved = stored(console)
    assert [(p["name"], p["type"], p["required"]) for p in saved["parameters"]] == [
        ("order_id", "integer", True),
        ("gift", "boolean", True),
        ("email", "string", False),
    ]
    assert saved["headers"] == ["X-Api-Key", "X-Tenant"]
    assert saved["examples"] == ["where is my order", "track order 12"]
    assert (saved["method"], saved["timeout"]) == ("GET", 5)
    webhook = console.store.catalog.get("acme", "order_status")
    assert console.store.catalog.headers_for(webhook) == {
        "X-Api-Key": SECRETS[0],
        "X-Tenant": SECRETS[1],
    }


def test_edit_replaces_and_removes_headers_without_showing_values(
    page: Page, console: Console
) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    expect(page.get_by_label("Name", exact=True).first).to_have_attribute("readonly", "")
    assert_no_secret(page)
    page.get_by_label("Description", exact=True).first.fill("Find an order by its number")
    page.get_by_role("group", name="Parameter 2").get_by_label("Type").select_option("number")
    page.get_by_role("button", name="Replace the value of X-Api-Key").click()
    page.get_by_label("New value for X-Api-Key").fill(SECRETS[2])
    page.get_by_role("button", name="Remove header X-Tenant").click()
    expect(page.locator(".row.header", has_text="X-Tenant")).to_contain_text("will be removed")
    assert_labelled(page)
    screenshot(page, "editor")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert_no_secret(page)

    saved = stored(console)
    assert saved["description"] == "Find an order by its number"
    assert saved["parameters"][1]["type"] == "number"
    assert saved["headers"] == ["X-Api-Key"]
    webhook = console.store.catalog.get("acme", "order_status")
    assert console.store.catalog.headers_for(webhook) == {"X-Api-Key": SECRETS[2]}

    page.get_by_role("link", name="Edit order_status").click()
    expect(page.locator(".row.header", has_text="X-Api-Key")).to_contain_text("set")
    assert_no_secret(page)


def test_an_actions_own_budget_is_kept_changed_and_removed_by_the_editor(
    page: Page, console: Console
) -> None:
    create(console, calls_per_minute=30)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    budget = page.get_by_label("Calls per minute", exact=True)
    expect(budget).to_have_value("30")
    # A save that changes something else keeps the budget (the editor saves with PUT).
    page.get_by_label("Description", exact=True).first.fill("Find an order")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["calls_per_minute"] == 30
    for typed, kept in (("0", 30), ("12", 12), ("", None)):
        page.get_by_role("link", name="Edit order_status").click()
        page.get_by_label("Calls per minute", exact=True).fill(typed)
        page.get_by_role("button", name="Save changes").click()
        if typed == "0":
            expect(page.get_by_label("Calls per minute", exact=True)).to_be_focused()
            page.get_by_role("link", name="Cancel").click()
        else:
            expect(page.get_by_text("order_status was saved.")).to_be_visible()
        assert stored(console)["calls_per_minute"] == kept


def test_allowed_values_and_patterns_are_edited_for_strings_only(
    page: Page, console: Console
) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    first, second = (page.get_by_role("group", name=f"Parameter {n}") for n in (1, 2))
    expect(first.get_by_label("Allowed values (one per line)")).to_be_hidden()  # an integer
    second.get_by_label("Allowed values (one per line)").fill("at the door\nin the porch")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["parameters"][1]["values"] == ["at the door", "in the porch"]

    page.get_by_role("link", name="Edit order_status").click()
    expect(second.get_by_label("Allowed values (one per line)")).to_have_value(
        "at the door\nin the porch"
    )
    second.get_by_label("Allowed values (one per line)").fill("")
    second.get_by_label("or a pattern (regular expression)").fill("((a+)+)")
    page.get_by_role("button", name="Save changes").click()
    pattern = second.get_by_label("or a pattern (regular expression)")
    expect(pattern).to_have_attribute("aria-invalid", "true")
    second.get_by_label("or a pattern (regular expression)").fill(r"door|porch")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["parameters"][1]["pattern"] == "door|porch"


def test_a_changed_url_asks_for_every_header(page: Page, console: Console) -> None:
    create(console)
    sign_in(page, console.tokens["admin"])
    page.get_by_role("link", name="Edit order_status").click()
    elsewhere = console.webhooks.url("/headers")  # the same host, an endpoint that echoes
    page.get_by_label("URL").fill(elsewhere)
    expect(page.get_by_text("The URL changed.")).to_be_visible()
    page.get_by_role("button", name="Save changes").click()
    headers = page.get_by_role("group", name="Headers")
    expect(headers.locator(".field-error")).to_contain_text("give every stored header again")
    page.get_by_label("New value for X-Api-Key").fill(SECRETS[2])
    page.get_by_role("button", name="Remove header X-Tenant").click()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["url"] == elsewhere
    webhook = console.store.catalog.get("acme", "order_status")
    assert console.store.catalog.headers_for(webhook) == {"X-Api-Key": SECRETS[2]}


def test_switch_an_action_off_and_on(page: Page, console: Console) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    switch = page.get_by_role("switch", name="Enabled: order_status")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.get_by_text("order_status is off.")).to_be_visible()
    assert stored(console)["enabled"] is False
    page.reload()
    expect(switch).not_to_be_checked()
    switch.click()
    expect(page.get_by_text("order_status is on.")).to_be_visible()
    assert stored(console)["enabled"] is True


def test_test_shows_status_and_body_as_text(page: Page, console: Console) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    expect(page.locator("tr", has_text="order_status")).to_contain_text("never")
    page.get_by_role("link", name="Test order_status").click()
    expect(page.get_by_text("It changes nothing")).to_be_visible()
    page.get_by_role("button", name="Send test").click()
    result = page.get_by_role("region", name="Test result")
    expect(result).to_contain_text("Status 200: OK")
    expect(result).to_contain_text("application/json")
    expect(result.locator("pre")).to_contain_text('"method": "GET"')

    page.get_by_label("order_id (integer, required)").fill("four")
    page.get_by_role("button", name="Send test").click()
    field = page.get_by_label("order_id (integer, required)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("number", re.I))
    # What happened: the request was not sent (a Test never saves anything anyway).
    expect(page.get_by_role("alert")).to_contain_text("The test request was not sent")
    expect(page.get_by_text("Nothing was saved")).to_have_count(0)
    screenshot(page, "test-refused-value")

    field.fill("4521")
    page.get_by_label("note (string)").fill("leave at the door")
    page.get_by_role("button", name="Send test").click()
    expect(result.locator("pre")).to_contain_text('["order_id", "4521"]')
    expect(field).not_to_have_attribute("aria-invalid", "true")
    assert_labelled(page)
    screenshot(page, "test")
    assert_no_secret(page)
    seen = console.webhooks.server.seen.requests[-1]
    assert seen["query"] == [("order_id", "4521"), ("note", "leave at the door")]
    assert seen["headers"]["X-Api-Key"] == SECRETS[0]

    page.get_by_role("link", name="Back to actions").click()
    expect(page.locator("tr", has_text="order_status")).to_contain_text("200 ·")


@pytest.mark.parametrize("status", [503, 404])
def test_an_error_status_is_a_failed_test_with_its_category(
    page: Page, console: Console, status: int
) -> None:
    create(console, url=console.webhooks.url(f"/status/{status}"), method="POST", headers={})
    category = HTTPStatusError(status).category  # rejected for 4xx, unavailable for 5xx
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Test order_status").click()
    page.get_by_role("button", name="Send test").click()
    result = page.get_by_role("region", name="Test result")
    expect(result.get_by_role("heading", level=2)).to_have_text(
        f"Status {status}: failed ({category})"
    )
    expect(result).to_contain_text("counts only a 2xx answer as a success")
    expect(result.locator("pre")).to_have_text('{"error": "nope"}')
    # Beside the raw body: what a conversation would hear (no reply written: the default).
    said = result.get_by_role("region", name="What the bot would say")
    expect(said).to_contain_text(f"({category})")
    expect(said).to_contain_text(Category.of(category).sentence)
    assert console.webhooks.server.seen.requests[-1]["body"] == b"{}"
    screenshot(page, f"test-status-{status}")
    page.get_by_role("link", name="Back to actions").click()
    last = page.locator("tr", has_text="order_status").locator("td").nth(4)
    expect(last).to_contain_text(f"{status} {category} ·")
    expect(last.locator(".bad")).to_have_count(1)


def test_a_long_body_is_cut_with_a_mark(page: Page, console: Console) -> None:
    create(console, url=console.webhooks.url("/big"), parameters=[], headers={})
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Test order_status").click()
    page.get_by_role("button", name="Send test").click()
    result = page.get_by_role("region", name="Test result")
    expect(result).to_contain_text("Status 200")
    expect(result).to_contain_text("50.0 KB")  # the cap: the rest was never read
    assert result.locator("pre").text_content() == "a" * 500
    expect(result.get_by_text("[cut: the body goes on]")).to_be_visible()
    # A reply made of it is cut too, and the preview says so.
    page.get_by_role("link", name="Edit order_status").click()
    replies = page.get_by_role("group", name="Replies")
    replies.get_by_label("Success reply", exact=True).fill("{{ result.response_text }}")
    preview = replies.get_by_role("region", name="Preview of the success reply")
    expect(preview).to_contain_text("Cut at 1,000 characters")
    text = preview.locator(".preview-text").text_content() or ""
    assert len(text) == 1000
    assert text.startswith("a" * 990)


SUCCESS = "Order #{{ order_id }} was looked up with {{ result.method }}."
NOT_FOUND = "No order #{{ order_id }} here, sorry."


def test_replies_are_previewed_against_the_last_test_and_saved(
    page: Page, console: Console
) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    replies = page.get_by_role("group", name="Replies")
    for key in REPLY_KEYS:  # every reply the API takes has its field
        expect(page.locator(f'[data-field="replies.{key}"]')).to_have_count(1)
    success = replies.get_by_label("Success reply", exact=True)
    success_preview = replies.get_by_role("region", name="Preview of the success reply")
    expect(success_preview).to_contain_text("Empty: the bot says its default sentence.")
    success.fill(SUCCESS)
    expect(success_preview).to_have_text("Run a Test to preview against a real answer.")
    replies.get_by_label("Not found reply", exact=True).fill(NOT_FOUND)
    # The rarer failures are folded away, one click from the same form.
    expect(replies.get_by_label("Refused reply", exact=True)).to_be_hidden()
    replies.get_by_text("More failure replies").click()
    expect(replies.get_by_label("Rate limited reply", exact=True)).to_be_visible()
    replies.get_by_label("On a 4xx answer, say the service's own message").check()
    assert_labelled(page)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    saved = stored(console)
    assert saved["replies"] == {"success": SUCCESS, "not_found": NOT_FOUND}
    assert saved["service_messages"] is True

    # A Test: what the bot would say, with the replies as saved, beside the raw body.
    page.get_by_role("link", name="Test order_status").click()
    page.get_by_label("order_id (integer, required)").fill("4521")
    page.get_by_role("button", name="Send test").click()
    said = page.get_by_role("region", name="What the bot would say")
    expect(said).to_have_text(re.compile(r"\(success\).*Order #4521 was looked up with GET\."))
    screenshot(page, "test-reply")

    # Back in the editor, the previews render against that Test's answer, as the operator types.
    page.get_by_role("link", name="Edit order_status").click()
    expect(success_preview).to_contain_text("Preview against the last Test (status 200, just now)")
    expect(success_preview).to_contain_text("Order #4521 was looked up with GET.")
    success.press("End")
    success.press_sequentially(" ETA {{ result.eta | default('soon') }}, by {{ result.carrier }}")
    expect(success_preview).to_contain_text(
        "Order #4521 was looked up with GET. ETA soon, by ", timeout=5000
    )
    expect(success_preview).to_contain_text("Not in this answer (shown empty): eta, carrier")
    not_found = replies.get_by_label("Not found reply", exact=True)
    not_found_preview = replies.get_by_role("region", name="Preview of the not found reply")
    expect(not_found_preview).to_be_hidden()
    not_found.focus()
    expect(not_found_preview).to_contain_text("No order #4521 here, sorry.")
    expect(not_found_preview).to_contain_text("That Test succeeded")
    not_found.fill("Order {{ order_id }} is unknown to us.")
    expect(not_found_preview).to_contain_text("Order 4521 is unknown to us.")
    screenshot(page, "editor-replies")
    # Markup a template writes is text, in the preview as in the bot's message.
    replies.get_by_label("Rejected reply", exact=True).fill(
        '<b onmouseover="window.__xss=1">{{ status }}</b>'
    )
    rejected_preview = replies.get_by_role("region", name="Preview of the rejected reply")
    expect(rejected_preview).to_contain_text('<b onmouseover="window.__xss=1">200</b>')
    expect(not_found_preview).to_be_hidden()  # one failure reply is previewed at a time
    assert page.evaluate(INJECTED) == 0
    replies.get_by_label("Rejected reply", exact=True).fill("")
    expect(rejected_preview).to_contain_text("Empty: the bot says its default sentence.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()

    page.goto("/#/actions/order_status/edit")
    page.reload()
    expect(success).to_have_value(
        SUCCESS + " ETA {{ result.eta | default('soon') }}, by {{ result.carrier }}"
    )
    expect(replies.get_by_label("Not found reply", exact=True)).to_have_value(
        "Order {{ order_id }} is unknown to us."
    )
    expect(replies.get_by_label("On a 4xx answer, say the service's own message")).to_be_checked()
    expect(success_preview).to_contain_text("Order #4521 was looked up with GET.")  # kept
    assert set(stored(console)["replies"]) == {"success", "not_found"}

    # Signing out forgets the Test's answer with the token.
    page.get_by_role("button", name="Sign out").click()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_a_template_error_shows_its_line_at_its_field(page: Page, console: Console) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    replies = page.get_by_role("group", name="Replies")
    success = replies.get_by_label("Success reply", exact=True)
    # As the operator types: the API's check, at the field.
    success.fill("Hello\n{{ result.status }")
    expect(success).to_have_attribute("aria-invalid", "true")
    expect(success).to_have_accessible_description(re.compile("line 2: unexpected '}'"))
    preview = replies.get_by_role("region", name="Preview of the success reply")
    expect(preview).to_contain_text("the template has a problem")
    success.fill("Hello\n{{ result.status }}")
    expect(success).not_to_have_attribute("aria-invalid", "true")
    expect(preview).to_have_text("Run a Test to preview against a real answer.")

    # On saving: every refused template at its field, a folded one unfolded.
    success.fill("Hello\n{{ result.status | shout }}")
    replies.get_by_text("More failure replies").click()
    replies.get_by_label("Refused reply", exact=True).fill("{% for x in result %}")
    replies.get_by_text("More failure replies").click()
    expect(replies.get_by_label("Refused reply", exact=True)).to_be_hidden()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_role("alert")).to_contain_text("Success reply: line 2: unknown filter")
    expect(success).to_have_accessible_description(re.compile("line 2: unknown filter 'shout'"))
    refused = replies.get_by_label("Refused reply", exact=True)
    expect(refused).to_be_visible()
    expect(refused).to_have_attribute("aria-invalid", "true")
    expect(refused).to_have_accessible_description(re.compile("line 1: Unexpected end"))
    expect(replies.get_by_role("region", name="Preview of the refused reply")).to_contain_text(
        "the template has a problem"
    )
    screenshot(page, "editor-replies-errors")
    assert stored(console)["replies"] == {}


def test_a_parameters_value_from_round_trips(page: Page, console: Console) -> None:
    create(
        console,
        parameters=[
            {"name": "order_id", "type": "integer", "description": "The order number"},
            {"name": "customer", "description": "Who asks", "source": "sender_id"},
        ],
    )
    sign_in(page, console.tokens["manager"])
    page.get_by_role("link", name="Edit order_status").click()
    first = page.get_by_role("group", name="Parameter 1")
    second = page.get_by_role("group", name="Parameter 2")
    expect(first.get_by_label("Value from")).to_have_value("")
    expect(first.get_by_label("Slot name")).to_be_hidden()
    expect(second.get_by_label("Value from")).to_have_value("sender_id")
    expect(second.get_by_label("Value from")).to_have_accessible_description(
        re.compile("never use it alone to authorize")
    )
    second.get_by_label("Value from").select_option("Channel")
    page.get_by_role("button", name="Add parameter").click()
    third = page.get_by_role("group", name="Parameter 3")
    third.get_by_label("Name", exact=True).fill("crm_id")
    third.get_by_label("Description").fill("The customer's CRM id")
    third.get_by_label("Value from").select_option("A slot")
    expect(third.get_by_label("Slot name")).to_be_focused()
    page.get_by_role("button", name="Save changes").click()
    slot = third.get_by_label("Slot name")
    expect(slot).to_have_attribute("aria-invalid", "true")
    expect(slot).to_have_accessible_description(re.compile("slot: followed by a slot's name"))
    slot.fill("customer_id")
    assert_labelled(page)
    screenshot(page, "editor-sources")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert [p.get("source") for p in stored(console)["parameters"]] == [
        None,
        "channel",
        "slot:customer_id",
    ]

    page.get_by_role("link", name="Edit order_status").click()
    expect(page.get_by_role("group", name="Parameter 2").get_by_label("Value from")).to_have_value(
        "channel"
    )
    third = page.get_by_role("group", name="Parameter 3")
    expect(third.get_by_label("Value from")).to_have_value("slot")
    expect(third.get_by_label("Slot name")).to_have_value("customer_id")
    third.get_by_label("Value from").select_option("Ask the user")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("order_status was saved.")).to_be_visible()
    assert stored(console)["parameters"][2]["source"] is None
    page.get_by_role("link", name="Test order_status").click()
    expect(page.get_by_label("customer (string, required)")).to_have_accessible_description(
        "Who asks (in a conversation: the channel's name)"
    )


def test_delete_asks_first_in_a_centred_dialog(page: Page, console: Console) -> None:
    create(console)
    sign_in(page, console.tokens["manager"])
    page.get_by_role("button", name="Delete order_status").click()
    dialog = page.get_by_role("dialog", name="Delete order_status?")
    expect(dialog).to_have_accessible_description(re.compile("cannot be undone"))
    assert_asks_safely(page, dialog)
    screenshot(page, "delete-dialog", full_page=False)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert stored(console)["name"] == "order_status"
    page.get_by_role("button", name="Delete order_status").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert stored(console)["name"] == "order_status"
    page.get_by_role("button", name="Delete order_status").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("order_status was deleted.")).to_be_visible()
    expect(page.get_by_text("No actions yet.")).to_be_visible()
    assert console.store.catalog.list("acme") == []


def test_a_reader_sees_no_editing_controls(page: Page, console: Console) -> None:
    create(console)
    sign_in(page, console.tokens["reader"])
    row = page.locator("tr", has_text="order_status")
    expect(row).to_contain_text("on")
    expect(page.get_by_role("link", name="New action")).to_have_count(0)
    for control in ("switch", "button"):
        expect(row.get_by_role(control)).to_have_count(0)  # type: ignore[arg-type]
    expect(row.get_by_role("link")).to_have_count(1)  # View only
    expect(page.get_by_role("link", name="Tenant", exact=True)).to_be_hidden()
    screenshot(page, "actions-reader")
    page.goto("/#/actions/new")
    expect(page.get_by_text("let you view actions, not change them")).to_be_visible()
    # The server refuses them too.
    with console.api("reader") as client:
        response = client.patch("/webhooks/order_status", json={"enabled": False})
    assert response.status_code == 403


def test_a_reader_opens_an_actions_details_read_only(page: Page, console: Console) -> None:
    create(
        console,
        examples=["where is my order"],
        parameters=[
            {
                "name": "city",
                "description": "The city",
                "values": ["Berlin", "Lisbon"],
                "source": "slot:city",
            }
        ],
        replies={"success": SUCCESS, "timeout": "Too slow."},
        service_messages=True,
    )
    sign_in(page, console.tokens["reader"])
    page.get_by_role("link", name="View order_status").click()
    expect(page.get_by_role("heading", name="View order_status")).to_be_focused()
    expect(page.get_by_text("let you view this action, not change it")).to_be_visible()
    form = page.locator("form")
    # The same editor, every field shown and disabled.
    expect(form.get_by_label("Description", exact=True).first).to_have_value("Look up an order")
    expect(form.get_by_label("Description", exact=True).first).to_be_disabled()
    expect(form.get_by_label("Method")).to_have_value("GET")
    expect(form.get_by_label("Example requests (one per line)")).to_have_value("where is my order")
    city = page.get_by_role("group", name="Parameter 1")
    expect(city.get_by_label("Allowed values (one per line)")).to_have_value("Berlin\nLisbon")
    expect(city.get_by_label("Value from")).to_have_value("slot")
    expect(city.get_by_label("Slot name")).to_have_value("city")
    replies = form.get_by_role("group", name="Replies")
    expect(replies.get_by_label("Success reply", exact=True)).to_have_value(SUCCESS)
    expect(replies.get_by_label("Timeout reply", exact=True)).to_have_value("Too slow.")
    expect(replies.get_by_label("On a 4xx answer, say the service's own message")).to_be_checked()
    expect(replies.get_by_role("region", name=re.compile("^Preview"))).to_have_count(0)
    expect(page.locator(".row.header", has_text="X-Api-Key")).to_contain_text("set")
    enabled = form.locator("input:enabled, select:enabled, textarea:enabled")
    expect(enabled).to_have_count(0)
    # No Save, Delete, Test, Add, Remove or Replace; only the way back.
    expect(form.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("link", name="Test order_status")).to_have_count(0)
    assert_labelled(page)
    assert_no_secret(page)
    screenshot(page, "details-reader")
    page.get_by_role("link", name="Back to actions").click()
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    # The edit address shows the same read-only view.
    page.goto("/#/actions/order_status/edit")
    expect(page.get_by_role("heading", name="View order_status")).to_be_visible()
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)


def test_a_tenant_admin_switches_the_skill_and_manages_operators(
    page: Page, console: Console
) -> None:
    sign_in(page, console.tokens["admin"])
    page.get_by_role("link", name="Tenant", exact=True).click()
    skill = page.get_by_role("switch", name="Webhook skill (experimental)")
    expect(skill).to_be_checked()
    skill.click()
    expect(page.get_by_text("The skill is off")).to_be_visible()
    assert console.store.accounts.get_tenant("acme").skill_enabled is False
    page.get_by_role("link", name="Actions").click()
    expect(page.get_by_text("The webhook skill is switched off")).to_be_visible()
    page.get_by_role("link", name="Tenant", exact=True).click()
    page.get_by_role("switch", name="Webhook skill (experimental)").click()
    expect(page.get_by_text("The skill is on")).to_be_visible()
    assert console.store.accounts.get_tenant("acme").skill_enabled is True

    page.get_by_label("Operator name").fill("carol")
    page.get_by_label("webhooks:read", exact=True).check()
    page.get_by_role("button", name="Create operator").click()
    token_field = page.get_by_role("region", name="New token").get_by_label("Token")
    expect(token_field).to_be_focused()
    token = token_field.input_value()
    with httpx.Client(base_url=console.base_url) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["name"], me["permissions"]) == ("carol", ["webhooks:read"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert_labelled(page)
    screenshot(page, "tenant")

    page.get_by_role("checkbox", name="Manage (webhooks:manage) for carol").check()
    expect(page.get_by_text("carol now holds: webhooks:read, webhooks:manage.")).to_be_visible()
    carol = next(o for o in console.store.accounts.list_operators("acme") if o.name == "carol")
    assert carol.permissions == {"webhooks:read", "webhooks:manage"}

    page.get_by_role("button", name="Revoke the tokens of carol").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("1 token of carol revoked.")).to_be_visible()
    with httpx.Client(base_url=console.base_url) as client:
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_a_tenant_admin_sets_the_budget_of_calls_per_minute(page: Page, console: Console) -> None:
    sign_in(page, console.tokens["admin"])
    page.get_by_role("link", name="Tenant", exact=True).click()
    budget = page.get_by_label("Calls per minute", exact=True)
    expect(budget).to_have_value(str(console.store.accounts.get_tenant("acme").calls_per_minute))
    budget.fill("0")
    page.get_by_role("button", name="Save budget").click()
    expect(budget).to_be_focused()
    expect(page.get_by_text("must be at least 1").first).to_be_visible()
    budget.fill("90")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_text("The budget is 90 calls per minute.")).to_be_visible()
    assert console.store.accounts.get_tenant("acme").calls_per_minute == 90
    console.store.budgets.set_calls_per_minute("acme", 600, actor="test")


def test_a_tenant_admin_issues_replaces_and_revokes_the_tools_token(
    page: Page, console: Console
) -> None:
    console.store.accounts.revoke_tools_token("acme", actor="test")
    sign_in(page, console.tokens["admin"])
    page.get_by_role("link", name="Tenant", exact=True).click()
    agents = page.get_by_role("region", name="AI agents (MCP)")
    expect(agents.get_by_text("/tenants/acme/mcp")).to_be_visible()
    agents.get_by_role("button", name="New tools token").click()
    field = agents.get_by_role("region", name="New token").get_by_label("Token")
    expect(field).to_be_focused()
    first = field.input_value()
    digest = console.store.snapshots.snapshot(["acme"])["acme"].tools_token_hash
    assert token_matches(first, digest)
    screenshot(page, "tools-token")

    agents.get_by_role("button", name="New tools token").click()  # one exists: asks first
    page.get_by_role("dialog").get_by_role("button", name="Replace").click()
    expect(field).not_to_have_value(first)
    second = field.input_value()
    digest = console.store.snapshots.snapshot(["acme"])["acme"].tools_token_hash
    assert token_matches(second, digest)
    assert not token_matches(first, digest)

    agents.get_by_role("button", name="Revoke tools token").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(agents.get_by_text("The tools token was revoked.")).to_be_visible()
    expect(field).to_have_count(0)
    assert console.store.snapshots.snapshot(["acme"])["acme"].tools_token_hash is None
    assert second not in page.content()
    assert_labelled(page)


def test_the_audit_log_lists_the_changes(page: Page, console: Console) -> None:
    create(console)
    with console.api() as client:
        assert client.patch("/webhooks/order_status", json={"enabled": False}).status_code == 200
        assert client.put("/skill", json={"enabled": True}).status_code == 200
    sign_in(page, console.tokens["reader"])
    page.get_by_role("link", name="Audit log").click()
    table = page.get_by_role("table", name="Audit log")
    expect(table.locator("tbody tr").first).to_contain_text("skill.enable")
    update = table.locator("tbody tr", has_text="webhook.update").first
    expect(update).to_contain_text("enabledtrue → false")
    expect(update).to_contain_text("admin")
    expect(table).to_contain_text("webhook.create")
    expect(table).to_contain_text("X-Api-Key")
    screenshot(page, "audit", full_page=False)
    assert_no_secret(page)


DAY = "(days) => new Date(Date.now() + days * 86400000).toLocaleDateString('en-CA')"


def test_the_audit_log_filters_by_action_operator_and_dates_and_pages(
    page: Page, console: Console
) -> None:
    with console.api("manager") as manager:
        assert manager.post("/webhooks", json=_definition(console, "audited")).status_code == 201
        for timeout in range(55):
            patched = manager.patch("/webhooks/audited", json={"timeout": 1 + timeout % 29})
            assert patched.status_code == 200
    create(console, "opening_hours")  # by admin
    with console.api() as admin:
        assert admin.patch("/webhooks/audited", json={"enabled": False}).status_code == 200
    sign_in(page, console.tokens["reader"])
    page.get_by_role("link", name="Audit log").click()
    filters = page.get_by_role("search", name="Filter the audit log")
    filters.get_by_label("Action", exact=True).fill("audited")
    filters.get_by_label("Operator").fill("manager")
    today = page.evaluate(DAY, 0)
    filters.get_by_label("From").fill(today)
    filters.get_by_label("To", exact=True).fill(today)
    assert_labelled(page)
    filters.get_by_role("button", name="Filter", exact=True).click()
    status = page.get_by_role("status").filter(has_text="Page")
    expect(status).to_have_text("Page 1: entries 1 to 50 matching the filters.")
    table = page.get_by_role("table", name="Audit log")
    expect(table.locator("tbody tr")).to_have_count(50)
    for who in table.locator("tbody tr td:nth-child(2)").all_text_contents():
        assert who == "manager"
    for target in table.locator("tbody tr td:nth-child(4)").all_text_contents():
        assert target == "webhook:audited"
    screenshot(page, "audit-filtered", full_page=False)
    pages = page.get_by_role("navigation", name="Audit log pages")
    expect(pages.get_by_role("button", name="Previous page")).to_be_hidden()
    pages.get_by_role("button", name="Next page").click()
    expect(status).to_have_text("Page 2: entries 51 to 56 matching the filters.")
    expect(table.locator("tbody tr").last).to_contain_text("webhook.create")
    expect(pages.get_by_role("button", name="Next page")).to_be_hidden()
    expect(pages.get_by_role("button", name="Previous page")).to_be_focused()
    page.keyboard.press("Enter")
    expect(status).to_have_text("Page 1: entries 1 to 50 matching the filters.")

    # Another operator; a day with nothing; days the wrong way round; a name that cannot be.
    filters.get_by_label("Operator").fill("admin")
    filters.get_by_role("button", name="Filter", exact=True).click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("enabledtrue → false")
    filters.get_by_label("From").fill(page.evaluate(DAY, 1))
    filters.get_by_label("To", exact=True).fill(page.evaluate(DAY, 1))
    filters.get_by_role("button", name="Filter", exact=True).click()
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()
    filters.get_by_label("From").fill(today)
    filters.get_by_label("To", exact=True).fill(page.evaluate(DAY, -1))
    filters.get_by_role("button", name="Filter", exact=True).click()
    expect(filters.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("The log was not filtered")
    expect(table).to_have_count(0)  # no entries of other filters than the form says
    filters.get_by_label("To", exact=True).fill("")
    filters.get_by_label("Action", exact=True).fill("Order Status")
    filters.get_by_role("button", name="Filter", exact=True).click()
    action = filters.get_by_label("Action", exact=True)
    expect(action).to_have_attribute("aria-invalid", "true")
    expect(action).to_have_accessible_description(re.compile("lowercase letters, digits"))
    screenshot(page, "audit-filter-error", full_page=False)
    filters.get_by_role("button", name="Clear filters").click()
    expect(action).to_have_value("")
    expect(table.locator("tbody tr").first).to_contain_text("webhook.update")
    expect(status).to_have_text("Page 1: entries 1 to 50.")


MARKUP = "<img src=x onerror=\"window.__xss='description'\">"
INJECTED = "() => document.querySelectorAll('main img, main svg, main script, main b, main i, [onerror], [onload], [onmouseover]').length"  # noqa: E501


def test_markup_in_every_text_is_shown_and_never_run(page: Page, console: Console) -> None:
    create(
        console,
        description=MARKUP,
        url=console.webhooks.url("/markup") + "?q=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
        examples=["<b onmouseover=\"window.__xss='example'\">bold</b>"],
        parameters=[
            {
                "name": "city",
                "description": "<script>window.__xss='parameter'</script>",
                "values": ["<i onclick=\"window.__xss='value'\">Berlin</i>"],
            }
        ],
    )
    console.store.accounts.create_operator(
        "acme", "<svg onload=\"window.__xss='operator'\">", actor="<b>test</b>"
    )
    sign_in(page, console.tokens["admin"])
    expect(page.get_by_text(MARKUP)).to_be_visible()
    page.get_by_role("link", name="Edit order_status").click()
    expect(page.get_by_label("Description", exact=True).first).to_have_value(MARKUP)
    expect(page.get_by_role("group", name="Parameter 1").get_by_label("Description")).to_have_value(
        "<script>window.__xss='parameter'</script>"
    )
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Test order_status").click()
    expect(page.get_by_text("<script>window.__xss='parameter'</script>")).to_be_visible()
    page.get_by_role("button", name="Send test").click()
    body = page.get_by_role("region", name="Test result").locator("pre")
    expect(body).to_contain_text('<script>window.__xss = "script"</script>')
    expect(page.get_by_role("region", name="Test result")).to_contain_text("text/html")
    screenshot(page, "test-markup")
    assert page.evaluate(INJECTED) == 0
    page.get_by_role("link", name="Tenant", exact=True).click()
    expect(page.get_by_text("<svg onload=\"window.__xss='operator'\">").first).to_be_visible()
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_text("<b>test</b>").first).to_be_visible()
    assert page.evaluate(INJECTED) == 0
    assert page.evaluate("() => window.__xss") is None


def test_the_whole_flow_works_with_the_keyboard(page: Page, console: Console) -> None:
    page.goto("/")
    page.keyboard.type(console.tokens["manager"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Actions")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == "New action":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New action")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("store_hours")
    page.keyboard.press("Tab")
    page.keyboard.type("Opening hours of a store")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(console.webhooks.url("/echo"))
    page.get_by_role("button", name="Add parameter").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("city")
    page.keyboard.press("Tab")  # type
    page.keyboard.press("Tab")  # description
    page.keyboard.type("Which city")
    page.get_by_role("button", name="Create action").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("store_hours was saved.")).to_be_visible()
    assert stored(console, "store_hours")["parameters"][0]["name"] == "city"

    page.get_by_role("button", name="Delete store_hours").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog").get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("store_hours was deleted.")).to_be_visible()


def test_a_view_that_loads_late_never_replaces_a_newer_one(page: Page, console: Console) -> None:
    sign_in(page, console.tokens["admin"])
    # The audit log waits for the API; the new-action form, asked for right after, does not.
    page.evaluate(
        """async () => {
            location.hash = "#/audit";
            await new Promise((resolve) => setTimeout(resolve, 0));
            location.hash = "#/actions/new";
        }"""
    )
    expect(page.get_by_role("heading", name="New action")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="New action")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)


def _pause_calls(console: Console, name: str) -> None:
    """Record a server process's pause of ``name``'s calls, for the table to show."""
    now = datetime.now(UTC)
    pause = CallPause(
        since=now, until=now + timedelta(minutes=5), failures=5, reason="invalid_response"
    )
    console.store.pauses.record("acme", name, "replica-1", pause)


def test_every_screen_fits_375_pixels(page: Page, console: Console) -> None:
    create(console)
    # With what the screens show beside a definition: a signing secret, a pause of its calls.
    console.store.signing.create("acme", "order_status", actor="test")
    _pause_calls(console, "order_status")
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, console.tokens["admin"])
    for name, address, heading in (
        ("actions", "/#/actions", "Actions"),
        ("editor", "/#/actions/order_status/edit", "Edit order_status"),
        ("test", "/#/actions/order_status/test", "Test order_status"),
        ("tenant", "/#/tenant", "Tenant acme"),
        ("audit", "/#/audit", "Audit log"),
    ):
        page.goto(address)
        # Its own heading: the previous screen's stays until the new one has loaded.
        expect(page.locator("main h1")).to_have_text(heading)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375, name
        assert_labelled(page)
        screenshot(page, f"narrow-{name}", full_page=name != "audit")


LONG_NAME = "order_status_lookup_for_customers_who_ordered_through_the_web_shop"[:64]
LONG_HOST = "orders-and-returns-service-eu-west-1.api-gateway.shop-example-company.com"


def test_the_actions_table_fits_a_1440_pixel_window(page: Page, console: Console) -> None:
    create(
        console,
        LONG_NAME,
        description="Looks up an order by its number and says where it is: "
        + "Supercalifragilisticexpialidocious" * 4
        + " and then a long explanation of what the assistant does with the answer. " * 4,
        url=f"https://{LONG_HOST}/v1/orders/status",
    )
    create(console)
    with console.api("manager") as client:
        assert client.post(f"/webhooks/{LONG_NAME}/test").status_code == 200
    _pause_calls(console, LONG_NAME)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, console.tokens["manager"])
    table = page.get_by_role("table", name="Webhook actions")
    expect(table.locator("tbody tr")).to_have_count(2)
    header = page.locator("header").bounding_box()
    main = page.locator("main").bounding_box()
    box = table.bounding_box()
    assert header is not None
    assert main is not None
    assert box is not None
    assert box["x"] + box["width"] <= header["x"] + header["width"]
    assert box["x"] + box["width"] <= main["x"] + main["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1440
    # Every row's buttons are inside the table, and what is cut says itself in full on hover.
    for row in table.locator("tbody tr").all():
        delete = row.get_by_role("button", name=re.compile("^Delete")).bounding_box()
        assert delete is not None
        assert delete["x"] + delete["width"] <= box["x"] + box["width"]
    long_row = table.locator("tr", has_text="order_status_lookup")
    expect(long_row.get_by_title(LONG_HOST)).to_be_visible()
    expect(long_row.get_by_title(LONG_NAME)).to_have_text(LONG_NAME)  # wrapped, never cut
    expect(long_row.get_by_text("Paused", exact=True)).to_be_visible()
    screenshot(page, "actions-1440", full_page=False)


def test_the_page_is_served_with_a_strict_policy(console: Console) -> None:
    with httpx.Client(base_url=console.base_url) as client:
        page = client.get("/")
        script = client.get("/console/js/main.js")
        api = client.get("/api/v1/health")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert script.headers["content-type"].startswith("text/javascript")
    for response in (page, script, api):
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_the_scripts_never_turn_text_into_html() -> None:
    scripts = Path(__file__).resolve().parents[2] / "admin" / "console" / "js"
    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(")
    found = [
        (script.name, sink)
        for script in sorted(scripts.glob("*.js"))
        for sink in sinks
        if sink in script.read_text()
    ]
    assert found == []
    assert len(list(scripts.glob("*.js"))) >= 6
