"""Taking payments, voids, refunds, payment methods, adjustments and their approvals.

Each change is one transaction: the rows (storage.payments), the audit row and the
outbox mutation. A payment is written ``pending`` with an id made before anything is
sent; that id is the idempotency key all the way to the gateway, so submitting it again
(a double Enter, a retry, a desk restarted after a crash) never queues or charges a
second payment. The server answers with the gateway's result on the next sync.

The card number and CVC never come here: the dialog hands them to the gateway
(SyncService.tokenize_card) and keeps only the token, brand, last four and expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from agent_desktop.domain import payments as rules
from agent_desktop.domain.cards import Decline, decline_for
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage import payments as local
from agent_desktop.storage.customer_record import PaymentMethodRow
from agent_desktop.storage.models import (
    Adjustment,
    Agent,
    Customer,
    Payment,
    PaymentMethod,
    new_id,
)
from agent_desktop.storage.reference import read_codes, resources_dir
from agent_desktop.storage.store import Store

__all__ = [
    "AdjustmentQueued",
    "NewMethod",
    "PaymentQueued",
    "PaymentResult",
    "ReversalOptions",
    "adjustment_reasons",
    "decide_adjustment",
    "methods_on_file",
    "new_payment_id",
    "payment_result",
    "pending_adjustments",
    "refund_payment",
    "request_adjustment",
    "reversal_options",
    "save_method",
    "take_payment",
    "update_method",
    "void_payment",
]


def _now() -> datetime:
    return datetime.now(UTC)


def new_payment_id() -> str:
    """Made when the payment dialog opens: the idempotency key of that one payment."""
    return new_id()


@dataclass(frozen=True, slots=True)
class NewMethod:
    """A card or bank account the gateway tokenized: only what is safe to keep."""

    kind: str  # "card" | "ach"
    token: str
    last4: str
    brand: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    holder_name: str = ""
    bank_name: str = ""
    save: bool = False  # keep it on file for next time
    make_default: bool = False
    id: str = ""

    def wire(self, method_id: str) -> dict[str, Any]:
        return {"id": method_id, "kind": self.kind, "token": self.token,
                "brand": self.brand, "last4": self.last4, "exp_month": self.exp_month,
                "exp_year": self.exp_year, "holder_name": self.holder_name,
                "bank_name": self.bank_name, "save": self.save,
                "make_default": self.make_default}


@dataclass(frozen=True, slots=True)
class PaymentQueued:
    payment_id: str
    amount_cents: int
    summary: str  # "$45.00 on Visa ending 4242"
    changes: Changes


def _summary(amount_cents: int, kind: str, brand: str, last4: str) -> str:
    what = {"card": f"{(brand or 'card').title()} ending {last4}",
            "ach": f"bank account ending {last4}",
            "check": f"check from the account ending {last4}"}[kind]
    return f"{_dollars(amount_cents)} on {what}" if kind == "card" else \
        f"{_dollars(amount_cents)} by {what}"


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _default_ids(session: Any, customer_id: str) -> list[str]:
    return [m.id for m in session.query(PaymentMethod).filter(
        PaymentMethod.customer_id == customer_id, PaymentMethod.is_default.is_(True))]


def take_payment(store: Store, who: AgentContext, customer_id: str, amount_cents: int,
                 method_kind: str, *, payment_id: str, payment_method_id: str | None = None,
                 new_method: NewMethod | None = None, check_number: str = "",
                 invoice_id: str | None = None, interaction_id: str | None = None,
                 receipt_contact_id: str | None = None) -> PaymentQueued:
    """Queue the payment (pending) for the gateway; the same ``payment_id`` again
    changes nothing and returns the payment already queued."""
    interaction_id = interaction_id or who.call.for_customer(customer_id)
    if method_kind not in ("card", "ach", "check"):
        raise UserFacingError("Choose how the customer pays: card, bank account or check.")
    if (payment_method_id is None) == (new_method is None):
        raise UserFacingError("Choose a payment method on file, or enter a new one.")
    if type(amount_cents) is not int or not 0 < amount_cents <= rules.MAX_PAYMENT_CENTS:
        raise UserFacingError("The amount must be between $0.01 and $999,999.99.")
    with store.transaction() as session:
        existing = session.get(Payment, payment_id)
        if existing is not None:
            if existing.amount_cents != amount_cents or existing.customer_id != customer_id:
                raise UserFacingError("This payment was already submitted with a different "
                                      "amount; start a new payment.")
            method = session.get(PaymentMethod, existing.payment_method_id or "")
            return PaymentQueued(payment_id, amount_cents, _summary(
                amount_cents, existing.method_kind, method.brand if method else "",
                method.last4 if method else "????"), Changes(customers=frozenset()))
        if new_method is not None:
            method_id = new_method.id or new_id()
            brand, last4 = new_method.brand, new_method.last4
        else:
            assert payment_method_id is not None
            on_file = session.get(PaymentMethod, payment_method_id)
            if on_file is None or on_file.customer_id != customer_id \
                    or on_file.status != "active":
                raise UserFacingError("That payment method is not on file any more; "
                                      "choose another.")
            method_id, brand, last4 = on_file.id, on_file.brand, on_file.last4
        summary = _summary(amount_cents, method_kind, brand, last4)
        args: dict[str, Any] = {
            "id": payment_id, "customer_id": customer_id, "amount_cents": amount_cents,
            "method_kind": method_kind, "payment_method_id": method_id,
            "check_number": check_number, "invoice_id": invoice_id,
            "interaction_id": interaction_id, "receipt_contact_id": receipt_contact_id,
            "at": _now().isoformat(), "actor_id": who.agent_id, "summary": summary,
        }
        if new_method is not None:
            args["new_method"] = new_method.wire(method_id)
            args["new_method_id"] = method_id
            if new_method.make_default:
                args["previous_default_ids"] = _default_ids(session, customer_id)
        local.apply_take_payment(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="payment.take", entity_type="payment", entity_id=payment_id,
                     customer_id=customer_id, workstation=who.workstation,
                     after={"amount_cents": amount_cents, "method_kind": method_kind,
                            "last4": last4, "status": "pending"})
        outbox.enqueue(session, "take_payment", args)
    return PaymentQueued(payment_id, amount_cents, summary,
                         Changes(customers=frozenset({customer_id}), ledger=True))


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """Where a payment stands, in words for the agent and the customer."""

    payment_id: str
    status: str  # pending | settled | authorized | declined | failed
    confirmation_number: str
    decline: Decline | None


def payment_result(store: Store, payment_id: str) -> PaymentResult | None:
    with store.reading() as session:
        state = local.payment_state(session.connection(), payment_id)
    if state is None:
        return None
    decline = decline_for(state.decline_code) if state.status in ("declined", "failed") \
        else None
    return PaymentResult(state.id, state.status, state.confirmation_number, decline)


def _reverse(store: Store, who: AgentContext, name: str, payment_id: str,
             amount_cents: int | None, reason: str) -> PaymentQueued:
    with store.transaction() as session:
        original = session.get(Payment, payment_id)
        if original is None or original.entry != "payment":
            raise UserFacingError("That payment is not in the local store.")
        if original.status not in ("settled", "authorized"):
            raise UserFacingError(f"Only a payment that went through can be "
                                  f"{'voided' if name == 'void_payment' else 'refunded'}.")
        if name == "void_payment":
            rules.check_void(original.received_at, _now())
            amount = original.amount_cents
        else:
            assert amount_cents is not None
            refunded = sum(p.amount_cents for p in session.query(Payment).filter(
                Payment.reverses_payment_id == payment_id,
                Payment.status.in_(("pending", "settled"))))
            limit = who_limit(session, who)
            rules.check_refund(amount_cents, original.amount_cents, refunded, limit,
                               who.role in ("supervisor", "admin"))
            amount = amount_cents
        reversal_id = new_id()
        args: dict[str, Any] = {
            "id": reversal_id, "payment_id": payment_id, "amount_cents": amount,
            "reason": reason, "at": _now().isoformat(), "actor_id": who.agent_id,
            "summary": f"{'Void' if name == 'void_payment' else 'Refund'} of "
                       f"{_dollars(amount)}",
        }
        local.LOCAL[name](session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="payment.void" if name == "void_payment" else "payment.refund",
                     entity_type="payment", entity_id=reversal_id,
                     customer_id=original.customer_id, workstation=who.workstation,
                     before={"payment_id": payment_id}, after={"amount_cents": amount},
                     reason=reason)
        outbox.enqueue(session, name, args)
        customer = original.customer_id
    return PaymentQueued(reversal_id, amount, args["summary"],
                         Changes(customers=frozenset({customer}), ledger=True))


def who_limit(session: Any, who: AgentContext) -> int:
    agent = session.get(Agent, who.agent_id) if who.agent_id else None
    return agent.refund_limit_cents if agent is not None else 0


def void_payment(store: Store, who: AgentContext, payment_id: str,
                 reason: str = "") -> PaymentQueued:
    return _reverse(store, who, "void_payment", payment_id, None, reason)


def refund_payment(store: Store, who: AgentContext, payment_id: str, amount_cents: int,
                   reason: str = "") -> PaymentQueued:
    return _reverse(store, who, "refund_payment", payment_id, amount_cents, reason)


def update_method(store: Store, who: AgentContext, customer_id: str, method_id: str, *,
                  exp_month: int | None = None, exp_year: int | None = None,
                  make_default: bool = False, remove: bool = False) -> Changes:
    """Update an expiring card, make a method the default, or remove it."""
    args: dict[str, Any] = {"customer_id": customer_id, "payment_method_id": method_id,
                            "at": _now().isoformat()}
    if exp_month is not None and exp_year is not None:
        today = _now().date()
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (today.year, today.month):
            raise UserFacingError("The new expiry must be this month or later.")
        args.update(exp_month=exp_month, exp_year=exp_year)
    if remove:
        args["remove"] = True
    if make_default:
        args["make_default"] = True
    with store.transaction() as session:
        method = session.get(PaymentMethod, method_id)
        if method is None or method.customer_id != customer_id:
            raise UserFacingError("That payment method is not on file for this customer.")
        args["previous_default_ids"] = _default_ids(session, customer_id)
        args["actor_id"] = who.agent_id
        args["summary"] = f"{'Remove' if remove else 'Update'} {method.brand or method.kind} " \
                          f"ending {method.last4}"
        local.apply_update_payment_method(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="payment_method.remove" if remove else "payment_method.update",
                     entity_type="payment_method", entity_id=method_id,
                     customer_id=customer_id, workstation=who.workstation,
                     after={k: v for k, v in args.items()
                            if k in ("exp_month", "exp_year", "make_default", "remove")})
        outbox.enqueue(session, "update_payment_method", args)
    return Changes(customers=frozenset({customer_id}), ledger=True)


# --- adjustments ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def adjustment_reasons() -> tuple[tuple[str, str, str], ...]:
    """(code, label, direction) from resources/codes.json."""
    return tuple((r["code"], r["label"], r.get("direction", "credit"))
                 for r in read_codes(resources_dir())["adjustment_reasons"])


@dataclass(frozen=True, slots=True)
class AdjustmentQueued:
    adjustment_id: str
    status: str  # posted | pending_approval
    why: str
    changes: Changes


def request_adjustment(store: Store, who: AgentContext, customer_id: str, direction: str,
                       amount_cents: int, reason_code: str, memo: str = "", *,
                       invoice_id: str | None = None, invoice_line_id: str | None = None,
                       case_id: str | None = None,
                       today: date | None = None) -> AdjustmentQueued:
    """Post within the agent's limits, else queue for a supervisor's approval."""
    if who.agent_id is None:
        raise UserFacingError("Log in as an agent to adjust a bill.")
    adjustment_id = new_id()
    args: dict[str, Any] = {
        "id": adjustment_id, "customer_id": customer_id, "direction": direction,
        "amount_cents": amount_cents, "reason_code": reason_code, "memo": memo.strip(),
        "invoice_id": invoice_id, "invoice_line_id": invoice_line_id, "case_id": case_id,
        "posted_on": (today or _now().astimezone().date()).isoformat(),
        "at": _now().isoformat(), "actor_id": who.agent_id,
        "summary": f"{direction.title()} adjustment of {_dollars(amount_cents)}"
                   if type(amount_cents) is int else "Adjustment",
    }
    with store.transaction() as session:
        plan = local.plan_for(session, who.agent_id, args)
        local.apply_request_adjustment(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="adjustment.request", entity_type="adjustment",
                     entity_id=adjustment_id, customer_id=customer_id,
                     workstation=who.workstation, reason=plan.why,
                     after={"direction": direction, "amount_cents": amount_cents,
                            "reason_code": reason_code, "status": plan.status})
        outbox.enqueue(session, "request_adjustment", args)
    return AdjustmentQueued(adjustment_id, plan.status, plan.why,
                            Changes(customers=frozenset({customer_id}), ledger=True))


def pending_adjustments(store: Store) -> list[local.AdjustmentRow]:
    with store.reading() as session:
        return local.pending_adjustments(session.connection())


def decide_adjustment(store: Store, who: AgentContext, adjustment_id: str, approve: bool,
                      reason: str = "") -> Changes:
    """A supervisor's decision; nobody decides their own (the server enforces it too)."""
    if who.role not in ("supervisor", "admin"):
        raise UserFacingError("Only a supervisor approves or rejects adjustments.")
    args: dict[str, Any] = {"adjustment_id": adjustment_id, "approve": approve,
                            "reason": reason.strip(), "at": _now().isoformat(),
                            "actor_id": who.agent_id}
    with store.transaction() as session:
        adjustment = session.get(Adjustment, adjustment_id)
        if adjustment is None:
            raise UserFacingError("That adjustment is not in the local store.")
        before = adjustment.status
        args["summary"] = (f"{'Approve' if approve else 'Reject'} "
                           f"{_dollars(adjustment.amount_cents)} {adjustment.direction}")
        local.apply_decide_adjustment(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="adjustment.approve" if approve else "adjustment.reject",
                     entity_type="adjustment", entity_id=adjustment_id,
                     customer_id=adjustment.customer_id, workstation=who.workstation,
                     before={"status": before}, after={"status": adjustment.status},
                     reason=reason.strip())
        outbox.enqueue(session, "decide_adjustment", args)
        customer = adjustment.customer_id
    return Changes(customers=frozenset({customer}), ledger=True)


