"""operators' reply templates and the switch for a service's own 4xx message

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replies", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("service_messages", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_column("service_messages")
        batch_op.drop_column("replies")
