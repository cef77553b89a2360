"""Change propagation: from agent A's local commit to the row in agent B's store.

    python bench/sync_propagation.py [--db sqlite,postgresql] [--samples 200]
                                     [--customers 500] [--quick]

For each database it starts a real `agent-desktop-server` process on a fresh database and
runs two real desks, each a SyncService with its own SQLite store (copies of one small demo
store of ``--customers`` customers, so both know the same customers):
- A (user "agent", in this process) adds a note through services.customer360.add_note,
  then syncs at once, as the app does after a local change;
- B (user "supervisor", in its own process, as on another PC) listens for the server's
  pokes and runs a sync pass on each, one at a time (a poke during a pass asks for one more
  pass), as ui/sync_status.SyncController does. Both listen, as both apps would.

A sample is the time from add_note's commit on A to the end of the pull on B that
committed the note to B's store (CLOCK_MONOTONIC is shared by every process on a machine).
Between samples A waits 100-300 ms, as an agent types; nothing else loads the server.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile
from bench.sync_common import Databases, ServerProcess, on_signal_exit

PASSWORD = "demo"  # the demo users: agent and supervisor
WAIT_SECONDS = 10.0  # a note that has not reached B by then counts as lost

NOTES = [
    "Customer called about the last bill; explained the prorated charge.",
    "Asked for paper bills from next month on.",
    "Promised to pay the overdue balance on Friday.",
    "Wants to move the fibre plan to the new address on the 1st.",
    "Late fee waived once, as a courtesy.",
    "Technician visit booked for Tuesday morning.",
]


def _memory_tokens() -> Any:
    """A TokenStore that never touches the machine's keyring."""
    from agent_desktop.platform.credentials import TokenStore

    class MemoryTokens(TokenStore):
        def save(self, server_url: str, username: str, token: str) -> None:
            self._memory[f"{username}@{server_url}"] = token

        def load(self, server_url: str, username: str) -> str | None:
            return self._memory.get(f"{username}@{server_url}")

        def delete(self, server_url: str, username: str) -> None:
            self._memory.pop(f"{username}@{server_url}", None)

    return MemoryTokens()


