"""One webhook call as every server makes it: built, counted, sent, masked, measured, logged.

The action server (a Rasa action) and the tools server (an MCP tool) differ in what they are
asked and in how they answer, not in the call between: the request is built with the
definition's decrypted headers, one of the conversation's (or MCP session's) calls is claimed
in the store within the tenant's (and the action's) budget of calls per minute, the request
goes out through the guarded egress, header values an endpoint echoes are masked, and the
outcome is counted in the metrics and logged on one line. An action whose service keeps
failing is paused (``_pauses``): its calls are answered as unavailable at once, without a
claim or a request, until a probe finds the service back. A failure is
recorded here and handed back as a :class:`CallFailure` (its category, and the status and
the masked answer of a non-2xx answer), for the adapter to say in its words;
nothing of a header, an argument or an exception's text is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from .._categories import Category
from .._exceptions import (
    BudgetExhausted,
    CallFailed,
    ConversationLimitReached,
    HTTPStatusError,
    KeyMismatch,
    StoreUnavailable,
)
from ..definitions._budgets import BUDGET_OUTCOME, DEFAULT_TENANT_BUDGET, Budget
from ..egress._egress import Egress
from ..egress._messages import Argument, WebhookResult
from ..store._records import CallPause, Webhook
from ..store._registry import Registry
from ..store._store import Store
from ._claims import ClaimWorker
from ._headervalues import HeaderValues
from ._limits import ConversationLimits
from ._metrics import Metrics
from ._pauses import COUNTED, Pause, Pauses
from ._replies import CallFailure

__all__ = ["PAUSED_OUTCOME", "UNKNOWN_NAME", "WebhookCalls"]

#: The metrics label of a name the store does not have: a name only a request sent would
#: otherwise make a new series per name sent.
UNKNOWN_NAME = "(unknown)"

#: The metrics outcome (and log category) of a call not made because the action is paused;
#: the user hears the unavailable sentence.
PAUSED_OUTCOME = "paused"

#: Each category by its code (``CallFailed.category`` is typed as the code).
_BY_CODE: dict[str, Category] = {category.value: category for category in Category}


class WebhookCalls:
    """The webhook calls of one server, for every tenant, and the record of each.

    Every call, made or refused, is counted in ``metrics`` and logged at INFO on ``logger`` as
    one line, ``<event> tenant=… <noun>=… status=… category=… elapsed_ms=… truncated=…``; a
    call that cannot be made says why at ERROR (the operator must act) or WARNING (the store
    is briefly away). A name the store does not have is counted and logged as
    :data:`UNKNOWN_NAME`; with ``log_unknown_names`` the log line keeps the name as sent (the
    formatter escapes it), as the action server's lines always have.
    """

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        egress: Egress,
        limits: ConversationLimits,
        metrics: Metrics,
        logger: logging.Logger,
        event: str,
        noun: str,
        log_unknown_names: bool = False,
        pauses: Pauses | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        #: The pauses of this process's calls per action (default thresholds unless given).
        self.pauses = pauses if pauses is not None else Pauses()
        #: This process, as the console's record of pauses names it.
        self.replica = f"{socket.gethostname()}:{os.getpid()}"
        self.pauses.on_discard = self._ended
        #: The last write of each action's record of pauses (see :meth:`_write`).
        self._writes: dict[tuple[str, str], asyncio.Task[None]] = {}
        #: ``usable(tenant, name)``: the definition ``name`` of ``tenant`` if a call may run
        #: it, else why not. The registry's method itself, not a method calling it: one
        #: Python frame less on every call.
        self.usable: Callable[[str, str], Webhook | Category] = registry.usable
        self.egress = egress
        self.metrics = metrics
        self.logger = logger
        self.claims = ClaimWorker(limits)
        self.header_values = HeaderValues(store)
        self._log_unknown_names = log_unknown_names
        # Made once: the call line is logged at every call. A "%" in the words is no format.
        event, noun = event.replace("%", "%%"), noun.replace("%", "%%")
        self._line = (
            f"{event} tenant=%s {noun}=%s status=%s category=%s elapsed_ms=%.1f truncated=%s"
        )
        self._unavailable_line = f"%s: tenant=%s {noun}=%s (%s); answered as unavailable"
        self._paused_line = (
            f"calls paused: tenant=%s {noun}=%s for %.0fs after %d failures in a row (last: %s); "
            "users are told it is unavailable until a probe call succeeds"
        )
        self._resumed_line = f"calls resumed: tenant=%s {noun}=%s (the service answered)"

    def forget(self, tenant: str) -> None:
        """Drop what is cached about ``tenant``'s definitions (they changed or are gone)."""
        self.header_values.forget(tenant)

    def refuse(
        self,
        tenant: str,
        name: str,
        category: str,
        *,
        status: int | None = None,
        elapsed: float = 0.0,
    ) -> None:
        """Record a call of ``name`` that ended in failure ``category``: its metrics and its
        line (``status`` is the HTTP status the webhook answered, if it did)."""
        # Labels only for stored names: a name that is only in a request would make a new
        # metric series per name sent.
        snapshot = self.registry.get(tenant)
        label = name if snapshot is not None and name in snapshot.webhooks else UNKNOWN_NAME
        self.metrics.record(tenant, label, category, elapsed)
        self.logger.info(
            self._line,
            tenant,
            name if self._log_unknown_names else label,
            status if status is not None else "-",
            category,
            elapsed * 1000,
            False,
        )

    def log(self, tenant: str, name: str, category: str) -> None:
        """Log the line of a call of ``name`` that never went out, without counting it
        (:meth:`refuse` does both): for an outcome the metrics do not count, such as
        arguments an agent got wrong."""
        self.logger.info(self._line, tenant, name, "-", category, 0.0, False)

    async def call(
        self,
        tenant: str,
        webhook: Webhook,
        arguments: Mapping[str, Argument],
        conversation: str,
    ) -> WebhookResult | CallFailure:
        """Call ``webhook`` of ``tenant`` with ``arguments`` as one of the calls of
        ``conversation`` (a Rasa conversation's or an MCP session's key); the result, with
        the header values it echoes masked, or the failure, recorded. A paused action's
        call is answered as unavailable at once (see :mod:`webhooks.calls._pauses`)."""
        name = webhook.name
        key = (tenant, name)
        ticket = self.pauses.admit(key, webhook.revision)
        if isinstance(ticket, Pause):
            self.refuse(tenant, name, PAUSED_OUTCOME)
            return CallFailure(Category.UNAVAILABLE)
        reached: list[str] = []  # the outcome of a request that went out, if one did
        try:
            return await self._call(tenant, webhook, arguments, conversation, reached)
        finally:
            if reached:
                self._record_outcome(tenant, webhook, reached[0], ticket)
            else:
                self.pauses.release(key, ticket)  # no news of the service

    async def _call(
        self,
        tenant: str,
        webhook: Webhook,
        arguments: Mapping[str, Argument],
        conversation: str,
        reached: list[str],
    ) -> WebhookResult | CallFailure:
        name = webhook.name
        try:
            headers, signer = self.header_values.for_call(webhook)
            request = webhook.request(headers, arguments, signer=signer)
        except (KeyMismatch, ValueError) as exc:
            # A key removed without `keys rotate`, or a stored value the client refuses: the
            # operator must act, the caller gets a polite answer, nothing is counted or sent.
            return CallFailure(
                self._unavailable(logging.ERROR, "cannot build the request", tenant, name, exc)
            )
        try:
            await self.claims.claim(tenant, conversation, budget=self.budget(tenant, webhook))
        except ConversationLimitReached:
            self.refuse(tenant, name, Category.RATE_LIMITED)
            return CallFailure(Category.RATE_LIMITED)
        except BudgetExhausted:
            # Said to the user as the conversation limit is; counted apart for operators.
            self.refuse(tenant, name, BUDGET_OUTCOME)
            return CallFailure(Category.RATE_LIMITED)
        except (StoreUnavailable, TimeoutError) as exc:
            # The count cannot be kept now, so no call is made: the limit holds.
            return CallFailure(
                self._unavailable(logging.WARNING, "cannot count the call", tenant, name, exc)
            )

        started = time.perf_counter()
        try:
            result = await self.egress.call(request, share=tenant)
        except CallFailed as exc:
            category = _BY_CODE[exc.category]
            reached.append(category)
            self._count_retries(tenant, name, exc.retries)
            status, data = None, None
            if isinstance(exc, HTTPStatusError):
                status = exc.status
                if isinstance(exc.result, WebhookResult):
                    # A reply may quote the answer: it never hands a header value on.
                    data = exc.result.without(request.headers.values()).data
            elapsed = time.perf_counter() - started
            self.refuse(tenant, name, category, status=status, elapsed=elapsed)
            return CallFailure(category, status, data)

        reached.append("ok")
        self._count_retries(tenant, name, result.retries)
        # An endpoint that echoes its request does not hand a stored header value on.
        result = result.without(request.headers.values())
        self.metrics.record(tenant, name, "ok", result.elapsed)
        self.logger.info(
            self._line,
            tenant,
            name,
            result.status,
            "ok",
            result.elapsed * 1000,
            result.truncated,
        )
        return result

    def _count_retries(self, tenant: str, name: str, retries: tuple[str, ...]) -> None:
        for reason in retries:
            self.metrics.retried(tenant, name, reason)

    def _record_outcome(self, tenant: str, webhook: Webhook, outcome: str, ticket: int) -> None:
        """Tell the pauses how a call that went out ended; say it when a pause begins or
        ends (in the log, the metrics and the console's record)."""
        name = webhook.name
        change = self.pauses.record((tenant, name), webhook.revision, outcome, ticket)
        if change is None:
            if outcome in COUNTED:
                self.metrics.failing(tenant, name)
            return
        if isinstance(change, Pause):
            self.logger.warning(
                self._paused_line, tenant, name, change.seconds, change.failures, change.reason
            )
            self.metrics.paused(tenant, name, True)
            now = datetime.now(UTC)
            record = CallPause(
                since=now,
                until=datetime.fromtimestamp(change.wall_until, UTC),
                failures=change.failures,
                reason=change.reason,
            )
            self._write((tenant, name), self.store.pauses.record, record)
        else:
            self._ended((tenant, name))

    def _ended(self, key: tuple[str, str]) -> None:
        """A pause is over: its action is served again, or its definition changed."""
        tenant, name = key
        self.logger.info(self._resumed_line, tenant, name)
        self.metrics.paused(tenant, name, False)
        self._write(key, self.store.pauses.end)

    def _write(self, key: tuple[str, str], write: Callable[..., None], *args: object) -> None:
        """Write the console's record of ``key`` in a worker thread, in the background: a
        user's answer never waits on it, and a store that is away costs a warning, not the
        answer. One action's writes are made in turn, so the last word is the last change."""
        previous = self._writes.get(key)

        async def run() -> None:
            if previous is not None:
                await previous
            try:
                await asyncio.to_thread(write, *key, self.replica, *args)
            except Exception as exc:  # the record is for the console only: never the answer
                self.logger.warning(
                    "could not record a pause for the console (%s)", type(exc).__name__
                )

        task = asyncio.get_running_loop().create_task(run())
        self._writes[key] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self._writes.get(key) is finished:
                del self._writes[key]

        task.add_done_callback(done)

    def budget(self, tenant: str, webhook: Webhook) -> Budget:
        """The budgets a call of ``webhook`` is claimed against, as this replica's cache
        holds them now (so a change is live within the registry's refresh)."""
        snapshot = self.registry.get(tenant)
        per_tenant = DEFAULT_TENANT_BUDGET if snapshot is None else snapshot.tenant.calls_per_minute
        if webhook.calls_per_minute is None:
            return Budget(per_tenant)
        return Budget(per_tenant, webhook.name, webhook.calls_per_minute)

    def _unavailable(
        self, level: int, why: str, tenant: str, name: str, exc: BaseException
    ) -> Category:
        """Record the call as unavailable, saying why (the exception's type only: its text
        could carry a header value)."""
        self.logger.log(level, self._unavailable_line, why, tenant, name, type(exc).__name__)
        self.refuse(tenant, name, Category.UNAVAILABLE)
        return Category.UNAVAILABLE
