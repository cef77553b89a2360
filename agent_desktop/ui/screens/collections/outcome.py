"""The outcome of a collections call, by keyboard: what happened (no answer, voicemail,
wrong number, refused, promise to pay, payment arrangement, payment taken now, dispute,
callback), the outcome's own fields checked as the agent types with the words beside the
field that fixes them, and Record (Enter).

The debt is read off the UI thread when the dialog opens (balance, calling rules for a
callback, the voicemail script); the record is one write (``Op(..., write=True)``) and the
service reads the debt again first: paid or closed meanwhile, the dialog says so and the
worklist is refreshed (``debt_closed``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import collections as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.money import Money
from agent_desktop.domain.payments import parse_amount
from agent_desktop.services.collections import (
    DebtClosed,
    OutcomeContext,
    OutcomeRecorded,
    WorkItem,
    outcome_context,
    record_collection_outcome,
)
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.store import Store
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import money

# The outcomes in the order an agent meets them; the combo's first letters pick them.
OUTCOMES = (
    rules.Outcome.NO_ANSWER, rules.Outcome.VOICEMAIL, rules.Outcome.WRONG_NUMBER,
    rules.Outcome.REFUSED, rules.Outcome.PROMISE_TO_PAY, rules.Outcome.ARRANGEMENT,
    rules.Outcome.PAYMENT_TAKEN, rules.Outcome.DISPUTE_RAISED,
    rules.Outcome.CALLBACK_REQUESTED, rules.Outcome.BUSY,
)
_PAGE = {rules.Outcome.PROMISE_TO_PAY: 1, rules.Outcome.ARRANGEMENT: 2,
         rules.Outcome.CALLBACK_REQUESTED: 3, rules.Outcome.VOICEMAIL: 4}


def parse_day(text: str, today: date) -> date:
    """A day as the agent types it: 2026-11-20, 11/20, 11/20/2026 or +5 (days from today)."""
    value = text.strip()
    if not value:
        raise UserFacingError("Enter a date: 2026-11-20, 11/20 or +5 (days from today).")
    if re.fullmatch(r"\+\d{1,3}", value):
        return today + timedelta(days=int(value[1:]))
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?", value)
        if found:
            month, day = int(found.group(1)), int(found.group(2))
            year = found.group(3)
            if year is None:
                guess = date(today.year, month, day)
                return guess if guess >= today else date(today.year + 1, month, day)
            return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    except ValueError:
        raise UserFacingError("There is no such day.") from None
    raise UserFacingError("Enter a date: 2026-11-20, 11/20 or +5 (days from today).")


def _hint() -> QLabel:
    label = QLabel("")
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setStyleSheet("color: #b3261e;")
    return label


class OutcomeDialog(QDialog):
    """Record what came of the call on one debt."""

    recorded = Signal(object)  # OutcomeRecorded
    payment_requested = Signal(str)  # customer id: the payment dialog opens
    debt_closed = Signal(str)  # why (paid or closed meanwhile): the worklist refreshes

    def __init__(self, store: Store, who: AgentContext, item: WorkItem,
                 interaction_id: str | None = None,
                 clock: Callable[[], datetime] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.who, self.item = store, who, item
        self.interaction_id = interaction_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.context: OutcomeContext | None = None
        self.recorded_as: OutcomeRecorded | None = None
        self._busy = False
        self.setWindowTitle(f"Record outcome \u2014 {item.customer_name}")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        self.head = QLabel(f"<b>{item.customer_name}</b> \u00b7 {item.account_number} \u00b7 "
                           f"{money(item.balance_cents)} past due \u00b7 "
                           f"{item.number or 'no number'}")
        layout.addWidget(self.head)
        form = QFormLayout()
        self.outcome = QComboBox()
        self.outcome.setAccessibleName("Outcome")
        for outcome in OUTCOMES:
            self.outcome.addItem(rules.OUTCOME_WORDS[outcome], outcome.value)
        label = QLabel("&Outcome")
        label.setBuddy(self.outcome)
        form.addRow(label, self.outcome)
        layout.addLayout(form)
        self.pages = QStackedWidget()
        self.pages.addWidget(QWidget())  # nothing more to enter
        self.pages.addWidget(self._promise_page())
        self.pages.addWidget(self._arrangement_page())
        self.pages.addWidget(self._callback_page())
        self.pages.addWidget(self._voicemail_page())
        layout.addWidget(self.pages)
        notes = QFormLayout()
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("Anything the next agent should know (optional)")
        note_label = QLabel("&Note")
        note_label.setBuddy(self.note)
        notes.addRow(note_label, self.note)
        layout.addLayout(notes)
        self.summary = QLabel("Reading the debt\u2026")
        self.summary.setAccessibleName("What will be recorded")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.message = _hint()
        self.message.setAccessibleName("Why it cannot be recorded")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox()
        self.record_button = self.buttons.addButton(
            "&Record", QDialogButtonBox.ButtonRole.AcceptRole)
        self.record_button.setDefault(True)
        self.record_button.setEnabled(False)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.record_button.clicked.connect(self.record)
        cancel.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self.outcome.currentIndexChanged.connect(lambda _i: self._outcome_changed())
        for edit in (self.amount, self.promised_on, self.total, self.installments,
                     self.first_due, self.note):
            edit.textChanged.connect(lambda _t: self.revalidate())
        self.frequency.currentIndexChanged.connect(lambda _i: self.revalidate())
        self.callback_at.dateTimeChanged.connect(lambda _d: self.revalidate())
        self._outcome_changed()
        now = self.clock()
        store_, account, number = store, item.account_id, item.number
        Op(self, lambda: outcome_context(store_, account, now, number, who)).success(
            self._ready).failure(self._failed).run()

    # --- the pages -------------------------------------------------------------------------
    def _promise_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        due = max(self.item.balance_cents, 0)
        self.amount = QLineEdit(f"{due // 100}.{due % 100:02d}")
        self.amount.setAccessibleName("Promised amount")
        self.amount_hint = _hint()
        amount_label = QLabel("&Amount ($)")
        amount_label.setBuddy(self.amount)
        form.addRow(amount_label, self.amount)
        form.addRow("", self.amount_hint)
        self.promised_on = QLineEdit()
        self.promised_on.setAccessibleName("Promised date")
        self.promised_on.setPlaceholderText("2026-11-20, 11/20 or +5")
        self.promised_on_hint = _hint()
        date_label = QLabel("&Pay by")
        date_label.setBuddy(self.promised_on)
        form.addRow(date_label, self.promised_on)
        form.addRow("", self.promised_on_hint)
        return page

    def _arrangement_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        due = max(self.item.balance_cents, 0)
        self.total = QLineEdit(f"{due // 100}.{due % 100:02d}")
        self.total.setAccessibleName("Total to arrange")
        self.total_hint = _hint()
        total_label = QLabel("&Total ($)")
        total_label.setBuddy(self.total)
        form.addRow(total_label, self.total)
        form.addRow("", self.total_hint)
        self.installments = QLineEdit("3")
        self.installments.setAccessibleName("Number of installments")
        self.installments_hint = _hint()
        count_label = QLabel("&Installments")
        count_label.setBuddy(self.installments)
        form.addRow(count_label, self.installments)
        form.addRow("", self.installments_hint)
        self.first_due = QLineEdit()
        self.first_due.setAccessibleName("First installment due")
        self.first_due.setPlaceholderText("2026-11-20, 11/20 or +5")
        self.first_due_hint = _hint()
        first_label = QLabel("&First due")
        first_label.setBuddy(self.first_due)
        form.addRow(first_label, self.first_due)
        form.addRow("", self.first_due_hint)
        self.frequency = QComboBox()
        self.frequency.setAccessibleName("How often")
        for frequency in rules.Frequency:
            self.frequency.addItem(rules.FREQUENCY_WORDS[frequency], frequency.value)
        self.frequency.setCurrentIndex(list(rules.Frequency).index(rules.Frequency.MONTHLY))
        self.frequency_hint = _hint()
        often_label = QLabel("&How often")
        often_label.setBuddy(self.frequency)
        form.addRow(often_label, self.frequency)
        form.addRow("", self.frequency_hint)
        self.plan = QLabel("")
        self.plan.setAccessibleName("The installments")
        self.plan.setWordWrap(True)
        form.addRow("Plan", self.plan)
        return page

    def _callback_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.callback_at = QDateTimeEdit()
        self.callback_at.setAccessibleName("Callback time, the customer's local time")
        self.callback_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.callback_at.setCalendarPopup(True)
        self.callback_at_hint = _hint()
        self.callback_zone = QLabel("")
        when_label = QLabel("&Call back at")
        when_label.setBuddy(self.callback_at)
        form.addRow(when_label, self.callback_at)
        form.addRow("", self.callback_zone)
        form.addRow("", self.callback_at_hint)
        return page

    def _voicemail_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(QLabel("Leave only this (nothing about the debt):"))
        self.voicemail = QLabel("")
        self.voicemail.setAccessibleName("Voicemail script")
        self.voicemail.setWordWrap(True)
        self.voicemail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.voicemail)
        first = self.who.display_name.split()[0] if self.who.display_name.split() else "Alex"
        try:
            self.voicemail.setText(rules.voicemail_script(first, rules.CALLBACK_NUMBER,
                                                          rules.BUSINESS_NAME))
        except UserFacingError as exc:
            self.voicemail.setText(str(exc))
        return page

    def showEvent(self, event: QShowEvent) -> None:  # the caret starts on the outcome
        super().showEvent(event)
        self.outcome.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- state -------------------------------------------------------------------------------
    def chosen(self) -> rules.Outcome:
        return rules.Outcome(str(self.outcome.currentData()))

    def choose(self, outcome: rules.Outcome) -> None:
        self.outcome.setCurrentIndex(OUTCOMES.index(outcome))

    def _ready(self, context: OutcomeContext) -> None:
        self.context = context
        if context.closed_reason:
            self._closed(context.closed_reason)
            return
        zone = self._customer_zone()
        local = self.clock().astimezone(zone) + timedelta(days=1)
        self.callback_at.setDateTime(QDateTime(
            local.year, local.month, local.day, 10, 0, 0))
        self.callback_zone.setText(f"The customer's time ({zone.key})" if isinstance(
            zone, ZoneInfo) else "")
        self.revalidate()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserFacingError):
            self.summary.setText("")
            self.message.setText(str(exc))
            return
        raise exc

    def _closed(self, words: str) -> None:
        self.summary.setText("")
        self.message.setText(words)
        self.record_button.setEnabled(False)
        self.debt_closed.emit(words)

    def _customer_zone(self) -> tzinfo:
        zones = self.context.facts.time_zones if self.context is not None else ()
        for name in zones:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
        return self.clock().astimezone().tzinfo or UTC

    def _outcome_changed(self) -> None:
        self.pages.setCurrentIndex(_PAGE.get(self.chosen(), 0))
        self.revalidate()

    def _clear_hints(self) -> None:
        for hint in (self.amount_hint, self.promised_on_hint, self.total_hint,
                     self.installments_hint, self.first_due_hint, self.frequency_hint,
                     self.callback_at_hint, self.message):
            hint.setText("")

    def entry(self) -> rules.OutcomeInput:
        """What the agent entered, parsed; a parse error names its field."""
        outcome = self.chosen()
        today = self.context.today if self.context is not None else self.clock().date()
        note = self.note.text().strip()

        def cents(edit: QLineEdit, field: str) -> int:
            try:
                return parse_amount(edit.text())
            except UserFacingError as exc:
                raise rules.OutcomeError(exc.message, field) from None

        def day(edit: QLineEdit, field: str) -> date:
            try:
                return parse_day(edit.text(), today)
            except UserFacingError as exc:
                raise rules.OutcomeError(exc.message, field) from None

        if outcome is rules.Outcome.PROMISE_TO_PAY:
            return rules.OutcomeInput(outcome, amount_cents=cents(self.amount, "amount"),
                                      promised_on=day(self.promised_on, "promised_on"),
                                      note=note)
        if outcome is rules.Outcome.ARRANGEMENT:
            count = self.installments.text().strip()
            if not count.isdigit():
                raise rules.OutcomeError("Enter how many installments, e.g. 3.",
                                         "installments")
            return rules.OutcomeInput(
                outcome, total_cents=cents(self.total, "total"), installments=int(count),
                first_due=day(self.first_due, "first_due"),
                frequency=rules.Frequency(str(self.frequency.currentData())), note=note)
        if outcome is rules.Outcome.CALLBACK_REQUESTED:
            zone = self._customer_zone()
            local = self.callback_at.dateTime().toPython()
            assert isinstance(local, datetime)
            at = local.replace(tzinfo=zone)
            return rules.OutcomeInput(outcome, callback_at=at.astimezone(UTC), note=note)
        return rules.OutcomeInput(outcome, note=note)

    def revalidate(self) -> rules.OutcomePlan | None:
        """Check what is entered now; the words go beside the field that fixes them."""
        self._clear_hints()
        self.plan.setText("")
        if self.context is None or self.context.closed_reason:
            self.record_button.setEnabled(False)
            return None
        try:
            entry = self.entry()
            plan = rules.plan_outcome(entry, today=self.context.today, now=self.clock(),
                                      balance_cents=self.context.balance_cents,
                                      facts=self.context.facts)
        except rules.OutcomeError as exc:
            self._show_problem(exc)
            self.record_button.setEnabled(False)
            return None
        if plan.installments:
            lines = [f"{due:%a %b} {due.day}, {due.year}: {money(cents)}"
                     for due, cents in plan.installments]
            total = sum(c for _, c in plan.installments)
            self.plan.setText("\n".join(lines) + f"\nTotal {Money(total).format()}")
        self.summary.setText(plan.summary)
        self.record_button.setEnabled(not self._busy)
        return plan

    def _show_problem(self, exc: rules.OutcomeError) -> None:
        hints = {"amount": self.amount_hint, "promised_on": self.promised_on_hint,
                 "total": self.total_hint, "installments": self.installments_hint,
                 "first_due": self.first_due_hint, "frequency": self.frequency_hint,
                 "callback_at": self.callback_at_hint}
        hints.get(exc.field, self.message).setText(exc.message)
        self.summary.setText("")
        if exc.field in ("installments", "total", "first_due", "frequency"):
            self.plan.setText("")

    # --- recording ---------------------------------------------------------------------------
    def record(self) -> None:
        if self._busy or self.revalidate() is None:
            return
        entry = self.entry()
        store, who, account, number = self.store, self.who, self.item.account_id, \
            self.item.number
        interaction, now = self.interaction_id, self.clock()
        zone = self.context.zone if self.context is not None else None
        self._busy = True
        self.record_button.setEnabled(False)
        self.summary.setText("Recording\u2026")
        Op(self, lambda: record_collection_outcome(
            store, who, account, entry, number=number, interaction_id=interaction, now=now,
            local_zone=zone), write=True).success(self._recorded).failure(
            self._record_failed).run()

    def _recorded(self, result: OutcomeRecorded) -> None:
        self._busy = False
        self.recorded_as = result
        self.recorded.emit(result)
        if result.payment_requested:
            self.payment_requested.emit(result.customer_id)
        self.accept()

    def _record_failed(self, exc: BaseException) -> None:
        self._busy = False
        if isinstance(exc, DebtClosed):
            self._closed(str(exc))
            return
        if isinstance(exc, rules.OutcomeError):
            self._show_problem(exc)
            self.record_button.setEnabled(True)
            return
        if isinstance(exc, UserFacingError):
            self.message.setText(str(exc))
            self.record_button.setEnabled(True)
            return
        raise exc
