"""The simulated contact center (server_stub.acd): how fast the engine runs, and what the
running server costs with it switched on.

    python bench/acd_bench.py [--agents 50] [--calls-per-hour 2000] [--seconds 20]
                              [--scale 180] [--engine-only]

1. Engine alone: ``--agents`` simulated agents (teams and skills like the demo floor),
   ``--calls-per-hour`` inbound calls, one simulated hour, ``tick()`` once per simulated
   second, as fast as it goes. Prints the wall time and the hour's figures.
2. The real server (`agent-desktop-server` on 127.0.0.1, a fresh SQLite file seeded with
   the agents and 2,000 customers' phones): the simulation on the real clock (ticked every
   0.25 s) for ``--seconds``, once at the configured rate and once at ``--scale`` times it
   (so those seconds see as many calls as an hour would), callers' patience 30 s so many
   calls finish and are recorded. Prints the server process's CPU use, whether every
   finished call's interactions row was written (persistence keeping up), and the
   loopback round trips of an agent's commands (GET /me, hold, resume) meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile
from bench.sync_common import (
    HOST,
    ServerProcess,
    cpu_seconds,
    login,
    on_signal_exit,
    request,
)
from server_stub.acd import AcdConfig, AgentProfile, Codes, ContactCenter, Directory
from server_stub.resources import read_json

# (team, share of the floor, skills): like the demo data's teams (storage/demo_data.py).
TEAMS = (
    ("Billing East", 0.22, ("billing", "payments", "adjustments")),
    ("Billing West", 0.18, ("billing", "payments", "adjustments")),
    ("Tech Support", 0.26, ("tech_internet", "tech_tv", "tech_phone", "tech_mobile")),
    ("Sales", 0.14, ("sales", "orders", "billing")),
    ("Retention", 0.10, ("retention", "sales", "billing")),
    ("Collections", 0.10, ("collections", "payments")),
)
PHONES = 2000


def agents(count: int) -> list[AgentProfile]:
    out: list[AgentProfile] = []
    for team, share, skills in TEAMS:
        for _ in range(max(1, round(count * share))):
            n = len(out) + 1
            out.append(AgentProfile(f"{n:032x}", f"sim{n:03d}", f"Simulated Agent {n}", team,
                                    frozenset(skills)))
    return out[:count]


def phone_rows() -> list[tuple[str, str]]:
    return [(f"+1415555{i:04d}", f"{i + 1:032x}") for i in range(PHONES)]


# --- 1. the engine alone -------------------------------------------------------------------


def engine_hour(agent_count: int, calls_per_hour: float) -> dict[str, Any]:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    floor = agents(agent_count)
    center = ContactCenter(
        AcdConfig(calls_per_hour=calls_per_hour, simulated_agents=agent_count),
        Codes.from_dict(read_json("codes.json")),
        Directory.from_phone_rows(floor, phone_rows()), start)
    began = time.perf_counter()
    for second in range(1, 3601):
        center.tick(start + timedelta(seconds=second))
    wall = time.perf_counter() - began
    rows = center.take_records()
    view = center.floor(center.now)
    handled = [r for r in rows if not r["abandoned"]]
    handle = sum(r["talk_seconds"] + r["hold_seconds"] + r["acw_seconds"] for r in handled)
    aht = handle / len(handled) if handled else 0.0
    answered = [r for r in handled if r["direction"] == "inbound"]
    return {
        "wall_s": wall, "ticks": 3600,
        "offered": sum(q.offered_today for q in view.queues),
        "answered": sum(q.answered_today for q in view.queues),
        "abandoned": sum(q.abandoned_today for q in view.queues),
        "short_abandons": sum(q.short_abandons_today for q in view.queues),
        "waiting_at_end": sum(q.waiting for q in view.queues),
        "service_level": view.service_level,
        "asa_s": sum(r["wait_seconds"] for r in answered) / len(answered) if answered else 0,
        "aht_s": aht, "erlangs": calls_per_hour * aht / 3600,
        "rows": len(rows), "transfers": sum(r["transfers"] for r in rows),
        "surveys": sum(r["csat"] is not None for r in rows),
        "states": Counter(a.state.value for a in view.agents),
    }


# --- 2. the real server --------------------------------------------------------------------


def seed(path: Path, agent_count: int) -> None:
    """A fresh server database with the simulated agents and the customers' phones."""
    from sqlalchemy.orm import Session

    from server_stub.store import SyncedRow, create_schema, next_change_seq, open_engine

    engine = open_engine(str(path))
    now = datetime.now(UTC)
    try:
        create_schema(engine)
        with Session(engine) as s, s.begin():
            def row(table: str, row_id: str, data: dict[str, Any]) -> None:
                s.add(SyncedRow(table_name=table, id=row_id, change_seq=next_change_seq(s),
                                updated_at=now, data={"id": row_id, **data}))

            for p in agents(agent_count):
                row("agents", p.agent_id, {"username": p.username, "role": "agent",
                                           "display_name": p.display_name, "team": p.team,
                                           "skills": sorted(p.skills), "active": True})
            for i, (phone, customer) in enumerate(phone_rows()):
                row("customers", customer, {"first_name": "Cust", "last_name": str(i)})
                row("contact_points", f"{i + 1:031x}f", {"customer_id": customer,
                                                          "kind": "phone", "value": phone})
    finally:
        engine.dispose()


def interactions(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM rows WHERE \"table\" = 'interactions'")
                   .fetchone()[0])


