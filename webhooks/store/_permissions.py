"""Operator permissions.

``webhooks:read`` lists and views configurations (never header values); ``webhooks:manage``
creates, edits, deletes, enables/disables and tests, and includes read. Tenant admins switch the
skill and assign permissions; switching the skill on grants both webhook permissions to them.
Nothing is allowed while the tenant's skill is off.
"""

from __future__ import annotations

__all__ = ["MANAGE", "PERMISSIONS", "READ", "implied"]

READ = "webhooks:read"
MANAGE = "webhooks:manage"
PERMISSIONS = frozenset({READ, MANAGE})

_IMPLIES = {MANAGE: frozenset({MANAGE, READ}), READ: frozenset({READ})}


def implied(granted: frozenset[str]) -> frozenset[str]:
    """Every permission that ``granted`` gives, manage implying read."""
    result: frozenset[str] = frozenset()
    for permission in granted:
        result |= _IMPLIES.get(permission, frozenset())
    return result
