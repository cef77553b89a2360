"""Money on the server: payments through the gateway stub, voids, refunds, payment methods,
adjustments and their approvals (shared/DOMAIN.md, "Money", "Card and bank payments",
"Adjustments, disputes, approvals").

The payment's id, made on the desk before anything is sent, is the gateway's idempotency
key: a retried push, a replayed mutation or a desk that crashed and pushed again reaches
the gateway with the same key and gets the first answer back, so a customer is charged
once. The same id with different fields is refused. Every action here, and every refusal
of one, appends a row to the hash-chained audit log (server_stub.audit).

The gateway is an external system: it is handed to the session as ``session.info
["gateway"]`` (server_stub.service.Sync) and commits in its own database, so a rolled-back
push that is retried finds the gateway's record of the charge it already made.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.domain import payments as rules
from agent_desktop.domain.errors import UserFacingError
from server_stub import audit
from server_stub.mutations import Actor, MutationRejected, hex_id, optional_hex_id, put_row
from server_stub.mutations import client_at as _at
from server_stub.store import SyncedRow

_LAST4 = re.compile(r"\d{4}")
_TOKEN = re.compile(r"[A-Za-z0-9_]{6,64}")
_CHECK_NUMBER = re.compile(r"\d{1,10}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Charge(Protocol):
    charge_id: str
    status: str
    decline_code: str
    confirmation: str


class _GatewayError(Protocol):
    code: str


def _gateway(session: Session) -> Any:
    gateway = session.info.get("gateway")
    if gateway is None:
        raise MutationRejected("This server has no payment gateway: payments cannot be "
                               "taken here.")
    return gateway


def _get(session: Session, table: str, row_id: str) -> SyncedRow | None:
    return session.get(SyncedRow, (table, row_id))




def _cents(args: dict[str, Any], key: str = "amount_cents") -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MutationRejected(f"{key} must be a whole number of cents.")
    if not 0 < value <= rules.MAX_PAYMENT_CENTS:
        raise MutationRejected(f"{key} must be between 1 and {rules.MAX_PAYMENT_CENTS:,}.")
    return value


def _text(args: dict[str, Any], key: str, limit: int) -> str:
    value = args.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MutationRejected(f"{key} must be text.")
    if len(value) > limit:
        raise MutationRejected(f"{key} is {len(value)} characters; at most {limit}.")
    return value


def _customer(session: Session, args: dict[str, Any]) -> SyncedRow:
    customer_id = hex_id(args, "customer_id", "The customer id")
    row = _get(session, "customers", customer_id)
    if row is None:
        raise MutationRejected(f"There is no customer {customer_id} on the server.")
    return row


def _agent_limits(session: Session, actor: Actor) -> dict[str, Any]:
    row = _get(session, "agents", actor.user_id)
    return dict(row.data) if row is not None else {}


def _stamp(data: dict[str, Any], now: datetime, version: int = 1) -> dict[str, Any]:
    return {**data, "created_at": data.get("created_at") or now.isoformat(),
            "updated_at": now.isoformat(), "version": version}


def _audit(session: Session, actor: Actor, now: datetime, action: str, entity_type: str,
           entity_id: str, customer_id: str | None, *, result: str = "ok",
           reason: str = "", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, approver_id: str | None = None,
           client_at: str = "") -> None:
    audit.append(session, at=now, actor_id=actor.user_id, actor_role=actor.role,
                 action=action, entity_type=entity_type, entity_id=entity_id,
                 customer_id=customer_id, result=result, reason=reason, before=before,
                 after=after, approver_id=approver_id, client_at=client_at)


# --- payment methods ----------------------------------------------------------------------

def _new_method(args: dict[str, Any], customer_id: str, now: datetime) -> dict[str, Any]:
    """A method the desk tokenized at the gateway: token and what is safe to show."""
    spec = args.get("new_method")
    if not isinstance(spec, dict):
        raise MutationRejected("new_method must be an object.")
    method_id = hex_id(spec, "id", "The payment method id")
    kind = spec.get("kind")
    if kind not in ("card", "ach"):
        raise MutationRejected("A payment method is a card or a bank account (ach).")
    token = spec.get("token")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise MutationRejected("The payment method needs the gateway's token.")
    last4 = spec.get("last4")
    if not isinstance(last4, str) or not _LAST4.fullmatch(last4):
        raise MutationRejected("last4 must be the last four digits.")
    exp_month, exp_year = spec.get("exp_month"), spec.get("exp_year")
    if kind == "card" and not (isinstance(exp_month, int) and 1 <= exp_month <= 12
                               and isinstance(exp_year, int) and 2000 <= exp_year <= 2100):
        raise MutationRejected("A card needs its expiry month (1-12) and year.")
    return {
        "id": method_id, "customer_id": customer_id, "kind": kind, "token": token,
        "brand": _text(spec, "brand", 16), "last4": last4,
        "exp_month": exp_month if kind == "card" else None,
        "exp_year": exp_year if kind == "card" else None,
        "holder_name": _text(spec, "holder_name", 120),
        "bank_name": _text(spec, "bank_name", 80),
        "is_default": False, "status": "active" if spec.get("save") else "one_time",
        "created_at": now.isoformat(), "updated_at": now.isoformat(), "version": 1,
    }


def _method(session: Session, method_id: str, customer_id: str) -> SyncedRow:
    row = _get(session, "payment_methods", method_id)
    if row is None or row.data.get("customer_id") != customer_id:
        raise MutationRejected("That payment method is not on file for this customer.")
    if row.data.get("status") != "active":
        raise MutationRejected("That payment method was removed; choose another.")
    return row


def _set_default(session: Session, customer_id: str, method_id: str,
                 previous: list[str], now: datetime) -> int:
    """Make one method the default; the others the desk named lose the mark."""
    top = 0
    for other_id in previous:
        other = _get(session, "payment_methods", other_id)
        if other is not None and other.data.get("customer_id") == customer_id \
                and other_id != method_id and other.data.get("is_default"):
            top = max(top, put_row(session, "payment_methods", other_id, _bump(
                other, {"is_default": False}, now), now))
    row = _get(session, "payment_methods", method_id)
    assert row is not None
    if not row.data.get("is_default"):
        top = max(top, put_row(session, "payment_methods", method_id, _bump(
            row, {"is_default": True}, now), now))
    return top


def _bump(row: SyncedRow, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    version = row.data.get("version")
    return {**row.data, **changes, "updated_at": now.isoformat(),
            "version": (version if isinstance(version, int) else 0) + 1}


def _previous(args: dict[str, Any]) -> list[str]:
    value = args.get("previous_default_ids") or []
    if not isinstance(value, list) or len(value) > 50:
        raise MutationRejected("previous_default_ids must be a list of method ids.")
    return [hex_id({"id": v}, "id", "A previous default method id") for v in value]


def apply_save_payment_method(session: Session, actor: Actor, args: dict[str, Any],
                              now: datetime) -> int | None:
    """Put a tokenized card or bank account on file (optionally as the default)."""
    customer = _customer(session, args)
    data = _new_method({"new_method": {**(args.get("new_method") or {}), "save": True}},
                       customer.id, now)
    existing = _get(session, "payment_methods", data["id"])
    if existing is not None:
        if existing.data.get("token") == data["token"]:
            return None
        raise MutationRejected("That payment method id is already used.", "reused_id")
    top = put_row(session, "payment_methods", data["id"], data, now)
    if args.get("make_default"):
        top = max(top, _set_default(session, customer.id, data["id"], _previous(args), now))
    _audit(session, actor, now, "payment_method.add", "payment_method", data["id"],
           customer.id, after={k: data[k] for k in ("kind", "brand", "last4", "exp_month",
                                                    "exp_year")})
    return top


def apply_update_payment_method(session: Session, actor: Actor, args: dict[str, Any],
                                now: datetime) -> int | None:
    """Update an expiring card (new expiry), make a method the default, or remove it."""
    customer = _customer(session, args)
    method_id = hex_id(args, "payment_method_id", "The payment method id")
    row = _method(session, method_id, customer.id)
    before = {k: row.data.get(k) for k in ("exp_month", "exp_year", "is_default", "status")}
    changes: dict[str, Any] = {}
    if "exp_month" in args or "exp_year" in args:
        month, year = args.get("exp_month"), args.get("exp_year")
        if row.data.get("kind") != "card":
            raise MutationRejected("Only a card has an expiry date.")
        if not (isinstance(month, int) and 1 <= month <= 12 and isinstance(year, int)
                and now.year <= year <= now.year + 20):
            raise MutationRejected("The new expiry must be a month 1-12 and a year from "
                                   "this year on.")
        if (year, month) < (now.year, now.month):
            raise MutationRejected("The new expiry date has already passed.")
        changes.update(exp_month=month, exp_year=year)
    if args.get("remove"):
        changes.update(status="removed", is_default=False)
    top = 0
    if changes:
        top = put_row(session, "payment_methods", method_id, _bump(row, changes, now), now)
    if args.get("make_default") and not args.get("remove"):
        top = max(top, _set_default(session, customer.id, method_id, _previous(args), now))
    if not top:
        return None
    _audit(session, actor, now, "payment_method.remove" if args.get("remove") else
           "payment_method.update", "payment_method", method_id, customer.id,
           before=before, after={**changes, "make_default": bool(args.get("make_default"))})
    return top


# --- payments -----------------------------------------------------------------------------

_SAME_PAYMENT = ("customer_id", "amount_cents", "method_kind", "payment_method_id")


def apply_take_payment(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    """Charge the customer's method through the gateway, once per payment id."""
    payment_id = hex_id(args, "id", "The payment id")
    customer = _customer(session, args)
    amount = _cents(args)
    kind = args.get("method_kind")
    if kind not in ("card", "ach", "check"):
        raise MutationRejected("The method is a card, a bank account (ach) or a check.")
    check_number = _text(args, "check_number", 10)
    if kind == "check" and not _CHECK_NUMBER.fullmatch(check_number):
        raise MutationRejected("A check by phone needs the check number (digits).")
    new = _new_method(args, customer.id, now) if args.get("new_method") is not None else None
    method_id = new["id"] if new is not None else hex_id(
        args, "payment_method_id", "The payment method id")
    wanted = {"customer_id": customer.id, "amount_cents": amount, "method_kind": kind,
              "payment_method_id": method_id}
    existing = _get(session, "payments", payment_id)
    if existing is not None:
        if all(existing.data.get(k) == v for k, v in wanted.items()):
            return None  # the same payment again: it was taken once, nothing more to do
        _refused_reuse()
    method = new if new is not None else dict(_method(session, method_id, customer.id).data)
    if (kind == "card") != (method.get("kind") == "card"):
        raise MutationRejected("That method is not a " + ("card." if kind == "card"
                                                          else "bank account."))
    invoice_id = optional_hex_id(args, "invoice_id", "The invoice id")
    interaction_id = optional_hex_id(args, "interaction_id", "The interaction id")
    at = _at(args, now)
    gateway = _gateway(session)
    decline = ""
    try:
        charge = gateway.charge(
            payment_id, str(method["token"]), amount,
            description=f"Payment {rules.confirmation_number(payment_id)}",
            exp_month=method.get("exp_month"), exp_year=method.get("exp_year"),
            today=now.date())
        status = rules.status_after_charge(kind, charge.status)
        decline, charge_id = charge.decline_code or "", charge.charge_id
    except Exception as exc:  # the gateway's refusal of the request itself
        code = getattr(exc, "code", None)
        if code is None:
            raise
        if code == "idempotency_mismatch":
            _refused_reuse()
        status, decline, charge_id = rules.PaymentStatus.FAILED, str(code), ""
    ok = status in (rules.PaymentStatus.SETTLED, rules.PaymentStatus.AUTHORIZED)
    data = _stamp({
        "id": payment_id, "customer_id": customer.id, "entry": "payment",
        "reverses_payment_id": None, "payment_method_id": method_id, "method_kind": kind,
        "amount_cents": amount, "currency": "USD", "status": str(status),
        "confirmation_number": rules.confirmation_number(payment_id) if ok else "",
        "gateway_charge_id": charge_id, "decline_code": decline,
        "received_at": at.isoformat(), "agent_id": actor.user_id,
        "interaction_id": interaction_id, "invoice_id": invoice_id,
        "refunded_cents": 0,  # the server's own bookkeeping: desks ignore the field
    }, now)
    top = 0
    if new is not None:
        if not ok:
            new["status"] = "one_time"  # a declined card does not go on file
        top = put_row(session, "payment_methods", new["id"], new, now)
        if ok and new["status"] == "active" and (args.get("new_method") or {}).get(
                "make_default"):
            top = max(top, _set_default(session, customer.id, new["id"], _previous(args), now))
    top = max(top, put_row(session, "payments", payment_id, data, now))
    receipt = optional_hex_id(args, "receipt_contact_id", "The receipt's contact point id")
    if ok and receipt is not None:
        top = max(top, _receipt(session, customer.id, receipt, data, method, now))
    _audit(session, actor, now, "payment.take", "payment", payment_id, customer.id,
           result="ok" if ok else str(status), reason=decline,
           after={"amount_cents": amount, "method_kind": kind, "status": str(status),
                  "last4": method.get("last4"), "check_number": check_number or None,
                  "charge_id": charge_id}, client_at=str(args.get("at", "")))
    return top


