"""Webhook definitions: the operator's input, checked against every product rule.

Input arrives as plain JSON-like data (from the admin API or a file). :func:`parse_definition`
and :func:`merge_definition` return a :class:`DefinitionInput` or raise
:class:`~webhooks.InvalidDefinition` listing every broken rule with its field path
(``parameters[2].type``, ``headers.X-Api-Key``), so the caller can point at the offending field,
in plain words (pydantic's own messages are translated by
:mod:`webhooks.definitions._input_errors`).

Headers are write-only. In input they are an object of name -> value; ``null`` as a value
removes a stored header (JSON merge-patch style), and a header left out keeps its stored value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .._categories import Category
from .._exceptions import CallFailed, FieldError, InvalidDefinition
from ..egress._messages import HEADER_NAME, HEADER_VALUE_FORBIDDEN, RESERVED_HEADERS
from ..egress._rules import EgressRules
from ..egress._urls import MAX_URL_LENGTH, check_url
from ._answers import pattern_problem
from ._budgets import MAX_BUDGET
from ._input_errors import input_errors
from ._naming import ACTION_SLOT, ANSWER_SLOT, ASKING_SLOT, MEMORY_SLOT, VALUES_SLOT
from ._templates import MAX_TEMPLATE, template_problem
from ._types import TYPES

__all__ = [
    "MAX_EXAMPLES",
    "MAX_HEADERS",
    "MAX_NAME_LENGTH",
    "MAX_PARAMETERS",
    "NAME_PATTERN",
    "NAME_RULE",
    "REPLY_KEYS",
    "SOURCES",
    "DefinitionInput",
    "Parameter",
    "ParameterType",
    "merge_definition",
    "parse_definition",
]

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
#: Long enough for any sensible action or slot name, short enough for Rasa's UIs and logs.
MAX_NAME_LENGTH = 64
MAX_PARAMETERS = 20
MAX_HEADERS = 20
MAX_HEADER_VALUE = 4096
#: Example requests per definition: enough to teach the router an action's wording, few enough
#: to keep the routing table (fetched by every Rasa replica) small.
MAX_EXAMPLES = 20
MAX_EXAMPLE_LENGTH = 200
MAX_ALLOWED_VALUES = 50
MAX_PATTERN_LENGTH = 200
#: The replies an operator may write: ``success``, and one per failure category.
REPLY_KEYS = ("success", *(category.value for category in Category))
#: When each reply is said, as the API's schema describes the ``replies`` object (the console
#: builds its fields from it).
_REPLIES_SCHEMA = {
    "propertyNames": {"enum": list(REPLY_KEYS)},
    "properties": {
        "success": {"description": "the webhook answered 2xx"},
        **{c.value: {"description": c.meaning} for c in Category},
    },
}
#: Where a parameter's value may come from instead of the user: the conversation's sender id,
#: the channel's name, or a slot of the bot's domain (``slot:<name>``).
SOURCES = ("sender_id", "channel", "slot:<name>")
_SLOT_SOURCE = re.compile(r"slot:[A-Za-z][A-Za-z0-9_]{0,63}")


def _known_type(name: str) -> str:
    if name not in TYPES:
        raise ValueError(f"must be one of {', '.join(TYPES)}")
    return name


#: A parameter type's name: one of :data:`webhooks.definitions._types.TYPES`.
ParameterType = Annotated[
    str, AfterValidator(_known_type), Field(json_schema_extra={"enum": list(TYPES)})
]
Method = Literal["POST", "GET"]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
#: Control characters a text may not hold (tab and newline are fine): NUL cannot be stored by
#: PostgreSQL at all, and the others only hide or forge what is shown and logged.
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if _TEXT_FORBIDDEN.search(value):
        # Never quoted: the text is the operator's, and the error goes to logs and clients.
        raise ValueError("must not contain control characters (NUL and the like)")
    return value


Text = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_printable)]
#: No line breaks or tabs either: one example or value is one line of the bot's training data.
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(value: str) -> str:
    if _LINE_FORBIDDEN.search(value):
        raise ValueError("must be one line without control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _source(value: str) -> str:
    if value not in SOURCES[:2] and not _SLOT_SOURCE.fullmatch(value):
        raise ValueError(
            "must be sender_id, channel, or slot: followed by a slot's name (slot:customer_id)"
        )
    return value


Source = Annotated[str, AfterValidator(_source)]
Reply = Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE), AfterValidator(_printable)]
Pattern = Annotated[
    str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH), AfterValidator(_printable)
]
Example = Annotated[
    str, Field(min_length=1, max_length=MAX_EXAMPLE_LENGTH), AfterValidator(_one_line)
]
AllowedValue = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]


#: Rasa keeps action_*, utter_* and validate_* for itself, and a designer's names for an action
#: X (utter_X_result, utter_ask_X_form_<parameter>, slots X_result and X_truncated) must read
#: one way only. Names that would collide are refused.
RESERVED_ACTION_PREFIXES = ("action_", "utter_", "validate_")
RESERVED_SUFFIXES = ("_form", "_result", "_truncated")
#: Names Rasa or the generic dispatch use for slots and entities; a parameter may not take one.
RESERVED_SLOTS = frozenset(
    {"requested_slot", "session_started_metadata", ACTION_SLOT, ANSWER_SLOT, ASKING_SLOT}
    | {VALUES_SLOT, MEMORY_SLOT}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Parameter(_Strict):
    """One typed value the bot collects from the user and sends to the webhook."""

    name: Name
    type: ParameterType = "string"
    description: Text
    required: bool = True
    #: For a string: the only answers accepted (matched regardless of case and accents, in an
    #: answer despite a slip; sent as written here), also taken straight from the request
    #: ("opening hours in Lisbon").
    values: Annotated[list[AllowedValue], Field(max_length=MAX_ALLOWED_VALUES)] | None = None
    #: For a string: a regular expression the answer must contain (the match is the value,
    #: or its first group), also taken straight from the request. A text like any other: a
    #: control character is written as an escape (``\x07``), never raw.
    pattern: Pattern | None = None
    #: Taken from the conversation instead of asked: ``sender_id``, ``channel`` or
    #: ``slot:<name>`` (asked after all when the conversation has no value for it).
    source: Source | None = None

    @property
    def free_text(self) -> bool:
        """Whether any text is a value (a string without allowed values or a pattern)."""
        return self.type == "string" and not self.values and not self.pattern

    def record(self) -> dict[str, Any]:
        """As stored: the optional rules only when set."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def stored(cls, record: Mapping[str, Any]) -> Parameter:
        """A parameter the store kept, validated when it was saved: built without checking."""
        return cls.model_construct(**record)


