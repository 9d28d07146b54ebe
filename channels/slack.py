"""Slack for a Rasa 3.6 assistant: Rasa's connector, posting the way Slack apps made today are
allowed to, with webhook answers shown as text and each request taken once.

What differs from Rasa 3.6.21's own ``slack`` connector:

- no ``as_user`` in ``chat.postMessage``: Slack refuses the argument from apps with granular
  bot tokens, every app made today (``invalid_arguments``), so the stock connector's every
  answer is lost;
- what a user typed reaches Rasa unescaped, and text sent is escaped (``&``, ``<``, ``>``),
  so what a webhook returned is shown, not read as Slack's markup: ``<!channel>`` in an answer
  would otherwise notify a whole channel;
- a signed request is taken once: the same signature again (a replay, within Slack's five
  minutes) is refused, and an event Slack delivers again (``event_id``) is not answered twice;
- Slack's URL check is answered with the challenge as plain text, as Slack documents it;
- up to 25 buttons (Block Kit's limit for one block, not 5), titles cut to Slack's 75
  characters; a pressed question's buttons are replaced by the choice (``chat.update``);
- ``api_url`` reaches another Web API address (the tests' stand-in).

``credentials.yml``::

    channels.slack.SlackInput:
      slack_token: ${SLACK_TOKEN}
      slack_signing_secret: ${SLACK_SIGNING_SECRET}
      # slack_channel, use_threads, conversation_granularity: as Rasa's own
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot as RasaSlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ._api import api_url

logger = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api"
#: Slack's window for a request's timestamp, in seconds.
SIGNATURE_WINDOW = 300
BUTTONS_PER_BLOCK = 25
BUTTON_TITLE_CHARS = 75
SEEN_EVENTS = 1024
#: Answered questions remembered, so a second press on one is not a second answer.
ANSWERED = 1024


def web_client(token: str, proxy: str | None, api: str) -> AsyncWebClient:
    """slack_sdk's client for the Web API at ``api``."""
    return AsyncWebClient(token, proxy=proxy, base_url=f"{api}/")


def escaped(text: str) -> str:
    """``text`` shown as written: Slack reads ``&``, ``<`` and ``>`` as its markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackBot(RasaSlackBot):
    """Rasa's Slack output, without ``as_user``, with text shown as text."""

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        *,
        api: str = SLACK_API,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = web_client(token, proxy, api)

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        # Every send of Rasa's SlackBot comes through here with as_user=True, which Slack
        # refuses from new apps; "type" is no argument of chat.postMessage.
        kwargs.pop("as_user", None)
        kwargs.pop("type", None)
        await super()._post_message(channel=channel, **kwargs)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        for part in text.strip().split("\n\n"):
            await self._post_message(channel=recipient, text=escaped(part))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        recipient = self.slack_channel or recipient_id
        choices = [b for b in buttons if isinstance(b, dict) and b.get("title")]
        if not choices or len(choices) > BUTTONS_PER_BLOCK:
            titles = ", ".join(str(b["title"]) for b in choices)
            await self.send_text_message(recipient, f"{text}\n{titles}" if titles else text)
            return
        elements = [
            {
                "type": "button",
                "action_id": f"choice-{index}",
                "text": {"type": "plain_text", "text": str(b["title"])[:BUTTON_TITLE_CHARS]},
                "value": str(b.get("payload") or b["title"]),
            }
            for index, b in enumerate(choices)
        ]
        await self._post_message(
            channel=recipient,
            text=escaped(text),
            blocks=[
                {"type": "section", "text": {"type": "plain_text", "text": text}},
                {"type": "actions", "elements": elements},
            ],
        )


