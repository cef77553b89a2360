"""Voids, refunds and payment methods on file, by keyboard from the 360's Billing tab,
against a real sync server and its gateway stub: a payment taken today is voided and the
balance comes back; a refund above the agent's limit is refused with the supervisor
message before anything is queued; a partial refund within the limit settles; a new card
is added as the default; an expiry is updated; a method is removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent_desktop.domain.billing import EntryKind
from agent_desktop.services import payments as service
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.customer360.view import Customer360View
from agent_desktop.ui.screens.payments.methods import (
    AddCardDialog,
    ExpiryDialog,
    PaymentMethodsDialog,
    RemoveDialog,
)
from agent_desktop.ui.screens.payments.reversals import ReversalDialog

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
MASTERCARD = "5555555555554444"


# --- helpers ------------------------------------------------------------------------------

def _scalar(store: Store, sql: str, *params: object) -> object:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(sql, tuple(params)).scalar()


def _customer_with_card(store: Store) -> tuple[str, str]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT c.id, c.display_name FROM customers c JOIN payment_methods m "
            "ON m.customer_id = c.id AND m.kind = 'card' AND m.status = 'active' "
            "AND m.is_default = 1 AND m.exp_year >= 2028 "
            "WHERE c.kind = 'consumer' ORDER BY c.account_number LIMIT 1").one()
    return str(row[0]), str(row[1])


def _open(qtbot: QtBot, window: MainWindow, store: Store) -> tuple[str, Customer360View]:
    customer_id, name = _customer_with_card(store)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    return customer_id, view


def _balance(store: Store, customer_id: str) -> int:
    return int(_scalar(  # type: ignore[call-overload]
        store,
        "SELECT (SELECT coalesce(sum(total_cents),0) FROM invoices WHERE customer_id=?)"
        " - (SELECT coalesce(sum(CASE entry WHEN 'payment' THEN amount_cents ELSE "
        "-amount_cents END),0) FROM payments WHERE customer_id=? AND status IN "
        "('settled','authorized'))", customer_id, customer_id) or 0)


def _status(store: Store, payment_id: str) -> str:
    return str(_scalar(store, "SELECT status FROM payments WHERE id = ?", payment_id))


def _sync_settles(qtbot: QtBot, window: MainWindow, store: Store, payment_id: str) -> None:
    assert window.sync is not None
    window.sync.sync_now()
    qtbot.waitUntil(lambda: _status(store, payment_id) == "settled", timeout=15000)


def _paid_today(qtbot: QtBot, window: MainWindow, store: Store, customer_id: str,
                cents: int) -> str:
    """A card payment on the default card, settled at the gateway; the 360 shows it."""
    method_id = str(_scalar(store, "SELECT id FROM payment_methods WHERE customer_id = ? "
                            "AND is_default = 1", customer_id))
    queued = service.take_payment(store, window.who, customer_id, cents, "card",
                                  payment_id=service.new_payment_id(),
                                  payment_method_id=method_id)
    _sync_settles(qtbot, window, store, queued.payment_id)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.refresh(customer_id)
    return queued.payment_id


def _reversal_dialog(qtbot: QtBot, window: MainWindow, view: Customer360View,
                     payment_id: str) -> ReversalDialog:
    """Select the payment's ledger line with the arrow keys, then Ctrl+Shift+V."""
    assert view.data is not None
    row = next(i for i, line in enumerate(view.data.ledger)
               if line.entry.entry_id == payment_id)
    window.activateWindow()  # offscreen, a closed dialog does not hand activation back
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    view.tabs.setCurrentIndex(0)
    view.ledger.setFocus()
    qtbot.keyClick(view.ledger, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view.ledger, Qt.Key.Key_Down)  # Ctrl+Home moves without selecting:
    qtbot.keyClick(view.ledger, Qt.Key.Key_Up)  # down and up selects the first line
    for _ in range(row):
        qtbot.keyClick(view.ledger, Qt.Key.Key_Down)
    line = view.selected_line()
    assert line is not None and line.entry.entry_id == payment_id
    previous = getattr(window, "reversal_dialog", None)
    qtbot.keyClick(view.ledger, Qt.Key.Key_V, CTRL_SHIFT)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "reversal_dialog", None),
                                       ReversalDialog)
                    and window.reversal_dialog is not previous
                    and window.reversal_dialog.options is not None, timeout=10000)
    dialog = window.reversal_dialog
    assert isinstance(dialog, ReversalDialog)
    return dialog


