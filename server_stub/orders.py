"""Orders on the server: placing one (priced again with the desk's own quote engine), and
the life the stub gives it afterwards — submitted, approved, provisioning or shipped,
completed — one step every ``step`` (a setting), each step telling the customer, and a
follow-up 7-10 days after completion (shared/DOMAIN.md, "Catalog, orders").

A completed order's recurring lines become the customer's services, so the 360 shows
what was ordered. ``advance_due`` is called by the server's ticker (server_stub.app) and
directly by tests with their own clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from agent_desktop.domain import orders as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.quote import CartLine, QuoteContext, price_quote
from server_stub.mutations import Actor, MutationRejected, hex_id, optional_hex_id, put_row
from server_stub.mutations import client_at as _at
from server_stub.resources import catalog
from server_stub.store import OrderProgress, SyncedRow

DEFAULT_STEP = timedelta(minutes=2)  # between two steps of an order (a setting)
# Each step's notification gets an id made from the order's, so a re-applied step writes
# the same row again instead of a second email.
_NOTICE_SUFFIX = {status: i + 1 for i, status in enumerate(
    [*(s.value for s in rules.OrderStatus), "follow_up"])}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _get(session: Session, table: str, row_id: str) -> SyncedRow | None:
    return session.get(SyncedRow, (table, row_id))




def _notify(session: Session, order: dict[str, Any], status: str, now: datetime,
            send_after: datetime | None = None) -> int:
    """The customer's email (or text) for this step of the order; recorded as sent (the
    stub's stand-in for a mail gateway), or queued until ``send_after``."""
    customer = _get(session, "customers", str(order["customer_id"]))
    first = str((customer.data if customer else {}).get("first_name") or "")
    notice = rules.notice_for(status, str(order["order_number"]), first)
    notification_id = order["id"][:24] + f"{_NOTICE_SUFFIX[str(status)]:08x}"
    channel, destination = _destination(session, order)
    return put_row(session, "customer_notifications", notification_id, {
        "id": notification_id, "customer_id": order["customer_id"],
        "channel": channel, "destination": destination,
        "template": notice.template, "subject": notice.subject, "body": notice.body,
        "status": "queued" if send_after else "sent",
        "send_after": send_after.isoformat() if send_after else None,
        "sent_at": None if send_after else now.isoformat(),
        "related_type": "order", "related_id": order["id"],
        "created_at": now.isoformat(), "updated_at": now.isoformat(), "version": 1}, now)


def _destination(session: Session, order: dict[str, Any]) -> tuple[str, str]:
    """Where the order's updates go: the contact point the desk named when placing it
    (an email, or a mobile for texts)."""
    quote = order.get("quote") if isinstance(order.get("quote"), dict) else {}
    contact_id = quote.get("notify_contact_id") if isinstance(quote, dict) else None
    contact = _get(session, "contact_points", contact_id) if isinstance(contact_id, str) \
        else None
    if contact is None or contact.data.get("customer_id") != order["customer_id"]:
        return "email", ""
    kind = contact.data.get("kind")
    return ("email" if kind == "email" else "sms"), str(contact.data.get("value") or "")


def _region(session: Session, address_id: str | None) -> str | None:
    if address_id is None:
        return None
    address = _get(session, "addresses", address_id)
    region = catalog().region_of_state(str((address.data if address else {}).get("state", "")))
    return region.code if region else None


