from __future__ import annotations

import sqlite3
from pathlib import Path

from agent_desktop.storage.cases import WORKLIST_INDEX, WORKLIST_INDEX_SQL


def test_the_store_has_the_case_worklist_index_as_the_list_expects(
        demo_store_template: Path) -> None:
    conn = sqlite3.connect(demo_store_template)
    try:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                           (WORKLIST_INDEX,)).fetchone()
    finally:
        conn.close()
    assert sql is not None
    normalize = lambda text: " ".join(text.replace("IF NOT EXISTS ", "").split())  # noqa: E731
    assert normalize(sql[0]) == normalize(WORKLIST_INDEX_SQL)
