"""Customer mutations on the server: creating a customer, changing contact details, moving,
suspending, resuming and cancelling services.

The same rules as the desk (agent_desktop.domain.customers) run on the server's rows, so
a change forged past a desk, or made offline and no longer fitting (a service cancelled
meanwhile on another desk), is refused with the words the agent sees in "needs
attention". The rows written carry every column a desk stores, normalized names and
street included, so a customer created on one desk is found by Ctrl+K on every other.

A new customer's account number is the one the desk made from the customer's id; if
another desk's customer took it meanwhile, the server gives the next free serial made
from the same id and the desk pulls it back (account numbers stay unique).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.domain import customers as rules
from agent_desktop.domain.errors import UserFacingError
from server_stub import audit
from server_stub.mutations import Actor, MutationRejected, put_row, update_row
from server_stub.resources import catalog, resources_dir
from server_stub.store import SyncedRow, next_change_seq


@lru_cache(maxsize=1)
def _reasons() -> tuple[str, ...]:
    codes = json.loads((resources_dir() / "codes.json").read_text("utf-8"))
    return tuple(str(r["code"]) for r in codes["cancellation_reasons"])


def _regions() -> dict[str, tuple[str, ...]]:
    return {code: r.states for code, r in catalog().regions.items()}


def _rules(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None


def _get(session: Session, table: str, row_id: object) -> SyncedRow | None:
    return session.get(SyncedRow, (table, row_id)) if isinstance(row_id, str) else None


def _data(row: SyncedRow | None) -> dict[str, Any] | None:
    return dict(row.data) if row is not None else None


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _at(args: dict[str, Any], now: datetime) -> datetime:
    """When the agent made the change (their clock is checked on push), never later than
    the server's now."""
    at: datetime = _rules(rules.at_arg, args)
    return min(at, now)


def _write(session: Session, changes: Sequence[rules.RowChange], now: datetime) -> int:
    top = 0
    for change in changes:
        fields = {k: _json(v) for k, v in change.fields.items()}
        existing = _get(session, change.table, change.row_id)
        if change.insert:
            if existing is not None:
                raise MutationRejected(f"{change.table} row {change.row_id} already exists.")
            top = max(top, put_row(session, change.table, change.row_id, fields, now))
        else:
            if existing is None:
                raise MutationRejected(f"There is no {change.table} row {change.row_id} on "
                                       "the server.")
            top = max(top, update_row(session, existing, fields, now))
    return top


def _audit(session: Session, actor: Actor, now: datetime, action: str, customer_id: str,
           changes: Sequence[rules.RowChange], args: dict[str, Any], reason: str = "") -> None:
    for change in changes:
        audit.append(session, at=now, actor_id=actor.user_id, actor_role=actor.role,
                     action=action, entity_type=change.table, entity_id=change.row_id,
                     customer_id=customer_id, reason=reason,
                     after={k: _json(v) for k, v in change.fields.items()},
                     client_at=str(args.get("at", "")))


def _customer(session: Session, args: dict[str, Any]) -> SyncedRow:
    customer_id = _rules(rules.hex_arg, args, "customer_id", "The customer id")
    row = _get(session, "customers", customer_id)
    if row is None:
        raise MutationRejected(f"There is no customer {customer_id} on the server.")
    return row


def _rows_where(session: Session, table: str, **equal: str) -> list[dict[str, Any]]:
    query = select(SyncedRow.data).where(SyncedRow.table_name == table)
    for key, value in equal.items():
        query = query.where(SyncedRow.data[key].as_string() == value)
    return [dict(d) for d in session.scalars(query)]


# --- creating a customer -------------------------------------------------------------------

def _account_number(session: Session, customer_id: str, asked: object
                    ) -> tuple[str, list[SyncedRow]]:
    """The new customer's account number: the one the desk made, or, when a customer
    another desk created meanwhile holds it, the next free serial made from this id.
    Also returns the customers holding the desk's number (to re-stamp)."""
    if not isinstance(asked, str) or not rules.is_new_account_number(asked):
        raise MutationRejected(f"{asked} is not an account number a desk makes for a new "
                               "customer.")
    holders = _holders(session, asked)
    if not holders:
        return asked, []
    for attempt in range(1, 1000):
        number = rules.account_number_for(customer_id, attempt)
        if number != asked and not _holders(session, number):
            return number, holders
    raise MutationRejected("No free account number was found.")  # pragma: no cover


def _holders(session: Session, number: str) -> list[SyncedRow]:
    return list(session.scalars(select(SyncedRow).where(
        SyncedRow.table_name == "customers",
        SyncedRow.data["account_number"].as_string() == number)))


def _restamp_after(session: Session, customers: Sequence[SyncedRow]) -> int:
    """Give these customers (and their addresses and contact points, parents first) new
    change_seqs: a desk whose own new customer was renumbered applies the renumbering
    before the customer who holds its old number arrives, so its unique index holds."""
    top = 0
    for customer in customers:
        rows = [customer]
        for table in ("contact_points", "addresses"):
            rows.extend(session.scalars(select(SyncedRow).where(
                SyncedRow.table_name == table,
                SyncedRow.data["customer_id"].as_string() == customer.id)))
        for row in rows:
            row.change_seq = top = next_change_seq(session)
        session.flush()
    return top


