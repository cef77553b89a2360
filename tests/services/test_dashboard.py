"""The dashboard service on real SQLite stores: figures worked out by hand, the same
figures as services/metrics.py on the demo store, the drill-down, catch-up, bad ranges and
the exports."""

from __future__ import annotations

import csv
import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_desktop.services import dashboard as dash
from agent_desktop.services import metrics
from agent_desktop.storage.store import Store, open_store

A1, A2 = "a1" * 16, "a2" * 16
C1, C2 = "c1" * 16, "c2" * 16
AS_OF = datetime(2026, 11, 30, tzinfo=UTC)


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.000000")


def add_agent(con: sqlite3.Connection, agent_id: str, name: str, team: str,
              role: str = "agent") -> None:
    con.execute(
        "INSERT INTO agents (id, username, display_name, role, team, skills,"
        " adjustment_limit_cents, daily_adjustment_limit_cents, refund_limit_cents, active,"
        " created_at, updated_at, version) VALUES (?,?,?,?,?,'[]',5000,20000,10000,1,?,?,1)",
        (agent_id, name.lower().replace(" ", "."), name, role, team, _ts(AS_OF), _ts(AS_OF)))


def add_interaction(con: sqlite3.Connection, iid: str, offered: datetime, *,
                    customer: str | None = C1, agent: str | None = A1, reason: str = "BILL",
                    queue: str = "billing", channel: str = "call", direction: str = "inbound",
                    wait: int = 0, dial: int = 0, talk: int = 0, hold: int = 0, acw: int = 0,
                    transfers: int = 0, abandoned: bool = False, ended: bool = True,
                    csat: int | None = None, nps: int | None = None) -> None:
    answered = None if abandoned else offered + timedelta(seconds=wait + dial)
    end = (offered + timedelta(seconds=wait)) if abandoned else \
        (answered + timedelta(seconds=talk + hold)) if answered else None
    con.execute(
        "INSERT INTO interactions (id, customer_id, channel, direction, queue, agent_id,"
        " caller_id, offered_at, answered_at, ended_at, wait_seconds, dial_seconds,"
        " talk_seconds, hold_seconds, acw_seconds, transfers, abandoned, reason_code,"
        " wrap_up_code, resolved, csat, nps, summary, created_at, updated_at, version)"
        " VALUES (?,?,?,?,?,?,'',?,?,?,?,?,?,?,?,?,?,?,'',1,?,?,?,?,?,1)",
        (iid, customer, channel, direction, queue, agent, _ts(offered), _ts(answered),
         _ts(end) if ended else None, wait, dial, talk, hold, acw, transfers, int(abandoned),
         reason, csat, nps, f"interaction {iid}", _ts(offered), _ts(offered)))


D1 = datetime(2026, 11, 10, tzinfo=UTC)  # a Tuesday


def hand_built(con: sqlite3.Connection) -> None:
    add_agent(con, A1, "Ada One", "Red")
    add_agent(con, A2, "Bo Two", "Blue")
    # 1: C1 about BILL; repeated exactly 7 days later (within the window): not resolved.
    add_interaction(con, "i1" * 16, D1 + timedelta(hours=9), wait=10, talk=300, hold=60,
                    acw=40, csat=5, nps=10)
    # 2: the repeat, transferred; nothing after it: resolved once its window is over.
    add_interaction(con, "i2" * 16, D1 + timedelta(days=7, hours=9), agent=A2, wait=30,
                    talk=200, transfers=1, csat=2, nps=3)
    # 3: C2 about BILL; the next contact comes 7 days + 1 s later: resolved.
    add_interaction(con, "i3" * 16, D1 + timedelta(hours=10), customer=C2, wait=25, talk=100)
    # 4: that next contact, with no end time (a data problem: out of AHT).
    add_interaction(con, "i4" * 16, D1 + timedelta(days=7, hours=10, seconds=1), customer=C2,
                    wait=5, talk=500, ended=False)
    # 5: a short abandon (3 s): out of service level and abandonment altogether.
    add_interaction(con, "i5" * 16, D1 + timedelta(hours=10, minutes=5), customer=None,
                    agent=None, reason="", wait=3, abandoned=True)
    # 6: a real abandon after 40 s.
    add_interaction(con, "i6" * 16, D1 + timedelta(hours=10, minutes=6), customer=None,
                    agent=None, reason="", wait=40, abandoned=True)
    # 7: outbound: dialing counts in handle time; not a queue call.
    add_interaction(con, "i7" * 16, D1 + timedelta(hours=11), agent=A2, queue="collections",
                    direction="outbound", reason="PTP", dial=20, talk=100, acw=10)


