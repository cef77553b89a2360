"""rows.id holds 100 characters: a row with a two-part key (a case's linked article:
"<case id>/<article id>") is 65 characters, over the baseline's 64 (PostgreSQL enforces
the length; SQLite never did).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rows") as batch:
        batch.alter_column("id", type_=sa.String(100), existing_type=sa.String(64),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("rows") as batch:
        batch.alter_column("id", type_=sa.String(64), existing_type=sa.String(100),
                           existing_nullable=False)
