"""The SDK's log records, with nothing a client sent left in them.

The ``mcp`` SDK writes what it could not handle into its lines: the pydantic text of a message
it could not validate (``input_value=`` the client's arguments, which may be personal data),
the message itself at DEBUG, and tracebacks whose exception texts quote the input. Some go to
the root logger (``logging.warning`` in ``mcp.shared.session``), so a filter on the ``mcp``
logger would miss them: :class:`SdkDetail` sits on the root logger's handlers and rewrites
every record made by the SDK's code to its first plain words (letters and spaces, up to the
first other character) and the exception's type.
The tools server checks every body before the SDK reads it (:mod:`mcp_server._messages`), so these
lines should not happen; this keeps the log clean if one does.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import mcp

__all__ = ["SdkDetail", "withhold_sdk_detail"]

#: Where the SDK's code is (as imported, and its real path): a record made there is the
#: SDK's, whichever logger it used.
SDK_FOLDERS = tuple(
    {str(Path(mcp.__file__).parent) + os.sep, str(Path(mcp.__file__).resolve().parent) + os.sep}
)
#: The start of a line that is only words: letters and spaces.
_PLAIN = re.compile(r"[A-Za-z ]*")
#: The attribute marking a record rewritten already (records are shared by the handlers).
_DONE = "sdk_detail_withheld"
#: What a shortened line says in place of the part it dropped.
WITHHELD = "(detail withheld)"


class SdkDetail(logging.Filter):
    """Keeps every record; an SDK record loses all but its first plain words, its arguments,
    its traceback and its stack (the exception's type is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _from_sdk(record) or getattr(record, _DONE, False):
            return True  # not the SDK's, or rewritten by the filter of another handler
        setattr(record, _DONE, True)
        # The SDK formats many lines itself (f-strings), so a value may stand anywhere after
        # the first word that is not plain: keep the plain words before it.
        text = str(record.msg) if record.args else record.getMessage()
        words = _PLAIN.match(text)
        kept = words.group().strip() if words is not None else ""
        parts = [kept]
        if kept != text.strip():
            parts.append(WITHHELD)
        if record.exc_info and record.exc_info[0] is not None:
            parts.append(f"[{record.exc_info[0].__name__}]")
        record.msg = " ".join(part for part in parts if part)
        record.args = None
        record.exc_info = None
        record.exc_text = record.stack_info = None
        return True


def _from_sdk(record: logging.LogRecord) -> bool:
    name = record.name
    return name == "mcp" or name.startswith("mcp.") or record.pathname.startswith(SDK_FOLDERS)


def withhold_sdk_detail(logger: logging.Logger | None = None) -> None:
    """Put :class:`SdkDetail` on the handlers of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(SdkDetail())
