"""The order entry wizard (Ctrl+Shift+O on a 360): the steps on the left, one page at a
time in the middle, the live quote on the right.

Alt+N goes on, Alt+B goes back, Enter goes on where Enter means nothing else (on the
product search it adds what is chosen; with the box empty it goes on). What a step still
needs shows under the page, and in red once the agent tried to go on. The quote is priced
off the UI thread after every change (``Op``); a stale answer is dropped. Leaving half-way
(Esc, Cancel) asks whether to keep the order as a draft; placing it runs off the UI thread
and a refusal (stock, a promotion that ended, a changed price) takes the agent to the step
that can fix it, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.order_wizard import (
    STEP_TITLES,
    STEPS,
    CustomerFacts,
    OrderWizard,
    Step,
    dollars,
)
from agent_desktop.domain.quote import Quote
from agent_desktop.services import orders as service
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.store import Store
from agent_desktop.ui.screens.order_wizard.pages import (
    AddressPage,
    ConfigurePage,
    ConfirmPage,
    CustomerPage,
    OffersPage,
    Page,
    PaymentPage,
    ProductsPage,
    ReviewPage,
    totals_html,
    wrapped,
)
from agent_desktop.ui.tasks import Op

log = logging.getLogger(__name__)

_HINTS = {
    Step.CUSTOMER: "Who the order is for.",
    Step.ADDRESS: "A region must serve the address.",
    Step.PRODUCTS: "Type to filter; Enter or Space adds; Delete takes out.",
    Step.CONFIGURE: "Quantities, promotions and the installation day.",
    Step.OFFERS: "Offers that fit; they may be skipped (Enter).",
    Step.REVIEW: "Read the price to the customer.",
    Step.PAYMENT: "How today's total is paid, and the terms.",
    Step.CONFIRM: "Read back the order, then place it.",
}


class OrderWizardDialog(QDialog):
    placed = Signal(object)  # services.orders.OrderPlaced
    kept = Signal(object)  # services.orders.DraftKept (a draft or a saved quote)
    quoted = Signal(object)  # Quote, once shown
    step_shown = Signal(str)  # Step value
    new_customer_requested = Signal()

    def __init__(self, wizard: OrderWizard, store: Store, who: AgentContext,
                 parent: QWidget | None = None, *, can_create_customer: bool = False,
                 engine_offers: Mapping[str, Any] | None = None) -> None:
        super().__init__(parent)
        self.wizard, self.store, self.who = wizard, store, who
        # The offer engine's own offers by code, and the answers recorded so far: every
        # offer the customer heard is recorded with their answer (services.offers).
        self.engine_offers = dict(engine_offers or {})
        self.recorded: dict[str, str] = {}
        self._busy = False
        self._tried = False  # the agent tried to go on: what is missing shows in red
        self._refusal = ""  # the last refusal from placing, until something changes
        self._pricing = 0
        self.leave_box: QMessageBox | None = None
        name = wizard.customer.display_name if wizard.customer else "new customer"
        self.setWindowTitle(f"New order \u2014 {name}")
        self.resize(1080, 640)

        outer = QVBoxLayout(self)
        row = QHBoxLayout()
        outer.addLayout(row, 1)
        self.steps = QListWidget()
        self.steps.setAccessibleName("Steps")
        self.steps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.steps.setFixedWidth(190)
        for step in STEPS:
            self.steps.addItem(STEP_TITLES[step])
        self.steps.itemClicked.connect(self._step_clicked)
        row.addWidget(self.steps)

        middle = QVBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("customerName")
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        self.stack = QStackedWidget()
        self.needs = wrapped()
        self.needs.setAccessibleName("What this step still needs")
        self.banner = wrapped()
        self.banner.setObjectName("badge_warning")
        self.banner.setAccessibleName("Keyed from a saved quote: what is still missing")
        self.banner.hide()
        middle.addWidget(self.title)
        middle.addWidget(self.hint)
        middle.addWidget(self.banner)
        middle.addWidget(self.stack, 1)
        middle.addWidget(self.needs)
        row.addLayout(middle, 1)

        panel = QFrame()
        panel.setObjectName("card")
        panel.setFixedWidth(320)
        side = QVBoxLayout(panel)
        head = QLabel("Quote")
        head.setObjectName("sectionTitle")
        self.live = wrapped("Nothing in the order yet.")
        self.live.setAccessibleName("The live quote")
        self.live.setAlignment(Qt.AlignmentFlag.AlignTop)
        side.addWidget(head)
        side.addWidget(self.live, 1)
        row.addWidget(panel)

        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel")
        self.back_button = QPushButton("\u25c0 &Back")
        self.next_button = QPushButton("&Next \u25b6")
        self.place_button = QPushButton("&Place order")
        for button in (self.cancel_button, self.back_button, self.next_button,
                       self.place_button):
            button.setAutoDefault(False)
        self.back_button.setToolTip("Alt+B")
        self.next_button.setToolTip("Alt+N (Enter on most pages)")
        self.place_button.setToolTip("Alt+P (Enter on this page)")
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.place_button)
        outer.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.back_button.clicked.connect(self.go_back)
        self.next_button.clicked.connect(self.advance)
        self.place_button.clicked.connect(self.place)

        self.customer_page = CustomerPage(wizard, can_create_customer)
        self.customer_page.new_customer_requested.connect(self.new_customer_requested.emit)
        self.review_page = ReviewPage(wizard)
        self.review_page.save_quote_requested.connect(self.save_quote)
        self.pages: dict[Step, Page] = {
            Step.CUSTOMER: self.customer_page, Step.ADDRESS: AddressPage(wizard),
            Step.PRODUCTS: ProductsPage(wizard), Step.CONFIGURE: ConfigurePage(wizard),
            Step.OFFERS: OffersPage(wizard), Step.REVIEW: self.review_page,
            Step.PAYMENT: PaymentPage(wizard), Step.CONFIRM: ConfirmPage(wizard),
        }
        for page in self.pages.values():
            self.stack.addWidget(page)
            page.changed.connect(self.changed)
            page.advance.connect(self.advance)
        self.show_step()

    def set_customer(self, facts: CustomerFacts) -> None:
        """The customer chosen or created for this order (New customer, Alt+U)."""
        self.wizard.set_customer(facts)
        self.setWindowTitle(f"New order \u2014 {facts.display_name}")
        self.activateWindow()  # back from the New customer dialog, to the order
        self.show_step()
        self.changed()

    # --- moving -----------------------------------------------------------------------
    def page(self) -> Page:
        return self.pages[self.wizard.step]

    def show_step(self) -> None:
        step = self.wizard.step
        page = self.pages[step]
        self.stack.setCurrentWidget(page)
        page.refresh()
        index = STEPS.index(step)
        self.title.setText(f"{index + 1}. {STEP_TITLES[step]}")
        self.hint.setText(_HINTS[step])
        self.back_button.setEnabled(index > 0)
        self.next_button.setVisible(step != Step.CONFIRM)
        self.place_button.setVisible(step == Step.CONFIRM)
        self._tried = False
        self._paint_steps()
        self._show_needs()
        page.focus_first()
        self._reprice()  # entering a step may change the price (the installation day)
        self.step_shown.emit(step.value)

    def _paint_steps(self) -> None:
        for i, step in enumerate(STEPS):
            item = self.steps.item(i)
            if item is None:
                continue
            current = step == self.wizard.step
            mark = "\u25b8 " if current else ("\u2713 " if self.wizard.done(step) else "   ")
            item.setText(f"{mark}{STEP_TITLES[step]}")
            font = item.font()
            font.setBold(current)
            item.setFont(font)
            reachable = self.wizard.can_go(step)
            flags = item.flags()
            item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if reachable
                          else flags & ~Qt.ItemFlag.ItemIsEnabled)
        self.steps.setCurrentRow(STEPS.index(self.wizard.step))

    def _show_banner(self) -> None:
        """Swivel-chair: keyed from a saved quote without the customer on the line."""
        if not self.wizard.swivel_chair:
            return
        missing = self.wizard.missing()
        saved = self.wizard.saved_on
        when = f" of {saved:%b} {saved.day}" if saved else ""
        self.banner.setText(f"From the quote{when}, customer not on the line. "
                            + ("Still missing: " + " ".join(escape(m) for m in missing)
                               if missing else "Nothing missing: it can be placed."))
        self.banner.show()

    def _show_needs(self) -> None:
        self._show_banner()
        if self._refusal:
            self.needs.setText(f"<span style='color:#b3261e'>{escape(self._refusal)}</span>")
            return
        step = self.wizard.step
        own = {Step.ADDRESS: "Choose an address we serve (above), or keep the order as a "
                             "draft (Esc).",
               Step.REVIEW: "The problems listed above block the order: change it with "
                            "the customer (Alt+B goes back)."}
        if step in own:  # these pages show their problems themselves
            problems = [own[step]] if self._tried and (
                step != Step.REVIEW or self.wizard.cached_quote() is not None) \
                and self.wizard.problems() else []
        else:
            problems = self.wizard.problems()
        if not problems:
            self.needs.setText("")
            return
        colour = "#b3261e" if self._tried else "#8a5a00"
        self.needs.setText(f"<span style='color:{colour}'>"
                           + "<br>".join(escape(p) for p in problems[:3]) + "</span>")

    def advance(self) -> None:
        """Alt+N / Enter: the next step, or say what this one still needs."""
        if self._busy:
            return
        if self.wizard.step == Step.CONFIRM:
            self.place()
            return
        if self.wizard.step in (Step.REVIEW, Step.PAYMENT) \
                and self.wizard.cached_quote() is None:
            self.needs.setText("Pricing\u2026 one moment.")
            return
        leaving = self.wizard.step
        if self.wizard.next():
            self._refusal = ""
            if leaving == Step.OFFERS:
                self._record_offers()
            self.show_step()
            return
        self._tried = True
        self._show_needs()

    def go_back(self) -> None:
        if self._busy:
            return
        if self.wizard.back():
            self.show_step()

    def go(self, step: Step) -> bool:
        if self._busy or not self.wizard.go(step):
            return False
        self.show_step()
        return True

    def _step_clicked(self, item: QListWidgetItem) -> None:
        self.go(STEPS[self.steps.row(item)])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            if self.page().enter_advances:
                self.advance()
            event.accept()
            return
        super().keyPressEvent(event)

    # --- the quote --------------------------------------------------------------------
    def changed(self) -> None:
        """The wizard changed: steps, what is missing and the price follow."""
        self._refusal = ""
        self._paint_steps()
        self._show_needs()
        self._reprice()

    def _reprice(self) -> None:
        if not self.wizard.cart:
            self.live.setText("Nothing in the order yet.")
            return
        cached = self.wizard.cached_quote()
        if cached is not None:
            self._show_quote(cached)
            return
        self._pricing += 1
        ticket, snapshot = self._pricing, self.wizard.copy()
        self.live.setText(self.live.text() if self.live.text().startswith("<") else
                          "Pricing\u2026")

        def priced(answer: tuple[str, Quote]) -> None:
            key, quote = answer
            if ticket == self._pricing and self.wizard.remember_quote(key, quote):
                self._show_quote(quote)

        Op(self, snapshot.price).success(priced).run()

    def _show_quote(self, quote: Quote) -> None:
        lines = "".join(
            f"<tr><td>{escape(line.name)}</td><td align='right'>"
            f"{dollars(line.net_cents)}{'' if line.recurring else ' once'}</td></tr>"
            for line in quote.lines if line.kind != "proration")
        problems = ""
        if quote.problems:
            problems = ("<p style='color:#b3261e'><b>"
                        f"{len(quote.problems)} problem{'s' if len(quote.problems) > 1 else ''}"
                        "</b><br>" + "<br>".join(escape(OrderWizard.problem_text(p))
                                                 for p in quote.problems[:3]) + "</p>")
        self.live.setText(f"<table width='100%'>{lines}</table><hr>{totals_html(quote)}"
                          f"{problems}")
        self.page().quote_ready(quote)
        self._paint_steps()
        self._show_needs()
        self.quoted.emit(quote)

    def _record_offers(self) -> None:
        """The engine's offers heard on the Offers step, with the answers (unanswered:
        not now), each recorded once per answer."""
        customer = self.wizard.customer
        if customer is None:
            return
        answers = []
        for shown in self.wizard.offers_shown():
            offer = self.engine_offers.get(shown["code"])
            if offer is not None and self.recorded.get(shown["code"]) != shown["response"]:
                answers.append((offer, shown["response"]))
                self.recorded[shown["code"]] = shown["response"]
        if not answers:
            return
        store, who, customer_id = self.store, self.who, customer.customer_id
        Op(self, lambda: service.record_offers(store, who, customer_id, answers),
           write=True).failure(lambda exc: log.error("offer answers not recorded",
                                                     exc_info=exc)).run()

    # --- drafts, saved quotes, placing --------------------------------------------------
    def save_quote(self) -> None:
        if self._busy:
            return
        snapshot = self.wizard.copy()
        store, who = self.store, self.who

        def saved(kept: service.DraftKept) -> None:
            self.wizard.accepted, self.wizard.saved_on = snapshot.accepted, snapshot.saved_on
            self.review_page.saved.setText(escape(kept.summary))
            self.kept.emit(kept)

        Op(self, lambda: service.save_quote(store, who, snapshot), write=True).success(
            saved).failure(lambda exc: self._failed(exc, self.review_page.saved)).run()

    def _failed(self, exc: BaseException, where: QLabel | None = None) -> None:
        self._busy = False
        self.place_button.setText("&Place order")
        if not isinstance(exc, UserFacingError):
            raise exc
        if isinstance(exc, service.OrderRefused):
            if exc.catalog is not None:
                self.wizard.catalog = exc.catalog  # prices and stock as they are now
            self._refusal = exc.message
            if self.wizard.go(exc.step):
                self.show_step()
            self._refusal = exc.message
            self._show_needs()
            self._reprice()
            return
        target = where or self.needs
        target.setText(f"<span style='color:#b3261e'>{escape(exc.message)}</span>")

    def place(self) -> None:
        """Alt+P / Enter on Confirm: place the order, priced again first."""
        if self._busy or self.wizard.step != Step.CONFIRM:
            return
        if self.wizard.problems():
            self._tried = True
            self._show_needs()
            return
        self._busy = True
        self.place_button.setText("Placing\u2026")
        snapshot = self.wizard.copy()
        store, who = self.store, self.who

        def done(placed: service.OrderPlaced) -> None:
            self._busy = False
            self.placed.emit(placed)
            QDialog.accept(self)

        Op(self, lambda: service.place_order(store, who, snapshot), write=True).success(
            done).failure(self._failed).run()

    def reject(self) -> None:
        """Esc / Cancel: keep what was keyed as a draft, unless there is nothing to keep."""
        if self._busy or (self.leave_box is not None and self.leave_box.isVisible()):
            return
        w = self.wizard
        if not w.cart and w.step == Step.CUSTOMER:
            QDialog.reject(self)
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Leave the order")
        if w.customer is None:
            box.setText("Leave this order? There is no customer yet, so nothing can be kept.")
            leave = box.addButton("&Leave", QMessageBox.ButtonRole.DestructiveRole)
            stay = box.addButton("&Stay", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(stay)
            box.setEscapeButton(stay)
            keep = None
        else:
            box.setText(f"Keep this order for {w.customer.display_name} as a draft?")
            box.setInformativeText("A draft is kept on this desk; Ctrl+Shift+O on their 360 "
                                   "resumes it where you left off.")
            keep = box.addButton("&Keep draft", QMessageBox.ButtonRole.AcceptRole)
            leave = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
            stay = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(keep)
            box.setEscapeButton(keep)  # Esc twice keeps it: nothing is lost by accident

        def answered(_result: int) -> None:
            clicked = box.clickedButton()
            if clicked is keep:
                self._keep_draft()
            elif clicked is leave:
                self._discard()

        box.finished.connect(answered)
        self.leave_box = box
        box.open()

    def _keep_draft(self) -> None:
        self._busy = True
        snapshot = self.wizard.copy()
        store, who = self.store, self.who

        def kept(result: service.DraftKept) -> None:
            self._busy = False
            self.kept.emit(result)
            QDialog.reject(self)

        Op(self, lambda: service.save_draft(store, who, snapshot), write=True).success(
            kept).failure(self._failed).run()

    def _discard(self) -> None:
        order_id, store, who = self.wizard.order_id, self.store, self.who
        Op(self, lambda: service.discard_draft(store, who, order_id), write=True).success(
            lambda _changes: QDialog.reject(self)).failure(self._failed).run()
