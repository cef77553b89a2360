"""Cold start to the first painted window.

    python bench/startup_bench.py --store /tmp/bench-1m.sqlite3

"cold": before each run every file of the virtualenv, the project and the store is
dropped from the page cache with posix_fadvise(DONTNEED) (no root needed), so Python,
Qt's libraries and the store are read from disk again. "warm": straight after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import report

ROOT = Path(__file__).resolve().parents[1]


def evict(paths: list[Path]) -> int:
    count = 0
    for base in paths:
        files = [base] if base.is_file() else (p for p in base.rglob("*") if p.is_file())
        for f in files:
            try:
                fd = os.open(f, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(fd)
    return count


def one_start(store: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "AGENT_DESKTOP_HOME": "/tmp/agent-desktop-startup-home"}
    t = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "agent_desktop", "--store", str(store),
         "--exit-after-first-paint"], env=env, capture_output=True, text=True, timeout=120,
        cwd=ROOT)
    for line in out.stdout.splitlines():
        if line.startswith("first-paint-epoch"):
            return (float(line.split()[1]) - t) * 1000
    raise RuntimeError(out.stderr[-2000:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    venv = Path(sys.prefix)
    stdlib = Path(os.__file__).parent
    cold, warm = [], []
    for _ in range(a.runs):
        evict([venv, stdlib, ROOT / "agent_desktop", a.store])
        cold.append(one_start(a.store))
        warm.append(one_start(a.store))
    report("cold start -> first painted window", cold)
    report("warm start -> first painted window", warm)


if __name__ == "__main__":
    main()
