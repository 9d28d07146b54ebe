"""Webhook Actions for Rasa: the framework-free core.

Its parts, each a subpackage that uses only the parts above it (``tests/test_project.py``):

    egress/       the guarded HTTP client: URL and address rules, requests and results, signing
    definitions/  what an operator defines and how a value is judged
    store/        persistence (SQLAlchemy 2 + Alembic), encryption of stored values
    calls/        one webhook call as the servers make it

Beside them: the one error tree (``_exceptions``, with its ``_categories``), which every part
uses, and what the servers share: settings, log lines, listening sockets, the throttle of
failed authentications. The adapters (``actions``, ``admin``, ``bot``...) import only the
names listed in ``__all__`` here.
"""

from __future__ import annotations

from ._categories import FAILURE_MESSAGES, Category
from ._cli import (
    GENERATE_KEY_COMMAND,
    MIGRATE_COMMAND,
    Command,
    CommandArgument,
    CommandOutput,
    command_of,
    command_parser,
)
from ._exceptions import (
    ActionLimitReached,
    ActionTokenInUse,
    AlreadyExists,
    BudgetExhausted,
    CallFailed,
    ConfigurationError,
    ConnectionFailed,
    ConversationLimitReached,
    DestinationBlocked,
    FieldError,
    HTTPStatusError,
    InvalidArguments,
    InvalidDefinition,
    InvalidInput,
    InvalidResponse,
    InvalidURL,
    KeyMismatch,
    KeyOutdated,
    KeyringError,
    NotFound,
    PermissionDenied,
    SigningSecretLimitReached,
    StoreError,
    StoreUnavailable,
    TemplateFailed,
    Throttled,
    TLSFailed,
    Unauthenticated,
    WebhookError,
    WebhookTimeout,
    error_body,
)
from ._listener import listen
from ._logs import call_logger, configure_logging
from ._settings import Settings
from ._throttle import DEFAULT_AUTH_FAILURES, AuthFailures, Throttle
from ._version import VERSION
from .calls._calls import PAUSED_OUTCOME, WebhookCalls
from .calls._limits import MAX_CALLS_PER_CONVERSATION, ConversationLimits
from .calls._metrics import METRICS_CONTENT_TYPE, Metrics
from .calls._pauses import FAILURES_TO_PAUSE, FIRST_PAUSE
from .calls._replies import (
    CallFailure,
    failure_reply,
    failure_text,
    operator_reply,
    render_result,
    spoken_value,
    success_text,
    template_data,
)
from .calls._tools import TOOL_SHAPES, mcp_tool, tools_of
from .definitions._answers import allowed_value, value_in_request
from .definitions._arguments import call_arguments
from .definitions._budgets import DEFAULT_TENANT_BUDGET, MAX_BUDGET
from .definitions._definitions import (
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    NAME_RULE,
    DefinitionInput,
    Parameter,
)
from .definitions._input_errors import input_errors
from .definitions._naming import (
    ACTION_SLOT,
    ANSWER_SLOT,
    ASK_ANSWER_ACTION,
    ASKING_SLOT,
    CALL_ACTION,
    DISPATCH_FORM,
    DISPATCH_SLOTS,
    DISPATCH_VALIDATOR,
    FALLBACK_INTENTS,
    GREET_INTENT,
    HELP_ACTION,
    HELP_INTENT,
    HELP_RESPONSE,
    MEMORY_SLOT,
    NOT_AN_ANSWER_INTENTS,
    NOT_AN_ANSWER_RESPONSE,
    STOP_INTENT,
    STOPPED_ACTION,
    STOPPED_RESPONSE,
    SWITCH_ACTION,
    SWITCH_INTENTS,
    VALUES_SLOT,
    WEBHOOK_INTENT,
    ask_overrides,
    failure_overrides,
    failure_response_name,
    intent_of,
    result_response,
    result_slot,
    truncated_slot,
    webhook_of_intent,
)
from .definitions._sentences import (
    NOT_AN_ANSWER_TEXT,
    STOPPED_TEXT,
    action_list,
    asked_for,
    choices,
    help_text,
    question,
    reused,
    summary,
)
from .definitions._templates import MAX_TEMPLATE, render_template, template_problem
from .definitions._texts import reject_lone_surrogates
from .definitions._types import TYPES, BadValue, NumberOutOfRange, Value, convert, convert_for
from .egress._egress import Egress
from .egress._egress import trust as _trust
from .egress._messages import (
    WebhookRequest,
    WebhookResult,
    WebhookTestResult,
    masked_url,
    reject_json_constant,
)
from .egress._redaction import redact
from .egress._rules import EgressRules
from .egress._signing import Signer
from .store._accounts import MAX_OPERATOR_NAME, bearer_matches, bearer_token, token_matches
from .store._database import check_database as _check_database
from .store._database import make_engine, migrate
from .store._keyring import Keyring, generate_key, read_key_file, write_key_file
from .store._keyring import key_id as key_id_of
from .store._permissions import MANAGE, PERMISSIONS, READ
from .store._records import (
    AuditEntry,
    CallPause,
    LastTest,
    Operator,
    SigningSecret,
    Tenant,
    TenantSnapshot,
    Webhook,
)
from .store._registry import DEFAULT_REFRESH_INTERVAL, Registry
from .store._store import Store, actor_of
from .store._tables import MAX_ID

