"""``--screenshot DIR``: render every screen with the demo store to PNG, offscreen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer, SignalInstance
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from agent_desktop.platform.settings import Settings
from agent_desktop.services.contacts import load_consents
from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import Customer360
from agent_desktop.services.showcase import showcase_customer
from agent_desktop.ui import theme
from agent_desktop.ui.consent import ConsentDialog
from agent_desktop.ui.dialogs import SettingsDialog, ShortcutsDialog
from agent_desktop.ui.main_window import AREAS, MainWindow
from agent_desktop.ui.screens.customer360.view import national_number


def _wait(signal: SignalInstance, action: Callable[[], object], timeout_ms: int = 15000) -> None:
    loop = QEventLoop()
    signal.connect(lambda *_: loop.quit())
    QTimer.singleShot(timeout_ms, loop.quit)
    action()
    loop.exec()


Shot = Callable[..., None]  # shot(name) or shot(name, widget)


def _settle(app: QApplication, ms: int = 50) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    app.processEvents()


def _knowledge(window: MainWindow, shot: Shot) -> None:
    """A search with a typo, then the first article open for reading."""
    screen = window.knowledge
    window.show_area(AREAS.index("Knowledge"))
    screen.box.setText("gatway restart")
    _wait(screen.searched, screen.search_now)
    shot("15-knowledge-search-typo")
    _wait(screen.article_shown, screen.open_selected)
    shot("16-knowledge-article")
    screen.box.setText("")
    screen.search_now()


def _cases(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """The case list on another view, one case open, and the new-case dialog."""
    page = window.cases
    window.show_area(AREAS.index("Cases"))
    _wait(page.list.shown, lambda: page.list.set_view("all_open"))
    shot("17-cases-all-open")
    open_ids = [c.id for c in customer.cases if c.status in ("new", "open", "pending_customer",
                                                              "pending_internal")]
    case_id = open_ids[0] if open_ids else page.list.model.case_id(0)
    _wait(page.case_shown, lambda: page.open_case(case_id))
    detail = page.current_detail()
    if detail is not None and detail.sheet is not None and detail.sheet.macros:
        detail.insert_macro(1)
    shot("18-case-detail")
    dialog = page.new_case(customer)
    dialog.type.setCurrentIndex(dialog.type.findData("trouble_ticket"))
    dialog.subject.setText("Wi-Fi drops when the microwave is on")
    dialog.adjustSize()
    shot("19-new-case", dialog)
    dialog.done(QDialog.DialogCode.Rejected)
    if detail is not None:
        detail.note_edit.clear()
    page.close_current()
    page.list.set_view("mine")


def _adjustments(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """The adjustment dialog above the agent's limit, and a supervisor's approval queue."""
    from agent_desktop.ui.screens.payments.adjustments import AdjustmentDialog, ApprovalsDialog

    dialog = AdjustmentDialog(customer, window.store, window.who, window)
    _wait(dialog.limits_read, dialog.show)
    dialog.amount.setText("80.00")
    dialog.reason.setCurrentIndex(dialog.reason.findData("OUTAGE-CREDIT"))
    dialog.memo.setText("Outage Nov 3-5, as the customer was told")
    dialog.adjustSize()
    shot("20-adjustment", dialog)
    dialog.done(QDialog.DialogCode.Rejected)
    supervisor = agent_by_username(window.store, "supervisor")
    if supervisor is None:
        return
    approvals = ApprovalsDialog(window.store, supervisor, window)
    _wait(approvals.loaded, approvals.show)
    shot("21-approvals", approvals)
    approvals.done(QDialog.DialogCode.Rejected)


def _payment_methods(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """A refund of an older payment, the methods on file, and a new card being typed."""
    from agent_desktop.ui.screens.payments.methods import AddCardDialog, PaymentMethodsDialog
    from agent_desktop.ui.screens.payments.reversals import ReversalDialog, is_payment

    line = next((ln for ln in customer.ledger if is_payment(ln)), None)
    if line is not None:
        reversal = ReversalDialog(customer, line, window.store, window.who, window)
        _wait(reversal.options_read, reversal.show)
        reversal.reason.setText("Charged twice for October, as the customer was told")
        reversal.adjustSize()
        shot("22-refund", reversal)
        reversal.done(QDialog.DialogCode.Rejected)
    methods = PaymentMethodsDialog(customer, window.store, window.who, window.sync, window)
    methods.show()
    methods.adjustSize()
    shot("23-payment-methods", methods)
    add = AddCardDialog(customer, window.store, window.who, window.sync,
                        any(m.is_default for m in customer.payment_methods), methods.today,
                        methods)
    add.show()
    add.card.number.setText("5555 5555 5555 4444")
    add.card.expiry.setText("12/30")
    add.revalidate()
    add.adjustSize()
    shot("24-add-card", add)
    add.card.number.clear()
    add.done(QDialog.DialogCode.Rejected)
    methods.done(QDialog.DialogCode.Rejected)


def _payments(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """Take a payment: the card on file for the balance; a new card with a typo; how a
    decline reads; a dispute on a bill's line."""
    from agent_desktop.domain.billing import EntryKind
    from agent_desktop.domain.cards import decline_for
    from agent_desktop.services.context import Changes
    from agent_desktop.services.payments import PaymentQueued, PaymentResult
    from agent_desktop.ui.screens.payments.disputes import DisputeDialog
    from agent_desktop.ui.screens.payments.take import NEW_CARD, PaymentDialog

    dialog = PaymentDialog(customer, window.store, window.who, None, window)
    dialog.show()
    dialog.adjustSize()
    shot("25-take-payment", dialog)
    dialog.method.setCurrentIndex(dialog.method.findData(NEW_CARD))
    dialog.number.setText("4242 4242 4242 4243")  # a public test number, one digit off
    dialog.expiry.setText("08/29")
    dialog.revalidate()
    dialog.adjustSize()
    shot("26-payment-new-card-typo", dialog)
    dialog.number.clear()
    dialog.queued = PaymentQueued(dialog.payment_id, 4500, "$45.00 on Visa ending 0002",
                                  Changes())
    dialog._answer(PaymentResult(dialog.payment_id, "declined", "",
                                 decline_for("insufficient_funds")))
    shot("27-payment-declined", dialog)
    dialog.done(QDialog.DialogCode.Rejected)
    bill = next((ln.entry for ln in reversed(customer.ledger)
                 if ln.entry.kind == EntryKind.INVOICE), None)
    if bill is not None:
        dispute = DisputeDialog(window.store, window.who, customer.customer_id,
                                customer.display_name, bill.entry_id, bill.reference, window)
        _wait(dispute.lines_shown, dispute.show)
        dispute.said.setPlainText("Charged for the TV box I returned in October.")
        dispute.adjustSize()
        shot("28-dispute", dispute)
        dispute.done(QDialog.DialogCode.Rejected)


