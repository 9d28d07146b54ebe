"""The generic dispatch: one form, one answer slot and one call action for every action.

Declared once in the domain, so an action saved through the admin API is served at once: the
request names the action in slot ``webhook_action`` (the live router's or a trained intent's
entity); the form's validator reads the live definition, takes what the request already says
(entities named like a parameter, an allowed value or a pattern's match, a lone number for
the only numeric parameter; such a number too long to send is said so), then asks for each
required parameter still missing through the one answer slot, converting each answer to the
parameter's type and rule, and with nothing left to ask calls the webhook through the service
and answers in the same step. ``action_webhook``, which the generated rules run after the
form, answers when the validator did not (its safety net; an older action server).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ACTION_LISTEN_NAME

from webhooks import (
    ACTION_SLOT,
    ANSWER_SLOT,
    ASKING_SLOT,
    DISPATCH_SLOTS,
    MEMORY_SLOT,
    NOT_AN_ANSWER_INTENTS,
    NOT_AN_ANSWER_RESPONSE,
    NOT_AN_ANSWER_TEXT,
    STOPPED_RESPONSE,
    STOPPED_TEXT,
    SWITCH_ACTION,
    TYPES,
    VALUES_SLOT,
    BadValue,
    Category,
    NumberOutOfRange,
    Parameter,
    Value,
    Webhook,
    convert,
    convert_for,
    reused,
    value_in_request,
)

from ._replies import designed_or_text
from ._service import (
    REQUESTED_SLOT,
    Events,
    WebhookService,
    conversation_of,
    domain_slots,
    entities_of_latest,
    intent_of_latest,
    log_unexpected,
)
from ._topics import WAY_OUT, carries_code, in_doubt, new_topic, switch_events

__all__ = ["Dispatch"]

logger = logging.getLogger("actions.dispatch")


def _from_entities(webhook: Webhook, tracker: Tracker, values: dict[str, Value]) -> dict[str, str]:
    """Fill ``values`` with the latest message's entities named like a parameter; the hints of
    those refused as numbers too long to send, by parameter."""
    parameters = {p.name: p for p in webhook.parameters}
    refused: dict[str, str] = {}
    for name, raw in entities_of_latest(tracker):
        parameter = parameters.get(name)
        if parameter is None or values.get(name) is not None:
            continue
        try:
            values[name] = convert_for(raw, parameter)
        except NumberOutOfRange as bad:
            refused[name] = bad.hint
        except BadValue:
            continue  # asked for instead: the question says what is expected
    return refused


def _from_request(webhook: Webhook, tracker: Tracker, values: dict[str, Value]) -> list[str]:
    """Fill ``values`` with what the request itself says, where that is unambiguous: its
    entities, then an allowed value or a pattern's match in its text, or its only number for
    the only numeric parameter. Only for the request that starts the form: an answer to one
    question is no value for the others ("Lisbon" asked as the origin is not the destination).

    Returns what to tell the user before the questions: a number the request gave that is too
    long to send is said so, not dropped without a word (asked as if nothing had been given,
    the user would type it again and only then learn why)."""
    refused = _from_entities(webhook, tracker, values)
    text = str((tracker.latest_message or {}).get("text") or "")
    numeric = [p for p in webhook.parameters if TYPES[p.type].numeric]
    for parameter in webhook.parameters:
        name = parameter.name
        if values.get(name) is not None:
            continue
        found: Value | None = value_in_request(parameter, text)
        if found is None and len(numeric) == 1 and parameter is numeric[0]:
            try:  # "where is order #4521?": the number, when the request holds exactly one
                found = convert(text, parameter.type)
            except NumberOutOfRange as bad:
                refused[name] = bad.hint
            except BadValue:
                found = None
        if found is not None:
            values[name] = found
    return list(dict.fromkeys(hint for name, hint in refused.items() if values.get(name) is None))


def _context_value(source: str, tracker: Tracker) -> object:
    """What the conversation holds for a parameter's ``source`` (None: nothing)."""
    if source == "sender_id":
        return tracker.sender_id
    if source == "channel":
        return tracker.get_latest_input_channel()
    if source.startswith("slot:"):
        # Looked up in what Rasa sent: a slot the domain does not declare is simply absent.
        return tracker.slots.get(source.removeprefix("slot:"))
    return None


def _from_context(webhook: Webhook, tracker: Tracker, values: dict[str, Value]) -> None:
    """Fill ``values`` for the parameters the operator takes from the conversation (the
    sender id, the channel, a slot); one the conversation has no valid value for is asked."""
    for parameter in webhook.parameters:
        if parameter.source is None or values.get(parameter.name) is not None:
            continue
        raw = _context_value(parameter.source, tracker)
        if raw is None or raw == "":
            continue
        try:
            values[parameter.name] = convert_for(raw, parameter)
        except BadValue:
            continue


