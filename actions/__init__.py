"""The Rasa action server: every stored webhook definition served as a custom action.

For Rasa (its ``action_endpoint`` is ``/tenants/<tenant>/webhook``) and the bot's designer: one
generic dispatch asks for an action's parameters (a form and its validator), calls the webhook
through the core's guarded egress and says what it returned; ``/tenants/<tenant>/routing`` is
the table the live router inside Rasa polls. ``python -m actions serve`` starts it.
"""

from __future__ import annotations

from ._server import ActionServer, build, create_app

__all__ = ["ActionServer", "build", "create_app"]
