"""order_progress: when the server stub moves each open order (or its follow-up) on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_progress",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("ix_order_progress_due_at", "order_progress", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_order_progress_due_at", table_name="order_progress")
    op.drop_table("order_progress")
