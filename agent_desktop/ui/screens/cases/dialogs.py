"""The case dialogs: a new case from the 360, and the actions on a case that need a word
or a choice (status with a comment, escalate, assign to someone, merge, link an article).

Each dialog checks what it can as the agent types and keeps Save disabled until the input
makes sense, saying why under the field. Enter saves; Esc cancels. Saving does not close
the dialog: its owner runs the change off the UI thread and then calls ``finish`` (saved)
or ``failed`` (the refusal, shown in the dialog, the input kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain import cases as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.cases import AgentChoice, ViewRow, categories
from agent_desktop.storage.customer_record import ServiceRow
from agent_desktop.ui.screens.cases.model import (
    PRIORITY_LABELS,
    local_time,
    queue_label,
    sla_text,
)
from agent_desktop.ui.widgets.common import Column, RowsModel, make_table, muted

# The category a new case of each type starts with.
_FIRST_CATEGORY = {"inquiry": "BILLING-INQUIRY", "trouble_ticket": "TECH-INTERNET",
                   "dispute": "BILLING-DISPUTE", "approval_request": "ADJUSTMENT-APPROVAL",
                   "complaint": "COMPLAINT"}
_PRIORITIES = ("urgent", "high", "normal", "low")


class ActionDialog(QDialog):
    """Save / Cancel, a line for refusals, and the submit-then-wait protocol."""

    submitted = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setSpacing(8)
        self.message = QLabel()
        self.message.setObjectName("badge_danger")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Why it was not saved")
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self._busy = False
        self._save_text = "Save"  # the button's words while not saving

    def save_words(self, words: str) -> None:
        """What the Save button says (Link, Merge, Assign...)."""
        self._save_text = words
        self.save_button.setText(words)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.message)
        self.layout_.addWidget(self.buttons)

    def valid(self) -> bool:
        return True

    def revalidate(self) -> None:
        self.save_button.setEnabled(self.valid() and not self._busy)

    def accept(self) -> None:  # Save or Enter: ask the owner; stay open until answered
        if self._busy or not self.valid():
            return
        self._busy = True
        self.message.hide()
        self.save_button.setEnabled(False)
        self.save_button.setText("Saving\u2026")
        self.submitted.emit()

    def finish(self) -> None:
        self._busy = False
        super().accept()

    def failed(self, text: str) -> None:
        self._busy = False
        self.save_button.setText(self._save_text)
        self.message.setText(text)
        self.message.show()
        self.revalidate()


class NewCaseDialog(ActionDialog):
    """A case for the customer on screen: type, priority, category, product, subject
    (focused) and description. Ctrl+Shift+N, the subject, Enter."""

    def __init__(self, customer_name: str, services: Sequence[ServiceRow],
                 parent: QWidget | None = None) -> None:
        super().__init__(f"New case \u2014 {customer_name}", parent)
        intro = muted("The case goes to its queue from the type, category and product; its "
                      "due time follows the type and priority (business hours).")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QFormLayout()
        form.setVerticalSpacing(6)
        form.setHorizontalSpacing(14)
        customer = QLabel(f"<b>{_html(customer_name)}</b>")
        form.addRow("Customer", customer)
        self.type = QComboBox()
        for code, label in rules.TYPE_LABELS.items():
            self.type.addItem(label, code)
        self.type.setAccessibleName("Case type")
        self.priority = QComboBox()
        for code in _PRIORITIES:
            self.priority.addItem(PRIORITY_LABELS[code], code)
        self.priority.setCurrentIndex(_PRIORITIES.index("normal"))
        self.priority.setAccessibleName("Priority")
        self.category = QComboBox()
        for code, label, group in categories():
            self.category.addItem(label, (code, group))
        self.category.setAccessibleName("Category")
        self.product = QComboBox()
        self.product.addItem("No particular product", None)
        for service in services:
            if service.status in ("active", "suspended", "pending"):
                self.product.addItem(f"{service.product_name} ({service.sku})",
                                     (service.sku, service.family))
        self.product.setAccessibleName("Product")
        self.subject = QLineEdit()
        self.subject.setAccessibleName("Subject")
        self.subject.setPlaceholderText("What is it about? e.g. No internet since the storm")
        self.subject.setMaxLength(rules.MAX_SUBJECT + 50)
        self.subject_hint = QLabel()
        self.subject_hint.setObjectName("muted")
        self.subject_hint.setAccessibleName("Subject check")
        self.description = QPlainTextEdit()
        self.description.setAccessibleName("Description")
        self.description.setPlaceholderText("What the customer said, what was tried "
                                            "(optional; Ctrl+Enter saves)")
        self.description.setTabChangesFocus(True)
        self.description.setFixedHeight(110)
        self.route = muted("")
        self.route.setWordWrap(True)
        self.route.setAccessibleName("Where the case goes")
        type_label = QLabel("&Type")
        type_label.setBuddy(self.type)
        form.addRow(type_label, self.type)
        priority_label = QLabel("&Priority")
        priority_label.setBuddy(self.priority)
        form.addRow(priority_label, self.priority)
        category_label = QLabel("C&ategory")
        category_label.setBuddy(self.category)
        form.addRow(category_label, self.category)
        product_label = QLabel("P&roduct")
        product_label.setBuddy(self.product)
        form.addRow(product_label, self.product)
        subject_label = QLabel("&Subject")
        subject_label.setBuddy(self.subject)
        form.addRow(subject_label, self.subject)
        form.addRow("", self.subject_hint)
        description_label = QLabel("&Description")
        description_label.setBuddy(self.description)
        form.addRow(description_label, self.description)
        form.addRow("", self.route)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.save_words("Save")
        self.setMinimumWidth(620)

        self.type.currentIndexChanged.connect(lambda _i: self._type_changed())
        self.category.currentIndexChanged.connect(lambda _i: self._category_changed())
        for box in (self.priority, self.product):
            box.currentIndexChanged.connect(lambda _i: self._show_route())
        self.subject.textChanged.connect(lambda _t: self.revalidate())
        self.subject.returnPressed.connect(self.accept)
        self.description.textChanged.connect(self.revalidate)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.accept)
        self._type_changed()
        self.revalidate()
        self.subject.setFocus()

    def follow_up(self, case_number: str, case_type: str, category: str,
                  product_sku: str | None, subject: str) -> None:
        """Start from the case this one follows up: same type, category and product."""
        self.setWindowTitle(f"Follow-up to {case_number}")
        for box, want in ((self.type, case_type), (self.product, product_sku)):
            for i in range(box.count()):
                data = box.itemData(i)
                if data == want or (isinstance(data, tuple) and data[0] == want):
                    box.setCurrentIndex(i)
        for i in range(self.category.count()):
            data = self.category.itemData(i)
            if data and category in (data[0], data[1]):
                self.category.setCurrentIndex(i)
                break
        self.subject.setText(f"Follow-up: {subject}"[: rules.MAX_SUBJECT])
        self.subject.selectAll()

    # --- what the agent picked ----------------------------------------------------------
    def case_type(self) -> str:
        return str(self.type.currentData())

    def priority_code(self) -> str:
        return str(self.priority.currentData())

    def category_group(self) -> str:
        """The category's group (billing, technical, ...): what routing goes by."""
        data = self.category.currentData()
        return str(data[1]) if data else ""

    def product_sku(self) -> str | None:
        data = self.product.currentData()
        return str(data[0]) if data else None

    def subject_text(self) -> str:
        return self.subject.text()

    def description_text(self) -> str:
        return self.description.toPlainText()

    # --- as the agent types -------------------------------------------------------------
    def problem(self) -> str:
        """Why the case cannot be saved yet ("" when it can)."""
        try:
            rules.check_new_case(self.case_type(), self.priority_code(), self.subject.text(),
                                 self.description.toPlainText())
        except UserFacingError as exc:
            return exc.message
        return ""

    def valid(self) -> bool:
        return not self.problem()

    def revalidate(self) -> None:
        problem = self.problem()
        self.subject_hint.setText(problem or "Enter saves the case and opens it.")
        self.subject_hint.setObjectName("badge_warning" if problem else "muted")
        self.subject_hint.style().unpolish(self.subject_hint)
        self.subject_hint.style().polish(self.subject_hint)
        super().revalidate()

    def _type_changed(self) -> None:
        first = _FIRST_CATEGORY.get(self.case_type())
        for i in range(self.category.count()):
            if self.category.itemData(i)[0] == first:
                self.category.setCurrentIndex(i)
                break
        self._category_changed()
        self.revalidate()

    def _category_changed(self) -> None:
        code = self.category.currentData()[0] if self.category.currentData() else ""
        if code.startswith("TECH-"):
            family = code[5:].lower()
            for i in range(1, self.product.count()):
                if self.product.itemData(i)[1] == family:
                    self.product.setCurrentIndex(i)
                    break
        self._show_route()

    def _show_route(self) -> None:
        data = self.product.currentData()
        family = str(data[1]) if data else ""
        routed = rules.route(self.case_type(), self.category_group(), family)
        hours = rules.SLA_HOURS[self.case_type()][self.priority_code()]
        due = rules.due_at(datetime.now(UTC), self.case_type(), self.priority_code())
        skill = f" (needs the {routed.skill.replace('_', ' ')} skill)" if routed.skill else ""
        self.route.setText(f"Goes to the {queue_label(routed.queue)} queue{skill}; due "
                           f"{local_time(due, '%a %b %d, %H:%M')} ({hours} business hours).")


