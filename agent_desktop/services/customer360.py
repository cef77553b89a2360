"""The customer 360: one read that gives the agent everything about the caller, and the
first write an agent makes from it (a note)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from agent_desktop.domain import billing
from agent_desktop.domain.billing import EntryKind, LedgerEntry
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import format_account_number
from agent_desktop.domain.notes import clean_note_body
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage.customer_record import (
    CaseRow,
    ContactRow,
    CustomerRecord,
    InteractionRow,
    NoteRow,
    OrderRow,
    PaymentMethodRow,
    ServiceRow,
    load_customer_record,
    opening_balance_cents,
)
from agent_desktop.storage.models import Agent, Customer, Note
from agent_desktop.storage.reference import read_codes, resources_dir
from agent_desktop.storage.store import Store

OPEN_CASE_STATES = frozenset({"new", "open", "pending_customer", "pending_internal"})

_RESTRICTION_BADGES = {
    "cease_communication": "Cease communication",
    "stop_calling": "Stop calling",
    "do_not_call": "Do not call",
    "attorney": "Attorney represented",
    "no_calls_at_work": "No calls at work",
    "inconvenient_time": "Inconvenient times",
    "no_email": "No email",
    "no_text": "No texts",
    "dispute_pending": "Dispute pending",
}


@dataclass(frozen=True, slots=True)
class LedgerLine:
    entry: LedgerEntry
    balance_cents: int


@dataclass(frozen=True, slots=True)
class Badge:
    text: str
    level: str  # "danger", "warning", "info", "ok"
    tooltip: str = ""


@dataclass(frozen=True, slots=True)
class Customer360:
    """Everything the 360 shows; built off the UI thread, frozen."""

    customer_id: str
    display_name: str
    account_number: str
    kind: str
    status: str
    customer_since: date
    tenure_months: int
    value_tier: billing.ValueTier
    lifetime_value_cents: int
    balance_cents: int
    aging: billing.Aging
    badges: tuple[Badge, ...]
    time_zone: str
    address_lines: tuple[str, ...]
    contacts: tuple[ContactRow, ...]
    payment_methods: tuple[PaymentMethodRow, ...]
    services: tuple[ServiceRow, ...]
    monthly_recurring_cents: int
    ledger: tuple[LedgerLine, ...]
    months: tuple[billing.MonthPoint, ...]
    cases: tuple[CaseRow, ...]
    interactions: tuple[InteractionRow, ...]
    orders: tuple[OrderRow, ...]
    notes: tuple[NoteRow, ...]
    as_of: date
    labels: Mapping[str, str]  # reason, wrap-up and adjustment codes -> words
    # Money not in the balance yet, in words: a payment waiting for the gateway (queued
    # offline, or a sync away), an adjustment waiting for a supervisor.
    waiting: tuple[str, ...] = ()

    def label(self, code: str) -> str:
        return self.labels.get(code, code)

    def local_time(self, now: datetime | None = None) -> datetime:
        """The customer's wall-clock time (from their service address's zone)."""
        now = now or datetime.now(UTC)
        try:
            return now.astimezone(ZoneInfo(self.time_zone))
        except (KeyError, ValueError):
            return now


@lru_cache(maxsize=1)
def code_labels() -> Mapping[str, str]:
    """Every code in resources/codes.json with the words an agent reads."""
    labels: dict[str, str] = {}
    for entries in read_codes(resources_dir()).values():
        for entry in entries:
            labels.setdefault(str(entry["code"]), str(entry["label"]))
    return labels


def _ledger_entries(record: CustomerRecord, labels: Mapping[str, str]) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for inv in record.invoices:
        entries.append(
            LedgerEntry(
                inv.id, EntryKind.INVOICE, inv.issued_on, inv.total_cents,
                f"Bill for {inv.period_start:%b %-d} \u2013 {inv.period_end:%b %-d, %Y}",
                inv.due_on, inv.invoice_number,
            )
        )
    for pay in record.payments:
        if pay.status not in ("settled", "authorized"):
            continue
        kind = {
            "payment": EntryKind.PAYMENT, "void": EntryKind.PAYMENT_VOID,
            "refund": EntryKind.REFUND,
        }[pay.entry]
        label = {"card": "Card", "ach": "Bank (ACH)", "check": "Check by phone",
                 "cash": "Cash"}.get(pay.method_kind, pay.method_kind)
        what = {"payment": "Payment", "void": "Payment voided", "refund": "Refund"}[pay.entry]
        entries.append(
            LedgerEntry(
                pay.id, kind, pay.received_at.date(),
                billing.signed_cents(kind, pay.amount_cents), f"{what} \u2013 {label}",
                None, pay.confirmation_number,
            )
        )
    for adj in record.adjustments:
        if adj.status != "posted":
            continue
        kind = (EntryKind.CREDIT_ADJUSTMENT if adj.direction == "credit"
                else EntryKind.DEBIT_ADJUSTMENT)
        entries.append(
            LedgerEntry(
                adj.id, kind, adj.posted_on, billing.signed_cents(kind, adj.amount_cents),
                f"{adj.direction.title()} adjustment \u2013 "
                f"{labels.get(adj.reason_code, adj.reason_code)}", None,
                adj.memo[:40],
            )
        )
    return entries


def build_360(record: CustomerRecord, opening_cents: int, window_start: date,
              as_of: date, months: int, labels: Mapping[str, str]) -> Customer360:
    """Apply the billing rules to a customer's record (pure; no I/O)."""
    entries = _ledger_entries(record, labels)
    if opening_cents:
        entries.append(
            LedgerEntry(
                "opening",
                EntryKind.INVOICE if opening_cents > 0 else EntryKind.CREDIT_ADJUSTMENT,
                window_start - timedelta(days=1), opening_cents, "Balance brought forward",
            )
        )
    running = billing.running_balance(entries)
    balance = running[-1][1] if running else 0
    aging = billing.aging(entries, as_of)
    series = billing.monthly_series(entries, as_of, months)
    c = record.customer
    tenure = billing.tenure_months(c.customer_since, as_of)
    avg = billing.average_monthly_billed_cents(entries, as_of)
    tier = billing.value_tier(avg, tenure)
    badges: list[Badge] = []
    if aging.past_due > 0:
        badges.append(
            Badge(f"Past due {aging.oldest_days_past_due} days \u2013 "
                  f"${aging.past_due / 100:,.2f}", "danger",
                  "Oldest unpaid bill is past its due date.")
        )
    if c.status != "active":
        badges.append(Badge(c.status.title(), "warning", "Account status"))
    open_cases = sum(1 for k in record.cases if k.status in OPEN_CASE_STATES)
    if open_cases:
        badges.append(Badge(f"{open_cases} open case{'s' if open_cases > 1 else ''}", "info"))
    for r in record.restrictions:
        badges.append(Badge(_RESTRICTION_BADGES.get(r.kind, r.kind), "danger",
                            "Contact restriction: check before any outbound contact."))
    badges.insert(0, Badge(tier.value.title(), "ok", "Value tier from spend and tenure"))
    service_addr = next((a for a in record.addresses if a.kind in ("service", "both")),
                        record.addresses[0] if record.addresses else None)
    address_lines: tuple[str, ...] = ()
    tz = "America/New_York"
    if service_addr is not None:
        tz = service_addr.time_zone or tz
        address_lines = tuple(
            line for line in (
                service_addr.line1, service_addr.line2,
                f"{service_addr.city}, {service_addr.state} {service_addr.postal_code}",
            ) if line
        )
    mrc = sum(s.price_cents * s.quantity for s in record.services if s.status == "active")
    return Customer360(
        customer_id=c.id,
        display_name=c.display_name,
        account_number=format_account_number(c.account_number),
        kind=c.kind,
        status=c.status,
        customer_since=c.customer_since,
        tenure_months=tenure,
        value_tier=tier,
        lifetime_value_cents=record.lifetime_paid_cents,
        balance_cents=balance,
        aging=aging,
        badges=tuple(badges),
        time_zone=tz,
        address_lines=address_lines,
        contacts=record.contacts,
        payment_methods=record.payment_methods,
        services=record.services,
        monthly_recurring_cents=mrc,
        ledger=tuple(LedgerLine(e, b) for e, b in reversed(running)),
        months=tuple(series),
        cases=record.cases,
        interactions=record.interactions,
        orders=record.orders,
        notes=record.notes,
        as_of=as_of,
        labels=labels,
        waiting=_waiting(record),
    )


