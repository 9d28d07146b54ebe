"""The store: everything persisted, with SQLAlchemy 2 on SQLite or PostgreSQL.

It owns the tables and their Alembic migrations (``_schema``, ``migrations/``), engines
(``_database``), and :class:`~webhooks.Store` (``_store``): one object whose parts, each an
attribute, share one :class:`~._tables.Tables` (its sessions, transactions and common rows):
``store.accounts`` (tenants, operators and tokens, ``_accounts`` with ``_permissions``),
``store.catalog`` (definitions, ``_catalog``), ``store.signing`` (signing secrets,
``_signingstore``), ``store.keys`` (key checks and rotation, ``_rotation``), ``store.snapshots``
(the caches' reads, ``_snapshots``), ``store.tests`` and ``store.pauses`` (last Tests and paused
calls, ``_lasttests``, ``_pausestore``), ``store.looks`` (both read at once, ``_looks``) and
``store.budgets`` (``_budgetsettings``). Beside them: the frozen records it returns
(``_records``), the encryption of stored values (``_keyring``), and a server's polling cache of
it (``_registry``). It uses definitions/ to check what it saves and egress/'s
message and signing shapes; calls/ reads it, the adapters reach it through :mod:`webhooks`.
"""
