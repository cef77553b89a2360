"""Time the demo-data generator at benchmark scale.

    python bench/generate_store.py --customers 1000000 --out /tmp/bench-1m.sqlite3

The million-customer store keeps itemized bill lines for the last 3 months (every bill of
the 24 months has its total); see agent_desktop.storage.demo_data.generate.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_desktop.storage.demo_data import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-1m.sqlite3"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 15))
    ap.add_argument("--itemized-months", type=int, default=3)
    a = ap.parse_args()
    last = [0.0]

    def progress(stage: str, fraction: float) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or fraction >= 1.0:
            last[0] = now
            print(f"  {stage:<10} {fraction * 100:5.1f}%", flush=True)

    report = generate(a.out, a.customers, a.seed, as_of=a.as_of, progress=progress,
                      overwrite=True, itemized_months=a.itemized_months)
    print(report.summary())
    print(f"demo-data generation for {a.customers:,} customers: {report.seconds:.0f} s "
          f"({report.seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()