def _outbox(store: Store, name: str) -> list[str]:
    with store.engine.connect() as conn:
        return [str(r[0]) for r in conn.exec_driver_sql(
            "SELECT status FROM sync_outbox WHERE name = ?", (name,))]


def _tomorrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk's clock a day on: a payment taken 'today' can then only be refunded."""
    later = datetime.now(UTC) + timedelta(days=1)
    monkeypatch.setattr(service, "_now", lambda: later)


# --- voids and refunds --------------------------------------------------------------------

def test_a_payment_taken_today_is_voided_and_the_balance_returns(
        qtbot: QtBot, paying_window: MainWindow, store: Store) -> None:
    window = paying_window
    customer_id, view = _open(qtbot, window, store)
    before = _balance(store, customer_id)
    payment_id = _paid_today(qtbot, window, store, customer_id, 4321)
    assert _balance(store, customer_id) == before - 4321

    dialog = _reversal_dialog(qtbot, window, view, payment_id)
    assert dialog.mode() == "void"
    assert not dialog.amount.isVisible()
    assert "voided" in dialog.what.text() and "$43.21" in dialog.what.text()
    assert dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.reason, "Paid twice by mistake")
    with qtbot.waitSignal(dialog.reversed, timeout=10000) as reversed_:
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    void_id = reversed_.args[0].payment_id
    assert not dialog.isVisible()
    assert _scalar(store, "SELECT entry || ' ' || reverses_payment_id FROM payments "
                   "WHERE id = ?", void_id) == f"void {payment_id}"

    # Sync runs on its own: the gateway voids it, the row settles, the balance returns.
    qtbot.waitUntil(lambda: _status(store, void_id) == "settled", timeout=15000)
    assert _balance(store, customer_id) == before
    assert _outbox(store, "void_payment") == ["applied"]
    qtbot.waitUntil(lambda: view.data is not None and any(
        line.entry.kind == EntryKind.PAYMENT_VOID for line in view.data.ledger),
        timeout=10000)
    assert view.data is not None and view.data.balance_cents == before

    # Voided once: the dialog says so and offers nothing more.
    again = _reversal_dialog(qtbot, window, view, payment_id)
    assert again.mode() == "" and "voided already" in again.what.text()
    assert not again.save_button.isEnabled()
    again.close()


def test_a_refund_above_the_agents_limit_needs_a_supervisor_before_save(
        qtbot: QtBot, paying_window: MainWindow, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = paying_window
    limit = int(_scalar(store, "SELECT refund_limit_cents FROM agents WHERE id = ?",
                        window.who.agent_id))  # type: ignore[call-overload]
    customer_id, view = _open(qtbot, window, store)
    payment_id = _paid_today(qtbot, window, store, customer_id, limit + 5000)
    _tomorrow(monkeypatch)

    dialog = _reversal_dialog(qtbot, window, view, payment_id)
    assert dialog.mode() == "refund"
    assert "no longer be voided" in dialog.what.text()
    assert dialog.refund_cents() == limit + 5000  # what is left to refund
    assert dialog.amount.hasFocus()
    qtbot.keyClicks(dialog.reason, "Customer cancelled the order")
    supervisor = f"Refunds above ${limit // 100:,}.{limit % 100:02d} need a supervisor"
    assert supervisor in dialog.amount_hint.text()
    assert not dialog.save_button.isEnabled()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # Enter does nothing either
    assert dialog.isVisible() and dialog.queued is None
    assert _outbox(store, "refund_payment") == []
    # More than was paid is refused in words too.
    dialog.amount.selectAll()
    qtbot.keyClicks(dialog.amount, f"{(limit + 6000) // 100}")
    assert "can still be refunded" in dialog.amount_hint.text()
    assert not dialog.save_button.isEnabled()
    dialog.close()
    assert _outbox(store, "refund_payment") == []


def test_a_partial_refund_within_the_limit_settles(
        qtbot: QtBot, paying_window: MainWindow, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = paying_window
    customer_id, view = _open(qtbot, window, store)
    payment_id = _paid_today(qtbot, window, store, customer_id, 6000)
    before = _balance(store, customer_id)
    _tomorrow(monkeypatch)

    dialog = _reversal_dialog(qtbot, window, view, payment_id)
    assert dialog.mode() == "refund" and dialog.refund_cents() == 6000
    qtbot.keyClicks(dialog.amount, "25")  # the default amount is selected: typed over
    assert dialog.refund_cents() == 2500
    assert not dialog.save_button.isEnabled()  # the reason is required
    assert "Say why" in dialog.reason_hint.text()
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Tab)
    assert dialog.reason.hasFocus()
    qtbot.keyClicks(dialog.reason, "Outage credit, 3 days")
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.reversed, timeout=10000) as reversed_:
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    refund_id = reversed_.args[0].payment_id
    assert reversed_.args[0].amount_cents == 2500
    qtbot.waitUntil(lambda: _status(store, refund_id) == "settled", timeout=15000)
    assert _balance(store, customer_id) == before + 2500
    assert _outbox(store, "refund_payment") == ["applied"]
    qtbot.waitUntil(lambda: view.data is not None and any(
        line.entry.kind == EntryKind.REFUND for line in view.data.ledger), timeout=10000)

    again = _reversal_dialog(qtbot, window, view, payment_id)
    assert again.mode() == "refund" and again.refund_cents() == 3500
    assert "$35.00" in again.what.text()
    again.close()


