"""budgets of webhook calls per minute: the tenant's, an action's own, and their counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("calls_per_minute", sa.Integer(), server_default="600", nullable=False)
        )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calls_per_minute", sa.Integer(), nullable=True))
    op.create_table(
        "call_budgets",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_budgets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "scope", name=op.f("pk_call_budgets")),
        # One B-tree on SQLite, as conversation_calls (0004): a claim writes one page.
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("call_budgets")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_column("calls_per_minute")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("calls_per_minute")