class Desk:
    """One agent's keep-alive connection, as the desk's HTTP client holds one."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}",
                        "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        started = time.perf_counter()
        self.conn.request(method, f"/v1/cti{path}", headers=self.headers,
                          body=None if body is None else json.dumps(body).encode())
        response = self.conn.getresponse()
        data = response.read()
        took = (time.perf_counter() - started) * 1000
        return response.status, json.loads(data) if data else None, took


def round_trips(port: int, samples: int = 200) -> dict[str, list[float]]:
    """Loopback round trips of an agent's commands on the running simulation: GET /me,
    and hold / resume on an outbound call (each request ticks the simulation first)."""
    desk = Desk(port, login(port, "agent", "demo", "bench-acd-0002"))
    status, _, _ = desk.call("POST", "/state", {"state": "not_ready", "reason": "MEETING"})
    assert status == 200
    times: dict[str, list[float]] = {"me": [], "hold": [], "resume": []}
    for _ in range(samples):
        times["me"].append(desk.call("GET", "/me")[2])
    status, call, _ = desk.call("POST", "/dial", {"number": "+14155550000"})
    assert status == 200, call
    deadline = time.monotonic() + 20
    while desk.call("GET", "/me")[1]["call"]["state"] != "talking":  # connects in 4-12 s
        assert time.monotonic() < deadline, "the outbound call never connected"
        time.sleep(0.2)
    for _ in range(samples):
        for action in ("hold", "resume"):
            status, body, took = desk.call("POST", f"/calls/{call['id']}/{action}")
            assert status == 200, body
            times[action].append(took)
    desk.call("POST", f"/calls/{call['id']}/end")
    desk.conn.close()
    return times


def server_run(agent_count: int, calls_per_hour: float, seconds: float,
               latency: bool = False) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-acd-"))
    db = tmp / "server.sqlite3"
    seed(db, agent_count)
    extra = ["--seed-demo-users", "--calls-per-hour", str(calls_per_hour),
             "--simulated-agents", str(agent_count), "--patience-seconds", "30",
             "--wrap-up-policy", "time_boxed", "--acw-limit-seconds", "60"]
    with ServerProcess(f"sqlite:///{db}", tmp / "server.log", extra) as server:
        token = login(server.port, "supervisor", "demo", "bench-acd-0001")
        status, _ = request(server.port, "GET", "/v1/cti/floor", token=token)  # starts it
        assert status == 200
        cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        cpu = cpu_seconds(server.pid) - cpu0
        wall = time.monotonic() - wall0
        # One more tick, then the floor: what finished must be in the database.
        status, floor = request(server.port, "GET", "/v1/cti/floor", token=token)
        assert status == 200, floor
        written = interactions(db)
        times = round_trips(server.port) if latency else {}
    queues = floor["queues"]
    answered = sum(q["answered_today"] for q in queues)
    abandoned = sum(q["abandoned_today"] for q in queues)
    open_legs = sum(1 for a in floor["agents"] if a["call"] is not None
                    and a["call"]["state"] in ("talking", "held", "wrap_up"))
    return {
        "calls_per_hour": calls_per_hour, "wall_s": wall, "cpu_s": cpu,
        "cpu_share": cpu / wall, "offered": sum(q["offered_today"] for q in queues),
        "answered": answered, "abandoned": abandoned,
        "finished": answered + abandoned - open_legs, "rows_written": written,
        "service_level": floor["service_level"], "round_trips_ms": times,
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--calls-per-hour", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--scale", type=float, default=180)
    parser.add_argument("--engine-only", action="store_true")
    args = parser.parse_args()
    on_signal_exit()

    e = engine_hour(args.agents, args.calls_per_hour)
    print(f"engine: {args.agents} simulated agents, {args.calls_per_hour:.0f} calls/h, one "
          f"simulated hour in {e['ticks']} ticks: {e['wall_s'] * 1000:.0f} ms wall "
          f"({e['wall_s'] / e['ticks'] * 1e6:.0f} us a tick)")
    print(f"  offered {e['offered']}, answered {e['answered']}, abandoned {e['abandoned']} "
          f"({e['short_abandons']} short), waiting at the end {e['waiting_at_end']}; service "
          f"level {_pct(e['service_level'])} (20 s), ASA {e['asa_s']:.0f} s")
    print(f"  AHT {e['aht_s']:.0f} s, offered load {e['erlangs']:.0f} Erlangs; rows "
          f"{e['rows']}, transfers {e['transfers']}, surveys {e['surveys']}; agents at the "
          f"end: {dict(e['states'])}")
    if args.engine_only:
        return 0
    for rate in (args.calls_per_hour, args.calls_per_hour * args.scale):
        r = server_run(args.agents, rate, args.seconds, latency=True)
        keeps_up = "yes" if r["rows_written"] >= r["finished"] else "NO"
        print(f"server: {rate:.0f} calls/h on the real clock for {r['wall_s']:.0f} s: CPU "
              f"{r['cpu_s']:.2f} s ({r['cpu_share']:.1%} of one core, whole process); "
              f"offered {r['offered']}, answered {r['answered']}, abandoned "
              f"{r['abandoned']}; finished {r['finished']}, rows written "
              f"{r['rows_written']} (keeps up: {keeps_up}); service level "
              f"{_pct(r['service_level'])}")
        for name, samples in r["round_trips_ms"].items():
            print(f"  round trip {name}: p50 {percentile(samples, 0.5):.1f} ms, p95 "
                  f"{percentile(samples, 0.95):.1f} ms ({len(samples)} samples, keep-alive)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
