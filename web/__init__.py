"""End users' web chat: the embeddable widget for Rasa's socket.io channel and its demo page.

For site owners, who embed ``web/widget`` with one script tag, and for end users, who chat
there; ``python -m web serve`` serves the widget and the demo page.
"""

from __future__ import annotations

from ._app import CLIENT, create_app

__all__ = ["CLIENT", "create_app"]
