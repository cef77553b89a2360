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

No schema is added. The balance past due is the balance placed in collections; the
oldest unpaid amount fell due ``PLACED_AFTER_DAYS`` before the account was opened (a
debt is placed once 31 days past due).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

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


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    connected: bool
    conversation: bool


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


def open_accounts(store: Store, today: date) -> list[OpenAccount]:
    """Every open collection account with what orders the worklist."""
    with store.engine.connect() as conn:
        rows = list(conn.exec_driver_sql(
            "SELECT ca.id, ca.customer_id, c.display_name, c.account_number, ca.opened_on, "
            "ca.placed_balance_cents, c.risk_score, ca.disputed_on "
            "FROM collection_accounts ca JOIN customers c ON c.id = ca.customer_id "
            "WHERE ca.status = 'open'"))
        customers = sorted({str(r[1]) for r in rows})
        value = _customer_value(conn, customers, today)
        placed = _placements(conn, customers)
    out: list[OpenAccount] = []
    for (account_id, customer_id, name, number, opened, balance, risk, disputed) in rows:
        opened_on = _date(opened) or today
        year_before = opened_on - timedelta(days=VALUE_DAYS)
        before = sum(1 for (other, on) in placed.get(str(customer_id), ())
                     if other != account_id and year_before <= on < opened_on)
        out.append(OpenAccount(
            str(account_id), str(customer_id), str(name or ""), str(number or ""), opened_on,
            int(balance or 0), int(risk or 0), value.get(str(customer_id), 0), before,
            _date(disputed)))
    return out


def _customer_value(conn: Connection, customers: Sequence[str], today: date) -> dict[str, int]:
    since = (today - timedelta(days=VALUE_DAYS)).isoformat()
    value: dict[str, int] = {}
    for marks, part in _chunks(customers):
        for customer_id, total in conn.exec_driver_sql(
                f"SELECT customer_id, SUM(total_cents) FROM invoices "
                f"WHERE customer_id IN ({marks}) AND issued_on >= ? GROUP BY customer_id",
                (*part, since)):
            value[str(customer_id)] = int(total or 0)
    return value


def _placements(conn: Connection, customers: Sequence[str]) -> dict[str, list[tuple[str, date]]]:
    placed: dict[str, list[tuple[str, date]]] = {}
    for marks, part in _chunks(customers):
        for account_id, customer_id, opened in conn.exec_driver_sql(
                f"SELECT id, customer_id, opened_on FROM collection_accounts "
                f"WHERE customer_id IN ({marks})", tuple(part)):
            on = _date(opened)
            if on is not None:
                placed.setdefault(str(customer_id), []).append((str(account_id), on))
    return placed


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
            for customer_id, value, label, line_type, primary, autodial in conn.exec_driver_sql(
                    f"SELECT customer_id, value, label, line_type, is_primary, "
                    f"consent_autodial FROM contact_points "
                    f"WHERE customer_id IN ({marks}) AND kind = 'phone' "
                    f"ORDER BY is_primary DESC, created_at, id", tuple(part)):
                phones.setdefault(str(customer_id), []).append(Phone(
                    str(value), str(label or ""), str(line_type or "unknown"), bool(primary),
                    bool(autodial)))
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
            for account_id, at, connected, conversation in conn.exec_driver_sql(
                    f"SELECT collection_account_id, at, connected, conversation "
                    f"FROM contact_attempts WHERE collection_account_id IN ({marks}) "
                    f"AND channel = 'call' AND at <= ? ORDER BY at", (*part, stamp)):
                out[str(account_id)].attempts.append(
                    Attempt(_stamp(at), bool(connected), bool(conversation)))
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
