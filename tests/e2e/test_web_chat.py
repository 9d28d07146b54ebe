"""End users in a browser: the demo page's widget over Rasa's socket.io channel, with the
really trained demo bot (Debian's chromium, headless)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.admin.conftest import free_port
from tests.browser import screenshot
from tests.e2e.conftest import ANSWER, RASA, ROOT, Assistant, bot, echoing_action, open_chat, say
from tests.servers import start_server, stop

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

HERE = Path(__file__).parent


@pytest.fixture
def page(browser: Browser, web_chat: str) -> Iterator[Page]:
    context = browser.new_context(base_url=web_chat, viewport={"width": 1024, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == []


def test_the_greeting_then_an_order_over_a_websocket(page: Page) -> None:
    open_chat(page)
    expect(page.locator(".rasa-chat")).to_have_attribute("data-transport", "websocket")
    say(page, "where is my order #4521?")
    expect(bot(page).last).to_have_text(
        "Order #4521 has shipped and arrives in 2 days.", timeout=ANSWER
    )
    assert page.get_by_role("log", name="Conversation").count() == 1
    screenshot(page, HERE, "chat")


def test_a_form_asks_is_answered_and_stop_stops_it(page: Page) -> None:
    open_chat(page)
    say(page, "opening hours")
    expect(bot(page).last).to_contain_text("city of the store", timeout=ANSWER)
    # The allowed values come as buttons (Rasa's quick replies); one answers as if typed.
    bot(page).last.get_by_role("button", name="Berlin").click()
    expect(page.locator(".rasa-chat .rc-user").last).to_have_text("Berlin")
    expect(bot(page).last).to_have_text(
        "Our Berlin store is open today from 09:00 to 20:00.", timeout=ANSWER
    )
    screenshot(page, HERE, "chat-buttons")
    # (Asked again for opening hours, the bot would use Berlin, given earlier: another form.)
    say(page, "where is my order?")
    expect(bot(page).last).to_contain_text("order number", timeout=ANSWER)
    say(page, "stop")
    expect(bot(page).last).to_contain_text("I've stopped", timeout=ANSWER)


def test_a_reload_continues_the_same_conversation(page: Page) -> None:
    open_chat(page)
    say(page, "opening hours")
    expect(bot(page).last).to_contain_text("city of the store", timeout=ANSWER)
    session = page.locator(".rasa-chat").get_attribute("data-session")
    page.reload()
    expect(page.locator(".rasa-chat")).to_have_attribute("data-session", str(session))
    expect(page.locator(".rasa-chat .rc-user")).to_have_text(["opening hours"])
    # The same Rasa conversation: the form still waits for the city.
    say(page, "Lisbon")
    expect(bot(page).last).to_have_text(
        "Our Lisbon store is open today from 10:00 to 22:00.", timeout=ANSWER
    )
    assert page.get_by_text("Here is what I can help you with").count() == 1  # no new greeting


MARKUP = "<img src=x onerror=\"window.__xss='img'\"><b>Atlantis</b>"


def test_markup_in_a_bot_message_is_shown_as_text(page: Page, assistant: Assistant) -> None:
    # An action whose service repeats what the user said: its answer carries the markup.
    with echoing_action(assistant) as action:
        open_chat(page)
        # Rasa's payload syntax names the action and the value: no model decides whether
        # markup reads like a city. The payload shows as the user's message, also as text.
        payload = "/webhook" + json.dumps({"webhook_action": action, "city": MARKUP})
        say(page, payload)
        expect(bot(page).last).to_contain_text(f"We have no store in {MARKUP}.", timeout=ANSWER)
        injected = page.evaluate(
            "() => document.querySelectorAll('.rasa-chat img, .rasa-chat b, [onerror]').length"
        )
        assert injected == 0
        assert page.evaluate("() => window.__xss") is None
        screenshot(page, HERE, "chat-markup")


def test_the_widget_reconnects_after_rasa_restarts(browser: Browser, assistant: Assistant) -> None:
    endpoints = (assistant.project / "endpoints.yml").read_text()
    port = free_port()
    rasa = assistant.start_rasa("rasa-restarted", endpoints, port=port)
    process, url = start_server(
        "web", {}, assistant.logs / "web-restart.log", args=["--rasa-url", rasa]
    )
    context = browser.new_context(base_url=url)
    try:
        page = context.new_page()
        open_chat(page)
        stop(assistant.processes.pop("rasa-restarted"))
        expect(page.get_by_text("Connection lost: reconnecting")).to_be_visible(timeout=ANSWER)
        assistant.start_rasa("rasa-restarted", endpoints, port=port)
        expect(page.get_by_text("Connection lost: reconnecting")).to_be_hidden(timeout=ANSWER)
        say(page, "where is my order #4521?")
        expect(bot(page).last).to_have_text(
            "Order #4521 has shipped and arrives in 2 days.", timeout=ANSWER
        )
    finally:
        context.close()
        stop(process)
        if "rasa-restarted" in assistant.processes:
            stop(assistant.processes.pop("rasa-restarted"))


def test_the_chat_fits_375_pixels_and_keeps_its_labels(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    open_chat(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Shop assistant")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    screenshot(page, HERE, "chat-narrow")


# The host page as a site that embeds the widget sees it: scroll positions and where the widget
# sits in the page's flow when it is added, recorded from before any script of the page runs.
WATCH_THE_HOST = """
window.__scrolls = [];
addEventListener("scroll", () => window.__scrolls.push(scrollY));
window.__placed = [];
new MutationObserver((changes) => {
  for (const change of changes) for (const node of change.addedNodes) {
    if (node.classList?.contains("rasa-chat")) {
      window.__placed.push(getComputedStyle(node).position);
    }
  }
}).observe(document, { childList: true, subtree: true });
"""
WIDTHS = {1280: {"width": 1280, "height": 800}, 375: {"width": 375, "height": 740}}
HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>A site with the chat</title>
  <link rel="icon" href="data:,">
  <style>body {{ margin: 0; font: 18px/1.6 Georgia, serif; }} main {{ padding: 24px; }}</style>
</head>
<body>
  <main><h1>A long article</h1>{paragraphs}</main>
  <script type="module" src="{widget}"{attributes}></script>
</body>
</html>
"""


