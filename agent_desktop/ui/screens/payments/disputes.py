"""Billing disputes: open one from a bill's line (Ctrl+Shift+I on a bill in the 360's
ledger), and resolve a dispute case with a credit (Alt+D on the case), which goes
through the same approval rules as any adjustment."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QWidget

from agent_desktop.domain import payments as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import disputes
from agent_desktop.services.cases import CaseChange
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.store import Store
from agent_desktop.ui.screens.cases.dialogs import ActionDialog
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import money, muted


def _amount_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class DisputeDialog(ActionDialog):
    """Which line of the bill, how much of it, and what the customer says."""

    opened = Signal(object)  # CaseChange of the dispute case
    lines_shown = Signal()  # the bill's lines are in the list

    def __init__(self, store: Store, who: AgentContext, customer_id: str, customer_name: str,
                 invoice_id: str, invoice_number: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Dispute a charge on {invoice_number} \u2014 {customer_name}", parent)
        self.store, self.who = store, who
        self.customer_id, self.invoice_id = customer_id, invoice_id
        self.lines: list[disputes.LineRow] = []
        intro = muted("A dispute is a billing case on one line of the bill. If the customer "
                      "is right, resolve it with a credit (Alt+D on the case).")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QFormLayout()
        form.setVerticalSpacing(6)
        self.line = QComboBox()
        self.line.setAccessibleName("Disputed line")
        self.line.addItem("Loading the bill's lines\u2026", None)
        self.amount = QLineEdit()
        self.amount.setAccessibleName("Disputed amount")
        self.amount_hint = muted("")
        self.amount_hint.setWordWrap(True)
        self.said = QPlainTextEdit()
        self.said.setAccessibleName("What the customer says")
        self.said.setPlaceholderText("What the customer says is wrong (Ctrl+Enter saves)")
        self.said.setTabChangesFocus(True)
        self.said.setFixedHeight(90)
        for text, widget in (("&Line", self.line), ("&Amount ($)", self.amount)):
            label = QLabel(text)
            label.setBuddy(widget)
            form.addRow(label, widget)
            if widget is self.amount:
                form.addRow("", self.amount_hint)
        said_label = QLabel("&What the customer says")
        said_label.setBuddy(self.said)
        form.addRow(said_label, self.said)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.save_words("Open dispute")
        self.setMinimumWidth(560)
        self.line.currentIndexChanged.connect(lambda _i: self._line_chosen())
        self.amount.textEdited.connect(lambda _t: self.revalidate())
        self.amount.returnPressed.connect(self.accept)
        self.said.textChanged.connect(self.revalidate)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.accept)
        self.submitted.connect(self._save)
        self.revalidate()
        Op(self, lambda: disputes.invoice_lines(store, invoice_id)).success(
            self._show_lines).failure(lambda exc: self.failed(str(exc))).run()
        self.line.setFocus()

    def _show_lines(self, lines: list[disputes.LineRow]) -> None:
        self.lines = [line for line in lines if line.amount_cents > 0]
        self.line.clear()
        for line in self.lines:
            self.line.addItem(f"{line.description} \u2014 {money(line.amount_cents)}", line.id)
        if not self.lines:
            self.line.addItem("This bill has no charge to dispute", None)
        self._line_chosen()
        self.lines_shown.emit()

    def _line_chosen(self) -> None:
        line = self.chosen()
        if line is not None:
            self.amount.setText(_amount_text(line.amount_cents))
        self.revalidate()

    def chosen(self) -> disputes.LineRow | None:
        line_id = self.line.currentData()
        return next((line for line in self.lines if line.id == line_id), None)

    def problem(self) -> str:
        line = self.chosen()
        if line is None:
            return "Choose the line the customer disputes."
        try:
            cents = rules.parse_amount(self.amount.text())
        except UserFacingError as exc:
            return exc.message
        if cents <= 0:
            return "The disputed amount must be more than $0.00."
        if cents > line.amount_cents:
            return f"At most the line's {money(line.amount_cents)} can be disputed."
        if not self.said.toPlainText().strip():
            return "Write what the customer says is wrong."
        return ""

    def valid(self) -> bool:
        problem = self.problem()
        self.amount_hint.setText(problem)
        self.amount_hint.setVisible(bool(problem))
        return not problem

    def _save(self) -> None:
        line = self.chosen()
        assert line is not None
        cents = rules.parse_amount(self.amount.text())
        said = self.said.toPlainText()
        store, who, customer_id, invoice_id = (self.store, self.who, self.customer_id,
                                               self.invoice_id)

        def open_it() -> CaseChange:
            return disputes.open_dispute(store, who, customer_id, invoice_id, line.id, cents,
                                         said)

        Op(self, open_it, write=True).success(self._opened).failure(self._refused).run()

    def _opened(self, change: CaseChange) -> None:
        self.finish()
        self.opened.emit(change)

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, UserFacingError):
            self.failed(exc.message)
            return
        self.failed("The dispute could not be saved; nothing was changed. Try again.")
        raise exc


class CreditDialog(ActionDialog):
    """Resolve a dispute with a credit for the disputed line."""

    resolved = Signal(object)  # disputes.DisputeResolved

    def __init__(self, store: Store, who: AgentContext, case_id: str, case_number: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Resolve {case_number} with a credit", parent)
        self.store, self.who, self.case_id = store, who, case_id
        intro = muted("The credit goes on the disputed line. Within your limits it posts and "
                      "the dispute is resolved; above them a supervisor approves it first.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QFormLayout()
        self.amount = QLineEdit()
        self.amount.setAccessibleName("Credit amount")
        self.amount.setPlaceholderText("e.g. 12.50")
        self.hint = muted("")
        self.memo = QLineEdit()
        self.memo.setAccessibleName("Memo")
        self.memo.setPlaceholderText("Why the customer is right (optional)")
        self.memo.setMaxLength(rules.MAX_MEMO)
        amount_label = QLabel("&Amount ($)")
        amount_label.setBuddy(self.amount)
        memo_label = QLabel("&Memo")
        memo_label.setBuddy(self.memo)
        form.addRow(amount_label, self.amount)
        form.addRow("", self.hint)
        form.addRow(memo_label, self.memo)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.save_words("Credit")
        self.amount.textEdited.connect(lambda _t: self.revalidate())
        for edit in (self.amount, self.memo):
            edit.returnPressed.connect(self.accept)
        self.submitted.connect(self._save)
        self.revalidate()
        self.amount.setFocus()

    def valid(self) -> bool:
        try:
            cents = rules.parse_amount(self.amount.text())
            ok = cents > 0
            self.hint.setText("" if ok else "The credit must be more than $0.00.")
        except UserFacingError as exc:
            self.hint.setText(exc.message)
            ok = False
        return ok

    def _save(self) -> None:
        cents = rules.parse_amount(self.amount.text())
        store, who, case_id, memo = self.store, self.who, self.case_id, self.memo.text()
        Op(self, lambda: disputes.resolve_with_credit(store, who, case_id, cents, memo),
           write=True).success(self._done).failure(self._refused).run()

    def _done(self, result: disputes.DisputeResolved) -> None:
        self.finish()
        self.resolved.emit(result)

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, UserFacingError):
            self.failed(exc.message)
            return
        self.failed("The credit could not be saved; nothing was changed. Try again.")
        raise exc
