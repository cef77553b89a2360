"""Command line: ``agent-desktop`` opens the app; ``agent-desktop demo-data`` builds a
demo store."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from datetime import date
from pathlib import Path

from agent_desktop.platform import paths

DEMO_CUSTOMERS = 5000
DEMO_SEED = 42
DEMO_USER = "agent"


_shown: dict[str, int] = {}


def _progress(stage: str, fraction: float) -> None:
    step = int(fraction * 10)
    if _shown.get(stage) != step:
        _shown[stage] = step
        print(f"  {stage:<10} {fraction * 100:5.1f}%", file=sys.stderr, flush=True)


def make_demo_store(out: Path, customers: int, seed: int, as_of: date | None = None,
                    overwrite: bool = False) -> None:
    from agent_desktop.storage.demo_data import generate

    started = time.perf_counter()
    print(f"Creating a demo store with {customers:,} customers at {out} ...", file=sys.stderr)
    report = generate(out, customers, seed, as_of=as_of, progress=_progress,
                      overwrite=overwrite)
    print(f"Done in {time.perf_counter() - started:.1f} s.\n{report.summary()}", file=sys.stderr)


def verify_audit(store_path: Path) -> int:
    from agent_desktop.storage.audit import verify_chain
    from agent_desktop.storage.store import open_store

    if not store_path.exists():
        print(f"agent-desktop: there is no store at {store_path}", file=sys.stderr)
        return 2
    store = open_store(store_path)
    try:
        with store.reading() as session:
            broken = verify_chain(session)
            rows = session.connection().exec_driver_sql(
                "SELECT count(*) FROM audit_log").scalar()
    finally:
        store.close()
    if broken is None:
        print(f"agent-desktop: audit log intact ({rows:,} rows checked)")
        return 0
    print(f"agent-desktop: audit log BROKEN at row {broken}: it was changed, removed or "
          "reordered after it was written", file=sys.stderr)
    return 3


def main(argv: list[str] | None = None) -> int:
    # The demo-data generator uses worker processes; a frozen build on spawn platforms
    # (macOS, Windows) needs this to start them.
    multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "verify-audit":
        p = argparse.ArgumentParser(
            prog="agent-desktop verify-audit",
            description="Check the hash chain of this desk's audit log; print the first "
                        "broken link (exit status 0: intact, 3: broken).")
        p.add_argument("--store", type=Path, default=None,
                       help="the local store (default: this installation's)")
        a = p.parse_args(argv[1:])
        return verify_audit(a.store or paths.default_store_path())
    if argv and argv[0] == "demo-data":
        p = argparse.ArgumentParser(prog="agent-desktop demo-data",
                                    description="Create a realistic demo store.")
        p.add_argument("--customers", type=int, default=DEMO_CUSTOMERS)
        p.add_argument("--seed", type=int, default=DEMO_SEED)
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--as-of", type=date.fromisoformat, default=None,
                       help="the demo's 'today' (YYYY-MM-DD); default: today")
        p.add_argument("--overwrite", action="store_true")
        a = p.parse_args(argv[1:])
        if a.out.exists() and not a.overwrite:
            p.error(f"{a.out} exists; pass --overwrite to replace it")
        make_demo_store(a.out, a.customers, a.seed, a.as_of, a.overwrite)
        return 0

    p = argparse.ArgumentParser(prog="agent-desktop", description="The agent's workstation.")
    p.add_argument("--store", type=Path, help="the local store file to open")
    p.add_argument("--demo", action="store_true",
                   help="open the demo store (created on first use)")
    p.add_argument("--user", default=DEMO_USER, help="who is working (demo users: agent, "
                   "supervisor)")
    p.add_argument("--screenshot", type=Path, metavar="DIR",
                   help="render every screen to PNG files in DIR and exit")
    p.add_argument("--server", metavar="URL",
                   help="the sync server to use (e.g. http://127.0.0.1:8765)")
    p.add_argument("--no-sync", action="store_true",
                   help="with --demo: work from the local store only, no embedded server")
    p.add_argument("--exit-after-first-paint", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    store = a.store
    label = ""
    if store is None:
        store = paths.demo_store_path() if a.demo or a.screenshot else paths.default_store_path()
    if (a.demo or a.screenshot) and not store.exists():
        make_demo_store(store, DEMO_CUSTOMERS, DEMO_SEED)
    if a.demo or a.screenshot:
        label = "Demo store"
    from agent_desktop.app import run

    embedded = bool(a.demo and not a.server and not a.no_sync and not a.exit_after_first_paint)
    return run(store, a.user, a.screenshot, label, a.exit_after_first_paint,
               server_url=a.server, embedded_server=embedded)


if __name__ == "__main__":
    sys.exit(main())
