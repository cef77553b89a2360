"""The customer says "stop calling me with that robot": the agent records it by keyboard
from the 360, and the change is saved, shown and queued for sync."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox
from pytestqt.qtbot import QtBot

from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow


def _customer_with_consenting_phone(store: Store) -> tuple[str, str, str]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT c.id, c.display_name, p.id FROM customers c JOIN contact_points p "
            "ON p.customer_id = c.id AND p.kind = 'phone' AND p.consent_autodial = 1 "
            "AND p.is_primary = 1 ORDER BY c.account_number LIMIT 1").one()
    return str(row[0]), str(row[1]), str(row[2])


def test_ctrl_shift_c_space_enter_revokes_automated_calls(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    cid, name, phone = _customer_with_consenting_phone(store)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(cid, name)
    view = window.customers.current_view()
    assert view is not None
    assert "no automated calls" not in view.contact.text().split("\n")[0]

    qtbot.keyClick(window, Qt.Key.Key_C,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.customers.consent_dialog is not None
                    and window.customers.consent_dialog.isVisible(), timeout=10000)
    dialog = window.customers.consent_dialog
    assert dialog is not None
    first = QApplication.focusWidget()
    assert isinstance(first, QCheckBox) and first.text() == "Automated calls"
    assert first.isChecked()
    qtbot.keyClick(first, Qt.Key.Key_Space)
    assert dialog.changes() == {phone: {"consent_autodial": False}}
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        qtbot.keyClick(first, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "no automated calls" in view.contact.text(), timeout=10000)

    with store.engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT consent_autodial FROM contact_points WHERE id = ?", (phone,)).scalar() == 0
        [(name_, args)] = conn.exec_driver_sql(
            "SELECT name, args FROM sync_outbox").fetchall()
        audit = conn.exec_driver_sql(
            "SELECT action FROM audit_log WHERE entity_id = ?", (phone,)).scalar()
    assert name_ == "set_contact_consent" and '"consent_autodial": false' in args
    assert audit == "contact.consent"


def test_esc_changes_nothing(qtbot: QtBot, window: MainWindow, store: Store) -> None:
    cid, name, _phone = _customer_with_consenting_phone(store)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(cid, name)
    qtbot.keyClick(window, Qt.Key.Key_C,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.customers.consent_dialog is not None
                    and window.customers.consent_dialog.isVisible(), timeout=10000)
    first = QApplication.focusWidget()
    assert first is not None
    qtbot.keyClick(first, Qt.Key.Key_Space)
    qtbot.keyClick(first, Qt.Key.Key_Escape)
    dialog = window.customers.consent_dialog
    assert dialog is not None and not dialog.isVisible()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM sync_outbox").scalar() == 0
