"""deploy/nginx: ``nginx -t``, then a real nginx on loopback ports in front of our real
servers (``python -m admin serve``, ``python -m web serve``, ``python -m mcp_server serve``) and two
stand-ins of Rasa replicas speaking Rasa's own socket.io library (tests/deploy/rasa_stub.py).

The stand-ins, not a real Rasa: stickiness needs two replicas, and two Rasa processes would
cost this suite a minute and 2 GB; what the proxy must get right for Rasa (which replica an
engine.io session lives on, the WebSocket upgrade) is the library's, which the stand-ins run
at Rasa's pinned version.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from websockets.sync.client import connect

from tests.admin.conftest import free_port
from tests.deploy.proxy import (
    HOSTS,
    Proxy,
    nginx_command,
    render,
    running,
    temporary_prefix,
)
from tests.deploy.tools import ROOT, run, tool
from tests.e2e.conftest import _needs_rasa, wait_for
from tests.servers import start_server, stop
from webhooks import generate_key, make_engine, migrate

METRICS_TOKEN = "deploy-metrics-token-0123456789"
BOT_PYTHON = ROOT / ".venv-bot/bin/python"


@pytest.fixture(scope="module")
def nginx() -> str:
    return tool("nginx", debian="nginx")


def test_configuration_passes_nginx_t(nginx: str) -> None:
    ca = trustme.CA()
    upstreams = {
        name: f"127.0.0.1:{free_port()}" for name in ("rasa-1", "rasa-2", "admin", "tools", "web")
    }
    with temporary_prefix() as prefix:
        rendered = render(prefix, ca, upstreams)
        done = run(*nginx_command(nginx, rendered, "-t"))
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Our servers the proxy fronts, each on a free port; their ``host:port`` by service."""
    tmp = tmp_path_factory.mktemp("proxied")
    database_url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    env = {
        "DATABASE_URL": database_url,
        "WEBHOOKS_KEYS": generate_key(),
        "WEBHOOKS_METRICS_TOKEN": METRICS_TOKEN,
        "WEBHOOKS_AUTH_FAILURES": "0",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        admin = start_server("admin", env, tmp / "admin.log", health="/api/v1/health")
        processes.append(admin[0])
        tools = start_server("mcp_server", env, tmp / "tools.log")
        processes.append(tools[0])
        # As the deployment runs it: behind one proxy whose X-Forwarded-Proto Sanic trusts.
        web = start_server(
            "web", {"SANIC_PROXIES_COUNT": "1"}, tmp / "web.log",
            args=["--rasa-url", "https://bot.example.com"],
        )  # fmt: skip
        processes.append(web[0])
        yield {
            "admin": admin[1].removeprefix("http://"),
            "tools": tools[1].removeprefix("http://"),
            "web": web[1].removeprefix("http://"),
            # Started only by the tests that talk to Rasa (the bot environment's Python).
            "rasa-1": f"127.0.0.1:{free_port()}",
            "rasa-2": f"127.0.0.1:{free_port()}",
        }
    finally:
        for process in processes:
            stop(process)


@pytest.fixture(scope="module")
def proxy(
    nginx: str, servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    ca = trustme.CA()
    log = tmp_path_factory.mktemp("nginx") / "nginx.log"
    with temporary_prefix() as prefix:
        rendered = render(prefix, ca, servers)
        with running(nginx, rendered, ca, log) as proxy:
            yield proxy


@pytest.fixture(scope="module")
def replicas(servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The two Rasa stand-ins on the ports the proxy was given for rasa-1 and rasa-2."""
    _needs_rasa()
    logs = tmp_path_factory.mktemp("replicas")
    processes = []
    for name in ("rasa-1", "rasa-2"):
        port = servers[name].rsplit(":", 1)[1]
        with (logs / f"{name}.log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [str(BOT_PYTHON), str(ROOT / "tests/deploy/rasa_stub.py"), name, port],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        for name, process in zip(("rasa-1", "rasa-2"), processes, strict=True):
            wait_for(f"http://{servers[name]}/", process, logs / f"{name}.log", 30)
        yield
    finally:
        for process in processes:
            stop(process)


# -- TLS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_each_host_name_is_served_over_tls_1_3(proxy: Proxy, host: str) -> None:
    with proxy.handshake(host, proxy.context()) as tls:
        assert tls.version() == "TLSv1.3"


def test_tls_1_2_is_served_with_forward_secret_aead_ciphers_only(proxy: Proxy) -> None:
    aead = proxy.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    with proxy.handshake("chat.example.com", aead) as tls:
        assert tls.version() == "TLSv1.2"
        name, _, _ = tls.cipher()
        assert name.startswith("ECDHE-"), name
        assert "GCM" in name or "CHACHA20" in name, name
    cbc = proxy.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA:AES128-SHA256")
    with pytest.raises(ssl.SSLError):
        proxy.handshake("chat.example.com", cbc)


def test_an_unknown_host_name_gets_no_certificate(proxy: Proxy) -> None:
    with pytest.raises(ssl.SSLError):
        proxy.handshake("other.example.com", proxy.context(check_hostname=False))


@pytest.mark.parametrize("host", HOSTS)
def test_plain_http_redirects_to_https(proxy: Proxy, host: str) -> None:
    response = proxy.http("GET", host, "/tenants/acme/mcp?x=1")
    assert response.status_code == 301
    assert response.headers["location"] == f"https://{host}/tenants/acme/mcp?x=1"


# -- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "path"), [
    ("admin.example.com", "/"),
    ("admin.example.com", "/api/v1/webhooks"),  # a 401 from the admin API
    ("chat.example.com", "/"),
    ("chat.example.com", "/widget/chat.js"),
    ("mcp.example.com", "/"),  # the proxy's own 404
])  # fmt: skip
def test_security_headers_are_sent_once_on_every_answer(proxy: Proxy, host: str, path: str) -> None:
    response = proxy.https("GET", host, path)
    headers = response.headers
    assert headers.get_list("strict-transport-security") == ["max-age=63072000; includeSubDomains"]
    assert headers.get_list("x-content-type-options") == ["nosniff"]
    assert headers.get_list("referrer-policy") == ["no-referrer"]
    assert headers["server"] == "nginx"  # no version


def test_the_console_may_not_be_framed(proxy: Proxy) -> None:
    for path in ("/", "/api/v1/webhooks", "/no-such-page"):
        response = proxy.https("GET", "admin.example.com", path)
        assert response.headers["x-frame-options"] == "DENY"
        policies = response.headers.get_list("content-security-policy")
        assert "frame-ancestors 'none'" in policies


# -- what each host name serves ----------------------------------------------------------


def test_the_console_and_admin_api_are_served_on_the_admin_host_only(proxy: Proxy) -> None:
    console = proxy.https("GET", "admin.example.com", "/")
    assert console.status_code == 200
    assert "<title>Webhook actions · console</title>" in console.text
    assert proxy.https("GET", "admin.example.com", "/api/v1/health").status_code == 200
    for host in ("chat.example.com", "bot.example.com", "mcp.example.com"):
        page = proxy.https("GET", host, "/")
        assert "console" not in page.text
        assert proxy.https("GET", host, "/api/v1/health").status_code == 404


def test_the_chat_page_and_widget_are_served_on_the_chat_host(proxy: Proxy) -> None:
    page = proxy.https("GET", "chat.example.com", "/")
    assert page.status_code == 200
    # The snippet to copy names the widget as browsers reach it: over HTTPS.
    assert 'src="https://chat.example.com/widget/chat.js"' in page.text
    assert 'data-server="https://bot.example.com"' in page.text
    widget = proxy.https("GET", "chat.example.com", "/widget/chat.js")
    assert widget.status_code == 200
    assert widget.headers["access-control-allow-origin"] == "*"
    # The chat host only reads.
    assert proxy.https("POST", "chat.example.com", "/", content=b"x").status_code == 403


def test_the_mcp_endpoint_is_served_on_the_mcp_host(proxy: Proxy) -> None:
    # The tools server's own answer: it wants a token.
    response = proxy.https("POST", "mcp.example.com", "/tenants/acme/mcp", json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"]


def test_metrics_are_not_reachable_through_the_proxy(proxy: Proxy, servers: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    direct = httpx.get(f"http://{servers['tools']}/metrics", headers=auth)
    assert direct.status_code == 200
    assert "webhook_calls" in direct.text
    for host in HOSTS:
        response = proxy.https("GET", host, "/metrics", headers=auth)
        assert response.status_code == 404, host
        assert "webhook_calls" not in response.text


@pytest.mark.parametrize(("host", "path", "limit"), [
    ("bot.example.com", "/webhooks/rest/webhook", 64 * 1024),
    ("admin.example.com", "/api/v1/webhooks", 256 * 1024),
    ("mcp.example.com", "/tenants/acme/mcp", 256 * 1024),
    ("chat.example.com", "/", 1024),
])  # fmt: skip
def test_a_body_over_the_hosts_limit_is_refused(
    proxy: Proxy, host: str, path: str, limit: int
) -> None:
    response = proxy.https("POST", host, path, content=b"x" * (limit + 1))
    assert response.status_code == 413


# -- Rasa: REST and socket.io across two replicas -------------------------------------------


@pytest.mark.rasa  # the stand-ins run on the bot environment's Python
def test_rasa_serves_its_channels_only(proxy: Proxy, replicas: None) -> None:
    answer = proxy.https(
        "POST", "bot.example.com", "/webhooks/rest/webhook", json={"sender": "s", "message": "hi"}
    )
    assert answer.status_code == 200
    assert answer.json()[0]["text"] in {"rasa-1", "rasa-2"}
    for path in ("/", "/status", "/model", "/conversations/s/tracker"):
        assert proxy.https("GET", "bot.example.com", path).status_code == 404, path


def _packets(body: str) -> list[str]:
    return body.split("\x1e")


@pytest.mark.rasa  # the stand-ins run on the bot environment's Python
def test_a_long_polling_session_stays_on_its_replica_and_upgrades_to_websocket(
    proxy: Proxy, replicas: None
) -> None:
    base = "/socket.io/?EIO=4&transport=polling"
    opened = proxy.https("GET", "bot.example.com", base)
    assert opened.status_code == 200, opened.text
    sid = json.loads(opened.text[1:])["sid"]
    polling = f"{base}&sid={sid}"
    assert proxy.https("POST", "bot.example.com", polling, content=b"40").text == "OK"
    assert proxy.https("GET", "bot.example.com", polling).text.startswith("40")
    # Each request is a new connection, as a browser's may be: without stickiness about half
    # would reach the other replica, which knows no such session (400).
    answered_by = set()
    for turn in range(8):
        sent = proxy.https(
            "POST", "bot.example.com", polling,
            content=f'42["user_uttered",{{"message":"turn {turn}"}}]'.encode(),
        )  # fmt: skip
        assert sent.status_code == 200, sent.text
        received = proxy.https("GET", "bot.example.com", polling)
        assert received.status_code == 200, received.text
        event = next(p for p in _packets(received.text) if p.startswith("42"))
        replica, said = json.loads(event[2:])[1]["text"].split(": ")
        assert said == f"turn {turn}"
        answered_by.add(replica)
    assert len(answered_by) == 1

    # The widget's upgrade: Upgrade and Connection must pass the proxy (else engine.io sees a
    # plain GET and answers 400), to the replica holding the session.
    with connect(
        f"wss://bot.example.com/socket.io/?EIO=4&transport=websocket&sid={sid}",
        sock=proxy.tcp(), ssl=proxy.context(), server_hostname="bot.example.com", open_timeout=10,
    ) as websocket:  # fmt: skip
        websocket.send("2probe")
        assert websocket.recv(timeout=10) == "3probe"
        websocket.send("5")
        websocket.send('42["user_uttered",{"message":"over websocket"}]')
        while not (message := str(websocket.recv(timeout=10))).startswith("42"):
            pass
        assert json.loads(message[2:])[1]["text"] == f"{answered_by.pop()}: over websocket"


@pytest.mark.rasa  # the stand-ins run on the bot environment's Python
def test_a_websocket_session_opens_through_the_proxy(proxy: Proxy, replicas: None) -> None:
    with connect(
        "wss://bot.example.com/socket.io/?EIO=4&transport=websocket",
        sock=proxy.tcp(), ssl=proxy.context(), server_hostname="bot.example.com", open_timeout=10,
    ) as websocket:  # fmt: skip
        opened = str(websocket.recv(timeout=10))
        assert opened.startswith("0")
        assert "sid" in json.loads(opened[1:])


def test_nginx_logs_no_query_strings(proxy: Proxy) -> None:
    proxy.https("GET", "chat.example.com", "/?token=secret-in-a-query-0123")
    time.sleep(0.2)  # the access log line is written after the answer
    assert "secret-in-a-query" not in Path(proxy.log).read_text()
