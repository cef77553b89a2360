"""Customer lookup vocabulary, and triggers that keep the ledger, notes and audit append-only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Rows that must never be rewritten or removed once written (shared/ARCHITECTURE.md:
# conflicts). A payment's status may still move forward (pending -> authorized), so only
# its money and identity columns are guarded.
_NO_DELETE = ("audit_log", "notes", "payments", "adjustments", "case_events")
_NO_UPDATE = ("audit_log", "notes", "case_events")
_FROZEN_PAYMENT_COLUMNS = ("customer_id", "amount_cents", "method_kind", "entry", "currency")


def upgrade() -> None:
    op.create_table(
        "name_tokens",
        sa.Column("token", sa.String(length=80), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    # Seed the vocabulary from the customers already in the store.
    op.execute(
        "INSERT INTO name_tokens (token, customers) "
        "SELECT token, COUNT(*) FROM ("
        "  SELECT first_norm AS token FROM customers WHERE first_norm <> '' "
        "  UNION ALL SELECT last_norm FROM customers WHERE last_norm <> '') "
        "GROUP BY token"
    )
    for table in _NO_DELETE:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
        )
    for table in _NO_UPDATE:
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
        )
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FROZEN_PAYMENT_COLUMNS)
    op.execute(
        "CREATE TRIGGER payments_money_frozen BEFORE UPDATE ON payments "
        f"WHEN {changed} "
        "BEGIN SELECT RAISE(ABORT, 'a payment is never rewritten: post a void or refund'); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS payments_money_frozen")
    for table in _NO_UPDATE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    for table in _NO_DELETE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_table("name_tokens")
