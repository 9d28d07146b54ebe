"""The decrypted header values of the definitions a server has called, kept in memory."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._records import Webhook
from ._store import Store

__all__ = ["HeaderValues"]


class HeaderValues:
    """Each definition's header values, decrypted on its first call: Fernet costs more than the
    rest of a call's own work. Kept by the definition object itself, so a refreshed definition
    (a new object) is decrypted afresh; in memory only, never logged."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._tenants: dict[str, dict[str, tuple[Webhook, Mapping[str, str]]]] = {}

    def of(self, webhook: Webhook) -> Mapping[str, str]:
        known = self._tenants.get(webhook.tenant)
        if known is None:
            known = self._tenants[webhook.tenant] = {}
        cached = known.get(webhook.name)
        if cached is not None and cached[0] is webhook:
            return cached[1]
        values = MappingProxyType(self._store.headers_for(webhook))
        known[webhook.name] = (webhook, values)
        return values

    def forget(self, tenant: str) -> None:
        """Drop ``tenant``'s values (its definitions changed or are gone)."""
        self._tenants.pop(tenant, None)
