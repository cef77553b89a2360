"""Take a payment (Ctrl+P on a 360): the amount is the balance due, the method is the
default one on file, Enter pays. A new card or bank account is checked as the agent
types (brand, Luhn, length, expiry, CVC, routing number) and tokenized at the gateway
through the sync server; the number and the CVC are cleared from the dialog as soon as
the token is back and are never written anywhere.

The payment id is made when the dialog opens and is the idempotency key end to end: a
second Enter, a retry or a crash never charges twice. After Pay the dialog waits for the
gateway's answer (through the next sync) and shows it in words to read to the customer:
the confirmation number, or the decline with what to do next. Offline, a payment on a
method already on file is queued and charged once when the connection returns.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import cards
from agent_desktop.domain import payments as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import payments as service
from agent_desktop.services.context import AgentContext
from agent_desktop.services.customer360 import Customer360
from agent_desktop.storage.store import Store
from agent_desktop.ui.screens.payments.card_entry import CardEntry, hint_label, show_check
from agent_desktop.ui.screens.payments.card_entry import tokenize as tokenize_card
from agent_desktop.ui.sync_status import SyncController
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import money, muted

NEW_CARD, NEW_ACH, CHECK = "new_card", "new_ach", "check"
WAIT_FOR_ANSWER_MS = 12_000  # then: "queued, charged when the connection returns"


_hint, _show = hint_label, show_check


class _Pages(QWidget):
    """The form or the answer, one at a time; unlike a QStackedWidget, as tall as the page
    shown (a hidden page takes no room)."""

    def __init__(self) -> None:
        super().__init__()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._pages: list[QWidget] = []
        self._current = 0

    def addWidget(self, page: QWidget) -> None:
        self._layout.addWidget(page)
        page.setVisible(not self._pages)
        self._pages.append(page)

    def setCurrentIndex(self, index: int) -> None:
        self._current = index
        for i, page in enumerate(self._pages):
            page.setVisible(i == index)

    def currentIndex(self) -> int:
        return self._current


class PaymentDialog(QDialog):
    """One payment for one customer."""

    paid = Signal(object)  # service.PaymentQueued, once the payment is queued
    answered = Signal(object)  # service.PaymentResult, once the gateway's answer is shown

    def __init__(self, customer: Customer360, store: Store, who: AgentContext,
                 sync: SyncController | None, parent: QWidget | None = None,
                 today: date | None = None) -> None:
        super().__init__(parent)
        self.customer, self.store, self.who, self.sync = customer, store, who, sync
        self.today = today or date.today()
        self.payment_id = service.new_payment_id()
        self.queued: service.PaymentQueued | None = None
        self.outcome: service.PaymentResult | None = None
        self._busy = False
        self.setWindowTitle(f"Take a payment \u2014 {customer.display_name}")
        self.setMinimumWidth(560)
        outer = QVBoxLayout(self)
        self.pages = _Pages()
        outer.addWidget(self.pages)
        self._build_form()
        self._build_result()
        self.buttons = QDialogButtonBox()
        self.pay_button = self.buttons.addButton("Pay", QDialogButtonBox.ButtonRole.AcceptRole)
        self.pay_button.setDefault(True)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.again_button = self.buttons.addButton(
            "Try another method", QDialogButtonBox.ButtonRole.ActionRole)
        self.again_button.hide()
        self.pay_button.clicked.connect(self.pay)
        self.close_button.clicked.connect(self.reject)
        self.again_button.clicked.connect(self.try_again)
        outer.addWidget(self.buttons)
        self._wait = QTimer(self)
        self._wait.setSingleShot(True)
        self._wait.setInterval(WAIT_FOR_ANSWER_MS)
        self._wait.timeout.connect(self._no_answer_yet)
        if sync is not None:
            sync.status_changed.connect(self._sync_passed)
        self._method_changed()
        self.revalidate()
        self.amount.setFocus()
        self.amount.selectAll()

    def showEvent(self, event: QShowEvent) -> None:  # the caret starts in the amount
        super().showEvent(event)
        if self.pages.currentIndex() == 0:
            self.amount.setFocus(Qt.FocusReason.OtherFocusReason)
            self.amount.selectAll()

    # --- the form ------------------------------------------------------------------------
    def _build_form(self) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        due = max(self.customer.balance_cents, 0)
        head = QLabel(f"Balance due <b>{money(self.customer.balance_cents)}</b>")
        layout.addWidget(head)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(4)
        self.amount = QLineEdit(f"{due // 100}.{due % 100:02d}" if due else "")
        self.amount.setAccessibleName("Amount")
        self.amount.setPlaceholderText("e.g. 45.50")
        self.amount_hint = _hint()
        self.overpay = QCheckBox("The customer confirms paying more than the balance")
        self.overpay.hide()
        amount_label = QLabel("&Amount ($)")
        amount_label.setBuddy(self.amount)
        form.addRow(amount_label, self.amount)
        form.addRow("", self.amount_hint)
        form.addRow("", self.overpay)

        self.method = QComboBox()
        self.method.setAccessibleName("Payment method")
        for m in self.customer.payment_methods:
            if m.kind == "card":
                expiry = f" (expires {m.exp_month:02d}/{(m.exp_year or 0) % 100:02d})" \
                    if m.exp_month else ""
                text = f"{(m.brand or 'Card').title()} ending {m.last4}{expiry}"
            else:
                text = f"Bank account ending {m.last4}"
            if m.is_default:
                text += " \u2014 default"
            self.method.addItem(text, m.id)
        self.method.addItem("New card\u2026", NEW_CARD)
        self.method.addItem("New bank account (ACH)\u2026", NEW_ACH)
        self.method.addItem("Check by phone\u2026", CHECK)
        method_label = QLabel("&Method")
        method_label.setBuddy(self.method)
        form.addRow(method_label, self.method)
        self.method_hint = _hint()
        form.addRow("", self.method_hint)
        layout.addLayout(form)

        # A new card.
        self.card_box = self.card = CardEntry(self.customer.display_name, self.today)
        self.number, self.number_hint = self.card.number, self.card.number_hint
        self.expiry, self.expiry_hint = self.card.expiry, self.card.expiry_hint
        self.cvc, self.cvc_hint, self.holder = self.card.cvc, self.card.cvc_hint, \
            self.card.holder
        self.save_card = QCheckBox("&Keep on file for next time")
        self.make_default = QCheckBox("Make it the &default method")
        self.card.form.addRow("", self.save_card)
        self.card.form.addRow("", self.make_default)
        layout.addWidget(self.card_box)

        # A bank account: ACH, or a check read out over the phone.
        self.bank_box = QWidget()
        bank = QFormLayout(self.bank_box)
        bank.setContentsMargins(0, 0, 0, 0)
        bank.setVerticalSpacing(4)
        self.routing = QLineEdit()
        self.routing.setAccessibleName("Routing number")
        self.routing.setMaxLength(11)
        self.routing_hint = _hint()
        self.account = QLineEdit()
        self.account.setAccessibleName("Account number")
        self.account.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.account.setMaxLength(17)
        self.account_hint = _hint()
        self.check_number = QLineEdit()
        self.check_number.setAccessibleName("Check number")
        self.check_number.setMaxLength(10)
        self.check_hint = _hint()
        self.bank_holder = QLineEdit(self.customer.display_name)
        self.bank_holder.setAccessibleName("Account holder")
        self.check_label = QLabel("Chec&k number")
        self.check_label.setBuddy(self.check_number)
        routing_label = QLabel("&Routing number")
        routing_label.setBuddy(self.routing)
        account_label = QLabel("Acc&ount number")
        account_label.setBuddy(self.account)
        bank.addRow(routing_label, self.routing)
        bank.addRow("", self.routing_hint)
        bank.addRow(account_label, self.account)
        bank.addRow("", self.account_hint)
        bank.addRow(self.check_label, self.check_number)
        bank.addRow("", self.check_hint)
        bank.addRow("Account holder", self.bank_holder)
        layout.addWidget(self.bank_box)

        emails = [c for c in self.customer.contacts if c.kind == "email" and c.consent_email]
        self.receipt_contact = emails[0].id if emails else None
        self.receipt = QCheckBox(f"Email a &receipt to {emails[0].value}" if emails
                                 else "No email on file for a receipt")
        self.receipt.setEnabled(bool(emails))
        layout.addWidget(self.receipt)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.message.setAccessibleName("Why the payment was not taken")
        self.message.hide()
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.pages.addWidget(page)

        for edit in (self.amount, self.routing, self.account, self.check_number,
                     self.bank_holder):
            edit.textEdited.connect(lambda _t: self.revalidate())
            edit.returnPressed.connect(self.pay)
        self.card.edited.connect(self.revalidate)
        self.card.submitted.connect(self.pay)
        self.method.currentIndexChanged.connect(lambda _i: self._method_changed())
        self.overpay.toggled.connect(lambda _b: self.revalidate())
        self.save_card.toggled.connect(self.make_default.setEnabled)
        self.make_default.setEnabled(False)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.pay)

    def _build_result(self) -> None:
        page = self.result_page = QWidget()
        layout = QVBoxLayout(page)
        self.result_title = QLabel("")
        self.result_title.setObjectName("customerName")
        self.result_title.setWordWrap(True)
        self.result_body = QLabel("")
        self.result_body.setWordWrap(True)
        self.result_body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_say = QLabel("")
        self.result_say.setWordWrap(True)
        self.result_next = muted("")
        self.result_next.setWordWrap(True)
        for widget in (self.result_title, self.result_body, self.result_say, self.result_next):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.pages.addWidget(page)

    # --- as the agent types ----------------------------------------------------------------
    def choice(self) -> str:
        return str(self.method.currentData())

    def _method_changed(self) -> None:
        choice = self.choice()
        self.card_box.setVisible(choice == NEW_CARD)
        self.bank_box.setVisible(choice in (NEW_ACH, CHECK))
        self.check_label.setVisible(choice == CHECK)
        self.check_number.setVisible(choice == CHECK)
        self.check_hint.setVisible(choice == CHECK)
        self.method_hint.setText({
            NEW_CARD: "A new card is checked with the gateway now, so it needs the "
                      "connection.",
            NEW_ACH: "The bank debit is authorized now and settles in 2-3 business days.",
            CHECK: "Read from the customer's check: routing, account and check numbers.",
        }.get(choice, "Charged once; the confirmation number shows here."))
        self.revalidate()
        self.adjustSize()

    def amount_cents(self) -> int | None:
        try:
            return rules.parse_amount(self.amount.text())
        except UserFacingError:
            return None

    def problem(self) -> str:
        """Why Pay is not possible yet ("" when it is); also refreshes every hint."""
        problems: list[str] = []
        try:
            cents = rules.parse_amount(self.amount.text())
            check = rules.check_amount(cents, self.customer.balance_cents)
            self.amount_hint.setStyleSheet("")
            self.amount_hint.setText(check.message)
            self.overpay.setVisible(check.overpays_by_cents > 0)
            if check.overpays_by_cents > 0 and not self.overpay.isChecked():
                problems.append("Confirm the overpayment with the customer.")
        except UserFacingError as exc:
            self.amount_hint.setStyleSheet("color: #b3261e;")
            self.amount_hint.setText(exc.message)
            self.overpay.hide()
            problems.append(exc.message)
        choice = self.choice()
        if choice == NEW_CARD:
            problems += self.card.problems()
        elif choice in (NEW_ACH, CHECK):
            routing = cards.check_routing_number(self.routing.text())
            _show(self.routing_hint, routing)
            account = cards.check_account_number(self.account.text())
            _show(self.account_hint, account)
            checks = [routing, account, cards.check_holder_name(self.bank_holder.text())]
            if choice == CHECK:
                number_check = cards.check_check_number(self.check_number.text())
                _show(self.check_hint, number_check)
                checks.append(number_check)
            problems += [c.message for c in checks if not c.ok]
        return problems[0] if problems else ""

    def revalidate(self) -> None:
        self.pay_button.setEnabled(not self._busy and not self.problem())

    # --- paying ------------------------------------------------------------------------------
    def pay(self) -> None:
        if self._busy or self.pages.currentIndex() != 0 or self.problem():
            return
        self._busy = True
        self.message.hide()
        self.pay_button.setEnabled(False)
        self.pay_button.setText("Paying\u2026")
        choice = self.choice()
        if choice in (NEW_CARD, NEW_ACH, CHECK):
            self._tokenize(choice)
        else:
            self._queue(None, "card" if self._on_file_kind() == "card" else "ach")

    def _on_file_kind(self) -> str:
        for m in self.customer.payment_methods:
            if m.id == self.choice():
                return m.kind
        return "card"

    def _tokenize(self, choice: str) -> None:
        if self.sync is None:
            self._failed("A new card or bank account needs the payment gateway, and this "
                         "desk is not connected to the sync server. Use a method on file.")
            return
        gateway = self.sync.service
        if choice == NEW_CARD:
            # The dialog forgets the secrets now; the request below is their last stop.
            typed = self.card.take()
            save, default = self.save_card.isChecked(), self.make_default.isChecked()

            def card() -> service.NewMethod:
                return tokenize_card(gateway, typed, save=save, make_default=default)

            Op(self, card).success(lambda m: self._queue(m, "card")).failure(
                self._tokenize_failed).run()
            return
        routing = cards.digits_only(self.routing.text())
        account = cards.digits_only(self.account.text())
        holder = self.bank_holder.text().strip()
        self.account.clear()
        kind = "check" if choice == CHECK else "ach"

        def bank() -> service.NewMethod:
            answer = gateway.tokenize_bank_account(routing, account, holder)
            return service.NewMethod(kind="ach", token=str(answer["token"]),
                                     last4=str(answer["last4"]),
                                     bank_name=str(answer.get("bank_name", "")),
                                     holder_name=holder)

        Op(self, bank).success(lambda m: self._queue(m, kind)).failure(
            self._tokenize_failed).run()

    def _tokenize_failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserFacingError):
            self._failed(exc.message)
        else:
            self._failed("The card could not be checked; nothing was charged. Try again.")
            raise exc

    def _queue(self, new_method: service.NewMethod | None, kind: str) -> None:
        cents = self.amount_cents()
        assert cents is not None
        store, who, customer_id, payment_id = (self.store, self.who,
                                               self.customer.customer_id, self.payment_id)
        method_id = None if new_method is not None else self.choice()
        check_number = cards.digits_only(self.check_number.text()) if kind == "check" else ""
        receipt = self.receipt_contact if self.receipt.isChecked() else None

        def take() -> service.PaymentQueued:
            return service.take_payment(
                store, who, customer_id, cents, kind, payment_id=payment_id,
                payment_method_id=method_id, new_method=new_method,
                check_number=check_number, receipt_contact_id=receipt)

        Op(self, take, write=True).success(self._queued).failure(self._take_failed).run()

    def _take_failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserFacingError):
            self._failed(exc.message)
            return
        self._failed("The payment could not be saved; nothing was charged. Try again.")
        raise exc

    def _failed(self, text: str) -> None:
        self._busy = False
        self.pay_button.setText("Pay")
        self.message.setText(text)
        self.message.show()
        self.revalidate()

    def _queued(self, queued: service.PaymentQueued) -> None:
        self.queued = queued
        self.paid.emit(queued)
        self._show_result("Charging\u2026", f"{queued.summary}. Waiting for the gateway "
                          "\u2014 a few seconds.", "", "")
        self.pay_button.hide()
        self.close_button.setText("Close")
        if self.sync is None:
            self._no_answer_yet()
            return
        self._wait.start()
        self.sync.sync_now()

    # --- the answer --------------------------------------------------------------------------
    def _sync_passed(self, _status: object) -> None:
        if self.queued is None or self.outcome is not None:
            return
        payment_id, store = self.queued.payment_id, self.store
        Op(self, lambda: service.payment_result(store, payment_id)).success(
            self._answer).run()

    def _answer(self, result: service.PaymentResult | None) -> None:
        if self.queued is None or (result is not None
                                   and result.payment_id != self.queued.payment_id):
            return  # an answer about an attempt the agent has moved on from
        if result is None or result.status == "pending" or self.outcome is not None:
            if result is not None and result.status == "pending" and self.sync is not None \
                    and self.sync.last is not None and not self.sync.last.online:
                self._no_answer_yet()
            return
        self.outcome = result
        self._wait.stop()
        if result.status in ("settled", "authorized"):
            self._show_result(
                f"Paid: {self.queued.summary}",
                f"Confirmation number <b>{result.confirmation_number}</b>",
                "Say: \u201cYour payment went through. Your confirmation number is "
                f"{' '.join(result.confirmation_number.removeprefix('PAY-'))}.\u201d",
                "The balance on the 360 is updated." + (
                    " The receipt is on its way by email." if self.receipt.isChecked()
                    else ""), tone="ok")
            self.close_button.setFocus()
        else:
            decline = result.decline
            assert decline is not None
            self._show_result(f"Not paid: {decline.agent_text}",
                              f"{self.queued.summary} \u2014 nothing was charged.",
                              f"Say: \u201c{decline.say_to_customer}\u201d",
                              f"Next: {decline.next_step}", tone="bad")
            self.again_button.show()
            self.again_button.setFocus()
        self.answered.emit(result)

    def _no_answer_yet(self) -> None:
        if self.outcome is not None or self.queued is None:
            return
        self._show_result(
            f"Queued: {self.queued.summary}",
            "The sync server cannot be reached right now. The payment is saved on this "
            "desk and is charged once, as soon as the connection returns.",
            "Say: \u201cYour payment is recorded and will be processed shortly; you will "
            "see it on your account within the day.\u201d",
            "Its status shows on the Billing tab; nothing needs doing again.")

    def _page(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        layout = self.layout()
        if layout is None:
            return
        if index == 1:
            # Wrapped labels report a height for a guessed width; ask each for its height
            # at the width it has, so the answer is never cut off.
            margins = self.result_page.contentsMargins()
            width = self.width() - 2 * layout.contentsMargins().left() - margins.left() \
                - margins.right()
            labels = (self.result_title, self.result_body, self.result_say, self.result_next)
            spacing = max(self.result_page.layout().spacing(), 0)  # type: ignore[union-attr]
            self.result_page.setMinimumHeight(
                sum(label.heightForWidth(width) + spacing + 4 for label in labels
                    if label.text()) + margins.top() + margins.bottom() + 8)
        layout.activate()
        self.resize(self.width(), layout.totalMinimumSize().height())

    def _show_result(self, title: str, body: str, say: str, next_step: str,
                     tone: str = "") -> None:
        self.pay_button.hide()
        self.close_button.setText("Close")
        colour = {"ok": "#1b7f3b", "bad": "#b3261e"}.get(tone, "")
        self.result_title.setStyleSheet(f"color: {colour};" if colour else "")
        self.result_title.setText(title)
        self.result_body.setText(body)
        self.result_say.setText(say)
        self.result_next.setText(next_step)
        self._page(1)

    def try_again(self) -> None:
        """After a decline: the same amount, another method, and a new payment id (a new
        attempt is a new payment)."""
        self.payment_id = service.new_payment_id()
        self.queued = self.outcome = None
        self._busy = False
        self._page(0)
        self.again_button.hide()
        self.pay_button.show()
        self.pay_button.setText("Pay")
        self.close_button.setText("Cancel")
        self.method.setFocus()
        self.revalidate()
