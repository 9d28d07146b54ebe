"""The operator console: static files from ``admin/console`` served beside the API.

The page is plain HTML, CSS and ES modules over the JSON API: nothing to build, nothing fetched
from elsewhere. Every response of the admin server carries the security headers below; the
console's policy allows only its own scripts and styles, so markup that slips into a stored text
could not run even if the page ever rendered it as HTML (it never does: it writes text nodes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse, file

__all__ = ["CONSOLE_DIR", "SECURITY_HEADERS", "add_console"]

CONSOLE_DIR = Path(__file__).with_name("console")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def add_console(app: Sanic[Any, Any]) -> None:
    """Serve the console at ``/`` (its assets under ``/console/``) and secure every response.

    The files carry no version in their names, so browsers keep them but ask each time whether
    they changed: Sanic's file responses say ``no-cache`` and ``Last-Modified``.
    """

    async def index(request: Request) -> HTTPResponse:
        return await file(CONSOLE_DIR / "index.html")

    app.add_route(index, "/", methods=["GET", "HEAD"], name="console_index")
    app.static(
        "/console",
        CONSOLE_DIR,
        name="console",
        use_modified_since=True,
        use_content_range=False,
    )

    async def secure(request: Request, response: BaseHTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    app.register_middleware(secure, "response")
