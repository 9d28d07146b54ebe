"""The one generic implementation behind every webhook action, its form and its questions.

Looked up by (tenant, action name) in the registry's cache; never by a tenant id from a chat
client. The action collects the parameters from slots, claims one call of the conversation's
allowance, calls the webhook through the core's guarded egress and answers from the result only.
The validator converts each value the form collected, re-asks on a bad one, and decides from
the live definition which parameter to ask next (Rasa honours the ``requested_slot`` it sets),
so a parameter made required or optional is treated so at once. The question actions phrase
the live description. Whenever the action cannot run (skill off, action disabled or unknown)
the validator ends the form at once, asking nothing, and the action answers politely without
a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from webhooks import (
    GREET_INTENT,
    HELP_INTENT,
    HELP_RESPONSE,
    NOT_AN_ANSWER_INTENTS,
    NOT_AN_ANSWER_RESPONSE,
    NOT_AN_ANSWER_TEXT,
    STOPPED_RESPONSE,
    STOPPED_TEXT,
    CallFailed,
    ConversationLimitReached,
    ConversationLimits,
    Egress,
    HTTPStatusError,
    KeyMismatch,
    Store,
    StoreUnavailable,
    Webhook,
    WebhookRequest,
    action_list,
    ask_overrides,
    form_of,
    help_text,
    question,
    webhook_of_form,
)

from ._metrics import Metrics
from ._registry import Registry
from ._replies import designed_or_text, failure_response, result_response
from ._values import BadValue, convert_for

__all__ = [
    "REQUESTED_SLOT",
    "ClaimWorker",
    "Events",
    "WebhookService",
    "conversation_key",
    "form_slots",
    "intent_of_latest",
    "log_unexpected",
]

logger = logging.getLogger("actions.calls")

#: The slot naming what a form asks next; a validator's SlotSet of it is what Rasa asks (None
#: ends the form).
REQUESTED_SLOT = "requested_slot"

Events = list[dict[str, Any]]


#: The metrics label of every action the store does not have.
UNKNOWN_ACTION = "(unknown)"

#: Seconds a claim may wait on the database before the call is answered as unavailable.
CLAIM_TIMEOUT = 10.0


def log_unexpected(entry: str, tenant: str, action: str, exc: BaseException) -> None:
    # Type and place only: the message could carry a webhook's data or a user's words.
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
    logger.error(
        "unexpected %s in %s for tenant=%s action=%s at %s; answered politely",
        type(exc).__name__,
        entry,
        tenant,
        action,
        where,
    )


def conversation_key(tracker: Tracker) -> str:
    """A conversation is a Rasa session of one sender: the sender and its session's start."""
    started = 0.0
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            started = float(event.get("timestamp") or 0.0)
            break
    return f"{tracker.sender_id}:{started:.6f}"


# tenant, conversation, the loop and future of the request, and the timer of its timeout.
_Claim = tuple[str, str, asyncio.AbstractEventLoop, "asyncio.Future[None]", asyncio.TimerHandle]
_Outcome = tuple["asyncio.Future[None]", BaseException | None, asyncio.TimerHandle]
_T = TypeVar("_T")


def _settle(outcomes: list[_Outcome]) -> None:
    for future, error, timer in outcomes:
        timer.cancel()
        if future.done():  # the request was cancelled meanwhile; the call stays counted
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(None)


