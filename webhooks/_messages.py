"""What a webhook call sends and what it gets back: the request and result value objects.

Value objects only; :mod:`webhooks._egress` does the I/O. Both have masked reprs: a request's
header values and argument values, and a URL's query string, may hold secrets or personal data.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import yarl

from ._definitions import RESERVED_HEADERS

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "TRUNCATION_MARK",
    "Argument",
    "JSONValue",
    "Method",
    "WebhookRequest",
    "WebhookResult",
    "WebhookTestResult",
    "decode_body",
    "query_value",
    "safe_url",
]

Method: TypeAlias = Literal["POST", "GET"]
Argument: TypeAlias = str | int | float | bool | None
JSONValue: TypeAlias = Any  # any value json.loads returns

#: The product's default and largest timeout, in seconds (it bounds the whole call).
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 30.0
#: Appended to the text of a body cut at the cap, so a reader cannot miss it.
TRUNCATION_MARK = "\n[... response truncated at {limit} bytes]"

# RFC 9110 token characters for names; values may not carry CR, LF, NUL or other controls.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A tuple, not a union: isinstance with a tuple is about three times faster, once per argument.
_ARGUMENT_TYPES = (str, int, float, bool)


def safe_url(url: str | yarl.URL) -> str:
    """``url`` without userinfo, query string or fragment: what may appear in logs and reprs."""
    try:
        parsed = yarl.URL(url) if isinstance(url, str) else url
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "<unparsable URL>"


def query_value(value: int | float | str | bool) -> str:
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
    to last body byte. ``headers`` are sent as given; the client sets ``Host``, framing and
    ``Accept-Encoding`` itself, so those names are refused here.
    """

    url: str
    method: Method = "POST"
    timeout: float = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = field(default_factory=dict)
    arguments: Mapping[str, Argument] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in ("POST", "GET"):
            raise ValueError(f"method must be POST or GET, not {self.method!r}")
        if not (0 < self.timeout <= MAX_TIMEOUT) or math.isnan(self.timeout):
            raise ValueError(f"timeout must be in (0, {MAX_TIMEOUT}] seconds")
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name!r} is not a valid token")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the client itself")
            # The value is never quoted back: it is a secret.
            if not isinstance(value, str) or _HEADER_VALUE_FORBIDDEN.search(value):
                raise ValueError(f"the value of header {name!r} has forbidden characters")
        for name, argument in self.arguments.items():
            if isinstance(argument, float) and not math.isfinite(argument):
                raise ValueError(f"argument {name!r} is not a finite number")
            if argument is not None and not isinstance(argument, _ARGUMENT_TYPES):
                raise ValueError(f"argument {name!r} must be a string, number or boolean")

    def __repr__(self) -> str:
        return (
            f"WebhookRequest(url={safe_url(self.url)!r}, method={self.method!r}, "
            f"timeout={self.timeout!r}, headers=<{', '.join(self.headers)}: values hidden>, "
            f"arguments=<{', '.join(self.arguments)}: values hidden>)"
        )

    def json_body(self) -> bytes:
        """The POST body: the arguments as one compact JSON object."""
        arguments = self.arguments
        # The C encoder takes dicts only; other mappings are copied into one.
        return _ENCODER.encode(arguments if type(arguments) is dict else dict(arguments)).encode()

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

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTestResult:
    """The product's Test call: the HTTP status and the first characters of the body."""

    status: int
    elapsed: float
    preview: str
    truncated: bool


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# Built once: json.dumps/json.loads with options build a new coder at every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode_body(
    body: bytes, *, charset: str | None, truncated: bool, limit: int
) -> tuple[str, JSONValue]:
    """Decode ``body`` to text and to ``data`` (parsed JSON, or ``{"response_text": text}``)."""
    encoding = charset or "utf-8"
    if truncated:
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        except LookupError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # Not final: a multi-byte character cut at the cap is dropped, not mangled.
        text = decoder.decode(body, final=False) + TRUNCATION_MARK.format(limit=limit)
        return text, {"response_text": text}
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:  # an unknown charset in Content-Type
        text = body.decode("utf-8", errors="replace")
    try:
        return text, _DECODER.decode(text)
    except (ValueError, RecursionError):
        return text, {"response_text": text}
