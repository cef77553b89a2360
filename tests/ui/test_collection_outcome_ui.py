"""Recording a collections call's outcome by keyboard from the worklist: Alt+O opens the
dialog for the selected debt, the outcome is picked by typing its name, the fields are
checked as the agent types (the words beside the field), the arrangement shows its
installments and their sum, Enter records; the script panel shows the disclosures."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent_desktop.domain import collections as rules
from agent_desktop.domain.money import Money
from agent_desktop.services.collections import WorkItem
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.collections.outcome import OutcomeDialog
from agent_desktop.ui.screens.collections.view import CollectionsPage

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


def _worklist(qtbot: QtBot, window: MainWindow) -> CollectionsPage:
    page = window.collections
    with qtbot.waitSignal(page.loaded, timeout=20000):
        qtbot.keyClick(window, Qt.Key.Key_4, CTRL)
    return page


def _select(page: CollectionsPage, skip: int = 0) -> WorkItem:
    """A debt with nothing in the way of a promise (no dispute, no promise waiting)."""
    rows = [r for r in range(page.model.rowCount())
            if page.items[r].balance_cents > 5000 and not page.items[r].promise_words
            and not any("disputes" in x for x in page.items[r].reasons)]
    row = rows[skip]
    page.table.setCurrentIndex(page.model.index(row, 0))
    page.table.setFocus()
    return page.items[row]


def _open(qtbot: QtBot, page: CollectionsPage) -> OutcomeDialog:
    qtbot.keyClick(page.table, Qt.Key.Key_O, ALT)
    dialog = page.outcome_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.context is not None, timeout=10000)
    assert dialog.outcome.hasFocus()
    return dialog


def _rows(window: MainWindow, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(window.store.path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_a_promise_to_pay_is_recorded_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    page = _worklist(qtbot, window)
    item = _select(page)
    # The script panel: right party first, then the FDCPA disclosure, then the notice.
    script = page.script.plain_text()
    assert script.index("Right party") < script.index(rules.MINI_MIRANDA)
    assert "validation notice" in script and "Voicemail" in script
    dialog = _open(qtbot, page)
    qtbot.keyClicks(dialog.outcome, "Promise")
    assert dialog.chosen() is rules.Outcome.PROMISE_TO_PAY
    qtbot.keyClick(dialog.outcome, Qt.Key.Key_Tab)
    assert dialog.amount.hasFocus()
    # More than the balance: said beside the amount, nothing can be recorded.
    qtbot.keyClick(dialog.amount, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.amount, str(item.balance_cents // 100 + 10))
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.promised_on, "+5")
    assert "more than the balance" in dialog.amount_hint.text()
    assert not dialog.record_button.isEnabled()
    # A date past the horizon: said beside the date.
    qtbot.keyClick(dialog.promised_on, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(dialog.amount, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.amount, "25")
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Tab)
    qtbot.keyClick(dialog.promised_on, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.promised_on, "+45")
    assert "at most 30 days" in dialog.promised_on_hint.text()
    assert dialog.amount_hint.text() == ""
    qtbot.keyClick(dialog.promised_on, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.promised_on, "+5")
    assert dialog.promised_on_hint.text() == "" and dialog.record_button.isEnabled()
    assert dialog.summary.text().startswith("Promise to pay $25.00 by ")
    with qtbot.waitSignal(dialog.recorded, timeout=10000) as recorded, \
            qtbot.waitSignal(page.loaded, timeout=20000):
        qtbot.keyClick(dialog.promised_on, Qt.Key.Key_Return)
    result = recorded.args[0]
    assert result.outcome is rules.Outcome.PROMISE_TO_PAY
    assert _rows(window, "SELECT amount_cents, status FROM promises_to_pay WHERE "
                 "collection_account_id = ? AND agent_id = ? ORDER BY created_at DESC "
                 "LIMIT 1", item.account_id, window.who.agent_id) == [(2500, "open")]
    assert _rows(window, "SELECT outcome, conversation FROM contact_attempts WHERE id = ?",
                 result.attempt_id) == [("promise_to_pay", 1)]
    # The list now waits for the promise.
    again = next(i for i in page.items if i.account_id == item.account_id)
    assert not again.callable_now and again.reasons[0].startswith("Promised $25.00 by ")


def test_an_arrangement_shows_its_plan_and_is_recorded_with_the_call(
        qtbot: QtBot, window: MainWindow) -> None:
    page = _worklist(qtbot, window)
    item = _select(page, 1)
    dialog = page.record_outcome("ab" * 16)  # as the call bar opens it after a call
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.context is not None, timeout=10000)
    dialog.outcome.setFocus()
    qtbot.keyClicks(dialog.outcome, "Payment")  # (a space would open the list)
    assert dialog.chosen() is rules.Outcome.ARRANGEMENT
    qtbot.keyClick(dialog.outcome, Qt.Key.Key_Tab)
    assert dialog.total.hasFocus()  # the whole balance, already filled in
    qtbot.keyClick(dialog.total, Qt.Key.Key_Tab)
    qtbot.keyClick(dialog.installments, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.installments, "30")
    qtbot.keyClick(dialog.installments, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.first_due, "+7")
    assert "2 to 24" in dialog.installments_hint.text()
    assert dialog.plan.text() == ""
    qtbot.keyClick(dialog.first_due, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(dialog.installments, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.installments, "4")
    assert dialog.installments_hint.text() == ""
    lines = dialog.plan.text().splitlines()
    assert len(lines) == 5 and lines[-1] == f"Total {Money(item.balance_cents).format()}"
    with qtbot.waitSignal(dialog.recorded, timeout=10000) as recorded, \
            qtbot.waitSignal(page.loaded, timeout=20000):
        qtbot.keyClick(dialog.installments, Qt.Key.Key_Return)
    result = recorded.args[0]
    parts = _rows(window, "SELECT i.amount_cents FROM arrangement_installments i JOIN "
                  "payment_arrangements p ON p.id = i.arrangement_id WHERE "
                  "p.collection_account_id = ? AND p.status = 'active' AND p.agent_id = ?",
                  item.account_id, window.who.agent_id)
    assert len(parts) == 4 and sum(int(str(c)) for (c,) in parts) == item.balance_cents
    assert _rows(window, "SELECT outcome, interaction_id FROM contact_attempts WHERE id = ?",
                 result.attempt_id) == [("arrangement", "ab" * 16)]


def test_dial_asks_the_call_bar_and_the_action_opens_the_dialog_by_enter(
        qtbot: QtBot, window: MainWindow) -> None:
    page = _worklist(qtbot, window)
    row = next(r for r in range(page.model.rowCount()) if page.items[r].callable_now)
    item = page.items[row]
    page.table.setCurrentIndex(page.model.index(row, 0))
    page.table.setFocus()
    with qtbot.waitSignal(page.dial_requested, timeout=2000) as dialed:
        qtbot.keyClick(page.table, Qt.Key.Key_D, CTRL)
    assert dialed.args == [item.number, item.customer_id, item.account_id]
    # A debt that may not be called now is not dialed: the agent reads why.
    blocked = next(r for r in range(page.model.rowCount())
                   if not page.items[r].callable_now)
    page.table.setCurrentIndex(page.model.index(blocked, 0))
    with qtbot.waitSignal(page.notice, timeout=2000) as said, \
            qtbot.assertNotEmitted(page.dial_requested):
        qtbot.keyClick(page.table, Qt.Key.Key_D, CTRL)
    assert said.args[0].startswith("Not now")
    page.outcome_button.setFocus()
    qtbot.keyClick(page.outcome_button, Qt.Key.Key_Return)
    dialog = page.outcome_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.item.account_id == page.items[blocked].account_id
    assert dialog.who.agent_id == window.who.agent_id  # the window's agent records it
    qtbot.waitUntil(lambda: dialog.context is not None, timeout=10000)
    dialog.reject()


def test_a_debt_closed_since_the_list_was_read_is_not_dialed(qtbot: QtBot,
                                                             window: MainWindow) -> None:
    from datetime import UTC, datetime

    page = window.collections
    page.clock = lambda: datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # calling hours
    _worklist(qtbot, window)
    row = next(r for r, i in enumerate(page.items) if i.callable_now and i.number)
    item = page.items[row]
    page.table.setCurrentIndex(page.model.index(row, 0))
    page.table.setFocus()
    # Another desk settled it a moment ago (the pull wrote it here); the list is older.
    conn = sqlite3.connect(window.store.path)
    try:
        conn.execute("UPDATE collection_accounts SET status = 'paid' WHERE id = ?",
                     (item.account_id,))
        conn.commit()
    finally:
        conn.close()
    dialed: list[tuple[str, str, str]] = []
    page.dial_requested.connect(lambda *args: dialed.append(args))
    with qtbot.waitSignal(page.notice, timeout=10000) as said, \
            qtbot.waitSignal(page.loaded, timeout=20000):
        qtbot.keyClick(page.table, Qt.Key.Key_D, CTRL)
    assert said.args[0] == ("This debt is paid now: nothing left to collect; the list is "
                            "refreshed.")
    assert dialed == []
    assert all(i.account_id != item.account_id for i in page.items)
