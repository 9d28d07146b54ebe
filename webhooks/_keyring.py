"""Encryption of header values at rest: Fernet keys as an ordered, rotatable list.

The first key encrypts; every key decrypts (``cryptography``'s ``MultiFernet``), so a new key is
put first, ``rotate`` re-encrypts every stored value with it, and the old key is then dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ._exceptions import KeyMismatch, KeyringError

__all__ = ["Keyring", "generate_key", "key_id"]


def key_id(key: str) -> str:
    """A fingerprint of ``key``: 16 hex digits of its SHA-256 (reveals nothing of the key)."""
    return hashlib.sha256(key.encode("ascii", "replace")).hexdigest()[:16]


def generate_key() -> str:
    """A new random Fernet key (URL-safe base64 of 32 bytes)."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """Encrypts with the first key, decrypts with any. Its repr never shows a key."""

    __slots__ = ("_count", "_fernet", "ids")

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise KeyringError(
                "no encryption key configured: set WEBHOOKS_KEYS or create WEBHOOKS_KEY_FILE "
                "(`python -m admin keys init`)",
                variable="WEBHOOKS_KEYS",
            )
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError) as exc:
                # Never echo the key itself; its position is enough to find it.
                raise KeyringError(
                    f"encryption key #{position} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes)",
                    variable="WEBHOOKS_KEYS",
                ) from exc
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)
        #: A short public fingerprint of each key, in order; ``ids[0]`` is the encrypting key's.
        #: Stored beside each value, it lets a start-up check find values no key can open
        #: without decrypting them all.
        self.ids: tuple[str, ...] = tuple(key_id(key) for key in keys)

    def __repr__(self) -> str:
        return f"<Keyring with {self._count} key(s)>"

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> Keyring:
        """Read one key per line (newest first); with ``create``, make the file if missing.

        A created file gets mode 0600 from the moment it exists.
        """
        if not path.exists():
            if not create:
                raise KeyringError(
                    f"no encryption key: {path} does not exist and WEBHOOKS_KEYS is empty; "
                    "create it with `python -m admin keys init`",
                    variable="WEBHOOKS_KEY_FILE",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(generate_key() + "\n")
        lines = path.read_text(encoding="ascii").splitlines()
        return cls([line.strip() for line in lines if line.strip() and not line.startswith("#")])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the first key."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever key made ``token``; :class:`KeyMismatch` if none did."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise KeyMismatch(
                "a stored header value cannot be decrypted with the configured keys "
                "(was a key removed before `keys rotate`?)"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise KeyMismatch(
                "a stored header value cannot be decrypted with the configured keys"
            ) from exc
