"""The wizard's pages: thin views over ``domain.order_wizard.OrderWizard``.

Each page shows the wizard's state in ``refresh()`` and writes what the agent does
straight back into the wizard, then says ``changed`` (the dialog re-prices and redraws
the step list). Nothing is kept in the widgets alone, so going back and forth, or leaving
and resuming a draft, loses nothing.
"""

from __future__ import annotations

from datetime import date
from html import escape

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.order_wizard import (
    MAX_QUANTITY,
    TERMS,
    OfferResponse,
    OrderWizard,
    Step,
    dollars,
)
from agent_desktop.domain.quote import Quote
from agent_desktop.ui.widgets.common import muted

_ROLE = Qt.ItemDataRole.UserRole
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _day(value: date) -> str:
    return f"{value:%a %b} {value.day}, {value.year}"


def wrapped(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    if name:
        label.setObjectName(name)
    return label


class Page(QWidget):
    """One step. ``enter_advances``: Enter anywhere on the page goes to the next step."""

    changed = Signal()
    advance = Signal()  # the page asks to go on (Enter where the dialog cannot see it)
    enter_advances = True

    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__()
        self.wizard = wizard
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(8)
        # Pages whose widgets take no keys still hold the caret, so Enter reaches the
        # dialog (and never a button that happens to be next in the tab order).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def refresh(self) -> None:
        """Show the wizard's state (when the page is shown)."""

    def focus_first(self) -> None:
        self.focusNextChild()

    def quote_ready(self, quote: Quote) -> None:
        """A fresh quote for the wizard as it is now."""


# --- CUSTOMER -------------------------------------------------------------------------------


class CustomerPage(Page):
    new_customer_requested = Signal()

    def __init__(self, wizard: OrderWizard, can_create: bool) -> None:
        super().__init__(wizard)
        self.who = wrapped(name="customerName")
        self.facts = wrapped()
        self.facts.setObjectName("muted")
        self.missing = wrapped()
        self.missing.setAccessibleName("What is still missing")
        self.new_button = QPushButton("New c&ustomer\u2026")
        self.new_button.setAccessibleName("Create a new customer for this order")
        self.new_button.setVisible(can_create)
        self.new_button.clicked.connect(self.new_customer_requested.emit)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addStretch(1)
        for widget in (self.who, self.facts, self.missing):
            self.box.addWidget(widget)
        self.box.addLayout(row)
        self.box.addStretch(1)
        self.can_create = can_create

    def refresh(self) -> None:
        facts = self.wizard.customer
        if facts is None:
            self.who.setText("No customer yet")
            self.facts.setText(
                "Close this (Esc) and find the caller with Ctrl+K, then Ctrl+Shift+O on "
                "their 360" + (", or create a new customer here (Alt+U)." if self.can_create
                               else "."))
            self.new_button.setVisible(self.can_create)
        else:
            self.new_button.setVisible(False)
            self.who.setText(f"Ordering for {escape(facts.display_name)}")
            services = ", ".join(facts.existing_skus) or "none yet"
            since = (f"a customer for {facts.tenure_months} months"
                     if facts.tenure_months else "a new customer")
            account = f"Account {escape(facts.account_number)} \u00b7 " \
                if facts.account_number else ""
            self.facts.setText(f"{account}{since} \u00b7 services now: {escape(services)}"
                               "<br>Enter goes on to the service address.")
        missing = self.wizard.missing() if self.wizard.swivel_chair else []
        if self.wizard.swivel_chair:
            saved = self.wizard.saved_on
            when = f" on {_day(saved)}" if saved else ""
            items = "".join(f"<li>{escape(m)}</li>" for m in missing) or \
                "<li>Nothing: it can be placed as saved.</li>"
            self.missing.setText(f"<b>Keyed from the quote saved{when}, without the customer "
                                 f"on the line.</b> Still missing:<ul>{items}</ul>")
        self.missing.setVisible(self.wizard.swivel_chair)

    def focus_first(self) -> None:
        if self.new_button.isVisible():
            self.new_button.setFocus()
        else:
            self.setFocus()


# --- ADDRESS --------------------------------------------------------------------------------


class AddressPage(Page):
    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        label = QLabel("Where the services go (\u2191\u2193 to choose):")
        self.list = QListWidget()
        self.list.setAccessibleName("Service addresses")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.check = wrapped()
        self.check.setAccessibleName("Can we serve this address")
        self.possible = wrapped()
        self.possible.setObjectName("muted")
        self.box.addWidget(label)
        self.box.addWidget(self.list, 1)
        self.box.addWidget(self.check)
        self.box.addWidget(self.possible)
        self.list.currentItemChanged.connect(self._chosen)

    def refresh(self) -> None:
        facts = self.wizard.customer
        self.list.blockSignals(True)
        self.list.clear()
        for address in facts.addresses if facts else ():
            check = self.wizard.address_check(address.id)
            where = f"served by {check.region.name}" if check.region else \
                "outside the service area"
            item = QListWidgetItem(f"{address.label}   \u2014 {where}")
            item.setData(_ROLE, address.id)
            self.list.addItem(item)
            if address.id == self.wizard.address_id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._show_check()

    def _chosen(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        self.wizard.choose_address(str(item.data(_ROLE)))
        self._show_check()
        self.changed.emit()

    def _show_check(self) -> None:
        check = self.wizard.address_check()
        colour = "#1b7f3b" if check.ok else "#b3261e"
        self.check.setText(f"<span style='color:{colour}'>{escape(check.message)}</span>")
        self.possible.setText(escape(check.possible))
        self.possible.setVisible(bool(check.possible))

    def focus_first(self) -> None:
        self.list.setFocus()


# --- PRODUCTS -------------------------------------------------------------------------------


class ProductsPage(Page):
    """Type to filter, Enter or Space adds; Delete takes a line out of the order. With the
    box empty, Enter goes on."""

    enter_advances = False

    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        find = QLabel("&Find a product or bundle")
        self.filter = QLineEdit()
        self.filter.setAccessibleName("Find a product or bundle")
        self.filter.setPlaceholderText("Type: internet, tv duo, INT-100\u2026  "
                                       "Enter or Space adds")
        self.filter.setClearButtonEnabled(True)
        find.setBuddy(self.filter)
        self.results = QListWidget()
        self.results.setAccessibleName("Products and bundles")
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.detail = wrapped()
        self.detail.setObjectName("muted")
        self.detail.setAccessibleName("About the chosen product")
        self.results.currentRowChanged.connect(lambda _r: self._show_detail())
        cart_label = QLabel("In the order (Delete takes a line out):")
        self.cart = QListWidget()
        self.cart.setAccessibleName("In the order")
        self.cart.setMaximumHeight(150)
        self.note = wrapped()
        self.note.setObjectName("muted")
        self.box.addWidget(find)
        self.box.addWidget(self.filter)
        self.box.addWidget(self.results, 1)
        self.box.addWidget(self.detail)
        self.box.addWidget(cart_label)
        self.box.addWidget(self.cart)
        self.box.addWidget(self.note)
        self.filter.textEdited.connect(lambda _t: self._fill())
        self.results.itemActivated.connect(lambda _i: self.add_current())
        for widget in (self.filter, self.results, self.cart):
            widget.installEventFilter(self)

    def refresh(self) -> None:
        self._fill()
        self._fill_cart()

    def focus_first(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    def _fill(self) -> None:
        self.results.clear()
        for choice in self.wizard.items(self.filter.text()):
            what = "Bundle" if choice.is_bundle else choice.detail
            text = f"{choice.name}  \u00b7  {choice.price_text}  \u00b7  {what}"
            if not choice.sold_here:
                text += f"  \u2014 {choice.why_not}"
            item = QListWidgetItem(text)
            item.setData(_ROLE, choice.key)
            item.setData(Qt.ItemDataRole.UserRole + 1, choice.why_not)
            item.setData(Qt.ItemDataRole.UserRole + 2, self._describe(choice.key))
            item.setToolTip(self._describe(choice.key))
            if not choice.sold_here:
                item.setForeground(Qt.GlobalColor.gray)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)

    def _describe(self, key: str) -> str:
        kind, _, code = key.partition(":")
        catalog = self.wizard.catalog
        if kind == "bundle":
            bundle = catalog.bundles[code]
            return bundle.description or " + ".join(bundle.components)
        return catalog.products[code].description

    def _show_detail(self) -> None:
        item = self.results.currentItem()
        self.detail.setText(escape(str(item.data(Qt.ItemDataRole.UserRole + 2) or ""))
                            if item is not None else "")

    def _fill_cart(self) -> None:
        self.cart.clear()
        for line in self.wizard.cart:
            bundle = self.wizard.catalog.bundles.get(line.bundle_code or "")
            extra = f"  ({bundle.name})" if bundle else ""
            promo = f"  \u00b7 {line.promotion_code}" if line.promotion_code else ""
            self.cart.addItem(f"{line.quantity} \u00d7 {self.wizard.line_name(line)}"
                              f"{extra}{promo}")

    def add_current(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        why_not = str(item.data(Qt.ItemDataRole.UserRole + 1) or "")
        if why_not:
            self.note.setText(f"{escape(item.text().split('  ')[0])}: {why_not}")
            return
        try:
            notes = self.wizard.add(str(item.data(_ROLE)))
        except UserFacingError as exc:  # e.g. a bundle that would step the customer down
            self.note.setText(escape(exc.message))
            return
        self.note.setText(escape(" ".join(notes)))
        self._fill_cart()
        self.filter.clear()
        self._fill()
        self.filter.setFocus()
        self.changed.emit()

    def remove_current(self) -> None:
        row = self.cart.currentRow()
        if row < 0:
            return
        notes = self.wizard.remove_line(row)
        self.note.setText(escape(" ".join(notes)))
        self._fill_cart()
        if self.cart.count():
            self.cart.setCurrentRow(min(row, self.cart.count() - 1))
        self.changed.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        key, mods = event.key(), event.modifiers()
        if mods & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if watched is self.filter:
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.results.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                if 0 <= row < self.results.count():
                    self.results.setCurrentRow(row)
                return True
            if key in _ENTER:
                if not self.filter.text().strip():
                    self.advance.emit()
                else:
                    self.add_current()
                return True
        if watched is self.results and key in (*_ENTER, Qt.Key.Key_Space):
            self.add_current()
            return True
        if watched is self.cart and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_current()
            return True
        if watched is self.cart and key in _ENTER:
            self.advance.emit()
            return True
        return False


# --- CONFIGURE ------------------------------------------------------------------------------


class ConfigurePage(Page):
    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        self.lines = QWidget()
        self.grid = QGridLayout(self.lines)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.box.addWidget(self.lines)
        form = QFormLayout()
        self.install = QComboBox()
        self.install.setAccessibleName("Installation day")
        self.install_label = QLabel("&Installation day")
        self.install_label.setBuddy(self.install)
        form.addRow(self.install_label, self.install)
        self.install_note = muted("Technicians come on business days, from tomorrow up to "
                                  "60 days ahead.")
        form.addRow("", self.install_note)
        self.box.addLayout(form)
        self.box.addStretch(1)
        self.quantities: list[QSpinBox] = []
        self.promotions: list[QComboBox] = []
        self.install.currentIndexChanged.connect(self._install_chosen)

    def refresh(self) -> None:
        while self.grid.count():
            taken = self.grid.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        self.quantities, self.promotions = [], []
        for column, title in enumerate(("Product", "Quantity", "Promotion")):
            head = QLabel(f"<b>{title}</b>")
            self.grid.addWidget(head, 0, column)
        for row, line in enumerate(self.wizard.cart, start=1):
            self.grid.addWidget(QLabel(escape(self.wizard.line_name(line))), row, 0)
            spin = QSpinBox()
            spin.setRange(1, MAX_QUANTITY)
            spin.setValue(min(max(line.quantity, 1), MAX_QUANTITY))
            spin.setAccessibleName(f"Quantity of {self.wizard.line_name(line)}")
            spin.valueChanged.connect(lambda v, i=row - 1: self._quantity(i, v))
            self.grid.addWidget(spin, row, 1)
            promo = QComboBox()
            promo.setAccessibleName(f"Promotion on {self.wizard.line_name(line)}")
            promo.addItem("No promotion", None)
            for code, words in self.wizard.promotion_options(row - 1):
                promo.addItem(words, code)
            index = promo.findData(line.promotion_code) if line.promotion_code else 0
            promo.setCurrentIndex(max(index, 0))
            promo.currentIndexChanged.connect(lambda _i, i=row - 1, box=promo:
                                              self._promotion(i, box))
            self.grid.addWidget(promo, row, 2)
            self.quantities.append(spin)
            self.promotions.append(promo)
        self.grid.setColumnStretch(0, 1)
        for i in range(self.grid.count()):  # added to a shown page: show them now, so the
            item = self.grid.itemAt(i)      # caret can go to them at once
            child = item.widget() if item is not None else None
            if child is not None:
                child.show()
        needs = self.wizard.needs_install()
        for widget in (self.install, self.install_label, self.install_note):
            widget.setVisible(needs)
        self.install.blockSignals(True)
        self.install.clear()
        for day in self.wizard.install_dates():
            self.install.addItem(_day(day), day.isoformat())
        chosen = self.install.findData(self.wizard.install_on.isoformat()) \
            if self.wizard.install_on else -1
        if chosen < 0 and self.wizard.install_on is not None:
            self.install.insertItem(0, f"{_day(self.wizard.install_on)} (not possible)",
                                    self.wizard.install_on.isoformat())
            chosen = 0
        self.install.setCurrentIndex(chosen)
        self.install.blockSignals(False)

    def focus_first(self) -> None:
        (self.quantities[0] if self.quantities else self.install).setFocus()

    def _quantity(self, index: int, value: int) -> None:
        self.wizard.set_quantity(index, value)
        self.changed.emit()

    def _promotion(self, index: int, box: QComboBox) -> None:
        code = box.currentData()
        self.wizard.set_promotion(index, str(code) if code else None)
        self.changed.emit()

    def _install_chosen(self, index: int) -> None:
        day = self.install.itemData(index) if index >= 0 else None
        self.wizard.set_install_on(date.fromisoformat(str(day)) if day else None)
        self.changed.emit()


# --- OFFERS ---------------------------------------------------------------------------------

_ANSWERS = {OfferResponse.ACCEPTED: "accepted", OfferResponse.DECLINED: "declined",
            OfferResponse.NOT_NOW: "not now"}


class OffersPage(Page):
    """A to accept, D to decline, W for not now; Enter goes on (offers may be skipped)."""

    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        self.intro = muted("Put these to the customer; A accepts into the order, D declines, "
                           "W is \u201cnot now\u201d. Enter goes on.")
        self.intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Offers")
        self.pitch = wrapped()
        self.pitch.setAccessibleName("What to say")
        row = QHBoxLayout()
        self.accept_button = QPushButton("&Accept")
        self.decline_button = QPushButton("&Decline")
        self.later_button = QPushButton("Not no&w")
        for button, answer in ((self.accept_button, OfferResponse.ACCEPTED),
                               (self.decline_button, OfferResponse.DECLINED),
                               (self.later_button, OfferResponse.NOT_NOW)):
            button.setAutoDefault(False)
            button.clicked.connect(lambda _c=False, a=answer: self.answer(a))
            row.addWidget(button)
        row.addStretch(1)
        self.note = wrapped()
        self.note.setObjectName("muted")
        for widget in (self.intro, self.list, self.pitch):
            self.box.addWidget(widget)
        self.box.addLayout(row)
        self.box.addWidget(self.note)
        self.box.addStretch(1)
        self.list.currentRowChanged.connect(lambda _r: self._show_pitch())
        self.list.installEventFilter(self)

    def refresh(self) -> None:
        row = max(self.list.currentRow(), 0)
        self.list.clear()
        for offer in self.wizard.offers:
            answer = self.wizard.responses.get(offer.code)
            kind = "Up-sell" if offer.kind == "up_sell" else "Cross-sell"
            self.list.addItem(f"{kind}: {offer.title}"
                              + (f"   \u2014 {_ANSWERS[answer]}" if answer else ""))
        if not self.wizard.offers:
            why = self.wizard.offers_reason
            self.list.addItem(f"No offers: {why} \u2014 Enter goes on." if why else
                              "No offers fit this order \u2014 Enter goes on.")
        self.list.setCurrentRow(min(row, self.list.count() - 1))
        for button in (self.accept_button, self.decline_button, self.later_button):
            button.setEnabled(bool(self.wizard.offers))
        self._show_pitch()

    def focus_first(self) -> None:
        self.list.setFocus()

    def _show_pitch(self) -> None:
        row = self.list.currentRow()
        offers = self.wizard.offers
        self.pitch.setText(f"Say: \u201c{escape(offers[row].pitch)}\u201d"
                           if 0 <= row < len(offers) else "")

    def answer(self, response: OfferResponse) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.wizard.offers):
            return
        notes = self.wizard.respond(self.wizard.offers[row].code, response)
        self.note.setText(escape(" ".join(notes)))
        self.refresh()
        self.list.setCurrentRow(row)
        self.changed.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and not event.modifiers():
            answer = {Qt.Key.Key_A: OfferResponse.ACCEPTED, Qt.Key.Key_D:
                      OfferResponse.DECLINED, Qt.Key.Key_W: OfferResponse.NOT_NOW}.get(
                Qt.Key(event.key()))
            if answer is not None:
                self.answer(answer)
                return True
        return False


# --- REVIEW ---------------------------------------------------------------------------------


class ReviewPage(Page):
    save_quote_requested = Signal()

    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        self.table = QTableWidget(0, 4)
        self.table.setAccessibleName("The quote")
        self.table.setHorizontalHeaderLabels(["Item", "Qty", "Monthly", "One-time"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.totals = wrapped()
        self.totals.setAccessibleName("Totals")
        self.problems = wrapped()
        self.problems.setAccessibleName("Problems with the quote")
        self.save_button = QPushButton("Save &quote for later")
        self.save_button.setAutoDefault(False)
        self.save_button.setToolTip("Keep this priced quote; the order can be keyed from it "
                                    "later, even without the customer on the line.")
        self.save_button.clicked.connect(self.save_quote_requested.emit)
        self.saved = wrapped()
        self.saved.setObjectName("muted")
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.saved, 1)
        self.box.addWidget(self.table, 1)
        self.box.addWidget(self.totals)
        self.box.addWidget(self.problems)
        self.box.addLayout(row)

    def refresh(self) -> None:
        quote = self.wizard.cached_quote()
        if quote is None:
            self.totals.setText("Pricing\u2026")
            self.problems.clear()
            return
        self.quote_ready(quote)

    def focus_first(self) -> None:
        self.setFocus()

    def quote_ready(self, quote: Quote) -> None:
        self.table.setRowCount(0)
        for line in quote.lines:
            if line.kind == "proration":
                continue  # summed in the totals: the part month on the next bill
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = line.name + (f" \u2014 {line.promotion_code}" if line.promotion_code else "")
            cells = [name, str(line.quantity) if line.kind == "product" else "",
                     dollars(line.net_cents) if line.recurring else "",
                     "" if line.recurring else dollars(line.net_cents)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(line.why)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.totals.setText(totals_html(quote))
        problems = self.wizard.problems(Step.REVIEW) if self.wizard.cart else []
        later = [OrderWizard.problem_text(p) for p in quote.problems
                 if OrderWizard.problem_text(p) not in problems]
        html = "".join(f"<li>{escape(p)}</li>" for p in problems)
        html += "".join(f"<li>{escape(p)} (at Payment)</li>" for p in later)
        self.problems.setText(
            f"<span style='color:#b3261e'><b>Cannot be ordered yet:</b><ul>{html}</ul></span>"
            if problems else (f"<span style='color:#8a5a00'><ul>{html}</ul></span>"
                              if later else "<span style='color:#1b7f3b'>Ready: read the "
                              "price to the customer, then Enter.</span>"))


def totals_html(quote: Quote) -> str:
    rows = [("Monthly", f"<b>{dollars(quote.monthly_cents)}</b> + "
             f"{dollars(quote.monthly_tax_cents)} tax")]
    if quote.fees_monthly_cents:
        rows.append(("of which fees", dollars(quote.fees_monthly_cents)))
    rows.append(("Due today", f"<b>{dollars(quote.due_today_cents)}</b>"
                 + (f" ({dollars(quote.one_time_cents)} + {dollars(quote.one_time_tax_cents)}"
                    " tax)" if quote.one_time_tax_cents else "")))
    if quote.proration_cents:
        rows.append(("Part month (next bill)", dollars(quote.proration_cents
                                                      + quote.proration_tax_cents)))
    if quote.first_months_cents:
        rows.append(("While free months run", ", ".join(
            dollars(c) for c in quote.first_months_cents) + " before tax"))
    rows.append(("Price holds until", _day(quote.valid_until)))
    return "<table cellspacing='2'>" + "".join(
        f"<tr><td>{k}&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows) + "</table>"


# --- PAYMENT --------------------------------------------------------------------------------


class PaymentPage(Page):
    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        form = QFormLayout()
        form.setVerticalSpacing(6)
        self.method = QComboBox()
        self.method.setAccessibleName("How the customer pays")
        method_label = QLabel("&Method")
        method_label.setBuddy(self.method)
        form.addRow(method_label, self.method)
        self.method_note = muted("")
        self.method_note.setWordWrap(True)
        form.addRow("", self.method_note)
        self.due = wrapped()
        form.addRow("Due today", self.due)
        self.box.addLayout(form)
        self.autopay = QCheckBox("Auto&pay: the monthly bill is paid from this card or "
                                 "account")
        self.box.addWidget(self.autopay)
        terms = wrapped(f"Read out: \u201c{escape(TERMS)}\u201d")
        terms.setObjectName("muted")
        self.box.addWidget(terms)
        self.terms = QCheckBox("The customer agrees to the &terms")
        self.box.addWidget(self.terms)
        self.box.addStretch(1)
        self.method.currentIndexChanged.connect(self._method_chosen)
        self.autopay.toggled.connect(self._autopay)
        self.terms.toggled.connect(self._terms)

    def refresh(self) -> None:
        for widget in (self.method, self.autopay, self.terms):
            widget.blockSignals(True)
        self.method.clear()
        for option in self.wizard.payment_options():
            self.method.addItem(option.label, option.key)
        index = self.method.findData(self.wizard.payment_key)
        self.method.setCurrentIndex(index)
        self.autopay.setChecked(self.wizard.autopay)
        self.terms.setChecked(self.wizard.terms_accepted)
        for widget in (self.method, self.autopay, self.terms):
            widget.blockSignals(False)
        self._note()
        quote = self.wizard.cached_quote()
        if quote is not None:
            self.quote_ready(quote)

    def focus_first(self) -> None:
        self.method.setFocus()

    def _note(self) -> None:
        option = next((o for o in self.wizard.payment_options()
                       if o.key == self.wizard.payment_key), None)
        self.method_note.setText(option.note if option and option.note else
                                 "Nothing is charged by the order itself.")

    def quote_ready(self, quote: Quote) -> None:
        due = quote.due_today_cents
        self.due.setText(f"<b>{dollars(due)}</b>" + (
            " \u2014 taken with Ctrl+P once the order is placed" if due else ""))

    def _method_chosen(self, index: int) -> None:
        if index >= 0:
            self.wizard.choose_payment(str(self.method.itemData(index)))
            self._note()
            self.changed.emit()

    def _autopay(self, on: bool) -> None:
        self.wizard.set_autopay(on)
        self.changed.emit()

    def _terms(self, on: bool) -> None:
        self.wizard.set_terms_accepted(on)
        self.changed.emit()


# --- CONFIRM --------------------------------------------------------------------------------


class ConfirmPage(Page):
    def __init__(self, wizard: OrderWizard) -> None:
        super().__init__(wizard)
        self.summary = wrapped()
        self.summary.setAccessibleName("The order")
        self.say = wrapped()
        self.box.addWidget(self.summary)
        self.box.addWidget(self.say)
        self.box.addStretch(1)

    def refresh(self) -> None:
        quote = self.wizard.cached_quote()
        if quote is not None:
            self.quote_ready(quote)
        else:
            self.summary.setText("Pricing\u2026")

    def focus_first(self) -> None:
        self.setFocus()

    def quote_ready(self, quote: Quote) -> None:
        w = self.wizard
        facts, address = w.customer, w.address
        lines = "".join(f"<li>{line.quantity} \u00d7 {escape(w.line_name(line))}"
                        + (f" ({escape(line.promotion_code)})" if line.promotion_code else "")
                        + "</li>" for line in w.cart)
        option = next((o for o in w.payment_options() if o.key == w.payment_key), None)
        install = f"<br>Installation: <b>{_day(w.install_on)}</b>" \
            if w.install_on and w.needs_install() else ""
        self.summary.setText(
            f"<b>{escape(facts.display_name if facts else '')}</b> at "
            f"{escape(address.label if address else '')}{install}<ul>{lines}</ul>"
            + totals_html(quote)
            + f"<br>Paid by {escape(option.label if option else '?')}"
            + (", autopay on" if w.autopay else ""))
        self.say.setText(
            f"Say: \u201cThat is {dollars(quote.monthly_cents + quote.monthly_tax_cents)} a "
            f"month with tax" + (f", and {dollars(quote.due_today_cents)} today"
                                 if quote.due_today_cents else "")
            + ". Shall I place the order?\u201d Then Enter (or Alt+P) places it.")
