"""The real main window on a store, offscreen, for the benches that time what an agent
sees (ui_bench, screen_pop_bench)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from agent_desktop.storage.store import Store
    from agent_desktop.ui.main_window import MainWindow


def qt_app() -> QApplication:
    """The QApplication (made once), set up as the app sets itself up, light theme; the
    offscreen plugin's line per window about size hints is kept out of the output."""
    from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

    from agent_desktop.app import configure_qt_settings
    from agent_desktop.ui import theme

    def quiet(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if "propagateSizeHints" not in message:
            sys.stderr.write(f"{message}\n")

    qInstallMessageHandler(quiet)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    configure_qt_settings()
    theme.apply(app, "light")
    return app


def open_window(store_path: Path) -> tuple[QApplication, MainWindow, Store]:
    """The app, the agent's main window (1440 x 900, shown) and its store."""
    os.environ.setdefault("AGENT_DESKTOP_HOME", "/tmp/agent-desktop-bench-home")
    from agent_desktop.app import build_window
    from agent_desktop.platform.settings import Settings
    from agent_desktop.storage.store import open_store

    app = qt_app()
    store = open_store(store_path)
    window = build_window(store, "agent", Settings())
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    return app, window, store


def idle(ms: int = 900) -> None:
    """Between two calls an agent is never faster than this; the app uses such idle time
    to build the next 360 view ahead (CustomersPage.prepare_spare)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
