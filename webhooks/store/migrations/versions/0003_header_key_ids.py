"""record which key encrypted each header value

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:45:11.055644
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_headers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_headers", schema=None) as batch_op:
        batch_op.drop_column("key_id")
