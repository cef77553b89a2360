"""The consent dialog: what the customer allows on each phone number and email address.

Opened from the 360 (Ctrl+Shift+C or the Consent button). One row a contact point, one
check box a channel; Space toggles, Tab moves, Enter saves, Esc cancels. Only what the
agent changed is saved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.consent import LABELS, fields_for
from agent_desktop.services.contacts import ConsentRow


class ConsentDialog(QDialog):
    def __init__(self, display_name: str, rows: list[ConsentRow],
                 format_phone: Callable[[str], str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Consent \u2014 {display_name}")
        self.rows = rows
        self.boxes: dict[tuple[str, str], QCheckBox] = {}
        layout = QVBoxLayout(self)
        intro = QLabel("What the customer allows on each number and address. A customer "
                       "may revoke consent at any time, in any words: record it now.")
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        layout.addWidget(intro)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(8)
        fmt = format_phone or (lambda value: value)
        first: QCheckBox | None = None
        for line, row in enumerate(rows):
            shown = fmt(row.value) if row.kind == "phone" else row.value
            label = QLabel(f"<b>{row.label.title()}</b> {shown}")
            grid.addWidget(label, line, 0)
            for col, field in enumerate(fields_for(row.kind)):
                box = QCheckBox(LABELS[field])
                box.setChecked(row.consent[field])
                box.setAccessibleName(f"{LABELS[field]} on {shown}")
                grid.addWidget(box, line, col + 1)
                self.boxes[(row.id, field)] = box
                first = first or box
        grid.setColumnStretch(0, 1)
        layout.addLayout(grid)
        if not rows:
            layout.addWidget(QLabel("This customer has no phone number or email on file."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        if first is not None:
            first.setFocus()

    def changes(self) -> dict[str, dict[str, bool]]:
        """{contact point id: {field: allowed}} for what the agent changed."""
        out: dict[str, dict[str, bool]] = {}
        by_id = {row.id: row for row in self.rows}
        for (contact_id, field), box in self.boxes.items():
            if box.isChecked() != by_id[contact_id].consent[field]:
                out.setdefault(contact_id, {})[field] = box.isChecked()
        return out
