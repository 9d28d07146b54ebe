"""Encryption of header values at rest: Fernet keys as an ordered, rotatable list.

The first key encrypts; every key decrypts (``cryptography``'s ``MultiFernet``), so a new key is
put first, ``rotate`` re-encrypts every stored value with it, and the old key is then dropped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .._exceptions import KeyMismatch, KeyringError

__all__ = ["Keyring", "generate_key", "key_id", "read_key_file", "write_key_file"]

logger = logging.getLogger("webhooks.keys")


def key_id(key: str) -> str:
    """A fingerprint of ``key``: 16 hex digits of its SHA-256 (reveals nothing of the key)."""
    return hashlib.sha256(key.encode("ascii", "replace")).hexdigest()[:16]


def generate_key() -> str:
    """A new random Fernet key (URL-safe base64 of 32 bytes)."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """Encrypts with the first key, decrypts with any. Its repr never shows a key.

    Made :meth:`from_file`, it follows the file: at most once every ``reload_after`` seconds
    it looks whether the file changed and, if so, reads it again, so a key put first by an
    operator is used by every running process without a restart (a file that does not read
    as keys is ignored, with a warning, until it does).
    """

    __slots__ = ("_checked", "_count", "_fernet", "_ids", "_reload_after", "_source", "_stamp")

    def __init__(self, keys: Sequence[str]) -> None:
        self._source: Path | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._reload_after = 1.0
        self._use(keys)

    def _use(self, keys: Sequence[str]) -> None:
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
        self._ids = tuple(key_id(key) for key in keys)

    @property
    def ids(self) -> tuple[str, ...]:
        """A short public fingerprint of each key, in order; ``ids[0]`` is the encrypting
        key's. Stored beside each value, it lets a start-up check find values no key can open
        without decrypting them all."""
        self._follow()
        return self._ids

    def __repr__(self) -> str:
        return f"<Keyring with {self._count} key(s)>"

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False, reload_after: float = 1.0) -> Keyring:
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
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True)
                path.parent.chmod(0o700)  # a secret's own folder; mkdir's mode the umask cuts
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(generate_key() + "\n")
        stamp = _stamp(path)
        keyring = cls(read_key_file(path))
        keyring._source, keyring._stamp = path, stamp
        keyring._reload_after = reload_after
        keyring._checked = time.monotonic()
        return keyring

    def _follow(self) -> None:
        """Read the key file again if it changed (checked at most every ``reload_after``)."""
        if self._source is None:
            return
        now = time.monotonic()
        if now - self._checked < self._reload_after:
            return
        self._checked = now
        try:
            stamp = _stamp(self._source)
            if stamp == self._stamp:
                return
            keys = read_key_file(self._source)
            previous = self._ids
            self._use(keys)
        except (OSError, UnicodeDecodeError, KeyringError) as exc:
            logger.warning(
                "key file %s changed but cannot be used (%s); keeping the keys read before",
                self._source,
                type(exc).__name__,
            )
            return
        self._stamp = stamp
        if self._ids != previous:
            logger.info("key file %s read again: %s key(s)", self._source, self._count)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the first key."""
        self._follow()
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def seal(self, plaintext: str) -> tuple[str, str]:
        """Encrypt with the first key; the token and that key's id, from one reading of the
        key file (so the id recorded beside a value is the key that made it)."""
        self._follow()
        token = self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")
        return token, self._ids[0]

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever key made ``token``; :class:`KeyMismatch` if none did."""
        self._follow()
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise KeyMismatch(
                "a stored header value cannot be decrypted with the configured keys "
                "(was a key removed before `keys rotate`?)"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the first key."""
        self._follow()
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise KeyMismatch(
                "a stored header value cannot be decrypted with the configured keys"
            ) from exc


def _stamp(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_ino, info.st_size, info.st_mtime_ns


def read_key_file(path: Path) -> list[str]:
    """The keys of a key file, in order: one per line, blank lines and ``#`` comments skipped."""
    lines = path.read_text(encoding="ascii").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def write_key_file(path: Path, keys: Sequence[str]) -> None:
    """Replace the key file with ``keys`` at once (0600 from the start; never half-written)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("".join(f"{key}\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
