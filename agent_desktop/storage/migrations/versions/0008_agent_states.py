"""The agents' phone state history (one row per finished interval), for occupancy.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import agent_desktop.storage.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_states",
        sa.Column("agent_id", agent_desktop.storage.models.UUIDHex(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("started_at", agent_desktop.storage.models.UTCDateTime(), nullable=False),
        sa.Column("ended_at", agent_desktop.storage.models.UTCDateTime(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", agent_desktop.storage.models.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", agent_desktop.storage.models.UUIDHex(), nullable=False),
        sa.Column("created_at", agent_desktop.storage.models.UTCDateTime(), nullable=False),
        sa.CheckConstraint("seconds >= 0", name="state_seconds"),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agent_states", schema=None) as batch_op:
        batch_op.create_index("ix_agent_states_agent_started", ["agent_id", "started_at"],
                              unique=False)
        batch_op.create_index("ix_agent_states_started", ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_states", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_states_started")
        batch_op.drop_index("ix_agent_states_agent_started")
    op.drop_table("agent_states")
