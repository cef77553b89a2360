"""Supervisor dashboard refresh at 5,000,000 interactions.

    QT_QPA_PLATFORM=offscreen python bench/dashboard_bench.py
        [--store /tmp/dash/interactions-5m.sqlite3] [--rows 5000000] [--runs 7]

The first run generates the store (kept in /tmp, never in the repo; reused when present):
the real schema (``open_store``), 300 agents in 15 teams, 8 queues, 40 reasons, 800,000
customers' ids, and ``--rows`` interactions spread over 400 days with a daily and weekly
shape (5.5% abandoned, a third of those short; 8% transferred; surveys on some calls;
0.1% with no end time), written with numpy-built rows and one ``executemany``.

Measured (figures are printed, never asserted):

* ``cold load``: reading every interaction into columns the first time (once per session,
  off the UI thread, with progress);
* ``refresh <range>``: what the dashboard does on every refresh: catch up with rows written
  since (none here, so the check only), then compute every metric by agent, team, queue,
  reason, day/hour, the heat map, the handle-time histogram and the trend series;
* ``catch-up``: the week's refresh (read, compute, paint) after 400 new interactions
  were written, several times in a row;
* ``live floor``: a FloorView of 300 agents shown and painted;
* ``draw <range>``: the dashboard page showing that result (tables, charts) offscreen,
  painted.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report

QUEUES = ["billing", "sales", "support", "retention", "general", "collections", "tech", "moves"]
TEAMS = [f"Team {chr(65 + i)}" for i in range(15)]
N_AGENTS = 300
N_CUSTOMERS = 800_000
N_REASONS = 40
DAYS = 400
END = datetime(2026, 11, 20, tzinfo=UTC)


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 2**63 - 1, size=(n, 2), dtype=np.int64)
    return np.array([f"{a:016x}{b:016x}" for a, b in raw.tolist()], dtype=object)


def _stamp(epochs: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s")
    return np.char.add(np.char.replace(text, "T", " "), ".000000").astype(object)


def generate(path: Path, rows: int, seed: int = 11) -> None:
    from agent_desktop.storage.store import open_store

    path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(path)
    store.close()
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    agent_ids = _hex_ids(rng, N_AGENTS)
    now = "2026-11-20 00:00:00.000000"
    con.executemany(
        "INSERT INTO agents (id, username, display_name, role, team, skills,"
        " adjustment_limit_cents, daily_adjustment_limit_cents, refund_limit_cents, active,"
        " created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(a, f"bench{i}", f"Agent {i:03d}", "agent", TEAMS[i % len(TEAMS)], "[]",
          5000, 20000, 10000, 1, now, now, 1) for i, a in enumerate(agent_ids.tolist())],
    )
    customers = _hex_ids(rng, N_CUSTOMERS)
    end = int(END.timestamp())
    start = end - DAYS * 86400
    chunk = 500_000
    con.execute("DROP INDEX IF EXISTS ix_interactions_customer_offered")
    con.execute("DROP INDEX IF EXISTS ix_interactions_agent_offered")
    con.execute("DROP INDEX IF EXISTS ix_interactions_offered")
    for lo in range(0, rows, chunk):
        n = min(chunk, rows - lo)
        day = rng.integers(0, DAYS, n)
        # Busy 8:00-20:00 UTC, a peak mid-morning; quieter weekends.
        hour = np.clip(rng.normal(13, 3.2, n), 0, 23.99)
        offered = start + day * 86400 + (hour * 3600).astype(np.int64)
        offered.sort()
        channel = np.where(rng.random(n) < 0.8, "call", np.where(rng.random(n) < 0.7, "chat",
                                                                  "email"))
        direction = np.where(rng.random(n) < 0.9, "inbound", "outbound")
        queue = np.array(QUEUES, dtype=object)[rng.integers(0, len(QUEUES), n)]
        reason = np.array([f"R{r:02d}" for r in range(N_REASONS)],
                          dtype=object)[rng.integers(0, N_REASONS, n)]
        cust = customers[rng.zipf(1.3, n) % N_CUSTOMERS]
        abandoned = (rng.random(n) < 0.055) & (channel != "email") & (direction == "inbound")
        wait = np.where(abandoned, rng.integers(1, 300, n), rng.exponential(25, n).astype(int))
        dial = np.where(direction == "outbound", rng.integers(6, 26, n), 0)
        talk = np.where(abandoned, 0, np.clip(rng.lognormal(5.6, 0.55, n), 25, 5400)).astype(int)
        hold = np.where(abandoned | (rng.random(n) < 0.6), 0, rng.integers(20, 240, n))
        acw = np.where(abandoned, 0, rng.integers(20, 120, n))
        transfers = np.where(~abandoned & (rng.random(n) < 0.08), 1, 0)
        agent = np.where(abandoned, None, agent_ids[rng.integers(0, N_AGENTS, n)])
        answered = offered + wait
        ended = answered + talk + hold
        no_end = rng.random(n) < 0.001
        survey = ~abandoned & (rng.random(n) < 0.2)
        csat = np.where(survey, rng.integers(1, 6, n), None)
        nps = np.where(survey & (rng.random(n) < 0.7), rng.integers(0, 11, n), None)
        ids = _hex_ids(rng, n)
        o_s, a_s, e_s = _stamp(offered), _stamp(answered), _stamp(ended)
        a_s = np.where(abandoned, None, a_s)
        e_s = np.where(no_end, None, e_s)
        batch = zip(
            ids.tolist(), cust.tolist(), channel.tolist(), direction.tolist(), queue.tolist(),
            agent.tolist(), o_s.tolist(), a_s.tolist(), e_s.tolist(), wait.tolist(),
            dial.tolist(), talk.tolist(), hold.tolist(), acw.tolist(), transfers.tolist(),
            abandoned.astype(int).tolist(), reason.tolist(), csat.tolist(), nps.tolist(),
            o_s.tolist(), strict=True,
        )
        con.executemany(
            "INSERT INTO interactions (id, customer_id, channel, direction, queue, agent_id,"
            " caller_id, offered_at, answered_at, ended_at, wait_seconds, dial_seconds,"
            " talk_seconds, hold_seconds, acw_seconds, transfers, abandoned, reason_code,"
            " wrap_up_code, resolved, csat, nps, summary, created_at, updated_at, version)"
            " VALUES (?,?,?,?,?,?,'',?,?,?,?,?,?,?,?,?,?,?,'',0,?,?,'',?,?,1)",
            ((*r[:-1], r[-1], r[-1]) for r in batch),
        )
        con.commit()
        print(f"  {lo + n:,} interactions written", flush=True)
    con.execute("CREATE INDEX ix_interactions_customer_offered ON interactions"
                " (customer_id, offered_at)")
    con.execute("CREATE INDEX ix_interactions_agent_offered ON interactions"
                " (agent_id, offered_at)")
    con.execute("CREATE INDEX ix_interactions_offered ON interactions (offered_at)")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _ensure(path: Path, rows: int) -> None:
    if path.exists():
        con = sqlite3.connect(path)
        try:
            have = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
        except sqlite3.Error:
            have = -1
        con.close()
        if have >= rows:
            return
        path.unlink()
    t = time.perf_counter()
    print(f"generating {rows:,} interactions into {path} ...", flush=True)
    generate(path, rows)
    print(f"generated in {time.perf_counter() - t:.0f} s", flush=True)


def _add_rows(path: Path, n: int, after: datetime) -> list[str]:
    """``n`` new interactions just after ``after`` (what the server writes as calls end)."""
    con = sqlite3.connect(path)
    ids = [uuid.uuid4().hex for _ in range(n)]
    agent = con.execute("SELECT id FROM agents LIMIT 1").fetchone()[0]
    rows = []
    for i, iid in enumerate(ids):
        t = after + timedelta(seconds=10 * i)
        stamp = t.strftime("%Y-%m-%d %H:%M:%S.000000")
        end = (t + timedelta(seconds=300)).strftime("%Y-%m-%d %H:%M:%S.000000")
        rows.append((iid, uuid.uuid4().hex, "billing", agent, stamp, stamp, end, stamp, stamp))
    con.executemany(
        "INSERT INTO interactions (id, customer_id, channel, direction, queue, agent_id,"
        " caller_id, offered_at, answered_at, ended_at, wait_seconds, dial_seconds,"
        " talk_seconds, hold_seconds, acw_seconds, transfers, abandoned, reason_code,"
        " wrap_up_code, resolved, csat, nps, summary, created_at, updated_at, version)"
        " VALUES (?,?,'call','inbound',?,?,'',?,?,?,5,0,240,0,60,0,0,'R01','',1,NULL,NULL,"
        "'',?,?,1)", rows)
    con.commit()
    con.close()
    return ids


def _drop_rows(path: Path, ids: list[str]) -> None:
    con = sqlite3.connect(path)
    con.executemany("DELETE FROM interactions WHERE id = ?", [(i,) for i in ids])
    con.commit()
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/dash/interactions-5m.sqlite3"))
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    _ensure(args.store, args.rows)

    from PySide6.QtWidgets import QApplication

    from agent_desktop.services.context import AgentContext
    from agent_desktop.services.dashboard import DashboardService
    from agent_desktop.storage.store import open_store
    from agent_desktop.ui.screens.dashboard.page import DashboardPage

    store = open_store(args.store)
    service = DashboardService(store, now=lambda: END)
    t = time.perf_counter()
    service.load(date(2026, 11, 19), date(2026, 11, 20), offset_s=0)
    cold = time.perf_counter() - t
    n = len(service.cache.columns)
    print(f"{n:,} interactions; cold load (read every row into columns, once per session): "
          f"{cold:.1f} s")

    app = QApplication.instance() or QApplication(sys.argv)
    who = AgentContext("bench", "bench", "Bench Supervisor", "supervisor")
    page = DashboardPage(store, who, None)
    page._shown_once = True  # the bench feeds it; no load of its own
    page.offset_s = 0
    page.resize(1400, 860)
    page.show()
    app.processEvents()

    ranges = {
        "day": (date(2026, 11, 19), date(2026, 11, 20)),
        "week": (date(2026, 11, 13), date(2026, 11, 20)),
        "30 days": (date(2026, 10, 21), date(2026, 11, 20)),
        "all (400 days)": (date(2025, 10, 15), date(2026, 11, 21)),
    }
    for name, (start, end) in ranges.items():
        loads: list[float] = []
        draws: list[float] = []
        totals: list[float] = []
        data = None
        for _ in range(args.runs):
            t = time.perf_counter()
            data = service.load(start, end, offset_s=0)
            loaded = time.perf_counter()
            page.show_data(data)
            page.repaint()
            app.processEvents()
            done = time.perf_counter()
            loads.append((loaded - t) * 1000)
            draws.append((done - loaded) * 1000)
            totals.append((done - t) * 1000)
        assert data is not None
        print(f"-- {name}: {int(data.totals['contacts'] or 0):,} interactions in range")
        report(f"refresh {name}: read + compute", loads)
        report(f"refresh {name}: draw (offscreen, painted)", draws)
        report(f"refresh {name}: total", totals)

    # The live floor: a FloorView of 300 agents and 8 queues, as the server sends one,
    # shown and painted (the Live floor tab in front).
    from agent_desktop.ui.screens.dashboard.floor import sample_floor

    page.tabs.setCurrentIndex(0)
    floor_ms: list[float] = []
    for i in range(args.runs * 3):
        view = sample_floor(data.agents, datetime.now(UTC) - timedelta(seconds=i), limit=300)
        t = time.perf_counter()
        page.set_floor(view)
        page.repaint()
        app.processEvents()
        floor_ms.append((time.perf_counter() - t) * 1000)
    report(f"live floor: set_floor ({len(view.agents)} agents) + paint", floor_ms)
    page.tabs.setCurrentIndex(1)

    # Catch-up: new calls written since the last refresh (what the server's wrap-ups
    # bring), 400 at a time, then the week's refresh and its paint.
    ids: list[str] = []
    catch: list[float] = []
    try:
        for round_ in range(args.runs):
            ids += _add_rows(args.store, 400, END + timedelta(minutes=1 + 70 * round_))
            t = time.perf_counter()
            data = service.load(date(2026, 11, 13), date(2026, 11, 21), offset_s=0)
            page.show_data(data)
            page.repaint()
            app.processEvents()
            catch.append((time.perf_counter() - t) * 1000)
        report("catch-up: 400 new rows, week range, total", catch)
        print(f"   last: {dict((k, round(v, 1)) for k, v in data.timings_ms.items())}")
    finally:
        _drop_rows(args.store, ids)
    page.close()
    store.close()


if __name__ == "__main__":
    if "--generate-only" in sys.argv:
        _ensure(Path(sys.argv[sys.argv.index("--generate-only") + 1]), 5_000_000)
    else:
        main()
