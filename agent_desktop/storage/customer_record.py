"""Everything the customer 360 shows, read in a handful of indexed queries.

Returns frozen rows; the services layer turns them into the 360's DTO with the domain's
billing rules. Reads run on a worker thread with their own connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from agent_desktop.storage.store import Store


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _d(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value)[:10])


@dataclass(frozen=True, slots=True)
class CustomerRow:
    id: str
    account_number: str
    kind: str
    display_name: str
    first_name: str
    last_name: str
    business_name: str
    status: str
    customer_since: date
    language: str
    risk_score: int
    credit_class: str


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    kind: str
    value: str
    label: str
    line_type: str
    is_primary: bool
    consent_autodial: bool
    consent_text: bool
    consent_email: bool = True


@dataclass(frozen=True, slots=True)
class AddressRow:
    id: str
    kind: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    time_zone: str
    region_code: str


@dataclass(frozen=True, slots=True)
class ServiceRow:
    id: str
    sku: str
    product_name: str
    family: str
    status: str
    quantity: int
    price_cents: int
    started_on: date
    ended_on: date | None
    promotion_code: str
    promotion_ends_on: date | None


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    id: str
    invoice_number: str
    issued_on: date
    due_on: date
    period_start: date
    period_end: date
    total_cents: int


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: str
    entry: str
    method_kind: str
    amount_cents: int
    status: str
    confirmation_number: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class AdjustmentRow:
    id: str
    direction: str
    amount_cents: int
    reason_code: str
    memo: str
    status: str
    posted_on: date


@dataclass(frozen=True, slots=True)
class PaymentMethodRow:
    id: str
    kind: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    is_default: bool


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: str
    case_number: str
    type: str
    status: str
    priority: str
    subject: str
    queue: str
    opened_at: datetime
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class InteractionRow:
    id: str
    channel: str
    direction: str
    queue: str
    agent_name: str
    offered_at: datetime
    talk_seconds: int
    hold_seconds: int
    acw_seconds: int
    abandoned: bool
    reason_code: str
    wrap_up_code: str
    resolved: bool
    summary: str


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    order_number: str
    status: str
    placed_at: datetime | None
    one_time_total_cents: int
    monthly_total_cents: int
    lines: int


@dataclass(frozen=True, slots=True)
class NoteRow:
    id: str
    author_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RestrictionRow:
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    customer: CustomerRow
    contacts: tuple[ContactRow, ...]
    addresses: tuple[AddressRow, ...]
    services: tuple[ServiceRow, ...]
    invoices: tuple[InvoiceRow, ...]
    payments: tuple[PaymentRow, ...]
    adjustments: tuple[AdjustmentRow, ...]
    payment_methods: tuple[PaymentMethodRow, ...]
    cases: tuple[CaseRow, ...]
    interactions: tuple[InteractionRow, ...]
    orders: tuple[OrderRow, ...]
    notes: tuple[NoteRow, ...]
    restrictions: tuple[RestrictionRow, ...]
    lifetime_paid_cents: int


class CustomerNotFound(LookupError):
    pass


def load_customer_record(
    conn: Connection, customer_id: str, since: date, max_interactions: int = 200
) -> CustomerRecord:
    """Read one customer's record; ledger rows from ``since`` on (older ones are summed
    into an opening balance by the caller through ``opening_balance_cents``)."""

    def q(sql: str, *params: Any) -> list[Any]:
        return list(conn.exec_driver_sql(sql, params).fetchall())

    found = q(
        "SELECT id, account_number, kind, display_name, first_name, last_name, business_name,"
        " status, customer_since, language, risk_score, credit_class FROM customers"
        " WHERE id = ?",
        customer_id,
    )
    if not found:
        raise CustomerNotFound(customer_id)
    r = found[0]
    customer = CustomerRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _d(r[8]) or date.min, r[9], r[10], r[11]
    )
    cid = customer_id
    since_s = since.isoformat()
    contacts = tuple(
        ContactRow(a, b, c, d, e, bool(f), bool(g), bool(h), bool(i))
        for a, b, c, d, e, f, g, h, i in q(
            "SELECT id, kind, value, label, line_type, is_primary, consent_autodial,"
            " consent_text, consent_email FROM contact_points WHERE customer_id = ?"
            " ORDER BY kind DESC, is_primary DESC",
            cid,
        )
    )
    addresses = tuple(
        AddressRow(*row)
        for row in q(
            "SELECT id, kind, line1, line2, city, state, postal_code, time_zone, region_code"
            " FROM addresses WHERE customer_id = ? ORDER BY kind DESC",
            cid,
        )
    )
    services = tuple(
        ServiceRow(
            a, b, c or b, d or "", e, f, g, _d(h) or date.min, _d(i), j or "", _d(k)
        )
        for a, b, c, d, e, f, g, h, i, j, k in q(
            "SELECT s.id, s.sku, p.name, p.family_code, s.status, s.quantity, s.price_cents,"
            " s.started_on, s.ended_on, s.promotion_code, s.promotion_ends_on"
            " FROM services s LEFT JOIN products p ON p.sku = s.sku"
            " WHERE s.customer_id = ? ORDER BY s.status = 'active' DESC, s.started_on",
            cid,
        )
    )
    invoices = tuple(
        InvoiceRow(a, b, _d(c) or date.min, _d(d) or date.min, _d(e) or date.min,
                   _d(f) or date.min, g)
        for a, b, c, d, e, f, g in q(
            "SELECT id, invoice_number, issued_on, due_on, period_start, period_end,"
            " total_cents FROM invoices WHERE customer_id = ? AND issued_on >= ?"
            " ORDER BY issued_on",
            cid,
            since_s,
        )
    )
    payments = tuple(
        PaymentRow(a, b, c, d, e, f, _dt(g) or datetime.min)
        for a, b, c, d, e, f, g in q(
            "SELECT id, entry, method_kind, amount_cents, status, confirmation_number,"
            " received_at FROM payments WHERE customer_id = ? AND received_at >= ?"
            " ORDER BY received_at",
            cid,
            since_s,
        )
    )
    adjustments = tuple(
        AdjustmentRow(a, b, c, d, e, f, _d(g) or date.min)
        for a, b, c, d, e, f, g in q(
            "SELECT id, direction, amount_cents, reason_code, memo, status, posted_on"
            " FROM adjustments WHERE customer_id = ? AND posted_on >= ? ORDER BY posted_on",
            cid,
            since_s,
        )
    )
    methods = tuple(
        PaymentMethodRow(a, b, c, d, e, f, bool(g))
        for a, b, c, d, e, f, g in q(
            "SELECT id, kind, brand, last4, exp_month, exp_year, is_default"
            " FROM payment_methods WHERE customer_id = ? AND status = 'active'"
            " ORDER BY is_default DESC",
            cid,
        )
    )
    cases = tuple(
        CaseRow(a, b, c, d, e, f, g, _dt(h) or datetime.min, _dt(i))
        for a, b, c, d, e, f, g, h, i in q(
            "SELECT id, case_number, type, status, priority, subject, queue, opened_at, due_at"
            " FROM cases WHERE customer_id = ? ORDER BY opened_at DESC",
            cid,
        )
    )
    interactions = tuple(
        InteractionRow(a, b, c, d, e or "", _dt(f) or datetime.min, g, h, i, bool(j), k, m,
                       bool(n), o)
        for a, b, c, d, e, f, g, h, i, j, k, m, n, o in q(
            "SELECT i.id, i.channel, i.direction, i.queue, g.display_name, i.offered_at,"
            " i.talk_seconds, i.hold_seconds, i.acw_seconds, i.abandoned, i.reason_code,"
            " i.wrap_up_code, i.resolved, i.summary FROM interactions i"
            " LEFT JOIN agents g ON g.id = i.agent_id"
            " WHERE i.customer_id = ? ORDER BY i.offered_at DESC LIMIT ?",
            cid,
            max_interactions,
        )
    )
    orders = tuple(
        OrderRow(a, b, c, _dt(d), e, f, g)
        for a, b, c, d, e, f, g in q(
            "SELECT o.id, o.order_number, o.status, o.placed_at, o.one_time_total_cents,"
            " o.monthly_total_cents, (SELECT count(*) FROM order_lines l"
            " WHERE l.order_id = o.id) FROM orders o WHERE o.customer_id = ?"
            " ORDER BY o.created_at DESC",
            cid,
        )
    )
    notes = tuple(
        NoteRow(a, b, c, _dt(d) or datetime.min)
        for a, b, c, d in q(
            "SELECT id, author_name, body, created_at FROM notes WHERE customer_id = ?"
            " ORDER BY created_at DESC",
            cid,
        )
    )
    restrictions = tuple(
        RestrictionRow(a, json.loads(b) if isinstance(b, str) else (b or {}))
        for a, b in q(
            "SELECT kind, detail FROM contact_restrictions WHERE customer_id = ? AND active",
            cid,
        )
    )
    paid = q(
        "SELECT coalesce(sum(CASE entry WHEN 'payment' THEN amount_cents"
        " ELSE -amount_cents END), 0) FROM payments WHERE customer_id = ?"
        " AND status IN ('settled','authorized')",
        cid,
    )[0][0]
    return CustomerRecord(
        customer, contacts, addresses, services, invoices, payments, adjustments, methods,
        cases, interactions, orders, notes, restrictions, int(paid),
    )


def opening_balance_cents(conn: Connection, customer_id: str, before: date) -> int:
    """The balance carried into the window: everything billed minus everything credited
    before ``before``."""
    row = conn.exec_driver_sql(
        "SELECT"
        " (SELECT coalesce(sum(total_cents), 0) FROM invoices WHERE customer_id = ?"
        "   AND issued_on < ?)"
        " - (SELECT coalesce(sum(CASE entry WHEN 'payment' THEN amount_cents"
        "   ELSE -amount_cents END), 0) FROM payments WHERE customer_id = ?"
        "   AND received_at < ? AND status IN ('settled','authorized'))"
        " + (SELECT coalesce(sum(CASE direction WHEN 'debit' THEN amount_cents"
        "   ELSE -amount_cents END), 0) FROM adjustments WHERE customer_id = ?"
        "   AND posted_on < ? AND status = 'posted')",
        (customer_id, before.isoformat(), customer_id, before.isoformat(), customer_id,
         before.isoformat()),
    ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class AgentRow:
    id: str
    username: str
    display_name: str
    role: str
    team: str


def find_agent(store: Store, username: str) -> AgentRow | None:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT id, username, display_name, role, team FROM agents WHERE username = ?",
            (username,),
        ).first()
    return AgentRow(*row) if row else None


_SHOWCASE_CANDIDATES = (
    # Worked by collections (so past due at some point), with a case and an order.
    "SELECT c.id, c.display_name FROM customers c"
    " JOIN collection_accounts a ON a.customer_id = c.id AND a.status = 'open'"
    " WHERE c.kind = 'consumer' AND c.status = 'active'"
    " AND EXISTS (SELECT 1 FROM cases k WHERE k.customer_id = c.id)"
    " ORDER BY EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) DESC,"
    " c.account_number LIMIT ?"
)


def showcase_candidates(store: Store, limit: int = 40) -> list[tuple[str, str]]:
    """Customers likely to have something in every section of the 360 (for demos and
    screenshots), best first; falls back to the first customers in the store."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(_SHOWCASE_CANDIDATES, (limit,)).fetchall()
        if not rows:
            rows = conn.exec_driver_sql(
                "SELECT id, display_name FROM customers ORDER BY account_number LIMIT ?",
                (limit,),
            ).fetchall()
    return [(str(a), str(b)) for a, b in rows]
