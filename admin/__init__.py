"""The operators' side: the admin HTTP API (Sanic, ``/api/v1``, described at
``/api/v1/openapi.json``), the console it serves (``admin/console``) and the command line for
tenants, operators, tokens and keys (``python -m admin``), all over the core (``webhooks``).
For operators who define webhook actions and for whoever sets up tenants.
"""

from __future__ import annotations

from ._app import MAX_BODY_BYTES, create_app
from ._tester import Tester

__all__ = ["MAX_BODY_BYTES", "Tester", "create_app"]