def _refused_reuse() -> None:
    raise MutationRejected(
        "This payment id was already used for a different payment: nothing was charged "
        "again. Take the payment afresh if the customer still wants to pay.", "reused_id")


def _receipt(session: Session, customer_id: str, contact_id: str, payment: dict[str, Any],
             method: dict[str, Any], now: datetime) -> int:
    contact = _get(session, "contact_points", contact_id)
    if contact is None or contact.data.get("customer_id") != customer_id \
            or contact.data.get("kind") != "email":
        raise MutationRejected("The receipt goes to one of the customer's email addresses.")
    amount = int(payment["amount_cents"])
    what = (f"{method.get('brand') or 'card'} ending {method.get('last4')}"
            if payment["method_kind"] == "card" else f"account ending {method.get('last4')}")
    notification_id = payment["id"][:24] + "0000000a"
    return put_row(session, "customer_notifications", notification_id, {
        "id": notification_id, "customer_id": customer_id, "channel": "email",
        "destination": contact.data.get("value"), "template": "payment_receipt",
        "subject": f"Payment received: ${amount // 100:,}.{amount % 100:02d}",
        "body": (f"We received your payment of ${amount // 100:,}.{amount % 100:02d} from "
                 f"your {what}. Confirmation {payment['confirmation_number']}."),
        "status": "sent", "send_after": None, "sent_at": now.isoformat(),
        "related_type": "payment", "related_id": payment["id"],
        "created_at": now.isoformat(), "updated_at": now.isoformat(), "version": 1}, now)