# --- payment methods ----------------------------------------------------------------------

def _methods_dialog(qtbot: QtBot, window: MainWindow,
                    view: Customer360View) -> PaymentMethodsDialog:
    qtbot.keyClick(view.ledger, Qt.Key.Key_M, CTRL_SHIFT)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "methods_dialog", None),
                                       PaymentMethodsDialog)
                    and window.methods_dialog.isActiveWindow(), timeout=10000)
    dialog = window.methods_dialog
    assert isinstance(dialog, PaymentMethodsDialog)
    qtbot.waitUntil(dialog.table.hasFocus, timeout=5000)
    return dialog


def _methods(store: Store, customer_id: str) -> list[tuple[str, int, int, int, str]]:
    with store.engine.connect() as conn:
        return [(str(r[0]), int(r[1] or 0), int(r[2] or 0), int(r[3]), str(r[4]))
                for r in conn.exec_driver_sql(
                    "SELECT last4, exp_month, exp_year, is_default, status FROM "
                    "payment_methods WHERE customer_id = ? ORDER BY created_at",
                    (customer_id,))]


def _all_applied(qtbot: QtBot, store: Store, name: str, count: int) -> None:
    qtbot.waitUntil(lambda: _outbox(store, name) == ["applied"] * count, timeout=15000)


def test_a_new_card_is_added_as_the_default(
        qtbot: QtBot, paying_window: MainWindow, store: Store) -> None:
    window = paying_window
    customer_id, view = _open(qtbot, window, store)
    old_default = next(m for m in _methods(store, customer_id) if m[3])
    dialog = _methods_dialog(qtbot, window, view)
    first = dialog.selected()
    assert first is not None and first.is_default and first.last4 == old_default[0]
    count = dialog.model.rowCount()

    qtbot.keyClick(dialog.table, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: isinstance(dialog.sub, AddCardDialog)
                    and dialog.sub.isActiveWindow(), timeout=5000)
    add = dialog.sub
    assert isinstance(add, AddCardDialog)
    assert not add.offline.isVisible() and not add.make_default.isChecked()
    qtbot.keyClicks(add.card.number, MASTERCARD[:-1] + "5")  # a typo first
    assert "check digit" in add.card.number_hint.text()
    assert not add.save_button.isEnabled()
    qtbot.keyClick(add.card.number, Qt.Key.Key_Backspace)
    qtbot.keyClicks(add.card.number, MASTERCARD[-1])
    assert "Mastercard" in add.card.number_hint.text()
    qtbot.keyClick(add.card.number, Qt.Key.Key_Tab)
    qtbot.keyClicks(add.card.expiry, "12/30")
    qtbot.keyClicks(add.card.cvc, "123")
    qtbot.keyClick(add, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(add.make_default.isChecked, timeout=2000)  # a mnemonic animates a click
    assert add.save_button.isEnabled()
    with qtbot.waitSignal(dialog.loaded, timeout=15000):
        qtbot.keyClick(add.card.cvc, Qt.Key.Key_Return)
    assert not add.isVisible()
    assert add.card.number.text() == "" and add.card.cvc.text() == ""

    new = dialog.selected()
    assert new is not None and new.last4 == "4444" and new.is_default
    assert new.brand.lower() == "mastercard" and (new.exp_month, new.exp_year) == (12, 2030)
    assert dialog.model.rowCount() == count + 1
    assert "Mastercard ending 4444 added as the default" in dialog.status.text()
    stored = {m[0]: m for m in _methods(store, customer_id)}
    assert stored["4444"][3] == 1 and stored[old_default[0]][3] == 0
    _all_applied(qtbot, store, "save_payment_method", 1)
    qtbot.waitUntil(lambda: view.data is not None and "4444 exp 12/30 (default)"
                    in view.methods.text(), timeout=10000)
    for path in (store.path, Path(f"{store.path}-wal")):
        if path.exists():
            assert MASTERCARD.encode() not in path.read_bytes()
    with store.engine.connect() as conn:
        args = " ".join(str(r[0]) for r in conn.exec_driver_sql(
            "SELECT args FROM sync_outbox"))
    assert MASTERCARD not in args and '"123"' not in args

    # D puts the old card back as the default.
    qtbot.keyClick(dialog.table, Qt.Key.Key_Down)
    assert dialog.selected() is not None and dialog.selected().last4 == old_default[0]  # type: ignore[union-attr]
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_D)
    stored = {m[0]: m for m in _methods(store, customer_id)}
    assert stored["4444"][3] == 0 and stored[old_default[0]][3] == 1
    _all_applied(qtbot, store, "update_payment_method", 1)


