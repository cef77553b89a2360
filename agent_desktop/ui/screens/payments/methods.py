"""The customer's payment methods on file (Ctrl+Shift+M on the 360's Billing tab).

The list shows each card or bank account (brand, last four, expiry, which is the default)
and works by single keys: N adds a card, E updates the expiry of the selected card (an
expiring one is marked), D makes the selected method the default, Delete removes it after
a confirmation. A new card is typed into the shared card entry (checked as typed) and
tokenized at the gateway through the sync server off the UI thread; only its token,
brand, last four and expiry are kept, and without a sync server the dialog says plainly
that a card cannot be added. Every change is one service call on the write worker
(``save_method`` / ``update_method``): audited and queued for the server together; a
refusal shows in the dialog that asked for it, with the input kept.

Changing how a payment is made (a card, a bank account or a check) is the payment
dialog's method choice (Ctrl+P), not this list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import cards
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import payments as service
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.services.customer360 import Customer360
from agent_desktop.storage.customer_record import PaymentMethodRow
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.screens.cases.dialogs import ActionDialog
from agent_desktop.ui.screens.payments.card_entry import (
    CardEntry,
    expiry_month_year,
    hint_label,
    show_check,
    tokenize,
)
from agent_desktop.ui.sync_status import SyncController
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import Column, RowsModel, make_table, muted

log = logging.getLogger(__name__)

_ERROR = "The change was not saved because of an error; nothing was changed."
EXPIRING_MONTHS = 2  # a card that expires this month or within this many is marked
NO_SERVER = ("Adding a card needs the payment gateway, and this desk is not connected to "
             "the sync server, so no card can be added now. Use a method already on file, "
             "or add the card once the desk is connected.")


def method_name(m: PaymentMethodRow) -> str:
    """The method in words: Visa ending 4242, Bank account ending 6789."""
    if m.kind == "card":
        return f"{(m.brand or 'card').title()} ending {m.last4}"
    return f"Bank account ending {m.last4}"


def months_left(m: PaymentMethodRow, today: date) -> int | None:
    """Whole months from this one to the card's expiry month (negative: expired)."""
    if m.kind != "card" or not m.exp_month or not m.exp_year:
        return None
    return (m.exp_year * 12 + m.exp_month) - (today.year * 12 + today.month)


def expiry_text(m: PaymentMethodRow, today: date) -> str:
    left = months_left(m, today)
    if left is None or m.exp_month is None or m.exp_year is None:
        return "\u2014"
    shown = f"{m.exp_month:02d}/{m.exp_year % 100:02d}"
    if left < 0:
        return f"{shown} \u00b7 expired"
    if left <= EXPIRING_MONTHS:
        return f"{shown} \u00b7 expires soon"
    return shown


def _message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, (UserFacingError, StoreError)) else _ERROR


def _restyle(label: QLabel, name: str) -> None:
    if label.objectName() != name:
        label.setObjectName(name)
        label.style().unpolish(label)
        label.style().polish(label)


class _Change(ActionDialog):
    """A sub-dialog that saves one change through the service and says what it did."""

    saved = Signal(object, str)  # (Changes, what was done in words)

    def _run(self, fn: Callable[[], Changes], words: str) -> None:
        def kept(changes: Changes) -> None:
            self.finish()
            self.saved.emit(changes, words)

        def refused(exc: BaseException) -> None:
            self.failed(_message(exc))
            if not isinstance(exc, (UserFacingError, StoreError)):
                raise exc

        Op(self, fn, write=True).success(kept).failure(refused).run()


