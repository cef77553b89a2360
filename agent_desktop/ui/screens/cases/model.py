"""The case list's Qt model: lazy over a view's ordered case ids, and the SLA in words
and colour.

A view can hold tens of thousands of cases. The model keeps only their ids; rows are
read a page at a time when the table first asks for them (``fetch``, run off the UI
thread by the owner), and shown as "…" until they arrive. Nothing here touches the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QFont

from agent_desktop.domain.cases import STATUS_LABELS, TYPE_LABELS, Sla, SlaState
from agent_desktop.services.cases import ViewIds, ViewRow
from agent_desktop.ui import theme

_Index = QModelIndex | QPersistentModelIndex
PAGE = 100

QUEUE_LABELS = {
    "billing": "Billing", "tech_support": "Tech support", "sales": "Sales",
    "retention": "Retention", "collections": "Collections", "approvals": "Approvals",
    "general": "General",
}
PRIORITY_LABELS = {"urgent": "Urgent", "high": "High", "normal": "Normal", "low": "Low"}


def queue_label(queue: str) -> str:
    return QUEUE_LABELS.get(queue, queue.replace("_", " ").capitalize())


def _days(sla: Sla, now: datetime | None) -> str:
    """Calendar days to (or since) the due time, for spans longer than two working days."""
    if sla.due_at is None:
        return f"{abs(sla.left_seconds) // (12 * 3600)} working days"
    days = abs(((now or datetime.now(UTC)) - sla.due_at).days)
    return f"{days} day{'s' if days != 1 else ''}"


def _amount(sla: Sla, now: datetime | None) -> str:
    """How long until (or since) the due time: business hours and minutes when it is
    near (the SLA clock), calendar days when it is far."""
    seconds = abs(sla.left_seconds)
    if seconds >= 48 * 3600:
        return _days(sla, now)
    if seconds >= 3 * 3600:
        return f"{seconds // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{max(1, seconds // 60)} min"


def sla_text(sla: Sla, now: datetime | None = None) -> str:
    """The SLA in words that stand on their own (colour only repeats them)."""
    if sla.state is SlaState.DONE:
        return "Done"
    if sla.state is SlaState.PAUSED:
        return "Paused for customer"
    if sla.state is SlaState.RED:
        return f"Overdue by {_amount(sla, now)}" if sla.left_seconds < 0 else "Overdue"
    if sla.state is SlaState.AMBER:
        return f"Due soon, {_amount(sla, now)}"
    return f"On track, {_amount(sla, now)} left"


def sla_level(state: SlaState) -> str:
    """The badge colour (theme object name suffix) of an SLA state."""
    return {SlaState.RED: "danger", SlaState.AMBER: "warning", SlaState.ON_TRACK: "ok",
            SlaState.PAUSED: "info", SlaState.DONE: "info"}[state]


def local_time(dt: datetime | None, fmt: str = "") -> str:
    """A moment in the agent's zone; by default "Nov 30, 16:21", with the year when it is
    not this year's."""
    if dt is None:
        return ""
    local = dt.astimezone()
    if not fmt:
        fmt = "%b %d, %H:%M" if local.year == datetime.now(local.tzinfo).year \
            else "%b %d, %Y %H:%M"
    return local.strftime(fmt)


def due_words(dt: datetime | None) -> str:
    """A due time, short: the year only when it is not this year's."""
    if dt is None:
        return "\u2014"
    local = dt.astimezone()
    if local.year != datetime.now(local.tzinfo).year:
        return local.strftime("%b %d, %Y")
    return local.strftime("%b %d, %H:%M")


# (title, value of a ViewRow, a typical wide value that sets the width; "" = stretch)
COLUMNS: tuple[tuple[str, Callable[[ViewRow], str], str], ...] = (
    ("SLA", lambda v: sla_text(v.sla), "Due soon, 1 h 45 min"),
    ("Case", lambda v: v.row.case_number, "CS-W0RK8CAS"),
    ("Subject", lambda v: v.row.subject, ""),
    ("Customer", lambda v: v.row.customer_name or "\u2014", "Randall Montgomery"),
    ("Type", lambda v: TYPE_LABELS.get(v.row.type, v.row.type), "Trouble ticket"),
    ("Status", lambda v: STATUS_LABELS.get(v.row.status, v.row.status), "Pending customer"),
    ("Priority", lambda v: PRIORITY_LABELS.get(v.row.priority, v.row.priority), "Priority"),
    ("Queue", lambda v: queue_label(v.row.queue), "Tech support"),
    ("Assigned to", lambda v: v.row.assigned_name or "Unassigned", "Michelle Williams"),
    ("Due", lambda v: due_words(v.sla.due_at), "Nov 30, 2025"),
)
SUBJECT_COLUMN = 2

