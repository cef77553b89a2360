"""The case list's covering index: the cases still being worked, most urgent first, with
the columns the list shows, so every saved view opens within 100 ms at 100,000 cases
(docs/PERFORMANCE.md, case list; without it "All open" took 266 ms p95).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_cases_worklist ON cases (due_at, opened_at, status, "
        "queue, assigned_agent_id, id, customer_id, case_number, subject) "
        "WHERE status IN ('new','open','pending_customer','pending_internal') "
        "AND merged_into_id IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cases_worklist")
