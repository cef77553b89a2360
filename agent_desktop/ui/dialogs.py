"""The shortcut overview (F1) and the settings dialog."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.platform.settings import SETTINGS, Settings

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+K", "Find a customer (from anywhere)"),
    ("\u2191 / \u2193, Enter", "Choose a search result and open it"),
    ("Esc", "Close the search results"),
    ("Ctrl+1 \u2026 Ctrl+5", "Customers, Cases, Knowledge, Collections, Dashboard"),
    ("Ctrl+Tab / Ctrl+Shift+Tab", "Next / previous customer tab"),
    ("Ctrl+W", "Close the customer tab"),
    ("Alt+B, Alt+C, Alt+S, Alt+O", "Billing, Contacts, Cases, Orders on the 360"),
    ("Ctrl+N", "Write a note on the open customer"),
    ("Ctrl+Enter", "Save the note"),
    ("Ctrl+Shift+C", "Consent: what the customer allows on each number and email"),
    ("Ctrl+,", "Settings"),
    ("Ctrl+Shift+S", "Changes the sync server refused (needs attention)"),
    ("F1", "This list"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setHorizontalSpacing(28)
        form.setVerticalSpacing(8)
        for keys, what in SHORTCUTS:
            key_label = QLabel(f"<b>{keys}</b>")
            form.addRow(key_label, QLabel(what))
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class SettingsDialog(QDialog):
    """Every setting that has choices, with its help text; applied on OK."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.editors: dict[str, QComboBox] = {}
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setVerticalSpacing(10)
        for setting in SETTINGS:
            if not setting.choices:
                continue
            box = QComboBox()
            for choice in setting.choices:
                box.addItem(_label(setting.key, choice), choice)
            box.setCurrentIndex(setting.choices.index(settings.get(setting.key)))
            box.setToolTip(setting.help)
            box.setAccessibleName(setting.help)
            self.editors[setting.key] = box
            title = QLabel(setting.key.replace("_", " ").capitalize())
            title.setBuddy(box)
            form.addRow(title, box)
            hint = QLabel(setting.help)
            hint.setObjectName("muted")
            form.addRow("", hint)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        for key, box in self.editors.items():
            self.settings.set(key, box.currentData())
        super().accept()


def _label(key: str, choice: object) -> str:
    if key == "font_scale":
        return f"{choice}%"
    if key == "ledger_months":
        return f"{choice} months"
    return str(choice).capitalize()
