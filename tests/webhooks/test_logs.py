"""The log formatter: control characters escaped, so a value cannot forge a line; and the
call lines' logger, which skips looking for its caller."""

from __future__ import annotations

import logging

import pytest

from webhooks import call_logger
from webhooks._logs import CallLogger, EscapingFormatter


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


def test_the_call_logger_skips_the_caller_and_leaves_other_loggers_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = call_logger("tests.logs.calls")
    assert isinstance(calls, CallLogger)
    assert call_logger("tests.logs.calls") is calls
    other = logging.getLogger("tests.logs.other")
    assert not isinstance(other, CallLogger)
    with caplog.at_level(logging.INFO, logger="tests.logs"):
        calls.info("call")
        other.info("other")
    by_name = {record.name: record for record in caplog.records}
    assert (by_name["tests.logs.calls"].funcName, by_name["tests.logs.calls"].lineno) == (
        "(unknown function)",
        0,
    )
    assert by_name["tests.logs.other"].funcName == (
        "test_the_call_logger_skips_the_caller_and_leaves_other_loggers_alone"
    )
