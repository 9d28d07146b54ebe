"""The connection-time guard: a resolver that refuses blocked answers before any connection.

aiohttp's :class:`~aiohttp.TCPConnector` asks its resolver for the addresses of a host each time
it opens a connection (the egress turns the connector's DNS cache off), then connects to exactly
the addresses returned while TLS still verifies the certificate against the host name (SNI).
:class:`GuardedResolver` sits in that hook: it asks an inner resolver, refuses the whole answer if
*any* address in it is blocked (a mixed answer is how rebinding attacks hedge), and returns only
addresses it checked. So a name that resolved to a public address when it was saved and to a
private one at call time is refused before a byte is sent.
"""

from __future__ import annotations

import logging
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from .._exceptions import DestinationBlocked
from ._rules import EgressRules

__all__ = ["GuardedResolver"]

logger = logging.getLogger("webhooks.egress")


class GuardedResolver(AbstractResolver):
    """Resolve with ``inner`` (default: the system resolver) and refuse blocked answers.

    ``rules`` are the deployment's egress rules (default: none), which judge each address.
    Raises :class:`DestinationBlocked` (not an
    :class:`OSError`, so aiohttp lets it through unchanged) when any resolved address is blocked,
    and :class:`OSError` when the name has no address.
    """

    def __init__(
        self, *, rules: EgressRules = EgressRules(), inner: AbstractResolver | None = None
    ) -> None:
        self._rules = rules
        self._inner = inner
        self._owns_inner = inner is None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Return the checked addresses of ``host``; refuse if any of them is blocked."""
        if self._inner is None:
            # Created here, not in __init__: ThreadedResolver binds the running loop.
            self._inner = ThreadedResolver()
        answers = await self._inner.resolve(host, port, family)
        if not answers:
            raise OSError(f"no address found for {host}")
        for answer in answers:
            reason = self._rules.blocked_reason(answer["host"])
            if reason is not None:
                logger.warning(
                    "webhook host %s resolved to blocked address %s (%s): refused",
                    host,
                    answer["host"],
                    reason,
                )
                raise DestinationBlocked(
                    f"{host} resolves to {reason}", address=answer["host"], resolved=True
                )
        return answers

    async def close(self) -> None:
        """Close the inner resolver if this resolver made it."""
        if self._owns_inner and self._inner is not None:
            await self._inner.close()
