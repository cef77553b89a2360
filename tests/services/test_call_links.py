"""What the agent does during a call carries the call's interaction id (and nothing does
once the call is over, or when it is about another customer)."""

from __future__ import annotations

import json
import sqlite3
import uuid

from agent_desktop.services import payments
from agent_desktop.services.context import AgentContext, CallLink, agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.storage.store import Store


def _one(store: Store, sql: str, *params: object) -> tuple[object, ...]:
    conn = sqlite3.connect(store.path)
    try:
        row = conn.execute(sql, params).fetchone()
        assert row is not None
        return tuple(row)
    finally:
        conn.close()


def _agent(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def test_the_call_link_names_the_call_for_its_customer_only() -> None:
    link = CallLink()
    assert link.for_customer("c1") is None
    link.start("i" * 32)
    assert link.for_customer("c1") == "i" * 32  # the caller is not known yet
    link.customer_id = "c1"
    assert link.for_customer("c1") == "i" * 32
    assert link.for_customer("c2") is None
    link.clear()
    assert link.for_customer("c1") is None


def test_a_payment_and_a_note_during_the_call_carry_its_interaction_id(store: Store) -> None:
    who = _agent(store)
    customer_id, method_id = _one(
        store, "SELECT customer_id, id FROM payment_methods WHERE status = 'active' AND "
        "kind = 'card' ORDER BY customer_id LIMIT 1")
    call_id = uuid.uuid4().hex
    who.call.start(call_id, str(customer_id))
    queued = payments.take_payment(store, who, str(customer_id), 2500, "card",
                                   payment_id=payments.new_payment_id(),
                                   payment_method_id=str(method_id))
    note = add_note(store, who, str(customer_id), "Paid during the call.")
    assert _one(store, "SELECT interaction_id FROM payments WHERE id = ?",
                queued.payment_id) == (call_id,)
    assert _one(store, "SELECT interaction_id FROM notes WHERE id = ?",
                note.note.id) == (call_id,)
    mutation = _one(store, "SELECT args FROM sync_outbox WHERE name = 'add_note' "
                    "ORDER BY mutation_id DESC LIMIT 1")
    assert json.loads(str(mutation[0]))["interaction_id"] == call_id

    who.call.clear()  # wrapped up: the next note is not the call's
    after = add_note(store, who, str(customer_id), "Later, no call.")
    assert _one(store, "SELECT interaction_id FROM notes WHERE id = ?",
                after.note.id) == (None,)


def test_a_case_opened_during_the_call_points_at_it(store: Store) -> None:
    from agent_desktop.services.cases import create_case

    who = _agent(store)
    customer_id = str(_one(store, "SELECT id FROM customers ORDER BY id LIMIT 1")[0])
    call_id = uuid.uuid4().hex
    who.call.start(call_id, customer_id)
    change = create_case(store, who, customer_id, "inquiry", "normal", "Asked about fees")
    assert _one(store, "SELECT interaction_id FROM cases WHERE id = ?",
                change.case_id) == (call_id,)
    other = str(_one(store, "SELECT id FROM customers WHERE id != ? ORDER BY id LIMIT 1",
                     customer_id)[0])
    elsewhere = create_case(store, who, other, "inquiry", "normal", "Another customer")
    assert _one(store, "SELECT interaction_id FROM cases WHERE id = ?",
                elsewhere.case_id) == (None,)