def _order_wizard(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """The order wizard: products by typing, configure, a quote with a problem (a
    promotion that ended), and the order read back before it is placed."""
    from agent_desktop.domain.errors import UserFacingError
    from agent_desktop.domain.order_wizard import OrderWizard, Step
    from agent_desktop.services.orders import prepare_order
    from agent_desktop.ui.screens.order_wizard import OrderWizardDialog, today

    start = prepare_order(window.store, customer.customer_id, today())
    dialog = OrderWizardDialog(OrderWizard(start.catalog, start.today,
                                           customer=start.customer),
                               window.store, window.who, window)
    dialog.show()
    dialog.advance()
    dialog.advance()
    products = dialog.pages[Step.PRODUCTS]

    def add_duo() -> None:
        products.filter.setText("duo")  # type: ignore[attr-defined]
        for code in ("DUO-INT-TV", "DUO-INT-PH", "STARTER-DUO"):
            try:  # a bundle that fits this customer (none steps them down)
                dialog.wizard.add_bundle(code)
                break
            except UserFacingError:
                continue
        else:
            dialog.wizard.add_product("SEC-MON")
        dialog.show_step()
        dialog.changed()

    def to_review() -> None:
        dialog.go(Step.REVIEW)
        dialog.changed()

    _wait(dialog.quoted, add_duo)
    shot("41-order-products", dialog)
    dialog.advance()
    shot("42-order-configure", dialog)
    dialog.wizard.add_product("TV-ELITE", promotion_code="SPRING26")
    _wait(dialog.quoted, to_review)
    shot("43-order-review-problem", dialog)
    dialog.wizard.remove_line(len(dialog.wizard.cart) - 1)
    _wait(dialog.quoted, to_review)
    dialog.advance()
    dialog.wizard.set_terms_accepted(True)
    dialog.advance()
    shot("44-order-confirm", dialog)
    dialog.done(QDialog.DialogCode.Rejected)


def _until(ready: Callable[[], bool], timeout_ms: int = 15000) -> None:
    """Run the event loop until ``ready()`` (a read off the UI thread has been shown)."""
    waited = 0
    while not ready() and waited < timeout_ms:
        loop = QEventLoop()
        QTimer.singleShot(25, loop.quit)
        loop.exec()
        waited += 25


def _offer_strip(window: MainWindow, shot: Shot) -> None:
    """A 360 with an offer on its strip (the showcase customer is in collections, so
    their strip says why there is none): the first Smith the offer rules pitch to."""
    from PySide6.QtCore import QSettings

    from agent_desktop.services.customer_search import CustomerSearch
    from agent_desktop.services.offers import offers_for

    search = CustomerSearch(window.store)
    try:
        hits = search.search("smith").hits
    finally:
        search.close()
    hit = next((h for h in hits if h.status == "active"
                and offers_for(window.store, h.customer_id).top is not None), None)
    if hit is None:
        return
    page = window.customers
    window.show_area(AREAS.index("Customers"))
    recent = QSettings().value("customers/recent")  # this visit is not a recent customer
    _wait(page.customer_shown, lambda: page.open_customer(hit.customer_id, hit.display_name))
    view = page.current_view()
    if view is not None:
        _until(lambda: view.offers.offer is not None)
        shot("45-customer-360-offer")
    page.close_current()
    if recent is not None:
        QSettings().setValue("customers/recent", recent)


def _new_customer(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """The new customer dialog: typos caught as typed (a ZIP in another state, a near-miss
    mail domain); then a caller who is already a customer, offered before a duplicate is
    made."""
    from agent_desktop.services.customers import find_duplicates, load_account
    from agent_desktop.ui.screens.customers.new_customer import NewCustomerDialog

    dialog = NewCustomerDialog(window.store, window.who, "718 636 2211", window)
    dialog.show()
    _until(lambda: dialog.regions is not None)
    for key, text in (("first_name", "Maria"), ("last_name", "Gonzalez"),
                      ("email", "maria.gonzalez@gmial.com"),
                      ("service.line1", "41 Prospect Park W"), ("service.line2", "Apt 3B"),
                      ("service.city", "Brooklyn"), ("service.state", "NY"),
                      ("service.postal_code", "90210")):
        dialog.edits[key].setText(text)
        dialog.touched.add(key)
    dialog.revalidate()
    dialog.adjustSize()
    shot("46-new-customer", dialog)
    dialog.done(QDialog.DialogCode.Rejected)

    account = load_account(window.store, customer.customer_id)
    phone = next((c.value for c in account.facts.contacts if c.kind == "phone"), "")
    address = next((a for a in account.facts.addresses if a.kind in ("both", "service")),
                   None)
    first, _, last = customer.display_name.partition(" ")
    if address is None or not phone or not last:
        return
    dialog = NewCustomerDialog(window.store, window.who, national_number(phone), window)
    dialog.show()
    _until(lambda: dialog.regions is not None)
    for key, text in (("first_name", first[:-2] + first[-1:]), ("last_name", last),
                      ("service.line1", address.line1), ("service.city", address.city),
                      ("service.state", address.state),
                      ("service.postal_code", address.postal_code)):
        dialog.edits[key].setText(text)
        dialog.touched.add(key)
    matches = find_duplicates(window.store, dialog.draft())
    if matches:  # never Save here: without a match it would create the customer
        dialog._checked(matches)
        dialog.adjustSize()
        shot("47-new-customer-duplicate", dialog)
    dialog.done(QDialog.DialogCode.Rejected)


def _manage(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """Manage the account (Ctrl+Shift+E): cancelling a service, the retention offer first."""
    from agent_desktop.ui.screens.customer360.maintenance import CancelPage, ManageDialog

    dialog = ManageDialog(window.store, window.who, customer.customer_id,
                          customer.display_name, window)
    _wait(dialog.loaded, dialog.show)
    page = next((p for p in dialog.pages if isinstance(p, CancelPage)), None)
    if page is None:
        dialog.done(QDialog.DialogCode.Rejected)
        return
    dialog.show_page(dialog.pages.index(page))
    page.reason.setCurrentIndex(page.reason.findData("PRICE-TOO-HIGH"))
    page.note.setText("Found a cheaper plan elsewhere")
    dialog.adjustSize()
    shot("48-manage-cancel-retention", dialog)
    dialog.done(QDialog.DialogCode.Rejected)


def _calls(window: MainWindow, customer: Customer360, shot: Shot) -> None:
    """The call bar as the simulated contact center drives it: ringing with the caller
    matched, on the call with the 360 popped, the wrap-up. Events are fed to the bar as
    the telephony adapter would deliver them (no server in screenshot mode)."""
    from datetime import UTC, datetime

    from agent_desktop.domain.calls import AgentState, CallState
    from agent_desktop.sync.cti_protocol import AgentView, CallView, CtiEvent
    from agent_desktop.ui.screens.call_bar.dialogs import WrapUpDialog

    bar = window.call_bar
    from typing import cast

    from agent_desktop.cti.adapter import TelephonyAdapter
    from agent_desktop.services.calls import CallDesk

    bar.desk = CallDesk(cast(TelephonyAdapter, None))  # the buttons as a connected phone's
    phone = next((c.value for c in customer.contacts if c.kind == "phone"), "+12025550143")
    now = datetime.now(UTC)

    def ago(seconds: int) -> str:
        return (now - timedelta(seconds=seconds)).isoformat()

    me = AgentView(agent_id=window.who.agent_id or "0" * 32, username=window.who.username,
                   display_name=window.who.display_name, team=window.who.team,
                   state=AgentState.AVAILABLE, since=ago(95))
    ringing = CallView(id="5" * 32, direction="inbound", queue="billing", caller_id=phone,
                       state=CallState.OFFERED, agent_id=me.agent_id, offered_at=ago(14))
    bar.connected = True
    bar.on_agent(me)
    bar.on_event(CtiEvent(seq=1, kind="offered", at=ago(6), call=ringing, agent=me.model_copy(
        update={"state": AgentState.OFFERED, "since": ago(6), "call": ringing})))
    _until(lambda: bar.match is not None)
    bar._show()
    window.customers.tabs.setCurrentIndex(0)
    shot("56-call-ringing")
    talking = ringing.model_copy(update={"state": CallState.TALKING, "answered_at": ago(192),
                                         "hold_seconds": 20, "wait_seconds": 8})
    bar.on_event(CtiEvent(seq=2, kind="answered", at=ago(192), call=talking,
                          agent=me.model_copy(update={"state": AgentState.ON_CALL,
                                                      "since": ago(192), "call": talking})))
    window.who.call.start(talking.id, customer.customer_id)
    _wait(window.customers.customer_shown,
          lambda: window.customers.open_customer(customer.customer_id,
                                                 customer.display_name))
    shot("57-call-on-call-360")
    ended = talking.model_copy(update={"state": CallState.WRAP_UP, "ended_at": ago(12)})
    bar.on_agent(me.model_copy(update={"state": AgentState.AFTER_CALL_WORK, "since": ago(12),
                                       "call": ended}))
    dialog = WrapUpDialog(ended, "required", (customer.customer_id, customer.display_name),
                          window)
    dialog.show()
    dialog.reason_filter.setText("bill")
    dialog.code_box.setCurrentIndex(dialog.code_box.findData("INFO-PROVIDED"))
    dialog.summary.setPlainText("Explained the late fee; autopay set up for next month.")
    shot("58-call-wrap-up", dialog)
    dialog.reason_filter.setText("")
    dialog.code_box.setCurrentIndex(0)
    shot("59-call-wrap-up-missing", dialog)
    dialog.close()
    window.who.call.clear()
    bar.agent_view, bar.connected, bar.desk = None, False, None
    bar._set_call(None)
    bar._show()
    window.statusBar().clearMessage()


def _dashboard(window: MainWindow, shot: Shot) -> None:
    """Trends over the demo's last 30 days, a drill-down, the team table, the definitions,
    the staffing what-if (the worked example and a day's profile) and the live floor (empty,
    then a sample floor like the server's)."""
    from agent_desktop.ui.screens.dashboard.floor import sample_floor

    page = window.dashboard
    window.show_area(AREAS.index("Dashboard"))
    _wait(page.loaded, lambda: page.set_range("last_30"))
    if page.data is not None and page.data.empty:  # an older demo store: its last 30 days
        last = page.service.last_day(page.offset_s)
        if last is not None:
            _wait(page.loaded, lambda: page.set_range("custom", last - timedelta(days=29),
                                                      last))
    page.tabs.setCurrentIndex(1)
    shot("49-dashboard-trends")
    data = page.data
    if data is not None and data.trend.drills:
        busiest = max(range(len(data.trend.contacts)), key=lambda i: data.trend.contacts[i])
        _wait(page.drilled, lambda: page.drill_trend(busiest))
    shot("50-dashboard-drill-down")
    page.tabs.setCurrentIndex(2)
    shot("51-dashboard-team-agents")
    page.defs_button.setChecked(True)
    shot("52-dashboard-definitions")
    page.defs_button.setChecked(False)
    page.tabs.setCurrentIndex(3)
    page.staffing.fill_example()
    shot("53-dashboard-staffing")
    page.tabs.setCurrentIndex(0)
    shot("54-dashboard-live-floor-connecting")
    if data is not None:
        page.set_floor(sample_floor(data.agents))
    shot("55-dashboard-live-floor")
    page.tabs.setCurrentIndex(1)


def capture_all(app: QApplication, window: MainWindow, settings: Settings,
                out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def shot(name: str, widget: QWidget | None = None) -> None:
        _settle(app)
        path = out / f"{name}.png"
        (widget or window).grab().save(str(path))
        written.append(path)

    window.resize(1440, 900)
    window.show()
    window.nav.setCurrentRow(0)
    shot("01-customers-start")

    window.focus_search()
    window.search_box.setText("jonh smiht")
    _wait(window.finder.searched, window.finder.search_now)
    shot("02-search-typo-tolerant")
    window.search_box.setText("")
    window.results.hide()

    customer_id, name = showcase_customer(window.store)
    _wait(window.customers.customer_shown,
          lambda: window.customers.open_customer(customer_id, name))
    view = window.customers.current_view()
    assert view is not None
    for i, label in enumerate(("billing", "contacts", "cases", "orders")):
        view.tabs.setCurrentIndex(i)
        shot(f"{3 + i:02d}-customer-360-{label}")

    for i, area in enumerate(AREAS[1:], start=1):
        if area == "Knowledge":  # suggestions for the customer just opened
            _wait(window.knowledge.suggested, partial(window.nav.setCurrentRow, i))
        elif area == "Cases":  # the agent's own cases, read off the UI thread
            _wait(window.cases.list.shown, partial(window.nav.setCurrentRow, i))
        elif area == "Collections":  # the worklist, checked against the calling rules
            _wait(window.collections.loaded, partial(window.nav.setCurrentRow, i))
        elif area == "Dashboard":  # the last 30 days' figures, read off the UI thread
            _wait(window.dashboard.loaded, partial(window.nav.setCurrentRow, i))
        else:
            window.nav.setCurrentRow(i)
        shot(f"{7 + i - 1:02d}-{area.lower()}")
    _knowledge(window, shot)
    assert view.data is not None
    _cases(window, view.data, shot)
    _adjustments(window, view.data, shot)
    _payment_methods(window, view.data, shot)
    _payments(window, view.data, shot)
    _order_wizard(window, view.data, shot)
    _offer_strip(window, shot)
    _new_customer(window, view.data, shot)
    _manage(window, view.data, shot)
    _calls(window, view.data, shot)
    _dashboard(window, shot)
    window.nav.setCurrentRow(0)

    for name_, dialog in (("11-shortcuts", ShortcutsDialog(window)),
                          ("12-settings", SettingsDialog(settings, window))):
        dialog.show()
        dialog.adjustSize()
        shot(name_, dialog)
        dialog.done(QDialog.DialogCode.Rejected)

    consent = ConsentDialog(name, load_consents(window.store, customer_id), national_number,
                            window)
    consent.show()
    consent.adjustSize()
    shot("14-consent", consent)
    consent.done(QDialog.DialogCode.Rejected)

    theme.apply(app, "dark", int(settings.get("font_scale")))
    view.set_theme("dark")
    view.tabs.setCurrentIndex(0)
    shot("13-customer-360-dark")
    theme.apply(app, str(settings.get("theme")), int(settings.get("font_scale")))
    view.set_theme(str(settings.get("theme")))
    return written
