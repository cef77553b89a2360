"""Collections, read side: the open collection accounts and what the call check needs.

Two steps, so the worklist stays fast however many accounts are open:

- ``open_accounts`` reads every open account with its customer (name, account number,
  risk), its customer value (12 months billed, ``ix_invoices_customer_issued``) and how
  often the customer was placed in collections in the year before (indexed on
  ``collection_accounts.customer_id``): enough to order the list (domain.prioritize).
- ``call_context`` then reads, for the accounts shown only, the phones, time zones,
  call attempts and active restrictions, each by an indexed foreign key
  (``contact_points``, ``addresses``, ``contact_restrictions`` on ``customer_id``;
  ``contact_attempts`` on ``collection_account_id``).

The write side (``apply_record_outcome``, ``apply_send_reminder``) is the one place each
recorded outcome is written: by services.collections in the same transaction as the audit
row and the outbox mutation, and again by the rebase under a pull (sync_store.REAPPLY)
until the server answers. A callback time lives on its call attempt
(``contact_attempts.callback_at``, migration 0006).

The balance past due is the balance placed in collections; the oldest unpaid amount fell
due ``PLACED_AFTER_DAYS`` before the account was opened (a debt is placed once 31 days
past due).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from agent_desktop.domain import billing
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.storage.models import (
    ArrangementInstallment,
    CollectionAccount,
    ContactAttempt,
    ContactRestriction,
    CustomerNotification,
    PaymentArrangement,
    PromiseToPay,
)
from agent_desktop.storage.store import Store

PLACED_AFTER_DAYS = 31
VALUE_DAYS = 365
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class OpenAccount:
    account_id: str
    customer_id: str
    customer_name: str
    account_number: str
    opened_on: date
    balance_cents: int
    risk: int
    customer_value_cents: int
    times_late_before: int
    disputed_on: date | None
    treatment: str = ""
    """The account's own treatment as placed (standard, gentle, hardship, recovery)."""
    validation_notice_sent_on: date | None = None

    @property
    def past_due_since(self) -> date:
        return self.opened_on - timedelta(days=PLACED_AFTER_DAYS)


@dataclass(frozen=True, slots=True)
class Phone:
    number: str
    label: str
    line_type: str
    is_primary: bool
    consent_autodial: bool
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    connected: bool
    conversation: bool
    outcome: str = ""
    destination: str = ""
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PromiseRow:
    """The latest promise to pay on a debt."""

    id: str
    amount_cents: int
    promised_on: date
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Restriction:
    kind: str
    detail: dict[str, Any]


@dataclass(slots=True)
class CallContext:
    """What the call check needs for one account's customer and debt."""

    phones: list[Phone] = field(default_factory=list)
    time_zones: list[str] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    restrictions: list[Restriction] = field(default_factory=list)
    promise: PromiseRow | None = None
    arrangement_next_due: date | None = None
    """The next installment still to pay of an active arrangement."""


