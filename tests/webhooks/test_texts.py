"""Lone surrogates in decoded JSON: found at their field, wherever they are."""

from __future__ import annotations

import json

import pytest

from webhooks import InvalidDefinition, reject_lone_surrogates
from webhooks.definitions._texts import lone_surrogate_at


@pytest.mark.parametrize(
    ("document", "field"),
    [
        pytest.param('"\\ud800"', "body", id="the-body-itself"),
        pytest.param('{"description": "a\\udc00"}', "description", id="top-level"),
        pytest.param('{"headers": {"X-A": "\\ud800"}}', "headers.X-A", id="header-value"),
        pytest.param('{"headers": {"X-\\ud800": "v"}}', "headers", id="a-key"),
        pytest.param('{"\\udfff": 1}', "body", id="a-top-level-key"),
        pytest.param('{"examples": ["ok", "\\ud83d"]}', "examples[1]", id="in-a-list"),
        pytest.param(
            '{"parameters": [{"name": "p"}, {"pattern": "\\ud800"}]}',
            "parameters[1].pattern",
            id="nested",
        ),
        pytest.param('{"a": "\\ud800", "b": "\\ud800"}', "a", id="the-first-in-document-order"),
    ],
)
def test_a_lone_surrogate_is_found_at_its_field(document: str, field: str) -> None:
    data = json.loads(document)
    assert lone_surrogate_at(data) == field
    with pytest.raises(InvalidDefinition) as caught:
        reject_lone_surrogates(data)
    assert (caught.value.errors[0].field, caught.value.errors[0].code) == (field, "invalid")


@pytest.mark.parametrize(
    "document",
    [
        pytest.param('{"description": "cake \\ud83c\\udf70"}', id="an-escaped-pair"),
        pytest.param('{"description": "cake \U0001f370", "n": [1, 2.5, true, null]}', id="plain"),
        pytest.param('{"description": "\\\\ud800"}', id="an-escaped-backslash"),
    ],
)
def test_whole_characters_pass(document: str) -> None:
    reject_lone_surrogates(json.loads(document))


def test_a_deep_body_is_walked_without_recursion() -> None:
    data = json.loads("[" * 900 + '"\\ud800"' + "]" * 900)
    assert lone_surrogate_at(data) == "[0]" * 900
