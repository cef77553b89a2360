"""Python's cyclic garbage collector runs only on the UI thread.

Left alone, a collection can start on whatever thread allocates at that moment (the sync
thread, a search worker). If it frees a Qt object there, Qt's object destructor takes a
Qt lock and then needs the GIL, while the UI thread, destroying another object, holds the
GIL and waits for that lock: both stop for good (seen in CI: a QMenu being deleted on the
UI thread, a collection on the sync thread). The usual PySide/PyQt remedy: turn automatic
collection off and collect from a timer on the UI thread, at the same thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GarbageCollector(QObject):
    """Collect on the UI thread every ``interval_ms``, as the thresholds ask."""

    def __init__(self, parent: QObject, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.threshold[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()


def install(app: QObject) -> GarbageCollector:
    """Call once, on the UI thread, right after the QApplication exists."""
    existing = app.findChild(GarbageCollector)
    return existing if isinstance(existing, GarbageCollector) else GarbageCollector(app)
