"""The agent sees sync happen: a saved note goes to the server and the status bar says so."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent_desktop.app import DEMO_PASSWORD, build_window, configure_qt_settings
from agent_desktop.platform.settings import Settings
from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.services.sync import SyncService
from agent_desktop.storage.store import Store, open_store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.customer360.view import Customer360View
from agent_desktop.ui.sync_status import SyncController
from server_stub.__main__ import prepare
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    with EmbeddedServer(create_app(url)) as running:
        yield running


def _window(qtbot: QtBot, store: Store, server: EmbeddedServer,
            auto_password: str | None) -> Iterator[MainWindow]:
    service = SyncService(store, server.url, "agent", auto_password=auto_password)
    controller = SyncController(service, interval_ms=60_000)
    service.listen(controller.poked.emit)
    configure_qt_settings()
    win = build_window(store, "agent", Settings(), sync=controller)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(controller.status_changed, timeout=10000):
        controller.start()
    yield win
    win.close()
    service.close()


@pytest.fixture
def synced_window(qtbot: QtBot, store: Store, server: EmbeddedServer) -> Iterator[MainWindow]:
    yield from _window(qtbot, store, server, DEMO_PASSWORD)


@pytest.fixture
def login_window(qtbot: QtBot, store: Store, server: EmbeddedServer) -> Iterator[MainWindow]:
    yield from _window(qtbot, store, server, None)  # no saved session, no auto login


def _open_first_customer(qtbot: QtBot, window: MainWindow, store: Store) -> tuple[
        str, Customer360View]:
    with store.engine.connect() as conn:
        cid, name = conn.exec_driver_sql(
            "SELECT id, display_name FROM customers ORDER BY account_number LIMIT 1").one()
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(str(cid), str(name))
    view = window.customers.current_view()
    assert view is not None
    return str(cid), view


def test_a_saved_note_is_synced_and_the_status_bar_says_so(
        qtbot: QtBot, synced_window: MainWindow, store: Store) -> None:
    bar = synced_window.sync_bar
    assert bar is not None
    qtbot.waitUntil(lambda: bar.state.text().startswith("Online"), timeout=10000)
    _cid, view = _open_first_customer(qtbot, synced_window, store)
    qtbot.keyClick(synced_window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(view.note_edit, "Synced from the desktop.")
    with qtbot.waitSignal(synced_window.customers.note_saved, timeout=10000):
        qtbot.keyClick(view.note_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    def outbox() -> list[str]:
        with store.engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT status FROM sync_outbox")]

    qtbot.waitUntil(lambda: outbox() == ["applied"], timeout=10000)
    qtbot.waitUntil(lambda: "synced" in bar.state.text() and bar.pending.text() == "",
                    timeout=10000)


def test_an_open_360_shows_another_agents_note_by_itself(
        qtbot: QtBot, synced_window: MainWindow, store: Store, server: EmbeddedServer,
        demo_store_template: Path, tmp_path: Path) -> None:
    cid, view = _open_first_customer(qtbot, synced_window, store)
    other_path = tmp_path / "other-desktop.sqlite3"
    shutil.copyfile(demo_store_template, other_path)
    other = open_store(other_path)
    try:
        who = agent_by_username(other, "supervisor")
        assert who is not None
        add_note(other, who, cid, "Left by the supervisor on another desktop.")
        elsewhere = SyncService(other, server.url, "supervisor",
                                auto_password=DEMO_PASSWORD)
        status, _ = elsewhere.sync()  # its push pokes this desktop, which pulls
        assert status.online and status.pending == 0
        elsewhere.close()
        qtbot.waitUntil(lambda: any(
            view.notes_model.row(i).body == "Left by the supervisor on another desktop."
            for i in range(view.notes_model.rowCount())), timeout=10000)
    finally:
        other.close()


def test_without_a_session_the_agent_is_asked_to_log_in_and_a_wrong_password_says_so(
        qtbot: QtBot, login_window: MainWindow, memory_keyring: object) -> None:
    from agent_desktop.ui.login import LoginDialog

    qtbot.waitUntil(lambda: any(isinstance(w, LoginDialog) and w.isVisible()
                                for w in login_window.findChildren(LoginDialog)),
                    timeout=10000)
    dialog = login_window.findChildren(LoginDialog)[0]
    assert dialog.password.hasFocus()
    qtbot.keyClicks(dialog.password, "not-the-password")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10000)
    assert dialog.error.text() == "Wrong username or password."
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, DEMO_PASSWORD)
    with qtbot.waitSignal(dialog.finished, timeout=10000):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    bar = login_window.sync_bar
    assert bar is not None
    qtbot.waitUntil(lambda: bar.state.text().startswith("Online"), timeout=10000)
    assert memory_keyring.secrets, "the token was not kept in the keyring"


def test_a_refused_change_is_listed_with_the_servers_reason(
        qtbot: QtBot, synced_window: MainWindow, store: Store) -> None:
    from agent_desktop.storage import outbox
    from agent_desktop.ui.login import NeedsAttentionDialog

    with store.transaction() as session:
        outbox.enqueue(session, "add_note", {"id": "e" * 32, "customer_id": "d" * 32,
                                             "body": "   ", "created_at": "2026-11-20T10:00"})
    assert synced_window.sync is not None and synced_window.sync_bar is not None
    bar = synced_window.sync_bar
    synced_window.sync.sync_now()
    qtbot.waitUntil(lambda: "1 need attention" in bar.state.text(), timeout=10000)
    qtbot.keyClick(synced_window, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(synced_window.findChildren(NeedsAttentionDialog)),
                    timeout=10000)
    dialog = synced_window.findChildren(NeedsAttentionDialog)[0]
    assert dialog.model.rowCount() == 1
    assert "empty" in dialog.model.row(0).reason
    dialog.close()
