"""An agent finds the caller with Ctrl+K and works their 360, by keyboard."""

from __future__ import annotations

import sqlite3
import threading

from PySide6.QtCore import QObject, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.customer360.view import Customer360View
from agent_desktop.ui.tasks import LatestOnly


def _customer_with_phone(store: Store) -> tuple[str, str, str]:
    with store.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT c.id, c.display_name, p.value FROM customers c JOIN contact_points p"
            " ON p.customer_id = c.id AND p.kind = 'phone'"
            " WHERE (SELECT count(*) FROM contact_points q WHERE q.value = p.value) = 1"
            " ORDER BY c.account_number LIMIT 1 OFFSET 17")).one()
    return str(row[0]), str(row[1]), str(row[2])


def _search(qtbot: QtBot, window: MainWindow, typed: str) -> None:
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.search_box.hasFocus()
    with qtbot.waitSignal(window.finder.searched, timeout=10000):
        qtbot.keyClicks(window.search_box, typed)


def _open_with_enter(qtbot: QtBot, window: MainWindow) -> Customer360View:
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    return view


def _open(qtbot: QtBot, window: MainWindow, customer_id: str, name: str) -> Customer360View:
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    return view


def test_ctrl_k_a_phone_number_typed_another_way_and_enter_opens_the_callers_360(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, e164 = _customer_with_phone(store)
    digits = e164[2:]
    typed = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"  # +14155550132 -> (415) 555-0132

    _search(qtbot, window, typed)
    first = window.results.model.row(0)
    assert first.customer_id == customer_id
    assert first.matched_on == "Phone"

    view = _open_with_enter(qtbot, window)
    assert view.data is not None
    assert view.data.customer_id == customer_id
    assert view.name.text() == name
    assert window.customers.tabs.tabText(window.customers.tabs.currentIndex()) == name
    assert not window.results.isVisible()
    assert view.ledger_model.rowCount() > 0
    assert view.chart_widget is not None


def test_a_name_with_two_typos_still_finds_the_customer(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    with store.engine.connect() as conn:
        cid, first, last = conn.execute(text(
            "SELECT id, first_norm, last_norm FROM customers WHERE kind = 'consumer'"
            " AND length(first_norm) >= 5 AND length(last_norm) >= 5"
            " ORDER BY account_number LIMIT 1")).one()
    # Swap two letters in each name, the way fast typists do ("Jonh Smiht").
    typo = f"{first[:2]}{first[3]}{first[2]}{first[4:]} {last[:3]}{last[4]}{last[3]}{last[5:]}"
    _search(qtbot, window, typo.title())
    ids = [window.results.model.row(i).customer_id
           for i in range(window.results.model.rowCount())]
    assert cid in ids[:5], f"{typo!r} did not find {first} {last}"


def test_a_search_that_finds_nobody_says_so(qtbot: QtBot, window: MainWindow) -> None:
    _search(qtbot, window, "Zzyzx Qwrtpl")
    assert window.results.model.rowCount() == 0
    assert "No customer matches" in window.results.hint.text()
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert not window.results.isVisible()


def test_arrow_keys_choose_which_result_opens(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    with store.engine.connect() as conn:
        last = conn.execute(text(
            "SELECT last_norm FROM customers GROUP BY last_norm HAVING count(*) >= 3"
            " ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    _search(qtbot, window, last)
    assert window.results.model.rowCount() >= 3
    qtbot.keyClick(window.search_box, Qt.Key.Key_Down)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Down)
    chosen = window.results.selected()
    assert chosen is not None and chosen == window.results.model.row(2)
    view = _open_with_enter(qtbot, window)
    assert view.data is not None and view.data.customer_id == chosen.customer_id


def test_several_customers_stay_open_in_tabs(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, display_name FROM customers ORDER BY account_number LIMIT 2")).all()
    for cid, name in rows:
        with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
            window.customers.open_customer(str(cid), str(name))
    tabs = window.customers.tabs
    assert tabs.count() == 3  # Recent + two customers
    assert tabs.currentIndex() == 2
    qtbot.keyClick(window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert tabs.currentIndex() == 0
    tabs.setCurrentIndex(1)
    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert tabs.count() == 2
    assert tabs.tabText(1) == str(rows[1][1])
    # The recent list remembers both, newest first.
    recent = [window.customers.recent_model.row(i).customer_id
              for i in range(window.customers.recent_model.rowCount())]
    assert recent[:2] == [str(rows[1][0]), str(rows[0][0])]


def test_a_note_typed_and_saved_with_ctrl_enter_appears_and_is_audited(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, _ = _customer_with_phone(store)
    view = _open(qtbot, window, customer_id, name)
    before = view.notes_model.rowCount()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert view.note_edit.hasFocus()
    qtbot.keyClicks(view.note_edit, "Customer asked why the bill went up; explained promo end.")
    qtbot.keyClick(view.note_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: view.notes_model.rowCount() == before + 1, timeout=10000)
    assert view.notes_model.row(0).body.startswith("Customer asked why the bill went up")
    assert view.notes_model.row(0).author_name == "Dana Reyes"
    assert view.note_edit.toPlainText() == ""

    conn = sqlite3.connect(store.path)
    audit = conn.execute(
        "SELECT action, entity_type, customer_id, actor_role FROM audit_log").fetchall()
    outbox = conn.execute("SELECT name, status FROM sync_outbox").fetchall()
    conn.close()
    assert audit == [("note.add", "note", customer_id, "agent")]
    assert outbox == [("add_note", "pending")]


def test_an_empty_note_is_not_saved_and_the_agent_is_told(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, _ = _customer_with_phone(store)
    view = _open(qtbot, window, customer_id, name)
    qtbot.keyClicks(view.note_edit, "   ")
    qtbot.mouseClick(view.save_note, Qt.MouseButton.LeftButton)
    assert view.note_status.text() == "Type the note first."


def test_a_stale_answer_never_overwrites_a_newer_one(qtbot: QtBot) -> None:
    parent = QObject()
    release_first = threading.Event()

    def call(_worker: object, text_: str) -> str:
        if text_ == "slow":
            release_first.wait(10)
        return text_

    runner = LatestOnly(parent, lambda: object(), call)
    answers: list[str] = []
    runner.answered.connect(lambda _n, value: answers.append(value))
    runner.request("slow")
    with qtbot.waitSignal(runner.answered, timeout=10000):
        runner.request("fast")
        release_first.set()
    runner.close()
    assert answers == ["fast"]


def test_enter_pressed_before_the_results_arrive_still_opens_the_caller(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, _name, e164 = _customer_with_phone(store)
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window.search_box, e164[2:])  # a fast typist: digits, then Enter
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    assert view.data.customer_id == customer_id


def test_alt_letters_switch_the_360_sections(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, _ = _customer_with_phone(store)
    view = _open(qtbot, window, customer_id, name)
    for key, index in ((Qt.Key.Key_C, 1), (Qt.Key.Key_S, 2), (Qt.Key.Key_O, 3),
                       (Qt.Key.Key_B, 0)):
        qtbot.keyClick(view.ledger, key, Qt.KeyboardModifier.AltModifier)
        assert view.tabs.currentIndex() == index
    assert view.timeline_model.rowCount() == len(view.data.interactions)
    assert view.timeline.horizontalHeader().sectionSize(0) > 0
