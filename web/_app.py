"""The web chat's files on Sanic: the demo page, the widget and the socket.io client.

The widget is meant to be embedded by other sites: a module script and what it imports are
fetched with CORS, so the widget's files say ``Access-Control-Allow-Origin: *`` (they are
public). The page itself allows scripts and styles from here only, and connections to the
Rasa server it chats with.
"""

from __future__ import annotations

import itertools
from html import escape
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import SplitResult, urlsplit

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse, html, json

from webhooks import ConfigurationError

__all__ = ["CLIENT", "create_app"]

HERE = Path(__file__).parent
WIDGET = HERE / "widget"
#: Installed by ``make web`` (npm ci) from web/package-lock.json.
CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"
_names = itertools.count(1)


def _page_policy(parts: SplitResult) -> str:
    socket = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        f"connect-src 'self' {parts.scheme}://{parts.netloc} {socket}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def create_app(
    rasa_url: str,
    *,
    path: str = "/socket.io/",
    title: str = "Shop assistant",
    initial_message: str = "hi",
    name: str | None = None,
) -> Sanic[Any, Any]:
    """The app serving the demo page (chatting with Rasa at ``rasa_url``) and the widget."""
    rasa = urlsplit(rasa_url)
    if rasa.scheme not in ("http", "https") or not rasa.netloc:
        raise ConfigurationError(f"--rasa-url must be an http(s) address, not {rasa_url!r}")
    if not CLIENT.exists():
        raise ConfigurationError(
            f"the socket.io client is missing ({CLIENT}): run `make web` (npm ci in web/)"
        )
    app: Sanic[Any, Any] = Sanic(name or f"web_chat_{next(_names)}", configure_logging=False)
    app.config.MOTD = False
    fields = {"server": rasa_url, "path": path, "title": title, "initial": initial_message}
    page = Template(
        Template((HERE / "page.html").read_text()).safe_substitute(
            {key: escape(value, quote=True) for key, value in fields.items()}
        )
    )
    page_headers = {
        "Content-Security-Policy": _page_policy(rasa),
        "Cache-Control": "no-cache",
    }

    async def index(request: Request) -> HTTPResponse:
        # The snippet to copy names this server as the browser reached it.
        widget = escape(f"{request.scheme}://{request.host}/widget/chat.js", quote=True)
        return html(page.substitute(widget_url=widget), headers=page_headers)

    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    app.add_route(index, "/", methods=["GET", "HEAD"], name="index")
    app.add_route(health, "/health", methods=["GET"], name="health")
    # Every file is revalidated (no-cache, Last-Modified, 304): none carries a version in its
    # name, and a site embedding the widget gets a changed one at its next page view.
    for uri, source, route in (
        ("/widget/socket.io.esm.min.js", CLIENT, "client"),
        ("/widget", WIDGET, "widget"),
        ("/page.css", HERE / "page.css", "page_css"),
    ):
        app.static(uri, source, name=route, use_modified_since=True, use_content_range=False)

    async def headers(request: Request, response: BaseHTTPResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/widget/"):
            # Public files other sites embed: module scripts are fetched with CORS.
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
            response.headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")

    app.register_middleware(headers, "response")
    return app
