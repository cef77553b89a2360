"""The Dashboard area driven like a supervisor would: Ctrl+5, a date range, a drill-down
from the trend's series by Enter, a customer opened from an interaction; exports that read
back; the staffing what-if reproducing the published Erlang C example; the live floor from
hand-built FloorViews; an agent's own figures against their team's; bad ranges in words."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QPointF, Qt
from pytestqt.qtbot import QtBot

from agent_desktop.app import build_window, configure_qt_settings
from agent_desktop.domain.calls import AgentState
from agent_desktop.platform.settings import Settings
from agent_desktop.storage.store import Store
from agent_desktop.sync.cti_protocol import AgentView, CallView, FloorView, QueueView
from agent_desktop.ui.main_window import AREAS, MainWindow
from agent_desktop.ui.screens.dashboard.floor import LiveFloor
from agent_desktop.ui.screens.dashboard.page import DashboardPage

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
AS_OF = date(2026, 11, 15)  # the demo store's "today" (tests/conftest.py)


@pytest.fixture
def supervisor_window(qtbot: QtBot, store: Store) -> Iterator[MainWindow]:
    configure_qt_settings()
    win = build_window(store, "supervisor", Settings())
    qtbot.addWidget(win)
    win.resize(1400, 880)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def _open_dashboard(qtbot: QtBot, win: MainWindow) -> DashboardPage:
    page = win.dashboard
    assert win.area_pages["Dashboard"] is page
    with qtbot.waitSignal(page.loaded, timeout=30000):
        qtbot.keyClick(win, Qt.Key.Key_5, CTRL)
    assert win.pages.currentWidget() is page
    assert win.nav.currentRow() == AREAS.index("Dashboard")
    return page


def _pick_range(qtbot: QtBot, page: DashboardPage, first: date, last: date) -> None:
    """Custom range by keyboard: End picks "Custom…", then the days and Enter."""
    if page.range.currentData() != "custom":
        page.range.setFocus()
        with qtbot.waitSignal(page.loaded, timeout=30000):
            qtbot.keyClick(page.range, Qt.Key.Key_End)
    assert page.range.currentData() == "custom" and page.first.isVisible()
    page.first.setDate(QDate(first.year, first.month, first.day))
    page.last.setDate(QDate(last.year, last.month, last.day))
    with qtbot.waitSignal(page.loaded, timeout=30000):
        qtbot.keyClick(page.last, Qt.Key.Key_Return)


def _no_nan_text(page: DashboardPage) -> None:
    texts = [label.text() for label in page.tiles.values()]
    model = page.figures_model
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            texts.append(str(model.index(r, c).data()))
    for text in texts:
        assert not re.search(r"\b(nan|inf)\b", text.lower()), text


def test_supervisor_changes_the_range_drills_down_and_opens_a_customer(
        qtbot: QtBot, supervisor_window: MainWindow) -> None:
    win = supervisor_window
    page = _open_dashboard(qtbot, win)
    assert page.supervisor and page.tabs.tabText(1) == "&Trends"
    _pick_range(qtbot, page, AS_OF - timedelta(days=13), AS_OF)
    data = page.data
    assert data is not None and data.start == AS_OF - timedelta(days=13)
    assert data.end == AS_OF + timedelta(days=1) and not data.empty
    assert data.totals["contacts"] > 0
    assert page.tiles["aht_s"].text() != "\u2014" and ":" in page.tiles["aht_s"].text()
    assert "FCR window 7 days" in page.fcr_label.text()
    assert "First-contact resolution" in page.tiles["fcr"].toolTip()
    _no_nan_text(page)
    # The demo's history has no agent state intervals: occupancy is a dash, and says why.
    assert page.tiles["occupancy"].text() == "\u2014"
    assert "Occupancy counts from agent state history" in page.notices.text()
    assert "none in this range" in page.notices.text() and page.notices.isVisibleTo(page)
    assert "available or ringing" in page.tiles["occupancy"].toolTip()
    # Trends by Alt+T; the series table holds the same points as the chart.
    qtbot.keyClick(page.tabs, Qt.Key.Key_T, ALT)
    assert page.tabs.currentIndex() == 1
    assert page.series_model.rowCount() == len(data.trend.labels) == 14
    busy = max(range(14), key=lambda i: data.trend.contacts[i])
    assert page.aht_plot.xs and busy in page.aht_plot.xs
    page.series_table.setFocus()
    page.series_table.setCurrentIndex(page.series_model.index(busy, 0))
    with qtbot.waitSignal(page.drilled, timeout=20000) as drilled:
        qtbot.keyClick(page.series_table, Qt.Key.Key_Return)
    rows = drilled.args[0]
    assert len(rows) == data.trend.contacts[busy] > 0
    assert data.trend.labels[busy] in page.drill_title.text()
    # Clicking a chart point asks for the same list.
    with qtbot.waitSignal(page.drilled, timeout=20000) as again:
        page.aht_plot.point_clicked.emit(busy)
    assert [r.id for r in again.args[0]] == [r.id for r in rows]
    # Enter on an interaction opens its customer.
    index = next(i for i, r in enumerate(page.drill_rows) if r.customer_id)
    page.drill_table.setFocus()
    page.drill_table.setCurrentIndex(page.drill_model.index(index, 0))
    with qtbot.waitSignal(page.open_customer, timeout=5000) as opened, \
            qtbot.waitSignal(win.customers.customer_shown, timeout=20000):
        qtbot.keyClick(page.drill_table, Qt.Key.Key_Return)
    assert opened.args[0] == page.drill_rows[index].customer_id
    assert win.pages.currentIndex() == 0
    view = win.customers.current_view()
    assert view is not None and view.data is not None
    assert view.data.customer_id == page.drill_rows[index].customer_id


def test_tabs_by_keyboard_and_the_team_table(qtbot: QtBot,
                                             supervisor_window: MainWindow) -> None:
    win = supervisor_window
    page = _open_dashboard(qtbot, win)
    _pick_range(qtbot, page, AS_OF - timedelta(days=6), AS_OF)
    qtbot.keyClick(win, Qt.Key.Key_Tab, CTRL)
    assert page.tabs.currentIndex() == 2  # Trends -> Team & agents
    qtbot.keyClick(win, Qt.Key.Key_Tab, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert page.tabs.currentIndex() == 1
    qtbot.keyClick(page.tabs, Qt.Key.Key_A, ALT)
    assert page.tabs.currentIndex() == 2
    model = page.figures_model
    assert model.rowCount() > 3 and model.headerData(0, Qt.Orientation.Horizontal) == "Agent"
    assert "Average handle time" in model.headerData(4, Qt.Orientation.Horizontal,
                                                     Qt.ItemDataRole.ToolTipRole)
    page.table_pick.setCurrentIndex(page.table_pick.findData("team"))
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Team"
    teams = {model.index(r, 0).data() for r in range(model.rowCount())}
    assert len(teams) > 1
    page.figures_table.setFocus()
    page.figures_table.setCurrentIndex(model.index(0, 0))
    with qtbot.waitSignal(page.drilled, timeout=20000) as drilled:
        qtbot.keyClick(page.figures_table, Qt.Key.Key_Return)
    assert len(drilled.args[0]) == min(model.rows[0].figures["contacts"], 2000)
    _no_nan_text(page)
    qtbot.keyClick(page.tabs, Qt.Key.Key_S, ALT)
    assert page.tabs.currentWidget() is page.staffing
    qtbot.keyClick(page.tabs, Qt.Key.Key_L, ALT)
    assert page.tabs.currentWidget() is page.floor
    assert page.floor.stack.currentIndex() == 0  # no floor yet
    assert page.floor.waiting.title.text() == "Connecting to the floor\u2026"


def test_exports_read_back(qtbot: QtBot, supervisor_window: MainWindow,
                           tmp_path: Path) -> None:
    page = _open_dashboard(qtbot, supervisor_window)
    _pick_range(qtbot, page, AS_OF - timedelta(days=6), AS_OF)
    page.tabs.setCurrentIndex(2)
    page.table_pick.setCurrentIndex(page.table_pick.findData("queue"))
    path = page.export_csv(tmp_path / "queues.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "Queue" and len(rows) == page.figures_model.rowCount() + 1
    assert sum(int(r[1]) for r in rows[1:]) == page.data.totals["contacts"]  # type: ignore[union-attr]
    from openpyxl import load_workbook

    wb = load_workbook(page.export_excel(tmp_path / "all.xlsx"))
    assert "By queue" in wb.sheetnames and "Definitions" in wb.sheetnames
    sheet = list(wb["By queue"].iter_rows(values_only=True))
    assert sheet[1][0] == "Queue" and len(sheet) == len(rows) + 1
    pdf = page.export_pdf(tmp_path / "week.pdf")
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 2000



def test_heat_map_and_histogram_clicks_drill_down(qtbot: QtBot,
                                                  supervisor_window: MainWindow) -> None:
    page = _open_dashboard(qtbot, supervisor_window)
    _pick_range(qtbot, page, AS_OF - timedelta(days=27), AS_OF)
    data = page.data
    assert data is not None
    day, hour = max(((d, h) for d in range(7) for h in range(24)),
                    key=lambda c: data.heatmap[c[0]][c[1]])
    with qtbot.waitSignal(page.drilled, timeout=20000) as drilled:
        page.heatmap.click_at(QPointF(hour + 0.5, day + 0.5))
    rows = drilled.args[0]
    assert len(rows) == data.heatmap[day][hour] > 0
    off = timedelta(seconds=page.offset_s)
    assert all((r.offered_at + off).weekday() == day and (r.offered_at + off).hour == hour
               for r in rows)
    busiest = max(range(len(data.histogram.counts)), key=lambda i: data.histogram.counts[i])
    with qtbot.waitSignal(page.drilled, timeout=20000) as drilled:
        page.histogram.click_at(busiest + 0.5)
    rows = drilled.args[0]
    assert len(rows) == data.histogram.counts[busiest]
    assert all(busiest * 60 <= r.handle_seconds < (busiest + 1) * 60 for r in rows)


def test_staffing_what_if_reproduces_the_worked_example(
        qtbot: QtBot, supervisor_window: MainWindow) -> None:
    page = _open_dashboard(qtbot, supervisor_window)
    qtbot.keyClick(page.tabs, Qt.Key.Key_S, ALT)
    w = page.staffing
    for key, text in (("calls", "100"), ("interval", "30"), ("aht", "180"), ("sl", "80"),
                      ("within", "20"), ("occupancy", "85"), ("shrinkage", "30")):
        w.fields[key].clear()
        qtbot.keyClicks(w.fields[key], text)
    shown = {k: v.text() for k, v in w.result_labels.items()}
    assert shown["agents"] == "14" and shown["scheduled"] == "20"
    assert shown["service_level"] == "88.8%" and shown["occupancy"] == "71.4%"
    assert shown["p_wait"] == "17.4%" and shown["traffic"] == "10.00 Erlangs"
    # Wrong input is named field by field, and no answer is shown.
    w.fields["calls"].clear()
    qtbot.keyClicks(w.fields["calls"], "lots")
    assert w.errors["calls"].text() == ("Forecast calls per interval must be a number of "
                                        "calls, like 100.")
    assert w.result_labels["agents"].text() == "\u2014"
    w.fields["calls"].setText("100")
    w.fields["shrinkage"].setText("-5")
    assert "cannot be negative" in w.errors["shrinkage"].text()
    w.fields["shrinkage"].setText("30")
    w.fields["interval"].setText("")
    assert w.errors["interval"].text() == "Interval length is needed."
    w.fields["interval"].setText("30")
    assert w.result_labels["agents"].text() == "14" and not w.errors["interval"].isVisible()
    # A day's profile pasted: one row per interval, the worked example's own row matches.
    w.profile.setPlainText("08:00\t40\n08:30\t100\n09:00\tmany")
    w.compute_profile()
    assert w.profile_model.rowCount() == 2
    assert "Line 3" in w.profile_status.text()
    assert w.profile_model.index(1, 2).data() == "14"
    assert w.profile_model.index(1, 3).data() == "20"


def _floor(at: datetime) -> FloorView:
    def agent(n: int, name: str, team: str, state: AgentState, ago: int,
              call: CallView | None = None, reason: str = "") -> AgentView:
        return AgentView(agent_id=f"{n:032x}", username=name.lower(), display_name=name,
                         team=team, state=state, since=(at - timedelta(seconds=ago)).isoformat(),
                         call=call, reason=reason)

    call = CallView(id="9" * 32, direction="inbound", queue="billing", caller_id="",
                    state="talking", offered_at=(at - timedelta(seconds=90)).isoformat())
    return FloorView(
        at=at.isoformat(), service_level_target_seconds=20, service_level=0.812,
        agents=[
            agent(1, "Zed Able", "Red", AgentState.AVAILABLE, 65),
            agent(2, "Amy Busy", "Blue", AgentState.ON_CALL, 80, call=call),
            agent(3, "Bob Break", "Red", AgentState.NOT_READY, 1000, reason="lunch"),
            agent(4, "Cy Wrap", "Blue", AgentState.AFTER_CALL_WORK, 30),
        ],
        queues=[
            QueueView(name="billing", label="Billing", waiting=2, longest_wait_seconds=45,
                      agents_available=1, offered_today=120, answered_today=110,
                      answered_in_target_today=90, abandoned_today=10,
                      short_abandons_today=4, service_level=0.8),
            QueueView(name="sales", label="Sales", waiting=0, longest_wait_seconds=0,
                      agents_available=0, offered_today=0, answered_today=0,
                      answered_in_target_today=0, abandoned_today=0,
                      short_abandons_today=0, service_level=None),
        ])


def test_live_floor_shows_agents_and_queues_and_ticks(qtbot: QtBot) -> None:
    clock = [datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)]
    floor = LiveFloor(now=lambda: clock[0])
    qtbot.addWidget(floor)
    floor.show()
    assert floor.stack.currentIndex() == 0 and not floor.timer.isActive()
    # The server's clock is 3 s ahead of this machine's: times follow the server.
    floor.set_floor(_floor(clock[0] + timedelta(seconds=3)))
    assert floor.stack.currentIndex() == 1 and floor.timer.isActive()
    assert "81.2%" in floor.sl_label.text() and "20 s" in floor.sl_label.text()
    assert "2 waiting" in floor.counts_label.text()
    agents = floor.agents_model
    # Grouped by team, then by state within it.
    assert [agents.index(r, 0).data() for r in range(4)] == [
        "Amy Busy", "Cy Wrap", "Zed Able", "Bob Break"]
    zed = next(r for r in range(4) if agents.agents[r].display_name == "Zed Able")
    assert agents.index(zed, 2).data() == "Available"
    assert agents.index(zed, 4).data() == "1:05"
    amy = next(r for r in range(4) if agents.agents[r].display_name == "Amy Busy")
    assert agents.index(amy, 3).data() == "inbound \u00b7 billing"
    clock[0] += timedelta(seconds=10)
    floor.tick()
    assert agents.index(zed, 4).data() == "1:15"
    queues = floor.queues_model
    assert queues.index(0, 0).data() == "Billing" and queues.index(0, 1).data() == "2"
    assert queues.index(0, 2).data() == "0:55"  # 45 s at the floor's time, 10 s since
    assert queues.index(1, 2).data() == "\u2014" and queues.index(1, 7).data() == "\u2014"
    assert queues.index(0, 7).data() == "80.0%"
    floor.group.setCurrentIndex(floor.group.findData("state"))
    assert [agents.index(r, 2).data() for r in range(4)] == [
        "On a call", "After-call work", "Available", "Not ready"]
    floor.group.setCurrentIndex(floor.group.findData(""))
    agents.sort(4, Qt.SortOrder.DescendingOrder)
    assert agents.index(0, 0).data() == "Bob Break"  # the longest in state first
    floor.hide()
    assert not floor.timer.isActive()


def test_an_agent_sees_their_figures_against_their_team(qtbot: QtBot,
                                                        window: MainWindow) -> None:
    page = _open_dashboard(qtbot, window)
    assert not page.supervisor
    _pick_range(qtbot, page, AS_OF - timedelta(days=29), AS_OF)
    data = page.data
    assert data is not None and data.me is not None
    assert [r.key for r in data.tables["agent"].rows] == [window.who.agent_id]
    assert page.team_tiles["aht_s"].text().startswith("team ")
    page.tabs.setCurrentIndex(2)
    assert "against your team" in page.versus.text()
    assert page.scope.itemText(0) == "Me"
    assert page.floor.waiting.title.text() == "The live floor is for supervisors"


def test_bad_ranges_are_said_plainly(qtbot: QtBot, supervisor_window: MainWindow) -> None:
    page = _open_dashboard(qtbot, supervisor_window)
    _pick_range(qtbot, page, date(2020, 1, 1), date(2020, 1, 31))
    assert page.data is not None and page.data.empty
    assert "No interactions between 01 Jan 2020 and 31 Jan 2020" in page.notices.text()
    assert page.tiles["aht_s"].text() == "\u2014" and page.tiles["contacts"].text() == "0"
    assert page.aht_plot.message.textItem.toPlainText() == "No handled contacts in this range"
    assert page.heatmap.message.textItem.toPlainText() == "No contacts in this range"
    _no_nan_text(page)
    # The last day before the first: said at once, nothing loaded.
    page.first.setDate(QDate(2026, 11, 10))
    page.last.setDate(QDate(2026, 11, 1))
    page.refresh()
    assert page.error.isVisible() and "before it starts" in page.error.text()
