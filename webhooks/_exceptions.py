"""Every error the core raises, under one root.

    WebhookError                      root; ``str(exc)`` is safe to log (no secrets, no bodies)
    ├── ConfigurationError            bad settings at start-up (missing/invalid variable)
    │   └── KeyringError              no usable encryption key
    │       ├── KeyMismatch           stored secrets cannot be decrypted with the configured keys
    │       └── KeyOutdated           this process's keys are behind the store's (no write)
    ├── InvalidInput                  what was sent breaks a rule; ``.errors`` by field
    │   ├── InvalidDefinition         a definition breaks a product rule
    │   └── InvalidArguments          values for a call break its parameters' rules
    ├── StoreError                    the store refused an operation
    │   ├── NotFound                  no such tenant / operator / definition (``.kind``, ``.key``)
    │   ├── StoreUnavailable          the database cannot be reached now (nothing written)
    │   ├── AlreadyExists             the name is taken (``.kind``, ``.key``)
    │   │   └── ActionTokenInUse      a live action token would be replaced (``.tenant``)
    │   ├── ActionLimitReached        the tenant already has the maximum number of actions
    │   ├── SigningSecretLimitReached the action already has the most signing secrets it may
    │   ├── Unauthenticated           no such API token, or it was revoked
    │   └── PermissionDenied          the operator lacks a permission, or the skill is off
    ├── Throttled                     too many failures from one address, or too many Tests
    ├── TemplateFailed                a reply template broke a bound or misused the data
    └── CallFailed                    a webhook call did not produce a 2xx result (``.category``)
        ├── InvalidURL                the URL breaks the URL rules (``.reason``)
        ├── DestinationBlocked        the host is, or resolves to, a blocked address (``.reason``)
        ├── WebhookTimeout            the call's deadline passed
        ├── ConnectionFailed          no connection could be made (refused, reset, DNS failure)
        ├── TLSFailed                 certificate or handshake failure
        ├── HTTPStatusError           the webhook answered with a non-2xx status (``.status``)
        ├── InvalidResponse           the webhook's answer could not be read as HTTP
        ├── ConversationLimitReached  the conversation already made its maximum number of calls
        └── BudgetExhausted           the tenant's (or the action's) calls this minute are spent

``CallFailed.category`` is one short word the bot turns into a polite sentence; see
:data:`CATEGORIES`. Foreign exceptions are translated into this tree in one place per
concern (``raise ... from exc``), never leaked through the public API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._categories import CATEGORIES, Category

__all__ = [
    "ActionLimitReached",
    "ActionTokenInUse",
    "AlreadyExists",
    "BudgetExhausted",
    "CallFailed",
    "ConfigurationError",
    "ConnectionFailed",
    "ConversationLimitReached",
    "DestinationBlocked",
    "FieldError",
    "HTTPStatusError",
    "InvalidArguments",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidResponse",
    "InvalidURL",
    "KeyMismatch",
    "KeyOutdated",
    "KeyringError",
    "NotFound",
    "PermissionDenied",
    "SigningSecretLimitReached",
    "StoreError",
    "StoreUnavailable",
    "TLSFailed",
    "TemplateFailed",
    "Throttled",
    "Unauthenticated",
    "WebhookError",
    "WebhookTimeout",
    "error_body",
]


class WebhookError(Exception):
    """Root of every error raised by the core."""


class ConfigurationError(WebhookError):
    """A setting is missing or invalid; raised at start-up, never mid-conversation."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class KeyringError(ConfigurationError):
    """No usable encryption key was configured."""


class KeyOutdated(KeyringError):
    """This process's keys are behind the store's: writing with them could lose the value."""


class KeyMismatch(KeyringError):
    """Stored header values cannot be decrypted with any configured key."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: ``field`` is a path such as ``parameters[2].type``."""

    field: str
    message: str
    code: str = "invalid"


class InvalidInput(WebhookError):
    """What was sent breaks a rule: ``errors`` lists every broken rule; ``field`` is the first
    one's path."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        if not errors:
            raise ValueError(f"{type(self).__name__} needs at least one FieldError")
        self.errors: tuple[FieldError, ...] = tuple(errors)
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{first.field}: {first.message}{more}")

    @property
    def field(self) -> str:
        return self.errors[0].field


class InvalidDefinition(InvalidInput):
    """A definition (or part of one), or another request of an operator's, breaks a product
    rule."""


class InvalidArguments(InvalidInput):
    """Values given at once for a call (a Test's sample values, an agent's tool call) break
    the parameters' rules: a value that does not convert, an unknown or missing parameter."""


class StoreError(WebhookError):
    """The store refused an operation."""


class NotFound(StoreError):
    """No such object; ``kind`` is e.g. ``"tenant"``, ``key`` its name or id."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} does not exist")
        self.kind = kind
        self.key = key


class AlreadyExists(StoreError):
    """The name is already taken within its scope."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


class ActionTokenInUse(AlreadyExists):
    """The tenant has an action (or tools) token, which Rasa (or an MCP client) may be sending:
    replacing it needs consent."""

    def __init__(self, tenant: str, *, kind: str = "action token") -> None:
        rasa = kind == "action token"
        who, where = ("Rasa", "its endpoints.yml has") if rasa else ("MCP client", "it is given")
        StoreError.__init__(
            self,
            f"tenant {tenant!r} already has {'an' if rasa else 'a'} {kind}: a new one makes "
            f"every {who} that sends the current one fail with 401 until {where} the new one "
            '(pass --replace, or "replace": true through the admin API, to replace it)',
        )
        self.kind = kind
        self.key = tenant
        self.tenant = tenant


