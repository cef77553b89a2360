"""The Dashboard area (Ctrl+5): Live floor, Trends, Team & agents, Staffing.

    page = DashboardPage(store, who, settings.get)
    page.open_customer.connect(window.open_customer)   # from an interaction in a drill-down
    page.set_floor(floor_view)                         # from the server's event stream

Loading and computing run off the UI thread (``ui.tasks.Op``) with a progress bar after
300 ms; only the newest request's answer is shown. Every figure has its definition as a
tooltip and in the definitions panel ("? Definitions", Alt+D). A supervisor sees everyone;
an agent (role "agent") sees their own figures against their team's.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.services import dashboard as dash
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.interactions import InteractionRow
from agent_desktop.storage.store import Store
from agent_desktop.sync.cti_protocol import FloorView
from agent_desktop.ui.screens.dashboard.floor import LiveFloor, duration
from agent_desktop.ui.screens.dashboard.staffing import StaffingWhatIf
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import Column, RowsModel, fit_columns, make_table, muted

_Index = QModelIndex | QPersistentModelIndex

HEADLINE = ("contacts", "aht_s", "fcr", "service_level", "asa_s", "abandonment_rate",
            "occupancy", "transfer_rate", "csat", "nps", "conversion", "promises_kept_rate",
            "collected_cents")
TABLES = (("agent", "By agent"), ("team", "By team"), ("queue", "By queue"),
          ("reason", "By reason"), ("period", "By day / hour"))


class FiguresModel(QAbstractTableModel):
    """A table of rows with every figure; sortable; the header's tooltip defines each."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table: dash.Table | None = None
        self.rows: list[dash.Row] = []
        self.with_team = False

    def set_table(self, table: dash.Table | None) -> None:
        self.beginResetModel()
        self.table = table
        self.rows = list(table.rows) if table is not None else []
        self.with_team = table is not None and table.name == "agent"
        self.endResetModel()

    def _figure(self, column: int) -> str | None:
        offset = 2 if self.with_team else 1
        return dash.FIGURES[column - offset] if column >= offset else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(dash.FIGURES) + (2 if self.with_team else 1)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        figure = self._figure(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if figure is None:
                return row.label if index.column() == 0 else (row.detail or "\u2014")
            return dash.format_figure(figure, row.figures.get(figure))
        if role == Qt.ItemDataRole.TextAlignmentRole and figure is not None:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and figure is not None:
            return dash.definition_text(figure)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        figure = self._figure(section)
        if role == Qt.ItemDataRole.DisplayRole:
            if figure is None:
                if section == 0:
                    return self.table.key_title if self.table is not None else ""
                return "Team"
            return dash.FIGURE_TITLES[figure]
        if role == Qt.ItemDataRole.ToolTipRole and figure is not None:
            return dash.definition_text(figure)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        figure = self._figure(column)
        desc = order == Qt.SortOrder.DescendingOrder

        def key(r: dash.Row) -> tuple[int, Any]:
            if figure is None:
                return (0, (r.label if column == 0 else r.detail).lower())
            v = r.figures.get(figure)
            if v is None:
                return (1, 0)  # undefined last, whichever way
            return (0, -float(v) if desc else float(v))

        self.beginResetModel()
        if figure is None:
            self.rows.sort(key=key, reverse=desc)
        else:
            self.rows.sort(key=key)
        self.endResetModel()


def _seconds(v: float | None) -> str:
    return "\u2014" if v is None else duration(v)


def _percent(v: float | None) -> str:
    return "\u2014" if v is None else f"{v * 100:.1f}%"


class DashboardPage(QWidget):
    """The Dashboard area. ``get_setting`` is the app's ``settings.get`` (or None)."""

    open_customer = Signal(str, str)   # customer id, name: from a drilled-down interaction
    loaded = Signal(object)            # DashboardData, once shown
    drilled = Signal(object)           # list[InteractionRow], once shown
    failed = Signal(str)               # words shown when a load failed
    notice = Signal(str)               # for the status bar

    def __init__(self, store: Store, who: AgentContext,
                 get_setting: Callable[[str], Any] | None = None,
                 parent: QWidget | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dashboardPage")
        self.store = store
        self.who = who
        self.get_setting = get_setting
        self.supervisor = who.role in ("supervisor", "admin")
        self.service = dash.DashboardService(store, now=now)
        cache = self.service.cache
        self.destroyed.connect(lambda *_: cache.close(wait=False))
        self.offset_s = dash.local_offset_seconds()
        self.data: dash.DashboardData | None = None
        self.drill_rows: list[InteractionRow] = []
        self.current_drill: dash.Drill | None = None
        self._request = 0
        self._started = 0.0
        self._progress: tuple[int, int] = (0, 0)
        self._shown_once = False
        self.last_refresh_ms: float | None = None
        self.last_draw_ms: float | None = None

        # --- the top bar: range, FCR window, definitions, refresh -----------------------
        bar = QHBoxLayout()
        range_label = QLabel("&Range")
        self.range = QComboBox()
        self.range.setAccessibleName("Date range")
        for key, words in dash.RANGES.items():
            self.range.addItem(words, key)
        # 30 days by default: FCR needs a week after each contact, so a last-7-days view
        # would have none to judge.
        self.range.setCurrentIndex(self.range.findData("last_30"))
        range_label.setBuddy(self.range)
        self.range.currentIndexChanged.connect(self._range_changed)
        bar.addWidget(range_label)
        bar.addWidget(self.range)
        self.first = QDateEdit()
        self.last = QDateEdit()
        for edit, words in ((self.first, "First day"), (self.last, "Last day")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
            edit.setAccessibleName(words)
            edit.editingFinished.connect(self._custom_changed)
        self.from_label = QLabel("&From")
        self.from_label.setBuddy(self.first)
        self.to_label = QLabel("t&o")
        self.to_label.setBuddy(self.last)
        self.show_button = QPushButton("Show")
        self.show_button.clicked.connect(self._custom_changed)
        for w in (self.from_label, self.first, self.to_label, self.last, self.show_button):
            bar.addWidget(w)
            w.hide()
        self.range_words = muted("")
        bar.addWidget(self.range_words)
        bar.addStretch(1)
        self.fcr_label = muted("")
        bar.addWidget(self.fcr_label)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        bar.addWidget(self.progress)
        self.status = muted("")
        bar.addWidget(self.status)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read new interactions and recompute (F5); "
                                       "Shift+F5 reads every interaction again.")
        self.refresh_button.clicked.connect(lambda: self.refresh())
        bar.addWidget(self.refresh_button)
        self.defs_button = QPushButton("? &Definitions")
        self.defs_button.setCheckable(True)
        self.defs_button.setToolTip("How every figure on this page is computed.")
        self.defs_button.toggled.connect(self._toggle_definitions)
        bar.addWidget(self.defs_button)

        self.error = QLabel("")
        self.error.setStyleSheet("color: #c92a2a;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.notices = QLabel("")
        self.notices.setObjectName("muted")
        self.notices.setWordWrap(True)
        self.notices.hide()

        # --- headline tiles --------------------------------------------------------------
        tiles = QFrame()
        tiles.setObjectName("dashboardTiles")
        grid = QGridLayout(tiles)
        grid.setContentsMargins(0, 4, 0, 4)
        self.tiles: dict[str, QLabel] = {}
        self.team_tiles: dict[str, QLabel] = {}
        for i, figure in enumerate(HEADLINE):
            title = muted(dash.FIGURE_TITLES[figure])
            value = QLabel("\u2014")
            value.setObjectName("sectionTitle")
            value.setAccessibleName(dash.FIGURE_TITLES[figure])
            team = muted("")
            team.setVisible(not self.supervisor)
            for w in (title, value, team):
                w.setToolTip(dash.definition_text(figure))
            grid.addWidget(title, 0, i)
            grid.addWidget(value, 1, i)
            grid.addWidget(team, 2, i)
            self.tiles[figure] = value
            self.team_tiles[figure] = team

        # --- the definitions panel ------------------------------------------------------
        self.definitions = QTextBrowser()
        self.definitions.setAccessibleName("Definitions")
        self.definitions.setMinimumHeight(240)
        self.definitions.setMaximumHeight(320)
        self.definitions.hide()

        # --- tabs ---------------------------------------------------------------------------
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Dashboard views")
        self.floor = LiveFloor(now=now)
        if not self.supervisor:
            self.floor.waiting.title.setText("The live floor is for supervisors")
            self.floor.waiting.body.setText(
                "Your own figures against your team's are on the Trends and Team & agents "
                "tabs.")
        self.tabs.addTab(self.floor, "&Live floor")
        self.tabs.addTab(self._build_trends(), "&Trends")
        self.tabs.addTab(self._build_team(), "Team && &agents")
        self.staffing = StaffingWhatIf()
        self.tabs.addTab(self.staffing, "&Staffing")
        self.tabs.setCurrentIndex(1)

        # Everything sits in a scroll area: the page needs about 1,100 x 650 pixels, and
        # must not make the window refuse to be smaller than that (the stack takes the
        # largest minimum of its pages); on a small window it scrolls instead.
        content = QWidget()
        content.setObjectName("dashboardContent")
        content.setMinimumSize(1080, 640)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(bar)
        layout.addWidget(self.error)
        layout.addWidget(tiles)
        layout.addWidget(self.notices)
        layout.addWidget(self.definitions)
        layout.addWidget(self.tabs, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self._progress_timer = QTimer(self)
        self._progress_timer.setObjectName("dashboardProgress")
        self._progress_timer.setInterval(100)
        self._progress_timer.timeout.connect(self._show_progress)
        for keys, slot in (("F5", lambda: self.refresh()),
                           ("Shift+F5", lambda: self.refresh(full=True))):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self._fill_definitions()
        self._update_fcr_label()

    # --- building the tabs ---------------------------------------------------------------
    def _build_trends(self) -> QWidget:
        box = QWidget()
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        scope_label = QLabel("Sho&w")
        self.scope = QComboBox()
        self.scope.setAccessibleName("Trend of")
        self.scope.setMinimumWidth(220)
        scope_label.setBuddy(self.scope)
        self.scope.currentIndexChanged.connect(lambda _i: self._scope_changed())
        row.addWidget(scope_label)
        row.addWidget(self.scope)
        self.trend_words = muted("")
        row.addWidget(self.trend_words, 1)
        outer.addLayout(row)

        split = QSplitter(Qt.Orientation.Horizontal)
        # The charts (pyqtgraph, ~1 s to import on a cold cache) are made when the
        # figures first arrive, not when the window opens: see _ensure_charts.
        self.charts = QSplitter(Qt.Orientation.Vertical)
        self.charts.setMinimumWidth(520)
        self.charts_built = False
        split.addWidget(self.charts)

        right = QSplitter(Qt.Orientation.Vertical)
        series_box = QWidget()
        scol = QVBoxLayout(series_box)
        scol.setContentsMargins(0, 0, 0, 0)
        scol.addWidget(muted("The series (Enter lists the interactions behind a period)"))
        self.series_model = RowsModel([
            Column("Period", lambda r: r[0]),
            Column("Contacts", lambda r: f"{r[3]:,}", align_right=True),
            Column("AHT", lambda r: _seconds(r[1]), align_right=True,
                   tooltip=lambda _r: dash.definition_text("aht_s")),
            Column("FCR", lambda r: _percent(r[2]), align_right=True,
                   tooltip=lambda _r: dash.definition_text("fcr")),
        ])
        self.series_table = make_table(self.series_model)
        self.series_table.setAccessibleName("Trend series")
        self.series_table.activated.connect(lambda i: self.drill_trend(i.row()))
        scol.addWidget(self.series_table)
        right.addWidget(series_box)
        right.addWidget(self._build_drill_list())
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 540])
        right.setSizes([300, 300])
        outer.addWidget(split, 1)
        return box

    def _ensure_charts(self) -> None:
        if self.charts_built:
            return
        from agent_desktop.ui.screens.dashboard.charts import HeatMap, Histogram, TrendPlot

        self.charts_built = True
        self.aht_plot = TrendPlot("Average handle time", "minutes",
                                  lambda v: f"{v:.1f} min")
        self.fcr_plot = TrendPlot("First-contact resolution", "%", lambda v: f"{v:.0f}%")
        self.aht_plot.setToolTip(dash.definition_text("aht_s"))
        self.fcr_plot.setToolTip(dash.definition_text("fcr"))
        self.aht_plot.point_clicked.connect(self.drill_trend)
        self.fcr_plot.point_clicked.connect(self.drill_trend)
        self.heatmap = HeatMap()
        self.heatmap.setToolTip("Contacts offered in the range by weekday and hour; click a "
                                "cell for its interactions.")
        self.heatmap.cell_clicked.connect(self.drill_heat)
        self.histogram = Histogram()
        self.histogram.setToolTip("Handled contacts by handle time (talk + hold + after-call "
                                  "work), one-minute bins; click a bar for its interactions.")
        self.histogram.bin_clicked.connect(self.drill_histogram)
        self.charts.addWidget(self.aht_plot)
        self.charts.addWidget(self.fcr_plot)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.heatmap)
        lower.addWidget(self.histogram)
        lower.setSizes([500, 400])
        self.charts.addWidget(lower)
        self.charts.setSizes([260, 260, 300])

    def _build_drill_list(self) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        self.drill_title = muted("Click a point, a cell or a bar (or press Enter on a row) to "
                                 "list the interactions behind it.")
        self.drill_title.setWordWrap(True)
        col.addWidget(self.drill_title)
        self.drill_model = RowsModel([
            Column("Offered", lambda r: self._local(r.offered_at)),
            Column("Customer", lambda r: r.customer_name or "(unknown caller)"),
            Column("Agent", lambda r: r.agent_name or "\u2014"),
            Column("Queue", lambda r: r.queue),
            Column("Reason", lambda r: r.reason_code or "\u2014"),
            Column("Wait", lambda r: duration(r.wait_seconds), align_right=True),
            Column("Handle", lambda r: "\u2014" if r.abandoned else duration(r.handle_seconds),
                   align_right=True),
            Column("Ended", lambda r: self._local(r.ended_at) if r.ended_at else "(missing)",
                   tooltip=lambda r: "" if r.ended_at else
                   "No end time recorded: left out of handle time."),
            Column("Outcome", lambda r: "abandoned" if r.abandoned else
                   (f"transferred x{r.transfers}" if r.transfers else "handled")),
        ])
        self.drill_table = make_table(self.drill_model)
        self.drill_table.setAccessibleName("Interactions behind the point")
        self.drill_table.setToolTip("Enter or double-click opens the customer.")
        self.drill_table.activated.connect(lambda i: self.open_interaction(i.row()))
        col.addWidget(self.drill_table)
        return box

    def _build_team(self) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 4, 0, 0)
        self.versus = QLabel("")
        self.versus.setWordWrap(True)
        self.versus.setTextFormat(Qt.TextFormat.RichText)
        self.versus.setVisible(not self.supervisor)
        col.addWidget(self.versus)
        row = QHBoxLayout()
        view_label = QLabel("&View")
        self.table_pick = QComboBox()
        self.table_pick.setAccessibleName("Table")
        for key, words in TABLES:
            self.table_pick.addItem(words, key)
        view_label.setBuddy(self.table_pick)
        self.table_pick.currentIndexChanged.connect(lambda _i: self._show_table())
        row.addWidget(view_label)
        row.addWidget(self.table_pick)
        row.addStretch(1)
        self.csv_button = QPushButton("Export &CSV\u2026")
        self.csv_button.clicked.connect(self._ask_csv)
        self.excel_button = QPushButton("Export E&xcel\u2026")
        self.excel_button.setToolTip("Every table, one sheet each, with the definitions.")
        self.excel_button.clicked.connect(self._ask_excel)
        self.pdf_button = QPushButton("&PDF summary\u2026")
        self.pdf_button.setToolTip("A printable summary of the range: headline figures "
                                   "and the tables.")
        self.pdf_button.clicked.connect(self._ask_pdf)
        for b in (self.csv_button, self.excel_button, self.pdf_button):
            row.addWidget(b)
        col.addLayout(row)
        split = QSplitter(Qt.Orientation.Vertical)
        self.figures_model = FiguresModel(self)
        self.figures_table = QTableView()
        self.figures_table.setModel(self.figures_model)
        self.figures_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.figures_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.figures_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.figures_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.figures_table.verticalHeader().setDefaultSectionSize(
            self.figures_table.fontMetrics().height() + 10)
        self.figures_table.setAlternatingRowColors(True)
        self.figures_table.setShowGrid(False)
        self.figures_table.setWordWrap(False)
        self.figures_table.verticalHeader().setVisible(False)
        self.figures_table.setSortingEnabled(True)
        self.figures_table.horizontalHeader().setResizeContentsPrecision(40)
        self.figures_table.setAccessibleName("Figures")
        self.figures_table.setToolTip("Enter lists the interactions behind a row.")
        self.figures_table.activated.connect(lambda i: self.drill_row(i.row()))
        split.addWidget(self.figures_table)
        split.setStretchFactor(0, 1)
        col.addWidget(split, 1)
        return box

    # --- loading -------------------------------------------------------------------------
    def settings(self) -> dash.DashboardSettings:
        return dash.DashboardSettings.from_getter(self.get_setting)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.refresh()

    def selected_range(self) -> tuple[date, date]:
        """The picked range as local ``[first, after last)``; RangeError if it is wrong."""
        kind = str(self.range.currentData())
        today = self.service.today(self.offset_s)
        custom = None
        if kind == "custom":
            custom = (self.first.date().toPython(), self.last.date().toPython())
        return dash.date_range(kind, today, custom)  # type: ignore[arg-type]

    def set_range(self, kind: str, first: date | None = None, last: date | None = None
                  ) -> None:
        """Pick a range as the supervisor would (tests and the screenshot tour)."""
        if first is not None:
            self.first.setDate(QDate(first.year, first.month, first.day))
        if last is not None:
            self.last.setDate(QDate(last.year, last.month, last.day))
        index = self.range.findData(kind)
        if index == self.range.currentIndex():
            self.refresh()
        else:
            self.range.setCurrentIndex(index)

    def _range_changed(self, _index: int) -> None:
        custom = self.range.currentData() == "custom"
        for w in (self.from_label, self.first, self.to_label, self.last, self.show_button):
            w.setVisible(custom)
        if custom and self.data is not None and self.first.date().year() < 2000:
            self.first.setDate(QDate(self.data.start.year, self.data.start.month,
                                     self.data.start.day))
            end = self.data.end - timedelta(days=1)
            self.last.setDate(QDate(end.year, end.month, end.day))
        self.refresh()

    def _custom_changed(self) -> None:
        if self.range.currentData() == "custom":
            self.refresh()

    def _scope(self) -> tuple[str | None, str | None]:
        data = self.scope.currentData()
        if not data:
            return None, None
        kind, value = data
        return (value, None) if kind == "agent" else (None, value)

    def refresh(self, full: bool = False) -> None:
        """Load the picked range again (off the UI thread); F5. ``full`` re-reads all."""
        try:
            start, end = self.selected_range()
        except dash.RangeError as exc:
            self._say_error(str(exc))
            return
        self._say_error("")
        self._request += 1
        number = self._request
        settings = self.settings()
        trend_agent, trend_team = self._scope()
        me = None if self.supervisor else self.who.agent_id
        if not self.supervisor and trend_agent is None and trend_team is None:
            trend_agent = self.who.agent_id
        service, off = self.service, self.offset_s
        words = str(self.range.currentText()) if self.range.currentData() != "custom" else ""
        self._progress = (0, 0)

        def progress(done: int, total: int) -> None:
            self._progress = (done, total)

        def work() -> tuple[int, dash.DashboardData, float]:
            t = time.perf_counter()
            data = service.load(start, end, range_words=words, settings=settings,
                                offset_s=off, trend_agent=trend_agent,
                                trend_team=trend_team, me=me, full=full, progress=progress)
            return number, data, (time.perf_counter() - t) * 1000

        self._started = time.perf_counter()
        self.status.setText("Loading\u2026")
        self._progress_timer.start()
        Op(self, work).success(self._loaded).failure(self._load_failed).run()

    def _show_progress(self) -> None:
        if time.perf_counter() - self._started < 0.3:
            return
        done, total = self._progress
        self.progress.show()
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
            self.status.setText(f"Reading interactions\u2026 {done:,} of {total:,}")
        else:
            self.progress.setRange(0, 0)

    def _stop_progress(self) -> None:
        self._progress_timer.stop()
        self.progress.hide()

    def _loaded(self, result: tuple[int, dash.DashboardData, float]) -> None:
        number, data, ms = result
        if number != self._request:
            return  # a newer request is on its way
        self._stop_progress()
        t = time.perf_counter()
        self.show_data(data)
        self.last_draw_ms = (time.perf_counter() - t) * 1000
        self.last_refresh_ms = ms
        self.status.setText(
            f"{data.interactions_in_store:,} interactions in the store \u00b7 "
            f"computed in {ms:,.0f} ms")
        self.loaded.emit(data)

    def _load_failed(self, exc: BaseException) -> None:
        self._stop_progress()
        if isinstance(exc, dash.RangeError):
            words = str(exc)
        else:
            words = (f"The dashboard could not be loaded: {exc}. Press F5 to try again; "
                     "the rest of the app keeps working.")
        self.status.setText("")
        self._say_error(words)
        self.failed.emit(words)

    def _say_error(self, words: str) -> None:
        self.error.setText(words)
        self.error.setVisible(bool(words))

    # --- showing -------------------------------------------------------------------------
    def show_data(self, data: dash.DashboardData) -> None:
        self.data = data
        last = data.end - timedelta(days=1)
        span = (f"{data.start:%a %d %b %Y}" if data.end - data.start <= timedelta(days=1)
                else f"{data.start:%d %b %Y} \u2013 {last:%d %b %Y}")
        self.range_words.setText(span if data.end > data.start else "")
        self._update_fcr_label()
        for figure, label in self.tiles.items():
            if data.me is None:
                label.setText(dash.format_figure(figure, data.totals.get(figure)))
                continue
            # An agent: their own figure, their team's beneath it.
            label.setText(dash.format_figure(figure, data.me.figures.get(figure)))
            team = data.my_team.figures.get(figure) if data.my_team is not None else None
            self.team_tiles[figure].setText(f"team {dash.format_figure(figure, team)}")
        notices = list(data.notices)
        if data.occupancy_note:  # why the Occupancy tile shows an em dash
            notices.append(data.occupancy_note)
        self.notices.setText("\n".join(notices))
        self.notices.setVisible(bool(notices))
        self._ensure_charts()
        self._fill_scope(data)
        self._show_trend(data)
        self.heatmap.show_matrix(data.heatmap)
        h = data.histogram
        self.histogram.show_bins(h.edges, h.counts, h.over)
        self._show_table()
        self._show_versus(data)

    def _fill_scope(self, data: dash.DashboardData) -> None:
        current = self.scope.currentData()
        self.scope.blockSignals(True)
        self.scope.clear()
        if self.supervisor:
            self.scope.addItem("Everyone", None)
            for team in data.teams:
                self.scope.addItem(f"Team: {team}", ("team", team))
            for a in data.agents:
                if a.role == "agent":
                    self.scope.addItem(f"Agent: {a.display_name}", ("agent", a.agent_id))
        else:
            self.scope.addItem("Me", ("agent", self.who.agent_id))
            if self.who.team:
                self.scope.addItem(f"My team: {self.who.team}", ("team", self.who.team))
        index = self.scope.findData(current) if current is not None else 0
        self.scope.setCurrentIndex(max(index, 0))
        self.scope.blockSignals(False)

    def _scope_changed(self) -> None:
        self.refresh()

    def _show_trend(self, data: dash.DashboardData) -> None:
        t = data.trend
        s = data.settings
        self.trend_words.setText(
            f"  {t.scope}, by {t.granularity}. Targets: AHT {duration(s.aht_target_seconds)}, "
            f"FCR {s.fcr_target_pct}% (settings).")
        aht_min = [None if v is None else v / 60 for v in t.aht_s]
        fcr_pct = [None if v is None else v * 100 for v in t.fcr]
        self.aht_plot.show_series(t.labels, aht_min, s.aht_target_seconds / 60,
                                  "No handled contacts in this range")
        self.fcr_plot.show_series(t.labels, fcr_pct, float(s.fcr_target_pct),
                                  "No contact decided yet for FCR in this range")
        first = self.series_model.rowCount() == 0
        self.series_model.set_rows(list(zip(t.labels, t.aht_s, t.fcr, t.contacts,
                                            strict=True)))
        if first:
            fit_columns(self.series_table)

    def current_table(self) -> dash.Table | None:
        if self.data is None:
            return None
        return self.data.tables.get(str(self.table_pick.currentData()))

    def _show_table(self) -> None:
        table = self.current_table()
        sized = self.figures_model.table is not None and table is not None \
            and self.figures_model.table.name == table.name
        self.figures_model.set_table(table)
        if not sized:  # sized once per kind of table: measuring cells costs more than paint
            self.figures_table.resizeColumnsToContents()
            header = self.figures_table.horizontalHeader()
            header.resizeSection(0, min(max(header.sectionSize(0), 140), 260))

    def _show_versus(self, data: dash.DashboardData) -> None:
        if self.supervisor:
            return
        if data.me is None:
            self.versus.setText("")
            return
        cells = []
        for figure in ("contacts", "aht_s", "fcr", "service_level", "transfer_rate", "csat"):
            mine = dash.format_figure(figure, data.me.figures.get(figure))
            team = dash.format_figure(figure, data.my_team.figures.get(figure)) \
                if data.my_team is not None else "\u2014"
            cells.append(f"<td title='{html.escape(dash.definition_text(figure))}'>"
                         f"<b>{dash.FIGURE_TITLES[figure]}</b><br>{mine}"
                         f"<br><span style='color:#6b7280'>team {team}</span></td>")
        team_name = html.escape(data.me.detail or "no team")
        self.versus.setText(
            f"<p>Your figures against your team's ({team_name}):</p>"
            f"<table cellspacing='14'><tr>{''.join(cells)}</tr></table>")

    def _update_fcr_label(self) -> None:
        s = self.settings()
        self.fcr_label.setText(
            f"FCR window {s.fcr_window_days} days \u00b7 SL target {s.service_level_target_pct}%"
            f" in {s.service_level_seconds} s   ")
        self.fcr_label.setToolTip(dash.definition_text("fcr") + "\nThe window and the "
                                  "targets are settings.")

    def _toggle_definitions(self, on: bool) -> None:
        self.definitions.setVisible(on)

    def _fill_definitions(self) -> None:
        s = self.settings()
        parts = ["<h3>How the figures are computed</h3>",
                 f"<p>FCR window: <b>{s.fcr_window_days} days</b>; service level: answered "
                 f"within <b>{s.service_level_seconds} s</b>, target "
                 f"{s.service_level_target_pct}%; short abandons: under "
                 f"{s.short_abandon_seconds} s. Times in this computer's zone.</p><dl>"]
        for f in dash.FIGURES:
            name, _, rest = dash.definition_text(f).partition(":")
            parts.append(f"<dt><b>{html.escape(name)}</b></dt>"
                         f"<dd>{html.escape(rest.strip()).replace(chr(10), '<br>')}</dd>")
        parts.append("</dl>")
        self.definitions.setHtml("".join(parts))

    # --- drill-down ----------------------------------------------------------------------
    def drill_trend(self, index: int) -> None:
        if self.data is None or not 0 <= index < len(self.data.trend.drills):
            return
        self.drill(self.data.trend.drills[index])

    def drill_heat(self, weekday: int, hour: int) -> None:
        if self.data is None:
            return
        lo = dash._epoch(self.data.start, self.offset_s)
        hi = dash._epoch(self.data.end, self.offset_s)
        from agent_desktop.ui.screens.dashboard.charts import WEEKDAYS

        self.drill(dash.Drill(lo, hi, weekday=weekday, hour=hour,
                              title=f"{WEEKDAYS[weekday]}s {hour:02d}:00\u2013{hour + 1:02d}:00"))

    def drill_histogram(self, index: int) -> None:
        if self.data is None:
            return
        edges = self.data.histogram.edges
        lo = dash._epoch(self.data.start, self.offset_s)
        hi = dash._epoch(self.data.end, self.offset_s)
        if index < len(edges) - 1:
            a, b = edges[index], edges[index + 1]
            drill = dash.Drill(lo, hi, handle_min=a, handle_max=b,
                               title=f"Handle time {a // 60}\u2013{b // 60} min")
        else:
            drill = dash.Drill(lo, hi, handle_min=edges[-1],
                               title=f"Handle time {edges[-1] // 60} min or more")
        self.drill(drill)

    def drill_row(self, index: int) -> None:
        if 0 <= index < len(self.figures_model.rows):
            self.drill(self.figures_model.rows[index].drill)

    def drill(self, drill: dash.Drill) -> None:
        """List the interactions behind ``drill`` (read off the UI thread)."""
        if not self.supervisor:
            # An agent only ever sees their own interactions listed.
            drill = dash.Drill(drill.start, drill.end, agent_id=self.who.agent_id or "-",
                               weekday=drill.weekday, hour=drill.hour,
                               handle_min=drill.handle_min, handle_max=drill.handle_max,
                               title=drill.title + " (yours)")
        self.current_drill = drill
        service, off = self.service, self.offset_s
        self.drill_title.setText(f"{drill.title}: reading\u2026")
        Op(self, lambda: (drill, service.drill_down(drill, off))).success(
            self._drilled).failure(self._load_failed).run()

    def _drilled(self, result: tuple[dash.Drill, tuple[list[InteractionRow], int]]) -> None:
        drill, (rows, total) = result
        if drill is not self.current_drill:
            return
        self.drill_rows = rows
        self.drill_model.set_rows(rows)
        if total == 0:
            words = f"{drill.title}: no interactions."
        elif total > len(rows):
            words = (f"{drill.title}: {total:,} interactions, the first {len(rows):,} "
                     "listed. Enter opens the customer.")
        else:
            words = f"{drill.title}: {total:,} interaction(s). Enter opens the customer."
        self.drill_title.setText(words)
        self.drill_table.resizeColumnsToContents()
        if self.tabs.currentIndex() == 2:
            self.tabs.setCurrentIndex(1)  # the list lives on the Trends tab
        if rows:
            self.drill_table.setCurrentIndex(self.drill_model.index(0, 0))
            self.drill_table.setFocus(Qt.FocusReason.OtherFocusReason)
        self.drilled.emit(rows)

    def open_interaction(self, index: int) -> None:
        if not 0 <= index < len(self.drill_rows):
            return
        row = self.drill_rows[index]
        if row.customer_id is None:
            self.notice.emit("This interaction has no known customer (the caller was not "
                             "identified).")
            return
        self.open_customer.emit(row.customer_id, row.customer_name or row.customer_id)

    def _local(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return (moment + timedelta(seconds=self.offset_s)).strftime("%d %b %H:%M:%S")

    # --- the live floor ------------------------------------------------------------------
    def set_floor(self, floor: FloorView) -> None:
        """Show the server's live floor (its event stream's ``floor`` events)."""
        self.floor.set_floor(floor)

    # --- keyboard ------------------------------------------------------------------------
    def cycle(self, step: int) -> None:
        """Ctrl+Tab / Ctrl+Shift+Tab: the next or previous tab."""
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    # --- exports -------------------------------------------------------------------------
    def export_csv(self, path: Path | str) -> Path:
        table = self.current_table()
        if table is None:
            raise dash.RangeError("Nothing to export yet: the figures are still loading.")
        return dash.export_csv(table, path)

    def export_excel(self, path: Path | str) -> Path:
        if self.data is None:
            raise dash.RangeError("Nothing to export yet: the figures are still loading.")
        return dash.export_excel(list(self.data.tables.values()), path,
                                 title=self._title())

    def export_pdf(self, path: Path | str) -> Path:
        if self.data is None:
            raise dash.RangeError("Nothing to export yet: the figures are still loading.")
        from agent_desktop.ui.screens.dashboard.report import write_pdf

        return write_pdf(self.data, Path(path), self._title())

    def _title(self) -> str:
        if self.data is None:
            return "Dashboard"
        return f"Contact centre summary \u2014 {self.range_words.text()}"

    def _ask(self, words: str, suffix: str, pattern: str,
             write: Callable[[Path], Path]) -> None:
        if self.data is None:
            self.notice.emit("Nothing to export yet: the figures are still loading.")
            return
        table = str(self.table_pick.currentData())
        default = f"dashboard-{table}-{self.data.start:%Y%m%d}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, words, default, pattern)
        if not path:
            return
        try:
            written = write(Path(path))
        except OSError as exc:
            self._say_error(f"Could not write {path}: {exc.strerror or exc}. Pick another "
                            "folder.")
            return
        self.notice.emit(f"Saved {written.name}")

    def _ask_csv(self) -> None:
        self._ask("Export the table as CSV", ".csv", "CSV files (*.csv)", self.export_csv)

    def _ask_excel(self) -> None:
        self._ask("Export the tables to Excel", ".xlsx", "Excel workbooks (*.xlsx)",
                  self.export_excel)

    def _ask_pdf(self) -> None:
        self._ask("Save a PDF summary", ".pdf", "PDF files (*.pdf)", self.export_pdf)

