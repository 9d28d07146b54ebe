"""Alembic environment: runs against the engine :func:`webhooks.migrate` hands over."""

from __future__ import annotations

from alembic import context

from webhooks.store._schema import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