def test_an_expiry_is_updated_and_a_method_removed(
        qtbot: QtBot, paying_window: MainWindow, store: Store) -> None:
    window = paying_window
    customer_id, view = _open(qtbot, window, store)
    dialog = _methods_dialog(qtbot, window, view)
    card = dialog.selected()
    assert card is not None and card.kind == "card"
    count = dialog.model.rowCount()

    qtbot.keyClick(dialog.table, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: isinstance(dialog.sub, ExpiryDialog)
                    and dialog.sub.isActiveWindow(), timeout=5000)
    expiry = dialog.sub
    assert isinstance(expiry, ExpiryDialog)
    qtbot.keyClicks(expiry.expiry, "01/20")
    assert "has passed" in expiry.expiry_hint.text()
    assert not expiry.save_button.isEnabled()
    expiry.expiry.clear()
    qtbot.keyClicks(expiry.expiry, "09/31")
    assert "Good through 30 September 2031" in expiry.expiry_hint.text()
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        qtbot.keyClick(expiry.expiry, Qt.Key.Key_Return)
    updated = dialog.selected()
    assert updated is not None and updated.id == card.id
    assert (updated.exp_month, updated.exp_year) == (9, 2031)
    assert dialog.model.data(dialog.model.index(0, 1)) == "09/31"
    assert (9, 2031) in {(m[1], m[2]) for m in _methods(store, customer_id)
                         if m[0] == card.last4}

    # Delete asks first; Enter confirms.
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: isinstance(dialog.sub, RemoveDialog)
                    and dialog.sub.isActiveWindow(), timeout=5000)
    remove = dialog.sub
    assert isinstance(remove, RemoveDialog)
    assert remove.save_button.hasFocus()
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        qtbot.keyClick(remove.save_button, Qt.Key.Key_Return)
    assert dialog.model.rowCount() == count - 1
    assert all(m.id != card.id for m in dialog._rows())
    assert f"{card.last4} removed" in dialog.status.text()
    status = _scalar(store, "SELECT status FROM payment_methods WHERE id = ?", card.id)
    assert status == "removed"
    _all_applied(qtbot, store, "update_payment_method", 2)
    qtbot.waitUntil(lambda: view.data is not None
                    and all(m.id != card.id for m in view.data.payment_methods),
                    timeout=10000)


def test_without_a_sync_server_no_card_can_be_added(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name = _customer_with_card(store)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    view = window.customers.current_view()
    assert view is not None
    dialog = _methods_dialog(qtbot, window, view)
    qtbot.keyClick(dialog.table, Qt.Key.Key_N)
    assert dialog.sub is None
    assert "not connected to the sync server" in dialog.status.text()
    dialog.close()
