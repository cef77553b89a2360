"""Customers in the store: creating one, changing contact details, moving, suspending,
resuming and cancelling services, and the reads behind them (duplicates, the account's
services and contact points for the maintenance dialog).

Each ``apply_*`` function is the one place its change is written on the desk: when the
agent makes it (services.customers, in the same transaction as its audit row and outbox
mutation) and again when a pull is rebased under a change the server has not answered
yet (sync_store.REAPPLY). The rows come from domain.customers, the same plans the server
writes, so both sides hold the same columns (normalized names and street, time zone,
region) and the lookup finds a new customer on every desk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_desktop.domain import customers as rules
from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.storage.models import (
    Address,
    ContactPoint,
    Customer,
    OfferShown,
    Service,
)
from agent_desktop.storage.reference import read_catalog, read_codes, resources_dir

log = logging.getLogger(__name__)

_MODELS: dict[str, type[Any]] = {
    "customers": Customer, "contact_points": ContactPoint, "addresses": Address,
    "services": Service, "offers_shown": OfferShown,
}


# --- reference data ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return Catalog.from_dict(read_catalog(resources_dir()))


def region_states(cat: Catalog | None = None) -> dict[str, tuple[str, ...]]:
    """Region code -> the states it serves."""
    return {code: r.states for code, r in (cat or catalog()).regions.items()}


@lru_cache(maxsize=1)
def cancellation_reasons() -> tuple[tuple[str, str], ...]:
    """(code, label) of every cancellation reason in codes.json."""
    return tuple((str(r["code"]), str(r["label"]))
                 for r in read_codes(resources_dir())["cancellation_reasons"])


# --- writing rows --------------------------------------------------------------------------

def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _data(row: Any) -> dict[str, Any] | None:
    """An ORM row as the dict of its columns (what the domain's plans read)."""
    if row is None:
        return None
    return {c.name: getattr(row, c.key) for c in row.__table__.columns}


@dataclass(frozen=True, slots=True)
class Written:
    table: str
    row_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    inserted: bool


def write_rows(session: Session, changes: Iterable[rules.RowChange], at: datetime
               ) -> list[Written]:
    """Insert or update the rows of a plan; returns what each held before and after.
    An insert of a row already here (a change re-applied) updates it instead."""
    done: list[Written] = []
    for change in changes:
        model = _MODELS[change.table]
        row = session.get(model, change.row_id)
        fields = dict(change.fields)
        if change.insert and row is None:
            session.add(model(**fields))
            session.flush()
            done.append(Written(change.table, change.row_id, {},
                                {k: _plain(v) for k, v in fields.items()}, True))
            continue
        if row is None:
            raise UserFacingError("That record is no longer in the local store; reopen the "
                                  "customer and try again.")
        if change.insert:
            fields = {k: v for k, v in fields.items() if k not in ("id", "created_at")}
        before = {k: _plain(getattr(row, k)) for k in fields}
        for key, value in fields.items():
            setattr(row, key, value)
        row.updated_at = at
        row.version = (row.version or 0) + 1
        done.append(Written(change.table, change.row_id, before,
                            {k: _plain(v) for k, v in fields.items()}, False))
    session.flush()
    return done


def refresh_name_tokens(conn: Connection, tokens: Iterable[str]) -> None:
    """Recount these names in the lookup's vocabulary (name_tokens), as a pull does."""
    for token in {t for t in tokens if t}:
        conn.exec_driver_sql(
            "INSERT INTO name_tokens (token, customers) VALUES (?, "
            "(SELECT COUNT(*) FROM customers WHERE first_norm = ?) + "
            "(SELECT COUNT(*) FROM customers WHERE last_norm = ?)) "
            "ON CONFLICT(token) DO UPDATE SET customers = excluded.customers",
            (token, token, token))


# --- creating a customer -------------------------------------------------------------------

def free_account_number(conn: Connection, customer_id: str) -> str:
    """The account number for a new customer: made from its id, the next serial when
    that one is taken here (rules.account_number_for)."""
    for attempt in range(1000):
        number = rules.account_number_for(customer_id, attempt)
        if conn.exec_driver_sql("SELECT 1 FROM customers WHERE account_number = ?",
                                (number,)).first() is None:
            return number
    raise UserFacingError("No free account number was found; try again.")  # pragma: no cover


def apply_create_customer(session: Session, args: dict[str, Any]) -> list[Written]:
    ids = rules.NewIds.of(args)
    if session.get(Customer, ids.customer_id) is not None:
        return []  # re-applied
    check = rules.validate_customer(rules.draft_from_args(args), region_states())
    if check.customer is None:
        raise UserFacingError(rules.first_problem(check))
    number = args.get("account_number")
    if not isinstance(number, str):
        raise UserFacingError("The new customer has no account number.")
    conn = session.connection()
    if conn.exec_driver_sql("SELECT 1 FROM customers WHERE account_number = ?",
                            (number,)).first() is not None:
        raise UserFacingError(f"Account number {number} is taken on this desk.")
    at = rules.at_arg(args)
    written = write_rows(session, rules.new_customer_rows(check.customer, ids, number, at), at)
    refresh_name_tokens(conn, (check.customer.first_norm, check.customer.last_norm))
    return written


def discard_created(session: Session, args: dict[str, Any]) -> None:
    """The server refused a new customer: its rows go (kept, with a log line, if
    something written here since depends on it)."""
    customer_id = args.get("id")
    if not isinstance(customer_id, str):
        return
    conn = session.connection()
    names = conn.exec_driver_sql("SELECT first_norm, last_norm FROM customers WHERE id = ?",
                                 (customer_id,)).first()
    try:
        with session.begin_nested():
            for table in ("contact_points", "addresses"):
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE customer_id = ?",
                                     (customer_id,))
            conn.exec_driver_sql("DELETE FROM customers WHERE id = ?", (customer_id,))
    except IntegrityError as exc:
        log.warning("refused customer %s kept: rows depend on it (%s)", customer_id, exc.orig)
        return
    if names is not None:
        refresh_name_tokens(conn, (str(names[0]), str(names[1])))


