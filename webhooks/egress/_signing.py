"""Signed calls, as the Standard Webhooks specification has them.

An action may have signing secrets (at most :data:`MAX_SIGNING_SECRETS`: the current one and,
during a rotation, the one it replaces). Each is 32 random bytes, shown to the operator once
in the ``whsec_<base64>`` form receivers' libraries take, and stored encrypted like header
values. Every call of an action with a secret carries:

- ``webhook-id``: the call's id (``msg_`` and 32 hex digits), unique per call and the same on
  its retries, so a receiver can drop a repeat;
- ``webhook-timestamp``: the attempt's time, in whole seconds since the epoch;
- ``webhook-signature``: ``v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<payload>")>``
  for each secret, separated by spaces.

The payload is the request body as sent for POST and, for GET (no body), the query string
as sent, without its ``?`` (empty when there is none): the parameters are what a receiver
must be able to trust.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence

__all__ = [
    "MAX_SIGNING_SECRETS",
    "SECRET_PREFIX",
    "Signer",
    "new_message_id",
    "new_secret",
    "new_secret_id",
    "secret_key",
]

#: Signing secrets an action may have at once: the current one and the one it replaces.
MAX_SIGNING_SECRETS = 2
#: The prefix receivers' libraries expect before the base64 of the key.
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
#: Bytes of a new key (the specification asks for 24 to 64).
SECRET_BYTES = 32


def new_secret() -> str:
    """A new signing secret in the ``whsec_<base64>`` form."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; ``ValueError`` for any other text."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("not a signing secret")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("not a signing secret") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("not a signing secret")
    return key


def new_secret_id() -> str:
    """A public id for a new secret: operators tell their secrets apart by it."""
    return "whs_" + os.urandom(6).hex()


def new_message_id() -> str:
    """A new call's ``webhook-id``."""
    return "msg_" + os.urandom(16).hex()


class Signer:
    """Signs with each of ``keys`` (raw key bytes); repr without them.

    One HMAC state per key is made here and copied at each signature: the key's padding is
    hashed once, not at every call.
    """

    __slots__ = ("_states",)

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a Signer needs at least one key")
        self._states = tuple(hmac.new(key, digestmod=hashlib.sha256) for key in keys)

    def __repr__(self) -> str:
        return f"Signer(<{len(self._states)} keys hidden>)"

    def signature(self, message_id: str, timestamp: int, payload: bytes) -> str:
        """The ``webhook-signature`` value of one attempt."""
        prefix = f"{message_id}.{timestamp}.".encode()
        signatures = []
        for state in self._states:
            mac = state.copy()
            mac.update(prefix)
            mac.update(payload)
            signatures.append("v1," + base64.b64encode(mac.digest()).decode("ascii"))
        return " ".join(signatures)
