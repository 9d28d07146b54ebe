"""Telegram for a Rasa 3.6 assistant: Rasa's connector, with its HTTP session on the loop that
uses it, its webhook authenticated, and buttons that work.

Rasa 3.6.21's own ``telegram`` connector cannot answer anyone: it registers its webhook with
``asyncio.run(...)`` while Rasa starts, which opens aiogram's HTTP session on a throwaway event
loop, and every later request on Sanic's loop reuses that dead session (each update gets a 500,
``RuntimeError: Event loop is closed``). It also asks Telegram who the bot is on every update,
takes anyone's POST as Telegram's, and answers inside the webhook request, which Telegram
retries when it is slow. Here:

- the session is opened lazily on Sanic's loop and closed when the server stops; the webhook
  is registered once the server runs, in the background, retried until Telegram takes it;
- the webhook is registered with a ``secret_token`` and an update is taken only with it
  (``X-Telegram-Bot-Api-Secret-Token``, compared in constant time): anyone else who finds the
  URL could write as any user;
- an update is answered at once and handled in the background, in order per chat; one seen
  before (Telegram's redelivery) is not handled again;
- allowed values are inline keyboard buttons; a press (``callback_query``) is answered, the
  question's buttons are replaced by the choice, and the choice goes to Rasa as the user's
  message;
- in a group the bot takes only messages meant for it: a mention, a command to it, a reply to
  it; edits and other bots' messages are left alone; ``/start`` becomes ``start_message``.

``credentials.yml``::

    channels.telegram.TelegramInput:
      access_token: ${TELEGRAM_TOKEN}        # from @BotFather
      verify: ${TELEGRAM_BOT_NAME}           # the bot's username, without @
      webhook_url: ${TELEGRAM_WEBHOOK_URL}   # https://<public>/webhooks/telegram/webhook
      # secret_token: ...    default: derived from the token, so none to keep
      # start_message: hi    what /start says to the bot
      # api_url: ...         a self-hosted Bot API server (default https://api.telegram.org)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import BadRequest, TelegramAPIError, Unauthorized, ValidationError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramOutput as RasaTelegramOutput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ._api import api_url

logger = logging.getLogger(__name__)


class _NoRequestArguments(logging.Filter):
    """aiogram logs every request's arguments and every answer at DEBUG ("Make request",
    "Response for"): setWebhook's carry the webhook's secret, and a message's the user's
    words. Rasa's --debug turns DEBUG on for every logger, so those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Make request", "Response for"))


logging.getLogger("aiogram").addFilter(_NoRequestArguments())

TELEGRAM_API = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
#: Telegram takes at most 64 bytes of callback data per button.
CALLBACK_DATA_BYTES = 64
BUTTONS_PER_ROW = 3
#: Updates remembered to drop Telegram's redeliveries.
SEEN_UPDATES = 1024
NOT_TEXT = "I can only read text messages."
GROUPS = frozenset({"group", "supergroup"})
REGISTER_RETRY_MAX = 60.0
#: Updates one chat may have waiting for their turn; more are dropped (a flood, not a user).
QUEUED_PER_CHAT = 5
#: Updates in hand at once, over all chats.
QUEUED = 500
#: Answered questions remembered, so a second press on one is not a second answer.
ANSWERED = 1024
#: What Telegram accepts as a webhook's secret_token.
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def derived_secret(access_token: str) -> str:
    """The webhook's secret when none is configured: fixed by the token, so nothing else needs
    keeping, and useless to anyone without it (64 hex characters, as Telegram allows)."""
    return hmac.new(
        access_token.encode(), b"webhook-actions telegram webhook", hashlib.sha256
    ).hexdigest()


