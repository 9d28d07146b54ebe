"""Key rotation without losing a value: the store's side of the keyring (``store.keys``).

The steps an operator takes: put a new key first (every process reads a changed key file
within a second; processes given ``WEBHOOKS_KEYS`` are restarted with the new list), run
``keys rotate`` (every value another key encrypted is encrypted again with the newest, which
the store records as the newest), then ``keys retire KEY_ID`` for the old key (refused while
any value still needs it; recorded, so nobody writes with it again). No order of these steps
can lose a value: a process whose keys lack the recorded newest key, or whose first key is
retired, refuses to write a header value (:class:`KeyOutdated`) instead of encrypting it with
a key that is about to go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .._exceptions import KeyMismatch, KeyOutdated, KeyringError
from . import _schema as db
from ._tables import Tables

__all__ = ["KeyUse", "Rotation"]

logger = logging.getLogger("webhooks.store")

NEWEST, OLDER, RETIRED = "newest", "older", "retired"
#: The tables of sealed values: header values and signing secrets, each with its key's id.
_SealedRows = Iterable[db.WebhookHeader | db.WebhookSigningSecret]
_SEALED: tuple[type[db.WebhookHeader] | type[db.WebhookSigningSecret], ...] = (
    db.WebhookHeader,
    db.WebhookSigningSecret,
)
#: A key's use: (key id or None for values written before ids were recorded, values).
KeyUse = tuple[str | None, int]


class Rotation:
    """The store's key operations: checks at start-up and at writes, rotate, retire. The parts
    that seal a value ask :meth:`check_writing` first."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def verify(self) -> None:
        """Raise :class:`KeyMismatch` now if any stored value cannot be decrypted.

        The start-up check: every value records which key encrypted it, so one query finds
        values whose key is not configured, and one value per key is decrypted to prove the
        configured key is really that one. Values older than that record are all decrypted.
        """
        with self._tables.read() as session:
            for table in _SEALED:
                used = set(session.scalars(select(table.key_id).distinct()))
                unknown = {key for key in used if key is not None} - set(self._tables.keyring.ids)
                if unknown:
                    raise KeyMismatch(
                        f"{len(unknown)} key(s) that encrypted stored header values or signing "
                        "secrets are not configured (was a key removed before `keys rotate`?)"
                    )
                for key in used:
                    query = select(table.value_encrypted).where(
                        table.key_id.is_(None) if key is None else table.key_id == key
                    )
                    for sealed in session.scalars(query if key is None else query.limit(1)):
                        self._tables.keyring.decrypt(sealed)

    def check_writing(self, session: Session) -> None:
        """Raise :class:`KeyOutdated` when writing a value with this process's first key
        could lose it later."""
        ids = self._tables.keyring.ids
        rows = session.connection().execute(select(db.EncryptionKey.key_id, db.EncryptionKey.state))
        states = {key: state for key, state in rows}
        if states.get(ids[0]) == RETIRED:
            raise KeyOutdated(
                f"this process encrypts with key {ids[0]}, which was retired: give it the "
                "current key list (newest first) and restart it if it reads WEBHOOKS_KEYS"
            )
        newest = next((key for key, state in states.items() if state == NEWEST), None)
        if newest is not None and newest not in ids:
            raise KeyOutdated(
                f"this process lacks key {newest}, the newest since the last `keys rotate`: "
                "give it the current key list (newest first) and restart it if it reads "
                "WEBHOOKS_KEYS"
            )

    def usage(self) -> list[KeyUse]:
        """How many stored values (header values, signing secrets) each key encrypted (None:
        not recorded, pre-0003)."""
        counts: dict[str | None, int] = {}
        with self._tables.read() as session:
            for table in _SEALED:
                rows = session.execute(select(table.key_id, func.count()).group_by(table.key_id))
                for key, count in rows:
                    counts[key] = counts.get(key, 0) + int(count)
        return list(counts.items())

    def rotate(self) -> int:
        """Re-encrypt with the first key every stored header value another key (or an
        unrecorded one) encrypted; record that key as the newest; returns how many.

        The tenants whose values changed get a new version, so action servers read their
        definitions again (their cached ciphertexts may need a key about to be retired).
        """
        newest = self._tables.keyring.ids[0]
        count = 0
        with self._tables.transaction() as session:
            self.check_writing(session)
            webhooks: set[int] = set()
            for table in _SEALED:
                stale = select(table).where((table.key_id != newest) | table.key_id.is_(None))
                rows = cast(_SealedRows, session.scalars(stale))
                for sealed in rows:
                    sealed.value_encrypted = self._tables.keyring.rotate(sealed.value_encrypted)
                    sealed.key_id = newest
                    webhooks.add(sealed.webhook_id)
                    count += 1
            if webhooks:
                tenants = select(db.Webhook.tenant_id).where(db.Webhook.id.in_(webhooks))
                session.execute(
                    update(db.Tenant)
                    .where(db.Tenant.id.in_(tenants))
                    .values(version=db.Tenant.version + 1)
                )
            session.execute(
                update(db.EncryptionKey)
                .where(db.EncryptionKey.state == NEWEST, db.EncryptionKey.key_id != newest)
                .values(state=OLDER, changed_at=datetime.now(UTC))
            )
            self._record(session, newest, NEWEST)
        logger.info("re-encrypted %s stored secret(s) with the newest key", count)
        return count

    def retire(self, key_id: str) -> None:
        """Record ``key_id`` as retired: no value may be written with it from now on.

        Refused (:class:`KeyringError`) for the key this process encrypts with, and while any
        stored value was encrypted with it, or with a key not recorded (run ``keys rotate``).
        """
        if key_id == self._tables.keyring.ids[0]:
            raise KeyringError(
                f"key {key_id} is the first, the one that encrypts: put a new key first and "
                "run `keys rotate` before retiring it"
            )
        with self._tables.transaction() as session:
            using = sum(
                session.scalar(
                    select(func.count()).where((table.key_id == key_id) | table.key_id.is_(None))
                )
                or 0
                for table in _SEALED
            )
            if using:
                raise KeyringError(
                    f"{using} stored secret(s) may still need key {key_id}: run `keys rotate` first"
                )
            self._record(session, key_id, RETIRED)

    @staticmethod
    def _record(session: Session, key_id: str, state: str) -> None:
        row = session.get(db.EncryptionKey, key_id)
        if row is None:
            session.add(db.EncryptionKey(key_id=key_id, state=state, changed_at=datetime.now(UTC)))
        else:
            row.state, row.changed_at = state, datetime.now(UTC)
