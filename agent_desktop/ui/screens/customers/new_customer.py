"""The New customer dialog (Ctrl+Shift+U from anywhere).

Every field is checked as the agent types, with the words under the field
(domain.customers: names, US addresses with the ZIP matching the state and the time zone
it gives, the phone number parsed to E.164, the email). A field shows its problem once
the agent has typed in it, every field once they try to save. A phone number can be
filled in when the dialog opens (a call that brought the caller's number).

Save (Enter) first looks for customers who look the same (same phone, same email, a close
name at the same address) off the UI thread; if any, they are listed with why, and the
agent opens one (Enter, or Alt+O) or creates the new customer anyway (Alt+A). After the
save the new customer's 360 opens (the window listens to ``created``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import customers as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext
from agent_desktop.services.customers import (
    CustomerCreated,
    create_customer,
    find_duplicates,
    load_regions,
)
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.tasks import Op

log = logging.getLogger(__name__)

_PROBLEM_STYLE = "color: #b42318;"


def failure_words(exc: BaseException, what: str) -> str:
    """An error from a service call in words for the agent (a bug is logged too)."""
    if isinstance(exc, (UserFacingError, StoreError)):
        return str(exc)
    log.error("%s failed", what, exc_info=exc)
    return f"{what} failed because of an error; nothing was changed. Try again."


class FieldHint(QLabel):
    """The line under a field: a neutral note, or what is wrong in red."""

    def __init__(self) -> None:
        super().__init__("")
        self.setObjectName("muted")
        self.setWordWrap(True)
        self.problem = ""

    def show_state(self, problem: str = "", note: str = "") -> None:
        self.problem = problem
        self.setStyleSheet(_PROBLEM_STYLE if problem else "")
        self.setText(problem or note)
        self.setVisible(bool(problem or note))


class AddressFields(QWidget):
    """Street, apartment, city, state, ZIP with a hint under each."""

    edited = Signal(str)  # the field's key ("line1", "city"...)

    KEYS = ("line1", "line2", "city", "state", "postal_code")

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setVerticalSpacing(2)
        self.edits: dict[str, QLineEdit] = {}
        self.hints: dict[str, FieldHint] = {}
        labels = {"line1": "Street", "line2": "Apt / suite", "city": "City", "state": "State",
                  "postal_code": "ZIP"}
        holders = {"line1": "123 Main St", "line2": "optional", "city": "",
                   "state": "NY", "postal_code": "12345 or 12345-6789"}
        for key in self.KEYS:
            edit = QLineEdit()
            edit.setAccessibleName(f"{title}: {labels[key]}")
            edit.setPlaceholderText(holders[key])
            if key == "state":
                edit.setMaxLength(2)
                edit.setMaximumWidth(60)
            if key == "postal_code":
                edit.setMaxLength(10)
                edit.setMaximumWidth(140)
            edit.textEdited.connect(lambda _t, key=key: self.edited.emit(key))
            hint = FieldHint()
            hint.hide()
            self.form.addRow(labels[key], edit)
            self.form.addRow("", hint)
            self.edits[key] = edit
            self.hints[key] = hint

    def value(self) -> rules.AddressInput:
        return rules.AddressInput(**{k: self.edits[k].text() for k in self.KEYS})

    def set_value(self, address: rules.AddressInput) -> None:
        for key in self.KEYS:
            self.edits[key].setText(getattr(address, key))


class NewCustomerDialog(QDialog):
    """A new customer, checked as typed; duplicates offered before it is created."""

    created = Signal(object)  # CustomerCreated: the window opens its 360
    open_existing = Signal(str, str)  # (customer id, name): the agent chose a duplicate
    duplicates_shown = Signal(object)  # list[DuplicateMatch] (tests listen)
    failed = Signal(str)  # why it was not saved

    def __init__(self, store: Store, who: AgentContext, phone: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self.regions: dict[str, tuple[str, ...]] | None = None
        self.touched: set[str] = set()
        self.matches: list[rules.DuplicateMatch] = []
        self._busy = False
        self.setWindowTitle("New customer")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        intro = QLabel("Check each field as the customer spells it: the words under a field "
                       "say what is wrong. Enter saves; customers who look the same are "
                       "shown first.")
        intro.setObjectName("muted")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        form.setVerticalSpacing(2)
        self.consumer = QRadioButton("C&onsumer")
        self.business = QRadioButton("&Business")
        self.consumer.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.consumer)
        group.addButton(self.business)
        kinds = QHBoxLayout()
        kinds.addWidget(self.consumer)
        kinds.addWidget(self.business)
        kinds.addStretch(1)
        form.addRow("Customer", kinds)
        self.edits: dict[str, QLineEdit] = {}
        self.hints: dict[str, FieldHint] = {}
        self.labels: dict[str, QLabel] = {}

        def line(key: str, label: str, accessible: str, holder: str = "") -> QLineEdit:
            edit = QLineEdit()
            edit.setAccessibleName(accessible)
            edit.setPlaceholderText(holder)
            edit.textEdited.connect(lambda _t, key=key: self._edited(key))
            hint = FieldHint()
            hint.hide()
            title = QLabel(label)
            title.setBuddy(edit)
            form.addRow(title, edit)
            form.addRow("", hint)
            self.edits[key] = edit
            self.hints[key] = hint
            self.labels[key] = title
            return edit

        self.business_name = line("business_name", "Business &name", "Business name")
        self.first_name = line("first_name", "&First name", "First name")
        self.last_name = line("last_name", "&Last name", "Last name")
        phone_row = QHBoxLayout()
        self.phone = QLineEdit(phone)
        self.phone.setAccessibleName("Phone number")
        self.phone.setPlaceholderText("(415) 555-0132")
        self.phone.textEdited.connect(lambda _t: self._edited("phone"))
        self.phone_label = QComboBox()
        self.phone_label.setAccessibleName("Phone type")
        for value, text in (("mobile", "Mobile"), ("home", "Home"), ("work", "Work")):
            self.phone_label.addItem(text, value)
        phone_row.addWidget(self.phone, 1)
        phone_row.addWidget(self.phone_label)
        phone_title = QLabel("&Phone")
        phone_title.setBuddy(self.phone)
        form.addRow(phone_title, phone_row)
        self.edits["phone"] = self.phone
        self.hints["phone"] = FieldHint()
        self.hints["phone"].hide()
        form.addRow("", self.hints["phone"])
        self.email = line("email", "&Email", "Email", "optional: name@example.com")
        self.language = QComboBox()
        self.language.setAccessibleName("Language")
        for code, name in rules.LANGUAGES.items():
            self.language.addItem(name, code)
        form.addRow("Language", self.language)
        layout.addLayout(form)

        service_box = QGroupBox("Service address")
        service_layout = QVBoxLayout(service_box)
        self.service = AddressFields("Service address")
        self.service.edited.connect(lambda key: self._edited(f"service.{key}"))
        service_layout.addWidget(self.service)
        self.same_billing = QCheckBox("Bills go to the &service address")
        self.same_billing.setChecked(True)
        self.same_billing.toggled.connect(self._billing_toggled)
        service_layout.addWidget(self.same_billing)
        layout.addWidget(service_box)
        self.billing_box = QGroupBox("Billing address")
        billing_layout = QVBoxLayout(self.billing_box)
        self.billing = AddressFields("Billing address")
        self.billing.edited.connect(lambda key: self._edited(f"billing.{key}"))
        billing_layout.addWidget(self.billing)
        self.billing_box.hide()
        layout.addWidget(self.billing_box)
        for key in AddressFields.KEYS:
            self.edits[f"service.{key}"] = self.service.edits[key]
            self.hints[f"service.{key}"] = self.service.hints[key]
            self.edits[f"billing.{key}"] = self.billing.edits[key]
            self.hints[f"billing.{key}"] = self.billing.hints[key]

        self.duplicates_box = QGroupBox("Customers who look the same")
        dup_layout = QVBoxLayout(self.duplicates_box)
        self.duplicates_intro = QLabel("")
        self.duplicates_intro.setWordWrap(True)
        dup_layout.addWidget(self.duplicates_intro)
        self.duplicates = QListWidget()
        self.duplicates.setAccessibleName("Customers who look the same")
        self.duplicates.currentRowChanged.connect(self._duplicate_selected)
        self.duplicates.setMaximumHeight(130)
        self.duplicates.setWordWrap(True)  # why it matched is the point: never cut it off
        self.duplicates.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        dup_layout.addWidget(self.duplicates)
        dup_buttons = QHBoxLayout()
        self.open_button = QPushButton("&Open")
        self.open_button.clicked.connect(self._open_selected)
        self.anyway_button = QPushButton("Create &anyway")
        self.anyway_button.clicked.connect(self._create)
        dup_buttons.addStretch(1)
        dup_buttons.addWidget(self.open_button)
        dup_buttons.addWidget(self.anyway_button)
        dup_layout.addLayout(dup_buttons)
        self.duplicates_box.hide()
        layout.addWidget(self.duplicates_box)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(_PROBLEM_STYLE)
        self.message.setAccessibleName("Why it was not saved")
        self.message.hide()
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText("Save")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.consumer.toggled.connect(self._kind_changed)
        self._kind_changed()
        for button in (self.open_button, self.anyway_button):
            button.setAutoDefault(False)
        self.save_button.setDefault(True)
        if phone:
            self.touched.add("phone")
        self.first_name.setFocus()
        Op(self, load_regions).success(self._regions_loaded).run()
        self.revalidate()

    # --- checking as the agent types ----------------------------------------------------
    def _regions_loaded(self, regions: dict[str, tuple[str, ...]]) -> None:
        self.regions = regions
        self.revalidate()

    def _kind_changed(self) -> None:
        business = self.business.isChecked()
        self.business_name.setVisible(business)
        self.labels["business_name"].setVisible(business)
        if not business:
            self.hints["business_name"].hide()
        self.labels["first_name"].setText("Contact &first name" if business else "&First name")
        self.labels["last_name"].setText("Contact &last name" if business else "&Last name")
        self.revalidate()

    def _billing_toggled(self, same: bool) -> None:
        self.billing_box.setVisible(not same)
        if not same:
            self.billing.edits["line1"].setFocus()
        self.revalidate()

    def _edited(self, key: str) -> None:
        self.touched.add(key)
        self._hide_duplicates()
        self.revalidate()

    def draft(self) -> rules.CustomerDraft:
        return rules.CustomerDraft(
            kind="business" if self.business.isChecked() else "consumer",
            first_name=self.first_name.text(), last_name=self.last_name.text(),
            business_name=self.business_name.text(), phone=self.phone.text(),
            phone_label=str(self.phone_label.currentData()), email=self.email.text(),
            service=self.service.value(),
            billing=None if self.same_billing.isChecked() else self.billing.value(),
            language=str(self.language.currentData()))

    def revalidate(self) -> rules.CustomerCheck:
        """Check the whole draft (pure, fast) and refresh the hint under every field."""
        check = rules.validate_customer(self.draft(), self.regions)
        for key, hint in self.hints.items():
            problem = check.problems.get(key, "") if key in self.touched else ""
            hint.show_state(problem, check.notes.get(key, "") if not problem else "")
        return check

    # --- saving --------------------------------------------------------------------------
    def accept(self) -> None:  # Save or Enter
        if self._busy:
            return
        if self.duplicates_box.isVisible() and self.matches:
            self._open_selected()
            return
        self.touched.update(self.hints)
        check = self.revalidate()
        if not check.ok:
            first = next((k for k in self.edits if k in check.problems), None)
            if first is not None:
                self.edits[first].setFocus()
                self.edits[first].selectAll()
            self.message.setText("Fix the fields marked in red first.")
            self.message.show()
            return
        self.message.hide()
        self._set_busy(True, "Checking\u2026")
        store, draft = self.store, self.draft()
        Op(self, lambda: find_duplicates(store, draft)).success(self._checked).failure(
            self._failed).run()

    def _set_busy(self, busy: bool, words: str = "") -> None:
        self._busy = busy
        self.save_button.setEnabled(not busy)
        self.anyway_button.setEnabled(not busy)
        self.save_button.setText(words if busy else "Save")

    def _checked(self, matches: list[rules.DuplicateMatch]) -> None:
        self._set_busy(False)
        if not matches:
            self._create()
            return
        self.matches = matches
        self.duplicates.clear()
        for match in matches:
            item = QListWidgetItem(
                f"{match.display_name} \u00b7 account {_grouped(match.account_number)} "
                f"\u00b7 {match.status}\n    {match.why}")
            item.setToolTip(match.why)
            self.duplicates.addItem(item)
        many = len(matches) > 1
        self.duplicates_intro.setText(
            f"{len(matches)} customer{'s' if many else ''} already on file look"
            f"{'' if many else 's'} like this one. Open the right one instead (Enter), or "
            "create the new customer anyway (Alt+A).")
        self.duplicates_box.show()
        self.duplicates.setCurrentRow(0)
        self.save_button.setDefault(False)
        self.save_button.hide()  # Open or Create anyway: Save would mean the same as the latter
        self.open_button.setDefault(True)
        self.duplicates.setFocus()
        self.duplicates_shown.emit(matches)

    def _duplicate_selected(self, row: int) -> None:
        if 0 <= row < len(self.matches):
            self.open_button.setText(f"&Open {self.matches[row].display_name}")

    def _hide_duplicates(self) -> None:
        if self.duplicates_box.isVisible():
            self.duplicates_box.hide()
            self.matches = []
            self.open_button.setDefault(False)
            self.save_button.show()
            self.save_button.setDefault(True)

    def _open_selected(self) -> None:
        row = self.duplicates.currentRow()
        if not 0 <= row < len(self.matches):
            return
        match = self.matches[row]
        self.open_existing.emit(match.customer_id, match.display_name)
        super().reject()

    def _create(self) -> None:
        if self._busy:
            return
        self._set_busy(True, "Saving\u2026")
        store, who, draft = self.store, self.who, self.draft()
        Op(self, lambda: create_customer(store, who, draft), write=True).success(
            self._created).failure(self._failed).run()

    def _created(self, created: CustomerCreated) -> None:
        self._busy = False
        self.created.emit(created)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        words = failure_words(exc, "Saving the customer")
        self.message.setText(words)
        self.message.show()
        self.failed.emit(words)


def _grouped(account_number: str) -> str:
    digits = account_number.replace("-", "")
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:]}" if len(digits) == 9 else account_number


def show_new_customer(parent: QWidget, store: Store, who: AgentContext, phone: str,
                      open_customer: Callable[[str, str], None],
                      saved: Callable[[], None] | None = None) -> NewCustomerDialog:
    """Open the dialog, wired: a duplicate chosen or the new customer opens its 360."""
    dialog = NewCustomerDialog(store, who, phone, parent)
    dialog.open_existing.connect(open_customer)

    def created(result: CustomerCreated) -> None:
        open_customer(result.customer_id, result.display_name)
        if saved is not None:
            saved()

    dialog.created.connect(created)
    dialog.open()
    return dialog

