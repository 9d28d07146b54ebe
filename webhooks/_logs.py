"""Log lines that say only what happened: one line per record, whatever the values hold.

A logged value may come from outside (an action name in a Rasa call, a tenant in a URL); a
newline in it would forge a second line. The formatter escapes control characters in the
message once, for every logger of the process; a traceback that follows keeps its lines.
"""

from __future__ import annotations

import logging
import re

__all__ = ["CallLogger", "EscapingFormatter", "call_logger", "configure_logging"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class EscapingFormatter(logging.Formatter):
    """A :class:`logging.Formatter` that writes control characters of the message escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # Every character _CONTROL matches is unprintable, so a printable message (nearly all)
        # is left as it is without the regex's scan, a tenth of a log line's cost.
        if not record.message.isprintable():
            record.message = _CONTROL.sub(_escape, record.message)
        return super().formatMessage(record)


class CallLogger(logging.Logger):
    """A logger whose records never look for the caller's file and line.

    For the line logged on every call: no format of ours shows the caller, and walking the
    stack for it was the dearest part of making the record (the logging HOWTO's
    "Optimization"; figures in bench/README.md).
    """

    def findCaller(
        self, stack_info: bool = False, stacklevel: int = 1
    ) -> tuple[str, int, str, str | None]:
        return "(unknown file)", 0, "(unknown function)", None


def call_logger(name: str) -> logging.Logger:
    """The logger ``name``, made a :class:`CallLogger` when this is its first use."""
    previous = logging.getLoggerClass()
    logging.setLoggerClass(CallLogger)
    try:
        return logging.getLogger(name)
    finally:
        logging.setLoggerClass(previous)


def configure_logging(level: str, *, fmt: str = "%(levelname)s %(name)s: %(message)s") -> None:
    """Log to standard error at ``level``, escaped; quiet the libraries' chatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    # Alembic says what it sets up and runs at INFO: ours is the line that matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)