__all__ = [
    "ACTION_SLOT",
    "ANSWER_SLOT",
    "ASKING_SLOT",
    "ASK_ANSWER_ACTION",
    "CALL_ACTION",
    "DEFAULT_AUTH_FAILURES",
    "DEFAULT_REFRESH_INTERVAL",
    "DEFAULT_TENANT_BUDGET",
    "DISPATCH_FORM",
    "DISPATCH_SLOTS",
    "DISPATCH_VALIDATOR",
    "FAILURES_TO_PAUSE",
    "FAILURE_MESSAGES",
    "FALLBACK_INTENTS",
    "FIRST_PAUSE",
    "GENERATE_KEY_COMMAND",
    "GREET_INTENT",
    "HELP_ACTION",
    "HELP_INTENT",
    "HELP_RESPONSE",
    "MANAGE",
    "MAX_BUDGET",
    "MAX_CALLS_PER_CONVERSATION",
    "MAX_ID",
    "MAX_NAME_LENGTH",
    "MAX_OPERATOR_NAME",
    "MAX_TEMPLATE",
    "MEMORY_SLOT",
    "METRICS_CONTENT_TYPE",
    "MIGRATE_COMMAND",
    "NAME_PATTERN",
    "NAME_RULE",
    "NOT_AN_ANSWER_INTENTS",
    "NOT_AN_ANSWER_RESPONSE",
    "NOT_AN_ANSWER_TEXT",
    "PAUSED_OUTCOME",
    "PERMISSIONS",
    "READ",
    "STOPPED_ACTION",
    "STOPPED_RESPONSE",
    "STOPPED_TEXT",
    "STOP_INTENT",
    "SWITCH_ACTION",
    "SWITCH_INTENTS",
    "TOOL_SHAPES",
    "TYPES",
    "VALUES_SLOT",
    "VERSION",
    "WEBHOOK_INTENT",
    "ActionLimitReached",
    "ActionTokenInUse",
    "AlreadyExists",
    "AuditEntry",
    "AuthFailures",
    "BadValue",
    "BudgetExhausted",
    "CallFailed",
    "CallFailure",
    "CallPause",
    "Category",
    "Command",
    "CommandArgument",
    "CommandOutput",
    "ConfigurationError",
    "ConnectionFailed",
    "ConversationLimitReached",
    "ConversationLimits",
    "DefinitionInput",
    "DestinationBlocked",
    "Egress",
    "EgressRules",
    "FieldError",
    "HTTPStatusError",
    "InvalidArguments",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidResponse",
    "InvalidURL",
    "KeyMismatch",
    "KeyOutdated",
    "Keyring",
    "KeyringError",
    "LastTest",
    "Metrics",
    "NotFound",
    "NumberOutOfRange",
    "Operator",
    "Parameter",
    "PermissionDenied",
    "Registry",
    "Settings",
    "Signer",
    "SigningSecret",
    "SigningSecretLimitReached",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TLSFailed",
    "TemplateFailed",
    "Tenant",
    "TenantSnapshot",
    "Throttle",
    "Throttled",
    "Unauthenticated",
    "Value",
    "Webhook",
    "WebhookCalls",
    "WebhookError",
    "WebhookRequest",
    "WebhookResult",
    "WebhookTestResult",
    "WebhookTimeout",
    "action_list",
    "actor_of",
    "allowed_value",
    "ask_overrides",
    "asked_for",
    "bearer_matches",
    "bearer_token",
    "call_arguments",
    "call_logger",
    "choices",
    "command_of",
    "command_parser",
    "configure_logging",
    "convert",
    "convert_for",
    "egress_for",
    "error_body",
    "failure_overrides",
    "failure_reply",
    "failure_response_name",
    "failure_text",
    "generate_key",
    "help_text",
    "input_errors",
    "intent_of",
    "key_id_of",
    "listen",
    "make_engine",
    "masked_url",
    "mcp_tool",
    "migrate",
    "open_store",
    "operator_reply",
    "question",
    "read_key_file",
    "redact",
    "reject_json_constant",
    "reject_lone_surrogates",
    "render_result",
    "render_template",
    "result_response",
    "result_slot",
    "reused",
    "spoken_value",
    "success_text",
    "summary",
    "template_data",
    "template_problem",
    "token_matches",
    "tools_of",
    "truncated_slot",
    "value_in_request",
    "webhook_of_intent",
    "write_key_file",
]


def open_store(settings: Settings, *, create_key: bool = False, upgrade: bool = False) -> Store:
    """The store described by ``settings``, with its keys checked against stored values.

    ``upgrade`` applies pending migrations first (creating a SQLite file); otherwise the
    database must exist and be migrated. ``create_key`` makes the key file when neither
    ``WEBHOOKS_KEYS`` nor the file exists (local runs). Raises :class:`ConfigurationError` (or
    :class:`KeyMismatch`) with the fix at once, rather than in the middle of a conversation,
    and creates nothing when it does.
    """
    engine = make_engine(settings.database_url)
    try:
        if upgrade:
            migrate(engine)
        _check_database(engine)
        keyring = (
            Keyring(settings.keys)
            if settings.keys
            else Keyring.from_file(settings.key_file, create=create_key)
        )
        store = Store(engine, keyring, rules=settings.egress_rules)
        store.keys.verify()
    except BaseException:
        engine.dispose()
        raise
    return store


def egress_for(settings: Settings) -> Egress:
    """The process's guarded webhook client for ``settings``, as every server makes it.

    It keeps the deployment's egress rules, trusts the extra CA of ``WEBHOOKS_CA_FILE`` besides
    the system's, and lets each tenant have ``WEBHOOKS_TENANT_CALLS`` calls in flight. One per
    process: the servers close it when they stop.
    """
    return Egress(
        rules=settings.egress_rules,
        ssl_context=_trust(settings.ca_file),
        share_limit=settings.tenant_calls,
    )
