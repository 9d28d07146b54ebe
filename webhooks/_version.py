"""The project's version, in one place: what its servers report (MCP's ``serverInfo``).

The package is run from its folder, not installed, so there is no metadata to read it from;
``tests/test_project.py`` holds this to ``pyproject.toml``'s ``[project] version``.
"""

from __future__ import annotations

__all__ = ["VERSION"]

#: The version in ``pyproject.toml``.
VERSION = "0.1.0"
