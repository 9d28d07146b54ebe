"""Encryption of header values: round trip, rotation, clear errors for bad keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from webhooks import KeyMismatch, Keyring, KeyringError, generate_key


def test_round_trip() -> None:
    keyring = Keyring([generate_key()])
    token = keyring.encrypt("Bearer s3cret")
    assert "s3cret" not in token
    assert keyring.decrypt(token) == "Bearer s3cret"


def test_old_keys_still_decrypt_and_rotate_moves_to_the_first_key() -> None:
    old, new = generate_key(), generate_key()
    token = Keyring([old]).encrypt("value")
    both = Keyring([new, old])
    assert both.decrypt(token) == "value"
    rotated = both.rotate(token)
    assert Keyring([new]).decrypt(rotated) == "value"
    with pytest.raises(KeyMismatch):
        Keyring([old]).decrypt(rotated)


def test_wrong_key_is_a_key_mismatch_not_a_crash() -> None:
    token = Keyring([generate_key()]).encrypt("plaintext-canary")
    with pytest.raises(KeyMismatch) as caught:
        Keyring([generate_key()]).decrypt(token)
    assert "canary" not in str(caught.value)


def test_no_key_is_a_clear_error() -> None:
    with pytest.raises(KeyringError, match="WEBHOOKS_KEYS"):
        Keyring([])


def test_malformed_key_is_reported_by_position_without_echoing_it() -> None:
    with pytest.raises(KeyringError) as caught:
        Keyring([generate_key(), "not-a-fernet-key"])
    assert "#2" in str(caught.value)
    assert "not-a-fernet-key" not in str(caught.value)


def test_repr_never_shows_a_key() -> None:
    key = generate_key()
    assert key not in repr(Keyring([key]))


def test_key_file_is_created_with_owner_only_rights(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "webhooks.key"
    umask = os.umask(0)  # the most permissive: the modes must not depend on the caller's
    try:
        keyring = Keyring.from_file(path, create=True)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700  # a folder it made
    again = Keyring.from_file(path)
    assert again.decrypt(keyring.encrypt("x")) == "x"


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        Keyring.from_file(tmp_path / "absent.key")
