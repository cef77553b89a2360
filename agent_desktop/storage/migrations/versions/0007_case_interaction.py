"""A case opened during a call points at the call (its interaction).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("interaction_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "interaction_id")
