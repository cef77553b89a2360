"""Maker-checker across two desks and a real server: the agent asks for an adjustment
above their limit in their window; the supervisor, on another desk with its own store,
approves it by keyboard; both desks' balances move only then. A rejection elsewhere
leaves both the request and the rejection in the server's audit log."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, text

from agent_desktop.app import DEMO_PASSWORD, build_window, configure_qt_settings
from agent_desktop.platform.settings import Settings
from agent_desktop.services import payments
from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.services.sync import SyncService, SyncStatus
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, open_store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.payments.adjustments import AdjustmentDialog, ApprovalsDialog
from agent_desktop.ui.sync_status import SyncController
from server_stub.__main__ import prepare, seed
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


class Desks:
    def __init__(self, agent_window: MainWindow, agent_store: Store, supervisor_store: Store,
                 supervisor_sync: SyncService, server_db: str) -> None:
        self.window, self.store = agent_window, agent_store
        self.supervisor_store, self.supervisor_sync = supervisor_store, supervisor_sync
        self.server_db = server_db


@pytest.fixture
def desks(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[Desks]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seq = seed(url, str(store.path), None)
    other_path = tmp_path / "supervisor-desk.sqlite3"
    shutil.copyfile(store.path, other_path)
    sync_store.start_afresh(store, seq)
    other = open_store(other_path)
    sync_store.start_afresh(other, seq)
    with EmbeddedServer(create_app(url)) as server:
        service = SyncService(store, server.url, "agent", auto_password=DEMO_PASSWORD)
        controller = SyncController(service, interval_ms=60_000)
        configure_qt_settings()
        win = build_window(store, "agent", Settings(), sync=controller)
        qtbot.addWidget(win)
        win.show()
        with qtbot.waitSignal(controller.status_changed, timeout=10000):
            controller.start()
        supervisor = SyncService(other, server.url, "supervisor")
        supervisor.login(DEMO_PASSWORD)
        try:
            yield Desks(win, store, other, supervisor, url)
        finally:
            win.close()
            service.close()
            supervisor.close()
            other.close()


def _done(status: SyncStatus) -> bool:
    """A finished pass (sync_now first says "syncing")."""
    return not status.in_progress


def test_the_supervisor_on_another_desk_approves_what_the_agent_asked(
        qtbot: QtBot, desks: Desks) -> None:
    window, store = desks.window, desks.store
    with store.engine.connect() as conn:
        cid, name = conn.exec_driver_sql(
            "SELECT id, display_name FROM customers WHERE kind = 'consumer' "
            "ORDER BY account_number LIMIT 1 OFFSET 7").one()
        limit = int(conn.exec_driver_sql(
            "SELECT adjustment_limit_cents FROM agents WHERE username = 'agent'").scalar())
    customer_id = str(cid)
    before = load_360(store, customer_id).balance_cents
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, str(name))
    qtbot.keyClick(window, Qt.Key.Key_J, CTRL)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "adjustment_dialog", None),
                                       AdjustmentDialog)
                    and window.adjustment_dialog.isActiveWindow(), timeout=10000)
    dialog: AdjustmentDialog = window.adjustment_dialog
    qtbot.waitUntil(lambda: dialog.limits is not None, timeout=10000)
    amount = limit + 1
    qtbot.keyClicks(dialog.amount, f"{amount // 100}.{amount % 100:02d}")
    qtbot.keyClick(dialog, Qt.Key.Key_R, ALT)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)
    assert window.sync is not None
    with qtbot.waitSignal(dialog.adjusted, timeout=10000) as saved, \
            qtbot.waitSignal(window.sync.status_changed, timeout=15000):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    queued = saved.args[0]
    assert queued.status == "pending_approval"
    qtbot.waitUntil(lambda: sync_store.pending_count(store) == 0, timeout=15000)

    # The supervisor's desk pulls it, approves it by keyboard, pushes.
    status, _ = desks.supervisor_sync.sync()
    assert status.online
    supervisor = agent_by_username(desks.supervisor_store, "supervisor")
    assert supervisor is not None
    approvals = ApprovalsDialog(desks.supervisor_store, supervisor, window)
    approvals.show()
    qtbot.waitUntil(lambda: approvals.rows_loaded, timeout=10000)
    ids = [r.id for r in approvals.rows()]
    assert queued.adjustment_id in ids
    qtbot.keyClick(approvals.table, Qt.Key.Key_Home)
    for _ in range(ids.index(queued.adjustment_id)):
        qtbot.keyClick(approvals.table, Qt.Key.Key_Down)
    with qtbot.waitSignal(approvals.decided, timeout=10000):
        qtbot.keyClick(approvals.table, Qt.Key.Key_A)
    approvals.close()
    status, _ = desks.supervisor_sync.sync()
    assert status.online and status.pending == 0

    # The agent's desk hears of it on its next sync; its balance moves now.
    assert load_360(store, customer_id).balance_cents == before
    with qtbot.waitSignal(window.sync.status_changed, timeout=15000,
                          check_params_cb=_done):
        window.sync.sync_now()
    assert load_360(store, customer_id).balance_cents == before - amount
    assert load_360(desks.supervisor_store, customer_id).balance_cents == before - amount

    # A rejection leaves both events in the server's audit.
    agent = agent_by_username(store, "agent")
    assert agent is not None
    second = payments.request_adjustment(store, agent, customer_id, "credit", amount,
                                         "GOODWILL-CREDIT", "Again")
    with qtbot.waitSignal(window.sync.status_changed, timeout=15000,
                          check_params_cb=_done):
        window.sync.sync_now()
    desks.supervisor_sync.sync()
    payments.decide_adjustment(desks.supervisor_store, supervisor, second.adjustment_id,
                               False, "Already credited this month")
    desks.supervisor_sync.sync()
    engine = create_engine(desks.server_db)
    try:
        with engine.connect() as conn:
            actions = [r[0] for r in conn.execute(text(
                "SELECT action FROM audit_log WHERE entity_id = :e ORDER BY seq"),
                {"e": second.adjustment_id})]
    finally:
        engine.dispose()
    assert actions == ["adjustment.request", "adjustment.reject"]
