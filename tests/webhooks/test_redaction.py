"""Masking what must not be shown: query values of a URL, stored header values in a text."""

from __future__ import annotations

import base64
import json
import random
import string
from typing import Any

import pytest

from tests.webhooks.https_server import ECHOED_FORMS
from webhooks import masked_url, redact
from webhooks.egress._redaction import MASK, MAX_WINDOWED, MAX_WINDOWED_TOTAL, _patterns


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("https://a.io/p?key=s3cret", "https://a.io/p?key=***", id="one"),
        pytest.param("https://a.io/p?a=1&a=2&b=", "https://a.io/p?a=***&a=***&b=***", id="twice"),
        pytest.param("https://a.io/p#frag", "https://a.io/p", id="fragment"),
        pytest.param("https://a.io/p", "https://a.io/p", id="no-query"),
    ],
)  # fmt: skip
def test_a_urls_query_values_are_masked_and_names_kept(url: str, shown: str) -> None:
    assert masked_url(url) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param('{"X-Key": "tok/en=1"}', '{"X-Key": "***"}', id="as-is"),
        pytest.param('{"k": "tok\\/en=1"}', '{"k": "***"}', id="slash-escaped"),
        pytest.param("q=tok%2Fen%3D1&x", "q=***&x", id="url-encoded"),
        pytest.param('{"X-Key": "tok/e', '{"X-Key": "***', id="cut-at-the-end"),
        pytest.param('{"X-Key": "to', '{"X-Key": "to', id="too-little-to-tell"),
    ],
)
def test_a_secret_is_redacted_in_its_common_forms(text: str, shown: str) -> None:
    assert redact(text, ["tok/en=1"]) == shown


def test_a_json_escaped_secret_and_short_values() -> None:
    assert redact('{"k": "say \\"hi\\""}', ['say "hi"']) == '{"k": "***"}'
    assert redact("a 123 b", ["123"]) == "a 123 b"  # too short to be a secret, left alone


SECRET = "Bearer tok-5f2c9e41-d7a0-4b1e-9c3a"
TOKEN = SECRET.removeprefix("Bearer ")


@pytest.mark.parametrize("form", list(ECHOED_FORMS))
def test_a_secret_echoed_changed_is_masked(form: str) -> None:
    echoed = ECHOED_FORMS[form](TOKEN)
    pieces = list(echoed.values()) if isinstance(echoed, dict) else [echoed]
    text = "<" + " | ".join(pieces) + ">"
    assert redact(text, [SECRET]) == "<" + " | ".join([MASK] * len(pieces)) + ">"


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(TOKEN[:7], id="seven-characters"),
        pytest.param("tok-5f2" + " and more " + "c9e41-d", id="pieces-under-eight"),
        pytest.param("TOK-5F2", id="seven-in-capitals"),
        pytest.param(base64.b64encode(b"tok-5f2c").decode()[:11], id="base64-of-too-little"),
    ],
)
def test_runs_shorter_than_eight_characters_are_left_alone(shown: str) -> None:
    assert redact(f"{shown} end", [SECRET]) == f"{shown} end"


def test_the_base64_of_a_value_cut_anywhere_is_masked() -> None:
    # A cut moves the base64 alphabet's alignment: every one of the three is looked for.
    for start in range(len(SECRET) - 8):
        encoded = base64.b64encode(SECRET[start:].encode()).decode()
        assert redact(f"<{encoded}>", [SECRET]) == f"<{MASK}>", start


def test_a_value_spaced_out_unevenly_is_not_caught() -> None:
    # What the mask cannot promise (docs/security.md): two separators, or a re-encryption, pass.
    uneven = "  ".join(TOKEN)
    assert redact(uneven, [SECRET]) == uneven


def test_a_short_value_is_masked_whole_only() -> None:
    assert redact("key=Ab3xZ9q and Ab3xZ9 end", ["Ab3xZ9q"]) == "key=*** and Ab3xZ9 end"


def test_a_large_body_without_the_secret_comes_back_unchanged() -> None:
    body = json.dumps({"items": [{"id": i, "note": "tok-5f2 like"} for i in range(2000)]})
    assert redact(body, [SECRET, "x" * 40, "another-stored-value-1234"]) == body


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_both_base64_alphabets_are_masked(encode: Any) -> None:
    secret = "sk?>~sk?>~sk?>~sk?>~"  # its base64 has "+" and "/", its URL-safe one "-" and "_"
    encoded = encode(secret.encode()).decode().rstrip("=")
    assert redact(f"<{encoded}>", [secret]) == f"<{MASK}>"


@pytest.mark.parametrize("form", ["prefix-cut", "hex", "base64", "u-escaped", "spaced"])
def test_a_secret_is_masked_at_any_offset_and_at_the_very_end(form: str) -> None:
    # The text is sampled at a stride: no offset may fall between two samples.
    echoed = ECHOED_FORMS[form](TOKEN)
    for offset in range(50):
        text = "x" * offset + echoed
        assert redact(text, [SECRET]) == "x" * offset + MASK, offset
        assert redact(text + ".", [SECRET]) == "x" * offset + MASK + ".", offset


def _entries(secrets: list[str]) -> int:
    patterns = _patterns(frozenset(secrets))
    return sum(len(f.windows) + len(f.anchors) for f in (*patterns.text_forms, patterns.spaced))


def test_the_tables_stay_small_whatever_the_values() -> None:
    # 20 headers of 4,096 characters once built 209 MB of tables on every server's loop.
    huge = [
        f"{i:02d}" + "".join(random.Random(i).choices(string.ascii_letters, k=4094))
        for i in range(20)
    ]
    one = _entries(huge[:1])
    assert _entries(huge) <= one * MAX_WINDOWED_TOTAL // MAX_WINDOWED  # the total cap holds
    assert one <= 20 * MAX_WINDOWED  # a handful of table entries a character, no more


def test_a_long_value_is_masked_whole_and_in_runs_of_its_first_characters() -> None:
    value = "".join(random.Random(7).choices(string.ascii_letters, k=3000))
    assert redact(f"<{value}>", [value]) == f"<{MASK}>"
    assert redact(f"<{value[100:140]}>", [value]) == f"<{MASK}>"  # a run within the first kept
