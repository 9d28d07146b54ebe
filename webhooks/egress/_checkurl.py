"""``python -m webhooks check-url URL``: would a webhook to URL be allowed, and why (not)?

Applies the URL rules, resolves the host with the same guard the client uses at connection time
(real DNS unless a resolver is passed) and prints the verdict with the reason.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import TextIO

from aiohttp.abc import AbstractResolver

from .._exceptions import CallFailed
from ._addresses import parse_address
from ._messages import safe_url
from ._resolver import GuardedResolver
from ._rules import EgressRules
from ._urls import check_url

__all__ = ["check_url_command"]


async def _resolve(host: str, port: int, guard: GuardedResolver) -> list[str]:
    try:
        answers = await guard.resolve(host, port, family=socket.AF_UNSPEC)
    finally:
        await guard.close()
    return sorted({answer["host"] for answer in answers})


def check_url_command(
    url: str,
    *,
    rules: EgressRules = EgressRules(),
    out: TextIO | None = None,
    resolver: AbstractResolver | None = None,
) -> int:
    """Print whether a webhook to ``url`` would be allowed; return 0 if so, 1 if refused.

    ``rules`` are the deployment's egress rules (``Settings.egress_rules``);
    ``resolver`` replaces the system resolver (tests). ``out`` defaults to standard output.
    The URL is printed without its query string.
    """
    stream = sys.stdout if out is None else out
    shown = safe_url(url)
    try:
        parsed = check_url(url, rules=rules)
    except CallFailed as exc:
        print(f"refused: {shown}\n  reason: {exc}", file=stream)
        return 1
    host = parsed.raw_host or ""
    try:
        parse_address(host)
    except ValueError:
        pass
    else:
        print(f"allowed: {shown}\n  reason: {host} is a public IP address", file=stream)
        return 0
    guard = GuardedResolver(rules=rules, inner=resolver)
    try:
        addresses = asyncio.run(_resolve(host, parsed.port or 443, guard))
    except CallFailed as exc:
        print(f"refused: {shown}\n  reason: {exc}", file=stream)
        return 1
    except OSError as exc:
        print(
            f"refused: {shown}\n  reason: the host name could not be resolved "
            f"({type(exc).__name__})",
            file=stream,
        )
        return 1
    print(
        f"allowed: {shown}\n  reason: {host} resolves only to allowed addresses: "
        f"{', '.join(addresses)}",
        file=stream,
    )
    return 0