class StatusDialog(ActionDialog):
    """Moving a case to ``target``: an optional comment, and whether the customer is told."""

    def __init__(self, case_number: str, target: str, parent: QWidget | None = None) -> None:
        words = {"open": "Open", "pending_customer": "Set pending customer",
                 "pending_internal": "Set pending internal", "resolved": "Resolve",
                 "closed": "Close"}.get(target, target)
        super().__init__(f"{words} {case_number}", parent)
        self.target = target
        label = QLabel(f"{case_number} becomes <b>"
                       f"{rules.STATUS_LABELS.get(target, target).lower()}</b>.")
        self.layout_.addWidget(label)
        self.comment = QLineEdit()
        self.comment.setAccessibleName("Comment")
        self.comment.setPlaceholderText(
            "What was done, or what the case waits for (optional; on the timeline)")
        self.layout_.addWidget(self.comment)
        self.notify = QCheckBox("&Tell the customer (the comment goes to them)")
        self.notify.setChecked(target == "resolved")
        self.layout_.addWidget(self.notify)
        self.finish_layout()
        self.setMinimumWidth(520)
        self.comment.returnPressed.connect(self.accept)
        self.comment.setFocus()


class EscalateDialog(ActionDialog):
    """A higher priority (its due time follows) and the reason, which is required."""

    def __init__(self, case_number: str, priority: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Escalate {case_number}", parent)
        higher = _PRIORITIES[:_PRIORITIES.index(priority)] if priority in _PRIORITIES \
            else _PRIORITIES
        self.layout_.addWidget(QLabel(
            f"Now <b>{PRIORITY_LABELS.get(priority, priority)}</b> priority. Escalating "
            "brings the due time forward."))
        form = QFormLayout()
        self.priority = QComboBox()
        for code in higher:
            self.priority.addItem(PRIORITY_LABELS[code], code)
        self.priority.setCurrentIndex(max(0, len(higher) - 1))  # one step up
        self.priority.setAccessibleName("New priority")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("Why? e.g. second outage this week")
        self.reason_hint = muted("")
        form.addRow("&New priority", self.priority)
        form.addRow("&Reason", self.reason)
        form.addRow("", self.reason_hint)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.setMinimumWidth(520)
        self.reason.textChanged.connect(lambda _t: self.revalidate())
        self.reason.returnPressed.connect(self.accept)
        self.revalidate()
        self.reason.setFocus()

    def valid(self) -> bool:
        ok = bool(self.reason.text().strip()) and self.priority.count() > 0
        self.reason_hint.setText("" if ok else "Say why it is escalated.")
        return ok


class AssignDialog(ActionDialog):
    """Agents who have the skill the case needs, least busy first; type to narrow."""

    def __init__(self, case_number: str, skill: str, choices: Sequence[AgentChoice],
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Assign {case_number}", parent)
        self.choices = list(choices)
        need = f"the {skill.replace('_', ' ')} skill" if skill else "no particular skill"
        intro = QLabel(f"The case needs {need}. Agents who may take it, least busy first:")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.filter = QLineEdit()
        self.filter.setAccessibleName("Find an agent")
        self.filter.setPlaceholderText("Type part of a name or team; \u2191\u2193 to choose")
        self.layout_.addWidget(self.filter)
        self.model = RowsModel([
            Column("Agent", lambda a: a.display_name),
            Column("Team", lambda a: a.team),
            Column("Open cases", lambda a: str(a.open_cases), align_right=True),
        ])
        self.table = make_table(self.model, stretch_column=0)
        self.table.setAccessibleName("Agents")
        self.table.setMinimumHeight(260)
        self.table.activated.connect(lambda _i: self.accept())
        self.layout_.addWidget(self.table)
        self.finish_layout()
        self.save_words("Assign")
        self.setMinimumWidth(520)
        self.filter.textChanged.connect(self._narrow)
        self.filter.returnPressed.connect(self.accept)
        self.filter.installEventFilter(self)
        self._narrow("")
        self.filter.setFocus()

    def _narrow(self, text: str) -> None:
        needle = text.strip().lower()
        self.model.set_rows([a for a in self.choices if needle in
                             f"{a.display_name} {a.team}".lower()])
        if self.model.rowCount():
            self.table.selectRow(0)
        self.revalidate()

    def chosen(self) -> AgentChoice | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        choice: AgentChoice = self.model.row(index.row())
        return choice

    def valid(self) -> bool:
        return self.chosen() is not None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filter and isinstance(event, QKeyEvent) \
                and event.type() == QEvent.Type.KeyPress \
                and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            row = self.table.currentIndex().row()
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            new = min(max(0, row + step), self.model.rowCount() - 1)
            if new >= 0:
                self.table.selectRow(new)
            return True
        return super().eventFilter(watched, event)


class MergeDialog(ActionDialog):
    """Pick the case that continues; this one (the duplicate) is closed into it."""

    def __init__(self, case_number: str, choices: Sequence[ViewRow],
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Merge {case_number} into another case", parent)
        intro = QLabel(
            f"<b>{case_number}</b> is a duplicate. Pick the case that continues: "
            f"{case_number} is closed into it, and its timeline, notes and time spent show "
            "there. Nothing is lost.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.model = RowsModel([
            Column("Case", lambda v: v.row.case_number),
            Column("Subject", lambda v: v.row.subject),
            Column("Status", lambda v: rules.STATUS_LABELS.get(v.row.status, v.row.status)),
            Column("SLA", lambda v: sla_text(v.sla)),
            Column("Opened", lambda v: local_time(v.row.opened_at, "%b %d, %Y")),
        ])
        self.model.set_rows(list(choices))
        self.table = make_table(self.model, stretch_column=1)
        self.table.setAccessibleName("Open cases of the customer")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMinimumHeight(200)
        self.table.activated.connect(lambda _i: self.accept())
        self.layout_.addWidget(self.table)
        if not choices:
            self.layout_.addWidget(muted("This customer has no other open case to merge "
                                         "into."))
        self.finish_layout()
        self.save_words("Merge")
        self.setMinimumWidth(680)
        if choices:
            self.table.selectRow(0)
            self.table.resizeColumnsToContents()
        self.table.setFocus()
        self.revalidate()

    def chosen(self) -> ViewRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        choice: ViewRow = self.model.row(index.row())
        return choice

    def valid(self) -> bool:
        return self.chosen() is not None


class LinkArticleDialog(ActionDialog):
    """A knowledge article by its code, until the knowledge screen links them itself."""

    def __init__(self, case_number: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Link an article to {case_number}", parent)
        form = QFormLayout()
        self.code = QLineEdit()
        self.code.setAccessibleName("Article code")
        self.code.setPlaceholderText("e.g. KB-0012 (Knowledge, Ctrl+3, shows the codes)")
        form.addRow("Article &code", self.code)
        self.layout_.addLayout(form)
        self.finish_layout()
        self.save_words("Link")
        self.setMinimumWidth(480)
        self.code.textChanged.connect(lambda _t: self.revalidate())
        self.code.returnPressed.connect(self.accept)
        self.revalidate()
        self.code.setFocus()

    def valid(self) -> bool:
        return bool(self.code.text().strip())


class DraftArticleDialog(ActionDialog):
    """Write once, reuse: a knowledge article drafted from a solved case (a supervisor
    publishes it)."""

    def __init__(self, case_number: str, title: str, body: str, product: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(f"Write an article from {case_number}", parent)
        intro = QLabel("What solved this case, for the next agent who meets it. It is saved "
                       "as a draft; a supervisor reviews and publishes it.")
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QFormLayout()
        self.title = QLineEdit(title)
        self.title.setAccessibleName("Article title")
        form.addRow("&Title", self.title)
        self.product = QLineEdit(product)
        self.product.setAccessibleName("Product")
        self.product.setPlaceholderText("internet, tv, phone, mobile, security, billing\u2026")
        form.addRow("&Product", self.product)
        self.tags = QLineEdit()
        self.tags.setAccessibleName("Tags")
        self.tags.setPlaceholderText("comma separated, e.g. modem, outage")
        form.addRow("T&ags", self.tags)
        self.body = QPlainTextEdit(body)
        self.body.setAccessibleName("Article text")
        self.body.setTabChangesFocus(True)
        self.body.setMinimumHeight(220)
        form.addRow("&Steps", self.body)
        self.layout_.addLayout(form)
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        self.layout_.addWidget(self.hint)
        self.finish_layout()
        self.save_words("Save draft")
        self.setMinimumWidth(640)
        for edit in (self.title, self.product):
            edit.textChanged.connect(lambda _t: self.revalidate())
        self.body.textChanged.connect(self.revalidate)
        self.revalidate()
        self.title.setFocus()

    def valid(self) -> bool:
        problems = []
        if not self.title.text().strip():
            problems.append("a title")
        if not self.product.text().strip():
            problems.append("the product")
        if len(self.body.toPlainText().strip()) < 20:
            problems.append("the steps (a sentence or two)")
        self.hint.setText("Still needed: " + ", ".join(problems) + "." if problems else "")
        return not problems

    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.text().split(",") if t.strip()]


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