class TelegramOutput(RasaTelegramOutput):
    """Rasa's Telegram output on the chosen API server, with buttons Telegram accepts.

    aiogram opens its session at the first request, so on the loop that makes it: Sanic's.
    """

    def __init__(self, access_token: str, server: TelegramAPIServer) -> None:
        super().__init__(access_token)
        self.server = server

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        button_type: str | None = "inline",
        **kwargs: Any,
    ) -> None:
        """``text`` with the buttons as an inline keyboard, three to a row. Telegram refuses a
        message whose button data passes 64 bytes, so such choices are written out instead."""
        choices = [b for b in buttons if isinstance(b, dict) and b.get("title")]
        payloads = [str(b.get("payload") or b["title"]) for b in choices]
        if not choices or any(len(p.encode()) > CALLBACK_DATA_BYTES for p in payloads):
            titles = ", ".join(str(b["title"]) for b in choices)
            await self.send_text_message(recipient_id, f"{text}\n{titles}" if titles else text)
            return
        keyboard = InlineKeyboardMarkup(row_width=BUTTONS_PER_ROW)
        keyboard.add(
            *(
                InlineKeyboardButton(str(b["title"]), callback_data=payload)
                for b, payload in zip(choices, payloads, strict=True)
            )
        )
        await self.send_message(recipient_id, text, reply_markup=keyboard)

    async def close_session(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


@dataclass(frozen=True)
class Incoming:
    """What an update says to the bot: the chat, the text, and the button press it came
    from (if any)."""

    chat_id: int
    #: None for a message without text (a photo, a sticker): said to be unreadable.
    text: str | None
    press: dict[str, Any] | None = None


class TelegramInput(InputChannel):
    """The Telegram channel (``channels.telegram.TelegramInput`` in ``credentials.yml``)."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        credentials = credentials or {}
        token = credentials.get("access_token")
        if not isinstance(token, str) or not token:
            raise RasaException("telegram: access_token is missing (the token from @BotFather)")
        secret = credentials.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            raise RasaException(
                "telegram: secret_token takes 1-256 characters A-Z, a-z, 0-9, _ and - "
                "(Telegram refuses others)"
            )
        return cls(
            token,
            credentials.get("verify"),
            credentials.get("webhook_url"),
            secret_token=None if secret is None else str(secret),
            start_message=credentials.get("start_message") or "hi",
            api=api_url(
                credentials.get("api_url"), default=TELEGRAM_API, setting="telegram.api_url"
            ),
        )

    def __init__(
        self,
        access_token: str,
        verify: str | None,
        webhook_url: str | None,
        *,
        secret_token: str | None = None,
        start_message: str = "hi",
        api: str = TELEGRAM_API,
    ) -> None:
        self.access_token = access_token
        self.verify = (verify or "").lstrip("@")
        self.webhook_url = webhook_url
        self.secret_token = secret_token or derived_secret(access_token)
        self.start_message = start_message
        self.server = TelegramAPIServer.from_base(api)
        try:
            self._output = TelegramOutput(access_token, self.server)
        except ValidationError as error:
            raise RasaException("telegram: access_token is not a bot token") from error
        self._seen: OrderedDict[int, None] = OrderedDict()
        #: One lock per chat with updates in hand, and how many hold or wait for it.
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._registration: asyncio.Task[None] | None = None
        self._answered: OrderedDict[tuple[int, int], None] = OrderedDict()

    def get_output_channel(self) -> TelegramOutput:
        """The one output channel (one HTTP session), for replies and Rasa's own API."""
        return self._output

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram = Blueprint("telegram_webhook", __name__)

        @telegram.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            self._registration = asyncio.create_task(self._register())

        @telegram.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if self._registration is not None:
                self._registration.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            await self._output.close_session()

        @telegram.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
                logger.warning("telegram: refused an update without the webhook's secret")
                return response.json({"error": "not from Telegram"}, status=403)
            try:
                update = json.loads(request.body)
            except ValueError:
                return response.json({"error": "the body is not JSON"}, status=400)
            if not isinstance(update, dict):
                return response.json({"error": "the body is not an update"}, status=400)
            update_id = update.get("update_id")
            if isinstance(update_id, int):
                if update_id in self._seen:
                    return response.text("seen")
                self._seen[update_id] = None
                if len(self._seen) > SEEN_UPDATES:
                    self._seen.popitem(last=False)
            try:
                incoming = self._incoming(update)
            except (AttributeError, TypeError, ValueError):
                logger.warning("telegram: an update of an unexpected shape was ignored")
                return response.text("ignored")
            if incoming is None:
                return response.text("ignored")
            lock, waiting = self._chats.get(incoming.chat_id, (asyncio.Lock(), 0))
            if waiting >= QUEUED_PER_CHAT or len(self._tasks) >= QUEUED:
                logger.warning("telegram: too many updates waiting; one was dropped")
                return response.text("dropped")
            self._chats[incoming.chat_id] = (lock, waiting + 1)
            task = asyncio.create_task(self._handle(incoming, lock, on_new_message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.text("ok")

        return telegram

    async def _register(self) -> None:
        """Who the bot is, then the webhook with its secret: retried until Telegram takes it."""
        delay = 1.0
        while True:
            try:
                me = await self._output.get_me()
                if self.verify and (me.username or "").lower() != self.verify.lower():
                    logger.error(
                        "telegram: the token is @%s's, not @%s's (verify); mentions of @%s "
                        "are what the bot answers in groups",
                        me.username, self.verify, me.username,
                    )  # fmt: skip
                self.verify = me.username or self.verify
                if self.webhook_url:
                    await self._output.request(
                        "setWebhook",
                        {
                            "url": self.webhook_url,
                            "secret_token": self.secret_token,
                            "allowed_updates": json.dumps(["message", "callback_query"]),
                        },
                    )
                    logger.info("telegram: webhook registered: %s", self.webhook_url)
                return
            except Unauthorized:
                logger.error("telegram: Telegram refused the access_token; no updates will come")
                return
            except BadRequest as error:  # the URL or the secret: trying again changes nothing
                logger.error("telegram: Telegram refused the webhook: %s", error)
                return
            except (TelegramAPIError, OSError, asyncio.TimeoutError) as error:  # noqa: UP041 (3.10)
                logger.error(
                    "telegram: could not register the webhook (%s: %s); trying again in %.0f s",
                    type(error).__name__, error, delay,
                )  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, REGISTER_RETRY_MAX)

    async def _handle(
        self,
        incoming: Incoming,
        lock: asyncio.Lock,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Answer ``incoming`` once its chat's earlier updates are answered (``lock``, counted
        for this update in ``_chats`` by the webhook)."""
        chat = incoming.chat_id
        try:
            async with lock:  # a chat's updates are answered in the order they came
                if incoming.text is None:
                    await self._say(chat, NOT_TEXT)
                    return
                if incoming.press is not None and not await self._take_press(incoming.press):
                    return
                await on_new_message(
                    UserMessage(incoming.text, self._output, str(chat), input_channel=self.name())
                )
        except Exception:  # a background task: nobody else would see it
            logger.exception("telegram: an update could not be handled")
        finally:
            _, users = self._chats[chat]
            if users == 1:
                del self._chats[chat]
            else:
                self._chats[chat] = (lock, users - 1)

    def _incoming(self, update: dict[str, Any]) -> Incoming | None:
        press = update.get("callback_query")
        if isinstance(press, dict):
            message = press.get("message") or {}
            chat_id = _chat_id(message)
            data = press.get("data")
            if chat_id is None or not isinstance(data, str):
                return None
            return Incoming(chat_id, data, press)
        message = update.get("message")
        chat_id = _chat_id(message)
        if not isinstance(message, dict) or chat_id is None:
            return None  # edits, channel posts, member changes: not said to the bot
        sender = message.get("from") or {}
        if sender.get("is_bot"):
            return None
        group = (message.get("chat") or {}).get("type") in GROUPS
        text = message.get("text")
        if not isinstance(text, str):
            return None if group else Incoming(chat_id, None)
        if group:
            addressed = self._addressed(message, text)
            if addressed is None:
                return None
            text = addressed
        command = text.split(maxsplit=1)[0].split("@", 1)[0] if text.strip() else ""
        if command == "/start":
            text = self.start_message
        return Incoming(chat_id, text.strip()) if text.strip() else None

    def _addressed(self, message: dict[str, Any], text: str) -> str | None:
        """The text of a group message meant for the bot, its mention taken out; None when it
        is not meant for the bot."""
        mention = f"@{self.verify}".lower()
        replied = (message.get("reply_to_message") or {}).get("from") or {}
        addressed = replied.get("id") == self._output.id
        units = text.encode("utf-16-le")  # Telegram counts offsets in UTF-16 code units
        cuts: list[tuple[int, int, bytes]] = []
        for entity in message.get("entities") or []:
            start, length = entity.get("offset"), entity.get("length")
            if not isinstance(start, int) or not isinstance(length, int) or start < 0:
                continue
            said = units[start * 2 : (start + length) * 2].decode("utf-16-le", errors="replace")
            if entity.get("type") == "mention" and said.lower() == mention:
                cuts.append((start, length, " ".encode("utf-16-le")))
            elif entity.get("type") == "bot_command" and said.lower().endswith(mention):
                command = said[: -len(mention)].encode("utf-16-le")
                cuts.append((start, length, command))
        if not cuts and not addressed:
            return None
        for start, length, replacement in sorted(cuts, reverse=True):  # from the end back
            units = units[: start * 2] + replacement + units[(start + length) * 2 :]
        return " ".join(units.decode("utf-16-le", errors="replace").split())

    async def _take_press(self, press: dict[str, Any]) -> bool:
        """Whether a button press is an answer: the first on its question. Either way its
        spinner stops; a first press replaces the question's buttons by the choice."""
        message = press.get("message") or {}
        key = (_chat_id(message) or 0, message.get("message_id") or 0)
        first = key not in self._answered
        if first:
            self._answered[key] = None
            if len(self._answered) > ANSWERED:
                self._answered.popitem(last=False)
        try:
            await self._output.answer_callback_query(press["id"])
        except (TelegramAPIError, KeyError) as error:
            logger.warning(
                "telegram: a button press was not acknowledged (%s)", type(error).__name__
            )
        if first:
            await self._mark_pressed(press)
        return first

    async def _mark_pressed(self, press: dict[str, Any]) -> None:
        """Replace the question's buttons by the choice, so it reads as answered."""
        message = press.get("message") or {}
        title = _pressed_title(message, press.get("data"))
        if message.get("message_id") is None or not message.get("text"):
            return
        try:
            await self._output.edit_message_text(
                f"{message['text']}\n» {title}",
                chat_id=_chat_id(message),
                message_id=message["message_id"],
            )
        except TelegramAPIError as error:
            logger.warning(
                "telegram: a pressed question was not updated (%s)", type(error).__name__
            )

    async def _say(self, chat_id: int, text: str) -> None:
        try:
            await self._output.send_message(chat_id, text)
        except TelegramAPIError as error:
            logger.warning("telegram: a message was not sent (%s)", type(error).__name__)


def _chat_id(message: object) -> int | None:
    if not isinstance(message, dict):
        return None
    chat_id = (message.get("chat") or {}).get("id")
    return chat_id if isinstance(chat_id, int) else None


def _pressed_title(message: dict[str, Any], data: object) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
        for button in row:
            if button.get("callback_data") == data:
                return str(button.get("text") or data)
    return str(data)
