"""A new desk joins: the status bar shows the first full sync's progress, then the agent
finds customers that were not on this machine a moment ago."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent_desktop.app import DEMO_PASSWORD, build_window, configure_qt_settings
from agent_desktop.platform.settings import Settings
from agent_desktop.services.sync import SyncService
from agent_desktop.storage.store import open_store
from agent_desktop.ui.sync_status import SyncController
from server_stub.__main__ import prepare, seed
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


def test_a_new_desk_shows_first_sync_progress_then_finds_customers(
        qtbot: QtBot, demo_store_template: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seed(url, str(demo_store_template), None)
    conn = sqlite3.connect(demo_store_template)
    account, name = conn.execute(
        "SELECT account_number, display_name FROM customers ORDER BY account_number "
        "LIMIT 1 OFFSET 5").fetchone()
    conn.close()

    store = open_store(tmp_path / "new-desk.sqlite3")
    with EmbeddedServer(create_app(url)) as server:
        service = SyncService(store, server.url, "agent", auto_password=DEMO_PASSWORD)
        controller = SyncController(service, interval_ms=60_000)
        configure_qt_settings()
        window = build_window(store, "agent", Settings(), sync=controller)
        qtbot.addWidget(window)
        window.show()
        bar = window.sync_bar
        assert bar is not None
        seen: list[tuple[float, bool, str]] = []
        controller.progress.connect(lambda what, fraction: seen.append(
            (fraction, bar.progress.isVisible(), bar.state.text())))
        try:
            controller.start()
            qtbot.waitUntil(lambda: bar.state.text().startswith("Online"), timeout=60000)
            assert seen, "no progress was reported"
            assert all(visible for _, visible, _ in seen)
            assert seen[-1][0] == 1.0
            assert seen[-1][2].startswith("First sync:")
            assert not bar.progress.isVisible()

            qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            with qtbot.waitSignal(window.finder.searched, timeout=10000):
                qtbot.keyClicks(window.search_box, account)
            with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
                qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
            view = window.customers.current_view()
            assert view is not None and view.data is not None
            assert view.data.account_number.replace("-", "") == account
            assert view.data.display_name == name
        finally:
            window.close()
            service.close()
            store.close()