def _end_waits(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # not expired meanwhile
            future.set_result(None)


def _on_their_loops(
    items: list[tuple[asyncio.AbstractEventLoop, _T]], handle: Callable[[list[_T]], None]
) -> None:
    """From the claims thread: ``handle`` each loop's items on that loop, one wake-up each."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_T]] = {}
    for loop, item in items:
        by_loop.setdefault(loop, []).append(item)
    for loop, grouped in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(handle, grouped)


def _expire(future: asyncio.Future[None]) -> None:
    # Answered as unavailable; a claim already handed to the thread may still be counted.
    if not future.done():
        future.set_exception(TimeoutError("the conversation's claim took too long"))


class ClaimWorker:
    """Claims conversation calls without ever waiting on the event loop.

    A claim is one short upsert, but it may wait on a database lock (SQLite's writer lock,
    PostgreSQL's row lock) or the network, so it must not block the loop. On SQLite it is
    first tried in place, in a statement that never waits (``ConversationLimits.claim_nowait``):
    tens of microseconds, where the round trip through a thread cost each call a GIL hand-over
    and, measured, 3-4 ms at the median. Each claim is its own statement: taking a turn's
    claims together in one statement paid a second pass for the rows it returned, and a turn
    of the loop to wait for the others, more than the commits it saved (measured with
    callgrind and in ``bench.actions``). When that would wait (another writer holds the
    lock), and always on PostgreSQL, the claim goes to one dedicated thread: a long-lived
    thread fed by a queue costs far less per claim than ``asyncio.to_thread``'s pool (no
    executor bookkeeping, one thread contending for the GIL instead of several), and the
    claims that queued up meanwhile are settled with a single wake-up of the loop. The same
    thread copies SQLite's write-ahead log into the database file after enough claims in
    place, since that syncs the disk; a claim that finds that checkpoint in its way waits
    for it on the loop, then claims in place. Either way the count is the same upsert in the
    store (see ``ConversationLimits``).
    """

    def __init__(self, limits: ConversationLimits, *, timeout: float = CLAIM_TIMEOUT) -> None:
        self.limits = limits
        self.timeout = timeout
        self._queue: queue.SimpleQueue[list[_Claim]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._checkpointing = False
        # Claims waiting for the checkpoint to end: the loop and future of each.
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    async def claim(self, tenant: str, conversation: str) -> None:
        """Count one call of ``conversation`` without blocking the loop.

        Raises ``ConversationLimitReached`` at the limit, ``TimeoutError`` after ``timeout``
        seconds of waiting on the database, and whatever else the store raised.
        """
        if self._claimed_in_place(tenant, conversation):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        if await self._checkpoint_ended(loop, deadline) and self._claimed_in_place(
            tenant, conversation
        ):
            return
        future: asyncio.Future[None] = loop.create_future()
        timer = loop.call_at(deadline, _expire, future)
        self._put([(tenant, conversation, loop, future, timer)])
        await future

    def _claimed_in_place(self, tenant: str, conversation: str) -> bool:
        limits = self.limits
        try:
            claimed = limits.claim_nowait(tenant, conversation)
        except ConversationLimitReached:
            raise
        except Exception:  # nothing counted: the thread claims it on its own, and reports
            return False
        if claimed and limits.checkpoint_due and not self._checkpointing:
            self._checkpointing = True
            try:
                self._put([])  # an empty batch: the thread wakes up and checkpoints
            except Exception as exc:  # the call is counted; the next one tries again
                self._checkpointing = False
                logger.warning("cannot start the checkpoint (%s)", type(exc).__name__)
        return claimed

    async def _checkpoint_ended(self, loop: asyncio.AbstractEventLoop, deadline: float) -> bool:
        """Wait until our own checkpoint ends, if one is under way; whether one was.

        Its RESTART holds the writers back, so it is most likely what refused the claim in
        place. Sent to the thread instead, the claims that found it in the way (about twenty
        at three thousand calls a second) were claimed there one by one right after it, each
        holding the lock while the next claims in place found it taken and followed them:
        measured, a cascade of some sixty hand-overs per checkpoint.
        """
        with self._lock:
            if not self._checkpointing:
                return False
            ended: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, ended))
        timer = loop.call_at(deadline, _expire, ended)
        try:
            await ended
        finally:
            timer.cancel()
        return True

    def _put(self, batch: list[_Claim]) -> None:
        if self._thread is None:
            self._start()
        self._queue.put(batch)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # A daemon: it holds no state worth finishing, and must not keep a stopping
                # process alive.
                self._thread = threading.Thread(
                    target=self._serve, name="conversation-claims", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        while True:
            batch = self._queue.get()
            while True:
                try:
                    batch += self._queue.get_nowait()
                except queue.Empty:
                    break
            outcomes: list[tuple[asyncio.AbstractEventLoop, _Outcome]] = []
            for tenant, conversation, loop, future, timer in batch:
                error: BaseException | None = None
                try:
                    self.limits.claim(tenant, conversation)
                except Exception as exc:  # handed to the awaiting request, raised there
                    error = exc
                outcomes.append((loop, (future, error, timer)))
            _on_their_loops(outcomes, _settle)
            if self._checkpointing:
                try:
                    self.limits.checkpoint()
                except Exception as exc:  # the log grows meanwhile; tried again later
                    logger.warning("checkpoint failed (%s)", type(exc).__name__)
                finally:
                    with self._lock:
                        self._checkpointing = False
                        waiting, self._waiting = self._waiting, []
                    _on_their_loops(waiting, _end_waits)


def intent_of_latest(tracker: Tracker) -> str:
    """The name of the latest message's intent ("" when it has none)."""
    intent = (tracker.latest_message or {}).get("intent")
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else ""


def _not_an_answer(tracker: Tracker) -> set[str]:
    """The slots the latest message filled from its text although it was no answer: a
    greeting, thanks, a request for help or an off-topic message (by its intent). A value the
    message carried as an entity is an answer whatever the intent."""
    if intent_of_latest(tracker) not in NOT_AN_ANSWER_INTENTS:
        return set()
    entities = (tracker.latest_message or {}).get("entities")
    carried = {
        str(entity.get("entity"))
        for entity in (entities if isinstance(entities, list) else [])
        if isinstance(entity, dict)
    }
    return {slot for slot in tracker.slots_to_validate() if slot not in carried}


def _domain_slots(domain: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's slots by name (looked into, never copied: the domain is large). The
    domain is parsed JSON, so its objects are dicts (see ``_replies._responses``)."""
    slots = domain.get("slots")
    return slots if isinstance(slots, dict) else {}


def form_slots(domain: Mapping[str, Any], form: str) -> list[str]:
    """The slots ``form`` asks for in the model's domain (none when it has no such form)."""
    forms = domain.get("forms")
    spec = forms.get(form) if isinstance(forms, dict) else None
    required = spec.get("required_slots") if isinstance(spec, dict) else None
    return (
        [slot for slot in required if isinstance(slot, str)] if isinstance(required, list) else []
    )


class WebhookService:
    """Runs webhook actions and validators for every tenant of this action server."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        egress: Egress,
        limits: ConversationLimits,
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.registry = registry
        self.egress = egress
        self.limits = limits
        self.claims = ClaimWorker(limits)
        self.metrics = metrics
        # Decrypted header values of the definitions called so far, in memory only: Fernet
        # costs more than the rest of a call's own work. Keyed by the definition object
        # itself, so a refreshed definition (a new object) is decrypted afresh.
        self._headers: dict[str, dict[str, tuple[Webhook, Mapping[str, str]]]] = {}

    def usable(self, tenant: str, action: str) -> tuple[Webhook | None, str | None]:
        """The definition, or why the action cannot run (a failure category)."""
        snapshot = self.registry.get(tenant)
        if snapshot is None or not snapshot.tenant.skill_enabled:
            return None, "disabled"
        webhook = snapshot.webhooks.get(action)
        if webhook is None:
            logger.warning(
                "drift: tenant=%s action=%s is in the model but not in the store; "
                "run `python -m bot check` (retrain needed)",
                tenant,
                action,
            )
            return None, "not_configured"
        if not webhook.enabled:
            return None, "disabled"
        return webhook, None

    def _headers_for(self, tenant: str, action: str, webhook: Webhook) -> Mapping[str, str]:
        known = self._headers.get(tenant)
        if known is None:
            known = self._headers[tenant] = {}
        cached = known.get(action)
        if cached is not None and cached[0] is webhook:
            return cached[1]
        headers = MappingProxyType(self.store.headers_for(webhook))
        known[action] = (webhook, headers)
        return headers

    def forget(self, tenant: str) -> None:
        """Drop what is cached about ``tenant``'s definitions (it changed or is gone)."""
        self._headers.pop(tenant, None)

    # -- the form validator ----------------------------------------------------------------

    async def validate(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Validate what the form ``<action>_form`` collected; never fails the request."""
        try:
            return await self._validate(tenant, action, dispatcher, tracker, domain)
        except Exception as exc:  # the safety net: a reply must never be lost
            log_unexpected("validate", tenant, action, exc)
            # End the form: the action then answers (politely, if it fails as well).
            return [SlotSet(REQUESTED_SLOT, None)]

    async def run(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Call the webhook for ``action`` and answer; never fails the request."""
        try:
            return await self._run(tenant, action, dispatcher, tracker, domain)
        except Exception as exc:  # the safety net: a reply must never be lost
            log_unexpected("run", tenant, action, exc)
            self.fail(dispatcher, domain, tenant, action, "unavailable")
            return self._clear([], domain, action)

    async def _validate(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Judge what the form ``<action>_form`` collected this turn and say what to ask next."""
        webhook, _ = self.usable(tenant, action)
        if webhook is None:
            # Ask for nothing: the form ends and the action explains.
            return [SlotSet(REQUESTED_SLOT, None)]
        parameters = {p["name"]: p for p in webhook.parameters}
        # Only what the model's form has can be asked: Rasa would find no question for another
        # parameter, and its answer would fill nothing (the slot's mappings are the form's).
        askable = form_slots(domain, form_of(action))
        events: Events = []
        values = dict(tracker.slots)
        retry: str | None = None
        not_an_answer = _not_an_answer(tracker)
        for slot, value in tracker.slots_to_validate().items():
            parameter = parameters.get(slot)
            # None reaches the validator when the form starts or a slot was cleared: not a
            # user's answer, so nothing to judge.
            if parameter is None or value is None:
                continue
            try:
                values[slot] = convert_for(value, parameter)
            except BadValue as bad:
                dispatcher.utter_message(text=f"{bad.hint}")
                values[slot] = None
            else:
                # Any text is a string: "hi" or "tell me a joke" while a city is asked is
                # still no answer (a typed value's conversion already judged the rest).
                if slot in not_an_answer and isinstance(values[slot], str):
                    dispatcher.utter_message(
                        **designed_or_text(domain, (NOT_AN_ANSWER_RESPONSE,), NOT_AN_ANSWER_TEXT)
                    )
                    values[slot] = None
            if values[slot] is None and slot in askable:
                # Asked again, even when optional (the user meant to give it).
                retry = retry or slot
            events.append(SlotSet(slot, values[slot]))
        ask_next = retry or self._next_required(webhook, values, askable)
        events.append(SlotSet(REQUESTED_SLOT, ask_next))
        return events

    @staticmethod
    def _next_required(
        webhook: Webhook, values: Mapping[str, Any], askable: list[str]
    ) -> str | None:
        """The first required parameter still without a value, in the definition's order,
        among those the form can ask; None ends the form (for one it cannot ask, the action
        then reports the drift: a retrain is due)."""
        for parameter in webhook.parameters:
            name = str(parameter["name"])
            if parameter["required"] and values.get(name) is None and name in askable:
                return name
        return None

    # -- the questions, the help and the way out ---------------------------------------------

    async def offer_help(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Say what the assistant can do, from the enabled actions' live descriptions.

        Answers a greeting, ``help``, and whatever the bot did not understand (it is also
        Rasa's core fallback), so the bot is never silent. Then it listens: as the fallback no
        rule follows it, and Rasa would predict it again.
        """
        snapshot = self.registry.get(tenant)
        descriptions = (
            [w.description for w in snapshot.webhooks.values() if w.enabled]
            if snapshot is not None and snapshot.tenant.skill_enabled
            else []
        )
        why = {GREET_INTENT: "greet", HELP_INTENT: "help"}.get(
            intent_of_latest(tracker), "fallback"
        )
        descriptions.sort()
        reply = designed_or_text(domain, (HELP_RESPONSE,), help_text(descriptions, why=why))
        if "response" in reply:  # the designer's words, with the list to place
            reply["actions"] = action_list(descriptions)
        dispatcher.utter_message(**reply)
        return [FollowupAction("action_listen")]

    async def ask(
        self,
        tenant: str,
        action: str,
        parameter: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Ask for ``parameter`` of ``action`` (``action_ask_<action>_form_<parameter>``).

        Phrased from the live description; a designer's ``utter_ask_...`` response in the
        domain wins (sync leaves the action out then, but a model may predate the response).
        """
        snapshot = self.registry.get(tenant)
        webhook = snapshot.webhooks.get(action) if snapshot is not None else None
        known = {p["name"]: p for p in webhook.parameters} if webhook is not None else {}
        text = question(known.get(parameter) or {"name": parameter})
        dispatcher.utter_message(**designed_or_text(domain, ask_overrides(action, parameter), text))
        return []

    async def stopped(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """The user stopped a form: say so and forget the answers it had collected, so the
        next time the form starts it asks afresh."""
        dispatcher.utter_message(**designed_or_text(domain, (STOPPED_RESPONSE,), STOPPED_TEXT))
        form = next(
            (
                event.get("name")
                for event in reversed(tracker.events)
                if event.get("event") == "active_loop" and event.get("name")
            ),
            None,
        )
        action = webhook_of_form(form) if isinstance(form, str) else None
        if action is None:
            return []
        return [
            SlotSet(slot, None)
            for slot in form_slots(domain, form_of(action))
            if tracker.slots.get(slot) is not None
        ]

    # -- the action -------------------------------------------------------------------------

    def _clear(
        self, webhook_parameters: list[str], domain: Mapping[str, Any], action: str
    ) -> Events:
        slots = _domain_slots(domain)
        names = set(webhook_parameters) | set(form_slots(domain, form_of(action)))
        return [SlotSet(name, None) for name in sorted(names) if name in slots]

    def fail(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        tenant: str,
        action: str,
        category: str,
        *,
        status: int | None = None,
        elapsed: float = 0.0,
    ) -> None:
        dispatcher.utter_message(**failure_response(domain, action, category))
        # Labels only for stored actions: a name that is only in a request's domain would make
        # a new metric series per name sent.
        snapshot = self.registry.get(tenant)
        stored = snapshot is not None and action in snapshot.webhooks
        self.metrics.record(tenant, action if stored else UNKNOWN_ACTION, category, elapsed)
        logger.info(
            "webhook_call tenant=%s action=%s status=%s category=%s elapsed_ms=%.1f "
            "truncated=False",
            tenant,
            action,
            status if status is not None else "-",
            category,
            elapsed * 1000,
        )

    def _unavailable(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        tenant: str,
        action: str,
        why: str,
        exc: BaseException,
        *,
        level: int = logging.ERROR,
    ) -> Events:
        """Answer as unavailable when the call cannot be made, saying why in the log."""
        logger.log(
            level,
            "%s: tenant=%s action=%s (%s); answered as unavailable",
            why,
            tenant,
            action,
            type(exc).__name__,
        )
        self.fail(dispatcher, domain, tenant, action, "unavailable")
        return []

    def _arguments(
        self, webhook: Webhook, value_of: Callable[[str], Any]
    ) -> tuple[dict[str, str | int | float | bool], str | None]:
        """The typed arguments (``value_of(name)``, from the slots), or the name of a required
        one missing."""
        arguments: dict[str, str | int | float | bool] = {}
        for parameter in webhook.parameters:
            value = value_of(parameter["name"])
            if value is None:
                if parameter["required"]:
                    return {}, parameter["name"]
                continue  # optional parameters are sent only when known
            try:
                arguments[parameter["name"]] = convert_for(value, parameter)
            except BadValue:
                if parameter["required"]:
                    return {}, parameter["name"]
        return arguments, None

    async def _run(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Call the webhook for ``action`` with the collected parameters and answer."""
        webhook, _ = self.usable(tenant, action)
        names = [p["name"] for p in webhook.parameters] if webhook is not None else []
        events = await self.answer(tenant, action, dispatcher, domain, tracker, tracker.get_slot)
        return self._clear(names, domain, action) + events

    async def answer(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        tracker: Tracker,
        value_of: Callable[[str], Any],
    ) -> Events:
        """Call the webhook for ``action`` with the values ``value_of(parameter)`` and answer;
        the events setting the designer's result slots."""
        webhook, problem = self.usable(tenant, action)
        if webhook is None:
            self.fail(dispatcher, domain, tenant, action, problem or "not_configured")
            return []
        arguments, missing = self._arguments(webhook, value_of)
        if missing is not None:
            logger.warning(
                "drift: tenant=%s action=%s required parameter %s has no value; the model "
                "may predate the definition (retrain needed)",
                tenant,
                action,
                missing,
            )
            self.fail(dispatcher, domain, tenant, action, "not_configured")
            return []
        try:
            request = WebhookRequest(
                url=webhook.url,
                method=webhook.method,
                timeout=webhook.timeout,
                headers=self._headers_for(tenant, action, webhook),
                arguments=arguments,
            )
        except (KeyMismatch, ValueError) as exc:
            # A key removed without `keys rotate`, or a stored value the client refuses: the
            # operator must act, the user gets a polite answer, nothing is counted or sent.
            return self._unavailable(
                dispatcher, domain, tenant, action, "cannot build the request", exc
            )
        try:
            await self.claims.claim(tenant, conversation_key(tracker))
        except ConversationLimitReached:
            self.fail(dispatcher, domain, tenant, action, "rate_limited")
            return []
        except (StoreUnavailable, TimeoutError) as exc:
            # The count cannot be kept now, so no call is made: the limit holds.
            return self._unavailable(
                dispatcher, domain, tenant, action, "cannot count the call", exc,
                level=logging.WARNING,
            )  # fmt: skip

        started = time.perf_counter()
        try:
            result = await self.egress.call(request, share=tenant)
        except CallFailed as exc:
            status = exc.status if isinstance(exc, HTTPStatusError) else None
            self.fail(
                dispatcher,
                domain,
                tenant,
                action,
                exc.category,
                status=status,
                elapsed=time.perf_counter() - started,
            )
            return []

        self.metrics.record(tenant, action, "ok", result.elapsed)
        logger.info(
            "webhook_call tenant=%s action=%s status=%s category=ok elapsed_ms=%.1f truncated=%s",
            tenant,
            action,
            result.status,
            result.elapsed * 1000,
            result.truncated,
        )
        dispatcher.utter_message(
            **result_response(domain, action, result.data, truncated=result.truncated)
        )
        events: Events = []
        slots = _domain_slots(domain)
        for slot, value in (
            (f"{action}_result", result.data),
            (f"{action}_truncated", result.truncated),
        ):
            if slot in slots:
                events.append(SlotSet(slot, value))
        return events
