"""The work behind every webhook action: the call, the questions, the help and the failures.

A definition is looked up by (tenant, action name) in the registry's cache, never by a tenant id
from a chat client. The form's values become the call's typed arguments; the call itself (one of
the conversation's calls claimed, the guarded egress, metrics and the log line) is the core's
``WebhookCalls``, and the action is answered from its result only; when it cannot run (skill
off, action disabled or unknown) it is answered politely without a call. Questions phrase the live
description. The generic dispatch (``_dispatch``) drives these from Rasa's form.
"""

from __future__ import annotations

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
    CallFailure,
    Category,
    InvalidArguments,
    Parameter,
    Webhook,
    WebhookCalls,
    WebhookResult,
    action_list,
    ask_overrides,
    call_arguments,
    call_logger,
    choices,
    failure_reply,
    help_text,
    operator_reply,
    question,
    result_slot,
    template_data,
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
        "unexpected %s in %s for tenant=%s action=%s at %s; the user still got an answer",
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


def entities_of_latest(tracker: Tracker) -> list[tuple[str, object]]:
    """The latest message's entities, as (name, value) pairs in the model's order."""
    entities = (tracker.latest_message or {}).get("entities")
    return [
        (str(entity.get("entity")), entity.get("value"))
        for entity in (entities if isinstance(entities, list) else [])
        if isinstance(entity, dict)
    ]


def domain_slots(domain: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's slots by name (looked into, never copied: the domain is large). The
    domain is parsed JSON, so its objects are dicts (see ``_replies._responses``)."""
    slots = domain.get("slots")
    return slots if isinstance(slots, dict) else {}


class WebhookService:
    """Runs webhook actions and validators for every tenant of this action server."""

    def __init__(self, calls: WebhookCalls) -> None:
        self.calls = calls
        self.registry = calls.registry

    def usable(self, tenant: str, action: str) -> Webhook | Category:
        """The definition, or why the action cannot run (a failure category)."""
        found = self.calls.usable(tenant, action)
        if found is Category.NOT_CONFIGURED:
            logger.warning(
                "tenant=%s action=%s is not in the store (deleted since the request was "
                "routed, or no action named)",
                tenant,
                action,
            )
        return found

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
        category: Category,
    ) -> None:
        """Answer that ``action`` cannot run, and record it as a call ending in ``category``."""
        snapshot = self.registry.get(tenant)
        webhook = snapshot.webhooks.get(action) if snapshot is not None else None
        self._say_failure(dispatcher, domain, webhook, action, CallFailure(category), {})
        self.calls.refuse(tenant, action, category)

    @staticmethod
    def _say_failure(
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        webhook: Webhook | None,
        action: str,
        failure: CallFailure,
        values: Mapping[str, Any],
    ) -> None:
        """Say ``failure``: the operator's reply for it, else the designer's or the default."""
        text = failure_reply(webhook, failure, values)
        if text is not None:
            dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(**failure_response(domain, action, failure.category))

    async def answer(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        tracker: Tracker,
        values: Mapping[str, Any],
    ) -> tuple[Events, bool]:
        """Call the webhook for ``action`` with the collected ``values`` and answer; the
        events setting the designer's result slots, and whether the webhook answered 2xx."""
        webhook = self.usable(tenant, action)
        if not isinstance(webhook, Webhook):
            self.fail(dispatcher, domain, tenant, action, webhook)
            return [], False
        try:
            arguments = call_arguments(webhook.parameters, values, judged=True)
        except InvalidArguments as missing:
            logger.warning(
                "tenant=%s action=%s: required parameter %s has no value (the definition "
                "changed while its form asked)",
                tenant,
                action,
                missing.field.removeprefix("values."),
            )
            self.fail(dispatcher, domain, tenant, action, Category.NOT_CONFIGURED)
            return [], False
        result = await self.calls.call(tenant, webhook, arguments, conversation_of(tracker))
        if not isinstance(result, WebhookResult):  # recorded by the call
            self._say_failure(dispatcher, domain, webhook, action, result, arguments)
            return [], False
        # The template's names are made only for a template (operator_reply has none to say
        # without one).
        reply = (
            operator_reply(
                webhook,
                "success",
                template_data(
                    arguments, result=result.data, status=result.status, truncated=result.truncated
                ),
                truncated=result.truncated,
            )
            if "success" in webhook.replies
            else None
        )
        if reply is not None:
            dispatcher.utter_message(text=reply)
        else:
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
        return events, True
