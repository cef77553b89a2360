"""A call attempt keeps the callback time the customer asked for (outcome
callback_requested), so every desk's worklist holds the debt until then and offers it at
that time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild), naive UTC like every UTCDateTime column.
    op.add_column("contact_attempts", sa.Column("callback_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("contact_attempts", "callback_at")
