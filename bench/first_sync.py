"""A new desk's first full sync of 100,000 customers with their history.

    python bench/first_sync.py [--customers 100000] [--store /tmp/bench-100k.sqlite3]
                               [--databases sqlite,postgresql]

Builds the demo store if missing (24 months of itemized bills: ~175 rows a customer),
seeds a real `agent-desktop-server` process's database from it (a figure too, though it
is a one-time job), then times a new desk with an empty store from "sync" to "every
customer is here": snapshot download, checksum, copy-in, and the pull of what changed
since. Then the same desk's next sync (nothing new), and the paged full pull the
snapshot replaces, measured on a slice so the run stays short.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sync_common import Databases, ServerProcess, on_signal_exit


def _generate(out: Path, customers: int) -> None:
    from datetime import date

    from agent_desktop.storage.demo_data import generate

    t = time.perf_counter()
    generate(out, customers, 7, as_of=date(2026, 11, 15), overwrite=True)
    print(f"generated {customers:,} customers in {time.perf_counter() - t:.0f} s")


def _first_sync(url: str, folder: Path) -> tuple[float, float, int, int]:
    """A new desk as `agent-desktop --server URL` sets it up: download the snapshot,
    adopt it as the store, reopen, then a normal sync (what changed since)."""
    # No keyring on a headless machine: the token stays in memory (platform.credentials).
    from agent_desktop.platform.credentials import TokenStore
    from agent_desktop.services.sync import SyncService, adopt_new_desk_snapshot
    from agent_desktop.storage import sync_store
    from agent_desktop.storage.store import open_store

    path = folder / "new-desk.sqlite3"
    tokens = TokenStore()
    store = open_store(path)
    service = SyncService(store, url, "agent", tokens=tokens)
    service.login("demo")
    t = time.perf_counter()
    snapshot = service.download_for_new_desk(lambda _what, _fraction: None)
    downloaded = time.perf_counter() - t
    assert snapshot is not None, "the server offers no snapshot"
    service.close()
    store.close()
    adopt_new_desk_snapshot(path, snapshot)
    store = open_store(path)
    service = SyncService(store, url, "agent", tokens=tokens)
    try:
        status, _ = service.sync()
        first = time.perf_counter() - t
        assert status.online, status.detail
        t = time.perf_counter()
        service.sync()
        again = time.perf_counter() - t
        print(f"  next sync (nothing new)              {again * 1000:8.0f} ms")
        assert sync_store.cursor(store) is not None
    finally:
        service.close()
        store.close()
    conn = sqlite3.connect(path)
    try:
        customers = int(conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0])
        rows = sum(int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0])
                   for t in _tables())
    finally:
        conn.close()
    return first, downloaded, customers, rows


def _tables() -> tuple[str, ...]:
    from agent_desktop.domain.synced import SYNCED_TABLES

    return SYNCED_TABLES


def _paged_rate(url: str, pages: int) -> float:
    """Rows per second of the paged full pull (the fallback without a snapshot)."""
    from agent_desktop.sync.client import SyncClient

    client = SyncClient(url, "bench-paged-0001")
    try:
        client.login("agent", "demo")
        cursor, rows = None, 0
        t = time.perf_counter()
        for _ in range(pages):
            page = client.pull(cursor)
            cursor, rows = page.cursor, rows + len(page.changes)
            if not page.more:
                break
        return rows / (time.perf_counter() - t)
    finally:
        client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--store", type=Path, default=Path("/tmp/bench-100k.sqlite3"))
    ap.add_argument("--databases", default=Databases.default())
    a = ap.parse_args()
    on_signal_exit()
    if not a.store.exists():
        _generate(a.store, a.customers)
    from server_stub.__main__ import prepare, seed

    with Databases(a.databases) as databases:
        for name in databases.names:
            with databases.open(name) as (label, url), \
                    tempfile.TemporaryDirectory(prefix="bench-first-sync-") as tmp:
                folder = Path(tmp)
                snapshots = folder / "snapshots"
                prepare(url, seed_demo_users=True)
                t = time.perf_counter()
                seq = seed(url, str(a.store), str(snapshots))
                print(f"\n{label}: seeded {seq:,} rows in {time.perf_counter() - t:.1f} s "
                      "(one-time, server side)")
                extra = ["--snapshot-dir", str(snapshots)]
                with ServerProcess(url, folder / "server.log", extra) as server:
                    seconds, download, customers, rows = _first_sync(server.url, folder)
                    print(f"  first full sync of a new desk        {seconds:8.1f} s   "
                          f"({customers:,} customers, {rows:,} rows; download "
                          f"{download:.1f} s)")
                    rate = _paged_rate(server.url, pages=40)
                    print(f"  paged full pull (no snapshot)        {rate:8,.0f} rows/s   "
                          f"(all {seq:,} rows would take {seq / rate:,.0f} s)")


if __name__ == "__main__":
    main()
