"""A new card, typed by the agent while the customer reads it out: the number (grouped
as printed, shown only while typed), the expiry, the security code and the name on the
card, each checked as typed with the words to show under it (domain.cards).

The number and the security code leave the widget once, through `CardEntry.take`, which
clears both fields; `tokenize` hands them to the gateway (through the sync server) off
the UI thread and keeps only what is safe to keep: the token, brand, last four and
expiry (PCI DSS, shared/DOMAIN.md "Card and bank payments"). Used by the payment dialog
(a new card) and the payment methods dialog (a card on file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from agent_desktop.domain import cards
from agent_desktop.services.payments import NewMethod
from agent_desktop.services.sync import SyncService

_EXPIRY = re.compile(r"(\d{1,2})\s*[/\- ]\s*(\d{2}|\d{4})")


def hint_label() -> QLabel:
    """The line under a field: a neutral hint, red when the input is wrong."""
    label = QLabel("")
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


def show_check(label: QLabel, check: cards.FieldCheck | None, ok_text: str = "") -> None:
    if check is None:
        label.setText("")
        return
    bad = check.state == "invalid"
    label.setStyleSheet("color: #b3261e;" if bad else "")
    label.setText(ok_text if check.state == "ok" and ok_text else check.message)


def expiry_month_year(text: str, today: date) -> tuple[int, int]:
    """(month, four-digit year) of an expiry `cards.check_expiry` found ok: "08/29",
    "8/29", "0829", "08-2029"..."""
    raw = text.strip()
    found = _EXPIRY.fullmatch(raw)
    if found is not None:
        month, year = found.group(1), found.group(2)
    else:
        digits = cards.digits_only(raw)
        cut = 1 if digits[:1] in ("2", "3", "4", "5", "6", "7", "8", "9") else 2
        month, year = digits[:cut], digits[cut:]
    full = int(year)
    if len(year) <= 2:
        full += today.year // 100 * 100
        if full < today.year - 50:
            full += 100
    return int(month), full


@dataclass(frozen=True)
class CardInput:
    """What the gateway needs once; the number and the code are kept out of the repr."""

    digits: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    holder_name: str


def tokenize(gateway: SyncService, card: CardInput, *, save: bool = False,
             make_default: bool = False, method_id: str = "") -> NewMethod:
    """The card to the gateway, its token back (call off the UI thread; raises
    UserFacingError in words when the gateway cannot be reached or refuses it)."""
    answer = gateway.tokenize_card(card.digits, card.exp_month, card.exp_year, card.cvc,
                                   card.holder_name)
    return NewMethod(kind="card", token=str(answer["token"]), last4=str(answer["last4"]),
                     brand=str(answer.get("brand", "")), exp_month=int(answer["exp_month"]),
                     exp_year=int(answer["exp_year"]), holder_name=card.holder_name,
                     save=save, make_default=save and make_default, id=method_id)


class CardEntry(QWidget):
    """The four card fields with a hint under each; ``problems`` refreshes the hints."""

    edited = Signal()  # any field changed
    submitted = Signal()  # Enter in any field

    def __init__(self, holder_name: str = "", today: date | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.today = today or date.today()
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setVerticalSpacing(4)
        self.number = QLineEdit()
        self.number.setAccessibleName("Card number")
        # Shown while typed, dotted once the caret leaves: not readable on a screenshot,
        # and a non-normal echo mode cannot be copied to the clipboard.
        self.number.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.number.setPlaceholderText("Card number")
        self.number.setMaxLength(23)
        self.number_hint = hint_label()
        self.expiry = QLineEdit()
        self.expiry.setAccessibleName("Expiry")
        self.expiry.setPlaceholderText("MM/YY")
        self.expiry.setMaxLength(7)
        self.expiry_hint = hint_label()
        self.cvc = QLineEdit()
        self.cvc.setAccessibleName("Security code")
        self.cvc.setEchoMode(QLineEdit.EchoMode.Password)
        self.cvc.setMaxLength(4)
        self.cvc.setPlaceholderText("3 or 4 digits")
        self.cvc_hint = hint_label()
        self.holder = QLineEdit(holder_name)
        self.holder.setAccessibleName("Name on the card")
        self.holder_hint = hint_label()
        for label, widget in (("Card &number", self.number), ("", self.number_hint),
                              ("&Expiry", self.expiry), ("", self.expiry_hint),
                              ("Securit&y code", self.cvc), ("", self.cvc_hint),
                              ("Name on card", self.holder), ("", self.holder_hint)):
            if label:
                title = QLabel(label)
                title.setBuddy(widget)
                self.form.addRow(title, widget)
            else:
                self.form.addRow("", widget)
        self.holder_hint.hide()
        for edit in (self.number, self.expiry, self.cvc, self.holder):
            edit.textEdited.connect(lambda _t: self.edited.emit())
            edit.returnPressed.connect(self.submitted.emit)
        self.number.textEdited.connect(self._format_number)

    def _format_number(self, text: str) -> None:
        formatted = cards.format_card_number(text)
        if formatted != text:
            at = self.number.cursorPosition()
            digits_before = len(cards.digits_only(text[:at]))
            self.number.setText(formatted)
            pos, seen = 0, 0
            while pos < len(formatted) and seen < digits_before:
                seen += formatted[pos].isdigit()
                pos += 1
            self.number.setCursorPosition(pos)

    def problems(self) -> list[str]:
        """Why the card cannot go to the gateway yet (empty when it can); refreshes the
        hint under every field."""
        number = cards.check_card_number(self.number.text())
        brand = number.brand.label if number.brand is not None else ""
        show_check(self.number_hint, number, f"{brand} \u2713")
        expiry = cards.check_expiry(self.expiry.text(), today=self.today)
        show_check(self.expiry_hint, expiry)
        cvc = cards.check_cvc(self.cvc.text(), number.brand)
        show_check(self.cvc_hint, cvc)
        holder = cards.check_holder_name(self.holder.text())
        show_check(self.holder_hint, holder)
        self.holder_hint.setVisible(not holder.ok)
        return [c.message for c in (number, expiry, cvc, holder) if not c.ok]

    def take(self) -> CardInput:
        """The card as typed, once: the number and the security code are cleared from the
        fields now (call only when ``problems()`` is empty)."""
        number = cards.check_card_number(self.number.text())
        month, year = expiry_month_year(self.expiry.text(), self.today)
        card = CardInput(number.digits, month, year, self.cvc.text().strip(),
                         self.holder.text().strip())
        self.number.clear()
        self.cvc.clear()
        return card
