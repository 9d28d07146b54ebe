"""The platform API address a connector talks to, checked once when Rasa starts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from rasa.shared.exceptions import RasaException

LOOPBACK_NAMES = frozenset({"localhost"})


def api_url(value: object, *, default: str, setting: str) -> str:
    """``value`` (the channel's ``api_url`` credential) as a base URL without a trailing
    slash, or ``default`` when it is unset.

    https anywhere, or http to a loopback address (a self-hosted API server beside Rasa): a
    token sent in clear over a network is a token given away.
    """
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise RasaException(f"{setting}: give the API's address as a URL")
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise RasaException(f"{setting}: give the API's address as an https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise RasaException(f"{setting}: the API's address takes no query, fragment or login")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise RasaException(
            f"{setting}: plain http is allowed to a loopback address only; use https"
        )
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
