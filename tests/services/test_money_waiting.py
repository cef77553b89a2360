"""The 360 says which money is not in the balance yet, and why."""

from __future__ import annotations

from agent_desktop.services import payments
from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.storage.store import Store


def test_a_queued_payment_and_an_adjustment_awaiting_approval_are_said(store: Store) -> None:
    who = agent_by_username(store, "agent")
    assert who is not None and who.agent_id is not None
    with store.engine.connect() as conn:
        customer_id, method_id = conn.exec_driver_sql(
            "SELECT customer_id, id FROM payment_methods WHERE status = 'active' "
            "AND kind = 'card' ORDER BY customer_id LIMIT 1").one()
        limit = conn.exec_driver_sql("SELECT adjustment_limit_cents FROM agents WHERE id = ?",
                                     (who.agent_id,)).scalar()
    before = load_360(store, str(customer_id))
    assert before.waiting == ()
    payments.take_payment(store, who, str(customer_id), 1234, "card",
                          payment_id=payments.new_payment_id(),
                          payment_method_id=str(method_id))
    payments.request_adjustment(store, who, str(customer_id), "credit", int(limit) + 1,
                                "GOODWILL-CREDIT")
    after = load_360(store, str(customer_id))
    assert after.balance_cents == before.balance_cents
    assert after.waiting == (
        "Payment of $12.34 waiting for the payment gateway",
        f"Credit of ${(int(limit) + 1) // 100:,}.{(int(limit) + 1) % 100:02d} waiting for a "
        "supervisor's approval",
    )
