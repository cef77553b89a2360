"""Money through a real sync server and its gateway stub: a payment is charged once
whatever happens to the push, the same id with another amount is refused, a decline comes
back in words, maker-checker holds on both desks, and the audit chain shows tampering."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases, disputes, payments
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, open_store
from agent_desktop.sync.protocol import Mutation
from server_stub import audit
from server_stub.__main__ import prepare, seed
from server_stub.app import create_app, runtime_of
from server_stub.embedded import EmbeddedServer
from server_stub.gateway import Gateway


@dataclass
class Floor:
    stores: list[Store]
    services: list[SyncService]
    gateway: Gateway
    server_url: str  # the server's database


@pytest.fixture
def floor(demo_store_template: Path, tmp_path: Path) -> Iterator[Floor]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seq = seed(url, str(demo_store_template), None)
    app = create_app(url)
    stores, services = [], []
    with EmbeddedServer(app) as server:
        for name, user in (("a", "agent"), ("b", "supervisor")):
            path = tmp_path / f"desk-{name}.sqlite3"
            shutil.copyfile(demo_store_template, path)
            store = open_store(path)
            sync_store.start_afresh(store, seq)
            service = SyncService(store, server.url, user)
            service.login("demo")
            stores.append(store)
            services.append(service)
        try:
            yield Floor(stores, services, runtime_of(app).gateway, url)
        finally:
            for service in services:
                service.close()
            for store in stores:
                store.close()


def _who(store: Store, username: str) -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _card_customer(store: Store) -> tuple[str, str]:
    """A customer with an unexpired card on file and a balance due."""
    conn = sqlite3.connect(store.path)
    try:
        row = conn.execute(
            "SELECT m.customer_id, m.id FROM payment_methods m WHERE m.kind = 'card' "
            "AND m.status = 'active' AND m.exp_year >= 2028 ORDER BY m.customer_id "
            "LIMIT 1").fetchone()
        return str(row[0]), str(row[1])
    finally:
        conn.close()


def _sync(*services: SyncService) -> None:
    for service in services:
        status, _ = service.sync()
        assert status.online, status


def test_a_card_on_file_payment_is_charged_once_and_reaches_every_desk(floor: Floor) -> None:
    (a, b), (sync_a, sync_b) = floor.stores, floor.services
    agent = _who(a, "agent")
    customer_id, method_id = _card_customer(a)
    before = load_360(a, customer_id).balance_cents
    payment_id = payments.new_payment_id()
    queued = payments.take_payment(a, agent, customer_id, 2500, "card",
                                   payment_id=payment_id, payment_method_id=method_id)
    assert "$25.00 on" in queued.summary
    # Pending: nothing charged yet, the balance has not moved.
    pending = payments.payment_result(a, payment_id)
    assert pending is not None and pending.status == "pending"
    assert load_360(a, customer_id).balance_cents == before
    # A double Enter: the same id again queues nothing more.
    payments.take_payment(a, agent, customer_id, 2500, "card", payment_id=payment_id,
                          payment_method_id=method_id)
    assert sync_store.pending_count(a) == 1
    _sync(sync_a, sync_b)
    for desk in (a, b):
        result = payments.payment_result(desk, payment_id)
        assert result is not None and result.status == "settled"
        assert result.confirmation_number.startswith("PAY-")
        assert load_360(desk, customer_id).balance_cents == before - 2500
    assert len(floor.gateway.charges_for(payment_id)) == 1


def test_the_same_payment_pushed_again_and_replayed_charges_once(floor: Floor) -> None:
    (a, _b), (sync_a, _sync_b) = floor.stores, floor.services
    agent = _who(a, "agent")
    customer_id, method_id = _card_customer(a)
    payment_id = payments.new_payment_id()
    payments.take_payment(a, agent, customer_id, 1000, "card", payment_id=payment_id,
                          payment_method_id=method_id)
    with a.reading() as session:
        row = session.execute(text(
            "SELECT mutation_id, id, name, args FROM sync_outbox")).one()

    mutation = Mutation(mutation_id=row[0], id=row[1], name=row[2], args=json.loads(row[3]))
    # The first push's answer is lost: the desk pushes the same mutation twice more.
    for _ in range(3):
        answer = sync_a.client.push([mutation])
        assert answer.results[0].status in ("applied", "duplicate")
    # Another mutation (as from a desk that lost its outbox) with the same payment id:
    # applied once, nothing charged again.
    again = Mutation(mutation_id=row[0] + 1, id="f" * 32, name="take_payment",
                     args={**mutation.args})
    assert sync_client_push(sync_a, again) == "applied"
    # The same id with a different amount: refused, and said why.
    other = Mutation(mutation_id=row[0] + 2, id="e" * 32, name="take_payment",
                     args={**mutation.args, "amount_cents": 1001})
    answer = sync_a.client.push([other])
    assert answer.results[0].status == "rejected"
    assert answer.results[0].code == "reused_id"
    assert "already used for a different payment" in answer.results[0].reason
    assert len(floor.gateway.charges_for(payment_id)) == 1
    assert floor.gateway.charge_count() == 1
    # The refusal is in the server's audit log.
    engine = create_engine(floor.server_url)
    try:
        with Session(engine) as s:
            actions = s.execute(text(
                "SELECT action, result FROM audit_log ORDER BY seq")).all()
    finally:
        engine.dispose()
    assert ("payment.take", "ok") in actions
    assert ("payment.take", "refused") in actions


def sync_client_push(service: SyncService, mutation: Mutation) -> str:
    return service.client.push([mutation]).results[0].status


def test_a_declined_new_card_is_said_in_words_and_not_kept_on_file(floor: Floor) -> None:
    (a, _b), (sync_a, _sync_b) = floor.stores, floor.services
    agent = _who(a, "agent")
    customer_id, _method = _card_customer(a)
    token = sync_a.tokenize_card("4000 0000 0000 0002", 12, 2030, "123", "Pat Doe")
    assert token["last4"] == "0002" and token["brand"] == "visa"
    payment_id = payments.new_payment_id()
    payments.take_payment(
        a, agent, customer_id, 4200, "card", payment_id=payment_id,
        new_method=payments.NewMethod(kind="card", token=token["token"], last4="0002",
                                      brand="visa", exp_month=12, exp_year=2030, save=True))
    _sync(sync_a)
    result = payments.payment_result(a, payment_id)
    assert result is not None and result.status == "declined"
    assert result.decline is not None and result.decline.code == "card_declined"
    assert "stolen" not in result.decline.say_to_customer.lower()
    with a.reading() as session:
        status = session.execute(text(
            "SELECT m.status FROM payments p JOIN payment_methods m "
            "ON m.id = p.payment_method_id WHERE p.id = :id"), {"id": payment_id}).scalar()
    assert status == "one_time"


def test_maker_checker_on_two_desks(floor: Floor) -> None:
    (a, b), (sync_a, sync_b) = floor.stores, floor.services
    agent, supervisor = _who(a, "agent"), _who(b, "supervisor")
    customer_id, _method = _card_customer(a)
    with a.reading() as session:
        limit = session.execute(text(
            "SELECT adjustment_limit_cents FROM agents WHERE id = :id"),
            {"id": agent.agent_id}).scalar()
    before = load_360(a, customer_id).balance_cents
    small = payments.request_adjustment(a, agent, customer_id, "credit", limit,
                                        "GOODWILL-CREDIT", "At the limit: posts")
    assert small.status == "posted"
    big = payments.request_adjustment(a, agent, customer_id, "credit", limit + 1,
                                      "GOODWILL-CREDIT", "One cent over the limit")
    assert big.status == "pending_approval"
    assert load_360(a, customer_id).balance_cents == before - limit
    _sync(sync_a, sync_b)
    queue = payments.pending_adjustments(b)
    assert big.adjustment_id in [r.id for r in queue]
    # The supervisor's own over-limit adjustment: they may not approve it themselves.
    with b.reading() as session:
        sup_limit = session.execute(text(
            "SELECT adjustment_limit_cents FROM agents WHERE id = :id"),
            {"id": supervisor.agent_id}).scalar()
    own = payments.request_adjustment(b, supervisor, customer_id, "credit", sup_limit + 1,
                                      "GOODWILL-CREDIT", "Mine")
    with pytest.raises(UserFacingError, match="Nobody approves their own"):
        payments.decide_adjustment(b, supervisor, own.adjustment_id, True)
    payments.decide_adjustment(b, supervisor, big.adjustment_id, True)
    _sync(sync_b, sync_a)
    for desk in (a, b):
        assert load_360(desk, customer_id).balance_cents == \
            before - limit - (limit + 1)
    # Forged past the desk: the server refuses self-approval and audits the attempt.
    forged = Mutation(mutation_id=sync_store.pending_count(b) + 10_000, id="d" * 32,
                      name="decide_adjustment",
                      args={"adjustment_id": own.adjustment_id, "approve": True,
                            "reason": "", "at": "2026-11-24T00:00:00+00:00"})
    with b.reading() as session:
        last = session.execute(text(
            "SELECT value FROM sync_state WHERE key = 'last_mutation_id'")).scalar()
    forged = forged.model_copy(update={"mutation_id": int(last or 0) + 1})
    answer = sync_b.client.push([forged])
    assert answer.results[0].status == "rejected" and answer.results[0].code == "forbidden"
    engine = create_engine(floor.server_url)
    try:
        with Session(engine) as s:
            refused = s.execute(text(
                "SELECT result FROM audit_log WHERE action = 'adjustment.decide'")).all()
            checked, broken = audit.verify(s)
            assert broken is None and checked >= 4
            # Someone edits an approval in the database: the chain names that row.
            seq = s.execute(text("SELECT seq FROM audit_log WHERE action = "
                                 "'adjustment.approve'")).scalar()
            s.execute(text("UPDATE audit_log SET reason = 'edited' WHERE seq = :s"),
                      {"s": seq})
            s.commit()
            _checked, broken = audit.verify(s)
            assert broken is not None and broken.seq == seq
    finally:
        engine.dispose()
    assert refused == [("refused",)]


def test_a_dispute_on_a_line_reaches_the_other_desk_and_a_wrong_line_is_refused(
        floor: Floor) -> None:
    (a, b), (sync_a, sync_b) = floor.stores, floor.services
    agent = _who(a, "agent")
    with a.reading() as session:
        customer_id, invoice_id, line_id = session.execute(text(
            "SELECT i.customer_id, i.id, l.id FROM invoice_lines l JOIN invoices i "
            "ON i.id = l.invoice_id WHERE l.amount_cents > 500 ORDER BY l.id LIMIT 1")).one()
        other_line = session.execute(text(
            "SELECT id FROM invoice_lines WHERE invoice_id <> :i LIMIT 1"),
            {"i": invoice_id}).scalar()
    made = disputes.open_dispute(a, agent, customer_id, invoice_id, line_id, 500,
                                 "Charged for a box I returned")
    # A forged dispute whose line belongs to another bill: the server refuses it.
    forged = cases.create_case(a, agent, customer_id, "dispute", "normal", "Forged",
                               links={"invoice_id": invoice_id, "invoice_line_id": other_line})
    _sync(sync_a, sync_b)
    with b.reading() as session:
        linked = session.execute(text(
            "SELECT invoice_id, invoice_line_id FROM cases WHERE id = :c"),
            {"c": made.case_id}).one()
        gone = session.execute(text("SELECT count(*) FROM cases WHERE id = :c"),
                               {"c": forged.case_id}).scalar()
    assert tuple(linked) == (invoice_id, line_id) and gone == 0
    [refused] = sync_store.rejected(a)
    assert refused.reason == "The disputed line is not a line of that invoice."


def test_a_payment_from_before_the_gateway_is_refunded_up_to_what_was_paid(
        floor: Floor) -> None:
    (a, _b), (sync_a, _sync_b) = floor.stores, floor.services
    agent = _who(a, "agent")
    with a.reading() as session:
        payment_id, amount = session.execute(text(
            "SELECT id, amount_cents FROM payments WHERE entry = 'payment' AND status = "
            "'settled' AND gateway_charge_id LIKE 'ch_%' AND amount_cents > 2000 "
            "ORDER BY received_at LIMIT 1")).one()
    first = payments.refund_payment(a, agent, payment_id, 1000, "Billed twice")
    _sync(sync_a)
    assert payments.payment_result(a, first.payment_id).status == "settled"
    # More than is left: refused by the gateway's bound too (forged past the desk).
    with a.reading() as session:
        last = session.execute(text(
            "SELECT value FROM sync_state WHERE key = 'last_mutation_id'")).scalar()
    forged = Mutation(mutation_id=int(last or 0) + 1, id="c" * 32, name="refund_payment",
                      args={"id": "b" * 32, "payment_id": payment_id,
                            "amount_cents": amount, "at": "2026-11-24T00:00:00+00:00"})
    answer = sync_a.client.push([forged])
    assert answer.results[0].status == "rejected"
    assert "can still be refunded" in answer.results[0].reason


def test_an_emailed_receipt_is_recorded_as_sent(floor: Floor) -> None:
    (a, _b), (sync_a, _sync_b) = floor.stores, floor.services
    agent = _who(a, "agent")
    with a.reading() as session:
        customer_id, method_id, contact_id, email = session.execute(text(
            "SELECT m.customer_id, m.id, c.id, c.value FROM payment_methods m "
            "JOIN contact_points c ON c.customer_id = m.customer_id AND c.kind = 'email' "
            "WHERE m.kind = 'card' AND m.status = 'active' AND m.exp_year >= 2028 "
            "ORDER BY m.customer_id LIMIT 1")).one()
    payment_id = payments.new_payment_id()
    payments.take_payment(a, agent, customer_id, 3000, "card", payment_id=payment_id,
                          payment_method_id=method_id, receipt_contact_id=contact_id)
    _sync(sync_a)
    result = payments.payment_result(a, payment_id)
    assert result is not None and result.status == "settled"
    with a.reading() as session:
        sent = session.execute(text(
            "SELECT channel, destination, status, body FROM customer_notifications "
            "WHERE related_id = :p"), {"p": payment_id}).one()
    assert tuple(sent[:3]) == ("email", email, "sent")
    assert "$30.00" in sent[3] and result.confirmation_number in sent[3]