def _original(session: Session, args: dict[str, Any]) -> SyncedRow:
    payment_id = hex_id(args, "payment_id", "The payment id")
    row = _get(session, "payments", payment_id)
    if row is None or row.data.get("entry") != "payment":
        raise MutationRejected("There is no such payment to reverse.")
    if row.data.get("status") not in ("settled", "authorized"):
        raise MutationRejected("Only a payment that went through can be voided or refunded "
                               f"(this one is {row.data.get('status')}).")
    return row


def _reversal(session: Session, actor: Actor, args: dict[str, Any], now: datetime,
              entry: str) -> int | None:
    reversal_id = hex_id(args, "id", f"The {entry}'s id")
    original = _original(session, args)
    paid = int(original.data["amount_cents"])
    refunded = int(original.data.get("refunded_cents") or 0)
    amount = paid if entry == "void" else _cents(args)
    existing = _get(session, "payments", reversal_id)
    if existing is not None:
        if existing.data.get("reverses_payment_id") == original.id \
                and existing.data.get("amount_cents") == amount:
            return None
        raise MutationRejected(f"This {entry} id was already used.", "reused_id")
    customer_id = str(original.data["customer_id"])
    gateway = _gateway(session)
    try:
        if entry == "void":
            if original.data.get("voided") or refunded:
                raise UserFacingError("This payment was already voided or refunded.")
            received = datetime.fromisoformat(str(original.data["received_at"]))
            rules.check_void(received if received.tzinfo else received.replace(tzinfo=UTC),
                             now)
            gateway.void(reversal_id, str(original.data["gateway_charge_id"]),
                         today=now.date())
            changes: dict[str, Any] = {"voided": True}
        else:
            limits = _agent_limits(session, actor)
            rules.check_refund(amount, paid, refunded,
                               int(limits.get("refund_limit_cents") or 0),
                               actor.role in ("supervisor", "admin"))
            received = datetime.fromisoformat(str(original.data["received_at"]))
            gateway.refund(reversal_id, str(original.data["gateway_charge_id"]), amount,
                           legacy=(paid, received.date()))
            changes = {"refunded_cents": refunded + amount}
    except UserFacingError as exc:
        raise MutationRejected(exc.message,
                               "forbidden" if "supervisor" in exc.message else "invalid") from None
    except Exception as exc:
        code = getattr(exc, "code", None)
        if code is None:
            raise
        raise MutationRejected(f"The gateway refused the {entry}: "
                               f"{getattr(exc, 'message', code)}") from None
    at = _at(args, now)
    data = _stamp({
        "id": reversal_id, "customer_id": customer_id, "entry": entry,
        "reverses_payment_id": original.id,
        "payment_method_id": original.data.get("payment_method_id"),
        "method_kind": original.data.get("method_kind"), "amount_cents": amount,
        "currency": "USD", "status": "settled",
        "confirmation_number": rules.confirmation_number(reversal_id),
        "gateway_charge_id": original.data.get("gateway_charge_id"), "decline_code": "",
        "received_at": at.isoformat(), "agent_id": actor.user_id,
        "interaction_id": optional_hex_id(args, "interaction_id", "The interaction id"),
        "invoice_id": None,
    }, now)
    top = put_row(session, "payments", reversal_id, data, now)
    top = max(top, put_row(session, "payments", original.id, {**original.data, **changes}, now))
    _audit(session, actor, now, f"payment.{entry}", "payment", reversal_id, customer_id,
           reason=_text(args, "reason", rules.MAX_MEMO),
           before={"payment_id": original.id, "refunded_cents": refunded},
           after={"amount_cents": amount, **changes}, client_at=str(args.get("at", "")))
    return top