# --- duplicates ----------------------------------------------------------------------------

def duplicate_candidates(conn: Connection, new: rules.NewCustomer, limit: int = 25
                         ) -> list[rules.Candidate]:
    """Existing customers sharing the phone number, the email, the street (and ZIP), or
    the last name at the same ZIP: indexed lookups only (contact_points.value,
    addresses.line1_norm, customers (last_norm, first_norm)); the domain decides which
    are duplicates."""
    ids: list[str] = []

    def add(rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            if str(row[0]) not in ids:
                ids.append(str(row[0]))

    add(conn.exec_driver_sql(
        "SELECT customer_id FROM contact_points WHERE value = ? AND kind = 'phone' LIMIT ?",
        (new.phone, limit)))
    if new.email:
        add(conn.exec_driver_sql(
            "SELECT customer_id FROM contact_points WHERE value = ? AND kind = 'email' "
            "LIMIT ?", (new.email, limit)))
    for address in (new.service, new.billing):
        if address is None:
            continue
        add(conn.exec_driver_sql(
            "SELECT customer_id FROM addresses WHERE line1_norm = ? "
            "AND substr(postal_code, 1, 5) = ? LIMIT ?",
            (address.line1_norm, address.zip5, limit)))
        if new.last_norm:
            add(conn.exec_driver_sql(
                "SELECT c.id FROM customers c JOIN addresses a ON a.customer_id = c.id "
                "WHERE c.last_norm = ? AND substr(a.postal_code, 1, 5) = ? LIMIT ?",
                (new.last_norm, address.zip5, limit)))
    return [c for c in (_candidate(conn, cid) for cid in ids[: limit * 3]) if c is not None]


def _candidate(conn: Connection, customer_id: str) -> rules.Candidate | None:
    row = conn.exec_driver_sql(
        "SELECT id, display_name, account_number, kind, first_norm, last_norm, "
        "business_name, status FROM customers WHERE id = ?", (customer_id,)).first()
    if row is None:
        return None
    points = conn.exec_driver_sql(
        "SELECT kind, value, label FROM contact_points WHERE customer_id = ?",
        (customer_id,)).fetchall()
    streets = conn.exec_driver_sql(
        "SELECT line1_norm, substr(postal_code, 1, 5) FROM addresses WHERE customer_id = ?",
        (customer_id,)).fetchall()
    return rules.Candidate(
        customer_id=str(row[0]), display_name=str(row[1]), account_number=str(row[2]),
        kind=str(row[3]), first_norm=str(row[4] or ""), last_norm=str(row[5] or ""),
        business_name=str(row[6] or ""), status=str(row[7]),
        phones=tuple((str(v), str(lb)) for k, v, lb in points if k == "phone"),
        emails=tuple(str(v) for k, v, _lb in points if k == "email"),
        streets=tuple((str(s), str(z)) for s, z in streets))


# --- contact details -----------------------------------------------------------------------

def apply_change_contact(session: Session, args: dict[str, Any]) -> list[Written]:
    at = rules.at_arg(args)
    kind = args.get("kind")
    customer_id = rules.hex_arg(args, "customer_id", "The customer id")
    target: dict[str, Any] | None = None
    has_primary = False
    live = 0
    conn = session.connection()
    if kind in ("phone", "email"):
        point = args.get("contact_point_id")
        if isinstance(point, str):
            target = _data(session.get(ContactPoint, point))
        has_primary = conn.exec_driver_sql(
            "SELECT 1 FROM contact_points WHERE customer_id = ? AND kind = ? "
            "AND is_primary = 1", (customer_id, kind)).first() is not None
    elif kind == "address":
        address_id = args.get("address_id")
        if isinstance(address_id, str):
            target = _data(session.get(Address, address_id))
            live = _live_services_at(conn, address_id)
    changes = rules.plan_contact_change(args, target, has_primary=has_primary,
                                        live_services=live, regions=region_states(), at=at)
    return write_rows(session, changes, at)


def _live_services_at(conn: Connection, address_id: str, besides: str = "") -> int:
    return int(conn.exec_driver_sql(
        "SELECT COUNT(*) FROM services WHERE address_id = ? AND status <> 'cancelled' "
        "AND id <> ?", (address_id, besides)).scalar() or 0)


# --- services ------------------------------------------------------------------------------

def _service(session: Session, args: dict[str, Any]) -> dict[str, Any] | None:
    service_id = args.get("service_id")
    return _data(session.get(Service, service_id)) if isinstance(service_id, str) else None


def apply_move_service(session: Session, args: dict[str, Any]) -> list[Written]:
    at = rules.at_arg(args)
    service = _service(session, args)
    old = others = None
    if service is not None and service.get("address_id"):
        old = _data(session.get(Address, service["address_id"]))
        others = _live_services_at(session.connection(), str(service["address_id"]),
                                   besides=str(service["id"]))
    changes = rules.plan_move(args, service, old, others or 0, catalog(), at)
    return write_rows(session, changes, at)


def discard_move(session: Session, args: dict[str, Any]) -> None:
    """The server refused a move to a new service address: the service goes back to its
    old address (the server's copy comes with the next pull) and the new address goes."""
    new_id, service_id = args.get("new_address_id"), args.get("service_id")
    if args.get("mode") != "service" or not isinstance(new_id, str):
        return
    conn = session.connection()
    conn.exec_driver_sql("UPDATE services SET address_id = ? WHERE id = ? AND address_id = ?",
                         (args.get("address_id"), service_id, new_id))
    try:
        with session.begin_nested():
            conn.exec_driver_sql("DELETE FROM addresses WHERE id = ?", (new_id,))
    except IntegrityError as exc:
        log.warning("refused move: address %s kept (%s)", new_id, exc.orig)


def apply_suspend_service(session: Session, args: dict[str, Any]) -> list[Written]:
    at = rules.at_arg(args)
    return write_rows(session, rules.plan_suspend(args, _service(session, args)), at)


def apply_resume_service(session: Session, args: dict[str, Any]) -> list[Written]:
    at = rules.at_arg(args)
    return write_rows(session, rules.plan_resume(args, _service(session, args)), at)


def apply_cancel_service(session: Session, args: dict[str, Any]) -> list[Written]:
    at = rules.at_arg(args)
    service = _service(session, args)
    since = date.min
    if service is not None:
        customer = session.get(Customer, service["customer_id"])
        since = customer.customer_since if customer is not None else since
    agent = args.get("agent_id")
    _plan, changes = rules.plan_cancel(
        args, service, since, catalog(), [code for code, _ in cancellation_reasons()],
        agent if isinstance(agent, str) else None, at)
    return write_rows(session, changes, at)


# Every customer mutation's local effect (sync_store.REAPPLY re-applies them on a pull).
LOCAL: dict[str, Callable[[Session, dict[str, Any]], object]] = {
    "create_customer": apply_create_customer,
    "change_contact": apply_change_contact,
    "move_service": apply_move_service,
    "suspend_service": apply_suspend_service,
    "resume_service": apply_resume_service,
    "cancel_service": apply_cancel_service,
}

# The rows a refused change inserted on this desk alone, by the args that name them
# (sync_store._WROTE); rows it changed in place come back as the server has them.
WROTE: dict[str, tuple[tuple[str, str], ...]] = {
    "change_contact": (("contact_points", "new_contact_id"), ("addresses", "new_address_id")),
    "cancel_service": (("offers_shown", "offer_id"),),
}

# Refused changes whose rows others point at (foreign keys): taken back in order.
DISCARD: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "create_customer": discard_created,
    "move_service": discard_move,
}


