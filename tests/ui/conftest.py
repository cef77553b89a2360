"""UI fixtures: the real main window on a real store, driven by pytest-qt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent_desktop.app import build_window, configure_qt_settings
from agent_desktop.platform.settings import Settings
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot: QtBot, store: Store) -> Iterator[MainWindow]:
    configure_qt_settings()
    win = build_window(store, "agent", Settings())
    qtbot.addWidget(win)
    win.resize(1400, 880)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


# Dialogs a test may leave open on the window; closed before the window is.
_DIALOGS = ("payment_dialog", "reversal_dialog", "methods_dialog", "adjustment_dialog",
            "dispute_dialog", "order_dialog")


@pytest.fixture
def paying_window(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[MainWindow]:
    """The window of an agent logged in to a real sync server seeded from the same store
    (so payments reach the gateway stub and orders the back office)."""
    from agent_desktop.app import DEMO_PASSWORD
    from agent_desktop.services.sync import SyncService
    from agent_desktop.storage import sync_store
    from agent_desktop.ui.sync_status import SyncController
    from server_stub.__main__ import prepare, seed
    from server_stub.app import create_app
    from server_stub.embedded import EmbeddedServer

    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seq = seed(url, str(store.path), None)
    sync_store.start_afresh(store, seq)
    with EmbeddedServer(create_app(url)) as server:
        service = SyncService(store, server.url, "agent", auto_password=DEMO_PASSWORD)
        controller = SyncController(service, interval_ms=60_000)
        service.listen(controller.poked.emit)
        configure_qt_settings()
        win = build_window(store, "agent", Settings(), sync=controller)
        qtbot.addWidget(win)
        win.show()
        with qtbot.waitSignal(controller.status_changed, timeout=10000):
            controller.start()
        yield win
        for name in _DIALOGS:
            dialog = getattr(win, name, None)
            if dialog is not None:
                dialog.close()
        win.close()
        service.close()
