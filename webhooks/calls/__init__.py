"""Calls: one webhook call as the servers (the action server, the tools server) make it.

It owns :class:`~webhooks.WebhookCalls` (``_calls``): a call built from a stored definition and
the values given, claimed against the conversation's limit and the budgets (``_limits``,
``_claims``, ``_inplace``), held back while its service keeps failing (``_pauses``), its header
values and signing secrets opened (``_headervalues``), sent through egress/, measured
(``_metrics``) and its outcome said (``_replies``); and a definition offered to an agent as a
tool (``_tools``). The top of the core: it uses every other part, and only the adapters use it,
through :mod:`webhooks`.
"""
