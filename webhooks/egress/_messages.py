"""What a webhook call sends and what it gets back: the request and result value objects.

Value objects only; :mod:`webhooks.egress._egress` does the I/O. Both have masked reprs: a request's
header values and argument values, and a URL's path and query string, may hold secrets or
personal data. The header rules (:data:`HEADER_NAME`, :data:`HEADER_VALUE_FORBIDDEN`,
:data:`RESERVED_HEADERS`) and the JSON rule (:func:`reject_json_constant`) live here, once.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import msgspec
import yarl

from ._redaction import MASK, redact
from ._signing import Signer

__all__ = [
    "DEFAULT_TIMEOUT",
    "HEADER_NAME",
    "HEADER_VALUE_FORBIDDEN",
    "MAX_TIMEOUT",
    "RESERVED_HEADERS",
    "SCALARS",
    "TRUNCATION_MARK",
    "Argument",
    "JSONValue",
    "Method",
    "Value",
    "WebhookRequest",
    "WebhookResult",
    "WebhookTestResult",
    "decode_body",
    "log_url",
    "masked_url",
    "query_value",
    "reject_json_constant",
    "safe_url",
    "text_encoding",
]

Method: TypeAlias = Literal["POST", "GET"]
#: A parameter's value, of any of its types (string, number, integer, boolean): the one
#: definition of the shape every path gives a webhook.
Value: TypeAlias = str | int | float | bool
#: The same at run time, for isinstance (a tuple is about three times faster than the union).
SCALARS = (str, int, float, bool)
Argument: TypeAlias = Value | None
JSONValue: TypeAlias = Any  # any value json.loads returns

#: The product's default and largest timeout, in seconds (it bounds the whole call).
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 30.0
#: Appended to the text of a body cut at the cap, so a reader cannot miss it.
TRUNCATION_MARK = "\n[... response truncated at {limit} bytes]"

#: A header name: 1-128 RFC 9110 token characters. Use ``fullmatch`` (``$`` would let a
#: trailing newline through).
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
#: What a header value may not contain: CR, LF, NUL and the other controls (tab is fine), which
#: would smuggle a second header or a request line. Use ``search``.
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Headers the client sets itself or that would change how the request is framed or routed
#: (lower case).
RESERVED_HEADERS = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "host",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        # Set per call by the client: the call's id and, for a signed call, its signature.
        "idempotency-key",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
    }
)


def safe_url(url: str | yarl.URL) -> str:
    """``url`` without userinfo, query string or fragment, for an operator's own eyes.

    The path is kept, so this is not for logs: some webhook URLs carry their secret in the path
    (``https://hooks.slack.com/services/T000/B000/XXXX``). Logs and reprs use :func:`log_url`.
    """
    try:
        parsed = yarl.URL(url) if isinstance(url, str) else url
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "<unparsable URL>"


def masked_url(url: str) -> str:
    """``url`` with every query value masked (names kept) and no fragment.

    A query string may carry a secret (``?key=...``): read-only operators and the audit log see
    the URL this way. The path is kept: without it the URL says nothing.
    """
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError):
        return "<unparsable URL>"
    if not parsed.raw_query_string:
        return str(parsed.with_fragment(None))
    masked = "&".join(f"{name}={MASK}" for name in parsed.query)
    return str(parsed.with_query(None).with_fragment(None)) + "?" + masked


def log_url(url: str | yarl.URL) -> str:
    """Only the scheme, host and port of ``url``: what may appear in logs and reprs."""
    try:
        parsed = yarl.URL(url) if isinstance(url, str) else url
        return str(parsed.origin())
    except (ValueError, TypeError):
        return "<unparsable URL>"


def query_value(value: Value) -> str:
    """One argument as it appears in a GET query string (see :class:`WebhookRequest`)."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Plain decimal, never an exponent: 1e16 -> "10000000000000000", 1e-7 -> "0.0000001".
        return format(Decimal(repr(value)), "f")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRequest:
    """One webhook call.

    ``method`` is ``"POST"`` (the default) or ``"GET"``. POST sends ``arguments`` as one JSON
    object body (``Content-Type: application/json``; ``None`` becomes ``null``). GET appends them
    to the URL's query string, after any query the URL already has, in the mapping's order:
    booleans as ``true``/``false``, integers and floats in plain decimal form (``1.5``,
    ``10000000000000000``, never an exponent), strings as they are (percent-encoded), and ``None``
    omitted. ``timeout`` (seconds, at most :data:`MAX_TIMEOUT`) bounds the whole call, connect
    to last body byte, retries included. ``headers`` are sent as given; the client sets
    ``Host``, framing, ``Accept-Encoding``, the call's id (``webhook-id``, and
    ``Idempotency-Key`` on POST) and its signature itself, so those names are refused here.
    ``signer`` signs each attempt (:mod:`webhooks.egress._signing`); ``retry_post`` lets a POST be
    made again as a GET may (:mod:`webhooks.egress._retries`).
    """

    url: str
    method: Method = "POST"
    timeout: float = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = field(default_factory=dict)
    arguments: Mapping[str, Argument] = field(default_factory=dict)
    #: Signs each attempt (Standard Webhooks headers) when given.
    signer: Signer | None = field(default=None, repr=False)
    #: Whether a POST may be made again like a GET (the receiver deduplicates by its id).
    retry_post: bool = False

    def __post_init__(self) -> None:
        if self.method not in ("POST", "GET"):
            raise ValueError(f"method must be POST or GET, not {self.method!r}")
        if not (0 < self.timeout <= MAX_TIMEOUT) or math.isnan(self.timeout):
            raise ValueError(f"timeout must be in (0, {MAX_TIMEOUT}] seconds")
        for name, value in self.headers.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name!r} is not 1-128 token characters")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the client itself")
            # The value is never quoted back: it is a secret.
            if not isinstance(value, str) or HEADER_VALUE_FORBIDDEN.search(value):
                raise ValueError(f"the value of header {name!r} has forbidden characters")
        for name, argument in self.arguments.items():
            if isinstance(argument, float) and not math.isfinite(argument):
                raise ValueError(f"argument {name!r} is not a finite number")
            if argument is not None and not isinstance(argument, SCALARS):
                raise ValueError(f"argument {name!r} must be a string, number or boolean")

    def __repr__(self) -> str:
        return (
            f"WebhookRequest(url={log_url(self.url)!r}, method={self.method!r}, "
            f"timeout={self.timeout!r}, headers=<{', '.join(self.headers)}: values hidden>, "
            f"arguments=<{', '.join(self.arguments)}: values hidden>)"
        )

    def json_body(self) -> bytes:
        """The POST body: the arguments as one compact JSON object."""
        arguments = self.arguments
        # The C encoder takes dicts only; other mappings are copied into one.
        mapping = arguments if type(arguments) is dict else dict(arguments)
        # msgspec where it writes the same bytes: a tenth of the time of JSONEncoder.encode,
        # which makes its C encoder anew at every call (callgrind: 12,000 instructions).
        if _AS_JSON_WRITES.issuperset(map(type, mapping.values())):
            return msgspec.json.encode(mapping)
        return _ENCODER.encode(mapping).encode()

    def query(self) -> list[tuple[str, str]]:
        """The GET query pairs, ``None`` values omitted."""
        return [
            (name, query_value(value))
            for name, value in self.arguments.items()
            if value is not None
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookResult:
    """What a webhook answered.

    ``data`` is the parsed JSON (any JSON value) when the whole body is valid JSON, else
    ``{"response_text": text}``. A body longer than the cap is cut there: ``truncated`` is true,
    ``text`` ends with :data:`TRUNCATION_MARK`, and ``data`` is always the text form (a cut JSON
    document is not JSON). ``body`` holds the raw bytes read (at most the cap), ``elapsed`` the
    seconds from the start of the call to the last byte read.
    """

    status: int
    elapsed: float
    truncated: bool
    data: JSONValue = field(repr=False)
    text: str = field(repr=False)
    body: bytes = field(repr=False)
    content_type: str = ""
    #: Seconds a 429 or 503 answer asked to wait (its ``Retry-After``), if it said.
    retry_after: float | None = None
    #: Why each earlier attempt of the call was made again (``webhooks.egress._retries``), if any.
    retries: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def without(self, secrets: Iterable[str]) -> WebhookResult:
        """This answer with ``secrets`` masked (:func:`redact`, in any form it covers): an
        endpoint that echoes its request must not hand a stored header value on to whoever
        reads the answer (a user of the bot, an agent). Itself when no secret is in it."""
        text = redact(self.text, secrets)
        if text == self.text:
            return self
        data: JSONValue = {"response_text": text}
        if data != self.data:  # the answer was JSON: it stays JSON unless masking broke it
            with contextlib.suppress(ValueError):
                data = json.loads(text)
        return dataclasses.replace(self, data=data, text=text, body=text.encode("utf-8"))


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTestResult:
    """The product's Test call: the HTTP status and the first characters of the body.

    ``content_type`` is the answer's media type (``application/octet-stream`` when it named
    none), ``size`` the bytes of body read (at most the cap).
    """

    status: int
    elapsed: float
    preview: str
    truncated: bool
    content_type: str
    size: int
    #: The whole answer as a call reads it (JSON, or ``{"response_text": ...}``), header
    #: values masked: what a reply template would see.
    data: JSONValue = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx status: the only answer a call takes as a success."""
        return 200 <= self.status < 300


def reject_json_constant(name: str) -> None:
    """``parse_constant`` hook for :mod:`json`: ``NaN``, ``Infinity`` and ``-Infinity`` are not
    JSON (RFC 8259), though Python's parser accepts them by default."""
    raise ValueError(f"{name} is not JSON")


# Built once: json.dumps/json.loads with options build a new coder at every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
#: The types of the values msgspec writes byte for byte as ``_ENCODER`` does (every
#: character of a string, any integer, and the same errors: a lone surrogate, too many
#: digits). Not floats: msgspec writes ``1e16`` where json writes ``1e+16``.
_AS_JSON_WRITES = frozenset({str, int, bool, type(None)})
_DECODER = json.JSONDecoder(parse_constant=reject_json_constant)


def text_encoding(charset: str | None) -> str:
    """The codec to decode a body with: ``charset`` when it names a text encoding, else UTF-8.

    The charset comes from the webhook's ``Content-Type``, so it is untrusted: an unknown name,
    or a codec that is not a character encoding (``base64``, ``rot13``, ``zlib``: bytes-to-bytes
    or str-to-str transforms), falls back to UTF-8.
    """
    if charset is None or charset == "utf-8":  # the usual answer, without a cache lookup
        return "utf-8"
    return _text_encoding(charset)


@functools.lru_cache(maxsize=64)
def _text_encoding(charset: str) -> str:
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):
        return "utf-8"
    return info.name if getattr(info, "_is_text_encoding", True) else "utf-8"


