"""The log formatter: control characters escaped, so a value cannot forge a line."""

from __future__ import annotations

import logging

import pytest

from webhooks import EscapingFormatter


def _formatted(message: str) -> str:
    record = logging.LogRecord("actions.calls", logging.INFO, "", 0, "%s", (message,), None)
    return EscapingFormatter("%(message)s").format(record)


@pytest.mark.parametrize(
    ("message", "written"),
    [
        pytest.param("a\nINFO forged", "a\\nINFO forged", id="newline"),
        pytest.param("a\rb", "a\\rb", id="carriage-return"),
        pytest.param("a\x00b\x1bc", "a\\x00b\\x1bc", id="nul-and-escape"),
        pytest.param("a\x7fb", "a\\x7fb", id="delete"),
        pytest.param("a\u2028b\u2029c", "a\\u2028b\\u2029c", id="unicode-line-separators"),
        pytest.param(
            "tenant=acme action=order_status", "tenant=acme action=order_status", id="plain"
        ),
        pytest.param("Zürich\xa0café", "Zürich\xa0café", id="unprintable-but-no-control"),
    ],
)
def test_control_characters_are_written_escaped(message: str, written: str) -> None:
    assert _formatted(message) == written
