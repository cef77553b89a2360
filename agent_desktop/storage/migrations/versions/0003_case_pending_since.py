"""When a case started waiting on the customer: the SLA clock stops then, and the paused
business time is added to the due time when it resumes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# Cases already waiting: the last time they became pending, from their timeline. (The
# demo-data generator runs the same statement after loading its cases.)
BACKFILL_PENDING_SINCE = (
    "UPDATE cases SET pending_since = (SELECT MAX(e.at) FROM case_events e "
    "WHERE e.case_id = cases.id AND e.kind = 'status_changed' "
    "AND json_extract(e.after, '$.status') = 'pending_customer') "
    "WHERE status = 'pending_customer'"
)


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild: rows in case_events and notes point here).
    op.add_column("cases", sa.Column("pending_since", sa.DateTime(), nullable=True))
    op.execute(BACKFILL_PENDING_SINCE)


def downgrade() -> None:
    op.drop_column("cases", "pending_since")
