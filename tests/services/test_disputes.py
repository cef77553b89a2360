"""A dispute on an invoice line: a billing case pointing at the line, resolved with a
credit through the same maker-checker rules as any adjustment."""

from __future__ import annotations

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases, disputes
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.storage.store import Store


def _who(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _line(store: Store, at_least: int) -> tuple[str, str, str, int]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT i.customer_id, i.id, l.id, l.amount_cents FROM invoice_lines l "
            "JOIN invoices i ON i.id = l.invoice_id WHERE l.amount_cents >= ? "
            "ORDER BY i.issued_on DESC, l.id LIMIT 1", (at_least,)).one()
    return str(row[0]), str(row[1]), str(row[2]), int(row[3])


def _limit(store: Store, who: AgentContext) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT adjustment_limit_cents FROM agents WHERE id = ?", (who.agent_id,)).scalar())


def test_a_dispute_points_at_the_line_and_a_small_credit_resolves_it(store: Store) -> None:
    who = _who(store)
    customer_id, invoice_id, line_id, amount = _line(store, 1000)
    with pytest.raises(UserFacingError, match="At most the line"):
        disputes.open_dispute(store, who, customer_id, invoice_id, line_id, amount + 1,
                              "Never ordered this")
    with pytest.raises(UserFacingError, match="what the customer says"):
        disputes.open_dispute(store, who, customer_id, invoice_id, line_id, 500, "  ")
    made = disputes.open_dispute(store, who, customer_id, invoice_id, line_id, 500,
                                 "Charged twice for the same month")
    case = cases.load_case(store, made.case_id)
    assert case.case.type == "dispute" and case.case.queue == "billing"
    with store.engine.connect() as conn:
        linked = conn.exec_driver_sql("SELECT invoice_id, invoice_line_id FROM cases "
                                      "WHERE id = ?", (made.case_id,)).one()
    assert tuple(linked) == (invoice_id, line_id)
    before = load_360(store, customer_id).balance_cents
    done = disputes.resolve_with_credit(store, who, made.case_id, 500)
    assert done.adjustment.status == "posted" and "resolved" in done.words
    assert cases.load_case(store, made.case_id).case.status == "resolved"
    assert load_360(store, customer_id).balance_cents == before - 500
    with store.engine.connect() as conn:
        adjustment = conn.exec_driver_sql(
            "SELECT reason_code, invoice_line_id, case_id FROM adjustments WHERE id = ?",
            (done.adjustment.adjustment_id,)).one()
    assert tuple(adjustment) == ("DISPUTE-RESOLVED", line_id, made.case_id)


def test_a_credit_over_the_limit_waits_for_a_supervisor_and_the_case_with_it(
        store: Store) -> None:
    who = _who(store)
    limit = _limit(store, who)
    customer_id, invoice_id, line_id, _amount = _line(store, limit + 1)
    made = disputes.open_dispute(store, who, customer_id, invoice_id, line_id, limit + 1,
                                 "The promotion was never applied")
    before = load_360(store, customer_id).balance_cents
    done = disputes.resolve_with_credit(store, who, made.case_id, limit + 1)
    assert done.adjustment.status == "pending_approval"
    assert cases.load_case(store, made.case_id).case.status == "pending_internal"
    assert load_360(store, customer_id).balance_cents == before
    # A second try while it waits would credit twice: refused, plainly.
    with pytest.raises(UserFacingError, match="already waits"):
        disputes.resolve_with_credit(store, who, made.case_id, limit + 1)


def test_only_a_dispute_ends_in_a_credit(store: Store) -> None:
    who = _who(store)
    customer_id, _invoice, _line_id, _amount = _line(store, 100)
    other = cases.create_case(store, who, customer_id, "inquiry", "normal", "A question")
    with pytest.raises(UserFacingError, match="Only a dispute"):
        disputes.resolve_with_credit(store, who, other.case_id, 100)
