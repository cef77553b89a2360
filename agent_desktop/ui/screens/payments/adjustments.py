"""Adjusting a bill (Ctrl+J on the 360) and the supervisors' approval queue
(Ctrl+Shift+A).

The adjustment dialog says as the agent types whether the amount makes sense and whether
the adjustment posts at once or waits for a supervisor (maker-checker, shared/DOMAIN.md):
the agent's limits are read off the UI thread once when it opens, and the same pure rule
the service decides with (``domain.payments.plan_adjustment``) runs on every keystroke.
Saving runs ``request_adjustment`` off the UI thread; the service has the last word.

The approvals dialog lists what waits, oldest first. A or Enter approves the selected
row, R asks why and rejects it; a refusal (nobody approves their own) shows in the dialog.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.billing import EntryKind
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.payments import (
    MAX_MEMO,
    MAX_PAYMENT_CENTS,
    AdjustmentPlan,
    parse_amount,
    plan_adjustment,
)
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.services.customer360 import Customer360
from agent_desktop.services.payments import (
    AdjustmentQueued,
    adjustment_limits,
    adjustment_reasons,
    decide_adjustment,
    pending_adjustments,
    request_adjustment,
)
from agent_desktop.storage.payments import AdjustmentRow
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.screens.cases.dialogs import ActionDialog
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import (
    Column,
    RowsModel,
    fit_columns,
    make_table,
    money,
    muted,
)

log = logging.getLogger(__name__)

_REFUSED = "The change was not saved because of an error; nothing was changed."
_INVOICES_SHOWN = 12  # the most recent bills an adjustment usually applies to


def _restyle(label: QLabel, name: str) -> None:
    if label.objectName() != name:
        label.setObjectName(name)
        label.style().unpolish(label)
        label.style().polish(label)


def _message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, (UserFacingError, StoreError)) else _REFUSED


@dataclass(frozen=True, slots=True)
class Check:
    """What the dialog's input amounts to, as the agent types."""

    cents: int | None = None
    amount_problem: str = ""  # shown under the amount
    problem: str = ""  # anything else that keeps Save disabled (the reason, the memo)
    plan: AdjustmentPlan | None = None  # None until the agent's limits are read

    @property
    def ok(self) -> bool:
        return self.cents is not None and not self.amount_problem and not self.problem