def apply_place_order(session: Session, actor: Actor, args: dict[str, Any],
                      now: datetime) -> int | None:
    """Take an order the desk captured: priced again here; refused with the reason when
    the price or availability changed since the desk quoted it."""
    order_id = hex_id(args, "id", "The order id")
    customer_id = hex_id(args, "customer_id", "The customer id")
    if _get(session, "customers", customer_id) is None:
        raise MutationRejected("The customer is not on the server (merged or removed?).")
    if _get(session, "orders", order_id) is not None:
        return None  # placed already: the same order again changes nothing
    lines = args.get("lines")
    if not isinstance(lines, list) or not 1 <= len(lines) <= 50:
        raise MutationRejected("An order has between 1 and 50 lines.")
    cart, line_ids = [], []
    replacing: list[str | None] = []
    for line in lines:
        if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
            raise MutationRejected("Each order line needs a sku.")
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise MutationRejected("A line's quantity is a whole number.")
        line_ids.append(hex_id(line, "id", "An order line id"))
        replaces = line.get("replaces")
        cart.append(CartLine(line["sku"], quantity, line.get("promotion_code"),
                             line.get("bundle_code"),
                             replaces if isinstance(replaces, str) else None))
        replaced_service = optional_hex_id(line, "replaces_service_id",
                                           "The replaced service's id")
        if replaced_service is not None:
            service = _get(session, "services", replaced_service)
            if service is None or service.data.get("customer_id") != customer_id \
                    or service.data.get("sku") != replaces:
                raise MutationRejected("The service the up-sell replaces is not this "
                                       "customer's.")
        replacing.append(replaced_service)
    address_id = optional_hex_id(args, "service_address_id", "The service address id")
    install_on = args.get("install_on")
    if install_on is not None and (not isinstance(install_on, str)
                                   or not _DATE.fullmatch(install_on)):
        raise MutationRejected("install_on must be a date (YYYY-MM-DD).")
    at = _at(args, now)
    customer = _get(session, "customers", customer_id)
    assert customer is not None
    ctx = QuoteContext(
        today=at.date(), region_code=_region(session, address_id),
        is_new_customer=bool(args.get("is_new_customer", False)),
        tenure_months=int(args.get("tenure_months") or 0),
        payment_method=args.get("payment_method_kind"), autopay=bool(args.get("autopay")),
        existing_skus=tuple(s for s in args.get("existing_skus") or () if isinstance(s, str)),
        existing_monthly_cents=int(args.get("existing_monthly_cents") or 0),
        existing_prices={str(k): int(v) for k, v in (args.get("existing_prices") or {}).items()
                         if isinstance(v, int) and not isinstance(v, bool)})
    quote = price_quote(catalog(), cart, ctx)
    if quote.problems:
        first = quote.problems[0]
        raise MutationRejected(f"{first.message} {first.suggestion}".strip())
    totals = args.get("totals") or {}
    if isinstance(totals, dict) and totals and (
            totals.get("one_time_cents") != quote.one_time_cents
            or totals.get("monthly_cents") != quote.monthly_cents):
        raise MutationRejected(
            "The price changed since the order was quoted (now "
            f"${quote.monthly_cents / 100:,.2f} a month and ${quote.one_time_cents / 100:,.2f} "
            "today): quote it again with the customer.")
    number = rules.order_number(order_id)
    order = {
        "id": order_id, "customer_id": customer_id, "order_number": number,
        "status": rules.OrderStatus.CAPTURED.value, "agent_id": actor.user_id,
        "interaction_id": optional_hex_id(args, "interaction_id", "The interaction id"),
        "service_address_id": address_id,
        "quote": {"lines": [_line_json(q) for q in quote.lines],
                  "valid_until": quote.valid_until.isoformat(), "line_ids": line_ids,
                  "notify_contact_id": optional_hex_id(args, "notify_contact_id",
                                                       "The contact point for updates")},
        "one_time_total_cents": quote.one_time_cents,
        "monthly_total_cents": quote.monthly_cents,
        "tax_cents": quote.one_time_tax_cents + quote.monthly_tax_cents,
        "currency": "USD", "placed_at": at.isoformat(), "install_on": install_on,
        "completed_at": None, "created_at": at.isoformat(), "updated_at": now.isoformat(),
        "version": 1,
    }
    top = put_row(session, "orders", order_id, order, now)
    products = [q for q in quote.lines if q.kind == "product"]
    for line_id, replaced, (cart_line, priced) in zip(line_ids, replacing,
                                                      _pair(cart, products), strict=True):
        top = max(top, put_row(session, "order_lines", line_id, {
            "id": line_id, "order_id": order_id, "sku": cart_line.sku,
            "description": priced.name if priced else cart_line.sku,
            "action": "change" if cart_line.replaces else "add",
            "replaces_service_id": replaced,  # the server's own: desks ignore the field
            "quantity": cart_line.quantity,
            "unit_price_cents": priced.unit_cents if priced else 0,
            "discount_cents": priced.discount_cents if priced else 0,
            "promotion_code": priced.promotion_code if priced else None,
            "recurring": bool(priced.recurring) if priced else False, "service_id": None,
            "created_at": at.isoformat()}, now))
    top = max(top, _notify(session, order, rules.OrderStatus.CAPTURED, now))
    session.merge(OrderProgress(order_id=order_id, due_at=now + _step(session),
                                step="advance"))
    return top


