"""Why the bot could not answer from a webhook: each category's code, meaning and sentence.

A new category is one line here. ``CallFailed.category`` is one of those a call can end in; the
action server adds ``disabled`` and ``not_configured``. The bot says the sentence, which a
designer overrides with ``utter_webhook_<code>`` (or ``utter_<action>_<code>``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CATEGORIES", "FAILURE_MESSAGES", "Category"]


class Category(StrEnum):
    """A failure category: the code (the enum's value), what it means, what the bot says."""

    meaning: str
    sentence: str
    from_call: bool

    def __new__(cls, code: str, meaning: str, sentence: str, from_call: bool = True) -> Category:
        category = str.__new__(cls, code)
        category._value_ = code
        category.meaning = meaning
        category.sentence = sentence
        category.from_call = from_call
        return category

    @classmethod
    def of(cls, code: str) -> Category:
        """The category whose code is ``code`` (``ValueError`` for none)."""
        for category in cls:
            if category.value == code:
                return category
        raise ValueError(f"no failure category {code!r}")

    REFUSED = (
        "refused",
        "the destination is not allowed (URL rules or blocked address)",
        "Sorry, I'm not allowed to contact that service.",
    )
    TIMEOUT = (
        "timeout",
        "the webhook did not answer within its timeout",
        "Sorry, the service took too long to answer. Please try again in a moment.",
    )
    UNAVAILABLE = (
        "unavailable",
        "the webhook could not be reached, failed TLS, or answered 5xx",
        "Sorry, I can't reach that service right now. Please try again later.",
    )
    NOT_FOUND = (
        "not_found",
        "the webhook answered 404 or 410: what was asked for does not exist",
        "Sorry, the service couldn't find what you asked for.",
    )
    REJECTED = (
        "rejected",
        "the webhook answered with another 4xx status",
        "Sorry, the service could not handle that request.",
    )
    INVALID_RESPONSE = (
        "invalid_response",
        "the webhook's answer was not valid HTTP",
        "Sorry, the service sent an answer I couldn't read.",
    )
    RATE_LIMITED = (
        "rate_limited",
        "the conversation reached its limit of webhook calls, or a budget of calls per minute "
        "is spent",
        "Sorry, I've already made as many lookups as I can in this conversation. "
        "Please start a new conversation to continue.",
    )
    DISABLED = (
        "disabled",
        "the action, or the tenant's skill, is switched off",
        "Sorry, that feature is switched off at the moment.",
        False,
    )
    NOT_CONFIGURED = (
        "not_configured",
        "the action is unknown to the store, or the model predates the dispatch",
        "Sorry, that feature isn't set up yet.",
        False,
    )


#: The categories a webhook call can end in (``CallFailed.category``), with their meaning.
CATEGORIES: dict[str, str] = {c.value: c.meaning for c in Category if c.from_call}
#: Every category's default sentence, by code.
FAILURE_MESSAGES: dict[str, str] = {c.value: c.sentence for c in Category}
