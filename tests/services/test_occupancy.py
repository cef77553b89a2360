"""Occupancy on the dashboard, from the agents' state history (``agent_states``): a
hand-built store with every answer worked out here, and no NaN without history."""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_desktop.services import dashboard as dash
from agent_desktop.services import metrics
from agent_desktop.storage.interactions import read_state_seconds
from agent_desktop.storage.store import Store, open_store

A1, A2, A3, A4 = "a1" * 16, "a2" * 16, "a3" * 16, "a4" * 16
AS_OF = datetime(2026, 11, 30, tzinfo=UTC)
D1 = datetime(2026, 11, 10, tzinfo=UTC)


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.000000")


def add_agent(con: sqlite3.Connection, agent_id: str, name: str, team: str) -> None:
    con.execute(
        "INSERT INTO agents (id, username, display_name, role, team, skills,"
        " adjustment_limit_cents, daily_adjustment_limit_cents, refund_limit_cents, active,"
        " created_at, updated_at, version) VALUES (?,?,?,'agent',?,'[]',5000,20000,10000,1,"
        "?,?,1)", (agent_id, name.lower().replace(" ", "."), name, team, _ts(AS_OF),
                   _ts(AS_OF)))


def add_call(con: sqlite3.Connection, offered: datetime, agent: str, *, talk: int = 0,
             hold: int = 0, acw: int = 0, dial: int = 0, direction: str = "inbound") -> None:
    answered = offered + timedelta(seconds=dial)
    ended = answered + timedelta(seconds=talk + hold)
    iid = uuid.uuid4().hex
    con.execute(
        "INSERT INTO interactions (id, customer_id, channel, direction, queue, agent_id,"
        " caller_id, offered_at, answered_at, ended_at, wait_seconds, dial_seconds,"
        " talk_seconds, hold_seconds, acw_seconds, transfers, abandoned, reason_code,"
        " wrap_up_code, resolved, csat, nps, summary, created_at, updated_at, version)"
        " VALUES (?,NULL,'call',?,'billing',?,'',?,?,?,0,?,?,?,?,0,0,'BILL','',0,NULL,NULL,"
        "'',?,?,1)",
        (iid, direction, agent, _ts(offered), _ts(answered), _ts(ended), dial, talk, hold,
         acw, _ts(offered), _ts(offered)))


def add_state(con: sqlite3.Connection, agent: str, state: str, start: datetime,
              seconds: int, reason: str = "") -> datetime:
    """One finished interval, as the server's rows arrive; returns its end."""
    end = start + timedelta(seconds=seconds)
    con.execute(
        "INSERT INTO agent_states (id, agent_id, state, reason, started_at, ended_at,"
        " seconds, created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,1)",
        (uuid.uuid4().hex, agent, state, reason, _ts(start), _ts(end), seconds, _ts(start),
         _ts(end)))
    return end


def at(hour: int, minute: int = 0, second: int = 0, day: datetime = D1) -> datetime:
    return day + timedelta(hours=hour, minutes=minute, seconds=second)


def hand_built(con: sqlite3.Connection) -> None:
    add_agent(con, A1, "Ada One", "Red")
    add_agent(con, A2, "Bo Two", "Red")
    add_agent(con, A3, "Cy Three", "Blue")    # state history, no contacts
    add_agent(con, A4, "Di Four", "Blue")     # contacts, no state history
    # Ada, 10 Nov: ready 600 + 10 + 1200, busy 360 + 50; the break and logging out are
    # left out. Hour 9: 600 + 10 + 360 + 50 = 1020; hour 10: 1200.
    t = add_state(con, A1, "logged_out", at(8, 30), 1800)
    t = add_state(con, A1, "available", t, 600)                 # 09:00
    t = add_state(con, A1, "offered", t, 10)                    # 09:10
    t = add_state(con, A1, "on_call", t, 360)                   # 09:10:10
    t = add_state(con, A1, "after_call_work", t, 50)            # 09:16:10
    t = add_state(con, A1, "not_ready", t, 2580, "BREAK")       # 09:17 .. 10:00
    add_state(con, A1, "available", t, 1200)                    # 10:00
    add_call(con, at(9, 10), A1, talk=300, hold=60, acw=40)     # handle 400
    add_call(con, at(10, 5), A1, talk=150, acw=30)              # handle 180
    # Ada on 9 Nov: a call, and no state history that day.
    add_call(con, at(9, 0, day=D1 - timedelta(days=1)), A1, talk=500)
    # Bo, 10 Nov, hour 11: busy 300 + 60, ready 1440: 1800.
    t = add_state(con, A2, "on_call", at(11), 300)
    t = add_state(con, A2, "after_call_work", t, 60)
    add_state(con, A2, "available", t, 1440)
    add_call(con, at(11), A2, direction="outbound", dial=20, talk=260, acw=60)  # handle 340
    # Cy waits a whole hour for nothing: 3,600 ready seconds, no contacts.
    add_state(con, A3, "available", at(12), 3600)
    # Di answers a call but has no state history: out of occupancy altogether.
    add_call(con, at(12, 30), A4, talk=100)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "occupancy.sqlite3")
    con = sqlite3.connect(opened.path)
    hand_built(con)
    con.commit()
    con.close()
    yield opened
    opened.close()