def _pair(cart: list[CartLine], priced: list[Any]) -> list[tuple[CartLine, Any]]:
    """Each cart line with its priced product line (matched by sku, in order)."""
    left = list(priced)
    pairs = []
    for line in cart:
        match = next((p for p in left if p.sku == line.sku), None)
        if match is not None:
            left.remove(match)
        pairs.append((line, match))
    return pairs


def _line_json(line: Any) -> dict[str, Any]:
    return {"kind": line.kind, "sku": line.sku, "name": line.name,
            "quantity": line.quantity, "recurring": line.recurring,
            "net_cents": line.net_cents, "discount_cents": line.discount_cents,
            "promotion_code": line.promotion_code, "why": line.why}


def _step(session: Session) -> timedelta:
    step = session.info.get("order_step")
    return step if isinstance(step, timedelta) else DEFAULT_STEP


def apply_cancel_order(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    order_id = hex_id(args, "order_id", "The order id")
    row = _get(session, "orders", order_id)
    if row is None:
        raise MutationRejected(f"There is no order {order_id} on the server.")
    if row.data.get("status") == rules.OrderStatus.CANCELLED:
        return None
    try:
        rules.check_cancel(str(row.data.get("status")))
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None
    reason = args.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise MutationRejected("Say why the order is cancelled.")
    data = {**row.data, "status": rules.OrderStatus.CANCELLED.value,
            "updated_at": now.isoformat(), "version": int(row.data.get("version") or 0) + 1}
    top = put_row(session, "orders", order_id, data, now)
    session.execute(delete(OrderProgress).where(OrderProgress.order_id == order_id))
    return max(top, _notify(session, data, rules.OrderStatus.CANCELLED, now))


_OPEN = ("captured", "submitted", "approved", "provisioning", "shipped")


def schedule_open(session: Session, now: datetime, step: timedelta = DEFAULT_STEP) -> int:
    """Give the back office the open orders of a seeded customer base, spread over the
    next few steps so they do not all move at once; returns how many."""
    rows = session.execute(select(SyncedRow.id, SyncedRow.data["status"].as_string()).where(
        SyncedRow.table_name == "orders")).all()
    count = 0
    for order_id, status in rows:
        if status in _OPEN and session.get(OrderProgress, order_id) is None:
            spread = step * (1 + int(order_id[-4:], 16) % 8)
            session.add(OrderProgress(order_id=order_id, due_at=now + spread, step="advance"))
            count += 1
    session.flush()
    return count


def advance_due(session: Session, now: datetime, limit: int = 200) -> int | None:
    """Move every order whose time has come one step on (and send due follow-ups);
    returns the highest change_seq written, or None when nothing was due."""
    # SKIP LOCKED: on PostgreSQL several server processes tick; each takes other orders.
    due = session.scalars(select(OrderProgress).where(OrderProgress.due_at <= now)
                          .order_by(OrderProgress.due_at).limit(limit)
                          .with_for_update(skip_locked=True)).all()
    top: int | None = None
    for progress in due:
        row = _get(session, "orders", progress.order_id)
        if row is None:
            session.delete(progress)
            continue
        seq = (_follow_up(session, row, progress, now) if progress.step == "follow_up"
               else _advance(session, row, progress, now))
        if seq is not None:
            top = seq if top is None else max(top, seq)
    session.flush()
    return top


def _advance(session: Session, row: SyncedRow, progress: OrderProgress,
             now: datetime) -> int | None:
    order = dict(row.data)
    lines = _lines(session, order)
    has_services = any(line.get("recurring") for line in lines)
    has_devices = any(not line.get("recurring") for line in lines)
    following = rules.next_status(str(order["status"]), has_services=has_services,
                                  has_devices=has_devices)
    if following is None:
        session.delete(progress)
        return None
    order.update(status=following.value, updated_at=now.isoformat(),
                 version=int(order.get("version") or 0) + 1)
    top = 0
    if following == rules.OrderStatus.COMPLETED:
        order["completed_at"] = now.isoformat()
        top = _start_services(session, order, lines, now)
        progress.step = "follow_up"
        progress.due_at = rules.follow_up_at(row.id, now)
        top = max(top, _notify(session, order, "follow_up", now, send_after=progress.due_at))
    else:
        progress.due_at = now + _step(session)
    top = max(top, put_row(session, "orders", row.id, order, now))
    return max(top, _notify(session, order, following, now))


def _lines(session: Session, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's lines: by the ids its quote keeps (orders the stub took), else by a
    search (orders from before, e.g. seeded)."""
    quote = order.get("quote") if isinstance(order.get("quote"), dict) else {}
    ids = quote.get("line_ids") if isinstance(quote, dict) else None
    if isinstance(ids, list):
        found = (_get(session, "order_lines", str(i)) for i in ids)
        return [dict(row.data) for row in found if row is not None]
    return [dict(data) for data in session.scalars(
        select(SyncedRow.data).where(SyncedRow.table_name == "order_lines",
                                     SyncedRow.data["order_id"].as_string() == order["id"]))]


def _start_services(session: Session, order: dict[str, Any], lines: list[dict[str, Any]],
                    now: datetime) -> int:
    """The recurring lines of a completed order become the customer's services."""
    top = 0
    started = date.fromisoformat(str(order.get("install_on") or now.date().isoformat()))
    for line in lines:
        if not line.get("recurring"):
            continue
        replaced = line.get("replaces_service_id")
        old = _get(session, "services", replaced) if isinstance(replaced, str) else None
        if old is not None and old.data.get("status") in ("active", "suspended"):
            top = max(top, put_row(session, "services", old.id, {
                **old.data, "status": "cancelled", "ended_on": now.date().isoformat(),
                "updated_at": now.isoformat(),
                "version": int(old.data.get("version") or 0) + 1}, now))
        service_id = str(line["id"])[:24] + "5e7a1ce0"
        top = max(top, put_row(session, "services", service_id, {
            "id": service_id, "customer_id": order["customer_id"],
            "address_id": order.get("service_address_id"), "sku": line["sku"],
            "status": "active", "quantity": int(line.get("quantity") or 1),
            "price_cents": int(line.get("unit_price_cents") or 0),
            "started_on": min(started, now.date()).isoformat(), "ended_on": None,
            "bundle_code": None, "promotion_code": line.get("promotion_code"),
            "promotion_ends_on": None, "created_at": now.isoformat(),
            "updated_at": now.isoformat(), "version": 1}, now))
    return top


def _follow_up(session: Session, row: SyncedRow, progress: OrderProgress,
               now: datetime) -> int:
    """The follow-up queued at completion goes out now."""
    session.delete(progress)
    notification_id = row.id[:24] + f"{_NOTICE_SUFFIX['follow_up']:08x}"
    queued = _get(session, "customer_notifications", notification_id)
    if queued is None:
        return _notify(session, dict(row.data), "follow_up", now)
    return put_row(session, "customer_notifications", notification_id, {
        **queued.data, "status": "sent", "sent_at": now.isoformat(),
        "updated_at": now.isoformat(), "version": int(queued.data.get("version") or 0) + 1},
        now)


APPLIERS = {"place_order": apply_place_order, "cancel_order": apply_cancel_order}
