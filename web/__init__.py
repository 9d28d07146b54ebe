"""End users' web chat: the embeddable widget for Rasa's socket.io channel and its demo page."""

from __future__ import annotations

from ._app import CLIENT, create_app

__all__ = ["CLIENT", "create_app"]