def adjustment_limits(store: Store, who: AgentContext,
                      today: date | None = None) -> tuple[int, int, int]:
    """(per adjustment, per day, used today) in cents: what the adjustment dialog's hint
    goes by (the same numbers ``request_adjustment`` decides with). Call off the UI
    thread; (0, 0, 0) when the agent is not in the local store."""
    if who.agent_id is None:
        return 0, 0, 0
    day = today or _now().astimezone().date()
    with store.reading() as session:
        agent = session.get(Agent, who.agent_id)
        if agent is None:
            return 0, 0, 0
        return (agent.adjustment_limit_cents, agent.daily_adjustment_limit_cents,
                local.adjusted_today(session.connection(), who.agent_id, day))


# --- payment methods on file; what the void / refund dialog reads ---------------------------

def save_method(store: Store, who: AgentContext, customer_id: str,
                new_method: NewMethod) -> Changes:
    """Keep a card or bank account the gateway tokenized on file (the default if
    ``new_method.make_default``). Its id is ``new_method.id`` (made when the dialog
    opened) or a new one; the same id and token again changes nothing."""
    if new_method.kind not in ("card", "ach") or not new_method.token:
        raise UserFacingError("Only a card or bank account the gateway checked can be kept "
                              "on file.")
    if new_method.kind == "card":
        today = _now().date()
        month, year = new_method.exp_month, new_method.exp_year
        if month is None or year is None or not 1 <= month <= 12 \
                or (year, month) < (today.year, today.month):
            raise UserFacingError("The card has expired: ask the customer for a current one.")
    method_id = new_method.id or new_id()
    what = f"{(new_method.brand or new_method.kind).title()} ending {new_method.last4}"
    with store.transaction() as session:
        existing = session.get(PaymentMethod, method_id)
        if existing is not None:
            if existing.token == new_method.token and existing.customer_id == customer_id:
                return Changes(customers=frozenset())
            raise UserFacingError("That payment method was already saved differently; "
                                  "add it again.")
        if session.get(Customer, customer_id) is None:
            raise UserFacingError("This customer is no longer in the local store; search "
                                  "again.")
        args: dict[str, Any] = {
            "customer_id": customer_id,
            "new_method": {**new_method.wire(method_id), "save": True},
            "new_method_id": method_id, "make_default": new_method.make_default,
            "previous_default_ids": _default_ids(session, customer_id),
            "at": _now().isoformat(), "actor_id": who.agent_id, "summary": f"Add {what}",
        }
        local.apply_save_payment_method(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="payment_method.add", entity_type="payment_method",
                     entity_id=method_id, customer_id=customer_id,
                     workstation=who.workstation,
                     after={"kind": new_method.kind, "brand": new_method.brand,
                            "last4": new_method.last4, "exp_month": new_method.exp_month,
                            "exp_year": new_method.exp_year,
                            "make_default": new_method.make_default})
        outbox.enqueue(session, "save_payment_method", args)
    return Changes(customers=frozenset({customer_id}), ledger=True)