@pytest.fixture
def hand_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "hand.sqlite3")
    con = sqlite3.connect(store.path)
    hand_built(con)
    con.commit()
    con.close()
    yield store
    store.close()


def service(store: Store) -> dash.DashboardService:
    return dash.DashboardService(store, now=lambda: AS_OF)


def no_nan(data: dash.DashboardData) -> None:
    """No figure anywhere is NaN or infinite (None is the undefined value)."""
    def check(v: Any) -> None:
        assert v is None or (isinstance(v, int | float) and math.isfinite(v)), v

    for v in data.totals.values():
        check(v)
    for table in data.tables.values():
        for row in table.rows:
            for v in row.figures.values():
                check(v)
    for v in (*data.trend.aht_s, *data.trend.fcr):
        check(v)
    for figure in dash.FIGURES:
        for table in data.tables.values():
            for row in table.rows:
                text = dash.format_figure(figure, row.figures.get(figure))
                assert "nan" not in text.lower() and "inf" not in text.lower()


def test_one_day_worked_out_by_hand(hand_store: Store) -> None:
    data = service(hand_store).load(date(2026, 11, 10), date(2026, 11, 11), offset_s=0)
    t = data.totals
    assert t["contacts"] == 5 and t["handled"] == 3
    assert t["aht_s"] == pytest.approx((400 + 100 + 130) / 3)
    # Queue: 1, 3 and 6 offered (5 was a short abandon); only 1 answered within 20 s.
    assert t["service_level"] == pytest.approx(1 / 3)
    assert t["asa_s"] == pytest.approx((10 + 25) / 2)
    assert t["abandonment_rate"] == pytest.approx(1 / 3)
    # FCR: 1 repeated at exactly 7 days (not resolved), 3 repeated after 7 days + 1 s.
    assert t["fcr"] == pytest.approx(1 / 2)
    assert t["transfer_rate"] == 0
    assert t["data_problems"] == 0
    assert t["csat"] == 1.0 and t["nps"] == 100.0
    assert t["occupancy"] is None and t["conversion"] is None
    no_nan(data)
    assert data.trend.granularity == "hour"
    assert data.heatmap[1][9] == 1 and data.heatmap[1][10] == 3 and data.heatmap[1][11] == 1
    assert sum(map(sum, data.heatmap)) == 5
    # Handle times 400, 100 and 130 s: bins 6, 1 and 2 (one minute each).
    assert data.histogram.counts[6] == 1 and data.histogram.counts[1] == 1
    assert data.histogram.counts[2] == 1 and sum(data.histogram.counts) == 3


def test_eight_days_by_agent_team_queue(hand_store: Store) -> None:
    data = service(hand_store).load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0)
    t = data.totals
    assert t["contacts"] == 7 and t["handled"] == 5
    assert t["aht_s"] == pytest.approx((400 + 200 + 100 + 130) / 4)
    assert t["data_problems"] == 1
    assert t["fcr"] == pytest.approx(3 / 4)
    assert t["transfer_rate"] == pytest.approx(1 / 5)
    assert t["service_level"] == pytest.approx(2 / 5)
    assert t["csat"] == pytest.approx(1 / 2) and t["nps"] == pytest.approx(0.0)
    assert any("no end time" in n for n in data.notices)
    agents = {r.label: r for r in data.tables["agent"].rows}
    assert agents["Ada One"].figures["aht_s"] == pytest.approx((400 + 100) / 2)
    assert agents["Bo Two"].figures["aht_s"] == pytest.approx((200 + 130) / 2)
    assert agents["Ada One"].detail == "Red"
    assert agents["(no agent: abandoned in the queue)"].figures["contacts"] == 2
    teams = {r.key: r for r in data.tables["team"].rows}
    assert teams["Red"].figures["contacts"] == 3 and teams["Blue"].figures["contacts"] == 2
    queues = {r.key: r for r in data.tables["queue"].rows}
    assert queues["collections"].figures["aht_s"] == pytest.approx(130)
    assert queues["collections"].figures["service_level"] is None
    assert data.trend.granularity == "day" and len(data.trend.starts) == 8
    assert data.trend.contacts[0] == 5 and data.trend.contacts[7] == 2
    assert data.trend.aht_s[3] is None  # a day without contacts: no point, no NaN
    no_nan(data)


