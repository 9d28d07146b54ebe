"""The Rasa action server: every stored webhook definition served as a custom action."""

from __future__ import annotations

from ._server import ActionServer, build, create_app

__all__ = ["ActionServer", "build", "create_app"]
