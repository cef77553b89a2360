"""Small shared widgets: badges, empty states, section titles, a fast table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

_Index = QModelIndex | QPersistentModelIndex


def badge(text: str, level: str, tooltip: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName(f"badge_{level}")
    label.setToolTip(tooltip)
    label.setAccessibleName(f"{text} ({level})")
    return label


def muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    return label


def money(cents: int) -> str:
    """Integer cents as the agent reads them: -$1,234.50."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def section_title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    return label


class EmptyState(QWidget):
    """An honest 'nothing here (yet)' with what the agent can do instead."""

    def __init__(self, title: str, body: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel(title)
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(body)
        self.body.setObjectName("muted")
        self.body.setWordWrap(True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setFixedWidth(560)
        layout.addWidget(self.title)
        # Centred by stretches, not an alignment flag: with a flag the layout gives the
        # wrapped label one line's height and cuts the rest off.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.body)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Any], Any]
    align_right: bool = False
    tooltip: Callable[[Any], str] | None = None
    color: Callable[[Any], Any] | None = None


class RowsModel(QAbstractTableModel):
    """A read-only table over a list of frozen rows, columns described once."""

    def __init__(self, columns: Sequence[Column], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, index: int) -> Any:
        return self._rows[index]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        col = self._columns[index.column()]
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.value(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col.align_right:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return col.tooltip(row)
        if role == Qt.ItemDataRole.ForegroundRole and col.color is not None:
            return col.color(row)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].title
        return None


def make_table(model: RowsModel, stretch_column: int = -1) -> QTableView:
    """A table the way agents use them: whole rows, no row numbers, fixed row height."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    # Fixed, not ResizeToContents: on thousands of rows that mode takes seconds
    # (shared/MEASURED.md).
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    # Size columns from the first rows only: measuring every cell of a long history costs
    # more than painting it.
    header.setResizeContentsPrecision(40)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch_column >= 0:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    else:
        header.setStretchLastSection(True)
    return view


def fit_columns(view: QTableView, widest: int = 220) -> None:
    """Size columns to their contents, but no column wider than ``widest`` pixels: long
    text is elided (its tooltip shows it whole) instead of pushing columns off screen."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    for col in range(header.count()):
        if header.sectionResizeMode(col) != QHeaderView.ResizeMode.Stretch:
            header.resizeSection(col, min(header.sectionSize(col), widest))


def filter_box_key(event: QEvent, table: QTableView, open_row: Callable[[int], None]) -> bool:
    """A key pressed in a list's filter box: Down (or Page Down) goes to the list, Enter
    opens the selected row. True when the key was used."""
    if event.type() != QEvent.Type.KeyPress:
        return False
    assert isinstance(event, QKeyEvent)
    model = table.model()
    if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) and model is not None \
            and model.rowCount():
        table.setFocus(Qt.FocusReason.OtherFocusReason)
        return True
    if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        index = table.currentIndex()
        if index.isValid():
            open_row(index.row())
        return True
    return False
