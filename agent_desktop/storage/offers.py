"""Offers in the store: the facts the offer rules look at for one customer, and the one
place an offer shown (with the customer's answer) is written locally.

``read_facts`` is a handful of queries, each on an index led by customer_id (services,
addresses, invoices by issue day, payments by receipt time, adjustments, cases,
collection accounts, payment methods, offers shown), so ranking offers costs the same
for the first customer and the millionth.

``apply_record_offer`` writes the offers_shown row: from services.offers in the same
transaction as the audit row and the outbox mutation, and again by the rebase under a
pull (sync_store.REAPPLY) until the server answers; a refusal takes the row back out
(sync_store._WROTE).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from agent_desktop.domain import billing
from agent_desktop.domain.billing import EntryKind, LedgerEntry
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.offers import (
    CaseFact,
    CustomerFacts,
    PastResponse,
    ServiceFact,
    late_bills,
    monthly_cents,
)
from agent_desktop.storage.customer_record import opening_balance_cents
from agent_desktop.storage.models import Customer, OfferShown

__all__ = ["apply_record_offer", "read_facts"]


def _date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def read_facts(conn: Connection, customer_id: str, today: date, *,
               region_of_state: Callable[[str], str | None],
               case_statuses: Collection[str], history_months: int = 12,
               grace_days: int = 3, responses_since_days: int = 90) -> CustomerFacts:
    """The offer facts for one customer as of ``today``.

    Raises ``UserFacingError`` when the customer is not in this store."""

    def rows(sql: str, *params: Any) -> list[Any]:
        return list(conn.exec_driver_sql(sql, params).fetchall())

    found = rows("SELECT first_name, kind, status, customer_since FROM customers "
                 "WHERE id = ?", customer_id)
    if not found:
        raise UserFacingError("This customer is no longer in the local store; search again.")
    first_name, kind, status, since = found[0]
    services = tuple(
        ServiceFact(str(sku), str(family or ""), tier, str(state),
                    monthly_cents(str(pkind or "recurring"), int(price), period, int(qty)),
                    int(qty))
        for sku, family, tier, state, price, qty, period, pkind in rows(
            "SELECT s.sku, p.family_code, p.tier, s.status, s.price_cents, s.quantity, "
            "p.billing_period, p.kind FROM services s LEFT JOIN products p ON p.sku = s.sku "
            "WHERE s.customer_id = ?", customer_id))
    region = ""
    for code, state in rows(
            "SELECT region_code, state FROM addresses WHERE customer_id = ? "
            "ORDER BY kind = 'billing', kind", customer_id)[:1]:
        region = str(code or "") or (region_of_state(str(state or "")) or "")

    # The ledger from a little before the payment-history window (bills due in it were
    # issued before it), older entries summed into an opening balance.
    window = _months_before(today, history_months)
    start = window - timedelta(days=62)
    entries = _ledger(conn, customer_id, start)
    aging = billing.aging(entries, today)
    late = late_bills(entries, window, today, grace_days)

    case_states = tuple(case_statuses) or ("open",)
    marks = ", ".join("?" for _ in case_states)
    cases = tuple(
        CaseFact(str(number), str(ctype), str(state), str(category or ""),
                 str(family) if family else None)
        for number, ctype, state, category, family in rows(
            "SELECT c.case_number, c.type, c.status, c.category, p.family_code FROM cases c "
            "LEFT JOIN products p ON p.sku = c.product_sku "
            f"WHERE c.customer_id = ? AND c.status IN ({marks}) ORDER BY c.opened_at",
            customer_id, *case_states))
    in_collections = bool(rows(
        "SELECT 1 FROM collection_accounts WHERE customer_id = ? AND status = 'open' LIMIT 1",
        customer_id))
    since_responses = (today - timedelta(days=responses_since_days)).isoformat()
    responses = tuple(
        PastResponse(str(code), str(response), _date(at) or today)
        for code, response, at in rows(
            "SELECT offer_code, response, responded_at FROM offers_shown "
            "WHERE customer_id = ? AND response IN ('accepted', 'declined', 'not_now') "
            "AND responded_at >= ?", customer_id, since_responses))
    kinds = frozenset(str(k) for (k,) in rows(
        "SELECT DISTINCT kind FROM payment_methods WHERE customer_id = ? "
        "AND status = 'active'", customer_id))
    return CustomerFacts(
        customer_id=customer_id,
        first_name=str(first_name or "") if kind == "consumer" else "",
        status=str(status),
        services=services,
        region=region,
        tenure_months=billing.tenure_months(_date(since) or today, today),
        late_payments_12m=late,
        days_past_due=aging.oldest_days_past_due,
        in_collections=in_collections,
        open_cases=cases,
        responses=responses,
        payment_method_kinds=kinds,
    )


def _ledger(conn: Connection, customer_id: str, start: date) -> list[LedgerEntry]:
    since = start.isoformat()
    entries: list[LedgerEntry] = []
    opening = opening_balance_cents(conn, customer_id, start)
    if opening:
        entries.append(LedgerEntry(
            "opening", EntryKind.INVOICE if opening > 0 else EntryKind.CREDIT_ADJUSTMENT,
            start - timedelta(days=1), opening))
    for row_id, issued, due, total in conn.exec_driver_sql(
            "SELECT id, issued_on, due_on, total_cents FROM invoices "
            "WHERE customer_id = ? AND issued_on >= ?", (customer_id, since)):
        entries.append(LedgerEntry(str(row_id), EntryKind.INVOICE, _date(issued) or start,
                                   int(total), due_on=_date(due)))
    kinds = {"payment": EntryKind.PAYMENT, "void": EntryKind.PAYMENT_VOID,
             "refund": EntryKind.REFUND}
    for row_id, entry, amount, received in conn.exec_driver_sql(
            "SELECT id, entry, amount_cents, received_at FROM payments "
            "WHERE customer_id = ? AND received_at >= ? "
            "AND status IN ('settled', 'authorized')", (customer_id, since)):
        kind = kinds.get(str(entry), EntryKind.PAYMENT)
        entries.append(LedgerEntry(str(row_id), kind, _date(received) or start,
                                   billing.signed_cents(kind, int(amount))))
    for row_id, direction, amount, posted in conn.exec_driver_sql(
            "SELECT id, direction, amount_cents, posted_on FROM adjustments "
            "WHERE customer_id = ? AND posted_on >= ? AND status = 'posted'",
            (customer_id, since)):
        kind = EntryKind.CREDIT_ADJUSTMENT if direction == "credit" \
            else EntryKind.DEBIT_ADJUSTMENT
        entries.append(LedgerEntry(str(row_id), kind, _date(posted) or start,
                                   billing.signed_cents(kind, int(amount))))
    return entries


def _at(value: object) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def apply_record_offer(session: Session, args: dict[str, Any]) -> None:
    """Write the offer shown and the answer (once: a second apply changes nothing)."""
    if session.get(OfferShown, args["id"]) is not None:
        return
    if session.get(Customer, args["customer_id"]) is None:
        raise UserFacingError("This customer is no longer in the local store; search again.")
    shown_at = _at(args["shown_at"])
    session.add(OfferShown(
        id=args["id"], customer_id=args["customer_id"],
        interaction_id=args.get("interaction_id"), agent_id=args.get("agent_id"),
        offer_code=args["offer_code"], kind=args["kind"], pitch=args.get("pitch") or "",
        shown_at=shown_at, response=args.get("response"),
        responded_at=_at(args.get("responded_at")),
        created_at=_at(args.get("created_at")) or shown_at,
        updated_at=_at(args.get("responded_at")) or shown_at, version=1))
    session.flush()