def test_fcr_window_setting_changes_the_answer(hand_store: Store) -> None:
    svc = service(hand_store)
    one_day = dash.DashboardSettings(fcr_window_days=1)
    data = svc.load(date(2026, 11, 10), date(2026, 11, 11), offset_s=0, settings=one_day)
    assert data.totals["fcr"] == 1.0  # the repeats 7 days later are outside a 1-day window
    thirty = dash.DashboardSettings(fcr_window_days=30)
    data = svc.load(date(2026, 11, 10), date(2026, 11, 11), offset_s=0, settings=thirty)
    # Both repeated, but no 30-day window is over yet at AS_OF: nothing judged, "—".
    assert data.totals["fcr"] is None
    assert any(n.startswith("FCR is judged 30 days after each contact") for n in data.notices)
    data = svc.load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0, settings=thirty)
    assert data.totals["fcr"] is None


def test_trend_scoped_to_an_agent_or_a_team_and_the_agent_view(hand_store: Store) -> None:
    svc = service(hand_store)
    data = svc.load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0, trend_agent=A2)
    assert data.trend.scope == "Bo Two"
    assert data.trend.aht_s[0] == pytest.approx(130) and data.trend.aht_s[7] == 200
    data = svc.load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0, trend_team="Red")
    assert data.trend.aht_s[0] == pytest.approx(250) and data.trend.aht_s[7] is None
    mine = svc.load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0, me=A1)
    assert mine.me is not None and mine.my_team is not None
    assert mine.me.figures["aht_s"] == pytest.approx(250)
    assert mine.my_team.key == "Red"
    assert [r.key for r in mine.tables["agent"].rows] == [A1]
    assert [r.key for r in mine.tables["team"].rows] == ["Red"]


def test_drill_down_lists_the_interactions_behind_a_point(hand_store: Store) -> None:
    svc = service(hand_store)
    data = svc.load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0)
    rows, total = svc.drill_down(data.trend.drills[0], 0)
    assert total == 5 and [r.id for r in rows] == [
        "i1" * 16, "i3" * 16, "i5" * 16, "i6" * 16, "i7" * 16]
    agent = next(r for r in data.tables["agent"].rows if r.key == A1)
    rows, total = svc.drill_down(agent.drill, 0)
    assert {r.id for r in rows} == {"i1" * 16, "i3" * 16, "i4" * 16}
    missing = next(r for r in rows if r.id == "i4" * 16)
    assert missing.ended_at is None and missing.agent_name == "Ada One"
    rows, _ = svc.drill_down(dash.Drill(data.trend.starts[0], data.trend.starts[0] + 86400,
                                        weekday=1, hour=10), 0)
    assert {r.id for r in rows} == {"i3" * 16, "i5" * 16, "i6" * 16}
    rows, _ = svc.drill_down(dash.Drill(data.trend.starts[0], data.trend.starts[-1] + 86400,
                                        handle_min=360, handle_max=420), 0)
    assert [r.id for r in rows] == ["i1" * 16]
    team = next(r for r in data.tables["team"].rows if r.key == "Blue")
    rows, _ = svc.drill_down(team.drill, 0)
    assert {r.id for r in rows} == {"i2" * 16, "i7" * 16}


@pytest.mark.parametrize("side_limit", [200_000, 1])
def test_new_interactions_are_caught_up_without_reading_everything(
        hand_store: Store, side_limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dash, "_SIDE_LIMIT", side_limit)  # 1: fold the side index each time
    svc = service(hand_store)
    before = svc.load(date(2026, 11, 10), date(2026, 11, 20), offset_s=0)
    assert before.totals["fcr"] == pytest.approx(3 / 4)
    con = sqlite3.connect(hand_store.path)
    # C2 calls about BILL again 2 days after 4: 4 is no longer resolved.
    add_interaction(con, "i8" * 16, D1 + timedelta(days=9, hours=10), customer=C2, wait=8,
                    talk=60)
    con.commit()
    con.close()
    after = svc.load(date(2026, 11, 10), date(2026, 11, 20), offset_s=0)
    assert after.totals["contacts"] == 8 and after.interactions_in_store == 8
    assert after.totals["fcr"] == pytest.approx(3 / 5)
    assert svc.cache.appended_after == 7  # caught up: the FCR index was extended
    _same_as_from_scratch(svc)
    # More at once: a new reason, a new customer, a repeat within the batch, a tie in time.
    con = sqlite3.connect(hand_store.path)
    at = D1 + timedelta(days=9, hours=11)
    add_interaction(con, "i9" * 16, at, customer="c3" * 16, reason="NEWR", talk=10)
    add_interaction(con, "ia" * 16, at, customer="c3" * 16, reason="NEWR", talk=10)
    add_interaction(con, "ib" * 16, at + timedelta(hours=1), customer=C1, talk=10)
    add_interaction(con, "ic" * 16, at + timedelta(hours=2), customer=C1, talk=10)
    add_agent(con, "a3" * 16, "Cy Three", "Red")  # an agent never seen before
    add_interaction(con, "id" * 16, at + timedelta(hours=3), agent="a3" * 16, talk=10)
    con.commit()
    con.close()
    data = svc.load(date(2026, 11, 10), date(2026, 11, 20), offset_s=0)
    assert svc.cache.appended_after == 8
    _same_as_from_scratch(svc)
    agents = {r.label: r.figures["contacts"] for r in data.tables["agent"].rows}
    assert agents["Cy Three"] == 1 and agents["Ada One"] == 8 and agents["Bo Two"] == 2
    assert agents["(no agent: abandoned in the queue)"] == 2
    fresh = service(hand_store).load(date(2026, 11, 10), date(2026, 11, 20), offset_s=0)
    assert fresh.totals == data.totals
    assert [r.figures for r in fresh.tables["team"].rows] == [
        r.figures for r in data.tables["team"].rows]


