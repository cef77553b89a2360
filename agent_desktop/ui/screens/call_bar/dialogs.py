"""The call's dialogs: wrap-up (after-call work), transfer, and which customer is calling
when several share the number."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.calls import (
    WrapUp,
    WrapUpMode,
    WrapUpPolicy,
    caller_id_words,
    check_wrap_up,
)
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.calls import Code, contact_reasons, wrap_up_codes
from agent_desktop.services.customer_search import CustomerHit
from agent_desktop.sync.cti_protocol import CallView, QueueInfo, WrapRequest


class _ListKeys(QObject):
    """Up/Down in a filter box move the list's current row (the caret stays in the box)."""

    def __init__(self, box: QLineEdit, items: QListWidget) -> None:
        super().__init__(box)
        self.items = items
        box.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(Qt.Key(event.key()))
            if step is not None:
                visible = [i for i in range(self.items.count())
                           if not self.items.item(i).isHidden()]
                if visible:
                    current = self.items.currentRow()
                    at = visible.index(current) if current in visible else -1
                    self.items.setCurrentRow(visible[max(0, min(len(visible) - 1,
                                                                at + step))])
                return True
        return False


class WrapUpDialog(QDialog):
    """After-call work: a contact reason (searchable), a wrap-up code, resolved or not, a
    summary. Checked as the agent types, with the server's own rules (domain.calls)."""

    submitted = Signal(object)  # WrapRequest

    def __init__(self, call: CallView, mode: str, customer: tuple[str, str] | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Wrap up the call")
        self.setObjectName("wrapUpDialog")
        self.call = call
        self.customer = customer
        self.policy = WrapUpPolicy(mode=WrapUpMode(mode))
        self.reasons: Sequence[Code] = contact_reasons()
        self.codes: Sequence[Code] = wrap_up_codes()
        self._reason_codes = frozenset(c.code for c in self.reasons)
        self._wrap_codes = frozenset(c.code for c in self.codes)
        layout = QVBoxLayout(self)
        who = customer[1] if customer else caller_id_words(call.caller_id)
        title = QLabel(f"Call with {who}")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        rule = {
            WrapUpMode.OPTIONAL: "A wrap-up code is optional.",
            WrapUpMode.REQUIRED: "A contact reason and a wrap-up code are required before "
                                 "you are available again.",
            WrapUpMode.TIME_BOXED: "Wrap-up is time-boxed: when the time runs out the call "
                                   "is wrapped with the default code and you are available "
                                   "again.",
        }[self.policy.mode]
        self.rule = QLabel(rule)
        self.rule.setObjectName("muted")
        self.rule.setWordWrap(True)
        layout.addWidget(self.rule)
        form = QFormLayout()
        self.reason_filter = QLineEdit()
        self.reason_filter.setPlaceholderText("Type to find the reason (\u2191\u2193 to choose)")
        self.reason_filter.setAccessibleName("Find a contact reason")
        self.reason_list = QListWidget()
        self.reason_list.setAccessibleName("Contact reasons")
        self.reason_list.setMinimumHeight(150)
        for code in self.reasons:
            item = QListWidgetItem(f"{code.label}   ({code.category})")
            item.setData(Qt.ItemDataRole.UserRole, code.code)
            self.reason_list.addItem(item)
        self.reason_filter.textChanged.connect(self._filter_reasons)
        self.reason_list.currentRowChanged.connect(lambda _r: self._check())
        _ListKeys(self.reason_filter, self.reason_list)
        label = QLabel("Contact &reason")
        label.setBuddy(self.reason_filter)
        form.addRow(label, self.reason_filter)
        form.addRow("", self.reason_list)
        self.code_box = QComboBox()
        self.code_box.setAccessibleName("Wrap-up code")
        self.code_box.addItem("(choose a wrap-up code)", "")
        for code in self.codes:
            self.code_box.addItem(code.label, code.code)
        self.code_box.currentIndexChanged.connect(lambda _i: self._code_chosen())
        code_label = QLabel("&Wrap-up code")
        code_label.setBuddy(self.code_box)
        form.addRow(code_label, self.code_box)
        self.resolved = QCheckBox("Issue &resolved on this call")
        form.addRow("", self.resolved)
        self.summary = QPlainTextEdit()
        self.summary.setPlaceholderText("Optional: what happened, for the next agent")
        self.summary.setAccessibleName("Call summary")
        self.summary.setFixedHeight(70)
        self.summary.textChanged.connect(self._check)
        summary_label = QLabel("&Summary")
        summary_label.setBuddy(self.summary)
        form.addRow(summary_label, self.summary)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("What is missing")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Finish (Ctrl+Enter)")
        self.buttons.accepted.connect(self.submit)
        layout.addWidget(self.buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.submit)
        self.reason_filter.setFocus()
        self.resize(520, 560)
        self._check()

    def _filter_reasons(self, text: str) -> None:
        words = text.lower().split()
        first = -1
        for i in range(self.reason_list.count()):
            item = self.reason_list.item(i)
            hay = f"{item.text()} {item.data(Qt.ItemDataRole.UserRole)}".lower()
            hidden = not all(w in hay for w in words)
            item.setHidden(hidden)
            if not hidden and first < 0:
                first = i
        current = self.reason_list.currentItem()
        if current is None or current.isHidden():
            self.reason_list.setCurrentRow(first)
        self._check()

    def _code_chosen(self) -> None:
        code = self.code_box.currentData()
        if code:
            self.resolved.setChecked(code in _RESOLVED_BY_DEFAULT)
        self._check()

    def wrap_up(self) -> WrapUp:
        item = self.reason_list.currentItem()
        reason = "" if item is None or item.isHidden() else str(
            item.data(Qt.ItemDataRole.UserRole))
        return WrapUp(str(self.code_box.currentData() or ""), reason,
                      self.resolved.isChecked(), self.summary.toPlainText())

    def _check(self) -> bool:
        try:
            check_wrap_up(self.policy, self.wrap_up(), self._wrap_codes, self._reason_codes)
        except UserFacingError as exc:
            self.error.setText(exc.message)
            self.ok.setEnabled(False)
            return False
        self.error.setText("")
        self.ok.setEnabled(True)
        return True

    def submit(self) -> None:
        if not self._check():
            return
        wrap = check_wrap_up(self.policy, self.wrap_up(), self._wrap_codes,
                             self._reason_codes)
        self.ok.setEnabled(False)
        self.error.setText("Saving\u2026")
        self.submitted.emit(WrapRequest(
            wrap_up_code=wrap.wrap_up_code, reason_code=wrap.reason_code,
            resolved=wrap.resolved, summary=wrap.summary,
            customer_id=self.customer[0] if self.customer else None))

    def failed(self, words: str) -> None:
        self.error.setText(words)
        self.ok.setEnabled(True)


# Codes that mean the issue is settled on this call (the resolved box starts ticked).
_RESOLVED_BY_DEFAULT = frozenset({
    "RESOLVED-FIRST-CALL", "INFO-PROVIDED", "PAYMENT-TAKEN", "ADJUSTMENT-POSTED",
    "ORDER-PLACED", "TROUBLESHOOT-FIXED", "RETAINED", "CANCEL-PROCESSED", "PROMISE-TO-PAY",
    "ARRANGEMENT-SET", "OUTAGE-INFORMED",
})


class TransferDialog(QDialog):
    """Transfer to a queue, with a note the next agent sees on their call bar."""

    chosen = Signal(str, str)  # queue, note

    def __init__(self, queues: Sequence[QueueInfo], current_queue: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Transfer the call")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.queue = QComboBox()
        self.queue.setAccessibleName("Transfer to queue")
        for queue in queues:
            if queue.name != current_queue:
                self.queue.addItem(queue.label, queue.name)
        form.addRow("&Queue", self.queue)
        self.note = QLineEdit()
        self.note.setMaxLength(500)
        self.note.setPlaceholderText("Why, for the next agent (they see it as the call rings)")
        self.note.setAccessibleName("Transfer note")
        form.addRow("&Note", self.note)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Transfer")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.queue.setFocus()

    def _accept(self) -> None:
        self.chosen.emit(str(self.queue.currentData() or ""), self.note.text())
        self.accept()


class CallerChooser(QDialog):
    """Several customers share the caller's number: the agent asks and picks one."""

    picked = Signal(str, str)  # customer id, name

    def __init__(self, number: str, hits: Sequence[CustomerHit],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who is calling?")
        layout = QVBoxLayout(self)
        intro = QLabel(f"{len(hits)} customers have the number {number}. Ask the caller "
                       "for their name or account number, then pick (\u2191\u2193, Enter).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.items = QListWidget()
        self.items.setAccessibleName("Customers with this number")
        for hit in hits:
            where = f" \u00b7 {hit.location}" if hit.location else ""
            item = QListWidgetItem(f"{hit.display_name}   {hit.account_number}{where}"
                                   f"   ({hit.status})")
            item.setData(Qt.ItemDataRole.UserRole, (hit.customer_id, hit.display_name))
            self.items.addItem(item)
        self.items.setCurrentRow(0)
        self.items.itemActivated.connect(lambda _i: self._pick())
        layout.addWidget(self.items)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open")
        buttons.accepted.connect(self._pick)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.items.setFocus()
        self.resize(520, 300)

    def _pick(self) -> None:
        item = self.items.currentItem()
        if item is None:
            return
        customer_id, name = item.data(Qt.ItemDataRole.UserRole)
        self.picked.emit(customer_id, name)
        self.accept()
