"""Foreign errors of a webhook call (aiohttp, ssl, sockets, timeouts) as the project's own.

One table, looked up along the raised error's class hierarchy; fixed messages only.
"""

from __future__ import annotations

import errno
import ssl
from types import TracebackType

import aiohttp

from .._exceptions import (
    CallFailed,
    ConnectionFailed,
    InvalidResponse,
    InvalidURL,
    TLSFailed,
    WebhookError,
    WebhookTimeout,
)

__all__ = ["map_client_errors", "mapping_for", "translate_error"]

# Foreign error class -> (our class, fixed message). Looked up along the raised error's MRO, so
# the most specific entry wins. Messages are fixed text: a foreign message may quote a URL with
# its query string or, for some header errors, a header value.
_ERRORS: dict[type[BaseException], tuple[type[CallFailed], str]] = {
    aiohttp.ClientConnectorCertificateError: (TLSFailed, "certificate not valid for the host"),
    aiohttp.ClientSSLError: (TLSFailed, "TLS handshake failed"),
    aiohttp.ServerFingerprintMismatch: (TLSFailed, "certificate fingerprint mismatch"),
    ssl.SSLError: (TLSFailed, "TLS failure"),
    ssl.CertificateError: (TLSFailed, "certificate not valid for the host"),
    aiohttp.ClientConnectorDNSError: (ConnectionFailed, "the host name could not be resolved"),
    aiohttp.ClientProxyConnectionError: (ConnectionFailed, "could not connect (proxy)"),
    aiohttp.ClientConnectorError: (ConnectionFailed, "could not connect"),
    aiohttp.ClientConnectionResetError: (ConnectionFailed, "connection reset by the webhook"),
    aiohttp.ServerDisconnectedError: (ConnectionFailed, "the webhook closed the connection"),
    aiohttp.ServerConnectionError: (ConnectionFailed, "connection to the webhook failed"),
    aiohttp.ClientOSError: (ConnectionFailed, "connection to the webhook failed"),
    aiohttp.ClientConnectionError: (ConnectionFailed, "connection to the webhook failed"),
    aiohttp.UploadAbortedError: (ConnectionFailed, "the request body could not be sent"),
    aiohttp.ClientResponseError: (InvalidResponse, "the answer could not be read as HTTP"),
    aiohttp.ClientPayloadError: (InvalidResponse, "the response body could not be read"),
    aiohttp.RedirectClientError: (InvalidResponse, "invalid redirect"),
    aiohttp.NonHttpUrlClientError: (InvalidURL, "not an HTTP URL"),
    aiohttp.InvalidURL: (InvalidURL, "rejected by the HTTP client"),
    aiohttp.WSMessageTypeError: (InvalidResponse, "unexpected message type"),
    # The root last: an aiohttp error class this table does not know yet still maps (the tests
    # insist that every class aiohttp has today matches a more specific entry).
    aiohttp.ClientError: (ConnectionFailed, "the webhook call failed"),
    ConnectionError: (ConnectionFailed, "connection to the webhook failed"),
    OSError: (ConnectionFailed, "connection to the webhook failed"),
}


def mapping_for(error_class: type[BaseException]) -> type[BaseException] | None:
    """The entry of the translation table that ``error_class`` matches, if any."""
    for klass in error_class.__mro__:
        if klass in _ERRORS:
            return klass
    return None


def translate_error(exc: BaseException) -> CallFailed | None:
    """Our error for a foreign one, or ``None`` when it is not a call failure we know."""
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError and aiohttp's timeout errors
        return WebhookTimeout("the webhook did not answer within its timeout")
    klass = mapping_for(type(exc))
    if klass is None:
        return None
    error_class, message = _ERRORS[klass]
    if error_class is InvalidURL:
        return InvalidURL(message)
    os_errno = getattr(exc, "errno", None)
    if error_class is ConnectionFailed and isinstance(os_errno, int):
        message = f"{message} ({errno.errorcode.get(os_errno, os_errno)})"
    return error_class(f"{message} [{type(exc).__name__}]")


class map_client_errors:
    """Translate aiohttp, ssl, socket and timeout errors into the tree, ``raise ... from exc``.

    Errors already in the tree (a :class:`DestinationBlocked` from the resolver) pass unchanged.
    A class rather than ``@contextmanager``: the call path enters it once per call, and a
    generator-based manager costs a generator and two frames each time.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, WebhookError) or not isinstance(exc, Exception):
            return
        mapped = translate_error(exc)
        if mapped is not None:
            raise mapped from exc
