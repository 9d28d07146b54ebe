"""Local stand-ins for Telegram's Bot API and Slack's Web API, and the users who talk through
them: no internet here, so Rasa's channel connectors are pointed at these (their ``api_url``,
set only in the tests' credentials).

Each stand-in is a real HTTP server (aiohttp, in a thread of the test process) that checks
what the platform checks (the token, the arguments it refuses) and keeps every call it got, for
the tests to assert. The users post real-shaped updates and events to Rasa's webhooks, signed or
carrying the secret as the platform does, and wait for Rasa to finish the turn (its tracker's
last event is ``action_listen`` again) before they read what the bot sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web

from tests.admin.conftest import free_port

TURN = 60.0


@dataclass(frozen=True)
class Call:
    """One API call a stand-in got: the method and its arguments (JSON-valued ones parsed)."""

    method: str
    params: dict[str, Any]


class StandIn:
    """An aiohttp app on a free loopback port, served from its own thread."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> StandIn:
        self._thread.start()
        port = free_port()

        async def serve() -> None:
            self._runner = web.AppRunner(self.app())
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", port).start()

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(Call(method, params))

    def got(self, method: str | None = None) -> list[Call]:
        """The calls so far (of ``method``), in order."""
        with self._lock:
            return [c for c in self.calls if method is None or c.method == method]


