"""A new desk: before the window opens, its empty store becomes the server's snapshot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import open_store
from agent_desktop.ui.new_desk import NewDeskDialog, set_up_new_desk
from server_stub.__main__ import prepare, seed
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


def _seeded(tmp_path: Path, template: Path) -> tuple[str, int]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    return url, seed(url, str(template), None)


def _log_in_once(path: Path, server: EmbeddedServer) -> str:
    store = open_store(path)
    service = SyncService(store, server.url, "agent")
    try:
        service.login("demo")  # the token goes to the (test) keyring, as at a real login
        return sync_store.client_id(store)
    finally:
        service.close()
        store.close()


def test_a_new_desk_takes_the_snapshot_before_the_window_opens(
        qtbot: QtBot, demo_store_template: Path, tmp_path: Path) -> None:
    url, seq = _seeded(tmp_path, demo_store_template)
    path = tmp_path / "desk.sqlite3"
    with EmbeddedServer(create_app(url)) as server:
        client_id = _log_in_once(path, server)
        store = open_store(path)
        store = set_up_new_desk(store, "agent", server.url)
        try:
            assert sync_store.cursor(store) == seq
            assert sync_store.client_id(store) == client_id
            service = SyncService(store, server.url, "agent")
            try:
                status, _ = service.sync()  # what changed since: nothing
                assert status.online and status.pending == 0
            finally:
                service.close()
        finally:
            store.close()
    desk, template = sqlite3.connect(path), sqlite3.connect(demo_store_template)
    try:
        for table in ("customers", "invoices", "invoice_lines", "payments", "notes"):
            count = f"SELECT COUNT(*) FROM {table}"
            assert desk.execute(count).fetchone() == template.execute(count).fetchone()
        assert desk.execute("SELECT COUNT(*) FROM sync_outbox").fetchone()[0] == 0
    finally:
        desk.close()
        template.close()
    assert not list(tmp_path.glob("*.snapshot-download"))


def test_skip_opens_the_desk_at_once_and_leaves_no_download_behind(
        qtbot: QtBot, demo_store_template: Path, tmp_path: Path) -> None:
    url, _seq = _seeded(tmp_path, demo_store_template)
    path = tmp_path / "desk.sqlite3"
    with EmbeddedServer(create_app(url)) as server:
        _log_in_once(path, server)
        store = open_store(path)

        def skip() -> None:
            dialog = QApplication.activeModalWidget()
            if isinstance(dialog, NewDeskDialog):
                qtbot.keyClick(dialog, Qt.Key.Key_Escape)
            else:
                QTimer.singleShot(0, skip)

        QTimer.singleShot(0, skip)
        same = set_up_new_desk(store, "agent", server.url)
        try:
            assert same is store
            assert sync_store.cursor(store) is None and sync_store.is_empty(store)
        finally:
            store.close()
    assert not list(tmp_path.glob("*.snapshot-download"))
