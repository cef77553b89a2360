"""Drafts to publish (supervisors, Ctrl+Shift+D): articles agents wrote from solved
cases. Enter publishes the selected one; the server checks the role and that nobody
publishes their own."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from agent_desktop.services.cases import DraftRow
from agent_desktop.ui.widgets.common import Column, RowsModel, make_table


class DraftsDialog(QDialog):
    publish_requested = Signal(object)  # DraftRow

    def __init__(self, rows: list[DraftRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Drafts to publish")
        self.resize(760, 360)
        layout = QVBoxLayout(self)
        self.intro = QLabel(
            "Articles agents wrote from solved cases. Read one in Knowledge (Ctrl+3, by its "
            "code); Enter publishes the selected draft for every desk." if rows else
            "No drafts are waiting: every article agents wrote is published.")
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.model = RowsModel([
            Column("Code", lambda r: r.code),
            Column("Title", lambda r: r.title, tooltip=lambda r: r.title),
            Column("Product", lambda r: r.product),
            Column("From case", lambda r: r.case_number),
            Column("Written", lambda r: r.written_at.astimezone().strftime("%b %d %H:%M")),
        ])
        self.model.set_rows(rows)
        self.table = make_table(self.model, stretch_column=1)
        self.table.setAccessibleName("Drafts")
        layout.addWidget(self.table)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.publish_button = buttons.addButton("&Publish",
                                                QDialogButtonBox.ButtonRole.ActionRole)
        self.publish_button.clicked.connect(self.publish_selected)
        self.publish_button.setEnabled(bool(rows))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for keys in ("Return", "Enter"):
            QShortcut(QKeySequence(keys), self.table, self.publish_selected,
                      context=Qt.ShortcutContext.WidgetShortcut)
        if rows:
            self.table.selectRow(0)
            self.table.setFocus()

    def selected(self) -> DraftRow | None:
        index = self.table.currentIndex()
        return self.model.row(index.row()) if index.isValid() else None

    def publish_selected(self) -> None:
        row = self.selected()
        if row is not None:
            self.status.setText(f"Publishing {row.code}\u2026")
            self.publish_requested.emit(row)

    def published(self, row: DraftRow) -> None:
        rows = [self.model.row(i) for i in range(self.model.rowCount())
                if self.model.row(i).id != row.id]
        self.model.set_rows(rows)
        self.publish_button.setEnabled(bool(rows))
        self.status.setText(f"{row.code} published; it reaches every desk with the next sync.")
        if rows:
            self.table.selectRow(0)

    def failed(self, message: str) -> None:
        self.status.setText(message)
