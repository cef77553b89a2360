"""The case list: saved views as tabs with their counts, a filter box, the cases.

Everything is read off the UI thread. A view's ids and first rows come from the list's
own worker (``LatestOnly``: typing in the filter never shows a stale answer); the rows
scrolled to later, and the counts, come from the shared read pool.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt, Signal
from PySide6.QtGui import QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QStackedWidget,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.cases import (
    VIEW_LABELS,
    VIEWS,
    CaseList,
    ViewIds,
    ViewRow,
    view_counts,
    view_rows,
)
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.screens.cases.model import (
    COLUMNS,
    SUBJECT_COLUMN,
    CaseTableModel,
    Shown,
    shown,
)
from agent_desktop.ui.tasks import LatestOnly, Op
from agent_desktop.ui.widgets.common import EmptyState, filter_box_key, muted

_EMPTY = {
    "mine": ("No cases assigned to you",
             "Cases you take or are given show here, most urgent first. Alt+2 shows your "
             "queues' cases; Alt+5 the ones nobody has yet."),
    "my_queue": ("Your queues are clear", "Nothing waits in the queues your skills cover."),
    "due_today": ("Nothing is due today", "No open case reaches its due time before the "
                  "end of the day."),
    "breached": ("No breached cases", "Every open case is within its service level."),
    "unassigned": ("Every case has an owner", "No open case waits for someone to take it."),
    "all_open": ("No open cases", "Cases opened from a customer's 360 (Ctrl+Shift+N) show "
                 "here."),
}


class CaseListPane(QWidget):
    """One saved view at a time; Enter opens the selected case (``open_case``)."""

    open_case = Signal(str)  # case id
    shown = Signal(object)  # ViewIds, once the table shows them
    counted = Signal(object)  # {view: count}
    filter_ready = Signal()  # the filter's search text was read ahead
    notice = Signal(str)

    def __init__(self, store: Store, who: AgentContext, theme_name: str = "light",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self.generation = 0  # bumped when cases change: the worker reads afresh
        self.clock = 0  # bumped as time passes: due today and breached change
        self.view = "mine"
        self.counts: dict[str, int] = {}
        self._warm_asked = -1
        self._closing = False
        self._keep: tuple[int, str | None] = (0, None)  # (request, case to keep selected)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(8)
        self.tabs = QTabBar()
        self.tabs.setAccessibleName("Case views")
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        for i, view in enumerate(VIEWS):
            self.tabs.addTab(VIEW_LABELS[view])
            self.tabs.setTabToolTip(i, f"{VIEW_LABELS[view]} (Alt+{i + 1})")
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs)

        row = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(
            "Filter by case number, subject or customer name   (Ctrl+F; \u2193 to the list)")
        self.filter.setAccessibleName("Filter cases")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self.reload())
        self.filter.installEventFilter(self)
        row.addWidget(self.filter, 1)
        self.summary = muted("")
        self.summary.setAccessibleName("How many cases")
        row.addWidget(self.summary)
        layout.addLayout(row)

        self.model = CaseTableModel(self._fetch, theme_name)
        self.model.setParent(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Cases")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        # Fixed row height: ResizeToContents on 100,000 rows would take minutes.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.table.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SUBJECT_COLUMN, QHeaderView.ResizeMode.Stretch)
        metrics = self.table.fontMetrics()
        bold = header.font()
        bold.setBold(True)
        titles = QFontMetrics(bold)
        for col, (title, _value, sample) in enumerate(COLUMNS):
            if sample:
                header.resizeSection(col, max(metrics.horizontalAdvance(sample),
                                              titles.horizontalAdvance(title)) + 14)
        # An overdue SLA is written in bold: room for the longest usual one.
        header.resizeSection(0, max(header.sectionSize(0),
                                    titles.horizontalAdvance("Overdue by 720 days") + 14))
        self.table.activated.connect(lambda index: self._open(index.row()))
        self.empty = EmptyState("", "")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        layout.addWidget(self.stack, 1)
        hint = muted("Enter opens the case \u00b7 Alt+1\u2026Alt+6 switch views \u00b7 "
                     "Ctrl+Shift+N on a customer's 360 opens a new case")
        hint.setWordWrap(True)  # never what sets the window's narrowest width
        layout.addWidget(hint)

        self._runner = LatestOnly(self, lambda: CaseList(store, who), _ask)
        self._runner.answered.connect(self._answered)
        self._runner.failed.connect(self._failed)
        for i in range(len(VIEWS)):
            QShortcut(QKeySequence(f"Alt+{i + 1}"), self, lambda i=i: self.set_view(VIEWS[i]),
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+F"), self, self.focus_filter,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # --- asking --------------------------------------------------------------------------
    def set_view(self, view: str) -> None:
        self.tabs.setCurrentIndex(VIEWS.index(view))  # -> _tab_changed -> reload

    def _tab_changed(self, index: int) -> None:
        self.view = VIEWS[index]
        self.reload()

    def reload(self) -> int:
        """Ask for the current view and filter (the newest request wins)."""
        if self._closing:
            return 0
        return self._runner.request(("open", self.view, self.filter.text(), self.generation,
                                     self.clock))

    def refresh(self, cases_changed: bool = True) -> None:
        """Cases changed (here, or pulled by sync), or time moved on: read afresh, keeping
        the selected case selected."""
        if cases_changed:
            self.generation += 1
        else:
            self.clock += 1
        keep = self.current_id()
        self._keep = (self.reload(), keep)
        self.load_counts()

    def load_counts(self) -> None:
        store, who = self.store, self.who
        Op(self, lambda: view_counts(store, who)).success(self._show_counts).failure(
            self._failed_counts).run()

    def _fetch(self, generation: int, start: int, ids: list[str]) -> None:
        store = self.store
        Op(self, lambda: shown(view_rows(store, ids))).success(
            lambda rows: self.model.add_rows(generation, start, rows)).failure(
            self._failed_counts).run()

    # --- answers ---------------------------------------------------------------------------
    def _answered(self, number: int, answer: object) -> None:
        if not isinstance(answer, tuple):
            self.filter_ready.emit()  # the search text read ahead: nothing to show
            return
        result, first = answer
        assert isinstance(result, ViewIds)
        # The selection stays on its case after a refresh; a new view starts at the top.
        keep = self._keep[1] if self._keep[0] == number else None
        self.model.reset(result, first)
        count = len(result.ids)
        label = VIEW_LABELS[result.view]
        if result.text.strip():
            self.summary.setText(f"{count:,} of {label.lower()} match")
        else:
            self.summary.setText(f"{count:,} case{'s' if count != 1 else ''}, most urgent "
                                 "first")
        if count:
            self.stack.setCurrentWidget(self.table)
            row = 0
            if keep is not None:
                try:
                    row = result.ids.index(keep)
                except ValueError:
                    row = 0
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            if result.text.strip():
                self.empty.title.setText("No case matches")
                self.empty.body.setText(
                    f"Nothing in {label.lower()} has \u201c{result.text.strip()}\u201d in "
                    "its number, subject or customer name. Try All open (Alt+6), or fewer "
                    "letters.")
            else:
                title, body = _EMPTY[result.view]
                self.empty.title.setText(title)
                self.empty.body.setText(body)
            self.stack.setCurrentWidget(self.empty)
        self.shown.emit(result)
        if self._warm_asked != self.generation and not result.text:
            # Read the filter's search text now, while the agent reads the list: the
            # first letter typed then costs no query.
            self._warm_asked = self.generation
            self._runner.request(("warm", self.view, "", self.generation, self.clock))

    def _failed(self, _number: int, exc: object) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.summary.setText(str(exc))
            return
        if isinstance(exc, BaseException):
            raise exc

    def _show_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        for i, view in enumerate(VIEWS):
            n = counts.get(view)
            self.tabs.setTabText(i, VIEW_LABELS[view] if n is None
                                 else f"{VIEW_LABELS[view]}  {n:,}")
        self.counted.emit(counts)

    def _failed_counts(self, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.notice.emit(str(exc))
            return
        raise exc

    # --- keys --------------------------------------------------------------------------------
    def focus_filter(self) -> None:
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()

    def current_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= self.model.rowCount():
            return None
        return self.model.case_id(index.row())

    def current_row(self) -> ViewRow | None:
        index = self.table.currentIndex()
        return self.model.view_row(index.row()) if index.isValid() else None

    def _open(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.open_case.emit(self.model.case_id(row))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # In the filter box: Down goes to the list, Enter opens the selected case.
        if watched is self.filter and event.type() == QEvent.Type.KeyPress \
                and filter_box_key(event, self.table, self._open):
            return True
        return super().eventFilter(watched, event)

    def set_theme(self, theme_name: str) -> None:
        self.model.set_theme(theme_name)

    def shut_down(self) -> None:
        self._closing = True
        self._runner.close(lambda reader: reader.close())


def _ask(reader: CaseList, argument: tuple[str, str, str, int, int]
         ) -> tuple[ViewIds, list[Shown]] | None:
    kind, view, text, generation, clock = argument
    if kind == "warm":
        reader.warm(generation)
        return None
    result = reader.open(view, text, generation, clock)
    return result, shown(list(result.first))
