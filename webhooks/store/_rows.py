"""Webhook records from the store's rows: one builder for every reader of definitions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..definitions._definitions import Parameter
from ._records import SigningSecret, Webhook
from ._tables import utc

__all__ = ["WebhookRecords"]


class WebhookRecords:
    """Builds :class:`Webhook` records from a definition's stored columns.

    Equal values (strings, times, timeouts, and parameter lists given as their stored JSON
    text) are shared between the records one builder makes, so a snapshot of many definitions
    stays compact (bench actions). Records are read-only, so sharing them is safe; a builder
    keeps what it saw, so make one per read.
    """

    __slots__ = ("_floats", "_lists", "_strings", "_times")

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._floats: dict[float, float] = {}
        self._times: dict[datetime, datetime] = {}
        self._lists: dict[str, tuple[Parameter, ...]] = {}

    def text(self, value: str) -> str:
        """``value``, or the equal string this builder saw first."""
        return self._strings.setdefault(value, value)

    def signing_secret(self, secret_id: str, created_at: datetime, sealed: str) -> SigningSecret:
        """The record of one stored signing secret."""
        return SigningSecret(id=secret_id, created_at=self._time(created_at), sealed=sealed)

    def _time(self, moment: datetime) -> datetime:
        shared = self._times.get(moment)
        if shared is None:
            shared = self._times[moment] = utc(moment)
        return shared

    def _parameters(self, stored: str | list[dict[str, Any]]) -> tuple[Parameter, ...]:
        if not isinstance(stored, str):  # decoded already (an ORM row): nothing to share by
            return tuple(Parameter.stored(p) for p in stored)
        shared = self._lists.get(stored)
        if shared is None:
            shared = self._lists[stored] = tuple(Parameter.stored(p) for p in json.loads(stored))
        return shared

    def webhook(
        self,
        *,
        tenant: str,
        name: str,
        description: str,
        url: str,
        method: str,
        timeout: float,
        parameters: str | list[dict[str, Any]],
        examples: Iterable[str] | None,
        enabled: bool,
        revision: int,
        created_at: datetime,
        updated_at: datetime,
        calls_per_minute: int | None = None,
        replies: dict[str, str] | None = None,
        service_messages: bool = False,
        retry_post: bool = False,
        sealed_headers: Iterable[tuple[str, str]],
        signing_secrets: Iterable[SigningSecret] = (),
    ) -> Webhook:
        """The record of one stored definition; ``parameters`` as stored (JSON text or
        decoded), ``sealed_headers`` as (name, encrypted value) pairs, ``signing_secrets``
        newest first."""
        text = self._strings.setdefault
        return Webhook(
            tenant=tenant,
            name=text(name, name),
            description=text(description, description),
            url=text(url, url),
            method="GET" if method == "GET" else "POST",
            timeout=self._floats.setdefault(timeout, timeout),
            parameters=self._parameters(parameters),
            examples=tuple(examples or ()),
            enabled=enabled,
            revision=revision,
            created_at=self._time(created_at),
            updated_at=self._time(updated_at),
            calls_per_minute=calls_per_minute,
            replies=replies or {},
            service_messages=bool(service_messages),
            retry_post=bool(retry_post),
            sealed_headers=tuple(sealed_headers),
            signing_secrets=tuple(signing_secrets),
        )