def load(store: Store, first: date, last: date, **kwargs: Any) -> dash.DashboardData:
    service = dash.DashboardService(store, now=lambda: AS_OF)
    return service.load(first, last + timedelta(days=1), offset_s=kwargs.pop("offset_s", 0),
                        **kwargs)


def no_nan(data: dash.DashboardData) -> None:
    values: list[Any] = [*data.totals.values()]
    for table in data.tables.values():
        for row in table.rows:
            values.extend(row.figures.values())
    for v in values:
        assert v is None or (isinstance(v, int | float) and math.isfinite(v)), v
    for table in data.tables.values():
        for row in table.rows:
            text = dash.format_figure("occupancy", row.figures.get("occupancy"))
            assert "nan" not in text.lower() and "inf" not in text.lower()


def rows(data: dash.DashboardData, table: str) -> dict[str, Any]:
    return {r.key: r.figures["occupancy"] for r in data.tables[table].rows}


def test_the_state_history_read_per_agent_and_hour(store: Store) -> None:
    lo = int(D1.timestamp())
    got = read_state_seconds(store, lo, lo + 86400, 0)
    seen = {(got.agent_ids[int(a)], int(h) - lo // 3600, int(r), int(b))
            for a, h, r, b in zip(got.agent, got.hour, got.ready, got.busy, strict=True)}
    assert seen == {(A1, 9, 610, 410), (A1, 10, 1200, 0), (A2, 11, 1440, 360),
                    (A3, 12, 3600, 0)}
    # Local hours: two hours ahead of UTC, Ada's 09:00 is 11:00.
    ahead = read_state_seconds(store, lo - 7200, lo + 86400 - 7200, 7200)
    assert min(int(h) for h in ahead.hour) - (lo - 7200 + 7200) // 3600 == 9 + 2


def test_occupancy_worked_out_by_hand(store: Store) -> None:
    data = load(store, date(2026, 11, 10), date(2026, 11, 10))
    # Handled seconds of agent-days with history / their ready + busy seconds; Cy's idle
    # hour counts, Di's call (no history) does not.
    assert data.totals["occupancy"] == pytest.approx((400 + 180 + 340) / (2220 + 1800 + 3600))
    assert data.occupancy_note == ""
    agents = rows(data, "agent")
    assert agents[A1] == pytest.approx(580 / 2220)
    assert agents[A2] == pytest.approx(340 / 1800)   # outbound: dialing counts
    assert agents[A4] is None                        # no state history
    assert A3 not in agents                          # no contacts: no row
    teams = rows(data, "team")
    assert teams["Red"] == pytest.approx(920 / 4020)
    assert teams["Blue"] == 0.0                      # Cy's hour, Di's call left out
    hours = {r.label: r.figures["occupancy"] for r in data.tables["period"].rows}
    hour_of = {int(r.key): r.figures["occupancy"] for r in data.tables["period"].rows}
    lo = int(D1.timestamp())
    assert hour_of[lo + 9 * 3600] == pytest.approx(400 / 1020)
    assert hour_of[lo + 10 * 3600] == pytest.approx(180 / 1200)
    assert hour_of[lo + 11 * 3600] == pytest.approx(340 / 1800)
    assert hour_of[lo + 12 * 3600] == 0.0
    assert hour_of[lo + 8 * 3600] is None            # logged out only
    assert len(hours) == 24
    assert all(v is None for v in rows(data, "queue").values())  # idle time has no queue
    no_nan(data)
    assert dash.format_figure("occupancy", agents[A1]) == "26.1%"


def test_a_day_without_history_leaves_its_calls_out(store: Store) -> None:
    two_days = load(store, date(2026, 11, 9), date(2026, 11, 10))
    # Ada's 500 s on 9 Nov has no state history that day: the same figure as 10 Nov alone.
    assert two_days.totals["occupancy"] == pytest.approx(920 / 7620)
    assert rows(two_days, "agent")[A1] == pytest.approx(580 / 2220)
    days = {r.label: r.figures["occupancy"] for r in two_days.tables["period"].rows}
    assert len(days) == 48 and sum(v is not None for v in days.values()) == 4


def test_no_history_in_the_range_shows_a_dash_and_says_why(store: Store) -> None:
    data = load(store, date(2026, 11, 9), date(2026, 11, 9))
    assert data.totals["contacts"] == 1 and data.totals["occupancy"] is None
    assert data.occupancy_note == dash.OCCUPANCY_NOTE
    assert "agent state history" in data.occupancy_note and "none in this range" in \
        data.occupancy_note
    assert all(v is None for t in ("agent", "team", "period") for v in rows(data, t).values())
    assert dash.format_figure("occupancy", data.totals["occupancy"]) == "\u2014"
    no_nan(data)
    # Nothing at all in the range: no note either (the range notice says it).
    empty = load(store, date(2026, 10, 1), date(2026, 10, 2))
    assert empty.totals["occupancy"] is None and empty.occupancy_note == ""
    no_nan(empty)


def test_an_agents_own_view_against_their_team(store: Store) -> None:
    data = load(store, date(2026, 11, 10), date(2026, 11, 10), me=A3)
    assert data.me is not None and data.my_team is not None
    assert data.me.figures["contacts"] == 0 and data.me.figures["occupancy"] == 0.0
    assert data.my_team.figures["occupancy"] == 0.0
    mine = load(store, date(2026, 11, 10), date(2026, 11, 10), me=A1)
    assert mine.me is not None and mine.me.figures["occupancy"] == pytest.approx(580 / 2220)


def test_local_days_follow_the_offset(store: Store) -> None:
    # Fourteen hours ahead of UTC, 10 Nov is 09 Nov 10:00 .. 10 Nov 10:00 UTC: only Ada's
    # hour 9; her 10:00 stretch and call, Bo's and Cy's fall on the local 11 Nov.
    ahead = 14 * 3600
    tenth = load(store, date(2026, 11, 10), date(2026, 11, 10), offset_s=ahead)
    assert tenth.totals["occupancy"] == pytest.approx(400 / 1020)
    eleventh = load(store, date(2026, 11, 11), date(2026, 11, 11), offset_s=ahead)
    assert eleventh.totals["occupancy"] == pytest.approx((180 + 340) / (1200 + 1800 + 3600))
    assert rows(eleventh, "agent")[A1] == pytest.approx(180 / 1200)
    # Fourteen hours behind, 9 Nov ends at 10 Nov 14:00 UTC: all of 10 Nov's history, and
    # Ada's call of 9 Nov 09:00 UTC falls on the local 8 Nov.
    behind = load(store, date(2026, 11, 9), date(2026, 11, 9), offset_s=-ahead)
    assert behind.totals["occupancy"] == pytest.approx(920 / 7620)


def test_the_ratio_is_never_nan_or_infinite() -> None:
    assert metrics.occupancy_ratio(100, None) is None
    assert metrics.occupancy_ratio(100, 0) is None
    assert metrics.occupancy_ratio(0, 0) is None
    assert metrics.occupancy_ratio(100, float("nan")) is None
    assert metrics.occupancy_ratio(100, float("inf")) is None
    assert metrics.occupancy_ratio(50, 200) == 0.25
    assert metrics.occupancy_ratio(0, 200) == 0.0


def test_a_fresh_store_has_the_table_at_the_new_revision(tmp_path: Path) -> None:
    fresh = open_store(tmp_path / "fresh.sqlite3")
    try:
        con = sqlite3.connect(fresh.path)
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        indexes = {r[1] for r in con.execute("PRAGMA index_list('agent_states')")}
        con.close()
    finally:
        fresh.close()
    assert revision == "0008"
    assert {"ix_agent_states_agent_started", "ix_agent_states_started"} <= indexes