def _memory(tracker: Tracker) -> dict[str, dict[str, Any]]:
    """The values the user gave earlier in this conversation (a Rasa session), by name."""
    memory = tracker.slots.get(MEMORY_SLOT)  # absent from a model trained before it
    if not isinstance(memory, dict) or memory.get("conversation") != conversation_of(tracker):
        return {}
    remembered = memory.get("values")
    return remembered if isinstance(remembered, dict) else {}


def _from_memory(
    webhook: Webhook, tracker: Tracker, values: dict[str, Value], dispatcher: CollectingDispatcher
) -> None:
    """Fill the required parameters still missing with a value the user gave earlier for a
    parameter of the same name and type, saying which value is used."""
    remembered = _memory(tracker)
    for parameter in webhook.parameters:
        entry = remembered.get(parameter.name)
        if (
            not parameter.required
            or values.get(parameter.name) is not None
            or not isinstance(entry, dict)
            or entry.get("type") != parameter.type
        ):
            continue
        try:
            value = convert_for(entry.get("value"), parameter)
        except BadValue:
            continue  # this action's rule refuses it: asked instead
        values[parameter.name] = value
        dispatcher.utter_message(text=reused(parameter, value))


def _remembered(
    webhook: Webhook, tracker: Tracker, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The memory slot's new value once ``values`` were used for ``webhook`` (None: unchanged).
    Values taken from the conversation's context are not the user's words: not kept."""
    memory = dict(_memory(tracker))
    for parameter in webhook.parameters:
        value = values.get(parameter.name)
        if value is not None and parameter.source is None:
            memory[parameter.name] = {"type": parameter.type, "value": value}
    if memory == _memory(tracker):
        return None
    return {"conversation": conversation_of(tracker), "values": memory}


def _declares(domain: Mapping[str, Any], action: str) -> bool:
    """Whether the model's domain has ``action`` (a model trained before it has not)."""
    actions = domain.get("actions")
    return isinstance(actions, list) and action in actions


def _next_required(webhook: Webhook, values: Mapping[str, Any]) -> str | None:
    """The first required parameter still without a value, in the definition's order."""
    for parameter in webhook.parameters:
        if parameter.required and values.get(parameter.name) is None:
            return parameter.name
    return None


class Dispatch:
    """The generic form's validator, its question, the call and the way out."""

    def __init__(self, service: WebhookService) -> None:
        self.service = service

    async def validate(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Judge this turn's answer and say what to ask next, or, with nothing left to ask,
        answer at once; never fails the request.

        Answering here instead of in ``action_webhook`` saves a turn a round trip between Rasa
        and this server and two of Rasa's predictions (the form's completion rule, then the
        call's end): the events forget the form's slots as the call would and end with
        ``FollowupAction(action_listen)``, so Rasa listens next without asking its policies.
        """
        action = str(tracker.get_slot(ACTION_SLOT) or "")
        try:
            events, complete = self._validate(tenant, action, dispatcher, tracker, domain)
            if complete is None:
                return events
            answered = await self._answer(tenant, action, complete, dispatcher, tracker, domain)
        except Exception as exc:  # the safety net: a reply must never be lost
            log_unexpected("validate", tenant, action, exc)
            return [SlotSet(REQUESTED_SLOT, None)]  # action_webhook then answers politely
        return [*answered, SlotSet(REQUESTED_SLOT, None), FollowupAction(ACTION_LISTEN_NAME)]

    def _validate(
        self,
        tenant: str,
        action: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> tuple[Events, dict[str, Value] | None]:
        """The events of this turn's judgement, and the values to call with when nothing is
        left to ask."""
        # Rasa asks the validator at the form's start with nothing requested yet.
        starting = tracker.get_slot(REQUESTED_SLOT) is None
        candidates = tracker.slots_to_validate()
        if not starting and ANSWER_SLOT not in candidates:
            # Nothing was said that could answer ("stop" fills nothing): answer no slot, so
            # Rasa rejects the form and the stop rule can run.
            return [], None
        webhook = self.service.usable(tenant, action)
        if not isinstance(webhook, Webhook):
            return [], {}  # nothing to ask: the answer explains
        stored = tracker.get_slot(VALUES_SLOT)
        values: dict[str, Value] = {} if starting or not isinstance(stored, dict) else dict(stored)
        asking = None if starting else tracker.get_slot(ASKING_SLOT)
        if starting:
            # The conversation's values first: what a channel vouches for (a sender id) is not
            # replaced by what the user typed.
            _from_context(webhook, tracker, values)
            hints = _from_request(webhook, tracker, values)
            for hint in hints:
                dispatcher.utter_message(text=hint)
            if not hints:  # a value the request tried to give is asked for, not remembered
                _from_memory(webhook, tracker, values, dispatcher)
        retry: str | None = None
        parameter = next((p for p in webhook.parameters if p.name == asking), None)
        answer = candidates.get(ANSWER_SLOT)
        if (
            parameter is not None
            and answer is not None
            and _declares(domain, SWITCH_ACTION)
            and new_topic(action, parameter, str(answer), tracker)
        ):
            # Something else was asked for (judged before the message's entities, which the
            # model finds in a request for another action as readily as in an answer): the
            # form ends without a call, and the message is given back to Rasa as a new topic.
            return [
                SlotSet(VALUES_SLOT, None),
                SlotSet(ANSWER_SLOT, None),
                SlotSet(ASKING_SLOT, None),
                SlotSet(REQUESTED_SLOT, None),
                FollowupAction(SWITCH_ACTION),
            ], None
        if not starting:
            # An answer refused by its own conversion is told so by _judge below.
            _from_entities(webhook, tracker, values)
        if parameter is not None and answer is not None and values.get(parameter.name) is None:
            retry = self._judge(parameter, answer, values, dispatcher, tracker, domain)
        ask_next = retry or _next_required(webhook, values)
        if ask_next is None:
            return [], values
        return [
            SlotSet(VALUES_SLOT, values),
            SlotSet(ANSWER_SLOT, None),
            SlotSet(ASKING_SLOT, ask_next),
            SlotSet(REQUESTED_SLOT, ANSWER_SLOT),
        ], None

    @staticmethod
    def _judge(
        parameter: Parameter,
        answer: object,
        values: dict[str, Value],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> str | None:
        """Take ``answer`` as ``parameter``'s value; the parameter to ask again, if not."""
        name = parameter.name
        try:
            value = convert(answer, parameter.type)
            # Any text is a free-text value: "hi" or "tell me a joke" while a name is asked is
            # still no answer. A typed value's conversion, and allowed values or a pattern,
            # judge the rest themselves: "Prais" taken for off-topic is still Paris.
            if (
                parameter.free_text
                and intent_of_latest(tracker) in NOT_AN_ANSWER_INTENTS
                and not carries_code(str(value))  # "the code is X7KP-99TR" is no chit-chat
            ):
                dispatcher.utter_message(
                    **designed_or_text(domain, (NOT_AN_ANSWER_RESPONSE,), NOT_AN_ANSWER_TEXT)
                )
                return name
            value = convert_for(value, parameter)  # the allowed values or the pattern
        except BadValue as bad:
            # A sentence that is no value may be the user wanting out: say how.
            way_out = f" {WAY_OUT}" if in_doubt(str(answer)) else ""
            dispatcher.utter_message(text=bad.hint + way_out)
            return name  # asked again, even when optional: the user meant to give it
        values[name] = value
        return None

    async def ask(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Ask for the parameter the validator chose (``action_ask_webhook_answer``)."""
        action, parameter = tracker.get_slot(ACTION_SLOT), tracker.get_slot(ASKING_SLOT)
        return await self.service.ask(
            tenant, str(action or ""), str(parameter or ""), dispatcher, tracker, domain
        )

    async def call(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Call the webhook the form collected for (``action_webhook``, after a form whose
        validator did not answer: a model's own rules, or the safety net); never fails."""
        action = str(tracker.get_slot(ACTION_SLOT) or "")
        stored = tracker.get_slot(VALUES_SLOT)
        values: Mapping[str, Any] = stored if isinstance(stored, dict) else {}
        return await self._answer(tenant, action, values, dispatcher, tracker, domain)

    async def _answer(
        self,
        tenant: str,
        action: str,
        values: Mapping[str, Any],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Call the webhook with ``values`` and answer; the events forget the form's slots and
        set what the answer sets. Never fails."""
        # Only what holds a value: every event is more JSON for Rasa to read, at every call.
        forget = [
            SlotSet(slot, None) for slot in DISPATCH_SLOTS if tracker.get_slot(slot) is not None
        ]
        try:
            answered, succeeded = await self.service.answer(
                tenant, action, dispatcher, domain, tracker, values
            )
        except Exception as exc:  # the safety net: a reply must never be lost
            log_unexpected("run", tenant, action, exc)
            self.service.fail(dispatcher, domain, tenant, action, Category.UNAVAILABLE)
            return forget
        try:
            webhook = self.service.usable(tenant, action)
            # Only values a webhook accepted are remembered: not an order number it did not find.
            if succeeded and isinstance(webhook, Webhook) and MEMORY_SLOT in domain_slots(domain):
                memory = _remembered(webhook, tracker, values)
                if memory is not None:
                    answered.append(SlotSet(MEMORY_SLOT, memory))
        except Exception as exc:  # the answer is given: only the memory is lost
            log_unexpected("remember", tenant, action, exc)
        return forget + answered

    async def switch(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """Give a message that asked for something else back to Rasa as a new topic
        (``action_webhook_switch``, which the validator chose)."""
        return switch_events(tracker)

    async def stopped(
        self,
        tenant: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> Events:
        """The user stopped a form: say so and forget what it had collected, so the next form
        asks afresh."""
        dispatcher.utter_message(**designed_or_text(domain, (STOPPED_RESPONSE,), STOPPED_TEXT))
        declared = domain_slots(domain)
        return [SlotSet(slot, None) for slot in DISPATCH_SLOTS if slot in declared]
