"""The store: everything persisted, with SQLAlchemy 2 on SQLite or PostgreSQL.

It owns the tables and their Alembic migrations (``_schema``, ``migrations/``), engines
(``_database``), :class:`~webhooks.Store` and its parts (tenants, operators and tokens in
``_accounts`` with ``_permissions``; definitions in ``_catalog``; signing secrets, last Tests,
paused calls, budgets, snapshots for caches), the frozen records it returns (``_records``), the
encryption of stored values and its key rotation (``_keyring``, ``_rotation``), and a server's
polling cache of it (``_registry``). It uses definitions/ to check what it saves and egress/'s
message and signing shapes; calls/ reads it, the adapters reach it through :mod:`webhooks`.
"""
