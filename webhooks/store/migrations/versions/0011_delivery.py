"""signing secrets, POST retries allowed per action, and the console's record of paused calls

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retry_post", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "webhook_signing_secrets",
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("secret_id", sa.String(length=16), nullable=False),
        sa.Column("value_encrypted", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("webhook_id", "secret_id"),
    )
    op.create_table(
        "webhook_pauses",
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("replica", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("webhook_id", "replica"),
    )


def downgrade() -> None:
    op.drop_table("webhook_pauses")
    op.drop_table("webhook_signing_secrets")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_column("retry_post")
