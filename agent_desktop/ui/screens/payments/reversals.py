"""Void or refund a payment (Ctrl+Shift+V on a payment row of the 360's Billing ledger).

A payment taken today can be voided: the whole amount is cancelled before it settles.
After that day it can only be refunded, in part or in full, never more than is left of
it, with a reason; above the agent's refund limit only a supervisor refunds, and the
dialog says so as soon as the amount is typed, before Save. What is possible is read off
the UI thread when the dialog opens (``reversal_options``); the save runs
``void_payment`` / ``refund_payment`` on the write worker and the service has the last
word: its refusal shows in the dialog with the input kept. The reversal is queued as a
pending ledger entry and settles with the next sync.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from agent_desktop.domain import payments as rules
from agent_desktop.domain.billing import EntryKind
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import payments as service
from agent_desktop.services.context import AgentContext
from agent_desktop.services.customer360 import Customer360, LedgerLine
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.screens.cases.dialogs import ActionDialog
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import money, muted

log = logging.getLogger(__name__)

_ERROR = "The change was not saved because of an error; nothing was changed."


def is_payment(line: LedgerLine | None) -> bool:
    """A line that can be voided or refunded: a payment (not a void, refund or bill)."""
    return line is not None and line.entry.kind == EntryKind.PAYMENT


def _restyle(label: QLabel, name: str) -> None:
    if label.objectName() != name:
        label.setObjectName(name)
        label.style().unpolish(label)
        label.style().polish(label)


class ReversalDialog(ActionDialog):
    """One payment: Void (taken today) or Refund (an amount and a reason). Enter saves."""

    reversed = Signal(object)  # service.PaymentQueued, once the void or refund is queued
    notice = Signal(str)  # the outcome in words, for the status bar
    options_read = Signal()  # what can be done with the payment is known (or unreadable)

    def __init__(self, customer: Customer360, line: LedgerLine, store: Store,
                 who: AgentContext, parent: QWidget | None = None) -> None:
        super().__init__(f"Void or refund a payment \u2014 {customer.display_name}", parent)
        self.customer, self.line, self.store, self.who = customer, line, store, who
        self.payment_id = line.entry.entry_id
        self.options: service.ReversalOptions | None = None
        self.queued: service.PaymentQueued | None = None
        paid = -line.entry.amount_cents
        head = QLabel(f"<b>{money(paid)}</b> \u00b7 {line.entry.description} \u00b7 "
                      f"{line.entry.posted_on:%b %d, %Y}"
                      + (f" \u00b7 {line.entry.reference}" if line.entry.reference else ""))
        head.setAccessibleName("The payment")
        self.layout_.addWidget(head)
        self.what = QLabel("Reading the payment\u2026")
        self.what.setWordWrap(True)
        self.what.setAccessibleName("What happens")
        self.layout_.addWidget(self.what)

        form = QFormLayout()
        form.setVerticalSpacing(6)
        form.setHorizontalSpacing(14)
        self.amount = QLineEdit()
        self.amount.setAccessibleName("Refund amount")
        self.amount.setPlaceholderText("e.g. 12.50")
        self.amount.setMaxLength(20)
        self.amount_label = QLabel("&Amount ($)")
        self.amount_label.setBuddy(self.amount)
        self.amount_hint = muted("")
        self.amount_hint.setWordWrap(True)
        self.amount_hint.setAccessibleName("Refund amount check")
        form.addRow(self.amount_label, self.amount)
        form.addRow("", self.amount_hint)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setMaxLength(rules.MAX_MEMO)
        reason_label = QLabel("&Reason")
        reason_label.setBuddy(self.reason)
        self.reason_hint = muted("")
        self.reason_hint.setAccessibleName("Reason check")
        form.addRow(reason_label, self.reason)
        form.addRow("", self.reason_hint)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.save_words("Save")
        self.setMinimumWidth(560)
        self._show_amount(False)

        self.amount.textChanged.connect(lambda _t: self.revalidate())
        self.reason.textChanged.connect(lambda _t: self.revalidate())
        self.amount.returnPressed.connect(self.accept)
        self.reason.returnPressed.connect(self.accept)
        self.submitted.connect(self._save)
        self.revalidate()
        Op(self, lambda: service.reversal_options(store, who, self.payment_id)).success(
            self._options_arrived).failure(self._options_unread).run()

    # --- what is possible, read once off the UI thread -----------------------------------
    def mode(self) -> str:
        """void, refund, or "" while unknown or when neither is possible."""
        o = self.options
        if o is None or o.why_not:
            return ""
        return "void" if o.voidable else "refund"

    def _show_amount(self, shown: bool) -> None:
        for widget in (self.amount_label, self.amount, self.amount_hint):
            widget.setVisible(shown)

    def _options_arrived(self, options: service.ReversalOptions) -> None:
        self.options = options
        if options.why_not:
            self.what.setText(options.why_not)
            _restyle(self.what, "badge_warning")
            self.reason.setEnabled(False)
        elif options.voidable:
            self.what.setText(
                f"Taken today, so it can be voided: the whole {money(options.amount_cents)} "
                "is cancelled before it settles and the customer is not charged.")
            self.reason.setPlaceholderText("Why? e.g. paid twice by mistake (optional)")
            self.save_words("&Void payment")
            self.reason.setFocus()
        else:
            limit = ("" if options.supervisor else
                     f" Your refund limit is {money(options.refund_limit_cents)}; above it a "
                     "supervisor takes the refund.")
            self.what.setText(
                f"Taken on {self.line.entry.posted_on:%b %d}, so it can no longer be voided, "
                f"only refunded: up to {money(options.refundable_cents)} is left to "
                f"refund, back to the same method.{limit}")
            left = options.refundable_cents
            self.amount.setText(f"{left // 100}.{left % 100:02d}")
            self.reason.setPlaceholderText("Why? e.g. service outage credit (required)")
            self.save_words("&Refund")
            self._show_amount(True)
            self.amount.setFocus()
            self.amount.selectAll()
        self.revalidate()
        self.adjustSize()
        self.options_read.emit()

    def _options_unread(self, exc: BaseException) -> None:
        self.what.setText(str(exc) if isinstance(exc, (UserFacingError, StoreError))
                          else "The payment could not be read; close and try again.")
        _restyle(self.what, "badge_warning")
        self.options_read.emit()
        if not isinstance(exc, (UserFacingError, StoreError)):
            log.error("could not read the payment's options", exc_info=exc)

    # --- as the agent types ---------------------------------------------------------------
    def problem(self) -> str:
        """Why Save is not possible yet ("" when it is); also refreshes the hints."""
        mode, options = self.mode(), self.options
        self.amount_hint.setText("")
        self.reason_hint.setText("")
        if options is None or not mode:
            return options.why_not if options is not None else "Reading the payment\u2026"
        if mode == "void":
            return ""
        try:
            cents = rules.parse_amount(self.amount.text())
            rules.check_refund(cents, options.amount_cents,
                               options.amount_cents - options.refundable_cents,
                               options.refund_limit_cents, options.supervisor)
        except UserFacingError as exc:
            self.amount_hint.setText(exc.message)
            _restyle(self.amount_hint, "badge_warning")
            return exc.message
        after = self.customer.balance_cents + cents
        self.amount_hint.setText(f"Once it settles the balance becomes {money(after)}.")
        _restyle(self.amount_hint, "muted")
        if not self.reason.text().strip():
            self.reason_hint.setText("Say why it is refunded: it goes on the audit record.")
            return "Say why it is refunded."
        return ""

    def valid(self) -> bool:
        return not self.problem()

    def refund_cents(self) -> int | None:
        try:
            return rules.parse_amount(self.amount.text())
        except UserFacingError:
            return None

    # --- saving ---------------------------------------------------------------------------
    def _save(self) -> None:
        mode = self.mode()
        store, who, payment_id = self.store, self.who, self.payment_id
        reason = self.reason.text().strip()
        cents = self.refund_cents()
        if not mode or (mode == "refund" and cents is None):
            self.failed(self.problem() or "Check the amount.")
            return

        def reverse() -> service.PaymentQueued:
            if mode == "void":
                return service.void_payment(store, who, payment_id, reason)
            assert cents is not None
            return service.refund_payment(store, who, payment_id, cents, reason)

        Op(self, reverse, write=True).success(self._saved).failure(self._refused).run()

    def _saved(self, queued: service.PaymentQueued) -> None:
        self.queued = queued
        self.finish()
        self.reversed.emit(queued)
        self.notice.emit(f"{queued.summary} queued; it settles with the next sync.")

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.failed(str(exc))
            return
        self.failed(_ERROR)
        raise exc
