"""Masking what must not be shown: query values of a URL, stored header values in a text."""

from __future__ import annotations

import pytest

from webhooks import masked_url, redact


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
