"""The product rules of a definition, as tables of good and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from webhooks import InvalidDefinition
from webhooks.definitions._definitions import merge_definition, parse_definition


def valid(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "order_status",
        "description": "Look up the status of an order",
        "url": "https://api.example.com/orders",
    }
    base.update(changes)
    return base


def errors_of(data: object) -> dict[str, str]:
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(data)
    return {error.field: error.code for error in caught.value.errors}


def test_minimal_definition_gets_the_documented_defaults() -> None:
    definition = parse_definition(valid())
    assert definition.method == "POST"
    assert definition.timeout == 10
    assert definition.parameters == []
    assert definition.headers == {}
    assert definition.enabled is True


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"name": "a"}, id="one-letter-name"),
        pytest.param({"name": "get_order_2"}, id="digits-and-underscores"),
        pytest.param({"name": "a" * 64}, id="name-at-max-length"),
        pytest.param({"method": "GET"}, id="get"),
        pytest.param({"timeout": 1}, id="timeout-min-int"),
        pytest.param({"timeout": 30.0}, id="timeout-max"),
        pytest.param({"timeout": 2.5}, id="timeout-fraction"),
        pytest.param({"enabled": False}, id="disabled"),
        pytest.param({"url": "https://api.example.com:8443/v1/x?a=1"}, id="port-and-query"),
        pytest.param({"url": "https://93.184.215.14/hook"}, id="public-ipv4-literal"),
        pytest.param(
            {
                "parameters": [
                    {"name": "order_id", "type": "integer", "description": "The order number"},
                    {
                        "name": "amount",
                        "type": "number",
                        "description": "Amount",
                        "required": False,
                    },
                    {"name": "express", "type": "boolean", "description": "Express?"},
                    {"name": "note", "description": "A note"},
                ]
            },
            id="every-parameter-type",
        ),
        pytest.param({"headers": {"Authorization": "Bearer abc", "X-Api-Key": "k"}}, id="headers"),
        pytest.param({"headers": {"X-Tab": "a\tb"}}, id="header-value-with-tab"),
    ],
)
def test_valid_definitions_are_accepted(changes: dict[str, Any]) -> None:
    parse_definition(valid(**changes))


BAD = [
    pytest.param({"name": ""}, "name", id="empty-name"),
    pytest.param({"name": "Order"}, "name", id="uppercase-name"),
    pytest.param({"name": "1order"}, "name", id="name-starts-with-digit"),
    pytest.param({"name": "_order"}, "name", id="name-starts-with-underscore"),
    pytest.param({"name": "order-status"}, "name", id="name-with-dash"),
    pytest.param({"name": "order status"}, "name", id="name-with-space"),
    pytest.param({"name": "a" * 65}, "name", id="name-too-long"),
    pytest.param({"name": 7}, "name", id="name-not-a-string"),
    pytest.param({"description": ""}, "description", id="empty-description"),
    pytest.param({"description": "x" * 1001}, "description", id="description-too-long"),
    pytest.param({"url": "http://api.example.com/x"}, "url", id="plain-http"),
    pytest.param({"url": "ftp://api.example.com/x"}, "url", id="ftp"),
    pytest.param({"url": "https://user:pw@api.example.com/x"}, "url", id="userinfo"),
    pytest.param({"url": "https://127.0.0.1/x"}, "url", id="loopback-literal"),
    pytest.param({"url": "https://10.0.0.1/x"}, "url", id="rfc1918-literal"),
    pytest.param({"url": "https://169.254.169.254/latest"}, "url", id="metadata-literal"),
    pytest.param({"url": "https://[::1]/x"}, "url", id="ipv6-loopback"),
    pytest.param({"url": "https://localhost/x"}, "url", id="localhost"),
    pytest.param({"url": "not a url"}, "url", id="garbage-url"),
    pytest.param({"url": ""}, "url", id="empty-url"),
    pytest.param({"method": "PUT"}, "method", id="put"),
    pytest.param({"method": "post"}, "method", id="lowercase-method"),
    pytest.param({"timeout": 0.5}, "timeout", id="timeout-too-small"),
    pytest.param({"timeout": 31}, "timeout", id="timeout-too-large"),
    pytest.param({"timeout": "10"}, "timeout", id="timeout-as-string"),
    pytest.param({"enabled": "yes"}, "enabled", id="enabled-not-boolean"),
    pytest.param({"parameters": {}}, "parameters", id="parameters-not-a-list"),
    pytest.param(
        {"parameters": [{"name": "x", "type": "date", "description": "d"}]},
        "parameters[0].type",
        id="unknown-parameter-type",
    ),
    pytest.param(
        {"parameters": [{"name": "X", "description": "d"}]},
        "parameters[0].name",
        id="bad-parameter-name",
    ),
    pytest.param(
        {"parameters": [{"name": "x"}]}, "parameters[0].description", id="parameter-no-description"
    ),
    pytest.param(
        {"parameters": [{"name": "x", "description": "d", "required": "no"}]},
        "parameters[0].required",
        id="required-not-boolean",
    ),
    pytest.param(
        {"parameters": [{"name": "x", "description": "d", "default": 1}]},
        "parameters[0].default",
        id="unknown-parameter-field",
    ),
    pytest.param(
        {
            "parameters": [
                {"name": "a", "description": "d"},
                {"name": "b", "description": "d"},
                {"name": "a", "description": "d"},
            ]
        },
        "parameters[2].name",
        id="duplicate-parameter",
    ),
    pytest.param(
        {"parameters": [{"name": f"p{i}", "description": "d"} for i in range(21)]},
        "parameters",
        id="too-many-parameters",
    ),
    pytest.param({"headers": {"Bad Name": "v"}}, "headers", id="header-name-with-space"),
    pytest.param({"headers": {"": "v"}}, "headers", id="empty-header-name"),
    pytest.param({"headers": {"X-A": "a\r\nX-B: b"}}, "headers.X-A", id="header-injection"),
    pytest.param({"headers": {"X-A": "a\x00"}}, "headers.X-A", id="header-nul"),
    pytest.param({"headers": {"X-A": "v" * 4097}}, "headers.X-A", id="header-too-long"),
    pytest.param({"headers": {"Host": "evil"}}, "headers.Host", id="reserved-host"),
    pytest.param(
        {"headers": {"transfer-encoding": "chunked"}},
        "headers.transfer-encoding",
        id="reserved-transfer-encoding",
    ),
    pytest.param({"headers": {"X-A": "1", "x-a": "2"}}, "headers.x-a", id="duplicate-header"),
    pytest.param({"headers": {"X-A": None}}, "headers.X-A", id="null-header-on-create"),
    pytest.param({"headers": {"X-A": 5}}, "headers.X-A", id="header-value-not-string"),
    pytest.param({"headers": ["X-A"]}, "headers", id="headers-not-an-object"),
    pytest.param({"colour": "blue"}, "colour", id="unknown-field"),
    pytest.param({"name": "action_session_start"}, "name", id="rasa-action-name"),
    pytest.param({"name": "utter_greet"}, "name", id="rasa-response-name"),
    pytest.param({"name": "validate_x_form"}, "name", id="validator-name"),
    pytest.param({"name": "order_form"}, "name", id="form-suffix"),
    pytest.param({"name": "order_result"}, "name", id="result-suffix"),
    pytest.param(
        {"parameters": [{"name": "requested_slot", "description": "d"}]},
        "parameters[0].name",
        id="rasa-slot-name",
    ),
    pytest.param(
        {"parameters": [{"name": "other_truncated", "description": "d"}]},
        "parameters[0].name",
        id="generated-slot-suffix",
    ),
]


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_invalid_definitions_name_the_offending_field(changes: dict[str, Any], field: str) -> None:
    assert field in errors_of(valid(**changes))


@pytest.mark.parametrize("missing", ["name", "description", "url"])
def test_missing_required_field_is_reported_as_required(missing: str) -> None:
    data = valid()
    del data[missing]
    assert errors_of(data) == {missing: "required"}


def test_every_error_is_reported_at_once() -> None:
    fields = errors_of(valid(name="Bad", timeout=99, method="DELETE"))
    assert set(fields) == {"name", "timeout", "method"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"name": "Bad Name", "url": "http://api.example.com/x"},
            {"name": "invalid", "url": "invalid_url"},
            id="bad-name-and-plain-http",
        ),
        pytest.param(
            {"description": "", "name": "action_lookup", "timeout": 0},
            {"description": "invalid", "name": "reserved", "timeout": "invalid"},
            id="empty-description-and-reserved-name",
        ),
        pytest.param(
            {
                "parameters": [
                    {"name": "a", "type": "date", "description": "d"},
                    {"name": "b", "description": "d"},
                    {"name": "b", "description": "d"},
                    {"name": "requested_slot", "description": "d"},
                ]
            },
            {
                "parameters[0].type": "invalid",
                "parameters[2].name": "duplicate",
                "parameters[3].name": "reserved",
            },
            id="a-bad-parameter-and-the-others-rules",
        ),
        pytest.param(
            {"examples": ["a\tb", "where is it", "Where  is it"], "headers": {"Host": 5}},
            {"examples[0]": "invalid", "examples[2]": "duplicate", "headers.Host": "invalid"},
            id="a-bad-example-and-a-duplicate",
        ),
        pytest.param(
            {"parameters": [{"name": "stand_in_0"}, {"name": "stand_in_0", "description": "d"}]},
            {"parameters[0].description": "required"},
            id="a-stand-in-is-never-a-duplicate",
        ),
        pytest.param(
            {"colour": "blue", "url": "https://10.0.0.1/x"},
            {"colour": "unknown_field", "url": "invalid_url"},
            id="unknown-field-and-private-url",
        ),
    ],
)
def test_the_product_rules_run_on_what_did_validate(
    changes: dict[str, Any], expected: dict[str, str]
) -> None:
    assert errors_of(valid(**changes)) == expected


def test_an_update_reports_a_rename_with_the_other_errors() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        merge_definition(
            CURRENT, {"name": "renamed", "url": "http://api.example.com/"}, replace=False
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("name", "immutable"),
        ("url", "invalid_url"),
    ]


def test_body_must_be_an_object() -> None:
    assert errors_of(["not", "an", "object"]) == {"body": "invalid_type"}


def test_error_messages_say_what_is_allowed() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(valid(parameters=[{"name": "x", "type": "date", "description": "d"}]))
    message = caught.value.errors[0].message
    assert all(kind in message for kind in ("string", "number", "integer", "boolean"))
    assert str(caught.value).startswith("parameters[0].type:")


def test_errors_never_echo_a_header_value() -> None:
    secret = "canary-" + "s" * 5000
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(valid(headers={"X-Secret": secret}))
    assert "canary" not in str(caught.value)
    assert all("canary" not in e.message for e in caught.value.errors)


def test_header_values_are_masked_in_repr() -> None:
    definition = parse_definition(valid(headers={"X-Secret": "canary-value"}))
    assert "canary-value" not in repr(definition)
    assert "canary-value" not in str(definition.public())
    assert definition.public()["headers"] == ["X-Secret"]


CURRENT = {
    "name": "order_status",
    "description": "Look up an order",
    "url": "https://api.example.com/orders",
    "method": "GET",
    "timeout": 5.0,
    "parameters": [{"name": "order_id", "type": "integer", "description": "d", "required": True}],
    "headers": ["X-Api-Key"],
    "enabled": True,
}


def test_patch_keeps_fields_not_given() -> None:
    merged = merge_definition(CURRENT, {"enabled": False}, replace=False)
    assert merged.enabled is False
    assert merged.method == "GET"
    assert merged.timeout == 5.0
    assert merged.parameters[0].type == "integer"
    assert merged.headers == {}


def test_put_resets_fields_not_given_to_defaults() -> None:
    merged = merge_definition(
        CURRENT,
        {"description": "New", "url": "https://api.example.com/v2"},
        replace=True,
    )
    assert merged.method == "POST"
    assert merged.timeout == 10
    assert merged.parameters == []


def test_update_may_remove_a_header_with_null() -> None:
    merged = merge_definition(CURRENT, {"headers": {"X-Api-Key": None}}, replace=False)
    assert merged.headers == {"X-Api-Key": None}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"name": "renamed"}, "name", id="rename"),
        pytest.param({"timeout": 0}, "timeout", id="bad-timeout"),
        pytest.param({"url": "https://192.168.1.1/"}, "url", id="private-url"),
        pytest.param({"surprise": 1}, "surprise", id="unknown-field"),
    ],
)
def test_bad_updates_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        merge_definition(CURRENT, changes, replace=False)
    assert caught.value.field == field


# -- what the live router and the forms learn from: examples, allowed values, patterns ---------


def city(**rule: Any) -> dict[str, Any]:
    return {"name": "city", "type": "string", "description": "the city"} | rule


def test_examples_and_answer_rules_are_kept_as_given() -> None:
    definition = parse_definition(
        valid(
            examples=["where is my parcel?", "track order 4521"],
            parameters=[city(values=["Berlin", "Lisbon"]), city(name="code", pattern=r"\d{4}")],
        )
    )
    public = definition.public()
    assert public["examples"] == ["where is my parcel?", "track order 4521"]
    assert public["parameters"][0]["values"] == ["Berlin", "Lisbon"]
    assert public["parameters"][1]["pattern"] == r"\d{4}"
    assert "pattern" not in public["parameters"][0]  # stored only when set


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        pytest.param({"examples": ["ok"] * 2}, "examples[1]", "duplicate", id="duplicate"),
        pytest.param({"examples": ["A b", "a  B"]}, "examples[1]", "duplicate", id="same-words"),
        pytest.param({"examples": [f"e{i}" for i in range(21)]}, "examples", "invalid", id="21"),
        pytest.param({"examples": ["x" * 201]}, "examples[0]", "invalid", id="too-long"),
        pytest.param({"examples": [""]}, "examples[0]", "invalid", id="empty"),
        pytest.param({"examples": ["   "]}, "examples[0]", "invalid", id="blank"),
        pytest.param({"examples": ["two\nlines"]}, "examples[0]", "invalid", id="newline"),
        pytest.param({"examples": "where"}, "examples", "invalid", id="not-a-list"),
        pytest.param(
            {"parameters": [city(type="integer", values=["1"])]},
            "parameters[0].values",
            "invalid",
            id="values-on-an-integer",
        ),
        pytest.param(
            {"parameters": [city(values=[])]}, "parameters[0].values", "invalid", id="no-values"
        ),
        pytest.param(
            {"parameters": [city(values=["Berlin", "berlin"])]},
            "parameters[0].values[1]",
            "duplicate",
            id="duplicate-value",
        ),
        pytest.param(
            {"parameters": [city(values=["a"], pattern="a")]},
            "parameters[0].pattern",
            "invalid",
            id="both-rules",
        ),
        pytest.param(
            {"parameters": [city(pattern="(")]},
            "parameters[0].pattern",
            "invalid_pattern",
            id="not-a-regex",
        ),
        pytest.param(
            {"parameters": [city(pattern=r"(a)\1")]},
            "parameters[0].pattern",
            "invalid_pattern",
            id="back-reference",
        ),
        pytest.param(
            {"parameters": [city(pattern=r"(a)(b)")]},
            "parameters[0].pattern",
            "invalid_pattern",
            id="two-groups",
        ),
        pytest.param(
            {"parameters": [city(name="webhook_action")]},
            "parameters[0].name",
            "reserved",
            id="the-dispatchs-entity",
        ),
    ],
)
def test_bad_examples_and_answer_rules_name_the_field(
    changes: dict[str, Any], field: str, code: str
) -> None:
    assert errors_of(valid(**changes)).get(field) == code, errors_of(valid(**changes))


#: The reviewer's pattern: short bounded repeats in a row, which Python's re backtracked over
#: for 7.5 s on a 500-character answer (80 s at seven; twenty fit in 200 characters).
REVIEWERS_PATTERN = r"\w{0,10}" * 6 + "!"


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(r"(a)\1", id="back-reference"),
        pytest.param(r"(?=a)b", id="lookahead"),
        pytest.param(r"(?<!a)b", id="lookbehind"),
        pytest.param(r"a++", id="possessive"),
        pytest.param(r"(?>a)", id="atomic-group"),
        pytest.param(r"a\Z", id="pythons-end-of-text"),
        pytest.param(r"(\w{1000}){1000}", id="huge-counted-repetition"),
        pytest.param(r"(?:.{0,200}){5}!", id="program-too-large"),
        pytest.param(r"\p{L}{1,50}", id="unicode-class-counted-too-often"),
        pytest.param(r"(a)(b)", id="two-groups"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_its_field(pattern: str) -> None:
    errors = errors_of(valid(parameters=[city(), city(name="code", pattern=pattern)]))
    assert errors == {"parameters[1].pattern": "invalid_pattern"}


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(REVIEWERS_PATTERN, id="reviewers-6"),
        pytest.param(r"\w{0,10}" * 7 + "!", id="reviewers-7"),
        pytest.param(r"\w{0,10}" * 20 + "!", id="reviewers-20"),
        pytest.param(r"(a+)+$", id="nested-repetition"),
        pytest.param(r"(?:(?:a|aa){1,10}){1,10}$", id="bounded-nesting"),
        pytest.param(r"\w*\w*\w*\w*x", id="open-repetitions-in-a-row"),
        pytest.param(r"(?i)(?:order|ref)\s*#?\s*(\d{4,10})", id="ordinary"),
        pytest.param(r"(\p{Lu}\p{Ll}+)", id="unicode-classes"),
    ],
)
def test_patterns_that_only_backtracking_made_slow_are_accepted(pattern: str) -> None:
    # RE2 matches in time linear in the text whatever the pattern: the engine is the guard.
    definition = parse_definition(valid(parameters=[city(pattern=pattern)]))
    assert definition.parameters[0].pattern == pattern
