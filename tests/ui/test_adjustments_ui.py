"""Adjusting a bill by keyboard (Ctrl+J on the 360) and the maker-checker behind it: above
the agent's limit the adjustment waits for a supervisor, who approves it from the queue
(Ctrl+Shift+A); nobody approves their own."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.services.payments import request_adjustment
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.payments.adjustments import AdjustmentDialog, ApprovalsDialog

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _who(store: Store, username: str) -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _customer(store: Store, offset: int = 3) -> tuple[str, str]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT c.id, c.display_name FROM customers c WHERE c.kind = 'consumer' AND "
            "EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = c.id) "
            "ORDER BY c.account_number LIMIT 1 OFFSET ?", (offset,)).one()
    return str(row[0]), str(row[1])


def _limit(store: Store, username: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT adjustment_limit_cents FROM agents WHERE username = ?",
            (username,)).scalar_one())


def _adjustment(store: Store, adjustment_id: str) -> tuple[str, int, str, str | None]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT status, amount_cents, reason_code, invoice_id FROM adjustments "
            "WHERE id = ?", (adjustment_id,)).one()
    return str(row[0]), int(row[1]), str(row[2]), row[3]


def _outbox(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sync_outbox ORDER BY mutation_id")]


def _dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _open_adjustment(qtbot: QtBot, window: MainWindow, customer_id: str,
                     name: str) -> AdjustmentDialog:
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    qtbot.keyClick(window, Qt.Key.Key_J, CTRL)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "adjustment_dialog", None),
                                       AdjustmentDialog)
                    and window.adjustment_dialog.isActiveWindow(), timeout=10000)
    dialog: AdjustmentDialog = window.adjustment_dialog
    qtbot.waitUntil(lambda: dialog.limits is not None, timeout=10000)
    return dialog


def _approvals(qtbot: QtBot, window: MainWindow, who: AgentContext) -> ApprovalsDialog:
    dialog = ApprovalsDialog(window.store, who, window)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.rows_loaded, timeout=10000)
    return dialog


def _choose(qtbot: QtBot, dialog: ApprovalsDialog, adjustment_id: str) -> None:
    """↑/↓ until the adjustment is the selected row."""
    ids = [r.id for r in dialog.rows()]
    assert adjustment_id in ids
    qtbot.keyClick(dialog.table, Qt.Key.Key_Home)
    for _ in range(ids.index(adjustment_id)):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Down)
    selected = dialog.selected()
    assert selected is not None and selected.id == adjustment_id


def test_above_the_limit_by_keyboard_it_waits_and_a_supervisor_approves_it(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name = _customer(store)
    balance = load_360(store, customer_id).balance_cents
    dialog = _open_adjustment(qtbot, window, customer_id, name)
    assert name in dialog.windowTitle()
    assert QApplication.focusWidget() is dialog.amount
    assert not dialog.save_button.isEnabled()
    assert "Type the amount, e.g. 45.50" in dialog.amount_hint.text()

    qtbot.keyClicks(dialog.amount, "12.345")  # a third decimal: said at once
    assert "at most two digits after the point" in dialog.amount_hint.text()
    assert not dialog.save_button.isEnabled()
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    assert dialog.isVisible() and not _outbox(store)

    amount = _limit(store, "agent") + 1  # one cent over the agent's limit
    dialog.amount.selectAll()
    qtbot.keyClicks(dialog.amount, _dollars(amount))
    assert "Choose a reason code" in dialog.plan_hint.text()
    assert not dialog.save_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_R, ALT)  # the reason code
    assert QApplication.focusWidget() is dialog.reason
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)
    assert dialog.reason_code()
    assert "supervisor's approval" in dialog.plan_hint.text()
    assert dialog.save_button.isEnabled()

    with qtbot.waitSignal(dialog.adjusted, timeout=10000) as saved:
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    queued = saved.args[0]
    assert queued.status == "pending_approval"
    assert not dialog.isVisible()
    assert "waits for a supervisor's approval" in window.statusBar().currentMessage()
    status, cents, code, _invoice = _adjustment(store, queued.adjustment_id)
    assert (status, cents, code) == ("pending_approval", amount, dialog.reason_code())
    assert "request_adjustment" in _outbox(store)
    assert load_360(store, customer_id).balance_cents == balance  # nothing moved yet

    supervisor = _who(store, "supervisor")
    approvals = _approvals(qtbot, window, supervisor)
    _choose(qtbot, approvals, queued.adjustment_id)
    with qtbot.waitSignal(approvals.decided, timeout=10000) as decided:
        qtbot.keyClick(approvals.table, Qt.Key.Key_Return)
    assert customer_id in decided.args[0].customers
    assert _adjustment(store, queued.adjustment_id)[0] == "posted"
    assert queued.adjustment_id not in [r.id for r in approvals.rows()]
    assert "Approved" in approvals.status.text()
    assert "decide_adjustment" in _outbox(store)
    assert load_360(store, customer_id).balance_cents == balance - amount
    approvals.close()


def test_within_the_limit_a_debit_on_an_invoice_posts_at_once(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name = _customer(store, offset=4)
    balance = load_360(store, customer_id).balance_cents
    dialog = _open_adjustment(qtbot, window, customer_id, name)
    qtbot.keyClick(dialog, Qt.Key.Key_D, ALT)  # debit (a mnemonic clicks after a moment)
    qtbot.waitUntil(lambda: dialog.direction() == "debit", timeout=2000)
    qtbot.keyClick(dialog, Qt.Key.Key_A, ALT)
    qtbot.keyClicks(dialog.amount, "12")
    assert "Once posted the balance becomes" in dialog.amount_hint.text()
    qtbot.keyClick(dialog, Qt.Key.Key_R, ALT)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Down)
    qtbot.keyClick(dialog, Qt.Key.Key_I, ALT)
    qtbot.keyClick(dialog.invoice, Qt.Key.Key_Down)
    invoice_id = dialog.invoice_id()
    assert invoice_id is not None
    assert "Posts at once" in dialog.plan_hint.text()
    qtbot.keyClick(dialog, Qt.Key.Key_E, ALT)
    qtbot.keyClicks(dialog.memo, "Modem not returned")
    with qtbot.waitSignal(dialog.adjusted, timeout=10000) as saved:
        qtbot.keyClick(dialog.memo, Qt.Key.Key_Return)
    queued = saved.args[0]
    assert queued.status == "posted"
    assert window.statusBar().currentMessage() == "Debit of $12.00 posted"
    assert _adjustment(store, queued.adjustment_id) == ("posted", 1200, dialog.reason_code(),
                                                        invoice_id)
    assert load_360(store, customer_id).balance_cents == balance + 1200


def test_nobody_approves_their_own_adjustment_and_a_rejection_needs_a_reason(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    supervisor = _who(store, "supervisor")
    customer_id, _name = _customer(store, offset=5)
    own = request_adjustment(store, supervisor, customer_id, "credit",
                             _limit(store, "supervisor") + 1, "GOODWILL-CREDIT")
    assert own.status == "pending_approval"

    approvals = _approvals(qtbot, window, supervisor)
    _choose(qtbot, approvals, own.adjustment_id)
    assert "(you)" in approvals.model.data(approvals.table.currentIndex().siblingAtColumn(4))
    qtbot.keyClick(approvals.table, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: approvals.message.isVisible(), timeout=10000)
    assert "Nobody approves their own adjustment" in approvals.message.text()
    assert own.adjustment_id in [r.id for r in approvals.rows()]
    assert _adjustment(store, own.adjustment_id)[0] == "pending_approval"

    qtbot.keyClick(approvals.table, Qt.Key.Key_R)  # reject: a reason first
    assert QApplication.focusWidget() is approvals.reason
    qtbot.keyClick(approvals.reason, Qt.Key.Key_Return)
    assert "Say why it is rejected" in approvals.message.text()
    qtbot.keyClick(approvals.reason, Qt.Key.Key_Escape)  # back to the list, still open
    assert approvals.isVisible() and not approvals.reject_row.isVisible()
    approvals.close()


def test_a_rejection_with_a_reason_leaves_the_list_and_an_empty_queue_says_so(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    agent = _who(store, "agent")
    customer_id, _name = _customer(store, offset=6)
    asked = request_adjustment(store, agent, customer_id, "credit",
                               _limit(store, "agent") + 1, "GOODWILL-CREDIT")
    with store.engine.begin() as conn:  # only this one waits
        conn.exec_driver_sql("UPDATE adjustments SET status = 'rejected' WHERE "
                             "status = 'pending_approval' AND id != ?", (asked.adjustment_id,))
    approvals = _approvals(qtbot, window, _who(store, "supervisor"))
    assert [r.id for r in approvals.rows()] == [asked.adjustment_id]
    qtbot.keyClick(approvals.table, Qt.Key.Key_R)
    qtbot.keyClicks(approvals.reason, "Not covered by the outage policy")
    with qtbot.waitSignal(approvals.decided, timeout=10000):
        qtbot.keyClick(approvals.reason, Qt.Key.Key_Return)
    assert _adjustment(store, asked.adjustment_id)[0] == "rejected"
    assert not approvals.rows() and approvals.empty.isVisible()
    assert approvals.empty.text() == "Nothing waits for approval."
    assert "Rejected" in approvals.status.text()
    approvals.close()


def test_ctrl_shift_a_is_for_supervisors(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_A, CTRL | SHIFT)
    assert "Approvals are for supervisors" in window.statusBar().currentMessage()
    assert getattr(window, "approvals_dialog", None) is None
