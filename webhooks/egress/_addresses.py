"""The address table: which IP addresses a webhook may never reach, and why.

An explicit table of IPv4 and IPv6 special-purpose ranges (after the IANA special-purpose
registries), not :attr:`ipaddress.IPv4Address.is_global` alone: on Python 3.11 that property calls
multicast, NAT64 ``64:ff9b::/96``, IPv4-compatible ``::/96``, ``fec0::/10`` and 192.88.99.0/24
global, and treats CGNAT 100.64/10 (Alibaba Cloud's metadata 100.100.100.200) as neither private
nor global. ``is_global`` is still consulted as a second opinion, so a range a newer Python learns
about is refused too.

IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:0:0/96``, the IPv4-translated
``::ffff:0:0:0/96`` of SIIT) are unwrapped and checked as the IPv4 address they reach.

An *allowance* is a short tuple of networks let through anyway, held by the deployment's
:class:`~webhooks.egress._rules.EgressRules` (tests allow ``127.0.0.1/32`` to reach their local
server). The default allows nothing; there is no global switch.
"""

from __future__ import annotations

import ipaddress
from typing import TypeAlias

__all__ = [
    "BLOCKED_NETWORKS",
    "IPV4_TRANSLATED",
    "Address",
    "Network",
    "blocked_reason",
    "parse_address",
]

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_N = ipaddress.ip_network

#: Every blocked range with the reason shown to operators. Order matters only for the reason
#: reported: the most specific entry comes first where ranges nest.
BLOCKED_NETWORKS: tuple[tuple[Network, str], ...] = (
    # IPv4 (RFC 6890 and the IANA IPv4 special-purpose registry).
    (_N("0.0.0.0/8"), '"this network" / unspecified (0.0.0.0/8)'),
    (_N("10.0.0.0/8"), "private network (RFC 1918, 10.0.0.0/8)"),
    (_N("100.64.0.0/10"), "carrier-grade NAT / shared address space (100.64.0.0/10)"),
    (_N("127.0.0.0/8"), "loopback (127.0.0.0/8)"),
    (_N("169.254.169.254/32"), "cloud metadata service (169.254.169.254)"),
    (_N("169.254.0.0/16"), "link-local (169.254.0.0/16)"),
    (_N("172.16.0.0/12"), "private network (RFC 1918, 172.16.0.0/12)"),
    (_N("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"),
    (_N("192.0.2.0/24"), "documentation (TEST-NET-1, 192.0.2.0/24)"),
    (_N("192.31.196.0/24"), "AS112 anycast (192.31.196.0/24)"),
    (_N("192.52.193.0/24"), "AMT anycast (192.52.193.0/24)"),
    (_N("192.88.99.0/24"), "deprecated 6to4 relay anycast (192.88.99.0/24)"),
    (_N("192.168.0.0/16"), "private network (RFC 1918, 192.168.0.0/16)"),
    (_N("192.175.48.0/24"), "AS112 direct delegation (192.175.48.0/24)"),
    (_N("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"),
    (_N("198.51.100.0/24"), "documentation (TEST-NET-2, 198.51.100.0/24)"),
    (_N("203.0.113.0/24"), "documentation (TEST-NET-3, 203.0.113.0/24)"),
    (_N("224.0.0.0/4"), "multicast (224.0.0.0/4)"),
    (_N("255.255.255.255/32"), "limited broadcast (255.255.255.255)"),
    (_N("240.0.0.0/4"), "reserved (240.0.0.0/4)"),
    # IPv6 (RFC 6890 and the IANA IPv6 special-purpose registry).
    (_N("::/128"), "unspecified (::)"),
    (_N("::1/128"), "loopback (::1)"),
    (_N("::/96"), "deprecated IPv4-compatible IPv6 (::/96)"),
    (_N("64:ff9b::/96"), "NAT64 well-known prefix (64:ff9b::/96)"),
    (_N("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"),
    (_N("100::/64"), "discard-only (100::/64)"),
    (_N("2001::/32"), "Teredo tunnelling (2001::/32)"),
    (_N("2001:2::/48"), "benchmarking (2001:2::/48)"),
    (_N("2001:10::/28"), "deprecated ORCHID (2001:10::/28)"),
    (_N("2001:20::/28"), "ORCHIDv2 (2001:20::/28)"),
    (_N("2001:db8::/32"), "documentation (2001:db8::/32)"),
    (_N("2002::/16"), "6to4 (2002::/16)"),
    (_N("3fff::/20"), "documentation (3fff::/20)"),
    (_N("5f00::/16"), "segment routing SIDs (5f00::/16)"),
    (_N("fc00::/7"), "unique local address (fc00::/7)"),
    (_N("fe80::/10"), "link-local (fe80::/10)"),
    (_N("fec0::/10"), "deprecated site-local (fec0::/10)"),
    (_N("ff00::/8"), "multicast (ff00::/8)"),
    # Everything outside 2000::/3 is unallocated global unicast space today.
    (_N("::/3"), "reserved IPv6 space outside 2000::/3 (::/3)"),
    (_N("4000::/2"), "reserved IPv6 space outside 2000::/3 (4000::/2)"),
    (_N("8000::/1"), "reserved IPv6 space outside 2000::/3 (8000::/1)"),
)

#: The IPv4-translated form of SIIT (``::ffff:0:a.b.c.d``): like IPv4-mapped (``::ffff:0:0/96``,
#: which :attr:`~ipaddress.IPv6Address.ipv4_mapped` recognises), its low 32 bits are the IPv4
#: address the packet really goes to.
IPV4_TRANSLATED = _N("::ffff:0:0:0/96")


def parse_address(text: str) -> Address:
    """Parse an IP address as a resolver or socket reports it (an IPv6 zone id is kept).

    Raises :class:`ValueError` for anything that is not an IP address.
    """
    return ipaddress.ip_address(text)


def _unwrap(address: Address) -> Address:
    """The IPv4 address an IPv4-mapped or IPv4-translated IPv6 address reaches, else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in IPV4_TRANSLATED:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _allowed(address: Address, allow: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in allow)


def blocked_reason(address: Address | str, *, allow: tuple[Network, ...] = ()) -> str | None:
    """Why a webhook may not reach ``address``, or ``None`` when it may.

    ``address`` may be text as a resolver returns it; text that is not an IP address is itself a
    reason to refuse. IPv4-mapped and IPv4-translated IPv6 addresses are judged as the IPv4
    address they reach; a zone id (``fe80::1%eth0``) is ignored for the range test. ``allow`` is
    the allowance of the deployment's :class:`~webhooks.egress._rules.EgressRules` (which the
    layers above ask instead): an address inside one of its networks is allowed whatever the
    table says.
    """
    if isinstance(address, str):
        try:
            address = parse_address(address)
        except ValueError:
            return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # A zone id only qualifies a link-scoped address; judge the address itself.
        address = ipaddress.IPv6Address(int(address))
    effective = _unwrap(address)
    if _allowed(effective, allow):
        return None
    for network, reason in BLOCKED_NETWORKS:
        if effective.version == network.version and effective in network:
            if effective is not address:
                return f"IPv6 form of {effective}: {reason}"
            return reason
    # Second opinion: anything Python knows to be non-global that the table missed.
    if not effective.is_global:
        return "not a globally routable address"
    return None