@pytest.fixture(scope="module")
def host_site(web_chat: str, assistant: Assistant) -> Iterator[str]:
    """Another site embedding the widget with one tag: a page several screens tall, on its own
    origin; the query string gives the tag's data- attributes (``?open=false``). Its URL."""
    defaults = {"server": assistant.rasa_url, "title": "Shop assistant", "initial-message": "hi"}
    paragraphs = "".join(f"<p>Paragraph {n} of the article.</p>" for n in range(1, 61))

    class HostPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = defaults | dict(parse_qsl(urlsplit(self.path).query))
            attributes = "".join(f' data-{k}="{escape(v)}"' for k, v in data.items())
            body = HOST_PAGE.format(
                paragraphs=paragraphs, widget=f"{web_chat}/widget/chat.js", attributes=attributes
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), HostPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_widget_never_scrolls_or_moves_the_host_page(page: Page, width: int) -> None:
    page.set_viewport_size(WIDTHS[width])
    page.add_init_script(WATCH_THE_HOST)
    open_chat(page)  # opened at start: the input has the focus
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    assert page.evaluate("() => document.documentElement.scrollHeight > innerHeight")
    assert page.evaluate("() => [scrollY, window.__scrolls]") == [0, []]
    # Never part of the page's flow, not even before its stylesheet applied.
    assert page.evaluate("() => window.__placed") == ["fixed"]
    # ... and adds nothing to its height.
    heights = page.evaluate("""() => {
        const root = document.querySelector(".rasa-chat");
        const height = () => document.documentElement.scrollHeight;
        const shown = height();
        root.style.display = "none";
        const gone = height();
        root.style.display = "";
        return [shown, gone];
    }""")
    assert heights[0] == heights[1]
    screenshot(page, HERE, f"host-page-{width}", full_page=False)
    # A visitor who scrolled the page closes the chat, opens it again and gets an answer.
    page.evaluate("() => { scrollTo(0, 150); }")
    page.wait_for_function("() => scrollY === 150")
    page.evaluate("() => { window.__scrolls = []; }")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Shop assistant").click()
    say(page, "where is my order #4521?")
    expect(bot(page).last).to_have_text(
        "Order #4521 has shipped and arrives in 2 days.", timeout=ANSWER
    )
    assert page.evaluate("() => [scrollY, window.__scrolls]") == [150, []]


def test_a_site_styling_the_widget_itself_is_not_scrolled_either(
    page: Page, host_site: str
) -> None:
    # Its stylesheet not applied (here: none at all), the widget sits at the end of the page's
    # flow, screens below, and opening at start focuses its input there.
    page.set_viewport_size(WIDTHS[375])
    page.add_init_script(WATCH_THE_HOST)
    page.goto(f"{host_site}/?stylesheet=none&open=true")
    expect(bot(page).first).to_contain_text("Here is what I can help you with", timeout=ANSWER)
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    expect(page.get_by_role("textbox", name="Message")).not_to_be_in_viewport()
    assert page.evaluate("() => [scrollY, window.__scrolls]") == [0, []]


