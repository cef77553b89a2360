"""The contact center records each agent's finished state intervals (``agent_states``
rows) with exact seconds (the engine with an injected clock), and a server seeded from a
store takes them, or does without them from a store older than the table.
(tests/sync/test_agent_state_sync.py follows them through a real server to a desk.)"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent_desktop.domain.calls import WrapUpMode, WrapUpPolicy
from agent_desktop.storage.store import open_store
from server_stub.__main__ import prepare, seed
from server_stub.acd import (
    RING_NO_ANSWER,
    AcdConfig,
    AgentProfile,
    Codes,
    ContactCenter,
    Directory,
)
from server_stub.resources import read_json
from server_stub.snapshot import _seed_any
from server_stub.store import SyncedRow, open_engine

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CODES = Codes.from_dict(read_json("codes.json"))
PHONE = "+14155550132"
CUSTOMER = "c" * 32


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def center(config: AcdConfig | None = None, agents: list[AgentProfile] | None = None,
           arrivals: bool = False) -> ContactCenter:
    directory = Directory.from_phone_rows(agents or [], [(PHONE, CUSTOMER)])
    cfg = config or AcdConfig(calls_per_hour=0, simulated_agents=0,
                              wrap_up=WrapUpPolicy(WrapUpMode.OPTIONAL))
    return ContactCenter(cfg, CODES, directory, T0, arrivals=arrivals)


def person(n: int, *, synced: bool = True) -> AgentProfile:
    return AgentProfile(f"{n:032x}", f"user{n}", f"Agent {n}", "Billing",
                        frozenset({"billing"}), synced=synced)


def spans(rows: list[dict[str, object]]) -> list[tuple[str, str, float, float, int]]:
    return [(str(r["state"]), str(r["reason"]),
             (datetime.fromisoformat(str(r["started_at"])) - T0).total_seconds(),
             (datetime.fromisoformat(str(r["ended_at"])) - T0).total_seconds(),
             int(str(r["seconds"]))) for r in rows]


def test_a_persons_day_is_recorded_interval_by_interval_with_exact_seconds() -> None:
    cc = center()
    me = person(1)
    cc.register_human(me, at(0))
    agent = me.agent_id
    cc.set_state(agent, "available", "", at(30))                  # logged out 0..30
    call = cc.place_call("billing", PHONE, at(100), patience_seconds=600)  # rings at 100
    cc.answer(agent, call, at(104))                               # available 30..100
    cc.hold(agent, call, at(150))                                 # offered 100..104
    cc.resume(agent, call, at(170))                               # (hold: still on the call)
    cc.end(agent, call, at(404))                                  # on call 104..404
    cc.wrap(agent, call, "INFO-PROVIDED", "", False, "", None, at(449))  # ACW 404..449
    cc.set_state(agent, "not_ready", "BREAK", at(500))            # available 449..500
    cc.set_state(agent, "available", "", at(1100))                # not ready 500..1100
    # ... until a ring-no-answer ends the available stretch (1100..1200) and starts a
    # not-ready one the engine chose (RING-NO-ANSWER), recorded when it ends in turn.
    cc.place_call("billing", PHONE, at(1200), patience_seconds=600)
    cc.tick(at(1220))                                             # rang 20 s: not ready
    cc.set_state(agent, "logged_out", "", at(1300))
    rows = cc.take_state_records()
    assert spans(rows) == [
        ("logged_out", "", 0, 30, 30),
        ("available", "", 30, 100, 70),
        ("offered", "", 100, 104, 4),
        ("on_call", "", 104, 404, 300),
        ("after_call_work", "", 404, 449, 45),
        ("available", "", 449, 500, 51),
        ("not_ready", "BREAK", 500, 1100, 600),
        ("available", "", 1100, 1200, 100),
        ("offered", "", 1200, 1220, 20),
        ("not_ready", RING_NO_ANSWER, 1220, 1300, 80),
    ]
    first = rows[0]
    assert set(first) == {"id", "agent_id", "state", "reason", "started_at", "ended_at",
                          "seconds", "created_at", "updated_at", "version"}
    assert all(re.fullmatch(r"[0-9a-f]{32}", str(r["id"])) for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["agent_id"] == agent and r["version"] == 1 for r in rows)
    assert first["started_at"] == at(0).isoformat() == first["created_at"]
    assert first["ended_at"] == at(30).isoformat() == first["updated_at"]
    assert cc.take_state_records() == []  # taken once


def test_fractions_of_seconds_are_exact_until_rounded_at_the_end() -> None:
    cc = center()
    me = person(2)
    cc.register_human(me, at(0))
    cc.set_state(me.agent_id, "available", "", at(0.4))
    cc.set_state(me.agent_id, "not_ready", "BREAK", at(10.9))
    [logged_out, available] = cc.take_state_records()
    assert logged_out["seconds"] == 0 and logged_out["ended_at"] == at(0.4).isoformat()
    assert available["seconds"] == 10  # 10.5 s, rounded half to even like every figure
    assert available["started_at"] == at(0.4).isoformat()


def test_a_person_without_an_agents_row_leaves_no_state_history() -> None:
    cc = center()
    stranger = person(3, synced=False)
    cc.register_human(stranger, at(0))
    cc.set_state(stranger.agent_id, "available", "", at(5))
    cc.set_state(stranger.agent_id, "not_ready", "BREAK", at(50))
    assert cc.take_state_records() == []


def test_requeued_state_rows_come_back_first() -> None:
    cc = center()
    me = person(4)
    cc.register_human(me, at(0))
    cc.set_state(me.agent_id, "available", "", at(5))
    failed = cc.take_state_records()
    cc.set_state(me.agent_id, "logged_out", "", at(65))
    cc.requeue_state_records(failed)
    assert [r["seconds"] for r in cc.take_state_records()] == [5, 60]


def test_simulated_agents_history_covers_their_time_and_matches_their_calls() -> None:
    agents = [AgentProfile(f"{i:032x}", f"sim{i}", f"Sim {i}", "Billing",
                           frozenset({"billing", "tech_internet", "sales", "retention",
                                      "collections"})) for i in range(6)]
    cc = center(AcdConfig(calls_per_hour=60, simulated_agents=6, seed=5), agents,
                arrivals=True)
    hours = 3
    for second in range(1, hours * 3600 + 1, 7):
        cc.tick(at(second))
    states = cc.take_state_records()
    calls = [r for r in cc.take_records() if not r["abandoned"]]
    assert states and calls
    by_agent: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in states:
        by_agent[str(row["agent_id"])].append(row)
    for agent_id, rows in by_agent.items():
        assert agent_id in cc.agents
        # Back to back from the start: each interval starts where the last one ended.
        assert rows[0]["started_at"] == T0.isoformat()
        for before, after in pairwise(rows):
            assert before["ended_at"] == after["started_at"]
            assert before["state"] != after["state"] or before["reason"] != after["reason"]
        # The open interval is the agent's current state, not recorded yet.
        assert rows[-1]["ended_at"] == cc.agents[agent_id].since.isoformat()
    kinds = Counter(str(r["state"]) for r in states)
    assert {"available", "offered", "on_call", "after_call_work"} <= set(kinds)
    # Busy time on the state history is the calls' talk + hold + ACW, to rounding (one
    # second per interval at most; a call in progress at the end is in neither).
    busy = sum(int(str(r["seconds"])) for r in states
               if r["state"] in ("on_call", "after_call_work"))
    handled = sum(int(str(r["talk_seconds"])) + int(str(r["hold_seconds"]))
                  + int(str(r["acw_seconds"])) for r in calls)
    assert abs(busy - handled) <= 2 * len(calls) + 2


# --- seeding a server from a store, with and without the table --------------------------


def _store_with_history(path: Path, *, older: bool) -> None:
    """A client store holding one agent and (unless ``older``: a store from before
    revision 0008, without the table) one state interval."""
    opened = open_store(path)
    opened.close()
    con = sqlite3.connect(path)
    stamp = "2026-11-24 09:00:00.000000"
    con.execute(
        "INSERT INTO agents (id, username, display_name, role, team, skills,"
        " adjustment_limit_cents, daily_adjustment_limit_cents, refund_limit_cents, active,"
        " created_at, updated_at, version) VALUES (?,'dana','Dana','agent','','[]',5000,"
        "20000,10000,1,?,?,1)", ("a" * 32, stamp, stamp))
    if older:
        con.execute("DROP TABLE agent_states")
        con.execute("UPDATE alembic_version SET version_num = '0007'")
    else:
        con.execute(
            "INSERT INTO agent_states (id, agent_id, state, reason, started_at, ended_at,"
            " seconds, created_at, updated_at, version) VALUES (?,?,'available','',?,?,60,"
            "?,?,1)", ("b" * 32, "a" * 32, stamp, "2026-11-24 09:01:00.000000", stamp,
                       stamp))
    con.commit()
    con.close()


def _seeded(url: str) -> dict[str, int]:
    engine = open_engine(url)
    try:
        with Session(engine) as s:
            return {str(t): int(n) for t, n in s.execute(
                select(SyncedRow.table_name, func.count()).group_by(SyncedRow.table_name))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("older", [False, True])
def test_seeding_takes_the_history_and_a_store_without_the_table(
        tmp_path: Path, older: bool) -> None:
    # Before server_stub.orders (which seeding imports): importing that module first trips
    # on its import cycle with server_stub.mutations (tests/server/test_seed.py alone).
    import server_stub.mutations  # noqa: F401

    source = tmp_path / "desk.sqlite3"
    _store_with_history(source, older=older)
    expected = {"agents": 1} if older else {"agents": 1, "agent_states": 1}
    # The SQLite fast path (one INSERT ... SELECT per table) ...
    fast = f"sqlite:///{tmp_path / 'fast.sqlite3'}"
    prepare(fast)
    assert seed(fast, str(source), None) == len(expected)
    assert _seeded(fast) == expected
    # ... and the path every other database takes (rows read in Python).
    slow = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
    prepare(slow)
    engine = open_engine(slow)
    conn = sqlite3.connect(source)
    try:
        assert _seed_any(engine, conn, None) == len(expected)
    finally:
        conn.close()
        engine.dispose()
    assert _seeded(slow) == expected
