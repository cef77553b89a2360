"""Seeding a server from a desk's store works on every database the server runs on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent_desktop.domain.synced import SYNCED_TABLES
from server_stub.__main__ import prepare, seed
from server_stub.store import SyncedRow, User, open_engine


def test_seeding_loads_every_synced_row_and_gives_users_their_agent_ids(
        server_db: str, demo_store_template: Path) -> None:
    prepare(server_db, seed_demo_users=True)
    seq = seed(server_db, str(demo_store_template), None)
    conn = sqlite3.connect(demo_store_template)
    try:
        expected = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                    for t in SYNCED_TABLES}
        agent_id = conn.execute("SELECT id FROM agents WHERE username = 'agent'").fetchone()[0]
    finally:
        conn.close()
    engine = open_engine(server_db)
    try:
        with Session(engine) as s:
            by_table = select(SyncedRow.table_name, func.count()).group_by(
                SyncedRow.table_name)
            counts = {str(t): int(n) for t, n in s.execute(by_table).all()}
            longest = s.scalar(select(func.max(func.length(SyncedRow.id))))
            user = s.scalar(select(User.id).where(User.username == "agent"))
    finally:
        engine.dispose()
    assert {t: counts.get(t, 0) for t in SYNCED_TABLES} == expected
    assert seq == sum(expected.values())
    assert longest == 65  # "<case id>/<article id>" fits
    assert user == agent_id
