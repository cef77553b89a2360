"""An agent works the Knowledge area by keyboard: Ctrl+3, type (with a typo), arrows,
Enter to read, Esc back, Ctrl+Up to say it helped; filters; suggestions for the caller."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from agent_desktop.storage.reference import article_id
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.knowledge.view import KnowledgeScreen, ResultDelegate


def _to_knowledge(qtbot: QtBot, window: MainWindow) -> KnowledgeScreen:
    screen = window.knowledge
    with qtbot.waitSignal(screen.filters_ready, timeout=15000):
        qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is screen
    assert screen.box.hasFocus()
    return screen


def _type(qtbot: QtBot, screen: KnowledgeScreen, typed: str) -> None:
    with qtbot.waitSignal(screen.searched, timeout=10000):
        qtbot.keyClicks(screen.box, typed)


def _votes(store: Store) -> tuple[list[tuple[object, ...]], list[dict[str, object]]]:
    with store.engine.connect() as conn:
        votes = conn.execute(text("SELECT article_id, helpful FROM knowledge_votes "
                                  "ORDER BY created_at")).all()
        args = conn.execute(text("SELECT args FROM sync_outbox WHERE name = 'vote_article' "
                                 "ORDER BY mutation_id")).scalars().all()
    return [tuple(v) for v in votes], [json.loads(str(a)) for a in args]


def test_ctrl_3_a_typo_arrows_enter_to_read_esc_back_and_ctrl_up_to_vote(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    screen = _to_knowledge(qtbot, window)
    _type(qtbot, screen, "gatway restart")

    hits = screen.list.results.hits
    assert len(hits) > 2 and hits[0].code == "KB-0030"  # Restarting the gateway
    assert "\u201cgateway restart\u201d" in screen.hint.text() and screen.hint.isVisible()
    assert "gatway restart" in screen.heading.text()
    marked = [p.lower() for p, on in hits[0].snippet_segments if on]
    assert marked and {m[:7] for m in marked} <= {"gateway", "restart"}
    page = ResultDelegate()._document(hits[0], 500, False).toHtml()
    assert "#ffe58a" in page  # drawn with the marked words on a highlight

    qtbot.keyClick(screen.box, Qt.Key.Key_Down)
    assert screen.list.selected_row() == 1
    qtbot.keyClick(screen.box, Qt.Key.Key_Up)
    assert screen.list.selected_row() == 0
    assert screen.box.hasFocus()  # the caret stays in the box while choosing

    with qtbot.waitSignal(screen.article_shown, timeout=10000):
        qtbot.keyClick(screen.box, Qt.Key.Key_Return)
    reader = screen.reader
    assert reader.title.text() == hits[0].title
    assert "KB-0030" in reader.facts.text() and "updated 1 Oct 2026" in reader.facts.text()
    assert "version 1" in reader.facts.text() and "Equipment" in reader.facts.text()
    assert "power cycle" in reader.body.toPlainText().lower()
    assert "##" not in reader.body.toPlainText()  # Markdown rendered, not shown raw
    assert reader.counts.text().startswith("Helpful for 0 agents")
    assert reader.body.hasFocus()

    qtbot.keyClick(reader.body, Qt.Key.Key_Escape)
    assert screen.box.hasFocus()
    assert screen.list.selected_row() == 0  # back where the agent was

    with qtbot.waitSignal(screen.voted, timeout=10000):
        qtbot.keyClick(screen.box, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert reader.counts.text().startswith("Helpful for 1 agent \u00b7 not helpful for 0")
    assert "your vote: helpful" in reader.counts.text()
    assert reader.helpful.isChecked() and not reader.not_helpful.isChecked()
    with qtbot.waitSignal(screen.voted, timeout=10000):
        qtbot.keyClick(reader.body, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert reader.counts.text().startswith("Helpful for 0 agents \u00b7 not helpful for 1")
    assert reader.not_helpful.isChecked() and not reader.helpful.isChecked()

    votes, mutations = _votes(store)
    aid = article_id("KB-0030")
    assert votes == [(aid, 1), (aid, 0)]
    assert [(m["article_id"], m["helpful"]) for m in mutations] == [(aid, True), (aid, False)]


def test_the_filters_are_reached_and_chosen_by_keyboard(
        qtbot: QtBot, window: MainWindow) -> None:
    screen = _to_knowledge(qtbot, window)
    qtbot.keyClick(screen.box, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    assert screen.product.hasFocus()
    with qtbot.waitSignal(screen.searched, timeout=10000):
        qtbot.keyClicks(screen.product, "tv")  # type-ahead picks "TV"
    assert screen.product.currentData() == "tv"
    hits = screen.list.results.hits
    assert hits and {h.product for h in hits} == {"tv"}
    assert screen.heading.text() == "Articles in TV"

    qtbot.keyClick(screen.product, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    assert screen.tag.hasFocus()
    with qtbot.waitSignal(screen.searched, timeout=10000):
        qtbot.keyClicks(screen.tag, "pixelation")
    assert screen.tag.currentData() == "pixelation"
    assert [h.code for h in screen.list.results.hits] == ["KB-0032"]

    screen.box.setFocus()
    _type(qtbot, screen, "modem")
    assert not screen.list.results.hits
    assert "clear the filters" in screen.hint.text()


def test_empty_and_absurd_text_gets_a_message_in_the_results_pane(
        qtbot: QtBot, window: MainWindow) -> None:
    screen = _to_knowledge(qtbot, window)
    assert "Type a few words" in screen.hint.text()
    screen.box.setText("bill " * 1000)
    with qtbot.waitSignal(screen.searched, timeout=10000):
        screen.search_now()
    assert "too long" in screen.hint.text() and screen.hint.isVisible()
    assert screen.list.results.rowCount() == 0
    screen.box.setText("%%% ***")
    with qtbot.waitSignal(screen.searched, timeout=10000):
        screen.search_now()
    assert "Nothing to search for" in screen.hint.text()
    qtbot.keyClick(screen.box, Qt.Key.Key_Escape)  # Esc empties the box
    assert screen.box.text() == ""
    assert "Type a few words" in screen.hint.text()


def test_suggestions_for_the_customer_on_the_phone(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    with store.engine.connect() as conn:
        cid, name = conn.execute(text(
            "SELECT c.id, c.display_name FROM customers c JOIN cases k ON k.customer_id = c.id"
            " WHERE k.status IN ('new', 'open') AND EXISTS (SELECT 1 FROM services s WHERE"
            " s.customer_id = c.id AND s.status = 'active') ORDER BY c.account_number"
            " LIMIT 1")).one()
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(str(cid), str(name))

    screen = window.knowledge
    with qtbot.waitSignal(screen.suggested, timeout=15000):
        qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert screen.heading.text() == f"Suggested for {name}"
    assert "open case" in screen.hint.text()
    hits = screen.list.results.hits
    assert hits and screen.list.selected_row() == 0
    with qtbot.waitSignal(screen.article_shown, timeout=10000):
        qtbot.keyClick(screen.box, Qt.Key.Key_Return)
    assert screen.reader.title.text() == hits[0].title

    # Typing searches; emptying the box brings the suggestions back.
    _type(qtbot, screen, "late fee")
    assert screen.heading.text().endswith("for \u201clate fee\u201d")
    screen.box.selectAll()
    qtbot.keyClick(screen.box, Qt.Key.Key_Backspace)
    assert screen.heading.text() == f"Suggested for {name}"
    assert [h.code for h in screen.list.results.hits] == [h.code for h in hits]


def test_an_article_that_arrives_while_the_screen_is_open_is_searchable(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    screen = _to_knowledge(qtbot, window)
    _type(qtbot, screen, "zeppelin")
    assert not screen.list.results.hits
    with store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO knowledge_articles (id, code, title, product, tags, body_md, "
            "article_version, status, helpful_count, not_helpful_count, created_at, "
            "updated_at, version) VALUES (:id, 'KB-9002', 'Zeppelin mode', 'equipment', "
            "'[]', 'Leave zeppelin mode with a long press.', 1, 'published', 0, 0, "
            "'2026-11-20 00:00:00.000000', '2026-11-20 00:00:00.000000', 1)"),
            {"id": "0" * 31 + "2"})
    with qtbot.waitSignal(screen.searched, timeout=10000):
        screen.articles_changed()  # what a pull that brought articles calls
    assert [h.code for h in screen.list.results.hits] == ["KB-9002"]