def _date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _stamp(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(moment: datetime) -> str:
    """A UTC moment as the store writes it (so text comparison orders correctly)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _chunks(ids: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    for start in range(0, len(ids), _CHUNK):
        part = list(ids[start:start + _CHUNK])
        yield ", ".join("?" for _ in part), part


_OPEN_SQL = """
SELECT ca.id, ca.customer_id, c.display_name, c.account_number, ca.opened_on,
       ca.placed_balance_cents, c.risk_score, ca.disputed_on, ca.treatment,
       ca.validation_notice_sent_on {facts}
FROM collection_accounts ca JOIN customers c ON c.id = ca.customer_id
WHERE ca.status = 'open' {only}
"""
# Each customer's last-year billing (their value) and how many other debts were placed on
# them in the year before this one (repeat late payers), both from indexes (invoices by
# customer and date, debts by customer).
_FACTS_SQL = """,
       (SELECT coalesce(SUM(i.total_cents), 0) FROM invoices i
         WHERE i.customer_id = ca.customer_id AND i.issued_on >= ?),
       (SELECT count(*) FROM collection_accounts o
         WHERE o.customer_id = ca.customer_id AND o.id != ca.id
           AND o.opened_on >= date(ca.opened_on, ?) AND o.opened_on < ca.opened_on)"""


def open_accounts(store: Store, today: date) -> list[OpenAccount]:
    """Every open collection account with what orders the worklist."""
    since = (today - timedelta(days=VALUE_DAYS)).isoformat()
    return _accounts(store, [(_OPEN_SQL.format(facts=_FACTS_SQL, only=""),
                              (since, f"-{VALUE_DAYS} days"))], today)


def ranking_rows(store: Store) -> list[tuple[str, int, date, int]]:
    """(account id, balance cents, past due since, risk) of every open debt: what ranks
    it before its customer's value is known (``domain.collections.shortlist``)."""
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = cursor.execute(
            "SELECT ca.id, ca.placed_balance_cents, ca.opened_on, c.risk_score "
            "FROM collection_accounts ca JOIN customers c ON c.id = ca.customer_id "
            "WHERE ca.status = 'open'").fetchall()
        cursor.close()
    finally:
        raw.close()
    placed = timedelta(days=PLACED_AFTER_DAYS)
    return [(str(account_id), int(balance or 0),
             date.fromisoformat(str(opened)[:10]) - placed, int(risk or 0))
            for account_id, balance, opened, risk in rows if opened]


def open_accounts_by_id(store: Store, account_ids: Sequence[str], today: date
                        ) -> list[OpenAccount]:
    """These open accounts (as ``open_accounts`` reads them)."""
    since = (today - timedelta(days=VALUE_DAYS)).isoformat()
    return _accounts(store, [
        (_OPEN_SQL.format(facts=_FACTS_SQL, only=f"AND ca.id IN ({marks})"),
         (since, f"-{VALUE_DAYS} days", *part)) for marks, part in _chunks(account_ids)],
        today)


def _accounts(store: Store, queries: Sequence[tuple[str, tuple[object, ...]]], today: date
              ) -> list[OpenAccount]:
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = [row for sql, params in queries for row in cursor.execute(sql, params)]
        cursor.close()
    finally:
        raw.close()
    return [
        OpenAccount(str(r[0]), str(r[1]), str(r[2] or ""), str(r[3] or ""),
                    date.fromisoformat(str(r[4])[:10]) if r[4] else today, int(r[5] or 0),
                    int(r[6] or 0), int(r[10]), int(r[11]),
                    _date(r[7]), str(r[8] or ""), _date(r[9]))
        for r in rows]


def call_context(store: Store, accounts: Sequence[OpenAccount],
                 now: datetime) -> dict[str, CallContext]:
    """Phones, time zones, call attempts and active restrictions, by account id."""
    by_customer: dict[str, list[str]] = {}
    for account in accounts:
        by_customer.setdefault(account.customer_id, []).append(account.account_id)
    out = {a.account_id: CallContext() for a in accounts}
    customers = sorted(by_customer)
    account_ids = [a.account_id for a in accounts]
    stamp = _text(now)
    phones: dict[str, list[Phone]] = {}
    zones: dict[str, list[str]] = {}
    restrictions: dict[str, list[Restriction]] = {}
    with store.engine.connect() as conn:
        for marks, part in _chunks(customers):
            for (customer_id, value, label, line_type, primary, autodial,
                 updated) in conn.exec_driver_sql(
                    f"SELECT customer_id, value, label, line_type, is_primary, "
                    f"consent_autodial, updated_at FROM contact_points "
                    f"WHERE customer_id IN ({marks}) AND kind = 'phone' "
                    f"ORDER BY is_primary DESC, created_at, id", tuple(part)):
                phones.setdefault(str(customer_id), []).append(Phone(
                    str(value), str(label or ""), str(line_type or "unknown"), bool(primary),
                    bool(autodial), _stamp(updated) if updated is not None else None))
            for customer_id, zone in conn.exec_driver_sql(
                    f"SELECT DISTINCT customer_id, time_zone FROM addresses "
                    f"WHERE customer_id IN ({marks})", tuple(part)):
                if zone:
                    zones.setdefault(str(customer_id), []).append(str(zone))
            for customer_id, kind, detail in conn.exec_driver_sql(
                    f"SELECT customer_id, kind, detail FROM contact_restrictions "
                    f"WHERE customer_id IN ({marks}) AND active = 1 AND effective_at <= ? "
                    f"AND (ended_at IS NULL OR ended_at > ?) ORDER BY effective_at, id",
                    (*part, stamp, stamp)):
                restrictions.setdefault(str(customer_id), []).append(
                    Restriction(str(kind), _detail(detail)))
        for marks, part in _chunks(account_ids):
            for (account_id, at, connected, conversation, outcome, destination,
                 callback) in conn.exec_driver_sql(
                    f"SELECT collection_account_id, at, connected, conversation, outcome, "
                    f"destination, callback_at "
                    f"FROM contact_attempts WHERE collection_account_id IN ({marks}) "
                    f"AND channel = 'call' AND at <= ? ORDER BY at", (*part, stamp)):
                out[str(account_id)].attempts.append(Attempt(
                    _stamp(at), bool(connected), bool(conversation), str(outcome or ""),
                    str(destination or ""), _stamp(callback) if callback else None))

        # The latest promise and the next installment per debt, by the indexed customer.
        for marks, part in _chunks(customers):
            for (row_id, account_id, amount, promised, status,
                 created) in conn.exec_driver_sql(
                    f"SELECT id, collection_account_id, amount_cents, promised_on, status, "
                    f"created_at FROM promises_to_pay "
                    f"WHERE customer_id IN ({marks}) AND status <> 'cancelled' "
                    f"ORDER BY created_at, id", tuple(part)):
                on = _date(promised)
                if on is not None and str(account_id) in out:
                    out[str(account_id)].promise = PromiseRow(
                        str(row_id), int(amount), on, str(status), _stamp(created))
            for account_id, due in conn.exec_driver_sql(
                    f"SELECT p.collection_account_id, MIN(i.due_on) "
                    f"FROM payment_arrangements p "
                    f"JOIN arrangement_installments i ON i.arrangement_id = p.id "
                    f"WHERE p.customer_id IN ({marks}) AND p.status = 'active' "
                    f"AND i.status = 'scheduled' GROUP BY p.collection_account_id",
                    tuple(part)):
                if str(account_id) in out:
                    out[str(account_id)].arrangement_next_due = _date(due)
    for customer_id, ids in by_customer.items():
        for account_id in ids:
            context = out[account_id]
            context.phones = list(phones.get(customer_id, ()))
            context.time_zones = sorted(set(zones.get(customer_id, ())))
            context.restrictions = list(restrictions.get(customer_id, ()))
    return out


def _detail(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


# --- one debt, as the outcome dialog and the write need it ------------------------------------

@dataclass(frozen=True, slots=True)
class DebtState:
    """One collection account re-read right before an outcome is written."""

    account_id: str
    customer_id: str
    customer_name: str
    first_name: str
    status: str
    placed_balance_cents: int
    past_due_cents: int
    """What the customer's ledger has past due now (settled and authorized payments)."""
    disputed_on: date | None
    treatment: str
    validation_notice_sent_on: date | None
    last_payment_at: datetime | None
    last_payment_agent_id: str | None

    @property
    def balance_cents(self) -> int:
        """What is left to collect on this debt."""
        return max(0, min(self.placed_balance_cents, self.past_due_cents))


def debt_state(conn: Connection, account_id: str, today: date) -> DebtState | None:
    row = conn.exec_driver_sql(
        "SELECT ca.id, ca.customer_id, c.display_name, c.first_name, ca.status, "
        "ca.placed_balance_cents, ca.disputed_on, ca.treatment, ca.validation_notice_sent_on "
        "FROM collection_accounts ca JOIN customers c ON c.id = ca.customer_id "
        "WHERE ca.id = ?", (account_id,)).first()
    if row is None:
        return None
    customer_id = str(row[1])
    entries = _ledger(conn, customer_id)
    # Money stamped on a later UTC day than the agent's is still in (a payment at 11 PM in
    # New York is posted tomorrow in UTC).
    as_of = max([today, *(e.posted_on for e in entries)])
    last = conn.exec_driver_sql(
        "SELECT received_at, agent_id FROM payments WHERE customer_id = ? AND entry = 'payment' "
        "AND status IN ('pending', 'settled', 'authorized') "
        "ORDER BY received_at DESC LIMIT 1", (customer_id,)).first()
    return DebtState(
        str(row[0]), customer_id, str(row[2] or ""), str(row[3] or ""), str(row[4]),
        int(row[5] or 0), billing.aging(entries, as_of).past_due, _date(row[6]),
        str(row[7] or "standard"), _date(row[8]),
        _stamp(last[0]) if last is not None else None,
        str(last[1]) if last is not None and last[1] is not None else None)


def _ledger(conn: Connection, customer_id: str) -> list[billing.LedgerEntry]:
    """The customer's whole ledger (one customer: a few hundred rows at most)."""
    entries: list[billing.LedgerEntry] = []
    kinds = {"payment": billing.EntryKind.PAYMENT, "void": billing.EntryKind.PAYMENT_VOID,
             "refund": billing.EntryKind.REFUND}
    for row_id, issued, due, total in conn.exec_driver_sql(
            "SELECT id, issued_on, due_on, total_cents FROM invoices WHERE customer_id = ?",
            (customer_id,)):
        on = _date(issued)
        if on is not None and int(total or 0) >= 0:
            entries.append(billing.LedgerEntry(str(row_id), billing.EntryKind.INVOICE, on,
                                               int(total or 0), due_on=_date(due)))
    for row_id, entry, amount, received in conn.exec_driver_sql(
            "SELECT id, entry, amount_cents, received_at FROM payments WHERE customer_id = ? "
            "AND status IN ('settled', 'authorized')", (customer_id,)):
        kind = kinds.get(str(entry), billing.EntryKind.PAYMENT)
        on = _date(received)
        if on is not None:
            entries.append(billing.LedgerEntry(str(row_id), kind, on,
                                               billing.signed_cents(kind, int(amount))))
    for row_id, direction, amount, posted in conn.exec_driver_sql(
            "SELECT id, direction, amount_cents, posted_on FROM adjustments "
            "WHERE customer_id = ? AND status = 'posted'", (customer_id,)):
        kind = (billing.EntryKind.CREDIT_ADJUSTMENT if direction == "credit"
                else billing.EntryKind.DEBIT_ADJUSTMENT)
        on = _date(posted)
        if on is not None:
            entries.append(billing.LedgerEntry(str(row_id), kind, on,
                                               billing.signed_cents(kind, int(amount))))
    return entries


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    kind: str
    value: str
    line_type: str
    consent_text: bool
    consent_email: bool


def contacts(conn: Connection, customer_id: str) -> list[ContactRow]:
    return [ContactRow(str(r[0]), str(r[1]), str(r[2]), str(r[3] or "unknown"), bool(r[4]),
                       bool(r[5]))
            for r in conn.exec_driver_sql(
                "SELECT id, kind, value, line_type, consent_text, consent_email "
                "FROM contact_points WHERE customer_id = ? "
                "ORDER BY is_primary DESC, created_at, id", (customer_id,))]


# --- the write: one recorded outcome ---------------------------------------------------------

def _at(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def apply_record_outcome(session: Session, args: dict[str, Any]) -> None:
    """Write the call attempt and what the outcome brings (promise, arrangement and its
    installments, dispute); once: a second apply changes nothing."""
    account = session.get(CollectionAccount, args["collection_account_id"])
    if account is None:
        raise UserFacingError("This debt is no longer in the local store; refresh the list.")
    at = _at(args["at"])
    agent_id = args.get("actor_id")
    # Each part is written once; a re-apply (the rebase under a pull) puts back only what
    # a pulled row overwrote (the account's dispute date).
    if session.get(ContactAttempt, args["id"]) is None:
        session.add(ContactAttempt(
            id=args["id"], customer_id=args["customer_id"], collection_account_id=account.id,
            at=at, channel=args.get("channel") or "call",
            destination=args.get("destination") or "", outcome=args["outcome"],
            connected=bool(args["connected"]), conversation=bool(args["conversation"]),
            agent_id=agent_id, interaction_id=args.get("interaction_id"),
            note=args.get("note") or "", callback_at=_at(args.get("callback_at")),
            created_at=at))
    promise = args.get("promise")
    if isinstance(promise, dict) and session.get(PromiseToPay, promise["id"]) is None:
        session.add(PromiseToPay(
            id=promise["id"], customer_id=args["customer_id"],
            collection_account_id=account.id, amount_cents=int(promise["amount_cents"]),
            promised_on=date.fromisoformat(promise["promised_on"]), status="open",
            agent_id=agent_id, interaction_id=args.get("interaction_id"),
            created_at=at, updated_at=at, version=1))
    arrangement = args.get("arrangement")
    if isinstance(arrangement, dict) and session.get(
            PaymentArrangement, arrangement["id"]) is None:
        session.add(PaymentArrangement(
            id=arrangement["id"], customer_id=args["customer_id"],
            collection_account_id=account.id, total_cents=int(arrangement["total_cents"]),
            status="active", agent_id=agent_id, created_at=at, updated_at=at, version=1))
        session.flush()
        for part in arrangement["installments"]:
            session.add(ArrangementInstallment(
                id=part["id"], arrangement_id=arrangement["id"],
                due_on=date.fromisoformat(part["due_on"]), amount_cents=int(part["amount_cents"]),
                status="scheduled", created_at=at, updated_at=at, version=1))
    dispute = args.get("dispute")
    if isinstance(dispute, dict):
        if account.disputed_on is None:
            account.disputed_on = date.fromisoformat(dispute["disputed_on"])
        if session.get(ContactRestriction, dispute["restriction_id"]) is None:
            session.add(ContactRestriction(
                id=dispute["restriction_id"], customer_id=args["customer_id"],
                kind="dispute_pending",
                detail={"collection_account_id": account.id, "reason": "disputed on a call"},
                active=True, effective_at=at, source="agent", created_at=at, updated_at=at,
                version=1))
    session.flush()


def discard_outcome(session: Session, args: dict[str, Any]) -> None:
    """The server refused the outcome: take back the rows only this desk wrote (the
    account itself comes back as the server has it, re-stamped)."""
    conn = session.connection()
    arrangement = args.get("arrangement")
    if isinstance(arrangement, dict):
        conn.exec_driver_sql("DELETE FROM arrangement_installments WHERE arrangement_id = ?",
                             (arrangement.get("id"),))
        conn.exec_driver_sql("DELETE FROM payment_arrangements WHERE id = ?",
                             (arrangement.get("id"),))
    promise = args.get("promise")
    if isinstance(promise, dict):
        conn.exec_driver_sql("DELETE FROM promises_to_pay WHERE id = ?", (promise.get("id"),))
    dispute = args.get("dispute")
    if isinstance(dispute, dict):
        conn.exec_driver_sql("DELETE FROM contact_restrictions WHERE id = ?",
                             (dispute.get("restriction_id"),))
    conn.exec_driver_sql("DELETE FROM contact_attempts WHERE id = ?", (args.get("id"),))


def apply_send_reminder(session: Session, args: dict[str, Any]) -> None:
    """The reminder's email and text (queued) and one attempt per channel; once."""
    at = _at(args["at"])
    for sent in args.get("sent", ()):
        if session.get(CustomerNotification, sent["notification_id"]) is None:
            session.add(CustomerNotification(
                id=sent["notification_id"], customer_id=args["customer_id"],
                channel=sent["channel"], destination=sent["destination"],
                template="collections_reminder", subject=sent.get("subject") or "",
                body=sent["body"], status="queued", related_type="collection",
                related_id=args["collection_account_id"], created_at=at, updated_at=at,
                version=1))
        if session.get(ContactAttempt, sent["attempt_id"]) is None:
            session.add(ContactAttempt(
                id=sent["attempt_id"], customer_id=args["customer_id"],
                collection_account_id=args["collection_account_id"], at=at,
                channel=sent["channel"], destination=sent["destination"], outcome="sent",
                connected=False, conversation=False, agent_id=args.get("actor_id"),
                note="Reminder with a self-service payment link.", created_at=at))
    session.flush()


def discard_reminder(session: Session, args: dict[str, Any]) -> None:
    conn = session.connection()
    for sent in args.get("sent", ()):
        conn.exec_driver_sql("DELETE FROM customer_notifications WHERE id = ?",
                             (sent.get("notification_id"),))
        conn.exec_driver_sql("DELETE FROM contact_attempts WHERE id = ?",
                             (sent.get("attempt_id"),))


LOCAL: dict[str, Any] = {
    "record_collection_outcome": apply_record_outcome,
    "send_collection_reminder": apply_send_reminder,
}
DISCARD: dict[str, Any] = {
    "record_collection_outcome": discard_outcome,
    "send_collection_reminder": discard_reminder,
}
