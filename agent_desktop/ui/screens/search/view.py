"""The one search box (Ctrl+K) and its results list, driven by the keyboard.

Typing starts a search after a short pause; it runs on the search worker's own thread
and only the newest request's answer is shown (``LatestOnly``). Up/Down move through the
results while the caret stays in the box, Enter opens the selected customer, Escape
closes the list.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget

from agent_desktop.services.customer_search import CustomerHit, CustomerSearch, SearchResult
from agent_desktop.storage.store import Store
from agent_desktop.ui.tasks import LatestOnly
from agent_desktop.ui.widgets.common import Column, RowsModel, make_table

_STATUS = {"active": "", "suspended": "Suspended", "closed": "Closed", "prospect": "Prospect"}


class SearchBox(QLineEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("globalSearch")
        self.setPlaceholderText(
            "Find a customer: phone, account number, name, email or street   (Ctrl+K)"
        )
        self.setAccessibleName("Customer search")
        self.setClearButtonEnabled(True)


class SearchResults(QFrame):
    """The results popup: a child of the main window laid over its content."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("searchPopup")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.model = RowsModel([
            Column("Name", lambda h: h.display_name),
            Column("Account", lambda h: h.account_number),
            Column("Phone", lambda h: h.phone),
            Column("Address", lambda h: f"{h.street}, {h.location}" if h.street else h.location),
            Column("Matched on", lambda h: " ".join(
                p for p in (h.matched_on, _STATUS.get(h.status, h.status)) if p)),
        ])
        self.table = make_table(self.model, stretch_column=3)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setAccessibleName("Search results")
        layout.addWidget(self.table)
        self.hint = QLabel("")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.hide()

    def show_result(self, result: SearchResult) -> None:
        self.model.set_rows(result.hits)
        self.table.setVisible(bool(result.hits))
        count = len(result.hits)
        if result.hint:
            self.hint.setText(result.hint)
        elif count:
            self.hint.setText(
                f"{count} match{'es' if count != 1 else ''} \u00b7 \u2191\u2193 to choose, "
                "Enter to open, Esc to close"
            )
        if count:
            self.table.selectRow(0)
            self.table.resizeColumnsToContents()

    def selected(self) -> CustomerHit | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        hit: CustomerHit = self.model.row(rows[0].row())
        return hit

    def move(self, delta: int) -> None:  # type: ignore[override]
        count = self.model.rowCount()
        if not count:
            return
        rows = self.table.selectionModel().selectedRows()
        current = rows[0].row() if rows else -1
        self.table.selectRow(max(0, min(count - 1, current + delta)))


class CustomerFinder(QObject):
    """Wires the box, the popup and the background search together."""

    open_customer = Signal(str, str)  # (customer_id, display name)
    searched = Signal(object)  # SearchResult shown (tests and the status bar listen)

    def __init__(self, box: SearchBox, popup: SearchResults, store: Store,
                 delay_ms: int = 120, limit: int = 25) -> None:
        super().__init__(box)
        self.box = box
        self.popup = popup
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start_search)
        self._runner = LatestOnly(
            self, lambda: CustomerSearch(store, limit), lambda search, text: search.search(text)
        )
        self._runner.answered.connect(self._on_answer)
        self._runner.failed.connect(self._on_failure)
        box.textEdited.connect(self._on_edit)
        box.returnPressed.connect(self._open_selected)
        box.installEventFilter(self)
        self._answered = ""  # the text the results on screen answer
        self._pending_open = False

    def _on_edit(self, text: str) -> None:
        self._pending_open = False
        if not text.strip():
            self._timer.stop()
            self._runner.request("")  # supersedes anything in flight
            self.popup.hide()
            return
        self._timer.start()

    def search_now(self) -> None:
        self._timer.stop()
        self._start_search()

    def _start_search(self) -> None:
        self._runner.request(self.box.text())

    def _on_answer(self, _number: int, result: SearchResult) -> None:
        if result.text != self.box.text().strip() or not result.text:
            return  # the box changed since: a newer answer is on its way
        self._answered = result.text
        self.popup.show_result(result)
        self.place_popup()
        self.popup.show()
        self.popup.raise_()
        self.searched.emit(result)
        if self._pending_open:
            self._pending_open = False
            self._open_selected()

    def _on_failure(self, _number: int, exc: BaseException) -> None:
        self.popup.model.set_rows([])
        self.popup.table.hide()
        self.popup.hint.setText(f"Search failed: {exc}. Try again; if it keeps failing, "
                                "restart Agent Desktop.")
        self.place_popup()
        self.popup.show()

    def place_popup(self) -> None:
        window = self.popup.parentWidget()
        if window is None:
            return
        top_left = self.box.mapTo(window, self.box.rect().bottomLeft())
        width = max(self.box.width() + 260, 820)
        width = min(width, window.width() - top_left.x() - 12)
        rows = self.popup.model.rowCount()
        row_h = self.popup.table.verticalHeader().defaultSectionSize()
        table_h = 0 if not rows else min(rows, 12) * row_h + row_h + 8
        height = table_h + self.popup.hint.sizeHint().height() + 16
        self.popup.setGeometry(top_left.x(), top_left.y() + 4, width, height)

    def _open_selected(self) -> None:
        if self._timer.isActive() or self._answered != self.box.text().strip():
            # Enter came before the answer for what is typed: search now, open on answer.
            self._timer.stop()
            self._pending_open = True
            self._start_search()
            return
        hit = self.popup.selected()
        if hit is None:
            return
        self.popup.hide()
        self.open_customer.emit(hit.customer_id, hit.display_name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.box and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown,
                       Qt.Key.Key_PageUp) and self.popup.isVisible():
                step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 10,
                        Qt.Key.Key_PageUp: -10}[Qt.Key(key)]
                self.popup.move(step)
                return True
            if key == Qt.Key.Key_Escape and self.popup.isVisible():
                self.popup.hide()
                return True
        return False

    def close(self) -> None:
        self._timer.stop()
        self._runner.close(lambda search: search.close())
