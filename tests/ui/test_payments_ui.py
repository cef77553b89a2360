"""An agent takes payments by keyboard against a real sync server and its gateway stub:
card on file in two keys, a new card with a typo fixed, a declined card said in words,
and afterwards not a trace of the card number or CVC in the store, its WAL, the outbox
or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.payments.take import NEW_CARD, PaymentDialog

CTRL = Qt.KeyboardModifier.ControlModifier
CARD = "4242424242424242"
DECLINED = "4000000000000002"
CVC = "987"


def _customer_with_card(store: Store) -> tuple[str, str]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT c.id, c.display_name FROM customers c JOIN payment_methods m "
            "ON m.customer_id = c.id AND m.kind = 'card' AND m.status = 'active' "
            "AND m.is_default = 1 AND m.exp_year >= 2028 "
            "WHERE c.kind = 'consumer' AND (SELECT coalesce(sum(total_cents), 0) FROM "
            "invoices i WHERE i.customer_id = c.id) > (SELECT coalesce(sum(amount_cents), 0) "
            "FROM payments p WHERE p.customer_id = c.id AND p.status IN "
            "('settled','authorized')) + 1000 ORDER BY c.account_number LIMIT 1").one()
    return str(row[0]), str(row[1])


def _open(qtbot: QtBot, window: MainWindow, store: Store) -> str:
    customer_id, name = _customer_with_card(store)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    return customer_id


def _dialog(qtbot: QtBot, window: MainWindow) -> PaymentDialog:
    qtbot.waitUntil(lambda: isinstance(getattr(window, "payment_dialog", None), PaymentDialog)
                    and window.payment_dialog.isActiveWindow(), timeout=10000)
    dialog = window.payment_dialog
    assert isinstance(dialog, PaymentDialog)
    return dialog


def _balance(store: Store, customer_id: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT (SELECT coalesce(sum(total_cents),0) FROM invoices WHERE customer_id=:c)"
            " - (SELECT coalesce(sum(CASE entry WHEN 'payment' THEN amount_cents ELSE "
            "-amount_cents END),0) FROM payments WHERE customer_id=:c AND status IN "
            "('settled','authorized'))", {"c": customer_id}).scalar() or 0)


def test_card_on_file_for_the_balance_in_two_keys(
        qtbot: QtBot, paying_window: MainWindow, store: Store) -> None:
    window = paying_window
    customer_id = _open(qtbot, window, store)
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    due = view.data.balance_cents
    assert due > 1000  # chosen so: a card on file and more than $10 due
    keys = 0
    qtbot.keyClick(view, Qt.Key.Key_P, CTRL)  # 1
    keys += 1
    dialog = _dialog(qtbot, window)
    qtbot.waitUntil(dialog.amount.hasFocus, timeout=5000)
    assert dialog.amount_cents() == due
    assert "default" in dialog.method.currentText()
    with qtbot.waitSignal(dialog.answered, timeout=15000) as answered:
        qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)  # 2
        keys += 1
    assert keys <= 5
    result = answered.args[0]
    assert result.status == "settled"
    assert dialog.result_title.text().startswith("Paid:")
    assert result.confirmation_number in dialog.result_body.text()
    assert _balance(store, customer_id) == _balance(store, customer_id)  # derived, no cache
    with store.engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM payments WHERE id = ?",
                                      (result.payment_id,)).scalar()
    assert status == "settled"
    dialog.close()


def test_a_new_card_with_a_typo_fixed_then_a_decline_and_no_trace_of_either(
        qtbot: QtBot, paying_window: MainWindow, store: Store,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    window = paying_window
    _open(qtbot, window, store)
    window.take_payment()
    dialog = _dialog(qtbot, window)
    dialog.amount.selectAll()
    qtbot.keyClicks(dialog.amount, "12.34")
    dialog.method.setCurrentIndex(dialog.method.findData(NEW_CARD))
    assert dialog.card_box.isVisible()
    # A typo: the last digit wrong. The hint says so at once; Pay stays off.
    qtbot.keyClicks(dialog.number, CARD[:-1] + "3")
    assert "check digit" in dialog.number_hint.text()
    assert not dialog.pay_button.isEnabled()
    qtbot.keyClick(dialog.number, Qt.Key.Key_Backspace)
    qtbot.keyClicks(dialog.number, CARD[-1])
    assert "Visa" in dialog.number_hint.text()
    qtbot.keyClicks(dialog.expiry, "12/30")
    qtbot.keyClicks(dialog.cvc, CVC)
    assert dialog.problem() == "" and dialog.pay_button.isEnabled()
    # Neither field can be copied to the clipboard, and the number is dotted once the
    # caret leaves it (what a screenshot of the dialog would show).
    QApplication.clipboard().setText("nothing yet")
    for field in (dialog.number, dialog.cvc):
        field.selectAll()
        qtbot.keyClick(field, Qt.Key.Key_C, CTRL)
        field.copy()
    assert QApplication.clipboard().text() == "nothing yet"
    dialog.number.setFocus()
    dialog.cvc.setFocus()
    qtbot.waitUntil(lambda: CARD[:4] not in dialog.number.displayText(), timeout=5000)
    with qtbot.waitSignal(dialog.answered, timeout=15000) as answered:
        qtbot.keyClick(dialog.cvc, Qt.Key.Key_Return)
    assert answered.args[0].status == "settled"
    assert dialog.number.text() == "" and dialog.cvc.text() == ""
    dialog.close()

    # A card the bank declines: said in words to read out, with a next step.
    window.take_payment()
    dialog = _dialog(qtbot, window)
    dialog.amount.selectAll()
    qtbot.keyClicks(dialog.amount, "20")
    dialog.method.setCurrentIndex(dialog.method.findData(NEW_CARD))
    qtbot.keyClicks(dialog.number, DECLINED)
    qtbot.keyClicks(dialog.expiry, "11/31")
    qtbot.keyClicks(dialog.cvc, CVC)
    with qtbot.waitSignal(dialog.answered, timeout=15000) as answered:
        qtbot.keyClick(dialog.cvc, Qt.Key.Key_Return)
    assert answered.args[0].status == "declined"
    assert dialog.result_title.text().startswith("Not paid:")
    assert dialog.result_say.text().startswith("Say:")
    assert "stolen" not in dialog.result_say.text().lower()
    assert dialog.again_button.isVisible()
    first_id = dialog.payment_id
    qtbot.keyClick(dialog.again_button, Qt.Key.Key_Space)
    assert dialog.pages.currentIndex() == 0 and dialog.payment_id != first_id
    dialog.close()
    window.close()
    QApplication.processEvents()

    # Nothing of either card number or the CVC anywhere on disk or in the logs.
    for path in (store.path, Path(f"{store.path}-wal")):
        if path.exists():
            raw = path.read_bytes()
            for secret in (CARD, DECLINED, CARD[:4] + " " + CARD[4:8]):
                assert secret.encode() not in raw, (path, secret)
    with store.engine.connect() as conn:
        outbox = " ".join(str(r[0]) for r in conn.exec_driver_sql(
            "SELECT args FROM sync_outbox"))
        audit = " ".join(str(r[0]) + str(r[1]) for r in conn.exec_driver_sql(
            "SELECT before, after FROM audit_log"))
    for text_ in (outbox, audit, caplog.text):
        assert CARD not in text_ and DECLINED not in text_
        assert f'"{CVC}"' not in text_ and f"cvc={CVC}" not in text_
