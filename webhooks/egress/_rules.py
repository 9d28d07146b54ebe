"""The deployment's egress rules: one frozen object, made at start-up and passed to every layer.

The URL rules (``_urls``) and the address table (``_addresses``) are the same for every
deployment. What a deployment may change about them lives in :class:`EgressRules`, and only
there: definitions, the store, the client, its resolver and ``check-url`` each take the one
object as ``rules=`` and ask it, so none of them names a single rule in its signature.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from . import _addresses
from ._addresses import Address, Network

__all__ = ["MIN_ALLOW_PREFIX", "EgressRules"]

#: The shortest prefix an allowance may have, per family: anything wider is a global switch.
MIN_ALLOW_PREFIX: dict[int, int] = {4: 8, 6: 48}


def _allowance(allow: tuple[Network | str, ...]) -> tuple[Network, ...]:
    """``allow`` as networks, each one checked; :class:`ValueError` for text that is not a
    network, or a network wider than :data:`MIN_ALLOW_PREFIX`."""
    networks: list[Network] = []
    for item in allow:
        network = item if not isinstance(item, str) else ipaddress.ip_network(item, strict=True)
        if network.prefixlen < MIN_ALLOW_PREFIX[network.version]:
            raise ValueError(
                f"allowance {network} is too broad: at most /{MIN_ALLOW_PREFIX[network.version]}"
            )
        networks.append(network)
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class EgressRules:
    """The deployment's egress rules: the one place that says what it changes about where
    webhooks may go. The default changes nothing: every private address stays blocked.

    Made once from the settings (``Settings.egress_rules``, read from the environment) and
    passed as ``rules=`` to :func:`~webhooks.egress._urls.check_url`,
    :class:`~webhooks.egress._resolver.GuardedResolver`, :class:`~webhooks.egress._egress.Egress`,
    the definitions and the store. Tests make their own: ``EgressRules.allowing("127.0.0.1/32")``.

    ``allow`` is the allowance: networks the address table blocks that webhooks may reach
    anyway (a developer's local demo service; the tests' servers on 127.0.0.1). Text is
    accepted and normalised; a network wider than /8 (IPv4) or /48 (IPv6) is refused with
    :class:`ValueError`, since it would be a global switch rather than an allowance.

    A new rule is a field here, with the default that changes nothing, checked in
    :meth:`__post_init__`; a method that judges by it, called where its kind of thing is judged
    (a URL in ``_urls``, a resolved address in ``_resolver``); and the variable that sets it,
    read in ``webhooks/_settings.py``. No signature between the settings and the check changes.
    """

    allow: tuple[Network, ...] = ()

    def __post_init__(self) -> None:
        # Frozen: normalised in place, once, so every check after reads ready networks.
        object.__setattr__(self, "allow", _allowance(self.allow))

    @classmethod
    def allowing(cls, *networks: Network | str) -> EgressRules:
        """Rules whose allowance is ``networks`` (``"127.0.0.1/32"`` or a network object)."""
        return cls(allow=_allowance(networks))

    def blocked_reason(self, address: Address | str) -> str | None:
        """Why a webhook may not reach ``address`` under these rules, or ``None`` when it may:
        the address table's verdict, unless the allowance covers the address."""
        return _addresses.blocked_reason(address, allow=self.allow)
