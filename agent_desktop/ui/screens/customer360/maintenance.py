"""Manage the account of the customer on screen (Ctrl+Shift+E from the 360): change a
contact detail, move a service, suspend or resume one, cancel one.

One page a task (Alt+C contact details, Alt+M move, Alt+S suspend / resume, Alt+N
cancel), each checked as the agent types with the domain's own rules
(domain.customers), one action button that says what it will do (Enter). A
cancellation shows the retention offer the service qualifies for first; the action
stays disabled until the customer's answer (Alt+A accepts, Alt+D declines) and a reason
code are recorded. Reads and writes run off the UI thread (``Op``); the dialog closes
once the change is saved and says so in the status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import customers as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.services.customers import (
    AccountView,
    ContactChange,
    ServiceFacts,
    cancel_service,
    change_contact,
    load_account,
    move_service,
    resume_service,
    suspend_service,
)
from agent_desktop.storage.store import Store
from agent_desktop.ui.screens.customer360.view import national_number
from agent_desktop.ui.screens.customers.new_customer import (
    AddressFields,
    FieldHint,
    failure_words,
)
from agent_desktop.ui.tasks import Op

Work = Callable[[Store, AgentContext], Changes]


@dataclass(frozen=True, slots=True)
class Ready:
    """What the current page would do: the button's words, why it cannot yet (empty:
    it can), the work to run off the UI thread and the words once done."""

    action: str
    problem: str = ""
    work: Work | None = None
    done: str = ""


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setVerticalSpacing(4)
    return form


def _titled(form: QFormLayout, text: str, widget: QWidget) -> QLabel:
    title = QLabel(text)
    title.setBuddy(widget)
    form.addRow(title, widget)
    return title


def _service_line(service: ServiceFacts) -> str:
    where = f" \u00b7 {service.address}" if service.address else ""
    return f"{service.name} \u00b7 {service.status}{where}"


class Page(QWidget):
    """One task of the dialog."""

    edited = Signal()

    def ready(self) -> Ready:
        raise NotImplementedError


class ContactPage(Page):
    """A phone number, email or address: changed, or one added."""

    def __init__(self, view: AccountView) -> None:
        super().__init__()
        self.view = view
        layout = QVBoxLayout(self)
        form = _form()
        self.what = QComboBox()
        self.what.setAccessibleName("What to change")
        self.targets: list[tuple[str, str | None, bool, str, str]] = []
        for c in view.facts.contacts:
            shown = national_number(c.value) if c.kind == "phone" else c.value
            word = f"Phone ({c.label})" if c.kind == "phone" else "Email"
            self._add(f"{word}: {shown}", c.kind, c.id, False, c.value, c.label)
        self._add("Add a phone number", "phone", None, False, "", "mobile")
        self._add("Add an email address", "email", None, False, "", "")
        for a in view.facts.addresses:
            word = {"both": "Service and billing address", "service": "Service address",
                    "billing": "Billing address"}.get(a.kind, "Address")
            self._add(f"{word}: {a.one_line()}", "address", a.id, False, a.kind, a.state)
            if a.kind == "both":
                self._add("A separate billing address (the service address stays)",
                          "address", a.id, True, a.kind, a.state)
        _titled(form, "&What", self.what)
        self.value = QLineEdit()
        self.value.setAccessibleName("New phone number or email")
        self.value_title = _titled(form, "New &value", self.value)
        self.label = QComboBox()
        self.label.setAccessibleName("Phone type")
        for value, text in (("mobile", "Mobile"), ("home", "Home"), ("work", "Work")):
            self.label.addItem(text, value)
        self.label_title = _titled(form, "T&ype", self.label)
        layout.addLayout(form)
        self.address = AddressFields("New address")
        layout.addWidget(self.address)
        self.hint = FieldHint()
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self.what.currentIndexChanged.connect(self._target_changed)
        self.value.textEdited.connect(lambda _t: self.edited.emit())
        self.label.currentIndexChanged.connect(lambda _i: self.edited.emit())
        self.address.edited.connect(lambda _k: self.edited.emit())
        self._target_changed()

    def _add(self, text: str, kind: str, target: str | None, separate: bool, current: str,
             extra: str) -> None:
        self.what.addItem(text)
        self.targets.append((kind, target, separate, current, extra))

    def _target_changed(self) -> None:
        kind, target, separate, _current, extra = self.targets[self.what.currentIndex()]
        is_address = kind == "address"
        self.value.setVisible(not is_address)
        self.value_title.setVisible(not is_address)
        self.label.setVisible(kind == "phone")
        self.label_title.setVisible(kind == "phone")
        self.address.setVisible(is_address)
        self.value.clear()
        if kind == "phone":
            index = self.label.findData(extra or "mobile")
            self.label.setCurrentIndex(max(index, 0))
            self.value.setPlaceholderText("(415) 555-0132")
        elif kind == "email":
            self.value.setPlaceholderText("name@example.com")
        if is_address:
            found = next((a for a in self.view.facts.addresses if a.id == target), None)
            if found is not None and not separate:
                self.address.set_value(rules.AddressInput(
                    found.line1, found.line2, found.city, found.state, found.postal_code))
            else:
                self.address.set_value(rules.AddressInput())
        self.edited.emit()

    def ready(self) -> Ready:
        kind, target, separate, current, extra = self.targets[self.what.currentIndex()]
        action = "Save the change"
        try:
            if kind == "phone":
                label = str(self.label.currentData())
                checked = rules.check_phone(self.value.text())
                if not (checked.ok and checked.value == current and label != extra):
                    rules.check_phone_change(current if target else None, self.value.text(),
                                             label)
                change = ContactChange("phone", target, self.value.text(), label)
            elif kind == "email":
                rules.check_email_change(current if target else None, self.value.text())
                change = ContactChange("email", target, self.value.text())
            else:
                address = self.address.value()
                found = next(a for a in self.view.facts.addresses if a.id == target)
                if separate:
                    problems, _n, _c = rules.validate_address(
                        address, service=False, regions=self.view.regions)
                    if problems:
                        raise UserFacingError(next(iter(problems.values())))
                else:
                    rules.check_address_change(found.kind, found.state, found.live_services,
                                               address, self.view.regions)
                change = ContactChange("address", target, address=address,
                                       separate_billing=separate)
        except UserFacingError as exc:
            self.hint.show_state(exc.message)
            return Ready(action, exc.message)
        self.hint.show_state(note="New numbers start without automated-call or text "
                             "consent: ask, then record it with Ctrl+Shift+C."
                             if kind == "phone" else "")
        customer_id = self.view.customer_id
        return Ready(action, "", lambda store, who: change_contact(store, who, customer_id,
                                                                   change),
                     "Contact details saved; they go to every desk with the next sync.")


class _ServicePage(Page):
    """A page that works on one of the customer's services."""

    def __init__(self, view: AccountView, statuses: frozenset[str], empty: str) -> None:
        super().__init__()
        self.view = view
        self.layout_ = QVBoxLayout(self)
        self.form = _form()
        self.services = [s for s in view.facts.services if s.status in statuses]
        self.service = QComboBox()
        self.service.setAccessibleName("Service")
        for service in self.services:
            self.service.addItem(_service_line(service))
        _titled(self.form, "Ser&vice", self.service)
        self.layout_.addLayout(self.form)
        self.empty = empty
        self.service.currentIndexChanged.connect(lambda _i: self.service_changed())

    def current(self) -> ServiceFacts | None:
        index = self.service.currentIndex()
        return self.services[index] if 0 <= index < len(self.services) else None

    def service_changed(self) -> None:
        self.edited.emit()


