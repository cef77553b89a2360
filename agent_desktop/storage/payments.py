"""Money in the store: the local effect of each payment and adjustment change, and the
queries the payment screens read.

A payment made on the desk is written ``pending``: the gateway has not been asked yet and
the balance does not move. The push takes it to the server, which charges the gateway
once (the payment id is the idempotency key) and sends the row back settled, declined or
failed; the pull writes that status over the pending one (the money columns are frozen by
a trigger). An adjustment is written with the status the same rule gives on the server
(domain.payments.plan_adjustment): posted within the agent's limits, else waiting for a
supervisor, and the balance moves only once it is posted.

Each ``apply_*`` is the one place its change is written: by services.payments, in the
same transaction as the audit row and the outbox mutation, and again by the rebase under
a pull (sync_store.REAPPLY) until the server answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from agent_desktop.domain import payments as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.storage.models import Adjustment, Agent, Payment, PaymentMethod

__all__ = [
    "LOCAL",
    "WROTE",
    "AdjustmentRow",
    "PaymentState",
    "adjusted_today",
    "payment_state",
    "pending_adjustments",
]


def _at(args: dict[str, Any]) -> datetime:
    value = args.get("at")
    if not isinstance(value, str):
        raise UserFacingError("The change has no time.")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _new_method(session: Session, customer_id: str, spec: dict[str, Any]) -> None:
    if session.get(PaymentMethod, spec["id"]) is not None:
        return
    session.add(PaymentMethod(
        id=spec["id"], customer_id=customer_id, kind=spec["kind"], token=spec["token"],
        brand=spec.get("brand") or "", last4=spec["last4"], exp_month=spec.get("exp_month"),
        exp_year=spec.get("exp_year"), holder_name=spec.get("holder_name") or "",
        bank_name=spec.get("bank_name") or "", is_default=False,
        status="active" if spec.get("save") else "one_time"))
    session.flush()


def _make_default(session: Session, customer_id: str, method_id: str) -> None:
    for method in session.scalars(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.is_default.is_(True))):
        if method.id != method_id:
            method.is_default = False
    chosen = session.get(PaymentMethod, method_id)
    if chosen is not None:
        chosen.is_default = True
    session.flush()


def apply_take_payment(session: Session, args: dict[str, Any]) -> None:
    if session.get(Payment, args["id"]) is not None:
        return  # re-applied, or the server's answer is already here
    new = args.get("new_method")
    if isinstance(new, dict):
        _new_method(session, args["customer_id"], new)
    session.add(Payment(
        id=args["id"], customer_id=args["customer_id"], entry="payment",
        payment_method_id=args.get("payment_method_id") or (new or {}).get("id"),
        method_kind=args["method_kind"], amount_cents=args["amount_cents"],
        status=rules.PaymentStatus.PENDING, received_at=_at(args),
        agent_id=args.get("actor_id"), interaction_id=args.get("interaction_id"),
        invoice_id=args.get("invoice_id")))
    session.flush()


def _apply_reversal(session: Session, args: dict[str, Any], entry: str) -> None:
    if session.get(Payment, args["id"]) is not None:
        return
    original = session.get(Payment, args["payment_id"])
    if original is None:
        raise UserFacingError("That payment is not in the local store.")
    session.add(Payment(
        id=args["id"], customer_id=original.customer_id, entry=entry,
        reverses_payment_id=original.id, payment_method_id=original.payment_method_id,
        method_kind=original.method_kind,
        amount_cents=original.amount_cents if entry == "void" else args["amount_cents"],
        status=rules.PaymentStatus.PENDING, received_at=_at(args),
        agent_id=args.get("actor_id")))
    session.flush()


def apply_void_payment(session: Session, args: dict[str, Any]) -> None:
    _apply_reversal(session, args, "void")


def apply_refund_payment(session: Session, args: dict[str, Any]) -> None:
    _apply_reversal(session, args, "refund")


def apply_save_payment_method(session: Session, args: dict[str, Any]) -> None:
    spec = {**args["new_method"], "save": True}
    _new_method(session, args["customer_id"], spec)
    if args.get("make_default"):
        _make_default(session, args["customer_id"], spec["id"])


def apply_update_payment_method(session: Session, args: dict[str, Any]) -> None:
    method = session.get(PaymentMethod, args["payment_method_id"])
    if method is None:
        raise UserFacingError("That payment method is not in the local store.")
    if "exp_month" in args:
        method.exp_month, method.exp_year = args["exp_month"], args["exp_year"]
    if args.get("remove"):
        method.status, method.is_default = "removed", False
    session.flush()
    if args.get("make_default") and not args.get("remove"):
        _make_default(session, method.customer_id, method.id)


def adjusted_today(conn: Connection, agent_id: str, day: date) -> int:
    """Cents the agent adjusted on ``day`` (posted or waiting): the daily limit's use."""
    value = conn.execute(select(func.coalesce(func.sum(Adjustment.amount_cents), 0)).where(
        Adjustment.requested_by == agent_id, Adjustment.posted_on == day,
        Adjustment.status.in_(("posted", "pending_approval")))).scalar()
    return int(value or 0)


