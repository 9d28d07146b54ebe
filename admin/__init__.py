"""The operator API (Sanic) and command line over the core (``webhooks``)."""

from __future__ import annotations

from ._app import MAX_BODY_BYTES, create_app
from ._tester import Tester

__all__ = ["MAX_BODY_BYTES", "Tester", "create_app"]
