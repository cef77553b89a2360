"""An agent disputes a line of a bill from the 360 and resolves the dispute with a
credit, by keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent_desktop.domain.billing import EntryKind
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.payments.disputes import CreditDialog, DisputeDialog

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def test_dispute_a_line_then_credit_it(qtbot: QtBot, window: MainWindow, store: Store) -> None:
    with store.engine.connect() as conn:
        cid, name = conn.exec_driver_sql(
            "SELECT c.id, c.display_name FROM customers c WHERE c.kind = 'consumer' AND "
            "EXISTS (SELECT 1 FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id "
            "WHERE i.customer_id = c.id AND l.amount_cents > 500) "
            "ORDER BY c.account_number LIMIT 1").one()
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(str(cid), str(name))
    view = window.customers.current_view()
    assert view is not None
    # Not on a bill yet: told what to do, where the agent looks.
    with qtbot.waitSignal(window.statusBar().messageChanged, timeout=5000) as said:
        qtbot.keyClick(view, Qt.Key.Key_I, CTRL | SHIFT)
    assert said.args is not None and "Choose the bill" in said.args[0]
    qtbot.keyClick(view, Qt.Key.Key_B, ALT)
    with store.engine.connect() as conn:
        billed = {str(r[0]) for r in conn.exec_driver_sql(
            "SELECT DISTINCT l.invoice_id FROM invoice_lines l JOIN invoices i "
            "ON i.id = l.invoice_id WHERE i.customer_id = ? AND l.amount_cents > 500",
            (str(cid),))}
    rows = [i for i in range(view.ledger_model.rowCount())
            if view.ledger_model.row(i).entry.kind == EntryKind.INVOICE
            and view.ledger_model.row(i).entry.entry_id in billed]
    view.ledger.setFocus()
    view.ledger.selectRow(rows[-1])
    qtbot.keyClick(view.ledger, Qt.Key.Key_I, CTRL | SHIFT)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "dispute_dialog", None), DisputeDialog)
                    and window.dispute_dialog.isActiveWindow(), timeout=10000)
    dialog = window.dispute_dialog
    assert isinstance(dialog, DisputeDialog)
    qtbot.waitUntil(lambda: dialog.chosen() is not None, timeout=10000)
    assert not dialog.save_button.isEnabled()  # what the customer says is still missing
    dialog.amount.selectAll()
    qtbot.keyClicks(dialog.amount, "5.00")
    qtbot.keyClicks(dialog.said, "I was charged for a month I had cancelled.")
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(dialog.said, Qt.Key.Key_Return, CTRL)
    detail = window.cases.current_detail()
    assert detail is not None and detail.sheet is not None
    assert detail.sheet.detail.case.type == "dispute"
    assert detail.credit_button.isVisible()

    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(detail.timeline, Qt.Key.Key_D, ALT)
    qtbot.waitUntil(lambda: isinstance(window.cases.dialog, CreditDialog)
                    and window.cases.dialog.isActiveWindow(), timeout=10000)
    credit = window.cases.dialog
    assert isinstance(credit, CreditDialog)
    qtbot.keyClicks(credit.amount, "5.001")
    assert not credit.save_button.isEnabled() and "two digits" in credit.hint.text()
    qtbot.keyClick(credit.amount, Qt.Key.Key_Backspace)
    with qtbot.waitSignal(window.cases.notice, timeout=10000) as notice:
        qtbot.keyClick(credit.amount, Qt.Key.Key_Return)
    assert notice.args is not None and "Credit of $5.00 posted" in notice.args[0]
    qtbot.waitUntil(lambda: detail.sheet is not None
                    and detail.sheet.detail.case.status == "resolved", timeout=10000)
    assert not detail.credit_button.isVisible()
