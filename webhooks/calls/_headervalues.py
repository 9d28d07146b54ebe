"""The decrypted secrets of the definitions a server has called, kept in memory: header
values and the signer of the signing secrets."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..egress._signing import Signer
from ..store._records import Webhook
from ..store._store import Store

__all__ = ["HeaderValues"]


class HeaderValues:
    """Each definition's header values and signer, made on its first call: Fernet costs more
    than the rest of a call's own work. Kept by the definition object itself, so a refreshed
    definition (a new object) is decrypted afresh; in memory only, never logged."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._tenants: dict[str, dict[str, tuple[Webhook, Mapping[str, str], Signer | None]]] = {}

    def _secrets(self, webhook: Webhook) -> tuple[Webhook, Mapping[str, str], Signer | None]:
        known = self._tenants.get(webhook.tenant)
        if known is None:
            known = self._tenants[webhook.tenant] = {}
        cached = known.get(webhook.name)
        if cached is not None and cached[0] is webhook:
            return cached
        values = MappingProxyType(self._store.catalog.headers_for(webhook))
        cached = known[webhook.name] = (webhook, values, self._store.signing.signer_for(webhook))
        return cached

    def for_call(self, webhook: Webhook) -> tuple[Mapping[str, str], Signer | None]:
        """``webhook``'s decrypted header values and its signer (``None``: no signing
        secret), in one lookup: what a call needs."""
        _, values, signer = self._secrets(webhook)
        return values, signer

    def of(self, webhook: Webhook) -> Mapping[str, str]:
        """``webhook``'s decrypted header values."""
        return self._secrets(webhook)[1]

    def forget(self, tenant: str) -> None:
        """Drop ``tenant``'s values (its definitions changed or are gone)."""
        self._tenants.pop(tenant, None)
