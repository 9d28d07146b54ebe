"""The egress: the guarded HTTP client every webhook call goes out through.

It owns what a call sends and gets back (``_messages``), the rules a URL and its addresses must
pass at save time and again when connecting (``_urls``, ``_addresses``, ``_resolver``), what a
deployment changes about them (``_rules``: one object, passed down as ``rules=``), the client
with its deadline, retries and signatures (``_egress``, ``_retries``, ``_signing``), what foreign
errors become (``_client_errors``), the masking of stored values in an answer (``_redaction``)
and ``python -m webhooks check-url`` (``_checkurl``). It uses nothing of the
core but the error tree; definitions/, store/ and calls/ use it, the adapters through
:mod:`webhooks` only.
"""