class DefinitionInput(_Strict):
    """A complete, valid definition as given by an operator (header values still in clear).

    ``headers`` maps a name to its new value, or to ``None`` to remove it; only the store ever
    sees the values, and it keeps them encrypted.
    """

    name: Name
    description: Text
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    method: Method = "POST"
    timeout: Annotated[float, Field(ge=1, le=30)] = 10.0
    parameters: Annotated[list[Parameter], Field(max_length=MAX_PARAMETERS)] = []
    #: Requests as users would write them; the live router matches messages against them.
    examples: Annotated[list[Example], Field(max_length=MAX_EXAMPLES)] = []
    headers: dict[str, SecretStr | None] = {}
    enabled: bool = True
    #: The action's own budget of calls per minute, within the tenant's; None: none of its own.
    calls_per_minute: Annotated[int, Field(ge=1, le=MAX_BUDGET)] | None = None
    #: The operator's replies: ``success`` and per failure category, templates over the
    #: values and the result (see ``_templates``).
    replies: Annotated[dict[str, Reply], Field(json_schema_extra=_REPLIES_SCHEMA)] = {}
    #: On a 4xx answer, say the service's own message (its ``message``, ``error`` or ``detail``
    #: text) instead of the generic sentence. Off unless the operator knows it is written for
    #: end users.
    service_messages: bool = False
    #: Make a failed POST again as a GET may be (see ``_retries``): only for a receiver that
    #: deduplicates calls by their ``Idempotency-Key``.
    retry_post: bool = False

    def public(self) -> dict[str, Any]:
        """The definition without header values (names of headers being set only)."""
        data = self.model_dump(exclude={"headers", "parameters"})
        data["parameters"] = [parameter.record() for parameter in self.parameters]
        data["headers"] = sorted(name for name, value in self.headers.items() if value is not None)
        return data


#: Each field's rule in words, said for any wrong value of it (pydantic's sentences otherwise):
#: never the regular expression itself, which operators need not read.
NAME_RULE = (
    f"use 1 to {MAX_NAME_LENGTH} lowercase letters, digits and underscores, starting with a letter"
)
_RULES = {
    "name": NAME_RULE,
    "timeout": "must be a number of seconds from 1 to 30",
    "calls_per_minute": f"must be a whole number from 1 to {MAX_BUDGET:,} (or none)",
}


def _from_pydantic(exc: ValidationError) -> list[FieldError]:
    # In plain words, by error type; the message never includes the input (a header value?).
    return input_errors(exc, rules=_RULES)


