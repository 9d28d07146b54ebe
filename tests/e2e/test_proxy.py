"""The deployment's proxy (deploy/nginx) in front of the real, trained Rasa of this suite: the
REST channel and a socket.io conversation over a WebSocket reach the bot through TLS and
answer as they do directly. (tests/deploy/test_nginx.py proves the rest of the proxy,
stickiness across two replicas included, with stand-ins of Rasa.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import trustme
from websockets.sync.client import connect

from tests.admin.conftest import free_port
from tests.deploy.proxy import Proxy, render, running, temporary_prefix
from tests.deploy.tools import tool
from tests.e2e.conftest import Assistant, new_sender

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

ORDER = "where is my order #4521?"
SHIPPED = "Order #4521 has shipped and arrives in 2 days."


@pytest.fixture(scope="module")
def proxy(assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    nginx = tool("nginx", debian="nginx")
    rasa = assistant.rasa_url.removeprefix("http://")
    # Only Rasa is behind it here: the other upstreams are addresses nothing answers on.
    upstreams = {"rasa-1": rasa, "rasa-2": rasa} | {
        name: f"127.0.0.1:{free_port()}" for name in ("admin", "tools", "web")
    }
    ca = trustme.CA()
    log = tmp_path_factory.mktemp("proxy") / "nginx.log"
    with temporary_prefix() as prefix, running(nginx, render(prefix, ca, upstreams), ca, log) as p:
        yield p


def test_the_rest_channel_answers_through_the_proxy(proxy: Proxy) -> None:
    answer = proxy.https(
        "POST", "bot.example.com", "/webhooks/rest/webhook",
        json={"sender": new_sender(), "message": ORDER}, timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert [message.get("text") for message in answer.json()] == [SHIPPED]


def test_a_socketio_conversation_over_a_websocket_through_the_proxy(proxy: Proxy) -> None:
    session = new_sender()
    with connect(
        "wss://bot.example.com/socket.io/?EIO=4&transport=websocket",
        sock=proxy.tcp(), ssl=proxy.context(), server_hostname="bot.example.com",
        open_timeout=10,
    ) as websocket:  # fmt: skip

        def event(name: str) -> object:
            while True:
                packet = str(websocket.recv(timeout=60))
                if packet == "2":  # engine.io's ping
                    websocket.send("3")
                elif packet.startswith("42") and json.loads(packet[2:])[0] == name:
                    return json.loads(packet[2:])[1]

        assert str(websocket.recv(timeout=10)).startswith("0")  # engine.io open
        websocket.send("40")
        assert str(websocket.recv(timeout=10)).startswith("40")  # socket.io connect
        websocket.send("42" + json.dumps(["session_request", {"session_id": session}]))
        assert event("session_confirm") == session
        websocket.send(
            "42" + json.dumps(["user_uttered", {"message": ORDER, "session_id": session}])
        )
        assert event("bot_uttered") == {"text": SHIPPED}
