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
    ("F12", "Phone: ready / not ready (a menu of reasons)"),
    ("F6, F7, F8, F9", "Phone: answer, hold / resume, transfer, end the call"),
    ("F10", "Phone: the wrap-up (contact reason, code, resolved; Ctrl+Enter finishes)"),
    ("Ctrl+K", "Find a customer (from anywhere)"),
    ("\u2191 / \u2193, Enter", "Choose a search result and open it"),
    ("Esc", "Close the search results"),
    ("Ctrl+1 \u2026 Ctrl+5", "Customers, Cases, Knowledge, Collections, Dashboard"),
    ("Ctrl+3", "Knowledge: search the articles as you type (typos are fine)"),
    ("\u2191 / \u2193, Enter, Esc", "Knowledge: choose an article, read it, back to the list"),
    ("Alt+P, Alt+T", "Knowledge: filter by product, by tag"),
    ("Ctrl+\u2191 / Ctrl+\u2193", "The article you are reading helped / did not help"),
    ("Ctrl+L", "Knowledge: link the article to the case open in Cases"),
    ("Ctrl+2", "Cases: the filter box (number, subject, customer); \u2193 to the list, "
     "Enter opens"),
    ("Alt+1 \u2026 Alt+6", "Cases: My cases, My queues, Due today, Breached, Unassigned, "
     "All open"),
    ("Ctrl+Shift+N", "New case for the customer on screen: type the subject, Enter"),
    ("Alt+S, Alt+E, Alt+A, Alt+M, Alt+L", "Case: status, escalate, assign, merge, link an "
     "article"),
    ("Alt+W, Alt+F", "Case: write a knowledge article from it, open a follow-up case"),
    ("Alt+1 \u2026 Alt+5", "Case: a canned response into the note (Alt+C: the customer)"),
    ("Ctrl+Tab / Ctrl+Shift+Tab", "Next / previous customer (or case) tab"),
    ("Ctrl+W", "Close the customer (or case) tab"),
    ("Alt+B, Alt+C, Alt+S, Alt+O", "Billing, Contacts, Cases, Orders on the 360"),
    ("Ctrl+N", "Write a note on the open customer (in Cases: on the open case)"),
    ("Ctrl+Enter", "Save the note"),
    ("Alt+Y, Alt+X, Alt+Z", "The offer on the 360: yes (opens the order), not now, no"),
    ("Ctrl+Shift+C", "Consent: what the customer allows on each number and email"),
    ("Ctrl+Shift+D", "Supervisors: draft articles to publish"),
    ("Ctrl+J", "Adjust the bill of the customer on screen: a credit or a debit"),
    ("Ctrl+Shift+V", "Void (taken today) or refund the payment selected in the Billing "
     "ledger"),
    ("Ctrl+Shift+M", "Payment methods on file: N new card, E new expiry, D default, Delete "
     "removes"),
    ("Ctrl+Shift+A", "Supervisors: adjustments waiting for approval (A approves, R rejects)"),
    ("Ctrl+Shift+U", "New customer: checked as you type; look-alikes are offered first"),
    ("Ctrl+Shift+E", "Manage the customer on screen: contact details, move, suspend / "
     "resume, cancel a service (retention offer first)"),
    ("Ctrl+Shift+O", "New order for the customer on screen (or resume their draft): Alt+N "
     "next, Alt+B back, Esc keeps a draft"),
    ("Ctrl+D, Alt+O, Alt+R", "Collections: dial the debt, record the outcome, send the "
     "reminder"),
    ("Ctrl+5, Alt+L/T/A/S", "Dashboard: live floor, trends, team & agents, staffing"),
    ("Alt+R, F5, Alt+D", "Dashboard: date range, refresh, what each figure means"),
    ("Alt+C, Alt+X, Alt+P", "Dashboard: export the table (CSV), all tables (Excel), a PDF"),
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
            title = QLabel(_title(setting.key))
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


_TITLES = {
    "fcr_window_days": "FCR window", "service_level_seconds": "Service level: within",
    "service_level_target_pct": "Service level target",
    "short_abandon_seconds": "Short abandons", "aht_target_seconds": "AHT target",
    "fcr_target_pct": "FCR target",
}
_UNITS = {
    "font_scale": "%", "ledger_months": " months", "fcr_window_days": " days",
    "service_level_seconds": " s", "service_level_target_pct": "%",
    "short_abandon_seconds": " s", "fcr_target_pct": "%",
}


def _title(key: str) -> str:
    return _TITLES.get(key, key.replace("_", " ").capitalize())


def _label(key: str, choice: object) -> str:
    if key == "aht_target_seconds" and isinstance(choice, int):
        return f"{choice // 60}:{choice % 60:02d} (minutes)"
    if key in _UNITS:
        return f"{choice}{_UNITS[key]}"
    return str(choice).capitalize()