def apply_void_payment(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    return _reversal(session, actor, args, now, "void")


def apply_refund_payment(session: Session, actor: Actor, args: dict[str, Any],
                         now: datetime) -> int | None:
    return _reversal(session, actor, args, now, "refund")


# --- adjustments: maker-checker -------------------------------------------------------------

def used_today(session: Session, agent_id: str, day: str) -> int:
    """Cents the agent adjusted on ``day`` (posted or waiting), against the daily limit."""
    total = 0
    rows = session.scalars(select(SyncedRow.data).where(
        SyncedRow.table_name == "adjustments",
        SyncedRow.data["requested_by"].as_string() == agent_id,
        SyncedRow.data["posted_on"].as_string() == day))
    for data in rows:
        if data.get("status") in ("posted", "pending_approval"):
            total += int(data.get("amount_cents") or 0)
    return total


def apply_request_adjustment(session: Session, actor: Actor, args: dict[str, Any],
                             now: datetime) -> int | None:
    adjustment_id = hex_id(args, "id", "The adjustment id")
    customer = _customer(session, args)
    amount = _cents(args)
    direction = str(args.get("direction", ""))
    reason_code = _text(args, "reason_code", 32)
    memo = _text(args, "memo", rules.MAX_MEMO)
    day = args.get("posted_on")
    if not isinstance(day, str) or not _DATE.fullmatch(day):
        raise MutationRejected("posted_on must be a date (YYYY-MM-DD).")
    existing = _get(session, "adjustments", adjustment_id)
    if existing is not None:
        if existing.data.get("amount_cents") == amount and \
                existing.data.get("customer_id") == customer.id:
            return None
        raise MutationRejected("This adjustment id was already used.", "reused_id")
    limits = _agent_limits(session, actor)
    try:
        plan = rules.plan_adjustment(
            amount, direction, reason_code, memo,
            int(limits.get("adjustment_limit_cents") or 0),
            int(limits.get("daily_adjustment_limit_cents") or 0),
            used_today(session, actor.user_id, day))
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None
    data = _stamp({
        "id": adjustment_id, "customer_id": customer.id,
        "invoice_id": optional_hex_id(args, "invoice_id", "The invoice id"),
        "invoice_line_id": optional_hex_id(args, "invoice_line_id", "The invoice line id"),
        "case_id": optional_hex_id(args, "case_id", "The case id"),
        "direction": direction, "amount_cents": amount, "currency": "USD",
        "reason_code": reason_code, "memo": memo, "status": plan.status,
        "requested_by": actor.user_id, "decided_by": None, "decided_at": None,
        "decision_reason": "", "posted_on": day,
    }, now)
    top = put_row(session, "adjustments", adjustment_id, data, now)
    _audit(session, actor, now, "adjustment.request", "adjustment", adjustment_id,
           customer.id, result=plan.status, reason=plan.why,
           after={"direction": direction, "amount_cents": amount,
                  "reason_code": reason_code, "status": plan.status},
           client_at=str(args.get("at", "")))
    return top


def apply_decide_adjustment(session: Session, actor: Actor, args: dict[str, Any],
                            now: datetime) -> int | None:
    """A supervisor approves (the balance moves) or rejects (with a reason) a pending
    adjustment; nobody decides their own."""
    adjustment_id = hex_id(args, "adjustment_id", "The adjustment id")
    row = _get(session, "adjustments", adjustment_id)
    if row is None:
        raise MutationRejected(f"There is no adjustment {adjustment_id} on the server.")
    approve = args.get("approve")
    if not isinstance(approve, bool):
        raise MutationRejected("approve must be true or false.")
    reason = _text(args, "reason", rules.MAX_MEMO)
    data = row.data
    target = "posted" if approve else "rejected"
    if data.get("status") == target and data.get("decided_by") == actor.user_id:
        return None  # the same decision again
    try:
        rules.check_decision(actor.user_id, data.get("requested_by"),
                             str(data.get("status")), approve, reason)
    except UserFacingError as exc:
        own = data.get("requested_by") == actor.user_id
        raise MutationRejected(exc.message, "forbidden" if own else "invalid") from None
    at = _at(args, now)
    top = put_row(session, "adjustments", adjustment_id, _bump(row, {
        "status": target, "decided_by": actor.user_id, "decided_at": at.isoformat(),
        "decision_reason": reason}, now), now)
    _audit(session, actor, now, "adjustment.approve" if approve else "adjustment.reject",
           "adjustment", adjustment_id, str(data.get("customer_id")), reason=reason,
           before={"status": data.get("status")}, after={"status": target},
           approver_id=actor.user_id, client_at=str(args.get("at", "")))
    return top


# The audit action of each money mutation (a refusal is audited under the same action).
MONEY_MUTATIONS: dict[str, tuple[str, str]] = {
    "take_payment": ("payment.take", "payment"),
    "void_payment": ("payment.void", "payment"),
    "refund_payment": ("payment.refund", "payment"),
    "request_adjustment": ("adjustment.request", "adjustment"),
    "decide_adjustment": ("adjustment.decide", "adjustment"),
    "save_payment_method": ("payment_method.add", "payment_method"),
    "update_payment_method": ("payment_method.update", "payment_method"),
}

APPLIERS = {
    "take_payment": apply_take_payment,
    "void_payment": apply_void_payment,
    "refund_payment": apply_refund_payment,
    "save_payment_method": apply_save_payment_method,
    "update_payment_method": apply_update_payment_method,
    "request_adjustment": apply_request_adjustment,
    "decide_adjustment": apply_decide_adjustment,
}


def audit_refused(session: Session, actor: Actor, name: str, args: dict[str, Any],
                  reason: str, code: str, now: datetime) -> None:
    """A refused money mutation is audited too (who tried what, and why it was refused)."""
    if name not in MONEY_MUTATIONS:
        return
    action, entity_type = MONEY_MUTATIONS[name]
    entity = next((args[k] for k in ("adjustment_id", "payment_id", "payment_method_id", "id")
                   if isinstance(args.get(k), str)), "")
    customer = args.get("customer_id")
    customer_id = customer if isinstance(customer, str) and len(customer) == 32 else None
    _audit(session, actor, now, action, entity_type, str(entity)[:100], customer_id,
           result="refused", reason=f"{code}: {reason}",
           after={k: v for k, v in args.items() if k in ("amount_cents", "approve",
                                                         "direction", "method_kind")},
           client_at=str(args.get("at", ""))[:40])
