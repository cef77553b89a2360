"""One case: header (number, subject, status, priority, SLA, customer), its description and
links, the timeline newest first, the actions, and a note box with macros.

The view asks its owner to do things through signals; the owner runs the change off the
UI thread and answers with ``show_sheet`` (the case read again) or ``show_message``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.cases import (
    ALLOWED,
    STATUS_LABELS,
    TYPE_LABELS,
    SlaState,
    Status,
    is_open,
)
from agent_desktop.services.cases import CaseEventRow, CaseSheet
from agent_desktop.ui.screens.cases.model import (
    PRIORITY_LABELS,
    local_time,
    queue_label,
    sla_level,
    sla_text,
)
from agent_desktop.ui.widgets.common import (
    Column,
    RowsModel,
    badge,
    fit_columns,
    make_table,
    money,
    muted,
    section_title,
)

# The order status actions are offered in, with their menu words (& = the key).
_STATUS_ACTIONS: tuple[tuple[Status, str], ...] = (
    (Status.OPEN, "&Open: work on it"),
    (Status.PENDING_CUSTOMER, "Pending &customer: waiting on their answer"),
    (Status.PENDING_INTERNAL, "Pending &internal: waiting on another team"),
    (Status.RESOLVED, "&Resolve"),
    (Status.CLOSED, "C&lose"),
)
_PRIORITY_LEVEL = {"urgent": "danger", "high": "warning", "normal": "info", "low": "info"}


def _minutes(seconds: int) -> str:
    h, m = divmod(max(0, seconds) // 60, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def _load(text: str) -> dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def event_words(event: CaseEventRow, agents: Mapping[str, str], this_number: str) -> str:
    """What a timeline event did, in words."""
    before, after = _load(event.before), _load(event.after)
    words: str
    if event.kind == "created":
        words = "Opened"
        if after.get("queue"):
            words += f" in {queue_label(str(after['queue']))}"
    elif event.kind == "status_changed":
        frm = STATUS_LABELS.get(str(before.get("status")), str(before.get("status", "")))
        to = STATUS_LABELS.get(str(after.get("status")), str(after.get("status", "")))
        words = f"Status {frm} \u2192 {to}"
        if event.visibility == "customer":
            words += " (customer told)"
    elif event.kind in ("priority", "escalated"):
        frm = PRIORITY_LABELS.get(str(before.get("priority")), str(before.get("priority")))
        to = PRIORITY_LABELS.get(str(after.get("priority")), str(after.get("priority")))
        words = f"{'Escalated' if event.kind == 'escalated' else 'Priority'} {frm} \u2192 {to}"
    elif event.kind == "assigned":
        agent = after.get("assigned_agent_id")
        words = f"Assigned to {agents.get(str(agent), 'another agent')}" if agent \
            else "Unassigned"
    elif event.kind == "comment":
        words = "Message to the customer" if event.visibility == "customer" \
            else "Internal note"
    elif event.kind == "merged":
        words = "Merged into another case"
    elif event.kind == "merged_in":
        words = "A duplicate merged in"
    else:
        words = event.kind.replace("_", " ").capitalize()
    if event.case_number != this_number:
        words = f"[{event.case_number}] {words}"
    return words


def _details(event: CaseEventRow) -> str:
    body = " ".join(event.body.split())
    if event.seconds_spent:
        body = f"{body} ({_minutes(event.seconds_spent)} spent)" if body \
            else f"{_minutes(event.seconds_spent)} spent"
    return body


class CaseDetailView(QWidget):
    status_requested = Signal(str, str)  # case id, target status
    escalate_requested = Signal(str)
    assign_requested = Signal(str, str)  # case id, "me" | "pick" | "none"
    merge_requested = Signal(str)
    article_requested = Signal(str)
    draft_requested = Signal(str)  # case id: write a knowledge article from it
    follow_up_requested = Signal(str)  # case id: open a child case that follows it up
    credit_requested = Signal(str)  # case id: resolve a dispute with a credit
    note_requested = Signal(str, str, str, int)  # case id, body, visibility, seconds spent
    customer_requested = Signal(str, str)  # customer id, name
    case_link_requested = Signal(str)  # another case's id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sheet: CaseSheet | None = None
        self.case_id = ""
        self._build()

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        header = QFrame()
        header.setObjectName("header360")
        hl = QVBoxLayout(header)
        hl.setContentsMargins(16, 12, 16, 10)
        hl.setSpacing(6)
        top = QHBoxLayout()
        self.number = muted("")
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.number)
        self.badges = QHBoxLayout()
        self.badges.setSpacing(6)
        self.sla_badge = QLabel()  # replaced by the case's SLA badge in show_sheet
        top.addLayout(self.badges)
        top.addStretch(1)
        hl.addLayout(top)
        self.subject = QLabel()
        self.subject.setObjectName("customerName")
        self.subject.setWordWrap(True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hl.addWidget(self.subject)
        facts = QHBoxLayout()
        facts.setSpacing(14)
        self.customer_button = QPushButton()
        self.customer_button.setObjectName("linkButton")
        self.customer_button.setFlat(True)
        self.customer_button.setCursor(Qt.CursorShape.PointingHandCursor)
        # Reads as a link (it opens the 360), and shows where the keyboard is.
        self.customer_button.setStyleSheet(
            "QPushButton { color: palette(link); border: 0; padding: 2px 0; "
            "font-weight: 600; text-align: left; } "
            "QPushButton:focus, QPushButton:hover { text-decoration: underline; }")
        self.customer_button.setToolTip("Open the customer's 360 (Alt+C)")
        self.customer_button.clicked.connect(self._customer)
        facts.addWidget(self.customer_button)
        self.facts = muted("")
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        facts.addWidget(self.facts, 1)
        hl.addLayout(facts)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Message")
        self.message.hide()
        hl.addWidget(self.message)
        outer.addWidget(header)

        actions = QHBoxLayout()
        actions.setContentsMargins(16, 8, 16, 4)
        actions.setSpacing(8)
        self.status_button = QPushButton("&Status")
        self.status_button.setToolTip("Move the case on (Alt+S): only the moves its life "
                                      "cycle allows are listed")
        self.status_menu = QMenu(self.status_button)
        self.status_button.setMenu(self.status_menu)
        self.escalate_button = QPushButton("&Escalate\u2026")
        self.escalate_button.clicked.connect(lambda: self.escalate_requested.emit(self.case_id))
        self.assign_button = QPushButton("&Assign")
        self.assign_menu = QMenu(self.assign_button)
        self.assign_me = self.assign_menu.addAction(
            "Assign to &me", lambda: self.assign_requested.emit(self.case_id, "me"))
        self.assign_pick = self.assign_menu.addAction(
            "Assign to &someone with the skill\u2026",
            lambda: self.assign_requested.emit(self.case_id, "pick"))
        self.unassign = self.assign_menu.addAction(
            "&Unassign", lambda: self.assign_requested.emit(self.case_id, "none"))
        self.assign_button.setMenu(self.assign_menu)
        self.merge_button = QPushButton("&Merge into\u2026")
        self.merge_button.setToolTip("This case is a duplicate: fold it into another open case "
                                     "of the same customer (Alt+M)")
        self.merge_button.clicked.connect(lambda: self.merge_requested.emit(self.case_id))
        self.article_button = QPushButton("&Link article\u2026")
        self.article_button.setToolTip("Link a knowledge article by its code (Alt+L)")
        self.article_button.clicked.connect(lambda: self.article_requested.emit(self.case_id))
        self.draft_button = QPushButton("&Write article\u2026")
        self.draft_button.setToolTip("Solved it? Write what worked as a knowledge article "
                                     "(Alt+W); a supervisor publishes it")
        self.draft_button.clicked.connect(lambda: self.draft_requested.emit(self.case_id))
        self.follow_up_button = QPushButton("&Follow-up…")
        self.follow_up_button.setToolTip("Open a new case that follows this one up, for the "
                                         "same customer (Alt+F)")
        self.follow_up_button.clicked.connect(
            lambda: self.follow_up_requested.emit(self.case_id))
        self.credit_button = QPushButton("Cre&dit\u2026")
        self.credit_button.setToolTip("The customer is right: resolve the dispute with a "
                                      "credit on the disputed line (Alt+D)")
        self.credit_button.clicked.connect(lambda: self.credit_requested.emit(self.case_id))
        self.credit_button.hide()
        for button in (self.status_button, self.escalate_button, self.assign_button,
                       self.merge_button, self.article_button, self.draft_button,
                       self.follow_up_button, self.credit_button):
            actions.addWidget(button)
        actions.addStretch(1)
        outer.addLayout(actions)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        outer.addWidget(split, 1)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(16, 8, 8, 12)
        ll.addWidget(section_title("Description"))
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ll.addWidget(self.description)
        ll.addWidget(section_title("Details"))
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(4)
        self.details: dict[str, QLabel] = {}
        for key, title in (("category", "Category"), ("product", "Product"),
                           ("skill", "Needs skill"), ("opened", "Opened"),
                           ("due", "Due"), ("spent", "Time spent")):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.details[key] = value
            form.addRow(muted(title), value)
        ll.addLayout(form)
        ll.addWidget(section_title("Linked"))
        self.links = QLabel()
        self.links.setWordWrap(True)
        self.links.setTextFormat(Qt.TextFormat.RichText)
        self.links.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.links.linkActivated.connect(self._link)
        ll.addWidget(self.links)
        ll.addWidget(section_title("Knowledge articles"))
        self.articles = QLabel()
        self.articles.setWordWrap(True)
        self.articles.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ll.addWidget(self.articles)
        ll.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        split.addWidget(scroll)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 8, 16, 12)
        rl.addWidget(section_title("Add to the timeline"))
        self.note_edit = QPlainTextEdit()
        self.note_edit.setAccessibleName("Case note")
        self.note_edit.setPlaceholderText(
            "A note on this case (Ctrl+Enter saves; Alt+1\u2026Alt+5 insert a canned response)")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMaximumHeight(110)
        rl.addWidget(self.note_edit)
        note_row = QHBoxLayout()
        self.visibility = QComboBox()
        self.visibility.addItem("Internal note", "internal")
        self.visibility.addItem("Message to the customer", "customer")
        self.visibility.setAccessibleName("Who sees the note")
        note_row.addWidget(self.visibility)
        self.spent = QSpinBox()
        self.spent.setRange(0, 24 * 60)
        self.spent.setSuffix(" min spent")
        self.spent.setAccessibleName("Minutes spent")
        note_row.addWidget(self.spent)
        self.note_status = muted("")
        note_row.addWidget(self.note_status, 1)
        self.save_note = QPushButton("Save note")
        self.save_note.setToolTip("Ctrl+Enter")
        self.save_note.clicked.connect(self._save_note)
        note_row.addWidget(self.save_note)
        rl.addLayout(note_row)
        self.macro_hint = muted("")
        self.macro_hint.setWordWrap(True)
        rl.addWidget(self.macro_hint)
        self.timeline_title = section_title("Timeline, newest first")
        rl.addWidget(self.timeline_title)
        self.timeline_model = RowsModel([
            Column("When", lambda e: local_time(e.at)),
            Column("Who", lambda e: e.actor_name or "\u2014"),
            Column("What", lambda e: self._what(e)),
            Column("Details", _details, tooltip=lambda e: e.body),
        ])
        self.timeline = make_table(self.timeline_model, stretch_column=3)
        self.timeline.setAccessibleName("Case timeline")
        rl.addWidget(self.timeline, 1)
        split.addWidget(right)
        split.setSizes([420, 1000])

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self.note_edit, self._save_note)
        for i in range(1, 6):
            QShortcut(QKeySequence(f"Alt+{i}"), self, lambda i=i: self.insert_macro(i),
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Alt+C"), self, self._customer,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # --- data -----------------------------------------------------------------------------
    def show_sheet(self, sheet: CaseSheet) -> None:
        self.sheet = sheet
        d = sheet.detail
        c = d.case
        self.case_id = c.id
        self.number.setText(f"{c.case_number} \u00b7 {TYPE_LABELS.get(c.type, c.type)}")
        self.subject.setText(c.subject)
        while self.badges.count():
            item = self.badges.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:
                old.deleteLater()
        status = STATUS_LABELS.get(c.status, c.status)
        self.badges.addWidget(badge(status, "ok" if not is_open(c.status) else "info",
                                    "Status"))
        self.badges.addWidget(badge(f"{PRIORITY_LABELS.get(c.priority, c.priority)} priority",
                                    _PRIORITY_LEVEL.get(c.priority, "info"), "Priority"))
        self.sla_badge = badge(f"SLA: {sla_text(sheet.sla)}", sla_level(sheet.sla.state),
                               "Service level, in business hours")
        self.badges.addWidget(self.sla_badge)
        if d.merged_into:
            self.badges.addWidget(badge(f"Merged into {d.merged_into}", "warning"))
        name = c.customer_name or "No customer"
        self.customer_button.setText(f"Customer: {name.replace('&', '&&')} \u203a")
        self.customer_button.setEnabled(bool(c.customer_id))
        self.credit_button.setVisible(c.type == "dispute" and bool(c.customer_id)
                                      and c.status not in ("resolved", "closed"))
        self.facts.setText(" \u00b7 ".join((
            f"Queue: {queue_label(c.queue)}",
            f"Assigned to: {c.assigned_name or 'nobody yet'}",
            f"Opened {local_time(c.opened_at)}",
        )))
        self.description.setText(d.description or "No description.")
        self.details["category"].setText(sheet.category or "\u2014")
        self.details["product"].setText(
            f"{sheet.product} ({d.product_sku})" if d.product_sku else "\u2014")
        self.details["skill"].setText(d.required_skill.replace("_", " ") or "anyone")
        self.details["opened"].setText(local_time(c.opened_at, "%a %b %d, %Y %H:%M"))
        due = local_time(sheet.sla.due_at, "%a %b %d, %Y %H:%M") if sheet.sla.due_at else ""
        self.details["due"].setText(
            f"{due} ({sla_text(sheet.sla)})" if due else sla_text(sheet.sla))
        self.details["spent"].setText(_minutes(d.seconds_spent))
        self.links.setText(self._links_html(sheet))
        self.articles.setText("<br>".join(f"<b>{code}</b> {title}"
                                          for _id, code, title in d.articles)
                              or "None linked yet (Alt+L links one by its code).")
        self.timeline_model.set_rows(d.events)
        self.timeline_title.setText(f"Timeline, newest first ({len(d.events)})")
        fit_columns(self.timeline, widest=260)
        self._actions(sheet)
        self.macro_hint.setText("   ".join(f"{m.key} {m.title}" for m, _ in sheet.macros))

    def _links_html(self, sheet: CaseSheet) -> str:
        d = sheet.detail
        lines = []
        words = {"invoice": "Bill", "order": "Order", "payment": "Payment"}
        for kind, (number, cents, day) in sheet.links.items():
            lines.append(f"{words[kind]} <b>{number}</b> \u00b7 {money(cents)} \u00b7 {day}")
        if d.merged_into:
            lines.append(f"Merged into <b>{d.merged_into}</b>: work on that case")
        if d.merged_in:
            lines.append("Duplicates merged in: " + ", ".join(d.merged_in))
        for case_id, number, subject in d.children:
            lines.append(f'Follow-up <a href="case:{case_id}">{number}</a> {subject}')
        if d.parent_case_id:
            lines.append(f'Follows up <a href="case:{d.parent_case_id}">an earlier case</a>')
        return "<br>".join(lines) or "No bill, order or payment linked."

    def _actions(self, sheet: CaseSheet) -> None:
        d = sheet.detail
        status = d.case.status
        merged = d.merged_into is not None
        self.status_menu.clear()
        allowed = set() if merged else ALLOWED[Status(status)]
        for target, words in _STATUS_ACTIONS:
            if target in allowed:
                if target is Status.OPEN and status in (Status.RESOLVED, Status.CLOSED):
                    words = "&Reopen"
                action = self.status_menu.addAction(words)
                action.setData(target.value)
                action.triggered.connect(
                    lambda _checked=False, t=target.value: self.status_requested.emit(
                        self.case_id, t))
        self.status_button.setEnabled(bool(allowed))
        working = is_open(status) and not merged
        self.escalate_button.setEnabled(working and d.case.priority != "urgent")
        self.escalate_button.setToolTip(
            "Raise the priority, with the reason (Alt+E)" if working and
            d.case.priority != "urgent" else "Already urgent" if working
            else "Reopen the case to escalate it")
        self.assign_button.setEnabled(working)
        self.unassign.setEnabled(d.case.assigned_agent_id is not None)
        self.merge_button.setEnabled(not merged)
        self.article_button.setEnabled(not merged)
        self.draft_button.setEnabled(not merged and not working)
        self.note_edit.setEnabled(not merged)
        self.save_note.setEnabled(not merged)
        if merged:
            self.show_message(f"This case was merged into {d.merged_into}; work on that one.",
                              "warning")

    def status_targets(self) -> list[str]:
        """The statuses the Status menu offers (for tests and screen readers)."""
        return [str(a.data()) for a in self.status_menu.actions()]

    def _what(self, event: CaseEventRow) -> str:
        if self.sheet is None:
            return event.kind
        return event_words(event, self.sheet.agents, self.sheet.detail.case.case_number)

    # --- messages where the agent is looking -----------------------------------------------
    def show_message(self, text: str, level: str = "danger") -> None:
        self.message.setObjectName(f"badge_{level}")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()

    def clear_message(self) -> None:
        self.message.hide()
        self.message.setText("")

    # --- note ---------------------------------------------------------------------------------
    def insert_macro(self, number: int) -> None:
        if self.sheet is None or not self.note_edit.isEnabled():
            return
        key = f"Alt+{number}"
        for macro, text in self.sheet.macros:
            if macro.key == key:
                self.note_edit.insertPlainText(text)
                # A canned response is written to the customer.
                self.visibility.setCurrentIndex(self.visibility.findData("customer"))
                self.note_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
                self.note_status.setText(f"Inserted \u201c{macro.title}\u201d; it goes to "
                                         "the customer.")
                return

    def focus_note(self) -> None:
        self.note_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _save_note(self) -> None:
        if self.sheet is None or not self.note_edit.isEnabled():
            return
        body = self.note_edit.toPlainText()
        if not body.strip():
            self.note_status.setText("Type the note first.")
            return
        self.save_note.setEnabled(False)
        self.note_status.setText("Saving\u2026")
        self.note_requested.emit(self.case_id, body, str(self.visibility.currentData()),
                                 self.spent.value() * 60)

    def note_saved(self) -> None:
        self.note_edit.clear()
        self.spent.setValue(0)
        self.visibility.setCurrentIndex(0)
        self.save_note.setEnabled(True)
        self.note_status.setText("Note saved.")
        QTimer.singleShot(4000, self, lambda: self.note_status.setText(""))

    def note_failed(self, message: str) -> None:
        # The typed text stays in the box: nothing the agent wrote is lost.
        self.save_note.setEnabled(True)
        self.note_status.setText(message)

    # --- links ------------------------------------------------------------------------------
    def _customer(self) -> None:
        if self.sheet is not None and self.sheet.detail.case.customer_id:
            c = self.sheet.detail.case
            assert c.customer_id is not None
            self.customer_requested.emit(c.customer_id, c.customer_name)

    def _link(self, href: str) -> None:
        if href.startswith("case:"):
            self.case_link_requested.emit(href[5:])

    def sla_state(self) -> SlaState | None:
        return self.sheet.sla.state if self.sheet is not None else None
