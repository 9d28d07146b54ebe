"""What the bot says from a call's outcome, before any designer's response is considered.

The bot never invents data. A successful call is answered with the operator's ``success``
template over the values and the result, else from the result itself (its ``text`` or
``message`` field, else a compact rendering). A failure is answered with the operator's
template for its category, else, when the operator switched it on, the service's own message
of a 4xx answer, else the category's sentence. The action server puts a designer's responses
between the two (``actions._replies``); the admin API's Test shows this, the bot's own view.

A template that fails (a bound broken, the data not what it expected) is logged with its
reason and the default reply is said instead: the user always gets an answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._categories import Category
from .._exceptions import TemplateFailed
from ..definitions._templates import MAX_REPLY, render_template
from ..egress._messages import JSONValue
from ..store._records import Webhook

__all__ = [
    "MAX_SERVICE_MESSAGE",
    "TRUNCATED_NOTE",
    "CallFailure",
    "failure_reply",
    "failure_text",
    "operator_reply",
    "render_result",
    "service_message",
    "spoken_value",
    "success_text",
    "template_data",
]

logger = logging.getLogger("webhooks.replies")

TRUNCATED_NOTE = "(The answer was cut short.)"
#: Most characters of a service's own message said to the user.
MAX_SERVICE_MESSAGE = 300
#: The fields a service's error answer says its message in, most usual first.
_MESSAGE_FIELDS = ("message", "error", "detail", "error_description", "title")
#: Categories of an answer the service wrote (a 4xx), whose message may be said.
_SERVICE_CATEGORIES = frozenset({Category.REJECTED, Category.NOT_FOUND})


@dataclass(frozen=True, slots=True)
class CallFailure:
    """A call that did not produce a 2xx result: its ``category``, and for an answer with
    another status that ``status`` and the answer's ``data`` (its header values masked)."""

    category: Category
    status: int | None = None
    data: JSONValue = field(default=None, repr=False)

    @property
    def sentence(self) -> str:
        return self.category.sentence


#: The values said as written (a tuple made once: ``int | float | str`` is a new union at every
#: value said).
_SAID_AS_WRITTEN = (int, float, str)


def spoken_value(value: object) -> str:
    """One value of a result as the bot says it: yes/no, none, the number or text, else
    compact JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, _SAID_AS_WRITTEN):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def render_result(data: object, *, truncated: bool) -> str:
    """A readable sentence from the result: its text/message field, or its fields compactly."""
    if isinstance(data, dict):
        for key in ("text", "message"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                text = value.strip()
                break
        else:
            if len(data) == 1 and "response_text" in data:  # no set of the keys made
                text = str(data["response_text"]).strip()
            else:
                text = "; ".join(f"{key}: {spoken_value(value)}" for key, value in data.items())
    elif isinstance(data, list):
        text = "\n".join(f"- {spoken_value(item)}" for item in data)
    else:
        text = spoken_value(data)
    if len(text) > MAX_REPLY:
        text = text[: MAX_REPLY - 1].rstrip() + "…"
        truncated = True
    if not text:
        text = "The service answered with nothing."
    return f"{text}\n{TRUNCATED_NOTE}" if truncated else text


def service_message(data: JSONValue) -> str | None:
    """The message a service wrote in its error answer (a JSON object's ``message``,
    ``error``, ``detail``... or the same one level down, as in ``{"error": {"message": …}}``),
    as one line of plain text of at most :data:`MAX_SERVICE_MESSAGE` characters; None when
    it wrote none."""
    if not isinstance(data, dict):
        return None
    found: str | None = None
    for container in (data, *(data.get(k) for k in ("error", "errors"))):
        if isinstance(container, list) and container:
            container = container[0]
        if not isinstance(container, dict):
            continue
        for key in _MESSAGE_FIELDS:
            value = container.get(key)
            if isinstance(value, str) and value.strip():
                found = value
                break
        if found is not None:
            break
    if found is None:
        return None
    # One line, no control characters: it is said as plain text on every channel.
    text = " ".join("".join(c if c.isprintable() else " " for c in found).split())
    if len(text) > MAX_SERVICE_MESSAGE:
        text = text[: MAX_SERVICE_MESSAGE - 1].rstrip() + "…"
    return text or None


def template_data(
    values: Mapping[str, Any],
    *,
    result: object = None,
    status: int | None = None,
    message: str | None = None,
    truncated: bool = False,
) -> dict[str, Any]:
    """The names a reply template sees: each parameter's value by its name (and all of them
    as ``values``), the webhook's ``result`` (for a failure, its error answer), the HTTP
    ``status``, the service's own ``message`` and whether the result was ``truncated``. These
    five win over a parameter of the same name, which ``values.<name>`` still reaches."""
    data = dict(values)
    data.update(
        values=dict(values), result=result, status=status, message=message, truncated=truncated
    )
    return data


def operator_reply(
    webhook: Webhook, key: str, data: Mapping[str, Any], *, truncated: bool = False
) -> str | None:
    """The operator's ``key`` reply (``success`` or a category) rendered over ``data``, with
    the truncation note when the result or the reply was cut; None without a template, or
    when it failed or said nothing (the default reply is then said)."""
    template = webhook.replies.get(key)
    if template is None:
        return None
    try:
        rendered = render_template(template, data)
    except TemplateFailed as exc:
        logger.warning(
            "tenant=%s action=%s: the %s reply failed (%s); the default reply was said",
            webhook.tenant,
            webhook.name,
            key,
            exc.reason,
        )
        return None
    if not rendered.text:
        return None
    return f"{rendered.text}\n{TRUNCATED_NOTE}" if truncated or rendered.cut else rendered.text


def failure_reply(
    webhook: Webhook | None, failure: CallFailure, values: Mapping[str, Any]
) -> str | None:
    """What the operator set for ``failure``: the category's template, else the service's own
    message when switched on; None when neither applies (the category's sentence, or a
    designer's response, is then said)."""
    if webhook is None:
        return None
    message = service_message(failure.data)
    data = template_data(values, result=failure.data, status=failure.status, message=message)
    reply = operator_reply(webhook, failure.category.value, data)
    if reply is not None:
        return reply
    if webhook.service_messages and failure.category in _SERVICE_CATEGORIES:
        return message
    return None


def success_text(
    webhook: Webhook,
    values: Mapping[str, Any],
    data: JSONValue,
    *,
    status: int | None,
    truncated: bool,
) -> str:
    """What the bot says for a 2xx answer when no designer's response applies."""
    context = template_data(values, result=data, status=status, truncated=truncated)
    reply = operator_reply(webhook, "success", context, truncated=truncated)
    return reply if reply is not None else render_result(data, truncated=truncated)


def failure_text(webhook: Webhook, failure: CallFailure, values: Mapping[str, Any]) -> str:
    """What the bot says for ``failure`` when no designer's response applies."""
    return failure_reply(webhook, failure, values) or failure.category.sentence
