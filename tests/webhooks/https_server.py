"""A real HTTPS webhook server on 127.0.0.1 for the egress tests, and a scripted resolver.

The server counts TCP connections at accept time (before TLS), so a test can prove that a
refused call never connected. Its routes cover each behaviour the egress must handle.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

GZIP_JSON = gzip.compress(b'{"inflated": true}')
TEN_MB = 10 * 1024 * 1024
#: What /markup answers: each piece would run script if a page rendered it as HTML.
MARKUP = (
    '<script>window.__xss = "script"</script><img src=x onerror="window.__xss = \'img\'">'
    '<svg onload="window.__xss = \'svg\'"></svg><a href="javascript:window.__xss=1">link</a>'
)
#: What /charset repeats: ASCII and Latin-1 letters, so every test encoding can carry it.
CHARSET_TEXT = "héllo wörld, "


def _unicode_escaped(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


def _halves(value: str) -> dict[str, str]:
    middle = len(value) // 2
    return {"first": value[:middle], "second": value[middle:]}


#: How /echo-as/{form} changes the X-Api-Key it got before echoing it as {"seen": ...}: the
#: shapes a careless or hostile endpoint may give a header value back in.
ECHOED_FORMS: dict[str, Any] = {
    "prefix-cut": lambda v: v[10:],  # as a token without its "Bearer " prefix
    "suffix-cut": lambda v: v[:-10],
    "middle-8": lambda v: v[len(v) // 2 - 4 : len(v) // 2 + 4],
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "base64-of-a-cut": lambda v: base64.b64encode(v[7:].encode()).decode(),
    "base64url": lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="),
    "hex": lambda v: v.encode().hex(),
    "HEX": lambda v: v.encode().hex().upper(),
    "upper-case": str.upper,
    "u-escaped": _unicode_escaped,
    "U-ESCAPED": lambda v: _unicode_escaped(v).upper().replace("\\U", "\\u"),
    "spaced": " ".join,
    "dashed": "-".join,
    "split": _halves,
}


def charset_body(encoding: str, size: int) -> bytes:
    """What /charset sends: :data:`CHARSET_TEXT` repeated to at least ``size`` bytes."""
    unit = CHARSET_TEXT.encode(encoding)
    return unit * -(-size // len(unit))


@dataclass
class Seen:
    """What the server observed."""

    connections: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    stream_ends: list[str] = field(default_factory=list)
    stream_bytes: list[int] = field(default_factory=list)


class LocalServer:
    """aiohttp.web on 127.0.0.1, a random port, TLS with the given context."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self.ssl_context = ssl_context
        self.seen = Seen()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        # Idle keep-alive connections of clients in other processes outlive server.close();
        # closing their transports at stop keeps the tests free of ResourceWarnings.
        self._protocols: list[asyncio.BaseProtocol] = []
        #: What ``/script/{key}`` answers, step by step (see :meth:`_script`).
        self.scripts: dict[str, list[tuple[Any, ...]]] = {}

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_route("*", "/headers", self._headers)
        app.router.add_get("/text", self._text)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_route("*", "/status/{code}", self._status)
        app.router.add_get("/drip", self._drip)
        app.router.add_route("*", "/reset", self._reset)
        app.router.add_route("*", "/bad-json", self._bad_json)
        app.router.add_route("*", "/busy", self._busy)
        app.router.add_get("/big", self._big)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/exact", self._exact)
        app.router.add_get("/gzip", self._gzip)
        app.router.add_get("/close", self._close)
        app.router.add_get("/long", self._long)
        app.router.add_get("/charset", self._charset)
        app.router.add_get("/emoji", self._emoji)
        app.router.add_route("*", "/markup", self._markup)
        app.router.add_route("*", "/services/{secret:.+}", self._echo)
        app.router.add_route("*", "/echo-as/{form}", self._echo_as)
        app.router.add_route("*", "/script/{key}", self._script)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        protocol_factory = self._runner.server
        if protocol_factory is None:
            raise RuntimeError("the runner has no server")

        def counting_factory() -> asyncio.BaseProtocol:
            self.seen.connections += 1
            protocol = protocol_factory()
            self._protocols.append(protocol)
            return protocol

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            counting_factory, "127.0.0.1", 0, ssl=self.ssl_context, family=socket.AF_INET
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for protocol in self._protocols:
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.close()
        if self._runner is not None:
            if self._runner.server is not None:
                await self._runner.server.shutdown(0.5)
            await self._runner.cleanup()
        if self._server is not None:
            await self._server.wait_closed()

    def _record(self, request: web.Request, body: bytes) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": list(request.query.items()),
                # As a receiver reads it to verify a signed GET: still percent-encoded.
                "raw_query": request.rel_url.raw_query_string,
                "headers": dict(request.headers),
                "body": body,
                "peer_port": peer[1] if peer else None,
            }
        )

    async def _script(self, request: web.Request) -> web.StreamResponse:
        """Answers each request to ``/script/{key}`` with the next step of
        ``scripts[key]`` (an echo once they run out): ``("status", code)`` or
        ``("status", code, headers)``; ``("drop",)``, the connection closed once the request
        is read, with no answer; ``("sleep", seconds, code)``, the status after a wait."""
        self._record(request, await request.read())
        steps = self.scripts.get(request.match_info["key"], [])
        step = steps.pop(0) if steps else ("status", 200)
        if step[0] == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response()  # never written: the connection is gone
        if step[0] == "sleep":
            await asyncio.sleep(step[1])
            step = ("status", step[2])
        headers = step[2] if len(step) > 2 else {}
        return web.json_response(
            {"attempt": len(self.seen.requests)}, status=step[1], headers=headers
        )

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        self._record(request, body)
        return web.json_response({"method": request.method, "query": list(request.query.items())})

    async def _headers(self, request: web.Request) -> web.Response:
        """Echoes the request's headers, as a hostile endpoint on an allowed host would."""
        self._record(request, await request.read())
        return web.json_response(dict(request.headers))

    async def _echo_as(self, request: web.Request) -> web.Response:
        """Echoes X-Api-Key changed as ``{form}`` of :data:`ECHOED_FORMS` says, as
        ``{"seen": ...}`` (``\\u`` escapes written as such: JSON that decodes to the value)."""
        self._record(request, await request.read())
        seen = ECHOED_FORMS[request.match_info["form"]](request.headers.get("X-Api-Key", ""))
        if isinstance(seen, str):
            body = '{"seen": "' + seen.replace('"', '\\"') + '"}'
        else:
            body = json.dumps({"seen": seen})
        return web.Response(text=body, content_type="application/json")

    async def _markup(self, request: web.Request) -> web.Response:
        """An HTML answer with scripts and event handlers, for pages that show bodies."""
        self._record(request, await request.read())
        return web.Response(text=MARKUP, content_type="text/html")

    async def _emoji(self, request: web.Request) -> web.Response:
        """Words beyond ASCII; with ``?cut=1`` the emoji is cut in half (a lone surrogate
        escape, as a JavaScript service that cuts a string by UTF-16 units sends)."""
        self._record(request, b"")
        emoji = "\\ud83d" if request.query.get("cut") else "\\ud83d\\ude80"
        body = '{"text": "Caf\\u00e9 \\u2713 ' + emoji + '"}'
        return web.Response(body=body.encode(), content_type="application/json")

    async def _text(self, request: web.Request) -> web.Response:
        self._record(request, b"")
        return web.Response(text="plain words, not JSON")

    async def _redirect(self, request: web.Request) -> web.Response:
        self._record(request, b"")
        return web.Response(status=302, headers={"Location": "/echo"}, text="moved")

    async def _status(self, request: web.Request) -> web.Response:
        self._record(request, await request.read())
        return web.json_response({"error": "nope"}, status=int(request.match_info["code"]))

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        """A byte every ``?every=`` seconds (0.1 by default), 200 of them."""
        self._record(request, b"")
        every = float(request.query.get("every", "0.1"))
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(200):
            await response.write(b"x")
            await asyncio.sleep(every)
        return response

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        """Promises 1,000 bytes, sends 100, then resets the connection."""
        self._record(request, await request.read())
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"text": "' + b"a" * 90)
        await asyncio.sleep(0.05)
        if request.transport is not None:
            request.transport.abort()
        return response

    async def _bad_json(self, request: web.Request) -> web.Response:
        """Claims JSON, sends something that is not."""
        self._record(request, await request.read())
        return web.Response(body=b'{"text": "cut off', content_type="application/json")

    async def _busy(self, request: web.Request) -> web.Response:
        self._record(request, await request.read())
        return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "30"})

    async def _write_until_stopped(
        self, request: web.Request, total: int | None, chunk: bytes
    ) -> web.StreamResponse:
        self._record(request, b"")
        response = web.StreamResponse()
        if total is not None:
            response.content_length = total
        await response.prepare(request)
        written = 0
        try:
            while total is None or written < total:
                piece = chunk if total is None else chunk[: total - written]
                await response.write(piece)
                written += len(piece)
            await response.write_eof()
            self.seen.stream_ends.append("complete")
        except (ConnectionError, asyncio.CancelledError) as exc:
            self.seen.stream_ends.append(type(exc).__name__)
            raise
        finally:
            self.seen.stream_bytes.append(written)
        return response

    async def _big(self, request: web.Request) -> web.StreamResponse:
        return await self._write_until_stopped(request, TEN_MB, b"a" * 65536)

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        return await self._write_until_stopped(request, None, b'{"endless": "' + b"z" * 65536)

    async def _exact(self, request: web.Request) -> web.Response:
        self._record(request, b"")
        return web.Response(body=b"e" * int(request.query.get("size", "51200")))

    async def _gzip(self, request: web.Request) -> web.Response:
        self._record(request, b"")
        return web.Response(
            body=GZIP_JSON,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    async def _close(self, request: web.Request) -> web.Response:
        self._record(request, b"")
        response = web.json_response({"closing": True})
        response.force_close()
        return response

    async def _long(self, request: web.Request) -> web.Response:
        self._record(request, b"")
        return web.Response(text=json.dumps({"items": ["é" * 10] * 100}, ensure_ascii=False))

    async def _charset(self, request: web.Request) -> web.Response:
        """``?charset=`` goes into Content-Type as is; the body is encoded with ``?encoding=``."""
        self._record(request, b"")
        body = charset_body(request.query["encoding"], int(request.query["size"]))
        content_type = f"text/plain; charset={request.query['charset']}"
        return web.Response(body=body, headers={"Content-Type": content_type})


class ScriptedResolver(AbstractResolver):
    """Answers from a script: each lookup of a name takes the next list of addresses.

    The last answer repeats. ``lookups`` records every (host, port) asked, so a test can prove
    that a new connection resolved again.
    """

    def __init__(self, script: dict[str, list[list[str]]]) -> None:
        self._script = {host: list(answers) for host, answers in script.items()}
        self.lookups: list[tuple[str, int]] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append((host, port))
        answers = self._script.get(host)
        if not answers:
            raise OSError(f"scripted resolver has no answer for {host}")
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None