class AdjustmentDialog(ActionDialog):
    """Credit or debit the customer's bill: direction, amount, reason code, optionally
    the invoice it applies to and a memo. Enter saves."""

    adjusted = Signal(object)  # AdjustmentQueued, after a successful save
    notice = Signal(str)  # the outcome in words, for the status bar
    limits_read = Signal()  # the agent's limits arrived (or could not be read)

    def __init__(self, customer: Customer360, store: Store, who: AgentContext,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Adjust the bill \u2014 {customer.display_name}", parent)
        self.customer = customer
        self.store = store
        self.who = who
        self.limits: tuple[int, int, int] | None = None  # per adjustment, per day, used
        self._limits_failed = False

        balance = QLabel(f"Balance now: <b>{money(customer.balance_cents)}</b> "
                         f"\u00b7 account {customer.account_number}")
        balance.setAccessibleName("Current balance")
        self.layout_.addWidget(balance)
        intro = muted("A credit lowers what the customer owes; a debit adds to it. Above "
                      "your limits a supervisor approves it first and the balance does not "
                      "move until then.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)

        form = QFormLayout()
        form.setVerticalSpacing(6)
        form.setHorizontalSpacing(14)
        self.credit = QRadioButton("&Credit (lowers the bill)")
        self.debit = QRadioButton("&Debit (adds to the bill)")
        self.credit.setChecked(True)
        self.direction_group = QButtonGroup(self)
        for button in (self.credit, self.debit):
            self.direction_group.addButton(button)
        directions = QHBoxLayout()
        directions.setSpacing(18)
        directions.addWidget(self.credit)
        directions.addWidget(self.debit)
        directions.addStretch(1)
        form.addRow("Direction", directions)

        self.amount = QLineEdit()
        self.amount.setAccessibleName("Amount")
        self.amount.setPlaceholderText("e.g. 12.50")
        self.amount.setMaxLength(20)
        self.amount_hint = muted("")  # one short line: no wrapping, no stray height
        self.amount_hint.setAccessibleName("Amount check")
        amount_label = QLabel("&Amount")
        amount_label.setBuddy(self.amount)
        form.addRow(amount_label, self.amount)
        form.addRow("", self.amount_hint)

        self.reason = QComboBox()
        self.reason.setAccessibleName("Reason code")
        reason_label = QLabel("&Reason")
        reason_label.setBuddy(self.reason)
        form.addRow(reason_label, self.reason)

        self.invoice = QComboBox()
        self.invoice.setAccessibleName("Invoice it applies to")
        self.invoice.addItem("No particular invoice", None)
        bills = sorted((line.entry for line in customer.ledger
                        if line.entry.kind == EntryKind.INVOICE),
                       key=lambda e: e.posted_on, reverse=True)
        for bill in bills[:_INVOICES_SHOWN]:
            self.invoice.addItem(f"{bill.reference or 'Bill'} \u00b7 {bill.description} "
                                 f"\u00b7 {money(bill.amount_cents)}", bill.entry_id)
        invoice_label = QLabel("&Invoice")
        invoice_label.setBuddy(self.invoice)
        form.addRow(invoice_label, self.invoice)

        self.memo = QLineEdit()
        self.memo.setAccessibleName("Memo")
        self.memo.setPlaceholderText("What happened, what the customer was told (optional)")
        self.memo.setMaxLength(MAX_MEMO)
        memo_label = QLabel("M&emo")
        memo_label.setBuddy(self.memo)
        form.addRow(memo_label, self.memo)
        self.layout_.addLayout(form)

        self.plan_hint = muted("Reading your limits\u2026")
        self.plan_hint.setWordWrap(True)
        self.plan_hint.setAccessibleName("Posts at once or needs approval")
        self.layout_.addWidget(self.plan_hint)
        self.finish_layout()
        self.save_words("Save")
        self.setMinimumWidth(600)

        self.direction_group.buttonToggled.connect(lambda _b, _on: self._fill_reasons())
        self.amount.textChanged.connect(lambda _t: self.revalidate())
        self.memo.textChanged.connect(lambda _t: self.revalidate())
        self.reason.currentIndexChanged.connect(lambda _i: self.revalidate())
        self.amount.returnPressed.connect(self.accept)
        self.memo.returnPressed.connect(self.accept)
        self.submitted.connect(self._save)
        self._fill_reasons()
        self.amount.setFocus()

        Op(self, lambda: adjustment_limits(store, who)).success(self._limits_arrived).failure(
            self._limits_unread).run()

    # --- what the agent chose -----------------------------------------------------------
    def direction(self) -> str:
        return "debit" if self.debit.isChecked() else "credit"

    def reason_code(self) -> str:
        data = self.reason.currentData()
        return str(data) if data else ""

    def invoice_id(self) -> str | None:
        data = self.invoice.currentData()
        return str(data) if data else None

    def _fill_reasons(self) -> None:
        keep = self.reason_code()
        direction = self.direction()
        self.reason.blockSignals(True)
        self.reason.clear()
        self.reason.addItem("Choose a reason\u2026", None)
        for code, label, applies in adjustment_reasons():
            if applies in (direction, "either"):
                self.reason.addItem(label, code)
        found = self.reason.findData(keep) if keep else -1
        self.reason.setCurrentIndex(max(found, 0))
        self.reason.blockSignals(False)
        self.revalidate()

    # --- the limits, read once off the UI thread ----------------------------------------
    def _limits_arrived(self, limits: tuple[int, int, int]) -> None:
        self.limits = limits
        self.revalidate()
        self.limits_read.emit()

    def _limits_unread(self, exc: BaseException) -> None:
        log.warning("could not read the agent's adjustment limits", exc_info=exc)
        self._limits_failed = True
        self.revalidate()
        self.limits_read.emit()

    # --- as the agent types -------------------------------------------------------------
    def check(self) -> Check:
        text = self.amount.text()
        try:
            cents = parse_amount(text)
            # The amount alone (a stand-in reason, no limits): its own message.
            plan_adjustment(cents, self.direction(), "-", "", MAX_PAYMENT_CENTS,
                            MAX_PAYMENT_CENTS, 0)
        except UserFacingError as exc:
            return Check(amount_problem=exc.message)
        limit, daily, used = self.limits if self.limits is not None \
            else (MAX_PAYMENT_CENTS, MAX_PAYMENT_CENTS, 0)
        try:
            plan = plan_adjustment(cents, self.direction(), self.reason_code(),
                                   self.memo.text(), limit, daily, used)
        except UserFacingError as exc:
            return Check(cents=cents, problem=exc.message)
        return Check(cents=cents, plan=plan if self.limits is not None else None)

    def valid(self) -> bool:
        return self.check().ok

    def revalidate(self) -> None:
        check = self.check()
        if check.amount_problem:
            self.amount_hint.setText(check.amount_problem)
            _restyle(self.amount_hint,
                     "badge_warning" if self.amount.text().strip() else "muted")
        else:
            assert check.cents is not None
            sign = -1 if self.direction() == "credit" else 1
            after = self.customer.balance_cents + sign * check.cents
            self.amount_hint.setText(f"Once posted the balance becomes {money(after)}.")
            _restyle(self.amount_hint, "muted")
        self._show_plan(check)
        super().revalidate()

    def _show_plan(self, check: Check) -> None:
        if check.problem:
            self.plan_hint.setText(check.problem)
            _restyle(self.plan_hint, "badge_warning")
        elif check.plan is not None and check.plan.status == "posted":
            self.plan_hint.setText("Posts at once: within your limits. Enter saves.")
            _restyle(self.plan_hint, "badge_ok")
        elif check.plan is not None:
            self.plan_hint.setText(f"Needs a supervisor's approval. {check.plan.why}")
            _restyle(self.plan_hint, "badge_warning")
        elif self.limits is not None:
            limit, daily, used = self.limits
            self.plan_hint.setText(
                f"Up to {money(limit)} per adjustment ({money(daily)} a day, "
                f"{money(used)} used today) posts at once; above that a supervisor "
                "approves it.")
            _restyle(self.plan_hint, "muted")
        elif self._limits_failed:
            self.plan_hint.setText("Your limits could not be read: when you save, the "
                                   "desk says whether it posted or waits for approval.")
            _restyle(self.plan_hint, "muted")
        else:
            self.plan_hint.setText("Reading your limits\u2026")
            _restyle(self.plan_hint, "muted")

    # --- saving ---------------------------------------------------------------------------
    def _save(self) -> None:
        check = self.check()
        if check.cents is None or not check.ok:
            self.failed(check.amount_problem or check.problem or "Check the amount.")
            return
        store, who, customer_id = self.store, self.who, self.customer.customer_id
        direction, cents, code = self.direction(), check.cents, self.reason_code()
        memo, invoice_id = self.memo.text(), self.invoice_id()

        def saved(queued: AdjustmentQueued) -> None:
            what = f"{direction.title()} of {money(cents)}"
            text = f"{what} posted" if queued.status == "posted" \
                else f"{what} waits for a supervisor's approval"
            self.finish()
            self.adjusted.emit(queued)
            self.notice.emit(text)

        def refused(exc: BaseException) -> None:
            self.failed(_message(exc))
            if not isinstance(exc, (UserFacingError, StoreError)):
                raise exc

        Op(self, lambda: request_adjustment(store, who, customer_id, direction, cents, code,
                                            memo, invoice_id=invoice_id),
           write=True).success(saved).failure(refused).run()


class ApprovalsDialog(QDialog):
    """Supervisors: the adjustments waiting for approval. ↑/↓ choose, A or Enter
    approves, R rejects (with a reason the agent reads)."""

    decided = Signal(object)  # Changes
    loaded = Signal()  # the queue was read (or could not be)

    def __init__(self, store: Store, who: AgentContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self.rows_loaded = False
        self._busy = False
        self.setWindowTitle("Adjustments waiting for approval")
        self.resize(980, 440)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        self.intro = muted("Oldest first. \u2191/\u2193 choose; A or Enter approves; R rejects "
                           "(say why: the agent who asked reads it). Nobody approves their "
                           "own adjustment.")
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)

        labels = {code: label for code, label, _d in adjustment_reasons()}
        me = who.agent_id
        self.model = RowsModel([
            Column("Customer", lambda r: r.customer_name, tooltip=lambda r: r.customer_name),
            Column("Direction", lambda r: r.direction.title()),
            Column("Amount", lambda r: money(r.amount_cents), align_right=True),
            Column("Reason", lambda r: labels.get(r.reason_code, r.reason_code),
                   tooltip=lambda r: labels.get(r.reason_code, r.reason_code)),
            Column("Requested by", lambda r: (r.requested_name or "\u2014")
                   + (" (you)" if me is not None and r.requested_by == me else "")),
            Column("When", lambda r: r.created_at.astimezone().strftime("%b %d %H:%M")),
            Column("Memo", lambda r: r.memo, tooltip=lambda r: r.memo),
        ])
        self.table = make_table(self.model, stretch_column=6)
        self.table.setAccessibleName("Adjustments waiting for approval")
        self.table.activated.connect(lambda _i: self.approve_selected())
        self.table.hide()
        layout.addWidget(self.table, 1)
        self.empty = QLabel("Reading the queue\u2026")
        self.empty.setObjectName("emptyTitle")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMinimumHeight(160)
        layout.addWidget(self.empty, 1)

        self.reject_row = QWidget()
        row = QHBoxLayout(self.reject_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Why it is rejected")
        self.reason.setPlaceholderText("Why? The agent who asked reads it. Enter rejects; "
                                       "Esc goes back.")
        self.reason.setMaxLength(MAX_MEMO)
        reason_label = QLabel("&Why rejected")
        reason_label.setBuddy(self.reason)
        row.addWidget(reason_label)
        row.addWidget(self.reason, 1)
        self.reject_row.hide()
        layout.addWidget(self.reject_row)

        self.message = QLabel()
        self.message.setObjectName("badge_danger")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Why it was not done")
        self.message.hide()
        layout.addWidget(self.message)
        self.status = muted("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("What was done")
        layout.addWidget(self.status)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.approve_button = buttons.addButton("&Approve",
                                                QDialogButtonBox.ButtonRole.ActionRole)
        self.reject_button = buttons.addButton("&Reject\u2026",
                                               QDialogButtonBox.ButtonRole.ActionRole)
        self.approve_button.clicked.connect(self.approve_selected)
        self.reject_button.clicked.connect(self.ask_reason)
        buttons.rejected.connect(self.reject)
        for button in buttons.buttons():
            if isinstance(button, QPushButton):
                button.setAutoDefault(False)  # Enter belongs to the table and the reason
        layout.addWidget(buttons)
        self.buttons = buttons

        for widget, keys, slot in (
                (self.table, "A", self.approve_selected),
                (self.table, "Return", self.approve_selected),
                (self.table, "Enter", self.approve_selected),
                (self.table, "R", self.ask_reason),
                (self.reason, "Escape", self.cancel_reason)):
            shortcut = QShortcut(QKeySequence(keys), widget, slot)
            # Set apart: PySide6 drops the context given to the constructor with a slot.
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.reason.returnPressed.connect(self.reject_selected)
        self._enable()
        self.load()

    # --- the queue ------------------------------------------------------------------------
    def load(self) -> None:
        store = self.store
        Op(self, lambda: pending_adjustments(store)).success(self._show).failure(
            self._unread).run()

    def _show(self, rows: list[AdjustmentRow]) -> None:
        self.rows_loaded = True
        self._set_rows(rows)
        if rows:
            fit_columns(self.table)  # the memo takes what is left
        self.loaded.emit()

    def _unread(self, exc: BaseException) -> None:
        log.warning("could not read the approval queue", exc_info=exc)
        self.rows_loaded = True
        self.empty.setText("The queue could not be read; close and open it again.")
        self.loaded.emit()

    def rows(self) -> list[AdjustmentRow]:
        return [self.model.row(i) for i in range(self.model.rowCount())]

    def _set_rows(self, rows: list[AdjustmentRow], select: int = 0) -> None:
        self.model.set_rows(rows)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        if rows:
            self.table.selectRow(min(max(select, 0), len(rows) - 1))
            self.table.setFocus()
        else:
            self.empty.setText("Nothing waits for approval.")
            self.reject_row.hide()
            close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
            close.setFocus()
        self._enable()

    def _enable(self) -> None:
        has = self.model.rowCount() > 0 and not self._busy
        self.approve_button.setEnabled(has)
        self.reject_button.setEnabled(has)

    def selected(self) -> AdjustmentRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row: AdjustmentRow = self.model.row(index.row())
        return row

    # --- deciding ---------------------------------------------------------------------------
    def approve_selected(self) -> None:
        row = self.selected()
        if row is not None:
            self._decide(row, True, "")

    def ask_reason(self) -> None:
        if self.selected() is None or self._busy:
            return
        self.message.hide()
        self.reject_row.show()
        self.reason.setFocus()

    def cancel_reason(self) -> None:
        self.reason.clear()
        self.reject_row.hide()
        self.table.setFocus()

    def reject_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        if not self.reason.text().strip():
            self._refused("Say why it is rejected: the agent who asked will read it.")
            return
        self._decide(row, False, self.reason.text())

    def _decide(self, row: AdjustmentRow, approve: bool, reason: str) -> None:
        if self._busy:
            return
        self._busy = True
        self._enable()
        self.message.hide()
        what = f"{row.direction} of {money(row.amount_cents)} for {row.customer_name}"
        self.status.setText(f"{'Approving' if approve else 'Rejecting'} the {what}\u2026")
        store, who = self.store, self.who

        def done(changes: Changes) -> None:
            self._busy = False
            rows = [r for r in self.rows() if r.id != row.id]
            at = next((i for i, r in enumerate(self.rows()) if r.id == row.id), 0)
            self.reason.clear()
            self.reject_row.hide()
            self._set_rows(rows, at)
            self.status.setText(f"Approved: the {what} is posted." if approve else
                                f"Rejected: the {what}; the agent who asked sees why.")
            self.decided.emit(changes)

        def refused(exc: BaseException) -> None:
            self._busy = False
            self._enable()
            self.status.setText("")
            self._refused(_message(exc))
            if not isinstance(exc, (UserFacingError, StoreError)):
                raise exc

        Op(self, lambda: decide_adjustment(store, who, row.id, approve, reason),
           write=True).success(done).failure(refused).run()

    def _refused(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
