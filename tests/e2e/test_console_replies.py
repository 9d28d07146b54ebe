"""An operator writes the replies in the console and the web chat says them: the admin server
on the assistant's store, the console in chromium, then the really trained demo bot over
socket.io in the demo page's widget.

The operator edits the demo's ``order_status``: a success template, a not_found template, and
a second parameter whose value is the conversation's sender id; Tests it (an unknown order,
then a known one); previews the templates against that answer as they type; saves. The chat
then answers a known order with the success template, an unknown one (the demo service
answers 404 below #1000) with the not_found template, and never asks for the sender id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.browser import screenshot
from tests.e2e.conftest import ANSWER, ROOT, Assistant, bot, open_chat, say
from tests.servers import start_server, stop
from webhooks import MANAGE, READ

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

HERE = Path(__file__).parent
#: What the admin server shares with the assistant's action server: the store, its keys, and
#: the egress allowance and CA that let a Test reach the demo service on 127.0.0.1.
SHARED = ("DATABASE_URL", "WEBHOOKS_KEYS", "WEBHOOKS_EGRESS_ALLOW", "WEBHOOKS_CA_FILE")

SUCCESS = (
    "Order #{{ order_id }} is {{ result.status }}"
    "{% if result.eta != '-' %} and arrives in {{ result.eta }}{% endif %}."
)
TYPED = " Looked up for {{ customer }}."
NOT_FOUND = "We have no order #{{ order_id }} on file; the number is in your confirmation email."


@pytest.fixture(scope="module")
def admin(assistant: Assistant) -> Iterator[tuple[str, str]]:
    """``python -m admin serve`` on the assistant's store; its URL and an operator's token."""
    token = assistant.store.accounts.create_operator(
        "demo", "replies_operator", permissions=[READ, MANAGE], actor="e2e"
    )[1]
    env = {name: assistant.env[name] for name in SHARED}
    process, url = start_server("admin", env, assistant.logs / "admin.log", health="/api/v1/health")
    yield url, token
    stop(process)


@pytest.fixture
def demo_order_status(assistant: Assistant) -> Iterator[None]:
    """Puts the demo's order_status back as demo/actions.json has it, which the other
    end-to-end tests expect."""
    before = assistant.store.catalog.get("demo", "order_status").public()
    yield
    demo = next(
        definition
        for definition in json.loads((ROOT / "demo/actions.json").read_text())
        if definition["name"] == "order_status"
    )
    demo["url"] = demo["url"].replace("https://127.0.0.1:8443", assistant.demo_url)
    del demo["name"]
    assistant.store.catalog.update("demo", "order_status", demo, replace=True, actor="e2e")
    assistant.wait_served()
    assert assistant.store.catalog.get("demo", "order_status").public() == before


def _watched(context: BrowserContext, problems: list[str]) -> Page:
    """A new page of ``context`` whose script errors (a CSP violation among them, which
    chromium logs as an error) go to ``problems``."""
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page


def test_replies_written_in_the_console_are_said_in_the_web_chat(
    browser: Browser,
    assistant: Assistant,
    admin: tuple[str, str],
    web_chat: str,
    demo_order_status: None,
) -> None:
    admin_url, token = admin
    problems: list[str] = []
    console = browser.new_context(base_url=admin_url, viewport={"width": 1280, "height": 900})
    chat = browser.new_context(base_url=web_chat, viewport={"width": 1024, "height": 800})
    try:
        page = _watched(console, problems)
        page.goto("/")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Edit order_status").click()

        # The operator's words, and a value the conversation gives instead of the user.
        replies = page.get_by_role("group", name="Replies")
        replies.get_by_label("Success reply", exact=True).fill(SUCCESS)
        replies.get_by_label("Not found reply", exact=True).fill(NOT_FOUND)
        page.get_by_role("button", name="Add parameter").click()
        customer = page.get_by_role("group", name="Parameter 2")
        customer.get_by_label("Name", exact=True).fill("customer")
        customer.get_by_label("Description").fill("the customer asking")
        customer.get_by_label("Value from").select_option("Sender id")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("order_status was saved.")).to_be_visible()

        # Tests against the demo service: an unknown order, then a known one.
        page.get_by_role("link", name="Test order_status").click()
        expect(page.get_by_label("customer (string, required)")).to_have_accessible_description(
            "the customer asking (in a conversation: the sender id)"
        )
        page.get_by_label("order_id (integer, required)").fill("12")
        page.get_by_label("customer (string, required)").fill("console-check")
        page.get_by_role("button", name="Send test").click()
        result = page.get_by_role("region", name="Test result")
        expect(result.get_by_role("heading", level=2)).to_have_text(
            "Status 404: failed (not_found)"
        )
        said = result.get_by_role("region", name="What the bot would say")
        expect(said).to_contain_text("(not_found)")
        expect(said).to_contain_text(
            "We have no order #12 on file; the number is in your confirmation email."
        )
        expect(result.locator("pre")).to_have_text('{"error": "no order #12"}')
        page.get_by_label("order_id (integer, required)").fill("4521")
        page.get_by_role("button", name="Send test").click()
        expect(result.get_by_role("heading", level=2)).to_have_text("Status 200: OK")
        expect(said).to_contain_text("Order #4521 is shipped and arrives in 2 days.")
        screenshot(page, HERE, "console-replies-test")

        # The previews render against that answer, as the operator types.
        page.get_by_role("link", name="Edit order_status").click()
        success = replies.get_by_label("Success reply", exact=True)
        success_preview = replies.get_by_role("region", name="Preview of the success reply")
        expect(success_preview).to_contain_text("Preview against the last Test (status 200")
        expect(success_preview).to_contain_text("Order #4521 is shipped and arrives in 2 days.")
        success.press("End")
        success.press_sequentially(TYPED)
        expect(success_preview).to_contain_text(
            "Order #4521 is shipped and arrives in 2 days. Looked up for console-check."
        )
        replies.get_by_label("Not found reply", exact=True).focus()
        expect(
            replies.get_by_role("region", name="Preview of the not found reply")
        ).to_contain_text("We have no order #4521 on file")
        screenshot(page, HERE, "console-replies-preview")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("order_status was saved.")).to_be_visible()
        saved = assistant.store.catalog.get("demo", "order_status")
        assert dict(saved.replies) == {"success": SUCCESS + TYPED, "not_found": NOT_FOUND}
        assert [p.source for p in saved.parameters] == [None, "sender_id"]
        assistant.wait_served()

        # The web chat: the trained bot says the operator's words, and asks for no sender id.
        chat_page = _watched(chat, problems)
        open_chat(chat_page)
        sender = chat_page.locator(".rasa-chat").get_attribute("data-session")
        assert sender
        for message, expected in (
            ("where is my order #4521?",
             f"Order #4521 is shipped and arrives in 2 days. Looked up for {sender}."),
            ("where is my order #12?",
             "We have no order #12 on file; the number is in your confirmation email."),
        ):  # fmt: skip
            before = bot(chat_page).count()
            say(chat_page, message)
            expect(bot(chat_page).last).to_have_text(expected, timeout=ANSWER)
            # One turn, one answer: no question came before it.
            expect(bot(chat_page)).to_have_count(before + 1)
        screenshot(chat_page, HERE, "chat-console-replies")
    finally:
        console.close()
        chat.close()
    assert problems == []