def plan_for(session: Session, agent_id: str, args: dict[str, Any]) -> rules.AdjustmentPlan:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise UserFacingError("Your agent profile is not in the local store yet; sync first.")
    day = date.fromisoformat(args["posted_on"])
    return rules.plan_adjustment(
        args["amount_cents"], args["direction"], args["reason_code"], args.get("memo") or "",
        agent.adjustment_limit_cents, agent.daily_adjustment_limit_cents,
        adjusted_today(session.connection(), agent_id, day))


def apply_request_adjustment(session: Session, args: dict[str, Any]) -> None:
    if session.get(Adjustment, args["id"]) is not None:
        return
    plan = plan_for(session, args["actor_id"], args)
    session.add(Adjustment(
        id=args["id"], customer_id=args["customer_id"], invoice_id=args.get("invoice_id"),
        invoice_line_id=args.get("invoice_line_id"), case_id=args.get("case_id"),
        direction=args["direction"], amount_cents=args["amount_cents"],
        reason_code=args["reason_code"], memo=args.get("memo") or "", status=plan.status,
        requested_by=args["actor_id"], posted_on=date.fromisoformat(args["posted_on"])))
    session.flush()


def apply_decide_adjustment(session: Session, args: dict[str, Any]) -> None:
    adjustment = session.get(Adjustment, args["adjustment_id"])
    if adjustment is None:
        raise UserFacingError("That adjustment is not in the local store.")
    target = "posted" if args["approve"] else "rejected"
    if adjustment.status == target and adjustment.decided_by == args["actor_id"]:
        return
    rules.check_decision(args["actor_id"], adjustment.requested_by, adjustment.status,
                         bool(args["approve"]), args.get("reason") or "")
    adjustment.status = target
    adjustment.decided_by = args["actor_id"]
    adjustment.decided_at = _at(args)
    adjustment.decision_reason = args.get("reason") or ""
    session.flush()


LOCAL: dict[str, Callable[[Session, dict[str, Any]], object]] = {
    "take_payment": apply_take_payment,
    "void_payment": apply_void_payment,
    "refund_payment": apply_refund_payment,
    "save_payment_method": apply_save_payment_method,
    "update_payment_method": apply_update_payment_method,
    "request_adjustment": apply_request_adjustment,
    "decide_adjustment": apply_decide_adjustment,
}

# The rows each change inserted, by the args that name them: taken back if the server
# refuses the change (sync_store._discard), payments before the methods they point to.
WROTE: dict[str, tuple[tuple[str, str], ...]] = {
    "take_payment": (("payments", "id"), ("payment_methods", "new_method_id")),
    "void_payment": (("payments", "id"),),
    "refund_payment": (("payments", "id"),),
    "save_payment_method": (("payment_methods", "new_method_id"),),
    "request_adjustment": (("adjustments", "id"),),
}


# --- what the screens read ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PaymentState:
    id: str
    status: str
    amount_cents: int
    confirmation_number: str
    decline_code: str


def payment_state(conn: Connection, payment_id: str) -> PaymentState | None:
    row = conn.execute(select(
        Payment.id, Payment.status, Payment.amount_cents, Payment.confirmation_number,
        Payment.decline_code).where(Payment.id == payment_id)).first()
    return PaymentState(*row) if row is not None else None


@dataclass(frozen=True, slots=True)
class AdjustmentRow:
    id: str
    customer_id: str
    customer_name: str
    direction: str
    amount_cents: int
    reason_code: str
    memo: str
    status: str
    requested_by: str | None
    requested_name: str
    posted_on: date
    created_at: datetime
    invoice_id: str | None


def pending_adjustments(conn: Connection, limit: int = 500) -> list[AdjustmentRow]:
    """The supervisors' approval queue: oldest first."""
    rows = conn.exec_driver_sql(
        "SELECT a.id, a.customer_id, c.display_name, a.direction, a.amount_cents,"
        " a.reason_code, a.memo, a.status, a.requested_by, COALESCE(g.display_name, ''),"
        " a.posted_on, a.created_at, a.invoice_id FROM adjustments a"
        " JOIN customers c ON c.id = a.customer_id"
        " LEFT JOIN agents g ON g.id = a.requested_by"
        " WHERE a.status = 'pending_approval' ORDER BY a.created_at LIMIT ?", (limit,))
    found = []
    for r in rows:
        created = datetime.fromisoformat(str(r[11])).replace(tzinfo=UTC)
        found.append(AdjustmentRow(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7], r[8],
                                   r[9], date.fromisoformat(str(r[10])[:10]), created, r[12]))
    return found
