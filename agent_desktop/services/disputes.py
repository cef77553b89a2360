"""Billing disputes: a dispute is a case on an invoice line; it may end in a credit.

Opening one creates a dispute case (routed to billing) that points at the invoice and the
line the customer disputes. Resolving it with a credit requests a credit adjustment for
that line through the same maker-checker rules as any adjustment: within the agent's
limits it posts and the case is resolved; above them it waits for a supervisor and the
case waits with it (pending internal), saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_desktop.domain import cases as case_rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases, payments
from agent_desktop.services.cases import CaseChange
from agent_desktop.services.context import AgentContext
from agent_desktop.storage.models import Adjustment, Case, Invoice, InvoiceLine
from agent_desktop.storage.store import Store

__all__ = ["DisputeResolved", "LineRow", "invoice_lines", "open_dispute",
           "resolve_with_credit"]

DISPUTE_REASON = "DISPUTE-RESOLVED"


@dataclass(frozen=True, slots=True)
class LineRow:
    id: str
    description: str
    kind: str
    quantity: int
    amount_cents: int


def invoice_lines(store: Store, invoice_id: str) -> list[LineRow]:
    """The lines of one invoice, as on the bill (call off the UI thread)."""
    with store.reading() as session:
        rows = session.query(InvoiceLine).filter(InvoiceLine.invoice_id == invoice_id).all()
        return [LineRow(r.id, r.description, r.kind, r.quantity, r.amount_cents)
                for r in sorted(rows, key=lambda r: (-r.amount_cents, r.description))]


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def open_dispute(store: Store, who: AgentContext, customer_id: str, invoice_id: str,
                 line_id: str, amount_cents: int, what_the_customer_says: str) -> CaseChange:
    """A dispute case on one invoice line, for up to the line's amount."""
    with store.reading() as session:
        line = session.get(InvoiceLine, line_id)
        invoice = session.get(Invoice, invoice_id)
        if line is None or invoice is None or line.invoice_id != invoice_id \
                or invoice.customer_id != customer_id:
            raise UserFacingError("That line is not on this customer's invoice.")
        number, description, line_cents = invoice.invoice_number, line.description, \
            line.amount_cents
    if type(amount_cents) is not int or amount_cents <= 0:
        raise UserFacingError("The disputed amount must be more than $0.00.")
    if amount_cents > max(line_cents, 0):
        raise UserFacingError(f"At most the line's {_dollars(line_cents)} can be disputed.")
    said = what_the_customer_says.strip()
    if not said:
        raise UserFacingError("Write what the customer says is wrong.")
    subject = f"Dispute: {description} on {number}"[: case_rules.MAX_SUBJECT]
    body = (f"The customer disputes {_dollars(amount_cents)} of \u201c{description}\u201d "
            f"({_dollars(line_cents)}) on invoice {number}.\n\n{said}")
    return cases.create_case(store, who, customer_id, "dispute", "normal", subject, body,
                             category="billing",
                             links={"invoice_id": invoice_id, "invoice_line_id": line_id})


@dataclass(frozen=True, slots=True)
class DisputeResolved:
    adjustment: payments.AdjustmentQueued
    case: CaseChange
    words: str  # for the agent: what happened


def resolve_with_credit(store: Store, who: AgentContext, case_id: str, amount_cents: int,
                        memo: str = "") -> DisputeResolved:
    """Credit the disputed line: posted within the agent's limits (the case is resolved),
    else waiting for a supervisor (the case waits, pending internal)."""
    with store.reading() as session:
        case = session.get(Case, case_id)
        if case is None or case.type != "dispute" or case.customer_id is None:
            raise UserFacingError("Only a dispute case on a customer's bill ends in a "
                                  "credit.")
        status, customer_id = case.status, case.customer_id
        invoice_id, line_id = case.invoice_id, case.invoice_line_id
        waiting = session.query(Adjustment.amount_cents).filter(
            Adjustment.case_id == case_id, Adjustment.status == "pending_approval").first()
    if waiting is not None:
        raise UserFacingError(f"A credit of {_dollars(waiting[0])} for this "
                              "dispute already waits for a supervisor's approval.")
    for target in ("resolved", "pending_internal"):
        if target != status and target not in case_rules.ALLOWED.get(
                case_rules.Status(status), frozenset()):
            raise UserFacingError(f"A {status.replace('_', ' ')} dispute cannot be resolved "
                                  "with a credit; reopen it first.")
    queued = payments.request_adjustment(
        store, who, customer_id, "credit", amount_cents, DISPUTE_REASON,
        memo or "Dispute resolved in the customer's favour", invoice_id=invoice_id,
        invoice_line_id=line_id, case_id=case_id)
    credit = _dollars(amount_cents)
    if queued.status == "posted":
        words = f"Credit of {credit} posted; the dispute is resolved."
        change = cases.change_status(store, who, case_id, "resolved",
                                     f"Resolved with a credit of {credit}.")
    else:
        words = (f"The credit of {credit} waits for a supervisor's approval; the dispute "
                 "waits with it.")
        note = f"A credit of {credit} waits for a supervisor's approval. {queued.why}"
        change = (cases.add_case_note(store, who, case_id, note) if status == "pending_internal"
                  else cases.change_status(store, who, case_id, "pending_internal", note))
    # (pending_internal already: the dispute waited on something else; the note says why
    # it waits now.)
    return DisputeResolved(queued, change, words)
