from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

from agent_desktop.storage import demo_data


def test_every_waiting_case_knows_since_when(demo_store_template: Path) -> None:
    conn = sqlite3.connect(demo_store_template)
    try:
        rows = conn.execute(
            "SELECT pending_since FROM cases WHERE status = 'pending_customer'").fetchall()
        others = conn.execute(
            "SELECT COUNT(*) FROM cases WHERE status <> 'pending_customer' "
            "AND pending_since IS NOT NULL").fetchone()[0]
    finally:
        conn.close()
    assert rows and all(r[0] is not None for r in rows)
    assert others == 0


def test_the_generator_and_the_migration_backfill_alike() -> None:
    migration = importlib.import_module(
        "agent_desktop.storage.migrations.versions.0003_case_pending_since")
    assert demo_data._BACKFILL_PENDING_SINCE == migration.BACKFILL_PENDING_SINCE
