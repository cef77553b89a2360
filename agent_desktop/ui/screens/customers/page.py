"""The Customers area: open customers in tabs (like a service console) and a list of
recently opened ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.contacts import ConsentRow, load_consents, set_consents
from agent_desktop.services.context import AgentContext
from agent_desktop.services.customer360 import Customer360, NoteAdded, add_note, load_360
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.consent import ConsentDialog
from agent_desktop.ui.screens.customer360.view import Customer360View, national_number
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import Column, EmptyState, RowsModel, make_table


@dataclass(frozen=True)
class Recent:
    customer_id: str
    display_name: str


class CustomersPage(QWidget):
    """Tabs of open customers; the first tab lists recent customers."""

    customer_shown = Signal(str)  # customer_id, once its 360 is painted with data
    notice = Signal(str)  # a calm message for the status bar
    note_saved = Signal()  # a local change waits in the outbox
    case_requested = Signal(str)  # case_id: the agent opens a case from a 360
    new_case_requested = Signal(str)  # customer_id: a new case for this customer
    payment_requested = Signal(str)  # customer_id: take a payment (Ctrl+P)
    adjustment_requested = Signal(str)  # customer_id: adjust the bill (Ctrl+J)
    reversal_requested = Signal(str)  # customer_id: void or refund a payment (Ctrl+Shift+V)
    methods_requested = Signal(str)  # customer_id: payment methods on file (Ctrl+Shift+M)
    order_requested = Signal(str)  # customer_id: a new order for this customer
    offer_accepted = Signal(str, object)  # (customer_id, Offer): start the order with it

    def __init__(self, store: Store, who: AgentContext, settings_get: Callable[[str], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self._get = settings_get
        self._views: dict[str, Customer360View] = {}
        # A 360 view built ahead of time, while the agent is idle: building one (tables,
        # chart) costs ~40 ms that would otherwise sit between Enter and the painted 360.
        self._spare: Customer360View | None = None
        self._closing = False
        self.consent_dialog: ConsentDialog | None = None  # the last one opened
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        layout.addWidget(self.tabs)

        home = QWidget()
        hl = QVBoxLayout(home)
        hl.setContentsMargins(16, 16, 16, 16)
        self.home_title = QLabel(
            "Recent customers · Enter opens the selected one · Ctrl+K finds another"
        )
        self.home_title.setObjectName("sectionTitle")
        hl.addWidget(self.home_title)
        self.recent_model = RowsModel([Column("Customer", lambda r: r.display_name)])
        self.recent = make_table(self.recent_model, stretch_column=0)
        self.recent.setAccessibleName("Recent customers")
        self.recent.activated.connect(
            lambda idx: self.open_customer(*_pair(self.recent_model.row(idx.row())))
        )
        hl.addWidget(self.recent, 1)
        self.empty = EmptyState(
            "No customer open",
            "Press Ctrl+K and type the caller's phone number, account number, name, email "
            "or street. Customers you open stay in tabs here; Ctrl+W closes one.",
        )
        hl.addWidget(self.empty, 1)
        self.tabs.addTab(home, "Recent")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self._load_recent()

        QShortcut(QKeySequence("Ctrl+W"), self, self.close_current,
                  context=Qt.ShortcutContext.WindowShortcut)

    # --- recent list -------------------------------------------------------------------
    def _load_recent(self) -> None:
        raw = QSettings().value("customers/recent", "[]")
        try:
            items = [Recent(**r) for r in json.loads(str(raw))]
        except (TypeError, ValueError):
            items = []
        self.recent_model.set_rows(items)
        self._show_recent(bool(items))

    def _show_recent(self, any_recent: bool) -> None:
        self.recent.setVisible(any_recent)
        self.home_title.setVisible(any_recent)
        self.empty.setVisible(not any_recent)

    def _remember(self, customer_id: str, name: str) -> None:
        items = [r for r in (self.recent_model.row(i) for i in
                             range(self.recent_model.rowCount())) if r.customer_id != customer_id]
        limit = int(str(self._get("recent_customers")))
        items = [Recent(customer_id, name), *items][:limit]
        QSettings().setValue("customers/recent", json.dumps([r.__dict__ for r in items]))
        self.recent_model.set_rows(items)
        self._show_recent(True)

    # --- tabs --------------------------------------------------------------------------
    def open_customer(self, customer_id: str, display_name: str) -> None:
        view = self._views.get(customer_id)
        if view is not None:
            self.tabs.setCurrentWidget(view)
            self.refresh(customer_id)
            return
        view = self._take_view()
        view.note_requested.connect(self._save_note)
        view.consent_requested.connect(self.edit_consent)
        view.case_requested.connect(self.case_requested)
        view.new_case_requested.connect(self.new_case_requested)
        view.payment_requested.connect(self.payment_requested)
        view.adjustment_requested.connect(self.adjustment_requested)
        view.reversal_requested.connect(self.reversal_requested)
        view.methods_requested.connect(self.methods_requested)
        view.offer_accepted.connect(self.offer_accepted)
        view.order_requested.connect(self.order_requested)
        view.offers.attach(self.store, self.who)
        view.offers.recorded.connect(lambda _answer: self.note_saved.emit())
        self._views[customer_id] = view
        self.refresh(customer_id)  # the read starts first and runs while the tab is laid out
        index = self.tabs.addTab(view, display_name)
        self.tabs.setTabToolTip(index, f"{display_name} (Ctrl+W closes)")
        self.tabs.setCurrentIndex(index)
        self._remember(customer_id, display_name)

    def prepare_spare(self) -> None:
        """Build the next 360 view now (call when the agent is idle)."""
        if self._closing:
            return
        theme = str(self._get("theme"))
        if self._spare is not None and self._spare.theme_name == theme:
            return
        if self._spare is not None:
            self._spare.deleteLater()
        spare = Customer360View(theme)
        # Style-sheet polish and layout happen here, in idle time, not when it is shown.
        home = self.tabs.widget(0)
        if home is not None:
            spare.resize(home.size())
        spare.ensurePolished()
        layout = spare.layout()
        if layout is not None:
            layout.activate()
        self._spare = spare

    def _take_view(self) -> Customer360View:
        self.prepare_spare()
        view, self._spare = self._spare, None
        assert view is not None
        QTimer.singleShot(800, self, self.prepare_spare)  # the next one, after this paints
        return view

    def refresh(self, customer_id: str) -> None:
        view = self._views.get(customer_id)
        if view is None:
            return
        months = int(str(self._get("ledger_months")))
        store = self.store
        Op(view, lambda: load_360(store, customer_id, months=months)).success(
            lambda data: self._show(view, data)
        ).failure(lambda exc: self._failed(exc)).run()

    def _show(self, view: Customer360View, data: Customer360) -> None:
        view.show_customer(data)
        self.customer_shown.emit(data.customer_id)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.notice.emit(str(exc))
            return
        raise exc

    def close_tab(self, index: int) -> None:
        if index == 0:
            return
        view = self.tabs.widget(index)
        for cid, v in list(self._views.items()):
            if v is view:
                del self._views[cid]
        self.tabs.removeTab(index)
        if view is not None:
            view.deleteLater()

    def close_current(self) -> None:
        self.close_tab(self.tabs.currentIndex())

    def shut_down(self) -> None:
        """The window is closing: build nothing more ahead."""
        self._closing = True
        if self._spare is not None:
            self._spare.deleteLater()
            self._spare = None

    def set_theme(self, theme_name: str) -> None:
        for view in self._views.values():
            view.set_theme(theme_name)
        self.prepare_spare()

    def current_view(self) -> Customer360View | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, Customer360View) else None

    def open_ids(self) -> list[str]:
        return list(self._views)

    def offer_moment(self, customer_id: str, moment: str) -> None:
        """A natural moment for an offer ("after_card_update"): the 360's strip reads again."""
        view = self._views.get(customer_id)
        if view is not None:
            view.offers.load(customer_id, moment)

    def _save_note(self, customer_id: str, body: str) -> None:
        view = self._views.get(customer_id)
        if view is None:
            return
        store, who = self.store, self.who
        Op(view, lambda: add_note(store, who, customer_id, body), write=True).success(
            lambda added: self._note_saved(view, added)
        ).failure(lambda exc: self._note_failed(view, exc)).run()

    def _note_saved(self, view: Customer360View, added: NoteAdded) -> None:
        view.note_saved(added.note)
        self.notice.emit("Note saved.")
        self.note_saved.emit()

    def _note_failed(self, view: Customer360View, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            view.note_failed(str(exc))
            return
        view.note_failed("The note was not saved because of an error; your text is kept.")
        raise exc


    # --- consent ----------------------------------------------------------------------------
    def edit_consent(self, customer_id: str) -> None:
        view = self._views.get(customer_id)
        if view is None or view.data is None:
            return
        store, name = self.store, view.data.display_name
        Op(view, lambda: load_consents(store, customer_id)).success(
            lambda rows: self._ask_consent(view, customer_id, name, rows)).run()

    def _ask_consent(self, view: Customer360View, customer_id: str, name: str,
                     rows: list[ConsentRow]) -> None:
        dialog = ConsentDialog(name, rows, national_number, self)
        self.consent_dialog = dialog  # for tests and screenshots

        def save() -> None:
            changes = dialog.changes()
            if not changes:
                return
            store, who = self.store, self.who
            Op(view, lambda: set_consents(store, who, customer_id, changes), write=True
               ).success(lambda _done: self._consent_saved(customer_id)
               ).failure(self._consent_failed).run()

        dialog.accepted.connect(save)
        dialog.open()

    def _consent_saved(self, customer_id: str) -> None:
        self.refresh(customer_id)
        self.notice.emit("Consent saved; it goes to every desk with the next sync.")
        self.note_saved.emit()

    def _consent_failed(self, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.notice.emit(f"Consent not saved: {exc}")
            return
        self.notice.emit("Consent not saved because of an error; nothing was changed.")
        raise exc


def _pair(recent: Recent) -> tuple[str, str]:
    return recent.customer_id, recent.display_name
