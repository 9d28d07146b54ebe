"""The web chat's static server: the page, the widget's files and their headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import run_cli, start_server, stop

RASA = 'http://127.0.0.1:5005/"><script>alert(1)</script>'


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log = tmp_path_factory.mktemp("web") / "web.log"
    process, url = start_server("web", {}, log, args=["--rasa-url", "http://127.0.0.1:5005"])
    with httpx.Client(base_url=url) as client:
        yield client
    stop(process)


def test_the_page_embeds_the_widget_for_the_rasa_server(web: httpx.Client) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert 'src="/widget/chat.js" data-server="http://127.0.0.1:5005"' in page.text
    assert f'src="{web.base_url}/widget/chat.js"' in page.text  # the snippet to copy
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;" in policy
    assert "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "media_type", "caching"),
    [
        ("/widget/chat.js", "text/javascript", "no-cache"),
        ("/widget/chat.css", "text/css", "no-cache"),
        ("/widget/socket.io.esm.min.js", "text/javascript", "no-cache"),
    ],
)
def test_the_widget_files_can_be_embedded_by_any_site(
    web: httpx.Client, path: str, media_type: str, caching: str
) -> None:
    response = web.get(path, headers={"Origin": "https://shop.example.com"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["cache-control"] == caching
    assert response.headers["access-control-allow-origin"] == "*"
    assert "last-modified" in response.headers
    again = web.get(path, headers={"If-Modified-Since": response.headers["last-modified"]})
    assert again.status_code == 304


def test_the_socketio_client_is_the_locked_one(web: httpx.Client) -> None:
    lock = (Path(__file__).resolve().parents[2] / "web/package-lock.json").read_text()
    served = web.get("/widget/socket.io.esm.min.js").text
    version = served.split("Socket.IO v", 1)[1].split()[0]
    assert f'"node_modules/socket.io-client": {{\n      "version": "{version}"' in lock


def test_unknown_paths_are_404(web: httpx.Client) -> None:
    assert web.get("/widget/../web/_app.py").status_code == 404
    assert web.get("/nothing").status_code == 404


def test_the_rasa_address_is_escaped_into_the_page(tmp_path: Path) -> None:
    process, url = start_server("web", {}, tmp_path / "web.log", args=["--rasa-url", RASA])
    try:
        page = httpx.get(url + "/").text
    finally:
        stop(process)
    assert "<script>alert(1)</script>" not in page
    assert 'data-server="http://127.0.0.1:5005/&quot;&gt;&lt;script&gt;' in page


def test_a_bad_rasa_url_is_refused_in_one_line() -> None:
    done = run_cli("web", "serve", "--port", "0", "--rasa-url", "ftp://x", env={})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "python -m web: --rasa-url must be an http(s) address, not 'ftp://x'"
    )
