"""The work behind every webhook action: the call, the questions, the help and the failures.

A definition is looked up by (tenant, action name) in the registry's cache, never by a tenant id
from a chat client. A call claims one of the conversation's calls, goes through the core's
guarded egress and is answered from the result only; when it cannot run (skill off, action
disabled or unknown) it is answered politely without a call. Questions phrase the live
description. The generic dispatch (``_dispatch``) drives these from Rasa's form.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from webhooks import (
    GREET_INTENT,
    HELP_INTENT,
    HELP_RESPONSE,
    BadValue,
    CallFailed,
    Category,
    ClaimWorker,
    ConversationLimitReached,
    ConversationLimits,
    Egress,
    HeaderValues,
    HTTPStatusError,
    KeyMismatch,
    Metrics,
    Parameter,
    Registry,
    Store,
    StoreUnavailable,
    Webhook,
    action_list,
    ask_overrides,
    call_logger,
    choices,
    convert,
    help_text,
    question,
    result_slot,
    truncated_slot,
)

from ._replies import designed_or_text, failure_response, result_response

__all__ = [
    "REQUESTED_SLOT",
    "Events",
    "WebhookService",
    "domain_slots",
    "intent_of_latest",
    "log_unexpected",
]

logger = call_logger("actions.calls")

#: The slot naming what a form asks next; a validator's SlotSet of it is what Rasa asks (None
#: ends the form).
REQUESTED_SLOT = "requested_slot"

Events = list[dict[str, Any]]


#: The metrics label of every action the store does not have.
UNKNOWN_ACTION = "(unknown)"


def conversation_of(tracker: Tracker) -> str:
    """A conversation is a Rasa session of one sender: the sender and its session's start."""
    started = 0.0
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            started = float(event.get("timestamp") or 0.0)
            break
    return f"{tracker.sender_id}:{started:.6f}"


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


def intent_of_latest(tracker: Tracker) -> str:
    """The name of the latest message's intent ("" when it has none)."""
    intent = (tracker.latest_message or {}).get("intent")
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else ""


def domain_slots(domain: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's slots by name (looked into, never copied: the domain is large). The
    domain is parsed JSON, so its objects are dicts (see ``_replies._responses``)."""
    slots = domain.get("slots")
    return slots if isinstance(slots, dict) else {}


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
        self.header_values = HeaderValues(store)

    def usable(self, tenant: str, action: str) -> Webhook | Category:
        """The definition, or why the action cannot run (a failure category)."""
        found = self.registry.usable(tenant, action)
        if found is Category.NOT_CONFIGURED:
            logger.warning(
                "tenant=%s action=%s is not in the store (deleted since the request was "
                "routed, or no action named)",
                tenant,
                action,
            )
        return found

    def forget(self, tenant: str) -> None:
        """Drop what is cached about ``tenant``'s definitions (it changed or is gone)."""
        self.header_values.forget(tenant)

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
        """Ask for ``parameter`` of ``action``, phrased from the live description; a
        designer's ``utter_ask_<action>_form_<parameter>`` or ``utter_ask_<parameter>`` wins."""
        snapshot = self.registry.get(tenant)
        webhook = snapshot.webhooks.get(action) if snapshot is not None else None
        known = {p.name: p for p in webhook.parameters} if webhook is not None else {}
        # Gone since the question was chosen (deleted mid-form): asked by its name.
        asked = known.get(parameter) or Parameter.stored({"name": parameter, "description": ""})
        reply = designed_or_text(domain, ask_overrides(action, parameter), question(asked))
        if "text" in reply:  # a designer's response brings its own buttons, or none
            # A button answers with the value's own words, as if typed.
            reply["buttons"] = [{"title": value, "payload": value} for value in choices(asked)]
        dispatcher.utter_message(**reply)
        return []

    # -- the action -------------------------------------------------------------------------

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
        self.fail(dispatcher, domain, tenant, action, Category.UNAVAILABLE)
        return []

    def _arguments(
        self, webhook: Webhook, values: Mapping[str, Any]
    ) -> tuple[dict[str, str | int | float | bool], str | None]:
        """The typed arguments from ``values`` (what the form collected), or the name of a
        required one missing."""
        arguments: dict[str, str | int | float | bool] = {}
        for parameter in webhook.parameters:
            value = values.get(parameter.name)
            if value is None:
                if parameter.required:
                    return {}, parameter.name
                continue  # optional parameters are sent only when known
            try:
                # The type only: the validator applied the rule (a pattern's group need not
                # match again in what it kept).
                arguments[parameter.name] = convert(value, parameter.type)
            except BadValue:
                if parameter.required:
                    return {}, parameter.name
        return arguments, None

    async def answer(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        tracker: Tracker,
        values: Mapping[str, Any],
    ) -> Events:
        """Call the webhook for ``action`` with the collected ``values`` and answer;
        the events setting the designer's result slots."""
        webhook = self.usable(tenant, action)
        if not isinstance(webhook, Webhook):
            self.fail(dispatcher, domain, tenant, action, webhook)
            return []
        arguments, missing = self._arguments(webhook, values)
        if missing is not None:
            logger.warning(
                "tenant=%s action=%s: required parameter %s has no value (the definition "
                "changed while its form asked)",
                tenant,
                action,
                missing,
            )
            self.fail(dispatcher, domain, tenant, action, Category.NOT_CONFIGURED)
            return []
        try:
            request = webhook.request(self.header_values.of(webhook), arguments)
        except (KeyMismatch, ValueError) as exc:
            # A key removed without `keys rotate`, or a stored value the client refuses: the
            # operator must act, the user gets a polite answer, nothing is counted or sent.
            return self._unavailable(
                dispatcher, domain, tenant, action, "cannot build the request", exc
            )
        try:
            await self.claims.claim(tenant, conversation_of(tracker))
        except ConversationLimitReached:
            self.fail(dispatcher, domain, tenant, action, Category.RATE_LIMITED)
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

        # An endpoint that echoes its request does not hand a stored header value to the user.
        result = result.without(request.headers.values())
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
        slots = domain_slots(domain)
        for slot, value in (
            (result_slot(action), result.data),
            (truncated_slot(action), result.truncated),
        ):
            if slot in slots:
                events.append(SlotSet(slot, value))
        return events