class MovePage(_ServicePage):
    def __init__(self, view: AccountView) -> None:
        super().__init__(view, rules.MOVABLE, "No service here can move.")
        self.what = QLabel("")
        self.what.setObjectName("muted")
        self.what.setWordWrap(True)
        self.layout_.addWidget(self.what)
        self.address = AddressFields("New service address")
        self.layout_.addWidget(self.address)
        self.hint = FieldHint()
        self.layout_.addWidget(self.hint)
        self.layout_.addStretch(1)
        self.address.edited.connect(lambda _k: self.edited.emit())
        self.service_changed()

    def service_changed(self) -> None:
        service = self.current()
        if service is None:
            self.what.setText("")
        elif service.address_id and service.others_at_address == 0:
            self.what.setText(f"Now at {service.address}. It is the only service there, "
                              "so the address itself changes (the household moves).")
        else:
            self.what.setText(f"Now at {service.address or 'no address'}. Other services "
                              "stay there: this one gets a new service address.")
        super().service_changed()

    def ready(self) -> Ready:
        service = self.current()
        if service is None:
            return Ready("Move", self.empty)
        address = self.address.value()
        try:
            plan = rules.check_move(service.status, service.sku, address, self.view.catalog)
        except UserFacingError as exc:
            self.hint.show_state(exc.message)
            return Ready("Move the service", exc.message)
        self.hint.show_state(note=f"{plan.region_name} region \u00b7 "
                             f"{rules.zone_label(plan.address.time_zone)}")
        service_id = service.id
        return Ready("Move the service", "",
                     lambda store, who: move_service(store, who, service_id, address),
                     f"{service.name} moved to {plan.address.one_line()}.")


