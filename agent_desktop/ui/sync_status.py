"""Sync from the window's point of view: when to sync, and what the status bar says.

The engine runs on its own single worker thread and reaches the UI only through the
signals here. The agent sees: online / offline / syncing, how many changes wait to be
sent, when the last sync succeeded, and the changes the server refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from agent_desktop.services.sync import SyncService, SyncStatus
from agent_desktop.ui.tasks import Job, Relay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Outcome:
    status: SyncStatus
    customers: frozenset[str]


class SyncController(QObject):
    """Syncs now and then, and at once after a local change or a poke."""

    status_changed = Signal(object)  # SyncStatus
    customers_changed = Signal(object)  # frozenset of customer ids changed by a pull
    poked = Signal()  # the server says there is something to pull (from any thread)
    progress = Signal(str, float)  # a first full sync: what is happening, fraction done

    def __init__(self, service: SyncService, parent: QObject | None = None,
                 interval_ms: int = 30_000) -> None:
        super().__init__(parent)
        self.service = service
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one sync at a time, in order
        self._relay = Relay(self)
        self._relay.done.connect(self._finished)
        self._running = False
        self._again = False
        self._failures = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.sync_now)
        self._interval = interval_ms
        self._stopped = False
        self.last: SyncStatus | None = None
        self.poked.connect(self.sync_now)  # queued: pokes arrive on the listener's thread

    def start(self) -> None:
        self.sync_now()

    def stop(self) -> None:
        self._stopped = True  # a poke still queued must not start another pass
        self._timer.stop()
        self._again = False
        self._pool.waitForDone()

    def sync_now(self) -> None:
        if self._stopped:
            return
        if self._running:
            self._again = True  # one more pass after this one, for the newest change
            return
        self._running = True
        self._timer.stop()
        if self.last is not None:
            self.status_changed.emit(self.last.syncing())
        service, progress = self.service, self.progress
        self._pool.start(Job(lambda: _run(service, progress.emit), self._relay))

    def _finished(self, outcome: _Outcome | None, exc: BaseException | None) -> None:
        self._running = False
        if exc is not None:  # a bug, not the network: log it, keep working, try later
            log.error("sync failed", exc_info=exc)
            self._failures += 1
            if not self._stopped:
                self._timer.start(self.service.next_delay_ms(self._failures, self._interval))
            return
        assert outcome is not None
        self.last = outcome.status
        self.status_changed.emit(outcome.status)
        if outcome.customers:
            self.customers_changed.emit(outcome.customers)
        if self._again:
            self._again = False
            self.sync_now()
            return
        self._failures = 0 if outcome.status.online else self._failures + 1
        if not self._stopped:
            self._timer.start(self.service.next_delay_ms(self._failures, self._interval))


def _run(service: SyncService, progress: Callable[[str, float], None]) -> _Outcome:
    status, customers = service.sync(progress)
    return _Outcome(status, customers)


class SyncStatusBar:
    """The permanent sync widgets of the status bar."""

    def __init__(self, bar: QStatusBar, on_rejected: Callable[[], None] | None = None) -> None:
        self.state = QLabel("Sync: starting\u2026")
        self.state.setAccessibleName("Sync status")
        self.pending = QLabel("")
        self.pending.setObjectName("muted")
        # Only during a first full sync (a new desk loading the whole customer base).
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("First sync progress")
        self.progress.hide()
        bar.addPermanentWidget(self.pending)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.state)
        self._on_rejected = on_rejected

    def show_progress(self, what: str, fraction: float) -> None:
        self.progress.setValue(round(1000 * max(0.0, min(1.0, fraction))))
        self.progress.setToolTip(what)
        self.progress.show()
        self.state.setText(f"First sync: {what}\u2026")

    def show(self, status: SyncStatus) -> None:
        if not status.in_progress:
            self.progress.hide()
        elif self.progress.isVisible():
            return  # keep the first sync's own words while it runs
        self.state.setText(status.headline())
        self.state.setToolTip(status.detail)
        waiting = status.pending
        self.pending.setText(
            f"{waiting} change{'s' if waiting != 1 else ''} waiting to sync" if waiting else ""
        )