class Syncer:
    """SyncController without Qt: sync passes on one thread, one at a time; a poke (or a
    local change) during a pass asks for one more pass after it."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.passes = 0
        self.offline = 0
        self.errors: list[str] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="bench-sync", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping:
                return
            self._wake.clear()
            try:
                status, _ = self.service.sync()
            except Exception as exc:  # a bug: report it rather than die quietly
                self.errors.append(repr(exc))
                continue
            self.passes += 1
            if not status.online:
                self.offline += 1

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(30)


def _desk(url: str, path: Path, username: str) -> tuple[Any, Any, Syncer]:
    """A desk on the store at ``path``: logged in, first sync done, listening for pokes."""
    from agent_desktop.services.sync import SyncService
    from agent_desktop.storage.store import open_store

    store = open_store(path)
    service = SyncService(store, url, username, tokens=_memory_tokens())
    service.login(PASSWORD)
    status, _ = service.sync()
    if not status.online:
        raise RuntimeError(f"{username}'s first sync failed: {status.detail}")
    syncer = Syncer(service)
    service.listen(syncer.poke)
    return store, service, syncer


def _close(store: Any, service: Any, syncer: Syncer) -> None:
    syncer.stop()  # the pass under way ends; later pokes start none
    service.close()
    store.close()


def desk_b(url: str, path: str, pipe: Connection) -> None:
    """Desk B, in its own process: reports (note id, when its pull committed it)."""
    store, service, syncer = _desk(url, Path(path), "supervisor")
    reader = sqlite3.connect(path, check_same_thread=False)  # then only the sync thread
    seen = int(reader.execute("SELECT COALESCE(MAX(rowid), 0) FROM notes").fetchone()[0])
    engine = service.engine
    pull: Callable[..., Any] = engine.pull

    def timed_pull(*args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        result = pull(*args, **kwargs)
        arrived = time.monotonic()  # the pull's last page is committed
        rows = reader.execute("SELECT rowid, id FROM notes WHERE rowid > ?", (seen,)).fetchall()
        if rows:
            seen = max(r[0] for r in rows)
            pipe.send([(r[1], arrived) for r in rows])
        return result

    engine.pull = timed_pull
    try:
        pipe.send("ready")
        pipe.recv()  # "stop"
        pipe.send({"passes": syncer.passes, "offline": syncer.offline,
                   "errors": syncer.errors})
    finally:
        _close(store, service, syncer)
        reader.close()


class _Background:
    """Other agents pushing notes while the samples are taken: bench/sync_push.py's load
    processes, paced at ``--background-rate`` mutations/s, notes on the desks' customers
    (sessions written straight into the store; their logins are not what this measures).
    Both desks pull and store every one of them, as real desks would."""

    def __init__(self, url: str, port: int, a: argparse.Namespace,
                 customers: list[str]) -> None:
        from bench.sync_push import direct_sessions, seed_agents

        self.port, self.a, self.customers = port, a, customers
        usernames = seed_agents(url, a.background_agents)
        self.url = url
        clients = [f"bg-{i:03d}-{random.getrandbits(48):012x}"
                   for i in range(a.background_agents)]
        tokens = direct_sessions(url, usernames, clients)
        self.agents = list(zip(tokens, clients, ["0" * 32] * len(tokens), strict=True))
        self.procs: list[Any] = []
        self.pipes: list[Connection] = []
        self.outcomes: list[dict[str, Any]] = []

    def start(self, seconds: float) -> None:
        from bench.sync_push import Phase, load_process

        ctx = mp.get_context("spawn")
        for i in range(2):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=load_process, daemon=True, args=(
                self.agents[i::2], self.port, len(self.agents), 100 + i, child,
                self.customers))
            p.start()
            self.procs.append(p)
            self.pipes.append(parent)
        for pipe in self.pipes:
            if not pipe.poll(60) or pipe.recv() != "ready":
                raise RuntimeError("a background load process did not connect")
        start = time.monotonic() + 0.2
        self.phase = Phase("background", start, start + seconds, self.a.background_rate)
        for pipe in self.pipes:
            pipe.send([self.phase])
        time.sleep(2.0)  # let the load settle before the first sample
        self.began = (time.monotonic(), self._logged())

    def _logged(self) -> int:
        from bench.sync_push import server_counts

        return server_counts(self.url)[1]

    def stop(self) -> None:
        self.ended = (time.monotonic(), self._logged())
        for p in self.procs:
            p.terminate()  # the phase is longer than the samples need
            p.join(10)

    def summary(self) -> str:
        seconds = self.ended[0] - self.began[0]
        applied = (self.ended[1] - self.began[1]) / seconds
        return (f"{len(self.agents)} agents offered {self.a.background_rate:,.0f} mutations/s; "
                f"the server applied {applied:,.0f}/s while the samples were taken")


def _customers(path: Path, n: int) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM customers LIMIT ?", (n,))]
    finally:
        conn.close()


def run_one(label: str, url: str, seed_store: Path, a: argparse.Namespace) -> dict[str, float]:
    from agent_desktop.services.context import AgentContext, agent_by_username
    from agent_desktop.services.customer360 import add_note
    from server_stub.__main__ import prepare

    with tempfile.TemporaryDirectory(prefix="bench-propagation-") as tmp:
        folder = Path(tmp)
        for desk in ("a", "b"):
            shutil.copyfile(seed_store, folder / f"{desk}.sqlite3")
        prepare(url, seed_demo_users=True)
        with ServerProcess(url, folder / "server.log") as server:
            ctx = mp.get_context("spawn")
            pipe, child = ctx.Pipe()
            b = ctx.Process(target=desk_b, args=(server.url, str(folder / "b.sqlite3"), child),
                            daemon=True)
            b.start()
            arrived: dict[str, float] = {}

            def receive(timeout: float) -> None:
                if pipe.poll(timeout):
                    message = pipe.recv()
                    if isinstance(message, list):
                        arrived.update(message)

            background = (_Background(url, server.port, a, _customers(seed_store, 500))
                          if a.background_rate else None)
            store, service, syncer = _desk(server.url, folder / "a.sqlite3", "agent")
            try:
                if not pipe.poll(120) or pipe.recv() != "ready":
                    raise RuntimeError("desk B did not start")
                who = agent_by_username(store, "agent") or AgentContext(
                    None, "agent", "agent", "agent")
                customers = _customers(folder / "a.sqlite3", 200)
                rng = random.Random(a.seed)
                time.sleep(0.5)  # both first passes (on connecting) are over
                if background is not None:
                    background.start(a.samples * 0.5 + 60)
                latencies: list[float] = []
                lost = 0
                for _ in range(a.samples):
                    time.sleep(rng.uniform(0.1, 0.3))
                    added = add_note(store, who, rng.choice(customers), rng.choice(NOTES))
                    committed = time.monotonic()
                    syncer.poke()  # the app syncs at once after a local change
                    note_id = added.note.id
                    deadline = committed + WAIT_SECONDS
                    while note_id not in arrived and time.monotonic() < deadline:
                        receive(max(0.0, deadline - time.monotonic()))
                    if note_id in arrived:
                        latencies.append((arrived[note_id] - committed) * 1000)
                    else:
                        lost += 1
                        if lost >= 3 and not latencies:
                            raise RuntimeError(f"no note reaches desk B; A's errors: "
                                               f"{syncer.errors[:3]}; see {folder}")
                pipe.send("stop")
                stats = None
                end = time.monotonic() + 30
                while stats is None and time.monotonic() < end:
                    if pipe.poll(1):
                        message = pipe.recv()
                        stats = message if isinstance(message, dict) else None
            finally:
                if background is not None:
                    background.stop()
                _close(store, service, syncer)
                b.join(30)
                if b.is_alive():
                    b.terminate()
                    b.join(5)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    p99 = percentile(latencies, 0.99)
    under = (f", while {a.background_agents} other agents push "
             f"{a.background_rate:,.0f} mutations/s" if a.background_rate else "")
    print(f"\nsync propagation, {label}: A's commit -> the note in B's store "
          f"(desks of {a.customers} customers{under})")
    print(f"  {'propagation':<34} p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   "
          f"max {max(latencies, default=float('nan')):.1f} ms   (n={len(latencies)}, mean "
          f"{statistics.fmean(latencies) if latencies else float('nan'):.1f})")
    passes = stats["passes"] if stats else "?"
    print(f"  lost (not in B within {WAIT_SECONDS:.0f} s): {lost}; "
          f"A's sync passes {syncer.passes}, B's {passes}")
    if background is not None:
        print(f"  background: {background.summary()}")
    errors = syncer.errors + (stats["errors"] if stats else [])
    if errors:
        print(f"  sync passes that raised: {len(errors)}, e.g. {errors[0]}")
    return {"p50": p50, "p95": p95, "lost": lost}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=Databases.default(),
                    help="comma-separated: sqlite, postgresql (a throwaway cluster), or "
                    "SQLAlchemy URLs of empty databases (default %(default)s)")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--customers", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="30 samples: a smoke run")
    ap.add_argument("--background-rate", type=float, default=0.0,
                    help="mutations/s that --background-agents other agents push meanwhile "
                    "(default 0: an otherwise idle server)")
    ap.add_argument("--background-agents", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.quick:
        a.samples = 30
    on_signal_exit()
    from agent_desktop.storage.demo_data import generate

    with Databases(a.db) as dbs:
        seed_store = dbs.tmp / "seed.sqlite3"
        t = time.perf_counter()
        generate(seed_store, a.customers, 7, as_of=date(2026, 11, 15), overwrite=True)
        print(f"demo store of {a.customers} customers generated in "
              f"{time.perf_counter() - t:.1f} s")
        for name in dbs.names:
            with dbs.open(name) as (label, url):
                run_one(label, url, seed_store, a)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
