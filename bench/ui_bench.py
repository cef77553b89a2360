"""Open a customer -> 360 fully painted (data, tables, chart), and memory with it open.

    QT_QPA_PLATFORM=offscreen python bench/ui_bench.py --store /tmp/bench-1m.sqlite3

Uses the real path: CustomersPage.open_customer -> background read -> customer_shown,
then a synchronous repaint of the whole window (tables and the pyqtgraph chart).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer

from bench.common import report
from bench.qt_window import idle, open_window


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=60)
    a = ap.parse_args()
    app, window, store = open_window(a.store)
    raw = sqlite3.connect(a.store)
    n = raw.execute("SELECT count(*) FROM customers").fetchone()[0]
    rng = random.Random(3)
    ids = [raw.execute("SELECT id, display_name FROM customers WHERE rowid = ?",
                       (rng.randrange(1, n + 1),)).fetchone() for _ in range(a.samples + 1)]
    rss_before = rss_mb()

    def open_and_paint(cid: str, name: str) -> float:
        loop = QEventLoop()
        window.customers.customer_shown.connect(loop.quit)
        QTimer.singleShot(20000, loop.quit)
        t = time.perf_counter()
        window.customers.open_customer(cid, name)
        loop.exec()
        shown = time.perf_counter()
        window.repaint()  # synchronous: every visible table and the chart paint now
        elapsed = (time.perf_counter() - t) * 1000
        paints.append((time.perf_counter() - shown) * 1000)
        window.customers.customer_shown.disconnect(loop.quit)
        return elapsed

    idle()
    paints: list[float] = []
    open_and_paint(*ids[0])  # the first open warms caches; not counted
    idle()
    samples = []
    for cid, name in ids[1:]:
        samples.append(open_and_paint(cid, name))
        window.customers.close_current()
        idle()
    report("open customer -> 360 painted", samples)
    report("  of which the final paint", paints[1:])
    open_and_paint(*ids[1])
    app.processEvents()
    print(f"resident memory with a 360 open: {rss_mb():.0f} MB "
          f"(window only, before any 360: {rss_before:.0f} MB)")
    for cid, name in ids[2:12]:
        open_and_paint(cid, name)
    print(f"resident memory with 11 customers open in tabs: {rss_mb():.0f} MB")
    window.close()
    store.close()


if __name__ == "__main__":
    main()
