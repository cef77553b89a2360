"""`make bench`: every figure of docs/PERFORMANCE.md, at a million customers.

    python bench/run_all.py [--customers 1000000] [--store /tmp/bench-1m.sqlite3]

Generates the store first if it is missing (that time is a figure too), then runs the
lookup, 360 and start-up benchmarks, each in its own process, and the sync server's (push
throughput at 200 agents, propagation between two desks; SQLite, and PostgreSQL when it
is installed), knowledge search, the case list, and taking payments (keystrokes, end to
end through the server and its gateway stub, a 10,000-entry ledger).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    print(f"\n$ python bench/{script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path, default=Path("/tmp/bench-1m.sqlite3"))
    a = ap.parse_args()
    if not a.store.exists():
        run("generate_store.py", "--customers", str(a.customers), "--out", str(a.store))
    store = str(a.store)
    run("lookup_bench.py", "--store", store)
    run("ui_bench.py", "--store", store)
    run("startup_bench.py", "--store", store)
    run("first_sync.py")
    run("sync_push.py")
    run("sync_propagation.py")
    run("knowledge_bench.py")
    run("case_list_bench.py")
    run("payments_bench.py")
    run("offers_bench.py", "--store", store)
    run("quote_bench.py")


if __name__ == "__main__":
    main()
