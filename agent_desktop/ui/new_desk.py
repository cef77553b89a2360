"""Setting up a new desk: before the window opens, an empty store is replaced by the
server's snapshot (every customer with their history), with a progress bar.

A desk with no customers cannot help a caller, so this is the one time the agent waits;
the download runs off the UI thread and the window stays responsive. "Skip" opens the
desk at once and the first sync then loads the customers in the background instead
(slower, same result).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.services.sync import NewDeskSnapshot, SyncService, adopt_new_desk_snapshot
from agent_desktop.storage.store import Store, open_store
from agent_desktop.sync.client import SyncError
from agent_desktop.ui.tasks import Job, Pools, Relay

log = logging.getLogger(__name__)


class NewDeskDialog(QDialog):
    progress = Signal(str, float)  # from the download thread

    def __init__(self, service: SyncService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Setting up this desk")
        self.setMinimumWidth(520)
        self.result_snapshot: NewDeskSnapshot | None = None
        self.error = ""
        layout = QVBoxLayout(self)
        intro = QLabel(f"This desk has no customers yet. Loading them from "
                       f"{service.server_url} \u2014 once, on the first start.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.what = QLabel("Asking the server\u2026")
        layout.addWidget(self.what)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName("Setup progress")
        layout.addWidget(self.bar)
        buttons = QDialogButtonBox()
        self.skip = buttons.addButton("Skip: load in the background",
                                      QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.progress.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.cancelled = threading.Event()
        relay = Relay(self)
        relay.done.connect(self._done)

        def report(what: str, fraction: float) -> None:
            if self.cancelled.is_set():
                raise _Skipped()  # ends the download; its partial file is removed
            self.progress.emit(what, fraction)

        # The reads pool: nothing else runs yet, and its threads are joined at shutdown.
        Pools.reads().start(Job(lambda: service.download_for_new_desk(report), relay))

    def reject(self) -> None:
        self.cancelled.set()
        super().reject()

    def _show(self, what: str, fraction: float) -> None:
        self.what.setText(what)
        self.bar.setValue(round(1000 * fraction))

    def _done(self, snapshot: NewDeskSnapshot | None, exc: BaseException | None) -> None:
        if self.cancelled.is_set():
            if snapshot is not None:  # finished just as the agent skipped
                snapshot.path.unlink(missing_ok=True)
            return
        if exc is not None:
            self.error = str(exc) if isinstance(exc, SyncError) else "an error (see the log)"
            if not isinstance(exc, SyncError):
                log.error("new desk setup failed", exc_info=exc)
        self.result_snapshot = snapshot
        self.accept()


class _Skipped(Exception):
    """The agent chose to skip the setup."""


def set_up_new_desk(store: Store, username: str, server_url: str) -> Store:
    """For an empty store with a server: log in if needed, download and adopt the
    snapshot, and return the store to work with (reopened, or the same one)."""
    from agent_desktop.ui.login import LoginDialog

    service = SyncService(store, server_url, username)
    try:
        if not service.is_new_desk():
            return store
        if service.client.token is None and LoginDialog(service).exec() != \
                QDialog.DialogCode.Accepted:
            return store
        dialog = NewDeskDialog(service)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        Pools.reads().waitForDone()  # a skipped download stops at its next chunk
        snapshot = dialog.result_snapshot if accepted else None
        if dialog.error:
            log.warning("new desk setup: %s", dialog.error)
    finally:
        service.close()
    if snapshot is None:
        return store
    path: Path = store.path
    store.close()
    try:
        adopt_new_desk_snapshot(path, snapshot)
    except Exception:
        log.exception("the snapshot could not be adopted; the first sync will load it")
    return open_store(path)
