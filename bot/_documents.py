"""YAML in and out: designer files read safely, generated files written byte-for-byte stable.

Generated files start with a header comment saying they are generated and overwritten, and are
written only when their bytes change, so a second ``sync`` leaves every file (and its mtime)
alone.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

__all__ = ["RASA_FORMAT", "ProjectFileError", "block", "dump", "read", "write_if_changed"]

#: The format version Rasa 3.x expects at the top of every domain and data file.
RASA_FORMAT = "3.1"


class ProjectFileError(Exception):
    """A designer file cannot be read as YAML; ``path`` names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def block(text: str) -> LiteralScalarString:
    """``text`` written as a YAML literal block (``|``), as Rasa's NLU examples are."""
    literal: LiteralScalarString = LiteralScalarString(text)
    return literal


def _writer() -> YAML:
    yaml = YAML()  # round-trip: keeps key order and literal blocks
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long sentence onto two lines
    # Rasa's documentation writes `active_loop: null`; an empty value reads as a mistake.
    yaml.representer.add_representer(
        type(None),
        lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"),
    )
    return yaml


def dump(document: Mapping[str, Any], *, header: str) -> str:
    """``document`` as YAML text under ``header`` (each line written as a comment)."""
    stream = io.StringIO()
    _writer().dump(dict(document), stream)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + "\n" + stream.getvalue()


def read(path: Path) -> Any:
    """The YAML document in ``path`` (plain dicts and lists); :class:`ProjectFileError` if bad."""
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise ProjectFileError(path, type(exc).__name__) from exc


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds exactly that; whether it wrote."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True
