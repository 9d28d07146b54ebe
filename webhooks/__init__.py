"""Webhook Actions for Rasa: the framework-free core.

Definitions and their rules, the store (SQLAlchemy 2 + Alembic), encryption of header values,
settings and the exception tree. The adapters (``actions``, ``admin``, ``bot``) import only the
names listed in ``__all__`` here.
"""

from __future__ import annotations

from ._accounts import token_matches
from ._addresses import BLOCKED_NETWORKS, Allowance, blocked_reason
from ._database import make_engine, migrate
from ._definitions import (
    MAX_HEADERS,
    MAX_NAME_LENGTH,
    MAX_PARAMETERS,
    NAME_PATTERN,
    DefinitionInput,
    Parameter,
    merge_definition,
    parse_definition,
)
from ._egress import MAX_BODY_BYTES, TEST_PREVIEW_CHARS, Egress, trust
from ._exceptions import (
    CATEGORIES,
    ActionLimitReached,
    AlreadyExists,
    CallFailed,
    ConfigurationError,
    ConnectionFailed,
    ConversationLimitReached,
    DestinationBlocked,
    FieldError,
    HTTPStatusError,
    InvalidDefinition,
    InvalidResponse,
    InvalidURL,
    KeyMismatch,
    KeyringError,
    NotFound,
    PermissionDenied,
    StoreError,
    TLSFailed,
    Unauthenticated,
    WebhookError,
    WebhookTimeout,
)
from ._keyring import Keyring, generate_key
from ._limits import MAX_CALLS_PER_CONVERSATION, ConversationLimits
from ._messages import (
    TRUNCATION_MARK,
    WebhookRequest,
    WebhookResult,
    WebhookTestResult,
    reject_json_constant,
)
from ._naming import (
    STOP_INTENT,
    STOPPED_ACTION,
    STOPPED_RESPONSE,
    ask_action,
    ask_overrides,
    asked_by,
    failure_response_name,
    form_of,
    intent_of,
    result_slot,
    truncated_slot,
    validator_of,
    webhook_of_form,
    webhook_of_intent,
    webhook_of_validator,
)
from ._permissions import MANAGE, PERMISSIONS, READ
from ._records import AuditEntry, Operator, Tenant, TenantSnapshot, Webhook
from ._sentences import FAILURE_MESSAGES, STOPPED_TEXT, question
from ._settings import VARIABLES, Settings
from ._store import MAX_ACTIONS, Store, actor_of
from ._storebase import MAX_ID
from ._urls import check_url

__all__ = [
    "BLOCKED_NETWORKS",
    "CATEGORIES",
    "FAILURE_MESSAGES",
    "MANAGE",
    "MAX_ACTIONS",
    "MAX_BODY_BYTES",
    "MAX_CALLS_PER_CONVERSATION",
    "MAX_HEADERS",
    "MAX_ID",
    "MAX_NAME_LENGTH",
    "MAX_PARAMETERS",
    "NAME_PATTERN",
    "PERMISSIONS",
    "READ",
    "STOPPED_ACTION",
    "STOPPED_RESPONSE",
    "STOPPED_TEXT",
    "STOP_INTENT",
    "TEST_PREVIEW_CHARS",
    "TRUNCATION_MARK",
    "VARIABLES",
    "ActionLimitReached",
    "Allowance",
    "AlreadyExists",
    "AuditEntry",
    "CallFailed",
    "ConfigurationError",
    "ConnectionFailed",
    "ConversationLimitReached",
    "ConversationLimits",
    "DefinitionInput",
    "DestinationBlocked",
    "Egress",
    "FieldError",
    "HTTPStatusError",
    "InvalidDefinition",
    "InvalidResponse",
    "InvalidURL",
    "KeyMismatch",
    "Keyring",
    "KeyringError",
    "NotFound",
    "Operator",
    "Parameter",
    "PermissionDenied",
    "Settings",
    "Store",
    "StoreError",
    "TLSFailed",
    "Tenant",
    "TenantSnapshot",
    "Unauthenticated",
    "Webhook",
    "WebhookError",
    "WebhookRequest",
    "WebhookResult",
    "WebhookTestResult",
    "WebhookTimeout",
    "actor_of",
    "ask_action",
    "ask_overrides",
    "asked_by",
    "blocked_reason",
    "check_url",
    "failure_response_name",
    "form_of",
    "generate_key",
    "intent_of",
    "make_engine",
    "merge_definition",
    "migrate",
    "open_store",
    "parse_definition",
    "question",
    "reject_json_constant",
    "result_slot",
    "token_matches",
    "truncated_slot",
    "trust",
    "validator_of",
    "webhook_of_form",
    "webhook_of_intent",
    "webhook_of_validator",
]


def open_store(settings: Settings, *, create_key: bool = False, upgrade: bool = False) -> Store:
    """The store described by ``settings``, with its keys checked against stored values.

    ``create_key`` makes the key file when neither ``WEBHOOKS_KEYS`` nor the file exists (local
    runs); ``upgrade`` applies pending migrations first. Raises :class:`ConfigurationError` (or
    :class:`KeyMismatch`) at once rather than in the middle of a conversation.
    """
    keyring = (
        Keyring(settings.keys)
        if settings.keys
        else Keyring.from_file(settings.key_file, create=create_key)
    )
    engine = make_engine(settings.database_url)
    if upgrade:
        migrate(engine)
    store = Store(engine, keyring, allow=settings.egress_allow)
    store.verify_keys()
    return store
