"""The guarded webhook client: :class:`Egress`.

Every call re-applies the URL rules (:func:`webhooks.egress._urls.check_url`); every new connection
re-resolves the host through :class:`~webhooks.egress._resolver.GuardedResolver`, which refuses
blocked answers before connecting, and TLS verifies the certificate against the host name. No proxy
from the environment, no redirect followed (a 3xx is a result), no decompression, no cookies kept
between calls, one deadline over the whole call, and the body read up to a cap. Foreign errors
are translated into the project's tree in one place (``_client_errors``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import ssl
import time
from types import TracebackType

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict, CIMultiDictProxy

from .._exceptions import (
    CallFailed,
    HTTPStatusError,
    WebhookTimeout,
)
from ._client_errors import map_client_errors
from ._messages import (
    MAX_TIMEOUT,
    WebhookRequest,
    WebhookResult,
    WebhookTestResult,
    decode_body,
    log_url,
)
from ._resolver import GuardedResolver
from ._retries import (
    MAX_RETRIES,
    MIN_ATTEMPT_SECONDS,
    backoff,
    error_reason,
    parse_retry_after,
    status_reason,
)
from ._rules import EgressRules
from ._signing import new_message_id
from ._urls import url_checker

__all__ = [
    "MAX_BODY_BYTES",
    "TEST_PREVIEW_CHARS",
    "USER_AGENT",
    "Egress",
    "trust",
]

logger = logging.getLogger("webhooks.egress")

#: The product's response cap: reading stops here and the result is marked truncated.
MAX_BODY_BYTES = 51_200
#: How much of the body the Test call returns.
TEST_PREVIEW_CHARS = 500
USER_AGENT = "webhook-actions/0.1"
#: Connection pool defaults (per :class:`Egress`, so per process in practice). No limit over
#: all hosts, nor per host: a full pool (or host) would make every tenant wait for the slowest
#: one's calls. Each share (a tenant), and each host within a share, is bounded instead.
DEFAULT_POOL_LIMIT = 0
DEFAULT_POOL_LIMIT_PER_HOST = 0
DEFAULT_KEEPALIVE_TIMEOUT = 15.0
#: Calls one share (a tenant) may have in flight; more wait for a turn, within their deadline.
DEFAULT_SHARE_LIMIT = 32


async def _read_capped(content: aiohttp.StreamReader, cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes; the flag says whether the body went on past them."""
    # One byte past the cap is enough to know the body is longer; never more is buffered.
    first = await content.read(cap + 1)
    if content.at_eof() or not first:
        # The usual small body arrives whole: no copy, no second read (and no wakeup).
        return (first, False) if len(first) <= cap else (first[:cap], True)
    body = bytearray(first)
    while len(body) <= cap:
        chunk = await content.read(cap + 1 - len(body))
        if not chunk:
            break
        body += chunk
    truncated = len(body) > cap
    del body[cap:]
    return bytes(body), truncated