def methods_on_file(store: Store, customer_id: str) -> tuple[PaymentMethodRow, ...]:
    """The customer's active methods, the default first (call off the UI thread)."""
    with store.reading() as session:
        found = session.query(PaymentMethod).filter(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active"
        ).order_by(PaymentMethod.is_default.desc(), PaymentMethod.created_at)
        return tuple(PaymentMethodRow(m.id, m.kind, m.brand, m.last4, m.exp_month,
                                      m.exp_year, bool(m.is_default)) for m in found)


@dataclass(frozen=True, slots=True)
class ReversalOptions:
    """What can be done with one payment now: void it (taken today, nothing reversed
    yet), refund up to ``refundable_cents``, or neither (``why_not`` says why)."""

    payment_id: str
    customer_id: str
    amount_cents: int
    received_at: datetime
    voidable: bool
    refundable_cents: int
    refund_limit_cents: int
    supervisor: bool
    why_not: str


def reversal_options(store: Store, who: AgentContext, payment_id: str) -> ReversalOptions:
    with store.reading() as session:
        original = session.get(Payment, payment_id)
        if original is None or original.entry != "payment":
            raise UserFacingError("That payment is not in the local store.")
        reversals = list(session.query(Payment).filter(
            Payment.reverses_payment_id == payment_id,
            Payment.status.in_(("pending", "settled"))))
        reversed_cents = sum(p.amount_cents for p in reversals)
        went_through = original.status in ("settled", "authorized")
        try:
            rules.check_void(original.received_at.replace(tzinfo=UTC)
                             if original.received_at.tzinfo is None
                             else original.received_at, _now())
            today = True
        except UserFacingError:
            today = False
        left = max(original.amount_cents - reversed_cents, 0) if went_through else 0
        why_not = ""
        if not went_through:
            why_not = (f"This payment is {original.status}: only a payment that went "
                       "through can be voided or refunded.")
        elif any(p.entry == "void" for p in reversals):
            why_not = "This payment was voided already."
        elif left == 0:
            why_not = "This payment was refunded in full already."
        return ReversalOptions(
            payment_id, original.customer_id, original.amount_cents,
            original.received_at, went_through and today and reversed_cents == 0, left,
            who_limit(session, who), who.role in ("supervisor", "admin"), why_not)
