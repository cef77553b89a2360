"""The Collections area: open debts in priority order, whether each may be called now
(and if not, why and when), a filter, and Enter to open the customer's 360; beside the
list, the call script of the selected debt; below it, the actions: Dial (Ctrl+D, the
call bar places the call: ``dial_requested``), Record outcome (Alt+O: ``record_outcome``)
and, for the gentle reminder treatment, Send reminder (Alt+R: email and text with a
payment link).

The worklist is read off the UI thread (``Op``) each time the area is shown (Ctrl+4): the
call rules depend on the clock, so a list read earlier goes stale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import collections as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.collections import (
    DebtClosed,
    OutcomeRecorded,
    ReminderSent,
    WorkItem,
    closed_since_listed,
    send_reminder,
    worklist,
)
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.screens.collections.outcome import OutcomeDialog
from agent_desktop.ui.screens.collections.script import ScriptPanel
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import (
    Column,
    RowsModel,
    filter_box_key,
    fit_columns,
    make_table,
    money,
    muted,
)

COLUMNS = (
    Column("#", lambda i: str(i.rank), align_right=True),
    Column("Customer", lambda i: i.customer_name, tooltip=lambda i: i.account_number),
    Column("Past due", lambda i: money(i.balance_cents), align_right=True),
    Column("Bucket", lambda i: f"{i.bucket} days"),
    Column("Treatment", lambda i: i.treatment_words),
    Column("Call", lambda i: i.status_words, tooltip=lambda i: "\n".join(i.reasons)),
)
CALL_COLUMN = len(COLUMNS) - 1


def detail_words(item: WorkItem) -> str:
    """Everything about the selected debt, every reason listed."""
    head = (f"{item.customer_name} \u00b7 {item.account_number} \u00b7 "
            f"{money(item.balance_cents)} past due {item.days_past_due} days \u00b7 "
            f"{item.attempts_7_days} call{'s' if item.attempts_7_days != 1 else ''} in "
            "7 days")
    if item.last_conversation_at is not None:
        head += f" \u00b7 last spoke {item.last_conversation_at.astimezone():%b %d}"
    number = item.number or "no number on file"
    if item.promise_words:
        head += f" \u00b7 {item.promise_words}"
    if item.callable_now:
        return f"{head}\nCall now on {number}: every rule allows the call."
    when = (f"Next allowed: {item.next_allowed_words}." if item.next_allowed_words
            else "Not callable until the restriction is lifted.")
    reasons = "\n".join(f"\u2022 {r}" for r in item.reasons)
    return f"{head}\nNot now on {number}. {when}\n{reasons}"


class CollectionsPage(QWidget):
    """The worklist; Enter opens the selected customer's 360 (``open_customer``)."""

    open_customer = Signal(str, str)  # customer id, name
    loaded = Signal(object)  # list[WorkItem], once the table shows them
    notice = Signal(str)
    # Ctrl+D on a debt: the call bar dials (number, customer id, collection account id).
    dial_requested = Signal(str, str, str)
    # "Payment taken now" recorded: the main window opens the payment dialog.
    payment_requested = Signal(str)  # customer id
    outcome_recorded = Signal(object)  # services.collections.OutcomeRecorded

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None,
                 parent: QWidget | None = None, who: AgentContext | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.who = who or AgentContext(None, "", "", "agent")
        self.outcome_dialog: OutcomeDialog | None = None
        self.items: list[WorkItem] = []
        self._asked = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(8)
        row = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(
            "Filter by customer, account number or reason   (Ctrl+F; \u2193 to the list)")
        self.filter.setAccessibleName("Filter the worklist")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._apply_filter())
        self.filter.installEventFilter(self)
        row.addWidget(self.filter, 1)
        self.summary = muted("Reading the worklist\u2026")
        self.summary.setAccessibleName("How many debts")
        row.addWidget(self.summary)
        layout.addLayout(row)
        self.model = RowsModel(COLUMNS, self)
        self.table = make_table(self.model, stretch_column=CALL_COLUMN)
        self._fitted = False
        self.table.setAccessibleName("Collections worklist")
        self.table.setTabKeyNavigation(False)
        self.table.activated.connect(lambda index: self._open(index.row()))
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._show_detail(current))
        self.script = ScriptPanel(self.who.display_name)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.script)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        actions = QHBoxLayout()
        self.dial_button = QPushButton("Dial (Ctrl+D)")
        self.dial_button.clicked.connect(self.dial)
        self.outcome_button = QPushButton("Record outcome (Alt+O)")
        self.outcome_button.clicked.connect(lambda: self.record_outcome(None))
        self.reminder_button = QPushButton("Send reminder (Alt+R)")
        self.reminder_button.clicked.connect(self.send_reminder)
        for button in (self.dial_button, self.outcome_button, self.reminder_button):
            button.setAutoDefault(True)  # Enter on a focused action runs it
            actions.addWidget(button)
        actions.addStretch(1)
        layout.addLayout(actions)
        self.detail = QLabel("")
        self.detail.setAccessibleName("Why this debt may or may not be called")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)
        hint = muted("Enter opens the customer's 360 \u00b7 Ctrl+D dials \u00b7 Alt+O records "
                     "the outcome \u00b7 Alt+R sends the reminder \u00b7 Ctrl+F filters \u00b7 "
                     "the list is checked against the calling rules each time you come here "
                     "(Ctrl+4)")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        for keys, slot in (("Ctrl+F", self.focus_filter), ("Ctrl+D", self.dial),
                           ("Alt+O", lambda: self.record_outcome(None)),
                           ("Alt+R", self.send_reminder)):
            QShortcut(QKeySequence(keys), self, slot,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # --- reading ---------------------------------------------------------------------------
    def activate(self) -> None:
        """The agent came to Collections: the worklist is read (again), the caret in the
        list (or the filter, before the list has rows)."""
        self._agent()  # the script names the agent
        self.reload()
        if self.model.rowCount():
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.focus_filter()

    def reload(self) -> None:
        self._asked += 1
        asked, store, now = self._asked, self.store, self.clock()
        Op(self, lambda: worklist(store, now)).success(
            lambda items: self._show(asked, items)).failure(self._failed).run()

    def _show(self, asked: int, items: list[WorkItem]) -> None:
        if asked != self._asked:
            return  # a newer read is on its way
        keep = self.current_item()
        self.items = items
        self._apply_filter(keep.account_id if keep is not None else None)
        self.loaded.emit(items)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.summary.setText(str(exc))
            self.notice.emit(str(exc))
            return
        raise exc

    # --- showing ---------------------------------------------------------------------------
    def _apply_filter(self, keep: str | None = None) -> None:
        if keep is None:
            current = self.current_item()
            keep = current.account_id if current is not None else None
        rows = filter_items(self.items, self.filter.text())
        self.model.set_rows(rows)
        if not self._fitted and rows:  # sized once, to the first rows (names whole)
            self._fitted = True
            fit_columns(self.table)
        now = sum(1 for i in self.items if i.callable_now)
        if self.filter.text().strip():
            self.summary.setText(f"{len(rows):,} of {len(self.items):,} debts match")
        else:
            self.summary.setText(f"{len(rows):,} debts, {now:,} callable now")
        if not rows:
            self.detail.setText("No debt matches the filter." if self.items
                                else "No open debt is past due.")
            self.script.show_item(None, self._today())
            self._actions(None)
            return
        row = next((n for n, i in enumerate(rows) if i.account_id == keep), 0)
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))
        self._show_detail(self.model.index(row, 0))

    def _show_detail(self, index: QModelIndex) -> None:
        if index.isValid() and index.row() < self.model.rowCount():
            item = self.model.row(index.row())
            self.detail.setText(detail_words(item))
            self.script.show_item(item, self._today())
            self._actions(item)

    def _today(self) -> date:
        return self.clock().astimezone().date()

    def _actions(self, item: WorkItem | None) -> None:
        self.dial_button.setEnabled(item is not None and item.callable_now
                                    and bool(item.number))
        self.outcome_button.setEnabled(item is not None)
        self.reminder_button.setEnabled(
            item is not None and item.treatment == rules.Treatment.REMINDER_FIRST)

    def current_item(self) -> WorkItem | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= self.model.rowCount():
            return None
        item = self.model.row(index.row())
        assert isinstance(item, WorkItem)
        return item

    # --- actions -----------------------------------------------------------------------------
    def set_agent(self, who: AgentContext) -> None:
        """Who records outcomes and sends reminders from here (the logged-in agent)."""
        self.who = who
        self.script.agent_first = who.display_name.split()[0] if who.display_name else ""

    def _agent(self) -> AgentContext:
        """The agent given (``set_agent``), else the window's logged-in agent."""
        if self.who.agent_id is None:
            found = getattr(self.window(), "who", None)
            if isinstance(found, AgentContext):
                self.set_agent(found)
        return self.who

    def dial(self) -> None:
        """Ctrl+D: ask the call bar to dial the selected debt's number, if the calling
        rules allow a call now (else say why and when)."""
        item = self.current_item()
        if item is None:
            self.notice.emit("Choose a debt to call first.")
            return
        if not item.callable_now or not item.number:
            self.notice.emit(f"Not now: {item.status_words}")
            return
        # The list may be a minute old: another desk may have taken a payment since.
        store, who, now = self.store, self._agent(), self.clock()

        def checked(words: str) -> None:
            if words:
                self._debt_closed(words)
            else:
                self.dial_requested.emit(item.number, item.customer_id, item.account_id)

        Op(self, lambda: closed_since_listed(store, who, item.account_id, now)).success(
            checked).failure(lambda exc: self.notice.emit(str(exc))).run()

    def record_outcome(self, interaction_id: str | None = None) -> OutcomeDialog | None:
        """Alt+O (or the call bar after a call): the outcome dialog for the selected debt,
        carrying the call's interaction id."""
        item = self.current_item()
        if item is None:
            self.notice.emit("Choose a debt to record the outcome for.")
            return None
        if self.outcome_dialog is not None:
            self.outcome_dialog.close()
        dialog = OutcomeDialog(self.store, self._agent(), item, interaction_id, self.clock,
                               self)
        dialog.recorded.connect(self._recorded)
        dialog.payment_requested.connect(self.payment_requested)
        dialog.debt_closed.connect(self._debt_closed)
        self.outcome_dialog = dialog
        dialog.open()
        return dialog

    def _recorded(self, result: OutcomeRecorded) -> None:
        self.notice.emit(f"Recorded: {result.summary}")
        self.outcome_recorded.emit(result)
        self.reload()

    def _debt_closed(self, words: str) -> None:
        self.notice.emit(words)
        self.reload()

    def send_reminder(self) -> None:
        """Alt+R, gentle reminder debts: queue the email and text with the payment link."""
        item = self.current_item()
        if item is None or item.treatment != rules.Treatment.REMINDER_FIRST:
            self.notice.emit("The reminder is for debts on the gentle reminder path "
                             "(Treatment: Reminder first).")
            return
        store, who, account, now = self.store, self._agent(), item.account_id, self.clock()
        Op(self, lambda: send_reminder(store, who, account, now=now), write=True).success(
            self._reminded).failure(self._reminder_failed).run()

    def _reminded(self, sent: ReminderSent) -> None:
        words = " and ".join("an email" if c == "email" else "a text" for c in sent.channels)
        extra = f" ({' '.join(sent.skipped)})" if sent.skipped else ""
        self.notice.emit(f"Reminder queued: {words} with the payment link.{extra}")
        self.reload()

    def _reminder_failed(self, exc: BaseException) -> None:
        if isinstance(exc, DebtClosed):
            self._debt_closed(str(exc))
            return
        if isinstance(exc, UserFacingError):
            self.notice.emit(str(exc))
            return
        raise exc

    # --- keys ------------------------------------------------------------------------------
    def focus_filter(self) -> None:
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()

    def _open(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            item = self.model.row(row)
            self.open_customer.emit(item.customer_id, item.customer_name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # In the filter box: Down goes to the list, Enter opens the selected customer.
        if watched is self.filter and event.type() == QEvent.Type.KeyPress \
                and filter_box_key(event, self.table, self._open):
            return True
        return super().eventFilter(watched, event)


def filter_items(items: Sequence[WorkItem], text: str) -> list[WorkItem]:
    """The items with every word of ``text`` in the name, account number, number,
    bucket, treatment or reasons (case-insensitive)."""
    words = text.lower().split()
    if not words:
        return list(items)
    out: list[WorkItem] = []
    for item in items:
        hay = " ".join((item.customer_name, item.account_number, item.number, item.bucket,
                        item.treatment_words, item.status_words, *item.reasons)).lower()
        if all(w in hay for w in words):
            out.append(item)
    return out