# The client's own headers, built once; each call copies them and adds its own (its id, the
# configured headers, a signature), which aiohttp then takes as they are.
_GET_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(
    CIMultiDict({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
)
_POST_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(
    CIMultiDict({**_GET_HEADERS, "Content-Type": "application/json"})
)


@functools.lru_cache(maxsize=64)
def _deadline(seconds: float) -> aiohttp.ClientTimeout:
    """One total deadline, connect to last body byte.

    aiohttp's ``total`` arms one timer for the whole request and its response body (every body
    read waits under it), measured ~8% cheaper in throughput than wrapping the call in
    ``asyncio.timeout``. ``ceil_threshold`` above any allowed timeout keeps the deadline exact
    (aiohttp would otherwise round timeouts of 5 s and more up to the next whole second).
    """
    return aiohttp.ClientTimeout(total=seconds, ceil_threshold=MAX_TIMEOUT + 1)


def _quiet_client_loggers() -> None:
    # aiohttp and asyncio may log request details at DEBUG; an operator who set a level
    # explicitly keeps it.
    for name in ("aiohttp", "aiohttp.client", "aiohttp.internal"):
        client_logger = logging.getLogger(name)
        if client_logger.level == logging.NOTSET:
            client_logger.setLevel(logging.WARNING)


def trust(ca_file: str | os.PathLike[str] | None = None) -> ssl.SSLContext | None:
    """The TLS trust for webhooks: the system's, plus the CAs in ``ca_file`` when given.

    ``None`` without a file (the client then uses the system's defaults). Extra CAs are added,
    never a replacement: a deployment trusting a local demo CA still reaches public APIs.
    """
    if ca_file is None:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=os.fspath(ca_file))
    return context


class Egress:
    """The guarded client for webhook calls; one per process, shared by all calls.

    Options (keyword-only): ``rules``, the deployment's egress rules (default: none, so all
    the address table blocks stays blocked; tests allow ``127.0.0.1/32``); ``max_body_bytes``,
    the cap; ``ssl_context``, the trust to verify servers with (default: the system's);
    ``resolver``, the inner resolver the guard wraps (default: the system resolver; tests script
    DNS with it); ``pool_limit``, ``pool_limit_per_host`` and ``keepalive_timeout`` for the
    connection pool; ``share_limit``, the calls one share may have in flight (half of them to
    one host; see :meth:`call`). The session is made lazily inside the running loop; close it with
    :meth:`aclose` or use ``async with``.
    """

    def __init__(
        self,
        *,
        rules: EgressRules = EgressRules(),
        max_body_bytes: int = MAX_BODY_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        resolver: AbstractResolver | None = None,
        pool_limit: int = DEFAULT_POOL_LIMIT,
        pool_limit_per_host: int = DEFAULT_POOL_LIMIT_PER_HOST,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        share_limit: int = DEFAULT_SHARE_LIMIT,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if share_limit < 1:
            raise ValueError("share_limit must be positive")
        self._share_limit = share_limit
        # Half a share for one host: a tenant's slow host leaves room for its other hosts.
        self._host_share_limit = max(1, share_limit // 2)
        self._shares: dict[tuple[object, ...], asyncio.Semaphore] = {}
        self._rules = rules
        # The URL rules at every call, with a cache of URLs that passed keyed by their text.
        self._check_url = url_checker(rules=rules)
        self._max_body_bytes = max_body_bytes
        self._ssl_context = ssl_context
        self._inner_resolver = resolver
        self._pool_limit = pool_limit
        self._pool_limit_per_host = pool_limit_per_host
        self._keepalive_timeout = keepalive_timeout
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        if rules.allow:
            logger.warning(
                "egress allowance in effect: webhooks may reach %s despite the blocklist",
                ", ".join(str(network) for network in rules.allow),
            )
        _quiet_client_loggers()

    def __repr__(self) -> str:
        allowed = ", ".join(str(network) for network in self._rules.allow) or "nothing"
        return f"Egress(allow={allowed}, max_body_bytes={self._max_body_bytes})"

    async def __aenter__(self) -> Egress:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections; the client cannot be used afterwards."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this Egress is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(rules=self._rules, inner=self._inner_resolver),
                # Every new connection resolves and checks again; pooled ones were checked.
                use_dns_cache=False,
                ssl=self._ssl_context if self._ssl_context is not None else True,
                limit=self._pool_limit,
                limit_per_host=self._pool_limit_per_host,
                keepalive_timeout=self._keepalive_timeout,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # one webhook's cookies never reach another
                # No session headers: each call passes its complete set (from _POST_HEADERS or
                # _GET_HEADERS), which spares aiohttp a merge with defaults at every call.
                # Each call passes its own deadline (_deadline); no session-wide one.
                timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None),
                raise_for_status=False,
            )
            # aiohttp makes a GET again, once, when its connection was lost: an attempt the
            # retry rules (``_retries``) would neither bound, count nor sign anew. Off, as
            # aiohttp's own test client turns it off (no public option; a test pins it).
            self._session._retry_connection = False
        return self._session

    async def _exchange(
        self,
        request: WebhookRequest,
        url: yarl.URL,
        *,
        body: bytes | None,
        headers: CIMultiDict[str],
        seconds: float,
    ) -> WebhookResult:
        session = self._session if self._session is not None else self._get_session()
        started = time.perf_counter()
        retry_after = None
        with map_client_errors():
            async with session.request(
                request.method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=_deadline(seconds),
            ) as response:
                content, truncated = await _read_capped(response.content, self._max_body_bytes)
                if truncated:
                    # Stop reading: drop this connection rather than drain an endless body.
                    response.close()
                if response.status in (429, 503):
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
        elapsed = time.perf_counter() - started
        # Never raises, whatever charset the webhook claims (so it may sit outside the mapping).
        text, data = decode_body(
            content, charset=response.charset, truncated=truncated, limit=self._max_body_bytes
        )
        if logger.isEnabledFor(logging.DEBUG):  # log_url costs a URL copy
            # Scheme, host and port only: the path may be the secret (Slack-style URLs).
            logger.debug(
                "webhook %s %s answered %s in %.3fs (%d bytes%s)",
                request.method,
                log_url(url),
                response.status,
                elapsed,
                len(content),
                ", truncated" if truncated else "",
            )
        return WebhookResult(
            status=response.status,
            elapsed=elapsed,
            truncated=truncated,
            data=data,
            text=text,
            body=content,
            content_type=response.content_type,
            retry_after=retry_after,
        )

    @property
    def rules(self) -> EgressRules:
        """The egress rules every call's URL and resolved addresses are judged by."""
        return self._rules

    @property
    def share_limit(self) -> int:
        """The calls one share may have in flight (half of them to one host)."""
        return self._share_limit

    def _slots(self, key: tuple[object, ...], limit: int) -> asyncio.Semaphore:
        slots = self._shares.get(key)
        if slots is None:
            slots = self._shares[key] = asyncio.Semaphore(limit)
        return slots

    async def _take_turn(
        self, share: str, url: yarl.URL, seconds: float
    ) -> tuple[tuple[asyncio.Semaphore, ...], float]:
        """Take a slot of ``share`` and one of its slots for ``url``'s host; returns them (to
        release) and what is left of the call's ``seconds``.

        A share's calls beyond its limits wait here for a turn, so a tenant whose webhooks are
        slow (or hostile) delays only its own calls, never another tenant's, and one slow host
        of a tenant takes at most half of that tenant's share. The wait counts against the
        call's deadline.
        """
        turns = (
            self._slots((share,), self._share_limit),
            self._slots((share, url.raw_host, url.port), self._host_share_limit),
        )
        started: float | None = None
        taken: list[asyncio.Semaphore] = []
        try:
            for slots in turns:
                if slots.locked():
                    if started is None:
                        started = time.monotonic()
                    left = seconds - (time.monotonic() - started)
                    try:
                        async with asyncio.timeout(left):
                            await slots.acquire()
                    except TimeoutError:
                        raise WebhookTimeout(
                            "no turn within the deadline: too many calls in flight"
                        ) from None
                else:
                    await slots.acquire()  # free now: no wait, no timer
                taken.append(slots)
        except BaseException:
            for slots in taken:
                slots.release()
            raise
        if started is not None:
            seconds = max(seconds - (time.monotonic() - started), 0.001)
        return turns, seconds

    async def _attempt(
        self,
        request: WebhookRequest,
        url: yarl.URL,
        share: str | None,
        *,
        body: bytes | None,
        headers: CIMultiDict[str],
        seconds: float,
    ) -> WebhookResult:
        """One exchange, in a turn of ``share`` when there is one."""
        if share is None:  # no turn to take: the plain path
            return await self._exchange(request, url, body=body, headers=headers, seconds=seconds)
        turns, left = await self._take_turn(share, url, seconds)
        try:
            return await self._exchange(request, url, body=body, headers=headers, seconds=left)
        finally:
            for slots in turns:
                slots.release()

    async def _send(
        self, request: WebhookRequest, url: yarl.URL, share: str | None
    ) -> WebhookResult:
        """The call's attempts (see :mod:`webhooks.egress._retries`), all within its one deadline;
        the last attempt's result, which names the retries made before it (a failure raised
        names them too)."""
        body: bytes | None
        if request.method == "POST":
            body = request.json_body()
            payload = body
        else:
            body = None
            query = request.query()
            if query:
                # Built here rather than by aiohttp, so that what is signed is what is sent.
                url = url.extend_query(query)
            payload = url.raw_query_string.encode()
        message_id = new_message_id()
        base = _POST_HEADERS if body is not None else _GET_HEADERS
        headers = CIMultiDict(base)
        if request.headers:
            # The configured names cannot clash with the client's own (WebhookRequest refuses
            # the reserved ones), except User-Agent, which the configuration may override.
            headers.update(request.headers)
        headers["webhook-id"] = message_id
        if body is not None:
            headers["Idempotency-Key"] = message_id
        repeatable = body is None or request.retry_post
        signer = request.signer
        retries: list[str] = []
        deadline = time.monotonic() + request.timeout
        seconds = request.timeout
        while True:
            if signer is not None:
                timestamp = int(time.time())
                headers["webhook-timestamp"] = str(timestamp)
                headers["webhook-signature"] = signer.signature(message_id, timestamp, payload)
            try:
                result = await self._attempt(
                    request, url, share, body=body, headers=headers, seconds=seconds
                )
            except CallFailed as exc:
                reason = error_reason(exc, repeatable=repeatable)
                wait = self._retry_wait(retries, reason, None, deadline)
                if not wait:
                    exc.retries = tuple(retries)
                    raise
            else:
                reason = status_reason(result.status, result.retry_after, repeatable=repeatable)
                wait = self._retry_wait(retries, reason, result.retry_after, deadline)
                if not wait:
                    return (
                        dataclasses.replace(result, retries=tuple(retries)) if retries else result
                    )
            if reason is not None:
                retries.append(reason)
            await asyncio.sleep(wait)
            seconds = deadline - time.monotonic()

    @staticmethod
    def _retry_wait(
        retries: list[str], reason: str | None, retry_after: float | None, deadline: float
    ) -> float:
        """How long to wait before the next attempt; 0 when there is none to make (no
        ``reason`` to retry, no retry left, or too little of the deadline)."""
        if reason is None or len(retries) >= MAX_RETRIES:
            return 0.0
        wait = backoff(len(retries))
        if retry_after is not None:
            wait = max(wait, retry_after)
        if deadline - time.monotonic() - wait < MIN_ATTEMPT_SECONDS:
            return 0.0
        return wait

    async def call(self, request: WebhookRequest, *, share: str | None = None) -> WebhookResult:
        """Make the call; return the result of a 2xx answer.

        ``share`` names whose calls these are (a tenant): each share has at most
        ``share_limit`` calls in flight, half of them to one host. Raises
        :class:`HTTPStatusError` (with ``.result``) for any other status, and the other
        :class:`CallFailed` subclasses for refused destinations, timeouts, connection and TLS
        failures and unreadable answers.
        """
        result = await self._send(request, self._check_url(request.url), share)
        if not result.ok:
            error = HTTPStatusError(result.status, result=result)
            error.retries = result.retries
            raise error
        return result

    async def test(self, request: WebhookRequest, *, share: str | None = None) -> WebhookTestResult:
        """The product's Test: ``request`` sent as :meth:`call` sends it (without arguments, an
        empty JSON object for POST and no parameters for GET, as the specification's Test
        asks); returns the status, the media type, the bytes read and the first
        :data:`TEST_PREVIEW_CHARS` characters of the body. A non-2xx status is a result here,
        not an error; transport failures still raise.
        """
        result = await self._send(request, self._check_url(request.url), share)
        preview = result.text[:TEST_PREVIEW_CHARS]
        data = result.without(request.headers.values()).data
        return WebhookTestResult(
            status=result.status,
            elapsed=result.elapsed,
            preview=preview,
            truncated=result.truncated or len(result.text) > TEST_PREVIEW_CHARS,
            content_type=result.content_type,
            size=len(result.body),
            data=data,
        )
