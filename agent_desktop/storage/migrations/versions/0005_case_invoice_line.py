"""A dispute case points at the invoice line the customer disputes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild: rows in case_events and notes point here).
    op.add_column("cases", sa.Column("invoice_line_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "invoice_line_id")
