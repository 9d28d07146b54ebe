"""The URL rules a webhook URL must pass, at save time and again before every call.

The URL is parsed with :class:`yarl.URL`, the parser aiohttp itself uses, so the host checked here
is the host the client connects to. :func:`check_url` is synchronous and does no DNS; the
connection-time guard (:mod:`webhooks.egress._resolver`) checks what names resolve to. IP-literal
hosts never reach a resolver (aiohttp connects to them directly), so they are checked against the
address table here.

Refused: anything but ``https``; userinfo (``user:pass@``); whitespace, control characters and
backslashes anywhere; percent-encoded hosts and IPv6 zone ids; single-label names; local and
special-use names (``localhost``, ``*.local``, ``*.internal`` and :data:`BLOCKED_SUFFIXES`); a
trailing dot; numeric host spellings other than a canonical dotted-quad IPv4 address
(``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` are all still resolved by glibc); IPv6
literals carrying an IPv4 address; blocked IP literals; URLs longer than :data:`MAX_URL_LENGTH`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Callable

import yarl

from .._exceptions import DestinationBlocked, InvalidURL
from ._addresses import IPV4_TRANSLATED
from ._rules import EgressRules

__all__ = ["BLOCKED_SUFFIXES", "MAX_URL_LENGTH", "check_url", "url_checker"]

#: Longer URLs are refused (browsers and servers commonly cap near here).
MAX_URL_LENGTH = 2048

#: DNS names that are local, special-use (RFC 6761 and friends) or never delegated publicly.
#: A host equal to one of these, or ending in ``.`` plus one, is refused.
BLOCKED_SUFFIXES: tuple[str, ...] = (
    "localhost",
    "localdomain",
    "local",
    "internal",
    "intranet",
    "private",
    "lan",
    "home",
    "corp",
    "home.arpa",
    "arpa",
    "onion",
    "invalid",
    "test",
    "alt",
)

# The WHATWG URL standard treats a host whose last label is a number (decimal, 0x-hex or octal)
# as an IPv4 address, and so do inet_aton and glibc's resolver.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# After IDNA encoding (yarl does it) a label is letters, digits and inner hyphens.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_MAX_HOST_LENGTH = 253


def _bad_character(text: str) -> str | None:
    for char in text:
        if char == "\\":
            return "backslashes are not allowed"
        if char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Zs"}:
            return "whitespace and control characters are not allowed"
    return None


def _check_ipv6_literal(host: str, rules: EgressRules) -> None:
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError as exc:
        raise InvalidURL("not a valid IPv6 address literal") from exc
    if address.ipv4_mapped is not None or address in IPV4_TRANSLATED:
        raise InvalidURL("IPv6 literal carrying an IPv4 address: write the IPv4 address itself")
    reason = rules.blocked_reason(address)
    if reason is not None:
        raise DestinationBlocked(reason, address=str(address))


def _check_name(host: str, rules: EgressRules) -> None:
    if host.endswith("."):
        raise InvalidURL("a trailing dot in the host is not allowed")
    labels = host.split(".")
    if any(not label for label in labels):
        raise InvalidURL("the host has an empty label")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        if not _CANONICAL_IPV4.fullmatch(host):
            raise InvalidURL("numeric host spelling other than a canonical IPv4 address (a.b.c.d)")
        reason = rules.blocked_reason(ipaddress.IPv4Address(host))
        if reason is not None:
            raise DestinationBlocked(reason, address=host)
        return
    for suffix in BLOCKED_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            raise InvalidURL(f"local or special-use name (.{suffix}) is not allowed")
    if len(labels) < 2:
        raise InvalidURL("single-label host names are not allowed")
    if len(host) > _MAX_HOST_LENGTH:
        raise InvalidURL(f"the host is longer than {_MAX_HOST_LENGTH} characters")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidURL("the host is not a valid DNS name (letters, digits, inner hyphens)")


def check_url(url: str | yarl.URL, *, rules: EgressRules = EgressRules()) -> yarl.URL:
    """Apply the URL rules to ``url`` and return it parsed, as the client will use it.

    Raises :class:`InvalidURL` (``.reason``) when a rule is broken, and
    :class:`DestinationBlocked` (``.reason``, ``.address``) when the host is an IP literal in
    the address table. ``rules`` are the deployment's egress rules (default: none); its
    allowance only affects IP literals here. Messages never contain the URL itself (its query
    string may hold secrets).
    """
    raw = url if isinstance(url, str) else str(url)
    # The rules are a pure function of (URL, egress rules), so a URL that passed may be answered
    # from a small cache; refusals are never cached (lru_cache does not keep exceptions).
    return _check_url(raw, rules)


def url_checker(*, rules: EgressRules = EgressRules()) -> Callable[[str], yarl.URL]:
    """:func:`check_url` bound to one set of egress rules, with its own cache of URLs that passed.

    For a client that checks the same few URLs at every call: the cache is keyed by the URL text
    alone (the rules are fixed), so a hit costs one dictionary lookup instead of hashing the
    rules again. Refusals are never cached.
    """

    @functools.lru_cache(maxsize=1024)
    def check(raw: str) -> yarl.URL:
        return _apply_rules(raw, rules)

    return check


def _apply_rules(raw: str, rules: EgressRules) -> yarl.URL:
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    bad = _bad_character(raw)
    if bad is not None:
        raise InvalidURL(bad)
    scheme, separator, rest = raw.partition("://")
    if not separator or scheme.lower() != "https":
        raise InvalidURL("only https:// URLs are allowed")
    # The authority as written, before any normalisation could hide what it contained.
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        raise InvalidURL("credentials in the URL (user:pass@) are not allowed")
    if "%" in authority:
        raise InvalidURL("percent-encoded hosts and IPv6 zone ids are not allowed")
    if not authority:
        raise InvalidURL("the URL has no host")
    try:
        parsed = yarl.URL(raw)
        host = parsed.raw_host
        port = parsed.port
    except (ValueError, TypeError, UnicodeError) as exc:
        raise InvalidURL("not a valid URL") from exc
    if parsed.scheme != "https" or parsed.raw_user is not None or parsed.raw_password is not None:
        raise InvalidURL("only https:// URLs without credentials are allowed")
    if not host:
        raise InvalidURL("the URL has no host")
    if port is None or not 0 < port < 65536:
        raise InvalidURL("the port must be between 1 and 65535")
    # yarl reads "[v1.fe]" (an IPvFuture literal) as the name "v1.fe": brackets mean IPv6 only.
    if ":" in host or authority.startswith("["):
        _check_ipv6_literal(host, rules)
    else:
        _check_name(host, rules)
    return parsed


_check_url = functools.lru_cache(maxsize=1024)(_apply_rules)