def _semantic_errors(
    definition: DefinitionInput, *, creating: bool, rules: EgressRules
) -> list[FieldError]:
    errors: list[FieldError] = []
    try:
        check_url(definition.url, rules=rules)
    except CallFailed as exc:
        errors.append(FieldError("url", str(exc), code="invalid_url"))

    for prefix in RESERVED_ACTION_PREFIXES:
        if definition.name.startswith(prefix):
            errors.append(
                FieldError("name", f"names starting with {prefix!r} belong to Rasa", "reserved")
            )
    for suffix in RESERVED_SUFFIXES:
        if definition.name.endswith(suffix):
            errors.append(
                FieldError(
                    "name", f"names ending in {suffix!r} are used for generated names", "reserved"
                )
            )
    seen: dict[str, int] = {}
    for index, parameter in enumerate(definition.parameters):
        if parameter.name in RESERVED_SLOTS or parameter.name.endswith(RESERVED_SUFFIXES):
            errors.append(
                FieldError(
                    f"parameters[{index}].name",
                    f"{parameter.name!r} is a name Rasa or the generated domain already uses",
                    "reserved",
                )
            )
        if parameter.name in seen:
            errors.append(
                FieldError(
                    f"parameters[{index}].name",
                    f"duplicate parameter name {parameter.name!r} "
                    f"(also parameters[{seen[parameter.name]}])",
                    code="duplicate",
                )
            )
        seen.setdefault(parameter.name, index)
        errors.extend(_answer_rule_errors(parameter, f"parameters[{index}]"))

    for key, template in definition.replies.items():
        if key not in REPLY_KEYS:
            errors.append(
                FieldError(
                    f"replies.{key}",
                    f"no such reply; the replies are {', '.join(REPLY_KEYS)}",
                    "unknown_field",
                )
            )
            continue
        problem = template_problem(template)
        if problem is not None:
            errors.append(FieldError(f"replies.{key}", problem, "invalid_template"))

    spelled: dict[str, int] = {}
    for index, example in enumerate(definition.examples):
        key = " ".join(example.lower().split())
        if key in spelled:
            errors.append(
                FieldError(
                    f"examples[{index}]",
                    f"the same example as examples[{spelled[key]}]",
                    code="duplicate",
                )
            )
        spelled.setdefault(key, index)

    lowered: dict[str, str] = {}
    for name, value in definition.headers.items():
        field = f"headers.{name}"
        if not HEADER_NAME.fullmatch(name):
            errors.append(
                FieldError(
                    "headers",
                    "header names are 1-128 characters of letters, digits and !#$%&'*+-.^_`|~",
                    code="invalid_header_name",
                )
            )
            continue
        if name.lower() in RESERVED_HEADERS:
            errors.append(
                FieldError(field, "this header is set by the webhook client itself", "reserved")
            )
        if name.lower() in lowered:
            errors.append(
                FieldError(field, f"duplicate header (also {lowered[name.lower()]!r})", "duplicate")
            )
        lowered.setdefault(name.lower(), name)
        if value is None:
            if creating:
                errors.append(FieldError(field, "a new header needs a string value", "required"))
            continue
        secret = value.get_secret_value()
        if len(secret) > MAX_HEADER_VALUE:
            errors.append(
                FieldError(field, f"header values are at most {MAX_HEADER_VALUE} characters")
            )
        elif HEADER_VALUE_FORBIDDEN.search(secret):
            errors.append(FieldError(field, "header values may not contain control characters"))
    if len(definition.headers) > MAX_HEADERS:
        errors.append(FieldError("headers", f"at most {MAX_HEADERS} headers"))
    return errors


def _answer_rule_errors(parameter: Parameter, field: str) -> list[FieldError]:
    """What is wrong with a parameter's allowed values or pattern."""
    errors: list[FieldError] = []
    if parameter.values is not None and parameter.pattern is not None:
        errors.append(
            FieldError(f"{field}.pattern", "give allowed values or a pattern, not both", "invalid")
        )
    for rule in ("values", "pattern"):
        if getattr(parameter, rule) is not None and parameter.type != "string":
            errors.append(
                FieldError(f"{field}.{rule}", "only string parameters take this rule", "invalid")
            )
    if parameter.values is not None:
        if not parameter.values:
            errors.append(FieldError(f"{field}.values", "give at least one value", "invalid"))
        lowered: dict[str, int] = {}
        for index, value in enumerate(parameter.values):
            key = value.strip().lower()
            if key in lowered:
                errors.append(
                    FieldError(
                        f"{field}.values[{index}]",
                        f"the same value as values[{lowered[key]}]",
                        "duplicate",
                    )
                )
            lowered.setdefault(key, index)
    if parameter.pattern is not None:
        problem = pattern_problem(parameter.pattern)
        if problem is not None:
            errors.append(FieldError(f"{field}.pattern", problem, "invalid_pattern"))
    return errors