class SuspendPage(_ServicePage):
    def __init__(self, view: AccountView) -> None:
        super().__init__(view, rules.SUSPENDABLE | rules.RESUMABLE,
                         "No active or suspended service.")
        self.reason = QComboBox()
        self.reason.setAccessibleName("Why it is suspended")
        self.reason.addItem("Choose why\u2026", "")
        for code, words in rules.SUSPEND_REASONS.items():
            self.reason.addItem(words, code)
        self.reason_title = _titled(self.form, "&Reason", self.reason)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("optional: until when, what the customer said")
        _titled(self.form, "N&ote", self.note)
        self.hint = FieldHint()
        self.layout_.addWidget(self.hint)
        self.layout_.addStretch(1)
        self.reason.currentIndexChanged.connect(lambda _i: self.edited.emit())
        self.note.textEdited.connect(lambda _t: self.edited.emit())
        self.service_changed()

    def service_changed(self) -> None:
        service = self.current()
        suspending = service is not None and service.status in rules.SUSPENDABLE
        self.reason.setVisible(suspending)
        self.reason_title.setVisible(suspending)
        super().service_changed()

    def ready(self) -> Ready:
        service = self.current()
        if service is None:
            return Ready("Suspend", self.empty)
        note, service_id = self.note.text(), service.id
        if service.status in rules.RESUMABLE:
            self.hint.show_state(note="The service is active again at once.")
            return Ready("Resume the service", "",
                         lambda store, who: resume_service(store, who, service_id, note),
                         f"{service.name} resumed.")
        reason = str(self.reason.currentData() or "")
        try:
            rules.check_suspend(service.status, reason)
        except UserFacingError as exc:
            self.hint.show_state(exc.message)
            return Ready("Suspend the service", exc.message)
        self.hint.show_state(note="Resume it from here when the customer calls back.")
        return Ready("Suspend the service", "",
                     lambda store, who: suspend_service(store, who, service_id, reason, note),
                     f"{service.name} suspended.")


class CancelPage(_ServicePage):
    """The retention offer first, then the reason."""

    def __init__(self, view: AccountView) -> None:
        super().__init__(view, rules.CANCELLABLE, "No service to cancel.")
        self.offer_box = QGroupBox("Retention offer \u2014 make it before anything else")
        offer_layout = QVBoxLayout(self.offer_box)
        self.pitch = QLabel("")
        self.pitch.setWordWrap(True)
        self.pitch.setObjectName("sectionTitle")
        self.pitch.setAccessibleName("Retention offer")
        offer_layout.addWidget(self.pitch)
        answers = QHBoxLayout()
        self.accepts = QRadioButton("Customer &accepts")
        self.declines = QRadioButton("Customer &declines")
        self.answer = QButtonGroup(self)
        for button in (self.accepts, self.declines):
            self.answer.addButton(button)
            answers.addWidget(button)
            button.toggled.connect(lambda _on: self.edited.emit())
        answers.addStretch(1)
        offer_layout.addLayout(answers)
        self.layout_.addWidget(self.offer_box)
        form = _form()
        self.reason = QComboBox()
        self.reason.setAccessibleName("Why the customer wants to cancel")
        self.reason.addItem("Choose why\u2026", "")
        for code, label in view.reasons:
            self.reason.addItem(label, code)
        _titled(form, "&Reason", self.reason)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("what the customer said (required for Other)")
        _titled(form, "N&ote", self.note)
        self.layout_.addLayout(form)
        self.hint = FieldHint()
        self.layout_.addWidget(self.hint)
        self.layout_.addStretch(1)
        self.reason.currentIndexChanged.connect(lambda _i: self.edited.emit())
        self.note.textEdited.connect(lambda _t: self.edited.emit())
        self.service_changed()

    def offer(self) -> rules.RetentionOffer | None:
        service = self.current()
        return self.view.offers.get(service.id) if service is not None else None

    def response(self) -> str:
        if self.accepts.isChecked():
            return "accepted"
        return "declined" if self.declines.isChecked() else ""

    def service_changed(self) -> None:
        offer = self.offer()
        self.pitch.setText(offer.pitch if offer is not None else "")
        self.answer.setExclusive(False)  # a new service: its offer is not answered yet
        self.accepts.setChecked(False)
        self.declines.setChecked(False)
        self.answer.setExclusive(True)
        super().service_changed()

    def ready(self) -> Ready:
        service, offer = self.current(), self.offer()
        if service is None or offer is None:
            return Ready("Cancel the service", self.empty)
        response = self.response()
        action = "Keep the service with the offer" if response == "accepted" \
            else "Cancel the service"
        reason = str(self.reason.currentData() or "")
        try:
            rules.check_cancellation(service.status, reason, self.note.text(), offer,
                                     offer.code, response or None,
                                     [code for code, _ in self.view.reasons], date.today())
        except UserFacingError as exc:
            if response:
                self.hint.show_state(exc.message)
            else:  # nothing done yet: the next step, not an error
                self.hint.show_state(note=exc.message)
            return Ready(action, exc.message)
        self.hint.show_state(note="The customer keeps the service; the offer is recorded."
                             if response == "accepted" else
                             "The service ends today; the answer to the offer is recorded.")
        service_id, code, note = service.id, offer.code, self.note.text()
        done = (f"{service.name} kept: the customer accepted {code}." if response == "accepted"
                else f"{service.name} cancelled ({reason}).")
        return Ready(action, "", lambda store, who: cancel_service(
            store, who, service_id, reason, code, response, note), done)