# --- what the maintenance dialog reads -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class AddressFacts:
    id: str
    kind: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    time_zone: str
    live_services: int

    def one_line(self) -> str:
        street = f"{self.line1}, {self.line2}" if self.line2 else self.line1
        return f"{street}, {self.city}, {self.state} {self.postal_code}"


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    id: str
    sku: str
    name: str
    status: str
    address_id: str | None
    address: str  # one line, "" when none
    promotion_code: str
    others_at_address: int  # other live services at the same address

    def as_data(self, customer_id: str) -> dict[str, Any]:
        return {"id": self.id, "customer_id": customer_id, "sku": self.sku,
                "status": self.status, "address_id": self.address_id,
                "promotion_code": self.promotion_code}


@dataclass(frozen=True, slots=True)
class ContactFacts:
    id: str
    kind: str
    value: str
    label: str
    is_primary: bool


@dataclass(frozen=True, slots=True)
class AccountFacts:
    customer_id: str
    display_name: str
    status: str
    customer_since: date
    services: tuple[ServiceFacts, ...]
    contacts: tuple[ContactFacts, ...]
    addresses: tuple[AddressFacts, ...]


def account_facts(conn: Connection, customer_id: str) -> AccountFacts:
    row = conn.exec_driver_sql(
        "SELECT display_name, status, customer_since FROM customers WHERE id = ?",
        (customer_id,)).first()
    if row is None:
        raise UserFacingError("This customer is not in the local store; search again.")
    addresses = tuple(
        AddressFacts(str(a[0]), str(a[1]), str(a[2]), str(a[3] or ""), str(a[4]), str(a[5]),
                     str(a[6]), str(a[7]), int(a[8]))
        for a in conn.exec_driver_sql(
            "SELECT a.id, a.kind, a.line1, a.line2, a.city, a.state, a.postal_code, "
            "a.time_zone, (SELECT COUNT(*) FROM services s WHERE s.address_id = a.id "
            "AND s.status <> 'cancelled') FROM addresses a WHERE a.customer_id = ? "
            "ORDER BY a.kind DESC, a.created_at", (customer_id,)))
    by_id = {a.id: a for a in addresses}
    services: list[ServiceFacts] = []
    for s in conn.exec_driver_sql(
            "SELECT s.id, s.sku, coalesce(p.name, s.sku), s.status, s.address_id, "
            "coalesce(s.promotion_code, '') FROM services s LEFT JOIN products p "
            "ON p.sku = s.sku WHERE s.customer_id = ? "
            "ORDER BY s.status = 'cancelled', s.started_on, s.id", (customer_id,)):
        address = by_id.get(str(s[4])) if s[4] else None
        live_here = address.live_services if address is not None else 0
        mine = 1 if str(s[3]) != "cancelled" else 0
        services.append(ServiceFacts(
            str(s[0]), str(s[1]), str(s[2]), str(s[3]), str(s[4]) if s[4] else None,
            address.one_line() if address is not None else "", str(s[5]),
            max(0, live_here - mine)))
    contacts = tuple(
        ContactFacts(str(c[0]), str(c[1]), str(c[2]), str(c[3]), bool(c[4]))
        for c in conn.exec_driver_sql(
            "SELECT id, kind, value, label, is_primary FROM contact_points "
            "WHERE customer_id = ? ORDER BY kind DESC, is_primary DESC, value",
            (customer_id,)))
    since = row[2]
    return AccountFacts(customer_id, str(row[0]), str(row[1]),
                        since if isinstance(since, date) else date.fromisoformat(str(since)),
                        tuple(services), contacts, addresses)
