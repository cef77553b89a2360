"""The Collections area by keyboard: Ctrl+4 shows the worklist checked against the calling
rules, every refusal is in words, the filter narrows it, Enter opens the customer's 360."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent_desktop.ui.main_window import AREAS, MainWindow
from agent_desktop.ui.screens.collections.view import CALL_COLUMN, CollectionsPage

CTRL = Qt.KeyboardModifier.ControlModifier


def _show_worklist(qtbot: QtBot, window: MainWindow) -> CollectionsPage:
    page = window.collections
    assert window.area_pages["Collections"] is page
    with qtbot.waitSignal(page.loaded, timeout=20000):
        qtbot.keyClick(window, Qt.Key.Key_4, CTRL)
    assert window.pages.currentIndex() == AREAS.index("Collections")
    assert window.pages.currentWidget() is page
    return page


def test_ctrl_4_shows_the_worklist_with_readable_reasons(
        qtbot: QtBot, window: MainWindow) -> None:
    page = _show_worklist(qtbot, window)
    model = page.model
    assert model.rowCount() == len(page.items) > 0
    assert model.headerData(CALL_COLUMN, Qt.Orientation.Horizontal) == "Call"
    assert model.index(0, 0).data() == "1"
    assert "debts" in page.summary.text()
    for row in range(model.rowCount()):
        item = page.items[row]
        call = model.index(row, CALL_COLUMN).data()
        if item.callable_now:
            assert call == "Call now"
        else:
            assert call.startswith("Not now (")
            assert item.reasons[0].rstrip(".") in call
            assert ("(next " in call) == bool(item.next_allowed_words)
    # The detail line lists every reason of the selected debt.
    blocked = next(r for r in range(model.rowCount()) if not page.items[r].callable_now)
    page.table.setCurrentIndex(model.index(blocked, 0))
    for reason in page.items[blocked].reasons:
        assert reason in page.detail.text()
    # The filter narrows by name; nothing matching says so.
    name = page.items[blocked].customer_name
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)
    assert page.filter.hasFocus()
    qtbot.keyClicks(page.filter, name)
    assert 0 < model.rowCount() <= len(page.items)
    assert all(name.lower() in model.row(r).customer_name.lower()
               for r in range(model.rowCount()))
    page.filter.setText("zzzz-no-such-debt")
    assert model.rowCount() == 0 and "No debt matches" in page.detail.text()
    page.filter.clear()
    assert model.rowCount() == len(page.items)
    # Shown again (Ctrl+4): read afresh.
    with qtbot.waitSignal(page.loaded, timeout=20000):
        qtbot.keyClick(window, Qt.Key.Key_4, CTRL)


def test_enter_on_a_debt_opens_the_customers_360(qtbot: QtBot, window: MainWindow) -> None:
    page = _show_worklist(qtbot, window)
    row = min(2, page.model.rowCount() - 1)
    page.table.setCurrentIndex(page.model.index(row, 0))
    item = page.items[row]
    page.table.setFocus()
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000,
                          check_params_cb=lambda cid: cid == item.customer_id):
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert window.pages.currentIndex() == AREAS.index("Customers")
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    assert view.data.customer_id == item.customer_id
