"""The connectors where Rasa runs them (the bot runtime, Python 3.10), outside a whole Rasa:
an API address that would send a token in clear is refused at start-up, and a debug log keeps
no secret."""

from __future__ import annotations

import json
import secrets
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, _needs_rasa
from tests.e2e.standins import TelegramAPI

pytestmark = [pytest.mark.rasa]

CHECK = textwrap.dedent("""
    import json, sys
    from channels._api import api_url
    from rasa.shared.exceptions import RasaException
    out = []
    for value in json.loads(sys.argv[1]):
        try:
            out.append(api_url(value, default="https://default.example", setting="x.api_url"))
        except RasaException as error:
            out.append("refused: " + str(error))
    print(json.dumps(out))
""")


def api_urls(*values: object) -> list[str]:
    _needs_rasa()
    done = subprocess.run(
        [str(ROOT / ".venv-bot/bin/python"), "-c", CHECK, json.dumps(values)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return list(json.loads(done.stdout))


def test_the_api_address_is_https_or_loopback_http() -> None:
    assert api_urls(
        None, "", "https://api.telegram.org/", "http://127.0.0.1:8081", "http://localhost:81/x",
        "http://[::1]:9000",
    ) == [
        "https://default.example", "https://default.example", "https://api.telegram.org",
        "http://127.0.0.1:8081", "http://localhost:81/x", "http://[::1]:9000",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("http://api.telegram.org", id="http-to-the-internet"),
        pytest.param("http://10.0.0.5:8081", id="http-to-a-private-network"),
        pytest.param("ftp://127.0.0.1", id="another-scheme"),
        pytest.param("https://user:pw@api.example.com", id="a-login"),
        pytest.param("https://api.example.com/?token=1", id="a-query"),
        pytest.param("api.telegram.org", id="no-scheme"),
        pytest.param(42, id="not-text"),
    ],
)
def test_an_api_address_that_would_leak_the_token_is_refused(value: object) -> None:
    (said,) = api_urls(value)
    assert said.startswith("refused: x.api_url: ")


REGISTER = textwrap.dedent("""
    import asyncio, logging, sys
    from channels.telegram import TelegramInput
    logging.basicConfig(stream=sys.stderr)
    logging.getLogger().setLevel(logging.DEBUG)  # as rasa run --debug
    logging.getLogger("aiogram").setLevel(logging.DEBUG)
    logging.getLogger("aiogram").debug("aiogram logs at DEBUG")
    channel = TelegramInput.from_credentials({
        "access_token": sys.argv[1], "verify": "shop_bot", "api_url": sys.argv[2],
        "webhook_url": "https://bot.example.com/webhooks/telegram/webhook",
    })

    async def main():
        await channel._register()
        await channel.get_output_channel().send_message(4242, "the user's private words")
        await channel.get_output_channel().close_session()

    asyncio.run(main())
    print(channel.secret_token)
""")


def test_telegrams_secret_and_messages_stay_out_of_a_debug_log(tmp_path: Path) -> None:
    """aiogram logs each request's arguments at DEBUG, which Rasa's --debug turns on."""
    _needs_rasa()
    token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}"
    api = TelegramAPI(token, "shop_bot").start()
    try:
        done = subprocess.run(
            [str(ROOT / ".venv-bot/bin/python"), "-c", REGISTER, token, api.url],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        api.stop()
    secret = done.stdout.strip()
    assert api.got("setWebhook")[0].params["secret_token"] == secret
    assert api.got("sendMessage")[0].params["text"] == "the user's private words"
    assert "DEBUG:aiogram:aiogram logs at DEBUG" in done.stderr
    for private in (secret, token, "private words"):
        assert private not in done.stderr
