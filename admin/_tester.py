"""The Test call of the admin API: one guarded egress client per server process."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping

from webhooks import (
    CallFailed,
    ConnectionFailed,
    DestinationBlocked,
    Egress,
    HTTPStatusError,
    Settings,
    Signer,
    Value,
    Webhook,
    WebhookTestResult,
    WebhookTimeout,
    egress_for,
    redact,
)

__all__ = [
    "TESTS_PER_WINDOW",
    "TEST_WINDOW",
    "UNREACHABLE",
    "Tester",
    "answered_failure",
    "shown_failure",
]

logger = logging.getLogger("admin")

#: Tests one operator may make per :data:`TEST_WINDOW` seconds (each probes a host and port).
TESTS_PER_WINDOW = 20
TEST_WINDOW = 60.0


class Tester:
    """Sends the specification's Test request for a stored webhook, through the core's egress.

    The egress client is made on first use, inside the server's event loop, as every server
    makes it (:func:`webhooks.egress_for`: the deployment's egress rules and extra CA).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._egress: Egress | None = None

    @property
    def egress(self) -> Egress:
        """The egress client the Test calls go through (made on first use)."""
        if self._egress is None:
            self._egress = egress_for(self._settings)
        return self._egress

    async def test(
        self,
        webhook: Webhook,
        headers: Mapping[str, str],
        *,
        tenant: str,
        arguments: Mapping[str, Value] | None = None,
        signer: Signer | None = None,
    ) -> WebhookTestResult:
        """Send the Test request for ``webhook`` of ``tenant`` with its decrypted ``headers``
        and ``arguments`` (converted sample values; none by default), signed by ``signer``,
        as a call sends them.

        A non-2xx status is an outcome (not ``ok``: see :func:`answered_failure`); transport
        failures raise :class:`CallFailed`. A
        failure before a public server answered is raised when the webhook's timeout is over,
        however soon it came: a refused port (a few milliseconds) and a silent one (the whole
        timeout) then take the same time, as they already give the same answer.
        """
        started = time.monotonic()
        try:
            result = await self.egress.test(
                webhook.request(headers, arguments or {}, signer=signer),
                share=tenant,
            )
        except CallFailed as exc:
            if unreachable(exc):
                await asyncio.sleep(webhook.timeout - (time.monotonic() - started))
            raise
        # An endpoint that echoes the request would show the stored header values to whoever
        # can point the URL at it: the preview never contains them.
        preview = redact(result.preview, headers.values())
        return dataclasses.replace(result, preview=preview)

    async def aclose(self) -> None:
        if self._egress is not None:
            await self._egress.aclose()


#: The one answer for every failure before a public server answered (see shown_failure).
UNREACHABLE = (
    "no answer from a public HTTPS server at this host and port: the name does not resolve to "
    "a public address, the connection was refused, or nothing answered within the timeout"
)


def answered_failure(result: WebhookTestResult) -> tuple[str, str] | None:
    """None for a Test answered 2xx; else the category and message a call answered so fails
    with, as the core's :class:`HTTPStatusError` says (``rejected`` for 4xx, ``unavailable``
    for 5xx): a Test is ``ok`` only when a conversation's call would be."""
    if result.ok:
        return None
    failure = HTTPStatusError(result.status)
    return failure.category, str(failure)


def unreachable(exc: CallFailed) -> bool:
    """Whether ``exc`` failed before a public server answered (see shown_failure)."""
    return isinstance(exc, ConnectionFailed | WebhookTimeout) or (
        isinstance(exc, DestinationBlocked) and exc.resolved
    )


def shown_failure(exc: CallFailed) -> tuple[str, str]:
    """The category and message an operator may learn from a failed Test.

    Whoever can edit a URL could otherwise use the Test as an oracle: "blocked" against "does
    not resolve" maps the server's internal DNS names, and "refused" against "timed out" scans
    ports. So every failure before a public server answered gets one category and one message;
    the full reason goes to the server log. A URL refused as written (its scheme, a literal
    address, a local name) says why: it reveals nothing the URL did not.
    """
    if unreachable(exc):
        logger.info("test call failed: %s", exc)
        return "unreachable", UNREACHABLE
    return exc.category, str(exc)