class ManageDialog(QDialog):
    """Account changes for one customer; closes once a change is saved."""

    changed = Signal(object)  # Changes: the 360 reads again, sync sends it
    notice = Signal(str)  # what was done, for the status bar
    loaded = Signal()  # the account was read and the pages are built
    failed = Signal(str)  # why the change was not saved

    def __init__(self, store: Store, who: AgentContext, customer_id: str, display_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self.customer_id = customer_id
        self.pages: list[Page] = []
        self._busy = False
        self._ready = Ready("Save")
        self.setWindowTitle(f"Manage \u2014 {display_name}")
        self.setMinimumWidth(640)
        layout = QVBoxLayout(self)
        self.status = QLabel("Reading the account\u2026")
        self.status.setObjectName("muted")
        layout.addWidget(self.status)
        self.tabs = QTabWidget()
        self.tabs.hide()
        layout.addWidget(self.tabs, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b42318;")
        self.message.setAccessibleName("Why it was not saved")
        self.message.hide()
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.action = QPushButton("Save")
        self.action.setEnabled(False)
        self.buttons.addButton(self.action, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAutoDefault(False)
        self.action.setDefault(True)  # Enter does what the action button says
        Op(self, lambda: load_account(store, customer_id)).success(self._loaded).failure(
            self._load_failed).run()

    def _loaded(self, view: AccountView) -> None:
        self.view = view
        for page, title in ((ContactPage(view), "&Contact details"),
                            (MovePage(view), "&Move service"),
                            (SuspendPage(view), "&Suspend / resume"),
                            (CancelPage(view), "Ca&ncel service")):
            page.edited.connect(self._refresh)
            self.pages.append(page)
            self.tabs.addTab(page, title)
        self.tabs.currentChanged.connect(self._page_changed)
        self.status.setText(f"{len([s for s in view.facts.services if s.status != 'cancelled'])}"
                            f" live services \u00b7 customer since "
                            f"{view.facts.customer_since:%b %Y}")
        self.tabs.show()
        self._page_changed(0)
        self.loaded.emit()

    def _load_failed(self, exc: BaseException) -> None:
        self.status.setText(failure_words(exc, "Reading the account"))

    def show_page(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)

    def _page_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        self._refresh()
        if page is not None:
            first = page.findChild(QComboBox)
            if first is not None:
                first.setFocus()

    def current_page(self) -> Page | None:
        page = self.tabs.currentWidget()
        return page if isinstance(page, Page) else None

    def _refresh(self) -> None:
        page = self.current_page()
        if page is None:
            return
        self._ready = page.ready()
        self.action.setText(self._ready.action)
        self.action.setEnabled(self._ready.work is not None and not self._busy)
        self.message.hide()

    def accept(self) -> None:  # the action button, or Enter
        work = self._ready.work
        if self._busy or work is None:
            return
        self._busy = True
        self.action.setEnabled(False)
        self.action.setText("Saving\u2026")
        store, who, done = self.store, self.who, self._ready.done
        Op(self, lambda: work(store, who), write=True).success(
            lambda changes: self._saved(changes, done)).failure(self._failed).run()

    def _saved(self, changes: Changes, done: str) -> None:
        self._busy = False
        self.notice.emit(done)
        self.changed.emit(changes)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        words = failure_words(exc, "Saving the change")
        self.message.setText(words)
        self.message.show()
        self.action.setText(self._ready.action)
        self.action.setEnabled(True)
        self.failed.emit(words)
