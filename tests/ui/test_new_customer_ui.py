"""New customers and account changes by keyboard: a typo'd phone number is fixed as the
agent types, a customer already on file is offered (and opened instead), a clean create
opens the new customer's 360, and a service is cancelled after the retention offer was
declined and a reason chosen."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.customer360.maintenance import CancelPage, ManageDialog
from agent_desktop.ui.screens.customers.new_customer import NewCustomerDialog

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def _rows(store: Store, sql: str, *params: object) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.exec_driver_sql(sql, params).fetchall())


def _open_dialog(qtbot: QtBot, window: MainWindow) -> NewCustomerDialog:
    qtbot.keyClick(window, Qt.Key.Key_U, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(window, "new_customer_dialog", None) is not None
                    and window.new_customer_dialog.isVisible(), timeout=10000)
    dialog = window.new_customer_dialog
    assert isinstance(dialog, NewCustomerDialog)
    qtbot.waitUntil(dialog.isActiveWindow, timeout=10000)
    return dialog


def _type(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Into a field the agent reached with Tab or a mnemonic: what they type."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def _focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def test_a_typod_phone_is_fixed_and_a_clean_create_opens_the_360(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    dialog = _open_dialog(qtbot, window)
    assert _focused() is dialog.first_name
    qtbot.keyClicks(dialog.first_name, "Zebulon")
    qtbot.keyClick(dialog, Qt.Key.Key_L, ALT)
    assert _focused() is dialog.last_name
    qtbot.keyClicks(dialog.last_name, "Quistgaard")
    qtbot.keyClick(dialog, Qt.Key.Key_P, ALT)
    assert _focused() is dialog.phone
    qtbot.keyClicks(dialog.phone, "(303) 555-014")  # one digit short
    hint = dialog.hints["phone"]
    assert hint.problem == "Too short: a US number has 10 digits, you typed 9."
    qtbot.keyClicks(dialog.phone, "7")
    assert hint.problem == "" and hint.text() == "(303) 555-0147 \u2713"
    qtbot.keyClick(dialog, Qt.Key.Key_E, ALT)
    qtbot.keyClicks(_focused(), "zeb@quistgaard.net")
    _type(qtbot, dialog.service.edits["line1"], "4410 Larkspur Lane")
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)  # past the apartment line
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)
    qtbot.keyClicks(_focused(), "Denver")
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)
    qtbot.keyClicks(_focused(), "NY")
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)
    qtbot.keyClicks(_focused(), "80202")
    assert dialog.hints["service.postal_code"].problem == (
        "ZIP 80202 is in CO, not NY: check the state or the ZIP.")
    _type(qtbot, dialog.service.edits["state"], "co")
    qtbot.waitUntil(lambda: dialog.regions is not None, timeout=10000)
    dialog.revalidate()
    assert dialog.hints["service.postal_code"].text() == (
        "Time zone: Mountain time (America/Denver)")

    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000) as shown:
        qtbot.keyClick(_focused(), Qt.Key.Key_Return)
    assert not dialog.isVisible()
    [(cid, account, name)] = _rows(store, "SELECT id, account_number, display_name FROM "
                                   "customers WHERE last_norm = 'quistgaard'")
    assert shown.args == [cid] and name == "Zebulon Quistgaard"
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    assert view.name.text() == "Zebulon Quistgaard"
    assert view.data.account_number.replace("-", "") == account
    assert "Time zone: America/Denver" in view.contact.text()
    assert [r[0] for r in _rows(store, "SELECT name FROM sync_outbox")] == ["create_customer"]


def test_a_customer_already_on_file_is_offered_and_opened_instead(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    [(cid, name, phone)] = _rows(store, """
        SELECT c.id, c.display_name, p.value FROM customers c JOIN contact_points p
        ON p.customer_id = c.id AND p.kind = 'phone' AND p.is_primary
        WHERE c.kind = 'consumer' ORDER BY c.account_number LIMIT 1""")
    window.new_customer(phone=phone)  # as a ringing call would open it
    qtbot.waitUntil(lambda: window.new_customer_dialog.isActiveWindow(), timeout=10000)
    dialog = window.new_customer_dialog
    assert dialog.phone.text() == phone
    qtbot.keyClicks(dialog.first_name, "Someone")
    qtbot.keyClick(dialog, Qt.Key.Key_L, ALT)
    qtbot.keyClicks(_focused(), "Else")
    _type(qtbot, dialog.service.edits["line1"], "1 Hidden Valley Rd")
    _type(qtbot, dialog.service.edits["city"], "Boston")
    _type(qtbot, dialog.service.edits["state"], "MA")
    _type(qtbot, dialog.service.edits["postal_code"], "02108")

    with qtbot.waitSignal(dialog.duplicates_shown, timeout=15000) as found:
        qtbot.keyClick(_focused(), Qt.Key.Key_Return)
    [match] = found.args[0]
    assert match.customer_id == cid
    assert match.why.startswith("same ") and match.why.endswith("number")
    assert dialog.duplicates.hasFocus()
    assert dialog.open_button.text() == f"&Open {name}"
    assert match.why in dialog.duplicates.item(0).text()

    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000) as shown:
        qtbot.keyClick(dialog.duplicates, Qt.Key.Key_Return)
    assert shown.args == [cid]
    assert not dialog.isVisible()
    assert _rows(store, "SELECT name FROM sync_outbox") == []


def test_create_anyway_after_the_duplicates(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    [(phone,)] = _rows(store, "SELECT value FROM contact_points WHERE kind = 'phone' "
                       "ORDER BY id LIMIT 1")
    window.new_customer(phone=phone)
    qtbot.waitUntil(lambda: window.new_customer_dialog.isActiveWindow(), timeout=10000)
    dialog = window.new_customer_dialog
    qtbot.keyClicks(dialog.first_name, "Second")
    _type(qtbot, dialog.last_name, "Lineholder")
    _type(qtbot, dialog.service.edits["line1"], "9 Elm St")
    _type(qtbot, dialog.service.edits["city"], "Boston")
    _type(qtbot, dialog.service.edits["state"], "MA")
    _type(qtbot, dialog.service.edits["postal_code"], "02108")
    with qtbot.waitSignal(dialog.duplicates_shown, timeout=15000):
        qtbot.keyClick(_focused(), Qt.Key.Key_Return)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000):
        qtbot.keyClick(dialog, Qt.Key.Key_A, ALT)
    assert [r[0] for r in _rows(store, "SELECT name FROM sync_outbox")] == ["create_customer"]


def test_cancel_a_service_after_the_retention_offer_is_declined(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    [(cid, name)] = _rows(store, """
        SELECT c.id, c.display_name FROM customers c WHERE c.status = 'active' AND
        (SELECT COUNT(*) FROM services s WHERE s.customer_id = c.id
         AND s.status IN ('pending', 'active', 'suspended')) >= 2
        ORDER BY c.account_number LIMIT 1""")
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(cid, name)
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(window, "manage_dialog", None) is not None
                    and window.manage_dialog.isVisible(), timeout=10000)
    dialog = window.manage_dialog
    assert isinstance(dialog, ManageDialog)
    qtbot.waitUntil(lambda: bool(dialog.pages) and dialog.isActiveWindow(), timeout=10000)

    qtbot.keyClick(dialog, Qt.Key.Key_N, ALT)  # Ca&ncel service
    page = dialog.current_page()
    assert isinstance(page, CancelPage)
    assert isinstance(_focused(), QComboBox)  # the service, first
    service = page.current()
    assert service is not None
    offer = page.offer()
    assert offer is not None and page.pitch.text() == offer.pitch
    assert not dialog.action.isEnabled()
    assert "retention offer first" in page.hint.text()

    qtbot.keyClick(dialog, Qt.Key.Key_D, ALT)  # the customer declines
    qtbot.waitUntil(page.declines.isChecked, timeout=5000)  # a mnemonic clicks animated
    assert page.hint.text() == "Choose why the customer wants to cancel."
    assert not dialog.action.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_R, ALT)
    assert _focused() is page.reason
    qtbot.keyClick(page.reason, Qt.Key.Key_Down)
    qtbot.keyClick(page.reason, Qt.Key.Key_Down)  # "Price too high"
    assert page.reason.currentData() == "PRICE-TOO-HIGH"
    assert dialog.action.isEnabled() and dialog.action.text() == "Cancel the service"

    with qtbot.waitSignal(dialog.changed, timeout=15000), \
            qtbot.waitSignal(window.customers.customer_shown, timeout=15000):
        qtbot.keyClick(page.reason, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    assert window.statusBar().currentMessage() == f"{service.name} cancelled (PRICE-TOO-HIGH)."
    [(status,)] = _rows(store, "SELECT status FROM services WHERE id = ?", service.id)
    assert status == "cancelled"
    assert _rows(store, "SELECT offer_code, response FROM offers_shown WHERE customer_id = ? "
                 "AND kind = 'retention'", cid) == [(offer.code, "declined")]
    assert [r[0] for r in _rows(store, "SELECT action FROM audit_log WHERE entity_id = ?",
                                service.id)] == ["service.cancel"]
    [(mutation, args)] = _rows(store, "SELECT name, args FROM sync_outbox")
    assert mutation == "cancel_service"
    assert json.loads(args)["reason_code"] == "PRICE-TOO-HIGH"
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    assert {s.status for s in view.data.services if s.id == service.id} == {"cancelled"}