class TelegramAPI(StandIn):
    """Telegram's Bot API at ``/bot<token>/<method>``: getMe, setWebhook, sendMessage,
    answerCallbackQuery, editMessageText, as Telegram answers them."""

    def __init__(self, token: str, username: str) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":")[0])
        self._message_ids = itertools.count(1000)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._call)
        return app

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _telegram_error(401, "Unauthorized")
        params = await _arguments(request)
        if isinstance(params.get("reply_markup"), str):
            params["reply_markup"] = json.loads(params["reply_markup"])
        method = request.match_info["method"]
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return _telegram_error(404, "Not Found")
        answer: web.Response = handler(params)
        if answer.status == 200:
            self.record(method, params)
        return answer

    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Shop", "username": self.username}

    def _getMe(self, params: dict[str, Any]) -> web.Response:
        return _telegram_ok(self._me())

    def _setWebhook(self, params: dict[str, Any]) -> web.Response:
        if not str(params.get("url", "")).startswith("https://"):
            return _telegram_error(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        return _telegram_ok(True)

    def _sendMessage(self, params: dict[str, Any]) -> web.Response:
        text = str(params.get("text", ""))
        if not params.get("chat_id") or not text.strip():
            return _telegram_error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _telegram_error(400, "Bad Request: message is too long")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if not 1 <= len(str(button.get("callback_data", "")).encode()) <= 64:
                    return _telegram_error(400, "Bad Request: BUTTON_DATA_INVALID")
        return _telegram_ok(self.message(params))

    def _answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        if not params.get("callback_query_id"):
            return _telegram_error(400, "Bad Request: query is too old or query ID is invalid")
        return _telegram_ok(True)

    def _editMessageText(self, params: dict[str, Any]) -> web.Response:
        if not (params.get("chat_id") and params.get("message_id") and params.get("text")):
            return _telegram_error(400, "Bad Request: message to edit not found")
        return _telegram_ok(self.message(params, message_id=int(params["message_id"])))

    def message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        """The message Telegram would return for these sendMessage arguments."""
        chat_id = int(params["chat_id"])
        message = {
            "message_id": message_id or next(self._message_ids),
            "from": self._me(),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "date": int(time.time()),
            "text": params["text"],
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        params["message_id"] = message["message_id"]
        return message

    def sent(self, chat_id: int) -> list[Call]:
        """The messages sent to ``chat_id``, in order."""
        return [c for c in self.got("sendMessage") if int(c.params["chat_id"]) == chat_id]


async def _arguments(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments, sent as JSON or as a form (as each client library does)."""
    if request.content_type == "application/json":
        return dict(await request.json())
    return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}


def _telegram_ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _telegram_error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


class SlackAPI(StandIn):
    """Slack's Web API at ``/api/<method>``: chat.postMessage and chat.update, with the bot
    token, refusing ``as_user`` as Slack refuses it from today's apps."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._ts = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._call)
        return app

    async def _call(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        params = await _arguments(request)
        method = request.match_info["method"]
        if method not in {"chat.postMessage", "chat.update"}:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        if "as_user" in params:
            return web.json_response(
                {"ok": False, "error": "invalid_arguments", "deprecated_argument": "as_user"}
            )
        if not params.get("channel") or not (params.get("text") or params.get("blocks")):
            return web.json_response({"ok": False, "error": "no_text"})
        for block in params.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if len(element["text"]["text"]) > 75:
                    return web.json_response({"ok": False, "error": "invalid_blocks"})
        ts = params.get("ts") or f"{int(time.time())}.{next(self._ts):06d}"
        params["ts"] = ts
        self.record(method, params)
        return web.json_response({"ok": True, "channel": params["channel"], "ts": ts})

    def posted(self, channel: str) -> list[Call]:
        """The messages posted to ``channel``, in order."""
        return [c for c in self.got("chat.postMessage") if c.params["channel"] == channel]


def user_messages(rasa_url: str, token: str, sender: str) -> int:
    """How many messages of ``sender``'s Rasa has taken."""
    tracker = httpx.get(
        f"{rasa_url}/conversations/{sender}/tracker", params={"token": token}, timeout=10
    ).json()
    return sum(1 for e in tracker.get("events") or [] if e.get("event") == "user")


def last_user_text(rasa_url: str, token: str, sender: str) -> str:
    """The text of ``sender``'s last message, as Rasa took it."""
    tracker = httpx.get(
        f"{rasa_url}/conversations/{sender}/tracker", params={"token": token}, timeout=10
    ).json()
    return str(tracker["latest_message"]["text"])


def turn_done(rasa_url: str, token: str, sender: str, users: int) -> None:
    """Until Rasa has answered ``sender``'s ``users``-th message: its tracker has that many
    user messages and listens again (every reply of the turn was sent before)."""
    deadline = time.monotonic() + TURN
    while time.monotonic() < deadline:
        tracker = httpx.get(
            f"{rasa_url}/conversations/{sender}/tracker", params={"token": token}, timeout=10
        ).json()
        events = tracker.get("events") or []
        said = sum(1 for e in events if e.get("event") == "user")
        last = events[-1] if events else {}
        if said >= users and last.get("event") == "action" and last.get("name") == "action_listen":
            return
        time.sleep(0.1)
    raise AssertionError(f"Rasa did not finish {sender}'s turn {users} in {TURN:.0f} s")


class TelegramUser:
    """A Telegram user in a chat with the bot (private, or a group that has it), posting
    updates to Rasa's webhook with the webhook's secret."""

    _update_ids = itertools.count(5000)

    def __init__(
        self, api: TelegramAPI, rasa_url: str, rasa_token: str, secret: str, chat_id: int,
        *, user_id: int | None = None,
    ) -> None:  # fmt: skip
        self.api, self.rasa_url, self.rasa_token, self.secret = api, rasa_url, rasa_token, secret
        self.chat_id = chat_id
        self.user_id = user_id or chat_id
        self.turns = 0
        self.last_query = ""

    @property
    def sender(self) -> str:
        return str(self.chat_id)

    def chat(self) -> dict[str, Any]:
        if self.chat_id > 0:
            return {"id": self.chat_id, "type": "private", "first_name": "Ada"}
        return {"id": self.chat_id, "type": "supergroup", "title": "Shop friends"}

    def message(self, text: str, **extra: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._update_ids),
            "from": {"id": self.user_id, "is_bot": False, "first_name": "Ada"},
            "chat": self.chat(),
            "date": int(time.time()),
            "text": text,
            **extra,
        }

    def post(
        self, update: dict[str, Any], *, secret: str | None = None, update_id: int | None = None
    ) -> httpx.Response:
        """Post ``update`` as Telegram does; Rasa's response."""
        body = {"update_id": update_id or next(self._update_ids), **update}
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret}
        return httpx.post(
            f"{self.rasa_url}/webhooks/telegram/webhook", json=body, headers=headers, timeout=30
        )

    def say(self, text: str, **extra: Any) -> list[str]:
        """Send ``text``; the texts the bot sent back in this turn."""
        return self.turn({"message": self.message(text, **extra)})

    def turn(self, update: dict[str, Any]) -> list[str]:
        before = len(self.api.sent(self.chat_id))
        response = self.post(update)
        assert response.status_code == 200, response.text
        self.turns += 1
        turn_done(self.rasa_url, self.rasa_token, self.sender, self.turns)
        return [c.params["text"] for c in self.api.sent(self.chat_id)[before:]]

    def buttons(self) -> list[str]:
        """The titles of the inline keyboard on the bot's last message."""
        markup = self.api.sent(self.chat_id)[-1].params.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    def press(self, title: str) -> list[str]:
        """Press the button ``title`` on the bot's last message; what the bot sent back."""
        return self.turn(
            {"callback_query": self.query(self.api.sent(self.chat_id)[-1].params, title)}
        )

    def query(self, sent: dict[str, Any], title: str) -> dict[str, Any]:
        """The callback query of a press on ``title`` in the sent message ``sent``."""
        button = next(
            b for row in sent["reply_markup"]["inline_keyboard"] for b in row if b["text"] == title
        )
        self.last_query = f"query-{next(self._update_ids)}"
        return {
            "id": self.last_query,
            "from": {"id": self.user_id, "is_bot": False, "first_name": "Ada"},
            "chat_instance": "-4242",
            "data": button["callback_data"],
            "message": self.api.message(dict(sent), message_id=sent["message_id"]),
        }


class SlackUser:
    """A Slack user talking to the bot in a direct message (``D…``) or mentioning it in a
    channel (``C…``), through requests signed with the app's signing secret."""

    bot_user = "UBOT0001"
    _events = itertools.count(1)

    def __init__(
        self, api: SlackAPI, rasa_url: str, rasa_token: str, signing_secret: str, user: str,
        channel: str,
    ) -> None:  # fmt: skip
        self.api, self.rasa_url, self.rasa_token = api, rasa_url, rasa_token
        self.signing_secret = signing_secret
        self.user, self.channel = user, channel
        self.turns = 0

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            self.signing_secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256
        ).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def post(
        self, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        signed = headers if headers is not None else self.sign(body)
        return httpx.post(
            f"{self.rasa_url}/webhooks/slack/webhook",
            content=body,
            headers={"Content-Type": content_type, **signed},
            timeout=30,
        )

    def event(self, text: str, *, event_id: str | None = None) -> bytes:
        """An Events API callback: a direct message, or a mention of the bot in a channel."""
        mention = not self.channel.startswith("D")
        event = {
            "type": "app_mention" if mention else "message",
            "user": self.user,
            "text": f"<@{self.bot_user}> {text}" if mention else text,
            "ts": f"{time.time():.6f}",
            "channel": self.channel,
            "event_ts": f"{time.time():.6f}",
            **({} if mention else {"channel_type": "im"}),
        }
        return json.dumps({
            "token": "verification-token-unused",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._events):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": self.bot_user, "is_bot": True}],
        }).encode()  # fmt: skip

    def say(self, text: str) -> list[str]:
        """Send ``text``; the texts the bot posted back in this turn."""
        return self.turn(self.event(text), "application/json")

    def turn(self, body: bytes, content_type: str) -> list[str]:
        before = len(self.api.posted(self.channel))
        response = self.post(body, content_type)
        assert response.status_code == 200, response.text
        self.turns += 1
        turn_done(self.rasa_url, self.rasa_token, self.user, self.turns)
        return [c.params["text"] for c in self.api.posted(self.channel)[before:]]

    def buttons(self) -> list[str]:
        """The titles of the buttons on the bot's last message."""
        blocks = self.api.posted(self.channel)[-1].params.get("blocks") or []
        return [
            element["text"]["text"]
            for block in blocks
            if block["type"] == "actions"
            for element in block["elements"]
        ]

    def press(self, title: str) -> list[str]:
        """Press the button ``title`` on the bot's last message (a ``block_actions``
        interaction); what the bot posted back."""
        body = self.interaction(self.api.posted(self.channel)[-1].params, title)
        return self.turn(body, "application/x-www-form-urlencoded")

    def interaction(self, posted: dict[str, Any], title: str) -> bytes:
        """The form body of a press on ``title`` in the posted message ``posted``."""
        actions = next(b for b in posted["blocks"] if b["type"] == "actions")
        button = next(e for e in actions["elements"] if e["text"]["text"] == title)
        payload = {
            "type": "block_actions",
            "user": {"id": self.user, "team_id": "T0001"},
            "api_app_id": "A0001",
            "container": {"type": "message", "message_ts": posted["ts"],
                          "channel_id": self.channel},
            "channel": {"id": self.channel},
            "message": {"type": "message", "ts": posted["ts"], "text": posted["text"],
                        "blocks": posted["blocks"]},
            "actions": [{**button, "block_id": "b1", "action_ts": f"{time.time():.6f}"}],
            "response_url": "https://hooks.slack.invalid/actions/T0001/1/x",
            "trigger_id": "1.2.3",
        }  # fmt: skip
        return urlencode({"payload": json.dumps(payload)}).encode()