def _same_as_from_scratch(svc: dash.DashboardService) -> None:
    import numpy as np

    assert svc._fcr is not None
    fresh = dash._fcr_gap(svc.cache.columns)
    assert np.array_equal(svc._fcr.gap, fresh.gap)
    keys, rows = svc._fcr.merged()
    assert np.array_equal(keys, fresh.keys)
    assert np.array_equal(rows, fresh.rows)
    kept = svc._kept(svc.cache.columns, dash.DashboardSettings(), 0)
    derived = svc._derive(svc.cache.columns, slice(None), dash.DashboardSettings(), 0)
    assert kept.keys() == derived.keys()
    for name, values in derived.items():
        assert np.array_equal(kept[name], values), name


def test_bad_ranges_are_said_plainly(hand_store: Store, tmp_path: Path) -> None:
    svc = service(hand_store)
    empty = svc.load(date(2026, 11, 10), date(2026, 11, 10), offset_s=0)
    assert empty.empty and empty.notices == ("The range is empty: pick at least one day.",)
    no_nan(empty)
    none = svc.load(date(2025, 1, 1), date(2025, 1, 8), offset_s=0)
    assert none.empty and "No interactions between 01 Jan 2025 and 07 Jan 2025" in \
        none.notices[0]
    assert "10 Nov 2026 to 17 Nov 2026" in none.notices[0]
    assert all(v is None for v in none.trend.aht_s) and len(none.trend.aht_s) == 7
    no_nan(none)
    long = svc.load(date(2024, 1, 1), date(2026, 12, 1), offset_s=0)
    assert long.trend.granularity == "week" and "long range" in long.notices[0]
    assert long.totals["contacts"] == 7
    no_nan(long)
    with pytest.raises(dash.RangeError, match="before it starts"):
        svc.load(date(2026, 11, 10), date(2026, 11, 9), offset_s=0)
    with pytest.raises(dash.RangeError, match=r"ends .* before it starts"):
        dash.date_range("custom", date(2026, 11, 10), (date(2026, 11, 5), date(2026, 11, 1)))
    nothing = open_store(tmp_path / "empty.sqlite3")
    try:
        svc2 = service(nothing)
        data = svc2.load(date(2026, 11, 10), date(2026, 11, 11), offset_s=0)
        assert data.empty and "no interactions in the store yet" in data.notices[0]
        no_nan(data)
        assert svc2.drill_down(data.trend.drills[0], 0)[1] == 0
    finally:
        nothing.close()


def test_date_ranges() -> None:
    today = date(2026, 11, 24)
    assert dash.date_range("today", today) == (today, date(2026, 11, 25))
    assert dash.date_range("yesterday", today) == (date(2026, 11, 23), today)
    assert dash.date_range("last_7", today) == (date(2026, 11, 18), date(2026, 11, 25))
    assert dash.date_range("last_30", today) == (date(2026, 10, 26), date(2026, 11, 25))
    assert dash.date_range("this_month", today) == (date(2026, 11, 1), date(2026, 11, 25))
    assert dash.date_range("custom", today, (date(2026, 1, 1), date(2026, 1, 1))) == (
        date(2026, 1, 1), date(2026, 1, 2))


def test_local_days_follow_the_zone(hand_store: Store) -> None:
    # At UTC-10, 09:00 and 10:00 UTC on the 10th are 23:00 and 00:00 local: different days.
    data = service(hand_store).load(date(2026, 11, 9), date(2026, 11, 10),
                                    offset_s=-10 * 3600)
    assert data.totals["contacts"] == 1
    assert data.heatmap[0][23] == 1  # Monday 23:00 local


