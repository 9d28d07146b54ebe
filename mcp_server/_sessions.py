"""MCP sessions any replica recognises without asking the store.

A session id is a random nonce and a MAC of it, keyed by the tenant's tools-token digest: every
replica can check one (the digest is in its cache), a new token ends the sessions of the old
one, and a made-up id is refused. The id is no credential (every request also needs the token);
its nonce names the session's count of calls in the store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["new_session", "session_key", "session_valid"]

_MAC_CHARS = 32


def _mac(tenant: str, digest: str, nonce: str) -> str:
    message = f"{tenant}\n{nonce}".encode()
    return hmac.new(digest.encode("ascii"), message, hashlib.sha256).hexdigest()[:_MAC_CHARS]


def new_session(tenant: str, digest: str) -> str:
    """A new session id for ``tenant`` while its tools token has ``digest``."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(tenant, digest, nonce)}"


def session_valid(session: str, tenant: str, digest: str) -> bool:
    """Whether ``session`` was issued for ``tenant`` under the token with ``digest``."""
    nonce, _, mac = session.partition(".")
    if not nonce or len(mac) != _MAC_CHARS or not session.isascii():
        return False
    return hmac.compare_digest(mac, _mac(tenant, digest, nonce))


def session_key(session: str) -> str:
    """The session's key in the store's call counts. A Rasa conversation's key ends in
    ``:<seconds>.<microseconds>``; a nonce has no dot, so no conversation has this key."""
    return "mcp:" + session.partition(".")[0]
