"""The collections worklist at scale: 100,000 open debts, prioritized, the calling rules
applied to the ones shown.

    python bench/worklist_bench.py --store /tmp/bench-1m.sqlite3

The million-customer store has about 57,000 open collection accounts; the bench first
tops it up to ``--accounts`` open debts (copies of real accounts placed on other
customers, marked with treatment 'bench' so a second run finds them) and then times
``services.collections.worklist`` as the Collections screen calls it off the UI thread:
every open debt read and prioritized, the Reg F / TCPA rules applied to the 500 shown
(the screen's list), and, for scale, to all of them.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report


def top_up(path: Path, wanted: int) -> int:
    conn = sqlite3.connect(path)
    try:
        have = conn.execute("SELECT count(*) FROM collection_accounts WHERE status = 'open'"
                            ).fetchone()[0]
        if have >= wanted:
            return int(have)
        columns = [c[1] for c in conn.execute("PRAGMA table_info(collection_accounts)")]
        templates = conn.execute("SELECT * FROM collection_accounts WHERE status = 'open' "
                                 "LIMIT 2000").fetchall()
        taken = {r[0] for r in conn.execute("SELECT customer_id FROM collection_accounts")}
        customers = [r[0] for r in conn.execute("SELECT id FROM customers")
                     if r[0] not in taken]
        rng = random.Random(11)
        rng.shuffle(customers)
        rows = []
        for customer_id in customers[:wanted - have]:
            row = dict(zip(columns, rng.choice(templates), strict=True))
            row.update(id=uuid.uuid4().hex, customer_id=customer_id, treatment="bench")
            rows.append(tuple(row.values()))
        conn.executemany(f"INSERT INTO collection_accounts ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})", rows)
        conn.commit()
        return int(have) + len(rows)
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    from agent_desktop.services.collections import worklist
    from agent_desktop.storage.store import open_store

    total = top_up(a.store, a.accounts)
    store = open_store(a.store)
    now = datetime(2026, 11, 17, 15, 0, tzinfo=UTC)
    try:
        items = worklist(store, now)  # warm the page cache
        callable_now = sum(i.callable_now for i in items)
        print(f"{total:,} open debts; the list shows {len(items)}, {callable_now} callable "
              "now")
        samples = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            worklist(store, now)
            samples.append((time.perf_counter() - t) * 1000)
        report(f"worklist: {total:,} debts prioritized, rules on the 500 shown", samples)
        samples = []
        for _ in range(3):
            t = time.perf_counter()
            everyone = worklist(store, now, limit=total)
            samples.append((time.perf_counter() - t) * 1000)
        report(f"worklist: rules on all {len(everyone):,} debts", samples)
    finally:
        store.close()


if __name__ == "__main__":
    main()