def _waiting(record: CustomerRecord) -> tuple[str, ...]:
    def dollars(cents: int) -> str:
        return f"${cents // 100:,}.{cents % 100:02d}"

    words = [f"{'Payment' if p.entry == 'payment' else p.entry.title()} of "
             f"{dollars(p.amount_cents)} waiting for the payment gateway"
             for p in record.payments if p.status == "pending"]
    words += [f"{a.direction.title()} of {dollars(a.amount_cents)} waiting for a "
              "supervisor's approval"
              for a in record.adjustments if a.status == "pending_approval"]
    return tuple(words)


def _window_start(as_of: date, months: int) -> date:
    year, month0 = divmod(as_of.year * 12 + as_of.month - 1 - (months - 1), 12)
    return date(year, month0 + 1, 1)


def load_360(store: Store, customer_id: str, *, as_of: date | None = None,
             months: int = 24) -> Customer360:
    """Read and assemble the 360 for one customer (call off the UI thread)."""
    as_of = as_of or date.today()
    start = _window_start(as_of, months)
    with store.engine.connect() as conn:
        record = load_customer_record(conn, customer_id, start)
        opening = opening_balance_cents(conn, customer_id, start)
        conn.rollback()
    return build_360(record, opening, start, as_of, months, code_labels())


@dataclass(frozen=True, slots=True)
class NoteAdded:
    note: NoteRow
    changes: Changes


def add_note(store: Store, who: AgentContext, customer_id: str, body: str,
             interaction_id: str | None = None) -> NoteAdded:
    """Append a note to the customer's record; audited and queued for sync in one
    transaction. Notes are never edited: a correction is another note."""
    text = clean_note_body(body)
    interaction_id = interaction_id or who.call.for_customer(customer_id)
    with store.transaction() as session:
        if session.get(Customer, customer_id) is None:
            raise UserFacingError("This customer is no longer in the local store; search again.")
        author = session.get(Agent, who.agent_id) if who.agent_id else None
        note = Note(customer_id=customer_id, author_id=who.agent_id,
                    author_name=author.display_name if author else who.display_name, body=text,
                    interaction_id=interaction_id)
        session.add(note)
        session.flush()
        audit.record(
            session, actor_id=who.agent_id, actor_role=who.role, action="note.add",
            entity_type="note", entity_id=note.id, customer_id=customer_id,
            after={"body": text}, workstation=who.workstation,
        )
        outbox.enqueue(session, "add_note", {
            "id": note.id, "customer_id": customer_id, "body": text,
            "author_id": who.agent_id, "interaction_id": interaction_id,
            "created_at": note.created_at.isoformat(),
        })
        row = NoteRow(note.id, note.author_name, note.body, note.created_at)
    return NoteAdded(row, Changes(customers=frozenset({customer_id}), notes=True))