def test_settings_fall_back_to_their_defaults() -> None:
    def get(key: str) -> Any:
        if key == "fcr_window_days":
            return 14
        raise KeyError(key)

    s = dash.DashboardSettings.from_getter(get)
    assert s.fcr_window_days == 14 and s.service_level_seconds == 20
    assert dash.DashboardSettings.from_getter(None) == dash.DashboardSettings()


def test_the_demo_store_gives_the_same_figures_as_metrics_summary(store: Store) -> None:
    """The numpy path against the pandas reference, on the demo's own interactions."""
    con = sqlite3.connect(store.path)
    con.row_factory = sqlite3.Row
    teams = dict(con.execute("SELECT id, team FROM agents").fetchall())
    offers = dict(con.execute(
        "SELECT interaction_id, count(*) FROM offers_shown GROUP BY interaction_id").fetchall())
    accepted = dict(con.execute(
        "SELECT interaction_id, sum(response = 'accepted') FROM offers_shown"
        " GROUP BY interaction_id").fetchall())
    promises = {r[0]: r[1:] for r in con.execute(
        "SELECT interaction_id, sum(status = 'kept'), sum(status = 'broken'),"
        " coalesce(sum(CASE WHEN status = 'kept' THEN amount_cents END), 0)"
        " FROM promises_to_pay GROUP BY interaction_id").fetchall()}
    rows = []
    for r in con.execute("SELECT * FROM interactions ORDER BY rowid"):
        d = dict(r)
        for k in ("offered_at", "answered_at", "ended_at"):
            d[k] = None if d[k] is None else datetime.fromisoformat(d[k]).replace(
                microsecond=0)
        d["team"] = teams.get(d["agent_id"], "")
        d["offers_shown"] = offers.get(d["id"], 0)
        d["offers_accepted"] = accepted.get(d["id"], 0)
        kept, broken, collected = promises.get(d["id"], (0, 0, 0))
        d.update(promises_kept=kept, promises_broken=broken, collected_cents=collected)
        rows.append(d)
    con.close()
    assert len(rows) > 1000
    frame = metrics.frame(rows)
    last = max(r["offered_at"] for r in rows).date()
    start, end = last - timedelta(days=29), last + timedelta(days=1)
    as_of = datetime.combine(end, datetime.min.time())
    svc = dash.DashboardService(store, now=lambda: as_of.replace(tzinfo=UTC))
    data = svc.load(start, end, offset_s=0)
    kwargs = {"start": datetime.combine(start, datetime.min.time()), "end": as_of,
              "as_of": as_of}
    ref = metrics.summary(frame, **kwargs).iloc[0].to_dict()
    for figure in dash.FIGURES:
        assert data.totals[figure] == pytest.approx(ref[figure]), figure
    for by, table, key in (("agent", "agent", lambda r: r.key), ("queue", "queue",
                                                                  lambda r: r.key),
                           ("reason", "reason", lambda r: r.key)):
        expected = {str(rec[by]): rec for rec in
                    metrics.summary(frame, by, **kwargs).to_dict("records")}
        for row in data.tables[table].rows:
            want = expected[key(row)]
            for figure in dash.FIGURES:
                assert row.figures[figure] == pytest.approx(want[figure]), (by, row.key,
                                                                            figure)
    by_day = metrics.summary(frame, "day", **kwargs)
    assert [r.figures["contacts"] for r in data.tables["period"].rows] == list(
        by_day["contacts"])
    no_nan(data)


def test_exports_write_files_that_read_back(hand_store: Store, tmp_path: Path) -> None:
    data = service(hand_store).load(date(2026, 11, 10), date(2026, 11, 18), offset_s=0)
    table = data.tables["agent"]
    path = dash.export_csv(table, tmp_path / "agents.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:4] == ["Agent", "Team", "Contacts", "Handled"]
    assert "AHT (s)" in rows[0]
    by_name = {r[0]: r for r in rows[1:]}
    assert float(by_name["Ada One"][rows[0].index("AHT (s)")]) == pytest.approx(250)
    assert by_name["Ada One"][rows[0].index("Occupancy")] == ""  # undefined: blank
    from openpyxl import load_workbook

    xlsx = dash.export_excel(list(data.tables.values()), tmp_path / "all.xlsx", title="T")
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["By agent", "By team", "By queue", "By reason", "By day",
                             "Definitions"]
    ws = wb["By agent"]
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "T"
    assert values[1][0] == "Agent"
    names = [v[0] for v in values[2:]]
    assert "Ada One" in names and "Bo Two" in names
    fcr_col = values[1].index("FCR")
    ada = values[2 + names.index("Ada One")]
    assert ada[fcr_col] == pytest.approx(2 / 3)  # 1 not resolved, 3 and 4 resolved