class StoreUnavailable(StoreError):
    """The database cannot be reached right now; nothing was written. Try again shortly.

    ``connection_lost``: a connection the store held was found dead (the database restarted,
    or the network cut it). The store's other connections from before are then replaced, so
    work that only reads may be tried again at once, once.
    """

    def __init__(self, *, connection_lost: bool = False) -> None:
        super().__init__("the database is unavailable right now; nothing was changed, try again")
        self.connection_lost = connection_lost


class ActionLimitReached(StoreError):
    """The tenant already has ``limit`` webhook actions."""

    def __init__(self, tenant: str, limit: int) -> None:
        super().__init__(f"tenant {tenant!r} already has the maximum of {limit} webhook actions")
        self.tenant = tenant
        self.limit = limit


class SigningSecretLimitReached(StoreError):
    """The action already has ``limit`` signing secrets: retire one before making another."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(
            f"action {name!r} already has {limit} signing secrets: retire the one receivers no "
            "longer use before making another"
        )
        self.name = name
        self.limit = limit


class Unauthenticated(StoreError):
    """No API token, or an unknown or revoked one (the message never contains the token)."""

    def __init__(self, message: str = "unknown or revoked API token") -> None:
        super().__init__(message)


class PermissionDenied(StoreError):
    """The operator may not do this; ``code`` says why.

    ``"skill_disabled"``: the tenant's webhook skill is off; ``"permission_denied"``: the
    operator lacks ``permission``; ``"admin_required"``: only a tenant admin may do it.
    """

    def __init__(
        self, message: str, *, code: str = "permission_denied", permission: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permission = permission


class Throttled(WebhookError):
    """Refused for now: ``retry_after`` whole seconds until a retry may pass; ``code`` says
    which bound (``"too_many_failures"``: failed authentications from the client's address;
    ``"too_many_tests"``: an operator's Test calls)."""

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class CallFailed(WebhookError):
    """A webhook call failed; ``category`` is one of :data:`CATEGORIES`."""

    category: str = Category.UNAVAILABLE
    #: Why each earlier attempt of the call was made again (``webhooks.egress._retries``), if any.
    retries: tuple[str, ...] = ()

    def __init__(self, message: str, *, category: str | None = None) -> None:
        super().__init__(message)
        if category is not None:
            self.category = category
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown failure category {self.category!r}")


class InvalidURL(CallFailed):
    """The URL breaks the URL rules; ``reason`` says which."""

    category = Category.REFUSED

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid webhook URL: {reason}")
        self.reason = reason


class DestinationBlocked(CallFailed):
    """The host is, or resolves to (``resolved``), an address the policy blocks."""

    category = Category.REFUSED

    def __init__(self, reason: str, *, address: str | None = None, resolved: bool = False) -> None:
        # Said once: the reason often names the address already.
        where = f" ({address})" if address and address not in reason else ""
        super().__init__(f"destination blocked: {reason}{where}")
        self.reason = reason
        self.address = address
        #: Refused for what the host name resolved to, not for the URL as written.
        self.resolved = resolved


class WebhookTimeout(CallFailed):
    """The call's deadline (connect to last byte) passed."""

    category = Category.TIMEOUT


class ConnectionFailed(CallFailed):
    """No connection could be made: refused, reset, unreachable or no DNS answer."""

    category = Category.UNAVAILABLE


class TLSFailed(CallFailed):
    """The TLS handshake failed or the certificate was not valid for the host."""

    category = Category.UNAVAILABLE


class TemplateFailed(WebhookError):
    """A reply template could not be rendered within its bounds; ``reason`` says which (never
    the data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: The statuses that say what was asked for does not exist (category ``not_found``).
NOT_FOUND_STATUSES = frozenset({404, 410})


class HTTPStatusError(CallFailed):
    """The webhook answered with a non-2xx status; the result is kept for the caller.

    5xx is ``unavailable``, 404 and 410 ``not_found``, any other status ``rejected``.
    """

    def __init__(self, status: int, *, result: object | None = None) -> None:
        if status >= 500:
            category = Category.UNAVAILABLE
        elif status in NOT_FOUND_STATUSES:
            category = Category.NOT_FOUND
        else:
            category = Category.REJECTED
        super().__init__(f"webhook answered HTTP {status}", category=category)
        self.status = status
        self.result = result


class InvalidResponse(CallFailed):
    """The webhook's answer was not valid HTTP."""

    category = Category.INVALID_RESPONSE


class ConversationLimitReached(CallFailed):
    """The conversation already made ``limit`` webhook calls."""

    category = Category.RATE_LIMITED

    def __init__(self, limit: int) -> None:
        super().__init__(f"this conversation already made the maximum of {limit} webhook calls")
        self.limit = limit


class BudgetExhausted(CallFailed):
    """The budget of webhook calls per minute of ``scope`` (``*``: the tenant's; else the
    action's name) is spent: ``limit`` calls were made in this window.

    Answered to the user as the conversation limit is (the same category), and counted apart
    from it in the metrics (``_budgets.BUDGET_OUTCOME``).
    """

    category = Category.RATE_LIMITED

    def __init__(self, scope: str, limit: int) -> None:
        whose = "the tenant's" if scope == "*" else "the action's"
        super().__init__(f"{whose} budget of {limit} webhook calls per minute is spent")
        self.scope = scope
        self.limit = limit


def error_body(code: str, message: str, *, field: str | None = None) -> dict[str, Any]:
    """The JSON body of every error either server answers: ``{"error": {code, message,
    field}}``; ``code`` is stable, ``field`` names the offending input (None when none)."""
    return {"error": {"code": code, "message": message, "field": field}}
