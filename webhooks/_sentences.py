"""The bot's default sentences for a failed webhook action, one per failure category.

The action server answers with them when the domain has no override, and the bot tooling
writes them into the generated domain as the default responses: one text for both.
"""

from __future__ import annotations

__all__ = ["FAILURE_MESSAGES"]

#: category -> the default sentence. The categories of the core's CallFailed, plus the
#: action server's own: disabled (action, or the tenant's skill, switched off) and
#: not_configured (the action is unknown to the store, or its definition and the model differ).
FAILURE_MESSAGES: dict[str, str] = {
    "timeout": "Sorry, the service took too long to answer. Please try again in a moment.",
    "unavailable": "Sorry, I can't reach that service right now. Please try again later.",
    "rejected": "Sorry, the service could not handle that request.",
    "refused": "Sorry, I'm not allowed to contact that service.",
    "invalid_response": "Sorry, the service sent an answer I couldn't read.",
    "rate_limited": (
        "Sorry, I've already made as many lookups as I can in this conversation. "
        "Please start a new conversation to continue."
    ),
    "disabled": "Sorry, that feature is switched off at the moment.",
    "not_configured": "Sorry, that feature isn't set up yet.",
}
