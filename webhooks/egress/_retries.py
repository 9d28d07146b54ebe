"""Which failed attempts of a call are made again, and after how long.

Only an attempt that cannot have done anything, or whose repeat cannot do anything twice, is
made again:

- any method, when the connection failed before the request was sent (refused, reset while
  connecting, a name that did not resolve): the webhook never saw it. Never after a TLS
  failure (a certificate does not mend itself in a second) nor a refused destination;
- any method, on 429 or 503 with a ``Retry-After`` the deadline can wait for: the service says
  it did not handle the request and when to come back;
- GET, or a POST whose operator allowed retries (the receiver deduplicates by the
  ``Idempotency-Key`` header, the call's id), also on 502, 503 and 504 and on a connection
  lost after the request was sent.

Never on a timeout (the deadline is spent) or an answer that was not HTTP. At most
:data:`MAX_RETRIES` retries, each after a jittered backoff (:func:`backoff`) or the
``Retry-After`` asked for when that is longer, and only when at least
:data:`MIN_ATTEMPT_SECONDS` of the call's one deadline would be left for the attempt.
"""

from __future__ import annotations

import email.utils
import math
import random
import time

import aiohttp

from .._exceptions import CallFailed, ConnectionFailed

__all__ = [
    "BACKOFF_SECONDS",
    "MAX_RETRIES",
    "MIN_ATTEMPT_SECONDS",
    "backoff",
    "error_reason",
    "parse_retry_after",
    "status_reason",
]

#: Retries after the first attempt, at most.
MAX_RETRIES = 2
#: The first retry waits between half of this and this; each later one twice as long.
BACKOFF_SECONDS = 0.2
#: A retry is made only if at least this much of the deadline is left once its wait is over.
MIN_ATTEMPT_SECONDS = 0.5
#: Longer waits asked for are read as this (a day): far past any deadline either way.
MAX_RETRY_AFTER = 86_400.0
#: Statuses that say the request was not handled, when they come with ``Retry-After``.
_NOT_HANDLED = frozenset({429, 503})
#: Statuses of a failed gateway or a service briefly away: retried when repeating is safe.
_TRANSIENT = frozenset({502, 503, 504})
#: The aiohttp errors raised before a byte of the request was written, TLS failures aside.
_BEFORE_SENDING = (aiohttp.ClientConnectorError,)
_TLS = (aiohttp.ClientSSLError,)

_random = random.SystemRandom()


def backoff(retry: int) -> float:
    """The wait before retry number ``retry`` (0 for the first): "equal jitter", half of the
    step fixed and half random, so callers that failed together do not come back together."""
    step = BACKOFF_SECONDS * (2**retry)
    return float(step / 2 + _random.uniform(0, step / 2))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), or
    ``None`` when there is none or it cannot be read."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not str.isdigit alone: "²" is a digit to it
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a date without a zone is read as such
        return None
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else None


def status_reason(status: int, retry_after: float | None, *, repeatable: bool) -> str | None:
    """Why an answer with ``status`` may be tried again (the metrics' label), or ``None``."""
    if status in _NOT_HANDLED and retry_after is not None:
        return str(status)
    if repeatable and status in _TRANSIENT:
        return str(status)
    return None


def error_reason(exc: CallFailed, *, repeatable: bool) -> str | None:
    """Why an attempt that raised ``exc`` may be tried again (the metrics' label), or
    ``None``."""
    if not isinstance(exc, ConnectionFailed):  # timeouts, TLS, refusals, unreadable answers
        return None
    cause = exc.__cause__
    if isinstance(cause, _BEFORE_SENDING) and not isinstance(cause, _TLS):
        return "connect"
    return "connection_lost" if repeatable else None