# A row as the table shows it: the row, and its cells' text (made off the UI thread).
Shown = tuple[ViewRow, tuple[str, ...]]


def shown(rows: list[ViewRow]) -> list[Shown]:
    """Each row with its cells' text (pure: call it on the worker that read the rows)."""
    return [(v, tuple(value(v) for _title, value, _sample in COLUMNS)) for v in rows]


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, _BACKGROUND, _FONT, _ACCESSIBLE})


class CaseTableModel(QAbstractTableModel):
    """Rows of one view; ``fetch(generation, start, ids)`` is called (on the UI thread, by
    a zero timer, never from inside a paint) for each page the table needs, and answered
    with ``add_rows``."""

    def __init__(self, fetch: Callable[[int, int, list[str]], None],
                 theme_name: str = "light") -> None:
        super().__init__()
        self._fetch = fetch
        self._ids: list[str] = []
        self._rows: dict[int, Shown] = {}
        self._asked: set[int] = set()
        self._wanted: set[int] = set()
        self.generation = 0
        self.theme_name = theme_name
        self._bold = QFont()
        self._bold.setBold(True)
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._ask_pages)

    # --- filling -----------------------------------------------------------------------
    def reset(self, result: ViewIds, first: list[Shown]) -> None:
        """Show a view: all its ids, and the first rows (``shown(result.first)``)."""
        self.beginResetModel()
        self.generation += 1
        self._ids = list(result.ids)
        self._rows = dict(enumerate(first))
        self._asked = {p for p in range(0, (len(first) + PAGE - 1) // PAGE)
                       if (p + 1) * PAGE <= len(first)}
        self._wanted.clear()
        self.endResetModel()

    def add_rows(self, generation: int, start: int, rows: list[Shown]) -> None:
        if generation != self.generation or not rows:
            return
        by_id = {v[0].row.id: v for v in rows}
        end = min(start + PAGE, len(self._ids))
        for i in range(start, end):
            found = by_id.get(self._ids[i])
            if found is not None:
                self._rows[i] = found
        self.dataChanged.emit(self.index(start, 0), self.index(end - 1, len(COLUMNS) - 1))

    def _ask_pages(self) -> None:
        for page in sorted(self._wanted - self._asked):
            self._asked.add(page)
            start = page * PAGE
            self._fetch(self.generation, start, self._ids[start:start + PAGE])
        self._wanted.clear()

    # --- reading -----------------------------------------------------------------------
    def case_id(self, row: int) -> str:
        return self._ids[row]

    def view_row(self, row: int) -> ViewRow | None:
        found = self._rows.get(row)
        return None if found is None else found[0]

    def ids(self) -> list[str]:
        return self._ids

    def set_theme(self, theme_name: str) -> None:
        self.theme_name = theme_name
        if self._ids:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._ids) - 1, len(COLUMNS) - 1))

    # --- QAbstractTableModel -------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called thousands of times a paint: answer the roles the table does not use at
        # once, and give the text made when the rows were read.
        role = int(role)
        if role not in _ROLES or not index.isValid():
            return None
        found = self._rows.get(index.row())
        if found is None:
            if index.row() // PAGE not in self._asked:
                self._wanted.add(index.row() // PAGE)
                self._flush.start()
            if role == _DISPLAY and index.column() == 1:
                return "\u2026"
            return None
        row, texts = found
        column = index.column()
        if role == _DISPLAY:
            return texts[column]
        if role == _TOOLTIP:
            if column == 0:
                due = local_time(row.sla.due_at, "%a %b %d, %H:%M") if row.sla.due_at \
                    else "no due time while paused"
                return f"{sla_text(row.sla)} (due {due}, business hours)"
            if column == SUBJECT_COLUMN:
                return row.row.subject
            return None
        if column != 0:
            return None
        if role in (_FOREGROUND, _BACKGROUND):
            if row.sla.state in (SlaState.DONE, SlaState.PAUSED):
                return None
            level = sla_level(row.sla.state)
            c = theme.colors(self.theme_name)
            return QColor(c[level if role == _FOREGROUND else f"{level}_bg"])
        if role == _FONT and row.sla.state is SlaState.RED:
            return self._bold
        if role == _ACCESSIBLE:
            return f"Service level: {texts[0]}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None
