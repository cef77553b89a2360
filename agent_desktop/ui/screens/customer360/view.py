"""The customer 360: who the caller is, what they have, what they owe, what happened."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.billing import EntryKind
from agent_desktop.services.customer360 import Customer360, LedgerLine
from agent_desktop.storage.customer_record import InteractionRow, NoteRow
from agent_desktop.ui import theme
from agent_desktop.ui.screens.customer360.offers import OfferStrip
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


def _dur(seconds: int) -> str:
    m, s = divmod(max(0, seconds), 60)
    return f"{m}:{s:02d}"


def _local(dt: datetime | None, fmt: str = "%b %d, %Y %H:%M") -> str:
    if dt is None:
        return ""
    return dt.astimezone().strftime(fmt)


_PHONE_LABEL = {"mobile": "Mobile", "home": "Home", "work": "Work", "other": "Other"}
_STATUS = {
    "new": "New", "open": "Open", "pending_customer": "Pending customer",
    "pending_internal": "Pending internal", "resolved": "Resolved", "closed": "Closed",
}


class Customer360View(QWidget):
    """Shows one Customer360; asks its owner to save notes through ``note_requested``."""

    note_requested = Signal(str, str)  # (customer_id, body)
    consent_requested = Signal(str)  # customer_id: the agent wants to change consent
    case_requested = Signal(str)  # case_id: Enter on a row of the Cases tab
    new_case_requested = Signal(str)  # customer_id: the New case button
    payment_requested = Signal(str)  # customer_id: Take payment (Ctrl+P)
    order_requested = Signal(str)  # customer_id: the New order button (Ctrl+Shift+O)
    adjustment_requested = Signal(str)  # customer_id: Adjust the bill (Ctrl+J)
    reversal_requested = Signal(str)  # customer_id: void or refund (Ctrl+Shift+V)
    methods_requested = Signal(str)  # customer_id: payment methods on file (Ctrl+Shift+M)
    offer_accepted = Signal(str, object)  # (customer_id, Offer): Alt+Y on the offer strip

    def __init__(self, theme_name: str = "light", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: Customer360 | None = None
        self.theme_name = theme_name
        self._build()

    def _emit_for(self, signal: SignalInstance) -> None:
        if self.data is not None:
            signal.emit(self.data.customer_id)

    # --- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.header = QFrame()
        self.header.setObjectName("header360")
        hl = QGridLayout(self.header)
        hl.setContentsMargins(16, 12, 16, 12)
        hl.setHorizontalSpacing(24)
        self.name = QLabel()
        self.name.setObjectName("customerName")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = muted("")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badges = QHBoxLayout()
        self.badges.setSpacing(6)
        ident = QVBoxLayout()
        ident.addWidget(self.name)
        ident.addWidget(self.subtitle)
        ident.addLayout(self.badges)
        hl.addLayout(ident, 0, 0, 2, 1)
        self.figures: dict[str, QLabel] = {}
        for col, (key, title) in enumerate(
            (("balance", "Balance"), ("past_due", "Past due"), ("local", "Local time"),
             ("tenure", "Customer for"), ("ltv", "Lifetime paid"))
        ):
            box = QVBoxLayout()
            box.addWidget(muted(title))
            value = QLabel()
            value.setObjectName("figure")
            box.addWidget(value)
            self.figures[key] = value
            hl.addLayout(box, 0, col + 1)
        self.aging = muted("")
        hl.addWidget(self.aging, 1, 1, 1, 5)
        hl.setColumnStretch(0, 1)
        outer.addWidget(self.header)
        self.offers = OfferStrip(keys_on=self)  # the best offer; Alt+Y / Alt+X / Alt+Z
        self.offers.accepted.connect(self.offer_accepted)
        outer.addWidget(self.offers)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        outer.addWidget(split, 1)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(12, 10, 6, 10)
        contact_head = QHBoxLayout()
        contact_head.addWidget(section_title("Contact"), 1)
        self.consent_button = QPushButton("Consent\u2026")
        self.consent_button.setToolTip(
            "What the customer allows: automated calls, texts, email (Ctrl+Shift+C)")
        self.consent_button.clicked.connect(self.request_consent)
        contact_head.addWidget(self.consent_button)
        ll.addLayout(contact_head)
        self.contact = QLabel()
        self.contact.setWordWrap(True)
        self.contact.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.contact.setAlignment(Qt.AlignmentFlag.AlignTop)
        ll.addWidget(self.contact)
        self.services_title = section_title("Services")
        ll.addWidget(self.services_title)
        self.services_model = RowsModel([
            Column("Service", lambda s: s.product_name),
            Column("Status", lambda s: s.status.title()),
            Column("Price", lambda s: money(s.price_cents * s.quantity), align_right=True),
            Column("Since", lambda s: s.started_on.strftime("%b %Y")),
        ])
        self.services = make_table(self.services_model, stretch_column=0)
        self.services.setAccessibleName("Services")
        ll.addWidget(self.services, 2)
        ll.addWidget(section_title("Notes"))
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("Add a note about this call (Ctrl+Enter saves)")
        self.note_edit.setAccessibleName("New note")
        self.note_edit.setMaximumHeight(70)
        self.note_edit.setTabChangesFocus(True)
        ll.addWidget(self.note_edit)
        note_row = QHBoxLayout()
        self.note_status = muted("")
        note_row.addWidget(self.note_status, 1)
        self.save_note = QPushButton("Save note")
        self.save_note.setToolTip("Ctrl+Enter")
        self.save_note.clicked.connect(self._save_note)
        note_row.addWidget(self.save_note)
        ll.addLayout(note_row)
        self.notes_model = RowsModel([
            Column("When", lambda n: _local(n.created_at)),
            Column("By", lambda n: n.author_name),
            Column("Note", lambda n: n.body.replace("\n", " "), tooltip=lambda n: n.body),
        ])
        self.notes = make_table(self.notes_model, stretch_column=2)
        self.notes.setAccessibleName("Notes")
        ll.addWidget(self.notes, 2)
        QShortcut(QKeySequence("Ctrl+Return"), self.note_edit, self._save_note)
        QShortcut(QKeySequence("Ctrl+Enter"), self.note_edit, self._save_note)
        split.addWidget(left)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(False)
        self._fitted: set[int] = set()
        split.addWidget(self.tabs)
        split.setSizes([440, 1000])

        billing = QWidget()
        bl = QVBoxLayout(billing)
        bl.setContentsMargins(8, 8, 8, 8)
        self.chart_host = QVBoxLayout()
        self.chart_widget: QWidget | None = None
        bl.addLayout(self.chart_host, 2)
        self._ensure_chart()
        money_row = QHBoxLayout()
        self.methods = muted("")
        self.methods.setWordWrap(True)
        money_row.addWidget(self.methods, 1)
        self.pay_button = QPushButton("Take payment\u2026  Ctrl+P")
        self.pay_button.setObjectName("primary")
        self.pay_button.setToolTip("Take a payment: the balance and the default method are "
                                   "filled in, Enter pays (Ctrl+P)")
        self.pay_button.clicked.connect(lambda: self._emit_for(self.payment_requested))
        self.adjust_button = QPushButton("Adjust\u2026  Ctrl+J")
        self.adjust_button.setToolTip("Credit or debit the bill with a reason code; above "
                                      "your limit a supervisor approves it (Ctrl+J)")
        self.adjust_button.clicked.connect(lambda: self._emit_for(self.adjustment_requested))
        self.reverse_button = QPushButton("Void / refund\u2026")
        self.reverse_button.setToolTip("Void (taken today) or refund the payment selected "
                                       "in the ledger below (Ctrl+Shift+V)")
        self.reverse_button.clicked.connect(lambda: self._emit_for(self.reversal_requested))
        self.methods_button = QPushButton("Payment methods\u2026")
        self.methods_button.setToolTip("Cards and bank accounts on file: add a card, update "
                                       "an expiry, change the default (Ctrl+Shift+M)")
        self.methods_button.clicked.connect(lambda: self._emit_for(self.methods_requested))
        money_row.addWidget(self.pay_button)
        money_row.addWidget(self.adjust_button)
        money_row.addWidget(self.reverse_button)
        money_row.addWidget(self.methods_button)
        bl.addLayout(money_row)
        self.ledger_model = RowsModel([
            Column("Date", lambda ln: ln.entry.posted_on.strftime("%b %d, %Y")),
            Column("What", lambda ln: ln.entry.description),
            Column("Reference", lambda ln: ln.entry.reference),
            Column("Due", lambda ln: ln.entry.due_on.strftime("%b %d") if ln.entry.due_on
                   else ""),
            Column("Amount", lambda ln: money(ln.entry.amount_cents), align_right=True,
                   color=self._amount_color),
            Column("Balance", lambda ln: money(ln.balance_cents), align_right=True),
        ])
        self.ledger = make_table(self.ledger_model, stretch_column=1)
        self.ledger.setAccessibleName("Billing ledger")
        bl.addWidget(self.ledger, 3)
        self.tabs.addTab(billing, "&Billing")

        self.timeline_model = RowsModel([
            Column("When", lambda i: _local(i.offered_at)),
            Column("Channel", lambda i: f"{i.channel.title()} "
                   f"{'in' if i.direction == 'inbound' else 'out'}"),
            Column("Queue", lambda i: i.queue.replace("_", " ").title()),
            Column("Reason", lambda i: self._label(i.reason_code),
                   tooltip=lambda i: self._label(i.reason_code)),
            Column("Handle", lambda i: "" if i.abandoned else
                   _dur(i.talk_seconds + i.hold_seconds + i.acw_seconds), align_right=True,
                   tooltip=lambda i: f"Talk {_dur(i.talk_seconds)}, hold "
                   f"{_dur(i.hold_seconds)}, after-call work {_dur(i.acw_seconds)}"),
            Column("Agent", lambda i: i.agent_name or "\u2014"),
            Column("Outcome", self._outcome, tooltip=lambda i: i.summary),
        ])
        self.timeline = make_table(self.timeline_model, stretch_column=6)
        self.timeline.setAccessibleName("Past contacts")
        self.tabs.addTab(self._wrap(self.timeline), "&Contacts")

        self.cases_model = RowsModel([
            Column("Case", lambda c: c.case_number),
            Column("Subject", lambda c: c.subject),
            Column("Type", lambda c: c.type.replace("_", " ").title()),
            Column("Status", lambda c: _STATUS.get(c.status, c.status)),
            Column("Priority", lambda c: c.priority.title()),
            Column("Opened", lambda c: _local(c.opened_at, "%b %d, %Y")),
        ])
        self.cases = make_table(self.cases_model, stretch_column=1)
        self.cases.setAccessibleName("Cases")
        self.cases.activated.connect(
            lambda idx: self.case_requested.emit(self.cases_model.row(idx.row()).id))
        cases_page = self._wrap(self.cases)
        cases_head = QHBoxLayout()
        cases_head.addWidget(muted("Enter opens the selected case in Cases"), 1)
        self.new_case_button = QPushButton("New case\u2026  Ctrl+Shift+N")
        self.new_case_button.setToolTip("Open a case for this customer (Ctrl+Shift+N)")
        self.new_case_button.clicked.connect(self.request_new_case)
        cases_head.addWidget(self.new_case_button)
        cases_layout = cases_page.layout()
        assert isinstance(cases_layout, QVBoxLayout)
        cases_layout.insertLayout(0, cases_head)
        self.tabs.addTab(cases_page, "Ca&ses")

        self.orders_model = RowsModel([
            Column("Order", lambda o: o.order_number),
            Column("Status", lambda o: o.status.title()),
            Column("Placed", lambda o: _local(o.placed_at, "%b %d, %Y")),
            Column("Lines", lambda o: str(o.lines), align_right=True),
            Column("One-time", lambda o: money(o.one_time_total_cents), align_right=True),
            Column("Monthly", lambda o: money(o.monthly_total_cents), align_right=True),
        ])
        self.orders = make_table(self.orders_model, stretch_column=0)
        self.orders.setAccessibleName("Orders")
        orders_page = self._wrap(self.orders)
        orders_head = QHBoxLayout()
        orders_head.addWidget(muted("Orders placed for this customer, newest first"), 1)
        self.new_order_button = QPushButton("New order\u2026  Ctrl+Shift+O")
        self.new_order_button.setToolTip("The order wizard for this customer (Ctrl+Shift+O)")
        self.new_order_button.clicked.connect(lambda: self._emit_for(self.order_requested))
        orders_head.addWidget(self.new_order_button)
        orders_layout = orders_page.layout()
        assert isinstance(orders_layout, QVBoxLayout)
        orders_layout.insertLayout(0, orders_head)
        self.tabs.addTab(orders_page, "&Orders")
        self.tabs.currentChanged.connect(self._fit_tab)

    def _fit_tab(self, index: int) -> None:
        """Size a section's columns when it is first shown, not before: the agent sees
        Billing first, and the other sections cost nothing until opened."""
        tables = {1: self.timeline, 2: self.cases, 3: self.orders}
        if index in tables and index not in self._fitted and self.data is not None:
            fit_columns(tables[index])
            self._fitted.add(index)

    @staticmethod
    def _wrap(table: QWidget) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(table)
        return w

    def _amount_color(self, line: LedgerLine) -> QColor | None:
        if line.entry.kind in (EntryKind.PAYMENT, EntryKind.CREDIT_ADJUSTMENT):
            return QColor(theme.colors(self.theme_name)["ok"])
        return None

    def selected_line(self) -> LedgerLine | None:
        """The ledger line selected on the Billing tab, if any."""
        index = self.ledger.currentIndex()
        if not index.isValid() or not self.ledger.selectionModel().isRowSelected(
                index.row()):
            return None
        line: LedgerLine = self.ledger_model.row(index.row())
        return line

    def _label(self, code: str) -> str:
        return self.data.label(code) if self.data is not None else code

    def _outcome(self, i: InteractionRow) -> str:
        if i.abandoned:
            return "Abandoned in queue"
        parts = [self._label(i.wrap_up_code)] if i.wrap_up_code else []
        parts.append("resolved" if i.resolved else "not resolved")
        return " \u00b7 ".join(parts)

    # --- data -------------------------------------------------------------------------
    def show_customer(self, data: Customer360) -> None:
        self.data = data
        self.name.setText(data.display_name)
        kind = "Business" if data.kind == "business" else "Consumer"
        self.subtitle.setText(
            f"Account {data.account_number} \u00b7 {kind} \u00b7 {', '.join(data.address_lines)}"
        )
        while self.badges.count():
            item = self.badges.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:
                old.deleteLater()
        for b in data.badges:
            self.badges.addWidget(badge(b.text, b.level, b.tooltip))
        self.badges.addStretch(1)
        self.figures["balance"].setText(money(data.balance_cents))
        past_due = data.aging.past_due
        self.figures["past_due"].setText(money(past_due) if past_due else "$0.00")
        self.figures["past_due"].setObjectName("figureNegative" if past_due else "figure")
        self.figures["past_due"].style().polish(self.figures["past_due"])
        self.figures["tenure"].setText(_tenure(data.tenure_months))
        self.figures["ltv"].setText(money(data.lifetime_value_cents))
        self.update_clock()
        a = data.aging
        self.aging.setText(
            f"Current {money(a.current)} \u00b7 1\u201330 days {money(a.days_1_30)} \u00b7 "
            f"31\u201360 {money(a.days_31_60)} \u00b7 61\u201390 {money(a.days_61_90)} \u00b7 "
            f"90+ {money(a.days_90_plus)}"
        )
        self.contact.setText(self._contact_text(data))
        self.services_model.set_rows(data.services)
        self.services_title.setText(
            f"Services \u00b7 {money(data.monthly_recurring_cents)}/month"
        )
        self.ledger_model.set_rows(data.ledger)
        self.timeline_model.set_rows(data.interactions)
        self.cases_model.set_rows(data.cases)
        self.orders_model.set_rows(data.orders)
        self.notes_model.set_rows(data.notes)
        self.tabs.setTabText(1, f"&Contacts ({len(data.interactions)})")
        self.tabs.setTabText(2, f"Ca&ses ({len(data.cases)})")
        self.tabs.setTabText(3, f"&Orders ({len(data.orders)})")
        methods = [
            f"{m.brand.title() or m.kind.upper()} \u2022\u2022\u2022\u2022 {m.last4}"
            + (f" exp {m.exp_month:02d}/{m.exp_year % 100:02d}" if m.exp_month and m.exp_year
               else "")
            + (" (default)" if m.is_default else "")
            for m in data.payment_methods
        ]
        self.methods.setText("On file: " + ("; ".join(methods) if methods else "none")
                             + "".join(f"<br><b>{w}</b>" for w in data.waiting))
        for table in (self.services, self.ledger, self.notes):
            fit_columns(table)
        self._fitted = {0}
        self._fit_tab(self.tabs.currentIndex())
        self._draw_chart(data)
        self.offers.show_for(data.customer_id)

    def update_clock(self) -> None:
        if self.data is None:
            return
        local = self.data.local_time(datetime.now(UTC))
        self.figures["local"].setText(local.strftime("%-I:%M %p %Z"))

    def request_new_case(self) -> None:
        if self.data is not None:
            self.new_case_requested.emit(self.data.customer_id)

    def request_consent(self) -> None:
        if self.data is not None:
            self.consent_requested.emit(self.data.customer_id)

    def _contact_text(self, data: Customer360) -> str:
        lines = []
        for c in data.contacts:
            if c.kind == "phone":
                label = _PHONE_LABEL.get(c.label, c.label.title())
                extra = f" ({c.line_type})" if c.line_type not in ("unknown", c.label) else ""
                refused = [what for what, ok in (("no automated calls", c.consent_autodial),
                                                 ("no texts", c.consent_text)) if not ok]
                marks = f" \u00b7 {', '.join(refused)}" if refused else ""
                lines.append(f"{label}: {national_number(c.value)}{extra}{marks}")
            else:
                lines.append(f"Email: {c.value}" + ("" if c.consent_email else " \u00b7 no email"))
        lines.append("Address: " + ", ".join(data.address_lines))
        lines.append(f"Time zone: {data.time_zone.replace('_', ' ')}")
        return "\n".join(lines)

    def _ensure_chart(self) -> None:
        # pyqtgraph is imported here, not at module level: it costs about a second and the
        # window's first paint does not need it.
        from agent_desktop.ui.screens.customer360.chart import BillingChart

        if self.chart_widget is None:
            chart = BillingChart(self.theme_name)
            chart.setAccessibleName("24-month billing chart")
            self.chart_host.addWidget(chart)
            self.chart_widget = chart

    def set_theme(self, theme_name: str) -> None:
        """Follow a palette change: the chart's colours are baked in, so it is rebuilt."""
        if theme_name == self.theme_name:
            return
        self.theme_name = theme_name
        if self.chart_widget is not None:
            self.chart_host.removeWidget(self.chart_widget)
            self.chart_widget.deleteLater()
            self.chart_widget = None
        if self.data is not None:
            self.show_customer(self.data)

    def _draw_chart(self, data: Customer360) -> None:
        from agent_desktop.ui.screens.customer360.chart import BillingChart

        self._ensure_chart()
        assert isinstance(self.chart_widget, BillingChart)
        self.chart_widget.plot(data.months)

    def _save_note(self) -> None:
        if self.data is None:
            return
        body = self.note_edit.toPlainText()
        if not body.strip():
            self.note_status.setText("Type the note first.")
            return
        self.save_note.setEnabled(False)
        self.note_status.setText("Saving\u2026")
        self.note_requested.emit(self.data.customer_id, body)

    def note_saved(self, note: NoteRow) -> None:
        self.note_edit.clear()
        self.save_note.setEnabled(True)
        self.note_status.setText("Note saved.")
        rows = [note, *[self.notes_model.row(i) for i in range(self.notes_model.rowCount())]]
        self.notes_model.set_rows(rows)
        QTimer.singleShot(4000, self, lambda: self.note_status.setText(""))

    def note_failed(self, message: str) -> None:
        # The typed text stays in the box: nothing the agent wrote is lost.
        self.save_note.setEnabled(True)
        self.note_status.setText(message)


def _tenure(months: int) -> str:
    years, rest = divmod(months, 12)
    if years and rest:
        return f"{years} yr {rest} mo"
    if years:
        return f"{years} yr"
    return f"{rest} mo"


def national_number(e164: str) -> str:
    if e164.startswith("+1") and len(e164) == 12:
        d = e164[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"
    return e164