def _decode(body: bytes, encoding: str, truncated: bool) -> str:
    if encoding != "utf-8":
        text = _decode_as(body, encoding, truncated)
        if text is not None:
            return text
    if truncated:
        # Not final: a multi-byte character cut at the cap is dropped, not mangled.
        return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(body, final=False)
    return body.decode("utf-8", errors="replace")


def _decode_as(body: bytes, encoding: str, truncated: bool) -> str | None:
    """``body`` decoded with ``encoding``, or ``None`` when that codec fails on it."""
    # A text codec may still refuse errors="replace" (idna), refuse everything (undefined), or
    # raise whatever its code raises (punycode; utf-16 without a BOM, incrementally). A codec is
    # arbitrary code run on the webhook's bytes, so any failure means "fall back to UTF-8".
    if truncated:
        with contextlib.suppress(Exception):  # the one-shot decoder below may still manage
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            return str(decoder.decode(body, final=False))
    try:
        return str(body.decode(encoding, errors="replace"))
    except Exception:
        return None


def decode_body(
    body: bytes, *, charset: str | None, truncated: bool, limit: int
) -> tuple[str, JSONValue]:
    """Decode ``body`` to text and to ``data`` (parsed JSON, or ``{"response_text": text}``).

    Never raises: ``charset`` is used only when it names a text encoding
    (:func:`text_encoding`), and any decoding failure falls back to UTF-8 with replacement
    characters.
    """
    text = _decode(body, text_encoding(charset), truncated)
    if truncated:
        text += TRUNCATION_MARK.format(limit=limit)
        return text, {"response_text": text}
    try:
        return text, _DECODER.decode(text)
    except (ValueError, RecursionError):
        return text, {"response_text": text}
