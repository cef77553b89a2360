"""An agent works cases by keyboard: opens one from the 360, finds cases in the saved
views, moves them through their life cycle, answers with a macro, merges a duplicate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from agent_desktop.domain.cases import ALLOWED, SlaState, Status
from agent_desktop.services import cases
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import AREAS, MainWindow
from agent_desktop.ui.screens.cases.detail import CaseDetailView
from agent_desktop.ui.screens.cases.dialogs import (
    AssignDialog,
    DraftArticleDialog,
    EscalateDialog,
    LinkArticleDialog,
    MergeDialog,
    NewCaseDialog,
    StatusDialog,
)
from agent_desktop.ui.screens.customer360.view import Customer360View

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
# A popup menu on the offscreen platform: it cannot raise or grab the keyboard (not ours).
menu_on_offscreen = pytest.mark.qt_log_ignore("This plugin does not support raise",
                                              "This plugin does not support grabbing")


def _who(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _customer(store: Store, offset: int = 5) -> tuple[str, str]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT c.id, c.display_name FROM customers c WHERE c.kind = 'consumer' AND "
            "EXISTS (SELECT 1 FROM services s WHERE s.customer_id = c.id AND s.status = "
            "'active') ORDER BY c.account_number LIMIT 1 OFFSET ?", (offset,)).one()
    return str(row[0]), str(row[1])


def _open_360(qtbot: QtBot, window: MainWindow, customer_id: str,
              name: str) -> Customer360View:
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    return view


def _open_case(qtbot: QtBot, window: MainWindow, case_id: str) -> CaseDetailView:
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000,
                          check_params_cb=lambda shown: shown == case_id):
        window.open_case(case_id)
    detail = window.cases.current_detail()
    assert detail is not None and detail.sheet is not None
    return detail


def _dialog(qtbot: QtBot, window: MainWindow, kind: type) -> object:
    qtbot.waitUntil(lambda: isinstance(window.cases.dialog, kind)
                    and window.cases.dialog.isActiveWindow(), timeout=10000)
    return window.cases.dialog


def _in_menu(qtbot: QtBot, key: Qt.Key) -> Callable[[], None]:
    """Press ``key`` in the popup menu that is about to open (QMenu.exec blocks)."""
    def press() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, press)
            return
        qtbot.keyClick(menu, key)
    return press


def _outbox(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sync_outbox ORDER BY mutation_id")]


def test_ctrl_shift_n_on_the_360_a_subject_and_enter_open_a_case_for_the_caller(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name = _customer(store)
    view = _open_360(qtbot, window, customer_id, name)
    cases_before = len(view.data.cases) if view.data else 0

    qtbot.keyClick(window, Qt.Key.Key_N, CTRL | Qt.KeyboardModifier.ShiftModifier)
    dialog = _dialog(qtbot, window, NewCaseDialog)
    assert isinstance(dialog, NewCaseDialog)
    assert name in dialog.windowTitle()
    assert QApplication.focusWidget() is dialog.subject
    assert not dialog.save_button.isEnabled()
    assert "Give the case a subject" in dialog.subject_hint.text()
    qtbot.keyClick(dialog.subject, Qt.Key.Key_Return)  # nothing to save yet
    assert dialog.isVisible()

    qtbot.keyClicks(dialog.subject, "No internet since the storm")
    assert dialog.save_button.isEnabled()
    assert "Enter saves" in dialog.subject_hint.text()
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(dialog.subject, Qt.Key.Key_Return)

    assert window.cases.dialog is None and QApplication.activeModalWidget() is None
    assert window.pages.currentWidget() is window.cases
    detail = window.cases.current_detail()
    assert detail is not None and detail.sheet is not None
    case = detail.sheet.detail.case
    assert case.subject == "No internet since the storm"
    assert case.customer_id == customer_id and case.status == "new"
    assert name in detail.customer_button.text()
    assert _outbox(store) == ["create_case"]
    # The caller's 360 shows the new case too.
    qtbot.waitUntil(lambda: view.data is not None and len(view.data.cases) == cases_before + 1,
                    timeout=10000)


def test_ctrl_shift_n_without_a_customer_says_what_to_do(
        qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_N, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.cases.dialog is None
    assert "Open the customer first" in window.statusBar().currentMessage()


def test_saved_views_count_filter_as_you_type_and_enter_opens_the_case(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    mine = cases.create_case(store, who, customer_id, "inquiry", "high",
                             "Zebra pattern on the bill", category="billing")
    cases.assign(store, who, mine.case_id, who.agent_id)
    other = cases.create_case(store, who, customer_id, "inquiry", "low",
                              "Question about paperless billing", category="billing")
    pane = window.cases.list

    with qtbot.waitSignal(pane.shown, timeout=10000):
        qtbot.keyClick(window, Qt.Key.Key_2, CTRL)
    assert AREAS[window.nav.currentRow()] == "Cases"
    assert QApplication.focusWidget() is pane.filter
    qtbot.waitUntil(lambda: bool(pane.counts), timeout=10000)
    assert pane.view == "mine"
    assert mine.case_id in pane.model.ids() and other.case_id not in pane.model.ids()
    assert pane.counts["mine"] == len(pane.model.ids())
    assert "My cases" in pane.tabs.tabText(0) and str(pane.counts["mine"]) in pane.tabs.tabText(0)

    with qtbot.waitSignal(pane.shown, timeout=10000):
        qtbot.keyClick(pane.filter, Qt.Key.Key_5, ALT)  # Unassigned
    assert pane.view == "unassigned"
    assert other.case_id in pane.model.ids() and mine.case_id not in pane.model.ids()

    with qtbot.waitSignal(pane.shown, timeout=10000):
        qtbot.keyClick(pane.filter, Qt.Key.Key_6, ALT)  # All open
    everything = len(pane.model.ids())
    assert everything == pane.counts["all_open"] >= 2

    def typed(text: str) -> None:
        with qtbot.waitSignal(pane.shown, timeout=10000,
                              check_params_cb=lambda r: r.text == text):
            qtbot.keyClicks(pane.filter, text[len(pane.filter.text()):])

    typed("zebra")
    assert pane.model.ids() == [mine.case_id]
    assert "1 of all open match" in pane.summary.text()
    with qtbot.waitSignal(pane.shown, timeout=10000):
        pane.filter.clear()
    typed(mine.case_number.lower())  # the number, typed in lower case
    assert pane.model.ids() == [mine.case_id]
    with qtbot.waitSignal(pane.shown, timeout=10000):
        pane.filter.clear()
    typed("no such case anywhere")
    assert pane.model.ids() == []
    assert pane.stack.currentWidget() is pane.empty
    assert "No case matches" in pane.empty.title.text()

    with qtbot.waitSignal(pane.shown, timeout=10000):
        pane.filter.clear()
    typed("zebra")
    qtbot.keyClick(pane.filter, Qt.Key.Key_Down)
    assert pane.table.hasFocus()
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(pane.table, Qt.Key.Key_Return)
    detail = window.cases.current_detail()
    assert detail is not None and detail.case_id == mine.case_id
    assert "Zebra pattern" in detail.subject.text()
    assert window.cases.tabs.tabText(window.cases.tabs.currentIndex()) == mine.case_number

    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)  # back to the list
    assert window.cases.current_detail() is None


def test_the_sla_is_said_in_words_and_coloured(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "approval_request", "urgent",
                             "Credit over the limit")
    with store.engine.begin() as conn:  # opened a week ago: long past its 2-hour target
        week_ago = (datetime.now(UTC) - timedelta(days=7)).replace(tzinfo=None)
        conn.exec_driver_sql("UPDATE cases SET opened_at = ?, due_at = ? WHERE id = ?",
                             (week_ago.isoformat(" "), week_ago.isoformat(" "), made.case_id))
    pane = window.cases.list
    with qtbot.waitSignal(pane.shown, timeout=10000):
        window.show_area(AREAS.index("Cases"))
    with qtbot.waitSignal(pane.shown, timeout=10000):
        pane.set_view("breached")
    row = pane.model.ids().index(made.case_id)
    shown = pane.model.view_row(row)
    assert shown is not None and shown.sla.state is SlaState.RED
    index = pane.model.index(row, 0)
    assert str(index.data()).startswith("Overdue by")
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None
    detail = _open_case(qtbot, window, made.case_id)
    assert detail.sla_badge.text().startswith("SLA: Overdue by")
    assert detail.sla_badge.objectName() == "badge_danger"


@menu_on_offscreen
def test_the_status_menu_offers_only_allowed_moves_and_alt_s_r_enter_resolves(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "inquiry", "normal", "Bill copy")
    detail = _open_case(qtbot, window, made.case_id)
    offered = detail.status_targets()
    assert set(offered) == {s.value for s in ALLOWED[Status.NEW]}
    assert "closed" not in offered  # a new case cannot be closed straight away

    QTimer.singleShot(0, _in_menu(qtbot, Qt.Key.Key_R))
    qtbot.keyClick(detail.timeline, Qt.Key.Key_S, ALT)
    dialog = _dialog(qtbot, window, StatusDialog)
    assert isinstance(dialog, StatusDialog) and dialog.target == "resolved"
    assert dialog.notify.isChecked()
    qtbot.keyClicks(dialog.comment, "Sent the bill copy by email.")
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(dialog.comment, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: detail.sheet is not None
                    and detail.sheet.detail.case.status == "resolved", timeout=10000)
    assert set(detail.status_targets()) == {"closed", "open"}
    assert detail.sheet.detail.events[0].kind == "status_changed"
    assert "Status New \u2192 Resolved (customer told)" in \
        detail.timeline_model.index(0, 2).data()
    assert _outbox(store)[-1] == "change_case_status"


@menu_on_offscreen
def test_a_refused_reopen_is_explained_in_the_dialog(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    with store.engine.connect() as conn:
        old = str(conn.exec_driver_sql(
            "SELECT id FROM cases WHERE status = 'closed' AND merged_into_id IS NULL AND "
            "resolved_at < ? LIMIT 1",
            ((datetime.now(UTC) - timedelta(days=30)).replace(tzinfo=None).isoformat(" "),)
        ).scalar())
    detail = _open_case(qtbot, window, old)
    assert detail.status_targets() == ["open"]  # closed: reopening is all there is
    QTimer.singleShot(0, _in_menu(qtbot, Qt.Key.Key_R))
    qtbot.keyClick(detail.timeline, Qt.Key.Key_S, ALT)
    dialog = _dialog(qtbot, window, StatusDialog)
    assert isinstance(dialog, StatusDialog)
    qtbot.keyClick(dialog.comment, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=10000)
    assert "cannot be reopened" in dialog.message.text()
    assert dialog.isVisible() and dialog.save_button.text() == "Save"
    qtbot.keyClick(dialog.comment, Qt.Key.Key_Escape)
    assert window.cases.dialog is None
    assert _outbox(store) == []


def test_alt_1_puts_a_macro_for_this_customer_in_the_note_and_ctrl_enter_saves_it(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, name = _customer(store)
    made = cases.create_case(store, who, customer_id, "trouble_ticket", "high",
                             "Internet drops every evening", category="technical")
    detail = _open_case(qtbot, window, made.case_id)
    qtbot.keyClick(window, Qt.Key.Key_N, CTRL)  # Ctrl+N: the note box of the open case
    assert detail.note_edit.hasFocus()
    qtbot.keyClick(detail.note_edit, Qt.Key.Key_1, ALT)
    text = detail.note_edit.toPlainText()
    assert text.startswith(f"Hi {name.split(' ')[0]},")
    assert made.case_number in text and "{" not in text
    assert detail.visibility.currentData() == "customer"
    detail.spent.setValue(4)
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(detail.note_edit, Qt.Key.Key_Return, CTRL)
    assert detail.note_edit.toPlainText() == ""
    assert detail.sheet is not None
    note = detail.sheet.detail.events[0]
    assert note.kind == "comment" and note.visibility == "customer"
    assert note.seconds_spent == 240 and note.body.startswith("Hi ")
    assert detail.timeline_model.index(0, 2).data() == "Message to the customer"


def test_alt_m_merges_a_duplicate_into_the_case_that_continues(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store, offset=9)
    keep = cases.create_case(store, who, customer_id, "complaint", "normal",
                             "Technician missed the visit")
    dup = cases.create_case(store, who, customer_id, "complaint", "normal",
                            "Nobody came on Tuesday")
    cases.add_case_note(store, who, dup.case_id, "Customer called again.", seconds_spent=300)
    detail = _open_case(qtbot, window, dup.case_id)

    qtbot.keyClick(detail.timeline, Qt.Key.Key_M, ALT)
    dialog = _dialog(qtbot, window, MergeDialog)
    assert isinstance(dialog, MergeDialog)
    offered = [dialog.model.row(i).row.id for i in range(dialog.model.rowCount())]
    assert keep.case_id in offered and dup.case_id not in offered
    while dialog.chosen() is None or dialog.chosen().row.id != keep.case_id:
        qtbot.keyClick(dialog.table, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000,
                          check_params_cb=lambda shown: shown == keep.case_id):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)

    target = window.cases.current_detail()
    assert target is not None and target.sheet is not None
    assert target.case_id == keep.case_id
    assert target.sheet.detail.merged_in == (dup.case_number,)
    assert "Customer called again." in {e.body for e in target.sheet.detail.events}
    assert dup.case_number in target.links.text()
    gone = cases.load_case(store, dup.case_id)
    assert gone.case.status == "closed" and gone.merged_into == keep.case_number
    assert "merge_cases" in _outbox(store)


def test_enter_on_the_360s_cases_tab_opens_that_case(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, name = _customer(store)
    made = cases.create_case(store, who, customer_id, "inquiry", "normal", "Paper bills")
    view = _open_360(qtbot, window, customer_id, name)
    qtbot.keyClick(view, Qt.Key.Key_S, ALT)  # the Cases tab
    row = next(i for i in range(view.cases_model.rowCount())
               if view.cases_model.row(i).id == made.case_id)
    view.cases.selectRow(row)
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(view.cases, Qt.Key.Key_Return)
    assert window.pages.currentWidget() is window.cases
    detail = window.cases.current_detail()
    assert detail is not None and detail.case_id == made.case_id
    # Alt+C goes back to the customer's 360.
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        qtbot.keyClick(detail.timeline, Qt.Key.Key_C, ALT)
    assert window.pages.currentWidget() is window.customers


def test_ctrl_shift_n_is_taken_once_and_listed_under_f1(window: MainWindow) -> None:
    from PySide6.QtGui import QShortcut

    from agent_desktop.ui.dialogs import SHORTCUTS

    keys = [s.key().toString() for s in window.findChildren(QShortcut)
            if s.context() == Qt.ShortcutContext.ApplicationShortcut]
    assert keys.count("Ctrl+Shift+N") == 1
    assert len(keys) == len(set(keys))
    assert any(k == "Ctrl+Shift+N" for k, _what in SHORTCUTS)


@menu_on_offscreen
def test_escalate_needs_a_reason_and_assigning_to_me_without_the_skill_is_explained(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)  # Dana works billing; she has no technical skill
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "trouble_ticket", "normal",
                             "No dial tone", category="technical", product_sku="PH-LOCAL")
    detail = _open_case(qtbot, window, made.case_id)

    qtbot.keyClick(detail.timeline, Qt.Key.Key_E, ALT)
    dialog = _dialog(qtbot, window, EscalateDialog)
    assert isinstance(dialog, EscalateDialog)
    assert dialog.priority.currentData() == "high"  # one step up
    assert not dialog.save_button.isEnabled() and "Say why" in dialog.reason_hint.text()
    qtbot.keyClicks(dialog.reason, "Works from home, second outage this week")
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert detail.sheet is not None and detail.sheet.detail.case.priority == "high"
    assert detail.timeline_model.index(0, 2).data() == "Escalated Normal \u2192 High"

    QTimer.singleShot(0, _in_menu(qtbot, Qt.Key.Key_M))  # Assign to me
    assert QApplication.focusWidget() is detail.timeline  # back where the agent was
    qtbot.keyClick(detail.timeline, Qt.Key.Key_A, ALT)
    qtbot.waitUntil(detail.message.isVisible, timeout=10000)
    assert "lacks the tech phone skill" in detail.message.text()
    assert detail.sheet.detail.case.assigned_agent_id is None


@menu_on_offscreen
def test_assign_to_someone_with_the_skill_by_typing_their_name(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "trouble_ticket", "normal",
                             "TV freezes", category="technical", product_sku="TV-BASIC")
    detail = _open_case(qtbot, window, made.case_id)
    QTimer.singleShot(0, _in_menu(qtbot, Qt.Key.Key_S))  # Assign to someone...
    qtbot.keyClick(detail.timeline, Qt.Key.Key_A, ALT)
    dialog = _dialog(qtbot, window, AssignDialog)
    assert isinstance(dialog, AssignDialog) and dialog.model.rowCount() > 1
    target = dialog.model.row(dialog.model.rowCount() - 1)
    qtbot.keyClicks(dialog.filter, target.display_name)
    assert dialog.chosen() is not None and dialog.chosen().id == target.id
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)
    assert detail.sheet is not None
    assert detail.sheet.detail.case.assigned_agent_id == target.id
    assert f"Assigned to: {target.display_name}" in detail.facts.text()


def test_alt_l_links_an_article_by_its_code_and_an_unknown_code_is_explained(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "inquiry", "normal", "First bill")
    with store.engine.connect() as conn:
        code, title = conn.exec_driver_sql(
            "SELECT code, title FROM knowledge_articles ORDER BY code LIMIT 1").one()
    detail = _open_case(qtbot, window, made.case_id)
    qtbot.keyClick(detail.timeline, Qt.Key.Key_L, ALT)
    dialog = _dialog(qtbot, window, LinkArticleDialog)
    assert isinstance(dialog, LinkArticleDialog) and not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.code, "kb-99999")
    qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    qtbot.waitUntil(dialog.message.isVisible, timeout=10000)
    assert "There is no article KB-99999" in dialog.message.text()
    dialog.code.clear()
    qtbot.keyClicks(dialog.code, str(code).lower())
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    assert window.cases.dialog is None
    assert f"{code}</b> {title}" in detail.articles.text()


def test_ctrl_l_in_knowledge_links_the_article_to_the_case_the_agent_came_from(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "inquiry", "normal", "Router reboots")
    detail = _open_case(qtbot, window, made.case_id)
    screen = window.knowledge
    qtbot.keyClick(detail.timeline, Qt.Key.Key_3, CTRL)
    assert window.pages.currentWidget() is screen and screen.box.hasFocus()
    assert screen.case_target == (made.case_id, made.case_number)
    with qtbot.waitSignal(screen.searched, timeout=10000):
        qtbot.keyClicks(screen.box, "router")
    hit = screen.list.selected_hit()
    assert hit is not None
    with qtbot.waitSignal(screen.article_shown, timeout=10000):
        qtbot.keyClick(screen.box, Qt.Key.Key_Return)
    assert screen.reader.link.isVisible()
    assert made.case_number in screen.reader.link.text()
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000):
        qtbot.keyClick(screen.reader.body, Qt.Key.Key_L, CTRL)
    assert hit.code in detail.articles.text()
    # Once is enough: a second Ctrl+L says so where the agent is looking.
    with qtbot.waitSignal(window.cases.notice, timeout=10000) as said:
        qtbot.keyClick(screen.reader.body, Qt.Key.Key_L, CTRL)
    assert said.args is not None and "already linked" in said.args[0]


def test_alt_f_opens_a_follow_up_case_that_links_both_ways(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer_id, _name = _customer(store)
    made = cases.create_case(store, who, customer_id, "trouble_ticket", "high",
                             "Line drops every evening", category="technical")
    detail = _open_case(qtbot, window, made.case_id)
    qtbot.keyClick(detail.timeline, Qt.Key.Key_F, ALT)
    dialog = _dialog(qtbot, window, NewCaseDialog)
    assert isinstance(dialog, NewCaseDialog)
    assert made.case_number in dialog.windowTitle()
    assert dialog.case_type() == "trouble_ticket" and dialog.category_group() == "technical"
    assert dialog.subject.text() == "Follow-up: Line drops every evening"
    qtbot.keyClicks(dialog.subject, "Engineer visit to check the line")
    with qtbot.waitSignal(window.cases.case_shown, timeout=10000,
                          check_params_cb=lambda shown: shown != made.case_id):
        qtbot.keyClick(dialog.subject, Qt.Key.Key_Return)
    child = window.cases.current_detail()
    assert child is not None and child.sheet is not None and child is not detail
    assert child.sheet.detail.parent_case_id == made.case_id
    assert child.sheet.detail.case.subject == "Engineer visit to check the line"
    assert "Follows up" in child.links.text()
    assert _outbox(store)[-1] == "create_case"


def test_a_case_pulled_by_sync_shows_in_the_list(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    pane = window.cases.list
    with qtbot.waitSignal(pane.shown, timeout=10000):
        window.show_area(AREAS.index("Cases"))
    with qtbot.waitSignal(pane.shown, timeout=10000):
        pane.set_view("all_open")
    customer_id, _name = _customer(store)
    other = agent_by_username(store, "supervisor")
    assert other is not None
    made = cases.create_case(store, other, customer_id, "complaint", "high",
                             "Arrived from another desk")
    assert made.case_id not in pane.model.ids()
    chosen = pane.model.case_id(3)
    pane.table.selectRow(3)
    with qtbot.waitSignal(pane.shown, timeout=10000):
        window._customers_changed(frozenset({customer_id}))  # what a pull reports
    assert made.case_id in pane.model.ids()
    assert pane.current_id() == chosen  # the agent's place in the list is kept


def test_alt_w_on_a_solved_case_writes_a_draft_article(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    who = _who(store)
    customer, _name = _customer(store)
    made = cases.create_case(store, who, customer, "trouble_ticket", "normal",
                             "Remote stopped pairing", category="technical")
    cases.add_case_note(store, who, made.case_id, "Held Home and Back for 5 seconds.")
    cases.change_status(store, who, made.case_id, "resolved", "Remote pairs again.")
    detail = _open_case(qtbot, window, made.case_id)
    assert detail.draft_button.isEnabled()
    qtbot.keyClick(detail, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    dialog = _dialog(qtbot, window, DraftArticleDialog)
    assert isinstance(dialog, DraftArticleDialog)
    assert dialog.title.text() == "Remote stopped pairing"
    assert "Held Home and Back" in dialog.body.toPlainText()
    dialog.product.clear()
    assert not dialog.save_button.isEnabled() and "the product" in dialog.hint.text()
    qtbot.keyClicks(dialog.product, "tv")
    qtbot.keyClicks(dialog.tags, "remote, pairing")
    assert dialog.save_button.isEnabled()
    qtbot.keyClick(dialog.title, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.cases.dialog is None, timeout=10000)
    with store.engine.connect() as conn:
        status, product, tags = conn.exec_driver_sql(
            "SELECT status, product, tags FROM knowledge_articles WHERE source_case_id = ?",
            (made.case_id,)).one()
        names = [r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sync_outbox ORDER BY mutation_id")]
    assert (status, product) == ("draft", "tv") and "pairing" in tags
    assert names[-1] == "draft_article"


def test_a_supervisor_publishes_a_draft_with_enter(
        qtbot: QtBot, store: Store) -> None:
    from agent_desktop.app import build_window, configure_qt_settings
    from agent_desktop.platform.settings import Settings
    from agent_desktop.ui.drafts import DraftsDialog

    who = _who(store)
    customer, _name = _customer(store)
    made = cases.create_case(store, who, customer, "inquiry", "normal", "Paperless billing")
    cases.change_status(store, who, made.case_id, "resolved", "Turned on e-bills.")
    draft = cases.draft_from_case(store, who, made.case_id, "Turning on paperless billing",
                                  "Settings > Billing > Paperless; confirm the email.",
                                  "billing")
    configure_qt_settings()
    window = build_window(store, "supervisor", Settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.show_drafts()  # Ctrl+Shift+D
    qtbot.waitUntil(lambda: isinstance(window.drafts_dialog, DraftsDialog)
                    and window.drafts_dialog.isVisible(), timeout=10000)
    dialog = window.drafts_dialog
    assert isinstance(dialog, DraftsDialog)
    assert [dialog.model.row(i).id for i in range(dialog.model.rowCount())] == [draft]
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0, timeout=10000)
    assert "published" in dialog.status.text()
    with store.engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM knowledge_articles WHERE id = ?",
                                      (draft,)).scalar()
    assert status == "published"
    dialog.close()
    window.close()
