"""The main window: navigation to every area, the one search box, the status bar."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.cti.adapter import TelephonyAdapter
from agent_desktop.domain.billing import EntryKind
from agent_desktop.domain.quote import CartLine
from agent_desktop.platform.settings import Settings
from agent_desktop.services.calls import CallDesk, CallerMatch, match_caller
from agent_desktop.services.cases import CaseChange
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.services.customer360 import Customer360
from agent_desktop.services.customer_search import format_phone
from agent_desktop.services.sync import SyncStatus
from agent_desktop.storage.store import Store
from agent_desktop.storage.sync_store import KNOWLEDGE_CHANGED, Rejected
from agent_desktop.sync.cti_protocol import CallView, QueueInfo
from agent_desktop.ui import theme
from agent_desktop.ui.dialogs import SettingsDialog, ShortcutsDialog
from agent_desktop.ui.screens.call_bar.bar import KEYS as CALL_KEYS
from agent_desktop.ui.screens.call_bar.bar import CallBar, CtiBridge
from agent_desktop.ui.screens.call_bar.dialogs import CallerChooser, TransferDialog, WrapUpDialog
from agent_desktop.ui.screens.cases.page import CasesPage
from agent_desktop.ui.screens.collections.view import CollectionsPage
from agent_desktop.ui.screens.customers.page import CustomersPage
from agent_desktop.ui.screens.dashboard.page import DashboardPage
from agent_desktop.ui.screens.knowledge.view import KnowledgeScreen
from agent_desktop.ui.screens.placeholders.view import placeholder
from agent_desktop.ui.screens.search.view import CustomerFinder, SearchBox, SearchResults
from agent_desktop.ui.sync_status import SyncController, SyncStatusBar
from agent_desktop.ui.tasks import Op, Pools

AREAS = ("Customers", "Cases", "Knowledge", "Collections", "Dashboard")


class MainWindow(QMainWindow):
    def __init__(self, store: Store, who: AgentContext, settings: Settings,
                 store_label: str = "", sync: SyncController | None = None) -> None:
        super().__init__()
        self.store = store
        self.who = who
        self.settings = settings
        self.setWindowTitle(f"Agent Desktop \u2014 {who.display_name}")
        self.setObjectName("mainWindow")

        bar = QToolBar("Search")
        bar.setObjectName("searchBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        title = QLabel("  Agent Desktop  ")
        title.setObjectName("sectionTitle")
        bar.addWidget(title)
        self.search_box = SearchBox()
        bar.addWidget(self.search_box)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        bar.addWidget(spacer)
        self.agent_label = QLabel(f"{who.display_name} \u00b7 {who.role.title()}  ")
        self.agent_label.setObjectName("muted")
        bar.addWidget(self.agent_label)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.call_bar = CallBar(store, None, parent=central)
        outer.addWidget(self.call_bar)
        body = QWidget()
        outer.addWidget(body, 1)
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setAccessibleName("Areas")
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for i, area in enumerate(AREAS):
            self.nav.addItem(area)
            item = self.nav.item(i)
            item.setToolTip(f"{area} (Ctrl+{i + 1})")
            item.setSizeHint(QSize(0, 40))
        self.nav.setFixedWidth(160)
        row.addWidget(self.nav)
        self.pages = QStackedWidget()
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.customers = CustomersPage(store, who, settings.get)
        self.customers.notice.connect(self.notify)
        self.pages.addWidget(self.customers)
        self.area_pages: dict[str, QWidget] = {"Customers": self.customers}
        self.knowledge = KnowledgeScreen(store, who,
                                         delay_ms=int(settings.get("search_delay_ms")))
        self.knowledge.notice.connect(self.notify)
        self.cases = CasesPage(store, who, settings.get)
        self.cases.notice.connect(self.notify)
        self.cases.open_customer.connect(self._open_customer)
        self.cases.changed.connect(self._cases_changed)
        self.knowledge.link_requested.connect(self.cases.link_article)
        self.collections = CollectionsPage(store, who=who)
        self.collections.notice.connect(self.notify)
        self.collections.open_customer.connect(self._open_customer)
        self.collections.dial_requested.connect(self._dial)
        self.collections.payment_requested.connect(self._pay_now)
        self.dashboard = DashboardPage(store, who, settings.get)
        self.dashboard.open_customer.connect(self._open_customer)
        self.customers.case_requested.connect(self.open_case)
        self.customers.new_case_requested.connect(lambda _cid: self.new_case())
        self.customers.payment_requested.connect(lambda _cid: self.take_payment())
        self.customers.adjustment_requested.connect(lambda _cid: self.adjust_bill())
        self.customers.reversal_requested.connect(lambda _cid: self.reverse_payment())
        self.customers.methods_requested.connect(lambda _cid: self.payment_methods())
        self.customers.order_requested.connect(lambda cid: self.start_order(cid))
        self.customers.offer_accepted.connect(
            lambda cid, offer: self.start_order(cid, offer.cart))
        for area in AREAS[1:]:
            page = {"Knowledge": self.knowledge, "Cases": self.cases,
                    "Collections": self.collections, "Dashboard": self.dashboard}.get(area) \
                or placeholder(area)
            self.area_pages[area] = page
            self.pages.addWidget(page)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._area_shown)
        self.nav.setCurrentRow(0)

        self.results = SearchResults(self)
        self.finder = CustomerFinder(
            self.search_box, self.results, store,
            delay_ms=int(settings.get("search_delay_ms")),
            limit=int(settings.get("search_result_limit")),
        )
        self.finder.open_customer.connect(self._open_customer)

        status = self.statusBar()
        self.status_store = QLabel(store_label or str(store.path))
        self.status_store.setObjectName("muted")
        self.sync: SyncController | None = None
        self.sync_bar: SyncStatusBar | None = None
        self._login_open = False
        self.sync_auto_login = False
        self.drafts_dialog: object | None = None  # the last "drafts to publish" opened
        self.status_sync = QLabel("Local store \u00b7 sync not set up")
        self.status_sync.setToolTip(
            "Changes are saved in the local store and queued until a sync server is "
            "set up (agent-desktop --server URL)."
        )
        status.addPermanentWidget(self.status_sync)
        if sync is not None:
            self.attach_sync(sync)
        status.addPermanentWidget(self.status_store)

        self.phone: TelephonyAdapter | None = None
        self.wrap_dialog: WrapUpDialog | None = None
        self.call_bar.answered.connect(self._screen_pop)
        self.call_bar.ended.connect(self._call_ended)
        self.call_bar.wrap_asked.connect(self._open_wrap_up)
        self.call_bar.transfer_asked.connect(self._transfer)
        self.call_bar.call_changed.connect(self._call_changed)
        self.call_bar.wrapped.connect(self._call_wrapped)
        self.call_bar.notice.connect(self.notify)

        self._shortcuts()
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._tick)
        self._clock.start()
        settings.on_change(self._setting_changed)
        self._restore_layout()

    # --- actions ------------------------------------------------------------------------
    def _shortcuts(self) -> None:
        def add(keys: str, slot: object) -> None:
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
            sc.activated.connect(slot)

        add("Ctrl+K", self.focus_search)
        add("Ctrl+Shift+S", self.show_needs_attention)
        add("F1", self.show_shortcuts)
        add("Ctrl+,", self.show_settings)
        add("Ctrl+N", self.focus_note)
        add("Ctrl+Shift+C", self.edit_consent)
        add("Ctrl+Shift+D", self.show_drafts)
        add("Ctrl+Shift+N", self.new_case)
        add("Ctrl+P", self.take_payment)
        add("Ctrl+J", self.adjust_bill)
        add("Ctrl+Shift+V", self.reverse_payment)
        add("Ctrl+Shift+M", self.payment_methods)
        add("Ctrl+Shift+I", self.dispute_bill)
        add("Ctrl+Shift+A", self.show_approvals)
        add("Ctrl+Shift+U", self.new_customer)
        add("Ctrl+Shift+E", self.manage_customer)
        add("Ctrl+Shift+O", lambda: self.start_order())
        for name, keys in CALL_KEYS.items():
            add(keys, lambda n=name: self.call_bar.command(n))
        add("Ctrl+Tab", lambda: self._cycle_tab(1))
        add("Ctrl+Shift+Tab", lambda: self._cycle_tab(-1))
        for i, _area in enumerate(AREAS):
            add(f"Ctrl+{i + 1}", lambda i=i: self.show_area(i))

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()
        if self.search_box.text().strip():
            self.finder.search_now()

    def show_area(self, row: int) -> None:
        """Ctrl+1..5: go to an area (again: Knowledge puts the caret back in its box)."""
        if self.nav.currentRow() == row:
            self._area_shown(row)
        else:
            self.nav.setCurrentRow(row)

    def _area_shown(self, row: int) -> None:
        if 0 <= row < len(AREAS) and AREAS[row] == "Knowledge":
            view = self.customers.current_view()
            case = self.cases.current_detail()
            sheet = case.sheet if case is not None else None
            self.knowledge.set_case_target(
                sheet.detail.case.id if sheet is not None else None,
                sheet.detail.case.case_number if sheet is not None else "")
            self.knowledge.activate(view.data if view is not None else None)
        if 0 <= row < len(AREAS) and AREAS[row] == "Cases":
            self.cases.activate()
        if 0 <= row < len(AREAS) and AREAS[row] == "Collections":
            self.collections.activate()

    def focus_note(self) -> None:
        if self.pages.currentWidget() is self.cases and self.cases.focus_note():
            return
        view = self.customers.current_view()
        if view is not None:
            self.nav.setCurrentRow(0)
            view.note_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_drafts(self) -> None:
        """Supervisors: the draft articles waiting to be published (Ctrl+Shift+D)."""
        from agent_desktop.services.cases import DraftRow, list_drafts, publish_article
        from agent_desktop.ui.drafts import DraftsDialog

        if self.who.role not in ("supervisor", "admin"):
            self.statusBar().showMessage("Only a supervisor publishes articles.", 6000)
            return
        store, who = self.store, self.who

        def show(rows: list[DraftRow]) -> None:
            dialog = DraftsDialog(rows, self)
            self.drafts_dialog = dialog

            def publish(row: DraftRow) -> None:
                Op(self, lambda: publish_article(store, who, row.id), write=True).success(
                    lambda _none: published(dialog, row)).failure(
                    lambda exc: dialog.failed(str(exc))).run()

            dialog.publish_requested.connect(publish)
            dialog.open()

        def published(dialog: DraftsDialog, row: DraftRow) -> None:
            dialog.published(row)
            if self.sync is not None:
                self.sync.sync_now()

        Op(self, lambda: list_drafts(store)).success(show).run()

    def edit_consent(self) -> None:
        view = self.customers.current_view()
        if view is not None:
            self.nav.setCurrentRow(0)
            view.request_consent()

    def _cycle_tab(self, step: int) -> None:
        if self.pages.currentWidget() is self.cases:
            self.cases.cycle(step)
            return
        if self.pages.currentWidget() is self.dashboard:
            self.dashboard.cycle(step)
            return
        tabs = self.customers.tabs
        if tabs.count() > 1:
            tabs.setCurrentIndex((tabs.currentIndex() + step) % tabs.count())

    def _open_customer(self, customer_id: str, name: str) -> None:
        link = self.who.call
        if link.interaction_id is not None and link.customer_id is None:
            link.customer_id = customer_id  # the caller, found during the call
        self.nav.setCurrentRow(0)
        self.customers.open_customer(customer_id, name)
        self.search_box.clearFocus()
        view = self.customers.current_view()
        if view is not None:
            view.ledger.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- cases ---------------------------------------------------------------------------
    def new_case(self) -> None:
        """Ctrl+Shift+N: a new case for the customer on screen."""
        view = self.customers.current_view()
        if view is None or view.data is None:
            self.notify("Open the customer first (Ctrl+K), then Ctrl+Shift+N opens a case "
                        "for them.")
            return
        self.cases.new_case(view.data, lambda _case_id: self.show_area(AREAS.index("Cases")))

    def _customer_on_screen(self, what: str) -> Customer360 | None:
        view = self.customers.current_view()
        if view is None or view.data is None or self.pages.currentWidget() is not self.customers:
            self.notify(f"Open the customer first (Ctrl+K finds them): {what} starts from "
                        "their 360.")
            return None
        return view.data

    def take_payment(self) -> None:
        """Ctrl+P: the payment dialog for the customer on screen."""
        customer = self._customer_on_screen("a payment")
        if customer is None:
            return
        from agent_desktop.ui.screens.payments.take import PaymentDialog

        dialog = PaymentDialog(customer, self.store, self.who, self.sync, self)
        dialog.paid.connect(lambda _queued: self.sync.sync_now() if self.sync else None)
        # Paid: a natural moment for an offer, in the 360's strip (never a pop-up).
        dialog.answered.connect(lambda result: self.customers.offer_moment(
            customer.customer_id, "after_payment") if result.status in (
                "settled", "authorized") else None)
        dialog.finished.connect(lambda _r: self.customers.refresh(customer.customer_id))
        self.payment_dialog = dialog
        dialog.open()

    def adjust_bill(self) -> None:
        """Ctrl+J: credit or debit the bill of the customer on screen."""
        customer = self._customer_on_screen("an adjustment")
        if customer is None:
            return
        from agent_desktop.ui.screens.payments.adjustments import AdjustmentDialog

        dialog = AdjustmentDialog(customer, self.store, self.who, self)
        dialog.adjusted.connect(lambda _queued: self.sync.sync_now() if self.sync else None)
        dialog.finished.connect(lambda _r: self.customers.refresh(customer.customer_id))
        dialog.notice.connect(self.notify)
        self.adjustment_dialog = dialog
        dialog.open()

    def reverse_payment(self) -> None:
        """Ctrl+Shift+V: void or refund the payment selected in the Billing ledger."""
        customer = self._customer_on_screen("a void or refund")
        view = self.customers.current_view()
        if customer is None or view is None:
            return
        from agent_desktop.ui.screens.payments.reversals import ReversalDialog, is_payment

        line = view.selected_line()
        if line is None or not is_payment(line):
            self.notify("Select a payment in the Billing ledger first (\u2191\u2193), then "
                        "Ctrl+Shift+V voids or refunds it.")
            return
        dialog = ReversalDialog(customer, line, self.store, self.who, self)
        dialog.reversed.connect(lambda _queued: self.sync.sync_now() if self.sync else None)
        dialog.finished.connect(lambda _r: self.customers.refresh(customer.customer_id))
        dialog.notice.connect(self.notify)
        self.reversal_dialog = dialog
        dialog.open()

    def payment_methods(self) -> None:
        """Ctrl+Shift+M: the payment methods on file of the customer on screen."""
        customer = self._customer_on_screen("payment methods")
        if customer is None:
            return
        from agent_desktop.ui.screens.payments.methods import PaymentMethodsDialog

        dialog = PaymentMethodsDialog(customer, self.store, self.who, self.sync, self)
        dialog.changed.connect(lambda _changes: self.sync.sync_now() if self.sync else None)
        dialog.changed.connect(lambda _changes: self.customers.refresh(customer.customer_id))
        dialog.changed.connect(lambda _changes: self.customers.offer_moment(
            customer.customer_id, "after_card_update"))
        dialog.notice.connect(self.notify)
        self.methods_dialog = dialog
        dialog.open()

    def start_order(self, customer_id: str | None = None,
                    cart: Sequence[CartLine] = ()) -> None:
        """Ctrl+Shift+O (and accepted offers): the order wizard for the customer (None: the
        one on screen, else a new one) with ``cart`` in it."""
        from agent_desktop.ui.screens.order_wizard import open_order_wizard

        open_order_wizard(self, customer_id, cart)

    def new_customer(self, phone: str = "") -> None:
        """Ctrl+Shift+U: a new customer (``phone`` pre-filled, e.g. from a call)."""
        from agent_desktop.ui.screens.customers.new_customer import show_new_customer

        self.new_customer_dialog = show_new_customer(
            self, self.store, self.who, phone, self._open_customer,
            lambda: self.sync.sync_now() if self.sync else None)

    def manage_customer(self) -> None:
        """Ctrl+Shift+E: contact details, move, suspend / resume, cancel a service."""
        customer = self._customer_on_screen("an account change")
        if customer is None:
            return
        from agent_desktop.ui.screens.customer360.maintenance import ManageDialog

        dialog = ManageDialog(self.store, self.who, customer.customer_id,
                              customer.display_name, self)
        dialog.changed.connect(self._adjustment_decided)  # refresh the 360, sync
        dialog.notice.connect(self.notify)
        self.manage_dialog = dialog
        dialog.open()

    def show_approvals(self) -> None:
        """Ctrl+Shift+A, supervisors: the adjustments waiting for approval."""
        if self.who.role not in ("supervisor", "admin"):
            self.notify("Approvals are for supervisors.")
            return
        from agent_desktop.ui.screens.payments.adjustments import ApprovalsDialog

        dialog = ApprovalsDialog(self.store, self.who, self)
        dialog.decided.connect(self._adjustment_decided)
        self.approvals_dialog = dialog
        dialog.open()

    def _adjustment_decided(self, changes: Changes) -> None:
        if self.sync is not None:
            self.sync.sync_now()
        for customer_id in changes.customers:
            self.customers.refresh(customer_id)  # only an open 360 reads again

    def dispute_bill(self) -> None:
        """Ctrl+Shift+I on a bill chosen in the 360's Billing ledger: dispute one line."""
        customer = self._customer_on_screen("a dispute")
        view = self.customers.current_view()
        if customer is None or view is None:
            return
        index = view.ledger.currentIndex()
        entry = view.ledger_model.row(index.row()).entry if index.isValid() else None
        if entry is None or entry.kind != EntryKind.INVOICE:
            self.notify("Choose the bill in the Billing tab (Alt+B, then \u2191/\u2193), then "
                        "Ctrl+Shift+I disputes one of its lines.")
            return
        from agent_desktop.ui.screens.payments.disputes import DisputeDialog

        dialog = DisputeDialog(self.store, self.who, customer.customer_id,
                               customer.display_name, entry.entry_id, entry.reference, self)

        def opened(change: CaseChange) -> None:
            self.notify(f"Dispute {change.case_number} opened for the billing team.")
            self.customers.refresh(customer.customer_id)
            if self.sync is not None:
                self.sync.sync_now()
            self.activateWindow()  # back from the dialog, to the case
            self.show_area(AREAS.index("Cases"))
            self.open_case(change.case_id)

        dialog.opened.connect(opened)
        self.dispute_dialog = dialog
        dialog.open()

    def open_case(self, case_id: str) -> None:
        self.nav.setCurrentRow(AREAS.index("Cases"))
        self.cases.open_case(case_id)

    def _cases_changed(self, customer_ids: frozenset[str]) -> None:
        """A case was changed here: open 360s of its customer show it, sync sends it."""
        for cid in self.customers.open_ids():
            if cid in customer_ids:
                self.customers.refresh(cid)
        if self.sync is not None:
            self.sync.sync_now()

    # --- the phone ---------------------------------------------------------------------
    def attach_phone(self, adapter: TelephonyAdapter) -> None:
        """Connect the call bar to a telephony source (the sync server's simulated ACD in
        the demo); supervisors also hear the floor."""
        self.phone = adapter
        self.call_bar.desk = CallDesk(adapter)
        self.cti = CtiBridge()
        self.cti.signals.agent_seen.connect(self.call_bar.on_agent)
        self.cti.signals.event_seen.connect(self.call_bar.on_event)
        self.cti.signals.connection_seen.connect(self.call_bar.on_connection)
        self.cti.signals.floor_seen.connect(self._floor_changed)
        adapter.start(self.cti, floor=self.who.role in ("supervisor", "admin"))
        self.call_bar.refresh()

    def _floor_changed(self, floor: object) -> None:
        page = self.area_pages.get("Dashboard")
        set_floor = getattr(page, "set_floor", None)
        if set_floor is not None:
            set_floor(floor)

    def _call_changed(self, call: CallView | None) -> None:
        link = self.who.call
        if call is None:
            return  # kept until the wrap-up is done: the wrap-up names the customer
        if link.interaction_id != call.id:
            link.start(call.id, call.customer_id)

    def _screen_pop(self, call: CallView, match: CallerMatch | None) -> None:
        """Answered: the caller's 360 (one match), a chooser (several), a new customer
        with the number filled in (none), the search box (number withheld)."""
        self.who.call.start(call.id, call.customer_id)
        if call.direction == "outbound":
            return
        if match is None:
            store, caller_id = self.store, call.caller_id
            Op(self, lambda: match_caller(store, caller_id)).success(
                lambda found: self._screen_pop(call, found)).run()
            return
        if match.single is not None:
            self._open_customer(match.single.customer_id, match.single.display_name)
        elif match.hits:
            chooser = CallerChooser(match.phone or match.caller_id, match.hits, self)
            chooser.picked.connect(self._open_customer)
            self.caller_chooser = chooser
            chooser.open()
        elif match.phone is not None:
            self.notify("No customer has this number: a new customer, with the number "
                        "filled in (or Esc and Ctrl+K to search).")
            self.new_customer(format_phone(match.phone))
        else:
            self.notify(f"{match.words} (Ctrl+K).")
            self.focus_search()

    def _call_ended(self, call: CallView) -> None:
        """After-call work: a collections call records its outcome first (carrying the
        call's interaction id), then the wrap-up."""
        if call.direction == "outbound" and call.collection_account_id:
            dialog = self.collections.record_outcome(call.id)
            if dialog is not None:
                dialog.finished.connect(lambda _r: self._open_wrap_up(call))
                return
        self._open_wrap_up(call)

    def _dial(self, number: str, customer_id: str, account_id: str) -> None:
        """Ctrl+D in the worklist: the call bar dials; the customer's 360 opens beside."""
        if self.phone is None:
            self.notify("No phone is connected to this desk: dial by hand, then record the "
                        "outcome with Alt+O.")
            return
        self.call_bar.dial(number, customer_id or None, account_id or None)
        if customer_id:
            self.who.call.customer_id = customer_id
            self.customers.open_customer(customer_id, "")

    def _pay_now(self, customer_id: str) -> None:
        """"Payment taken now" in a collections outcome: the payment dialog for them."""
        view = self.customers.current_view()
        if view is not None and view.data is not None \
                and view.data.customer_id == customer_id:
            self.nav.setCurrentRow(0)
            self.take_payment()
            return

        def shown(cid: str) -> None:
            if cid == customer_id:
                self.customers.customer_shown.disconnect(shown)
                self.take_payment()

        self.customers.customer_shown.connect(shown)
        self._open_customer(customer_id, "")

    def _open_wrap_up(self, call: CallView) -> None:
        if self.wrap_dialog is not None and self.wrap_dialog.isVisible():
            self.wrap_dialog.raise_()
            return
        link = self.who.call
        customer: tuple[str, str] | None = None
        customer_id = link.customer_id or call.customer_id
        if customer_id is not None:
            view = self.customers.current_view()
            name = view.data.display_name if view is not None and view.data is not None \
                and view.data.customer_id == customer_id else "the customer"
            customer = (customer_id, name)
        mode = self.call_bar.agent_view.wrap_up_mode if self.call_bar.agent_view else \
            "required"
        dialog = WrapUpDialog(call, mode, customer, self)
        dialog.submitted.connect(lambda request: self.call_bar.wrap(
            request, lambda _view: dialog.accept(), lambda exc: dialog.failed(str(exc))))
        self.wrap_dialog = dialog
        dialog.open()

    def _transfer(self, call: CallView) -> None:
        phone = self.phone
        if phone is None:
            return

        def ask(queues: list[QueueInfo]) -> None:
            dialog = TransferDialog(queues, call.queue, self)
            dialog.chosen.connect(self.call_bar.transfer)
            self.transfer_dialog = dialog
            dialog.open()

        Op(self, phone.queues).success(ask).failure(lambda exc: self.notify(str(exc))).run()

    def _call_wrapped(self, _view: object) -> None:
        self.who.call.clear()
        if self.wrap_dialog is not None and self.wrap_dialog.isVisible():
            self.wrap_dialog.accept()  # wrapped elsewhere (time-boxed: the time ran out)
        if self.sync is not None:
            self.sync.sync_now()  # the interaction's row comes back with the next pull

    def attach_sync(self, sync: SyncController) -> None:
        """Show and follow sync (at start, or once the embedded server is up)."""
        self.sync = sync
        self.sync_auto_login = sync.service.auto_login
        self.status_sync.hide()
        self.sync_bar = SyncStatusBar(self.statusBar())
        sync.status_changed.connect(self.sync_bar.show)
        sync.progress.connect(self.sync_bar.show_progress)
        sync.status_changed.connect(self._sync_status)
        self.sync_bar.state.setToolTip("Ctrl+Shift+S lists changes that need attention")
        sync.customers_changed.connect(self._customers_changed)
        self.customers.note_saved.connect(sync.sync_now)
        self.knowledge.vote_queued.connect(sync.sync_now)

    def _customers_changed(self, customer_ids: frozenset[str]) -> None:
        """A pull brought changes: open 360s of those customers refresh themselves."""
        for cid in self.customers.open_ids():
            if cid in customer_ids:
                self.customers.refresh(cid)
        self.cases.refresh()  # a pulled case row carries its customer
        if KNOWLEDGE_CHANGED in customer_ids:
            self.knowledge.articles_changed()

    def show_needs_attention(self) -> None:
        if self.sync is None:
            return
        service = self.sync.service
        from agent_desktop.ui.login import NeedsAttentionDialog

        def show(rows: list[Rejected]) -> None:
            NeedsAttentionDialog(rows, self).open()

        Op(self, service.rejected).success(show).run()

    def ask_login(self) -> None:
        """The sync needs a login (none yet, or the session expired)."""
        if self.sync is None or self._login_open:
            return
        from agent_desktop.ui.login import LoginDialog

        self._login_open = True
        dialog = LoginDialog(self.sync.service, self)
        dialog.finished.connect(self._login_closed)
        dialog.open()

    def _login_closed(self, result: int) -> None:
        self._login_open = False
        if result and self.sync is not None:
            self.sync.sync_now()

    def _sync_status(self, status: SyncStatus) -> None:
        if status.needs_login and not status.in_progress and not self.sync_auto_login:
            self.ask_login()

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).exec()

    def show_settings(self) -> None:
        SettingsDialog(self.settings, self).exec()

    def notify(self, message: str, msecs: int = 8000) -> None:
        self.statusBar().showMessage(message, msecs)

    def _tick(self) -> None:
        for i in range(1, self.customers.tabs.count()):
            view = self.customers.tabs.widget(i)
            update = getattr(view, "update_clock", None)
            if update is not None:
                update()
        self.cases.tick()

    def _setting_changed(self, key: str, _value: object) -> None:
        from agent_desktop.services.dashboard import SETTINGS as DASHBOARD_SETTINGS

        if any(s.key == key for s in DASHBOARD_SETTINGS) and self.dashboard.data is not None:
            self.dashboard.refresh()  # the figures counted the new way
        if key in ("theme", "font_scale"):
            app = QApplication.instance()
            if isinstance(app, QApplication):
                theme.apply(app, str(self.settings.get("theme")),
                            int(self.settings.get("font_scale")))
            self.customers.set_theme(str(self.settings.get("theme")))
            self.cases.set_theme(str(self.settings.get("theme")))

    # --- layout memory -------------------------------------------------------------------
    def _restore_layout(self) -> None:
        qs = QSettings()
        geometry = qs.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = qs.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        area = qs.value("window/area", 0)
        self.nav.setCurrentRow(int(str(area)) if str(area).isdigit() else 0)

    def save_layout(self) -> None:
        qs = QSettings()
        qs.setValue("window/geometry", self.saveGeometry())
        qs.setValue("window/state", self.saveState())
        qs.setValue("window/area", self.nav.currentRow())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.results.isVisible():
            self.finder.place_popup()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self._clock.stop()
        self.customers.shut_down()
        self.finder.close()
        self.knowledge.shut_down()
        self.cases.shut_down()
        if self.sync is not None:
            self.sync.stop()
        Pools.wait_idle()
        super().closeEvent(event)