class SlackInput(RasaSlackInput):
    """The Slack channel (``channels.slack.SlackInput`` in ``credentials.yml``)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SlackInput)  # Rasa's from_credentials builds cls
        channel.api = api_url(
            (credentials or {}).get("api_url"), default=SLACK_API, setting="slack.api_url"
        )
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = SLACK_API
        #: Signatures taken, oldest first, with when they may be forgotten.
        self._signatures: OrderedDict[str, float] = OrderedDict()
        self._events: OrderedDict[str, None] = OrderedDict()
        self._answered: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def _sanitize_user_message(text: str, uids_to_remove: list[str] | None) -> str:
        # Slack escapes what a user types (& < >): Rasa gets what the user wrote.
        cleaned = RasaSlackInput._sanitize_user_message(text, uids_to_remove)
        return cleaned.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack = super().blueprint(on_new_message)

        @slack.middleware("request")
        async def url_verification(request: Request) -> HTTPResponse | None:
            # Rasa answers Slack's check with a JSON string; Slack documents the challenge
            # as plain text (or {"challenge": ...}).
            body = _json(request)
            if not isinstance(body, dict) or body.get("type") != "url_verification":
                return None
            if not self.is_request_from_slack_authentic(request):
                return response.text("not signed by Slack", status=400)
            return response.text(str(body.get("challenge", "")))

        return slack

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        return SlackBot(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy, api=self.api
        )

    def is_request_from_slack_authentic(self, request: Request) -> bool:
        """Rasa's signature check, and each signature taken once within Slack's window."""
        if not super().is_request_from_slack_authentic(request):
            return False
        now = time.monotonic()
        while self._signatures and next(iter(self._signatures.values())) < now:
            self._signatures.popitem(last=False)
        signature = request.headers.get("X-Slack-Signature", "")
        if signature in self._signatures:
            logger.warning("slack: refused a request signed before (a replay)")
            return False
        # Kept for twice the window: a timestamp may be 5 minutes old or ahead.
        self._signatures[signature] = now + 2 * SIGNATURE_WINDOW
        return True

    async def process_message(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender_id: str | None,
        metadata: dict[str, Any] | None,
    ) -> Any:
        """Rasa's handling, once per Slack event, with a pressed question's buttons replaced
        by the choice."""
        body = _json(request)
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if isinstance(event_id, str):
            if event_id in self._events:
                return response.text("")
            self._events[event_id] = None
            if len(self._events) > SEEN_EVENTS:
                self._events.popitem(last=False)
        press = _interaction(request)
        if press is not None:
            key = ((press.get("channel") or {}).get("id") or "", _message_ts(press))
            if key in self._answered:  # a second press on an answered question
                return response.text("")
            self._answered[key] = None
            if len(self._answered) > ANSWERED:
                self._answered.popitem(last=False)
        answer = await super().process_message(request, on_new_message, text, sender_id, metadata)
        if press is not None:  # after the choice is in Rasa's hands: Slack waits 3 s at most
            task = asyncio.create_task(self._mark_pressed(press))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return answer

    async def _mark_pressed(self, press: dict[str, Any]) -> None:
        """Replace the question's buttons by the choice, so it reads as answered."""
        channel = (press.get("channel") or {}).get("id")
        message = press.get("message") or {}
        action = (press.get("actions") or [{}])[0]
        if not channel or not message.get("ts"):
            return
        title = ((action.get("text") or {}).get("text")) or action.get("value") or ""
        blocks = [
            block if block.get("type") != "actions" else _choice_block(title)
            for block in message.get("blocks") or []
        ]
        client = web_client(self.slack_token, self.proxy, self.api)
        try:
            await client.chat_update(
                channel=channel, ts=message["ts"], text=message.get("text") or "", blocks=blocks
            )
        except SlackApiError as error:
            logger.warning(
                "slack: a pressed question was not updated (%s)", error.response["error"]
            )
        except Exception as error:  # a background task: nobody else would see it
            logger.warning("slack: a pressed question was not updated (%s)", type(error).__name__)


def _message_ts(press: dict[str, Any]) -> str:
    return str(
        (press.get("message") or {}).get("ts")
        or (press.get("container") or {}).get("message_ts")
        or ""
    )


def _choice_block(title: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "plain_text", "text": f"» {title}"}]}


def _json(request: Request) -> Any:
    if request.headers.get("content-type") != "application/json":
        return None
    try:
        return json.loads(request.body)
    except ValueError:
        return None


def _interaction(request: Request) -> dict[str, Any] | None:
    """The ``block_actions`` payload of a button press, or None."""
    if request.headers.get("content-type") != "application/x-www-form-urlencoded":
        return None
    try:
        payload = json.loads(request.form["payload"][0])
    except (KeyError, IndexError, ValueError):
        return None
    if isinstance(payload, dict) and payload.get("type") == "block_actions":
        return payload
    return None