def messages(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def scrolled_to_latest(page: Page) -> bool:
    """The message list overflows and shows its end."""
    return bool(
        messages(page).evaluate(
            "list => list.scrollHeight > list.clientHeight"
            " && list.scrollTop + list.clientHeight >= list.scrollHeight - 1"
        )
    )


def test_a_reload_shows_the_latest_message(page: Page, host_site: str) -> None:
    page.set_viewport_size(WIDTHS[1280])
    page.goto(f"{host_site}/?open=true")
    expect(bot(page).first).to_contain_text("Here is what I can help you with", timeout=ANSWER)
    say(page, "opening hours")
    expect(bot(page).last).to_contain_text("city of the store", timeout=ANSWER)
    bot(page).last.get_by_role("button", name="Berlin").click()
    expect(bot(page).last).to_contain_text("Our Berlin store", timeout=ANSWER)
    say(page, "where is my order #4521?")
    expect(bot(page).last).to_have_text(
        "Order #4521 has shipped and arrives in 2 days.", timeout=ANSWER
    )
    say(page, "what's on sale today?")
    expect(bot(page).last).to_contain_text("Today's offers", timeout=ANSWER)
    page.reload()  # the window is open when the transcript comes back
    expect(page.locator(".rasa-chat .rc-user")).to_have_count(4)
    expect(bot(page).last).to_be_in_viewport()
    expect(bot(page).first).not_to_be_in_viewport()
    assert scrolled_to_latest(page)
    screenshot(page, HERE, "reload-latest-1280", full_page=False)
    # A page that opens the window later: the transcript comes back into a hidden window.
    page.set_viewport_size(WIDTHS[375])
    page.goto(f"{host_site}/?open=false")
    expect(page.get_by_role("button", name="Shop assistant")).to_be_visible()
    expect(page.locator(".rasa-chat .rc-user")).to_have_count(4)
    page.get_by_role("button", name="Shop assistant").click()
    expect(bot(page).last).to_be_in_viewport()
    assert scrolled_to_latest(page)
    assert page.evaluate("() => scrollY") == 0
    screenshot(page, HERE, "reload-latest-375", full_page=False)


@pytest.mark.parametrize("answered", ["pressed", "typed"])
def test_an_answered_questions_buttons_are_disabled(page: Page, answered: str) -> None:
    page.set_viewport_size(WIDTHS[1280])
    open_chat(page)
    say(page, "opening hours")
    expect(bot(page).last).to_contain_text("city of the store", timeout=ANSWER)
    # Pinned by its words: ``.last`` would move on to the answer once it arrives.
    question = bot(page).filter(has_text="city of the store")
    expect(question.get_by_role("button")).to_have_count(4)
    if answered == "pressed":
        question.get_by_role("button", name="Lisbon").click()
        expect(page.locator(".rasa-chat .rc-user").last).to_have_text("Lisbon")
    else:
        say(page, "lisbon")
    expect(bot(page).last).to_contain_text("Our Lisbon store", timeout=ANSWER)
    for button in question.get_by_role("button").all():
        expect(button).to_be_disabled()
    for width, size in WIDTHS.items():  # and after a reload, at both widths
        page.set_viewport_size(size)
        page.reload()
        buttons = bot(page).filter(has_text="city of the store").get_by_role("button")
        expect(buttons).to_have_count(4)
        for button in buttons.all():
            expect(button).to_be_disabled()
        screenshot(page, HERE, f"answered-{answered}-{width}", full_page=False)


def in_corner(page: Page, element: Locator, corner: str) -> bool:
    """``element`` is within 16 px of the viewport's bottom and of its ``corner``'s side."""
    box = element.bounding_box()
    assert box is not None
    width, height = page.evaluate(
        "() => [document.documentElement.clientWidth, document.documentElement.clientHeight]"
    )
    side = box["x"] if corner == "bottom-left" else width - (box["x"] + box["width"])
    return 0 <= side <= 16 and 0 <= height - (box["y"] + box["height"]) <= 16


@pytest.mark.parametrize("corner", ["bottom-right", "bottom-left"])
def test_the_widget_keeps_its_corner_at_every_width(
    page: Page, host_site: str, corner: str
) -> None:
    query = "open=false" if corner == "bottom-right" else f"open=false&position={corner}"
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto(f"{host_site}/?{query}")
        launcher = page.get_by_role("button", name="Shop assistant")
        expect(launcher).to_be_visible()
        assert in_corner(page, launcher, corner)
        # Closed, it covers nothing of the page but its launcher: the other corner is the page's.
        x = "24" if corner == "bottom-right" else "innerWidth - 24"
        point = f"document.elementFromPoint({x}, innerHeight - 24)"
        assert page.evaluate(f"() => {point}.closest('.rasa-chat') === null")
        screenshot(page, HERE, f"corner-{corner}-{width}", full_page=False)
        launcher.click()
        window = page.get_by_role("region", name="Shop assistant")
        expect(window).to_be_visible()
        assert in_corner(page, window, corner)
        screenshot(page, HERE, f"corner-{corner}-{width}-open", full_page=False)


def test_the_locked_socketio_fits_rasas_channel() -> None:
    """Rasa 3.6.21 calls AsyncServer.enter_room without await: with a python-socketio where it
    is a coroutine the socket never joins its session's room and no reply arrives."""
    probe = subprocess.run(
        [str(RASA.parent / "python"), "-c",
         "import inspect, socketio; print(inspect.iscoroutinefunction("
         "socketio.AsyncServer.enter_room))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert probe.stdout.strip() == "False"
