"""Logging in to the sync server, and the list of changes the server refused."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.services.sync import SyncService
from agent_desktop.storage.sync_store import Rejected
from agent_desktop.sync.client import SyncError
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import Column, RowsModel, make_table


class LoginDialog(QDialog):
    """Asks for the password; the login runs off the UI thread and any refusal is shown
    here in the server's words. The queue of changes is untouched either way."""

    def __init__(self, service: SyncService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Log in to sync")
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        intro = QLabel(f"Log in to {service.server_url} to send and receive changes. Your "
                       "work so far is kept on this computer.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.user = QLabel(service.username)
        form.addRow("User", self.user)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        form.addRow("&Password", self.password)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("badge_danger")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Log in")
        self.buttons.accepted.connect(self._log_in)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.password.setFocus()

    def _log_in(self) -> None:
        password = self.password.text()
        if not password:
            self._show_error("Type your password.")
            return
        self.buttons.setEnabled(False)
        service = self.service
        Op(self, lambda: service.login(password)).success(
            lambda _none: self.accept()).failure(self._failed).run()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if not isinstance(exc, SyncError):
            raise exc
        self.password.selectAll()
        self._show_error(str(exc))

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class NeedsAttentionDialog(QDialog):
    """Changes the server refused, with its reason, so the agent can redo them right."""

    def __init__(self, rejected: Sequence[Rejected], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Changes that need attention")
        self.resize(760, 360)
        layout = QVBoxLayout(self)
        text = ("The server refused these changes. They are not lost: each row says why, so "
                "they can be made again the right way." if rejected else
                "Nothing needs attention: every change was accepted.")
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.model = RowsModel([
            Column("When", lambda r: r.created_at.astimezone().strftime("%b %d %H:%M")),
            Column("Change", lambda r: r.name.replace("_", " ").capitalize()),
            Column("What you wrote", lambda r: r.text.replace("\n", " ")[:80],
                   tooltip=lambda r: r.text),
            Column("Why it was refused", lambda r: r.reason, tooltip=lambda r: r.reason),
        ])
        self.model.set_rows(rejected)
        table = make_table(self.model, stretch_column=3)
        table.setAccessibleName("Refused changes")
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