def apply_create_customer(session: Session, actor: Actor, args: dict[str, Any],
                          now: datetime) -> int | None:
    ids = _rules(rules.NewIds.of, args)
    if _get(session, "customers", ids.customer_id) is not None:
        raise MutationRejected(f"Customer {ids.customer_id} already exists.")
    draft = _rules(rules.draft_from_args, args)
    check = rules.validate_customer(draft, _regions())
    if check.customer is None:
        raise MutationRejected(rules.first_problem(check))
    at = _at(args, now)
    number, holders = _account_number(session, ids.customer_id, args.get("account_number"))
    changes = _rules(rules.new_customer_rows, check.customer, ids, number, at)
    seq = max(_write(session, changes, now), _restamp_after(session, holders))
    _audit(session, actor, now, "customer.create", ids.customer_id, changes[:1], args)
    return seq


# --- contact details -----------------------------------------------------------------------

def apply_change_contact(session: Session, actor: Actor, args: dict[str, Any],
                         now: datetime) -> int | None:
    customer = _customer(session, args)
    at = _at(args, now)
    kind = args.get("kind")
    target: dict[str, Any] | None = None
    has_primary = False
    live = 0
    if kind in ("phone", "email"):
        target = _data(_get(session, "contact_points", args.get("contact_point_id")))
        if args.get("contact_point_id") is None:
            has_primary = any(bool(p.get("is_primary")) for p in _rows_where(
                session, "contact_points", customer_id=customer.id, kind=str(kind)))
    elif kind == "address":
        address_id = args.get("address_id")
        target = _data(_get(session, "addresses", address_id))
        if target is not None:
            live = sum(1 for s in _rows_where(session, "services", address_id=str(address_id))
                       if s.get("status") != "cancelled")
    changes = _rules(rules.plan_contact_change, args, target, has_primary=has_primary,
                     live_services=live, regions=_regions(), at=at)
    seq = _write(session, changes, now)
    _audit(session, actor, now, f"contact.{kind}", customer.id, changes, args)
    return seq


# --- services ------------------------------------------------------------------------------

def _service(session: Session, args: dict[str, Any]) -> dict[str, Any] | None:
    return _data(_get(session, "services", args.get("service_id")))


def apply_move_service(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    customer = _customer(session, args)
    at = _at(args, now)
    service = _service(session, args)
    old: dict[str, Any] | None = None
    others = 0
    if service is not None and service.get("address_id"):
        old = _data(_get(session, "addresses", service["address_id"]))
        others = sum(1 for s in _rows_where(session, "services",
                                            address_id=str(service["address_id"]))
                     if s.get("status") != "cancelled" and s.get("id") != service.get("id"))
    changes = _rules(rules.plan_move, args, service, old, others, catalog(), at)
    seq = _write(session, changes, now)
    _audit(session, actor, now, "service.move", customer.id, changes, args)
    return seq


def apply_suspend_service(session: Session, actor: Actor, args: dict[str, Any],
                          now: datetime) -> int | None:
    customer = _customer(session, args)
    changes = _rules(rules.plan_suspend, args, _service(session, args))
    seq = _write(session, changes, now)
    _audit(session, actor, now, "service.suspend", customer.id, changes, args,
           reason=str(args.get("reason_code", "")))
    return seq


def apply_resume_service(session: Session, actor: Actor, args: dict[str, Any],
                         now: datetime) -> int | None:
    customer = _customer(session, args)
    changes = _rules(rules.plan_resume, args, _service(session, args))
    seq = _write(session, changes, now)
    _audit(session, actor, now, "service.resume", customer.id, changes, args)
    return seq


def apply_cancel_service(session: Session, actor: Actor, args: dict[str, Any],
                         now: datetime) -> int | None:
    """A cancellation, refused unless the retention offer this service qualifies for was
    made and answered and the reason is a cancellation reason code."""
    customer = _customer(session, args)
    at = _at(args, now)
    try:
        since = date.fromisoformat(str(customer.data.get("customer_since")))
    except ValueError:
        since = date.min
    plan, changes = _rules(rules.plan_cancel, args, _service(session, args), since,
                           catalog(), _reasons(), actor.user_id, at)
    seq = _write(session, changes, now)
    action = "service.cancel" if plan.outcome == "cancelled" else "service.retained"
    _audit(session, actor, now, action, customer.id, changes, args,
           reason=f"{plan.reason_code}; offer {plan.offer.code} {plan.response}")
    return seq


CustomerApplier = Callable[[Session, Actor, dict[str, Any], datetime], int | None]

APPLIERS: dict[str, CustomerApplier] = {
    "create_customer": apply_create_customer,
    "change_contact": apply_change_contact,
    "move_service": apply_move_service,
    "suspend_service": apply_suspend_service,
    "resume_service": apply_resume_service,
    "cancel_service": apply_cancel_service,
}

# The rows each mutation changes in place, re-stamped when it is refused (mutations.TOUCHES).
TOUCHES: dict[str, tuple[tuple[str, str], ...]] = {
    "change_contact": (("contact_points", "contact_point_id"), ("addresses", "address_id")),
    "move_service": (("services", "service_id"), ("addresses", "address_id")),
    **dict.fromkeys(("suspend_service", "resume_service", "cancel_service"),
                    (("services", "service_id"),)),
}