def _validate(data: object, *, creating: bool, rules: EgressRules) -> DefinitionInput:
    if not isinstance(data, Mapping):
        raise InvalidDefinition([FieldError("body", "expected a JSON object", "invalid_type")])
    try:
        definition = DefinitionInput.model_validate(dict(data))
    except ValidationError as exc:
        # Every broken rule at once: the product rules still run on what did validate, so a
        # bad name and an http:// URL are answered together.
        errors = _from_pydantic(exc)
        salvaged = _salvaged(dict(data), exc)
        if salvaged is not None:
            partial, replaced = salvaged
            errors += [
                error
                for error in _semantic_errors(partial, creating=creating, rules=rules)
                if not any(_within(error.field, path) for path in replaced)
            ]
        raise InvalidDefinition(errors) from None
    errors = _semantic_errors(definition, creating=creating, rules=rules)
    if errors:
        raise InvalidDefinition(errors)
    return definition


def _within(field: str, path: str) -> bool:
    return field == path or field.startswith((f"{path}.", f"{path}["))


#: What stands in for a required top-level value pydantic refused (all are texts).
_STAND_IN = "x"


def _salvaged(
    data: dict[str, Any], exc: ValidationError
) -> tuple[DefinitionInput, set[str]] | None:
    """``data`` with each value pydantic refused replaced by a valid stand-in, and the paths
    replaced; None if that still does not validate.

    A refused field with a default takes it; a required one a plain text; a refused item of a
    list (a parameter, an example) an item no other item equals, so its index, and the
    others', stay as the operator wrote them; a refused header value is left out. What the
    product rules then find at a replaced path is about a stand-in, and is dropped.
    """
    fields = DefinitionInput.model_fields
    replaced: set[str] = set()
    for error in exc.errors(include_input=False, include_url=False):
        loc = error["loc"]
        key = loc[0] if loc else None
        if not isinstance(key, str):
            return None
        if key not in fields:  # an unknown field: not part of any rule
            data.pop(key, None)
            continue
        value = data.get(key)
        item = loc[1] if len(loc) > 1 else None
        if isinstance(value, list) and isinstance(item, int) and item < len(value):
            value = data[key] = list(value)
            value[item] = _item_stand_in(key, value)
            replaced.add(f"{key}[{item}]")
        elif isinstance(value, dict) and isinstance(item, str):
            data[key] = {k: v for k, v in value.items() if k != item}
            replaced.add(f"{key}.{item}")
        else:
            if fields[key].is_required():
                data[key] = _STAND_IN
            else:
                data.pop(key, None)
            replaced.add(key)
    try:
        return DefinitionInput.model_validate(data), replaced
    except ValidationError:
        return None


def _item_stand_in(key: str, items: list[Any]) -> object:
    """A valid item for the list ``key`` that equals none of ``items`` (their names, for
    parameters; their words, for texts), so no duplicate is found where there is none."""
    taken = {
        " ".join(str(item.get("name") if isinstance(item, dict) else item).lower().split())
        for item in items
    }
    text = next(f"stand_in_{n}" for n in range(len(items) + 1) if f"stand_in_{n}" not in taken)
    if key == "parameters":
        return {"name": text, "description": _STAND_IN}
    return text


def parse_definition(data: object, *, rules: EgressRules = EgressRules()) -> DefinitionInput:
    """Validate a whole new definition; raise :class:`InvalidDefinition` listing every error.

    ``rules`` are the deployment's egress rules (``Settings.egress_rules``; no allowance unless
    a developer set ``WEBHOOKS_EGRESS_ALLOW``), so a URL saved here is one the egress would also
    accept.
    """
    return _validate(data, creating=True, rules=rules)


def merge_definition(
    current: Mapping[str, Any],
    changes: object,
    *,
    replace: bool,
    rules: EgressRules = EgressRules(),
) -> DefinitionInput:
    """Validate ``changes`` applied to the stored ``current`` (its public form).

    With ``replace`` (HTTP PUT) every field not given returns to its default; otherwise
    (PATCH) it keeps its current value. Either way, headers not named keep their stored values
    and the name cannot change. ``rules`` are the deployment's egress rules, as for
    :func:`parse_definition`.
    """
    if not isinstance(changes, Mapping):
        raise InvalidDefinition([FieldError("body", "expected a JSON object", "invalid_type")])
    renamed = "name" in changes and changes["name"] != current["name"]
    base = {"name": current["name"]}
    if not replace:
        base |= {k: v for k, v in current.items() if k not in {"headers", "name"}}
    merged = base | {k: v for k, v in changes.items() if k not in {"headers", "name"}}
    merged["headers"] = changes.get("headers", {})
    rename = FieldError("name", "an action cannot be renamed; create a new one", "immutable")
    try:
        definition = _validate(merged, creating=False, rules=rules)
    except InvalidDefinition as exc:
        if renamed:  # said with the other errors, all at once
            raise InvalidDefinition([rename, *exc.errors]) from None
        raise
    if renamed:
        raise InvalidDefinition([rename])
    return definition
