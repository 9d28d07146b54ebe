"""Telegram and Slack end to end: the project's connectors (``channels/``) in a really trained
Rasa, with local stand-ins for the platforms' APIs (``standins``), posted real-shaped updates
and events as the platforms post them. Every message the bot sent is read from the stand-in,
text and buttons.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Assistant, echoing_action
from tests.e2e.standins import (
    SlackAPI,
    SlackUser,
    TelegramAPI,
    TelegramUser,
    last_user_text,
    turn_done,
    user_messages,
)

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

ORDER = "where is my order #4521?"
ORDER_ANSWER = "Order #4521 has shipped and arrives in 2 days."
CITIES = ["Berlin", "Lisbon", "Paris", "London"]
ASK_CITY = "Please tell me the city of the store (Berlin, Lisbon, Paris or London)."
MARKUP = "<!channel> <b>x</b> &amp;"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Platforms:
    """A Rasa with the Telegram and Slack connectors, and the stand-ins it talks to."""

    assistant: Assistant
    rasa_url: str
    telegram: TelegramAPI
    slack: SlackAPI
    telegram_secret: str
    signing_secret: str
    slack_token: str
    ids: Iterator[int]

    def telegram_user(self, *, group: bool = False) -> TelegramUser:
        n = next(self.ids)
        return TelegramUser(
            self.telegram, self.rasa_url, self.assistant.rasa_token, self.telegram_secret,
            -(1_000_000_000 + n) if group else 700_000 + n, user_id=700_000 + n,
        )  # fmt: skip

    def slack_user(self, *, channel: bool = False) -> SlackUser:
        n = next(self.ids)
        return SlackUser(
            self.slack, self.rasa_url, self.assistant.rasa_token, self.signing_secret,
            f"U{n:08d}", f"C{n:08d}" if channel else f"D{n:08d}",
        )  # fmt: skip


@pytest.fixture(scope="module")
def platforms(assistant: Assistant) -> Iterator[Platforms]:
    telegram_token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}"
    slack_token = f"xoxb-{secrets.token_hex(16)}"
    signing_secret = secrets.token_hex(16)
    telegram = TelegramAPI(telegram_token, "shop_bot").start()
    slack = SlackAPI(slack_token).start()
    # The blocks credentials.yml ships commented out, switched on as docs/channels.md says, with the
    # stand-ins' addresses added.
    credentials = "rest:\n" + switched_on(
        (ROOT / "credentials.yml").read_text(),
        {
            "channels.telegram.TelegramInput": telegram.url,
            "channels.slack.SlackInput": f"{slack.url}/api",
        },
    )
    variables = {
        "TELEGRAM_TOKEN": telegram_token,
        "TELEGRAM_BOT_NAME": "shop_bot",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/webhooks/telegram/webhook",
        "SLACK_TOKEN": slack_token,
        "SLACK_SIGNING_SECRET": signing_secret,
    }
    try:
        rasa_url = assistant.start_rasa(
            "rasa-channels", (assistant.project / "endpoints.yml").read_text(),
            credentials=credentials, env=variables,
        )  # fmt: skip
        setting = telegram.got("setWebhook")
        deadline = time.monotonic() + 30
        while not setting and time.monotonic() < deadline:
            time.sleep(0.1)
            setting = telegram.got("setWebhook")
        assert setting, "the Telegram connector did not register its webhook"
        yield Platforms(
            assistant, rasa_url, telegram, slack, setting[0].params["secret_token"],
            signing_secret, slack_token, iter(range(1, 10**6)),
        )  # fmt: skip
    finally:
        process = assistant.processes.pop("rasa-channels", None)
        if process is not None:
            process.terminate()
            process.wait(30)
        telegram.stop()
        slack.stop()


def switched_on(shipped: str, api_urls: dict[str, str]) -> str:
    """The commented channel blocks of ``shipped`` (a credentials.yml) uncommented, each with
    ``api_url`` added; the block names must be the keys of ``api_urls``."""
    lines, block = [], ""
    for line in shipped.splitlines():
        if line.startswith("# channels."):
            block = line[2:].rstrip(":")
            lines.append(line[2:])
            lines.append(f"  api_url: {api_urls[block]}")
        elif block and line.startswith("#   "):
            lines.append(line[2:])
        else:
            block = ""
    assert sorted(b for b in api_urls) == sorted(
        line.rstrip(":") for line in lines if not line.startswith(" ")
    ), "credentials.yml does not ship the connectors this test expects"
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["telegram", "slack"])
def user(request: pytest.FixtureRequest, platforms: Platforms) -> TelegramUser | SlackUser:
    """A user in a private chat with the bot, on each platform."""
    if request.param == "telegram":
        return platforms.telegram_user()
    return platforms.slack_user()


# What a user meets, on both platforms.


def test_an_order_is_answered(user: TelegramUser | SlackUser) -> None:
    assert user.say(ORDER) == [ORDER_ANSWER]


def test_the_city_is_asked_with_buttons_and_answered_by_a_press(
    user: TelegramUser | SlackUser,
) -> None:
    assert user.say("when are you open?") == [ASK_CITY]
    assert user.buttons() == CITIES
    assert user.press("Lisbon") == ["Our Lisbon store is open today from 10:00 to 22:00."]


def test_the_eleventh_call_is_refused(user: TelegramUser | SlackUser) -> None:
    for _ in range(10):
        assert user.say(ORDER) == [ORDER_ANSWER]
    assert "as many lookups" in " ".join(user.say(ORDER))


def test_a_disabled_action_is_polite(user: TelegramUser | SlackUser, platforms: Platforms) -> None:
    store = platforms.assistant.store
    store.catalog.update("demo", "order_status", {"enabled": False}, actor="e2e")
    try:
        platforms.assistant.wait_served()
        assert "switched off" in " ".join(user.say(ORDER))
    finally:
        store.catalog.update("demo", "order_status", {"enabled": True}, actor="e2e")
        platforms.assistant.wait_served()
    assert user.say(ORDER) == [ORDER_ANSWER]


def test_stop_ends_the_question(user: TelegramUser | SlackUser) -> None:
    assert "order number" in " ".join(user.say("where is my order?")).lower()
    assert user.say("stop") == ["Okay, I've stopped. What else can I do for you?"]
    assert user.say(ORDER) == [ORDER_ANSWER]


# Telegram.


def test_telegram_registers_its_webhook_with_a_secret(platforms: Platforms) -> None:
    assert platforms.telegram.got("getMe")
    (setting,) = platforms.telegram.got("setWebhook")
    assert setting.params["url"] == "https://bot.example.com/webhooks/telegram/webhook"
    assert len(setting.params["secret_token"]) >= 32
    assert json.loads(setting.params["allowed_updates"]) == ["message", "callback_query"]


@pytest.mark.parametrize(
    "secret", [pytest.param("", id="none"), pytest.param("x" * 64, id="wrong")]
)
def test_telegram_refuses_an_update_without_the_secret(platforms: Platforms, secret: str) -> None:
    user = platforms.telegram_user()
    response = user.post({"message": user.message(ORDER)}, secret=secret)
    assert response.status_code == 403
    assert user.say("hi")  # the refused update was never handled: this is turn 1
    assert ORDER_ANSWER not in [c.params["text"] for c in platforms.telegram.sent(user.chat_id)]


def test_telegram_handles_a_redelivered_update_once(platforms: Platforms) -> None:
    user = platforms.telegram_user()
    update = {"message": user.message(ORDER)}
    assert user.post(update, update_id=424242).text == "ok"
    assert user.post(update, update_id=424242).text == "seen"
    # A chat's updates are handled in order: a second handling would come before this one.
    user.turns = 1
    assert user.say("hi")
    assert user_messages(user.rasa_url, user.rasa_token, user.sender) == 2
    assert [c.params["text"] for c in platforms.telegram.sent(user.chat_id)].count(
        ORDER_ANSWER
    ) == 1


def test_telegram_marks_a_pressed_question_answered(platforms: Platforms) -> None:
    user = platforms.telegram_user()
    user.say("when are you open?")
    question = platforms.telegram.sent(user.chat_id)[-1].params
    assert user.press("Paris") == ["Our Paris store is open today from 09:30 to 19:30."]
    first = user.last_query
    assert [
        c for c in platforms.telegram.got("answerCallbackQuery")
        if c.params["callback_query_id"] == first
    ]  # fmt: skip
    (edit,) = [
        c for c in platforms.telegram.got("editMessageText")
        if int(c.params["message_id"]) == question["message_id"]
    ]  # fmt: skip
    assert edit.params["text"] == f"{ASK_CITY}\n» Paris"
    assert "reply_markup" not in edit.params  # the buttons are gone
    # A second press on the same question (a quick double tap) stops its spinner only.
    assert user.post({"callback_query": user.query(question, "London")}).text == "ok"
    assert user.say("hi")  # in order after the press: its turn would have come first
    assert user_messages(user.rasa_url, user.rasa_token, user.sender) == 3
    _until(lambda: platforms.telegram.got("answerCallbackQuery")[-1].params["callback_query_id"]
           == user.last_query)  # fmt: skip
    assert "Our London" not in " ".join(
        c.params["text"] for c in platforms.telegram.sent(user.chat_id)
    )


def test_telegram_in_a_group_answers_only_what_is_meant_for_it(platforms: Platforms) -> None:
    group = platforms.telegram_user(group=True)
    mention = {"type": "mention", "offset": 0, "length": len("@shop_bot")}
    assert group.say(f"@shop_bot {ORDER}", entities=[mention]) == [ORDER_ANSWER]
    # Telegram counts offsets in UTF-16 code units: an emoji before the mention takes two.
    mention = {"type": "mention", "offset": 3, "length": len("@shop_bot")}
    assert group.say(f"🙂 @shop_bot {ORDER}", entities=[mention]) == [ORDER_ANSWER]
    # The mention is cut where Telegram says it is, not where its letters first appear.
    text = f"{ORDER} cc x@shop_bot.de @shop_bot"
    mention = {"type": "mention", "offset": len(text) - 9, "length": 9}
    assert group.say(text, entities=[mention]) == [ORDER_ANSWER]
    assert last_user_text(group.rasa_url, group.rasa_token, group.sender) == text[:-10]
    # A command to the bot, and a reply to one of its messages, are meant for it.
    command = {"type": "bot_command", "offset": 0, "length": len("/start@shop_bot")}
    assert "Here is what I can help you with" in " ".join(
        group.say("/start@shop_bot", entities=[command])
    )
    bot_message = platforms.telegram.sent(group.chat_id)[-1].params
    reply_to = platforms.telegram.message(dict(bot_message), message_id=bot_message["message_id"])
    assert group.say(ORDER, reply_to_message=reply_to) == [ORDER_ANSWER]
    # Talk among the members, and other bots, are not for it: ignored, never handled.
    assert group.post({"message": group.message(ORDER)}).text == "ignored"
    other_bot = group.message(f"@shop_bot {ORDER}", entities=[mention | {"offset": 0}])
    other_bot["from"] = {"id": 99, "is_bot": True, "first_name": "Other"}
    assert group.post({"message": other_bot}).text == "ignored"
    assert user_messages(group.rasa_url, group.rasa_token, group.sender) == group.turns


def test_telegram_start_greets_and_a_photo_is_said_unreadable(platforms: Platforms) -> None:
    user = platforms.telegram_user()
    assert "Here is what I can help you with" in " ".join(
        user.say("/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    )
    photo = user.message("")
    del photo["text"]
    photo["photo"] = [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]
    response = user.post({"message": photo})
    assert response.status_code == 200
    _until(lambda: len(platforms.telegram.sent(user.chat_id)) > 1)
    assert platforms.telegram.sent(user.chat_id)[-1].params["text"] == (
        "I can only read text messages."
    )


# Slack.


def test_slack_answers_its_url_check_in_plain_text(platforms: Platforms) -> None:
    user = platforms.slack_user()
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRN", "type": "url_verification"})
    response = user.post(body.encode(), "application/json")
    assert response.status_code == 200
    assert response.text == "3eZbrw1aBm2rZgRN"


def test_slack_answers_a_mention_in_its_channel(platforms: Platforms) -> None:
    user = platforms.slack_user(channel=True)
    assert user.say(ORDER) == [ORDER_ANSWER]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda user, body: {}, id="unsigned"),
        pytest.param(
            lambda user, body: user.sign(body) | {"X-Slack-Signature": "v0=" + "0" * 64},
            id="bad-signature",
        ),
        pytest.param(lambda user, body: user.sign(body, int(time.time()) - 600), id="old"),
    ],
)
def test_slack_refuses_a_request_it_did_not_sign(
    platforms: Platforms, headers: Callable[[SlackUser, bytes], dict[str, str]]
) -> None:
    user = platforms.slack_user()
    body = user.event(ORDER)
    assert user.post(body, "application/json", headers(user, body)).status_code == 400
    time.sleep(1)
    assert platforms.slack.posted(user.channel) == []


def test_slack_refuses_a_replayed_request_and_answers_a_redelivery_once(
    platforms: Platforms,
) -> None:
    user = platforms.slack_user()
    body = user.event(ORDER, event_id="EvREPLAY01")
    signed = user.sign(body)
    assert user.post(body, "application/json", signed).status_code == 200
    assert user.post(body, "application/json", signed).status_code == 400  # a replay
    # Slack's own redelivery: the same event, signed anew.
    assert user.post(body, "application/json", user.sign(body, int(time.time()) + 1)).is_success
    turn_done(user.rasa_url, user.rasa_token, user.user, 1)
    user.turns = 1
    # Rasa's lock store serves a conversation's messages in order of arrival: a second
    # handling of the event would have come before this one.
    assert user.say("hi")
    assert user_messages(user.rasa_url, user.rasa_token, user.user) == 2
    said = [c.params["text"] for c in platforms.slack.posted(user.channel)]
    assert said.count(ORDER_ANSWER) == 1


def test_slack_marks_a_pressed_question_answered(platforms: Platforms) -> None:
    user = platforms.slack_user()
    user.say("when are you open?")
    question = platforms.slack.posted(user.channel)[-1].params
    assert user.press("Berlin") == ["Our Berlin store is open today from 09:00 to 20:00."]
    _until(
        lambda: [c for c in platforms.slack.got("chat.update") if c.params["ts"] == question["ts"]]
    )
    (update,) = [c for c in platforms.slack.got("chat.update") if c.params["ts"] == question["ts"]]
    assert [b["type"] for b in update.params["blocks"]] == ["section", "context"]
    assert update.params["blocks"][1]["elements"][0]["text"] == "» Berlin"
    # A second press on the same question is no second answer.
    assert user.post(user.interaction(question, "London"), FORM).status_code == 200
    assert user.say("hi")
    assert user_messages(user.rasa_url, user.rasa_token, user.user) == 3
    assert "Our London" not in " ".join(
        c.params["text"] for c in platforms.slack.posted(user.channel)
    )


def test_slack_shows_a_webhooks_markup_as_text(platforms: Platforms) -> None:
    with echoing_action(platforms.assistant) as action:
        user = platforms.slack_user()
        payload = "/webhook" + json.dumps({"webhook_action": action, "city": MARKUP})
        # Slack escapes what its user typed; the connector gives Rasa what was typed.
        typed = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        (said,) = user.say(typed)
        assert said.startswith(
            "We have no store in &lt;!channel&gt; &lt;b&gt;x&lt;/b&gt; &amp;amp;. Our stores"
        )


def test_the_platform_secrets_stay_out_of_rasas_log(platforms: Platforms) -> None:
    log = (platforms.assistant.logs / "rasa-channels.log").read_text()
    for secret in (platforms.telegram.token, platforms.slack_token, platforms.signing_secret,
                   platforms.telegram_secret):  # fmt: skip
        assert secret not in log


def _until(condition: Callable[[], Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