class AddCardDialog(_Change):
    """N: a new card, checked as typed, tokenized at the gateway, kept on file."""

    def __init__(self, customer: Customer360, store: Store, who: AgentContext,
                 sync: SyncController | None, has_default: bool, today: date,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Add a card \u2014 {customer.display_name}", parent)
        self.customer, self.store, self.who, self.sync = customer, store, who, sync
        self.method_id = service.new_payment_id()  # the new method's id, made once
        intro = muted("The card is checked with the payment gateway now; only its token, "
                      "brand, last four digits and expiry are kept on file.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.offline = QLabel(NO_SERVER)
        self.offline.setObjectName("badge_danger")
        self.offline.setWordWrap(True)
        self.offline.setAccessibleName("Why no card can be added")
        self.offline.setVisible(sync is None)
        self.layout_.addWidget(self.offline)
        self.card = CardEntry(customer.display_name, today)
        self.layout_.addWidget(self.card)
        self.make_default = QCheckBox("Make it the &default method")
        self.make_default.setChecked(not has_default)
        self.card.form.addRow("", self.make_default)
        self.finish_layout()
        self.save_words("Add card")
        self.setMinimumWidth(540)
        self.card.edited.connect(self.revalidate)
        self.card.submitted.connect(self.accept)
        self.submitted.connect(self._save)
        self.revalidate()
        self.card.number.setFocus()

    def valid(self) -> bool:
        problems = self.card.problems()
        return self.sync is not None and not problems

    def _save(self) -> None:
        if self.sync is None:
            self.failed(NO_SERVER)
            return
        gateway = self.sync.service
        typed = self.card.take()  # the number and the code leave the dialog here
        default = self.make_default.isChecked()
        method_id = self.method_id
        store, who, customer_id = self.store, self.who, self.customer.customer_id

        def tokenized(method: service.NewMethod) -> None:
            words = f"{method.brand.title() or 'Card'} ending {method.last4} added" + (
                " as the default method." if default else ".")
            self._run(lambda: service.save_method(store, who, customer_id, method), words)

        def refused(exc: BaseException) -> None:
            self.failed(_message(exc) if isinstance(exc, UserFacingError) else
                        "The card could not be checked; nothing was saved. Type the number "
                        "and the security code again.")
            if not isinstance(exc, UserFacingError):
                raise exc

        Op(self, lambda: tokenize(gateway, typed, save=True, make_default=default,
                                  method_id=method_id)).success(tokenized).failure(
            refused).run()


class ExpiryDialog(_Change):
    """E: the new expiry of a card (the customer's bank sent a new one, same number)."""

    def __init__(self, method: PaymentMethodRow, customer_id: str, store: Store,
                 who: AgentContext, today: date, parent: QWidget | None = None) -> None:
        super().__init__(f"New expiry \u2014 {method_name(method)}", parent)
        self.method, self.today = method, today
        self.layout_.addWidget(QLabel(f"{method_name(method)} now expires "
                                      f"<b>{expiry_text(method, today)}</b>. Type the date "
                                      "printed on the new card; the number stays the same."))
        form = QFormLayout()
        self.expiry = QLineEdit()
        self.expiry.setAccessibleName("New expiry")
        self.expiry.setPlaceholderText("MM/YY")
        self.expiry.setMaxLength(7)
        label = QLabel("New &expiry")
        label.setBuddy(self.expiry)
        self.expiry_hint = hint_label()
        form.addRow(label, self.expiry)
        form.addRow("", self.expiry_hint)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.save_words("Update")
        self.setMinimumWidth(460)
        self.expiry.textChanged.connect(lambda _t: self.revalidate())
        self.expiry.returnPressed.connect(self.accept)
        self.submitted.connect(lambda: self._save(customer_id, store, who))
        self.revalidate()
        self.expiry.setFocus()

    def valid(self) -> bool:
        check = cards.check_expiry(self.expiry.text(), today=self.today)
        show_check(self.expiry_hint, check)
        return check.ok

    def _save(self, customer_id: str, store: Store, who: AgentContext) -> None:
        month, year = expiry_month_year(self.expiry.text(), self.today)
        method_id = self.method.id
        self._run(lambda: service.update_method(store, who, customer_id, method_id,
                                                exp_month=month, exp_year=year),
                  f"{method_name(self.method)} now expires {month:02d}/{year % 100:02d}.")


class RemoveDialog(_Change):
    """Delete: asks before a method comes off file."""

    def __init__(self, method: PaymentMethodRow, customer_id: str, store: Store,
                 who: AgentContext, parent: QWidget | None = None) -> None:
        super().__init__(f"Remove {method_name(method)}?", parent)
        text = (f"Remove <b>{method_name(method)}</b> from the customer's file? It can no "
                "longer be charged; payments already made with it stay on the ledger.")
        if method.is_default:
            text += (" It is the default method: no method is the default until you choose "
                     "another (D).")
        question = QLabel(text)
        question.setWordWrap(True)
        self.layout_.addWidget(question)
        self.finish_layout()
        self.save_words("&Remove")
        self.save_button.setDefault(True)
        self.setMinimumWidth(460)
        method_id, words = method.id, f"{method_name(method)} removed."
        self.submitted.connect(lambda: self._run(
            lambda: service.update_method(store, who, customer_id, method_id, remove=True),
            words))
        self.revalidate()
        self.save_button.setFocus()


class PaymentMethodsDialog(QDialog):
    """The methods on file; N, E, D, Delete act on the list."""

    changed = Signal(object)  # Changes, after each change is saved
    notice = Signal(str)  # the change in words, for the status bar
    loaded = Signal()  # the list was read again after a change

    def __init__(self, customer: Customer360, store: Store, who: AgentContext,
                 sync: SyncController | None, parent: QWidget | None = None,
                 today: date | None = None) -> None:
        super().__init__(parent)
        self.customer, self.store, self.who, self.sync = customer, store, who, sync
        self.today = today or date.today()
        self.sub: _Change | None = None  # the sub-dialog open now (for tests)
        self._busy = False
        self.setWindowTitle(f"Payment methods \u2014 {customer.display_name}")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        intro = muted("Cards and bank accounts on file. N adds a card \u00b7 E updates the "
                      "expiry of the selected card \u00b7 D makes it the default \u00b7 "
                      "Delete removes it.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.model = RowsModel([
            Column("Method", method_name),
            Column("Expires", lambda m: expiry_text(m, self.today)),
            Column("Default", lambda m: "Default" if m.is_default else ""),
        ])
        self.table = make_table(self.model, stretch_column=0)
        self.table.setAccessibleName("Payment methods on file")
        self.table.setMinimumHeight(150)
        layout.addWidget(self.table, 1)
        self.status = muted("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("What happened")
        layout.addWidget(self.status)
        row = QHBoxLayout()
        self.add_button = QPushButton("New card\u2026  N")
        self.expiry_button = QPushButton("Update expiry\u2026  E")
        self.default_button = QPushButton("Make default  D")
        self.remove_button = QPushButton("Remove\u2026  Del")
        for button, slot in ((self.add_button, self.add_card),
                             (self.expiry_button, self.update_expiry),
                             (self.default_button, self.make_default),
                             (self.remove_button, self.remove)):
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for keys, slot in (("N", self.add_card), ("E", self.update_expiry),
                           ("D", self.make_default), ("Del", self.remove)):
            QShortcut(QKeySequence(keys), self, slot)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._enable())
        self._show_methods(customer.payment_methods)
        if sync is None:
            self._say("No sync server: N cannot add a card now (the gateway checks it); "
                      "E, D and Delete work and are sent when the desk connects.")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- the list -------------------------------------------------------------------------
    def selected(self) -> PaymentMethodRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        method: PaymentMethodRow = self.model.row(index.row())
        return method

    def _show_methods(self, methods: tuple[PaymentMethodRow, ...],
                      select_id: str | None = None, done: str = "") -> None:
        current = self.selected()
        keep = select_id or (current.id if current is not None else None)
        self.model.set_rows(methods)
        for column in (1, 2):
            self.table.resizeColumnToContents(column)
        row = next((i for i, m in enumerate(methods) if m.id == keep), 0)
        if methods:
            self.table.selectRow(row)
        if not methods:
            self._say(f"{done} No card or bank account is on file now; N adds a card."
                      if done else "No card or bank account on file. N adds a card.")
        self._enable()

    def _enable(self) -> None:
        method = self.selected()
        self.add_button.setEnabled(not self._busy)
        self.expiry_button.setEnabled(not self._busy and method is not None
                                      and method.kind == "card")
        self.default_button.setEnabled(not self._busy and method is not None
                                       and not method.is_default)
        self.remove_button.setEnabled(not self._busy and method is not None)

    def _say(self, text: str, warning: bool = False) -> None:
        self.status.setText(text)
        _restyle(self.status, "badge_warning" if warning else "muted")

    def _reload(self, select_id: str | None = None, done: str = "") -> None:
        store, customer_id = self.store, self.customer.customer_id

        def shown(methods: tuple[PaymentMethodRow, ...]) -> None:
            self._busy = False
            self._show_methods(methods, select_id, done)
            self.loaded.emit()

        def unread(exc: BaseException) -> None:
            self._busy = False
            self._enable()
            self._say(_message(exc), warning=True)
            self.loaded.emit()
            if not isinstance(exc, (UserFacingError, StoreError)):
                raise exc

        self._busy = True
        self._enable()
        Op(self, lambda: service.methods_on_file(store, customer_id)).success(shown).failure(
            unread).run()

    def _changed(self, changes: Changes, words: str, select_id: str | None = None) -> None:
        self._say(words)
        self.notice.emit(words)
        self.changed.emit(changes)
        self._reload(select_id, words)

    # --- the keys -------------------------------------------------------------------------
    def _open(self, dialog: _Change, select_id: str | None = None) -> None:
        self.sub = dialog
        dialog.saved.connect(lambda changes, words: self._changed(changes, words, select_id))
        dialog.finished.connect(lambda _r: self._back())
        dialog.open()

    def _back(self) -> None:
        """A sub-dialog closed: the keys work on the list again."""
        self.activateWindow()
        self.table.setFocus()

    def add_card(self) -> None:
        if self._busy:
            return
        if self.sync is None:
            self._say(NO_SERVER, warning=True)
            return
        has_default = any(m.is_default for m in self._rows())
        dialog = AddCardDialog(self.customer, self.store, self.who, self.sync, has_default,
                               self.today, self)
        self._open(dialog, dialog.method_id)

    def update_expiry(self) -> None:
        method = self.selected()
        if self._busy or method is None:
            return
        if method.kind != "card":
            self._say("Only a card has an expiry date; a bank account does not.",
                      warning=True)
            return
        self._open(ExpiryDialog(method, self.customer.customer_id, self.store, self.who,
                                self.today, self), method.id)

    def remove(self) -> None:
        method = self.selected()
        if self._busy or method is None:
            return
        self._open(RemoveDialog(method, self.customer.customer_id, self.store, self.who,
                                self))

    def make_default(self) -> None:
        method = self.selected()
        if self._busy or method is None:
            return
        if method.is_default:
            self._say(f"{method_name(method)} is already the default.")
            return
        store, who, customer_id, method_id = (self.store, self.who,
                                              self.customer.customer_id, method.id)
        words = f"{method_name(method)} is now the default method."

        def refused(exc: BaseException) -> None:
            self._busy = False
            self._enable()
            self._say(_message(exc), warning=True)
            if not isinstance(exc, (UserFacingError, StoreError)):
                raise exc

        self._busy = True
        self._enable()
        Op(self, lambda: service.update_method(store, who, customer_id, method_id,
                                               make_default=True), write=True).success(
            lambda changes: self._changed(changes, words, method_id)).failure(refused).run()

    def _rows(self) -> list[PaymentMethodRow]:
        return [self.model.row(i) for i in range(self.model.rowCount())]
