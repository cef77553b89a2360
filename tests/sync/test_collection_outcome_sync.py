"""A collections call's outcome is one local transaction (the attempt, the promise or
arrangement or dispute, the audit row, the ``record_collection_outcome`` mutation), reaches
the server and every other desk, and changes what the worklist offers; the server refuses
what breaks the rules and the desk keeps nothing of it; a debt another desk was paid on
a moment ago is refused with words, before anything is written."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_desktop.domain import collections as rules
from agent_desktop.services.collections import (
    DebtClosed,
    WorkItem,
    record_collection_outcome,
    send_reminder,
    worklist,
)
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import audit, outbox, sync_store
from agent_desktop.storage import collections as reads
from agent_desktop.storage.store import Store
from server_stub.embedded import EmbeddedServer

PASSWORD = "demo"
ZONE = ZoneInfo("America/New_York")


def _who(store: Store, username: str = "agent") -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _rows(store: Store, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _debts(store: Store, now: datetime) -> list[WorkItem]:
    """Debts without a dispute or an open promise, with a number and a fair balance."""
    return [i for i in worklist(store, now, local_zone=ZONE)
            if i.number and i.balance_cents > 5000 and not i.promise_words
            and not any("disputes" in r for r in i.reasons)]


def test_outcomes_reach_every_desk_and_change_the_worklist(
        desks: tuple[EmbeddedServer, list[Store]]) -> None:
    server, (a, b) = desks
    sync_a = SyncService(a, server.url, "agent")
    sync_b = SyncService(b, server.url, "supervisor")
    try:
        sync_a.login(PASSWORD)
        sync_b.login(PASSWORD)
        now = datetime.now(UTC)
        today = now.astimezone(ZONE).date()
        promised, arranged, disputed, *_ = _debts(a, now)
        who = _who(a)
        done = record_collection_outcome(a, who, promised.account_id, rules.OutcomeInput(
            rules.Outcome.PROMISE_TO_PAY, amount_cents=2500,
            promised_on=today + timedelta(days=5)), number=promised.number, now=now,
            local_zone=ZONE, interaction_id="ab" * 16)
        assert done.summary.startswith("Promise to pay $25.00 by ")
        record_collection_outcome(a, who, arranged.account_id, rules.OutcomeInput(
            rules.Outcome.ARRANGEMENT, total_cents=arranged.balance_cents, installments=3,
            first_due=today + timedelta(days=7), frequency=rules.Frequency.BIWEEKLY),
            number=arranged.number, now=now, local_zone=ZONE)
        record_collection_outcome(a, who, disputed.account_id, rules.OutcomeInput(
            rules.Outcome.DISPUTE_RAISED), number=disputed.number, now=now, local_zone=ZONE)

        # One transaction each: the attempt, its audit row and its mutation.
        [(outcome, connected, conversation, interaction)] = _rows(
            a, "SELECT outcome, connected, conversation, interaction_id FROM "
            "contact_attempts WHERE id = ?", done.attempt_id)
        assert (outcome, connected, conversation, interaction) == (
            "promise_to_pay", 1, 1, "ab" * 16)
        names = [n for (n,) in _rows(a, "SELECT name FROM sync_outbox ORDER BY mutation_id")]
        assert names == ["record_collection_outcome"] * 3
        actions = [x for (x,) in _rows(a, "SELECT action FROM audit_log ORDER BY seq")]
        assert actions == ["collections.outcome"] * 3
        with a.reading() as session:
            assert audit.verify_chain(session) is None

        sync_a.sync()
        assert sync_store.pending_count(a) == 0 and sync_store.rejected(a) == []
        sync_b.sync()
        [(status, amount)] = _rows(b, "SELECT status, amount_cents FROM promises_to_pay "
                                   "WHERE collection_account_id = ?", promised.account_id)
        assert (status, amount) == ("open", 2500)
        parts = _rows(b, "SELECT i.amount_cents FROM arrangement_installments i JOIN "
                      "payment_arrangements p ON p.id = i.arrangement_id "
                      "WHERE p.collection_account_id = ? AND p.status = 'active' "
                      "AND p.created_at >= ?", arranged.account_id,
                      now.strftime("%Y-%m-%d"))
        assert len(parts) == 3 and sum(int(str(c)) for (c,) in parts) == arranged.balance_cents
        assert _rows(b, "SELECT disputed_on FROM collection_accounts WHERE id = ?",
                     disputed.account_id) == [(today.isoformat(),)]

        # Desk B's worklist: the promise is waited for, the disputed debt never called.
        on_b = {i.account_id: i for i in worklist(b, now, local_zone=ZONE)}
        waiting = on_b[promised.account_id]
        assert not waiting.callable_now and waiting.reasons[0].startswith("Promised $25.00 by ")
        assert waiting.promise_words.startswith("Promised $25.00")
        assert not on_b[arranged.account_id].callable_now
        assert "payment arrangement" in on_b[arranged.account_id].reasons[0]
        assert any("disputes this debt" in r for r in on_b[disputed.account_id].reasons)
        assert on_b[disputed.account_id].next_allowed_at is None
    finally:
        sync_a.close()
        sync_b.close()


def test_an_outcome_the_server_refuses_leaves_nothing_on_the_desk(
        desks: tuple[EmbeddedServer, list[Store]]) -> None:
    server, (a, _b) = desks
    sync_a = SyncService(a, server.url, "agent")
    try:
        sync_a.login(PASSWORD)
        now = datetime.now(UTC)
        debt = _debts(a, now)[0]
        # A promise above the balance, as an old or tampered desk might send it.
        args = {"id": "f" * 32, "customer_id": debt.customer_id,
                "collection_account_id": debt.account_id, "outcome": "promise_to_pay",
                "channel": "call", "destination": debt.number, "at": now.isoformat(),
                "today": now.astimezone(ZONE).date().isoformat(),
                "actor_id": _who(a).agent_id, "interaction_id": None, "note": "",
                "connected": True, "conversation": True, "callback_at": None,
                "promise": {"id": "e" * 32, "amount_cents": debt.balance_cents + 100,
                            "promised_on": now.astimezone(ZONE).date().isoformat()},
                "arrangement": None, "dispute": None}
        with a.transaction() as session:
            reads.apply_record_outcome(session, args)
            outbox.enqueue(session, "record_collection_outcome", args)
        assert _rows(a, "SELECT count(*) FROM promises_to_pay WHERE id = ?", "e" * 32) == [(1,)]
        sync_a.sync()
        [refused] = sync_store.rejected(a)
        assert refused.name == "record_collection_outcome"
        assert "more than the balance" in refused.reason
        assert _rows(a, "SELECT count(*) FROM promises_to_pay WHERE id = ?", "e" * 32) == [(0,)]
        assert _rows(a, "SELECT count(*) FROM contact_attempts WHERE id = ?", "f" * 32) == [(0,)]
    finally:
        sync_a.close()


def test_a_debt_paid_by_another_desk_a_moment_ago_is_refused_in_words(store: Store) -> None:
    now = datetime.now(UTC)
    debt = _debts(store, now)[0]
    with store.engine.connect() as conn:
        state = reads.debt_state(conn, debt.account_id, now.astimezone(ZONE).date())
    assert state is not None and state.balance_cents > 0
    other = _who(store, "supervisor")
    paid_at = now - timedelta(seconds=12)
    # The payment another agent took, as the pull brings it.
    sync_store.apply_changes(store, [("payments", "9" * 32, {
        "id": "9" * 32, "customer_id": debt.customer_id, "entry": "payment",
        "method_kind": "card", "amount_cents": state.past_due_cents, "currency": "USD",
        "status": "settled", "confirmation_number": "P-1", "gateway_charge_id": "ch_1",
        "decline_code": "", "received_at": paid_at.isoformat(), "agent_id": other.agent_id,
        "created_at": paid_at.isoformat()})], 10**9, now.isoformat())
    before = _rows(store, "SELECT count(*) FROM contact_attempts")
    with pytest.raises(DebtClosed, match=r"^Paid in full 12 s ago by another agent: nothing "
                       r"left to collect; the list is refreshed\.$"):
        record_collection_outcome(store, _who(store), debt.account_id, rules.OutcomeInput(
            rules.Outcome.PROMISE_TO_PAY, amount_cents=1000,
            promised_on=now.astimezone(ZONE).date()), number=debt.number, now=now,
            local_zone=ZONE)
    assert _rows(store, "SELECT count(*) FROM contact_attempts") == before
    assert _rows(store, "SELECT count(*) FROM sync_outbox") == [(0,)]


def test_the_reminder_honours_no_text_and_counts_as_contact_not_a_call(store: Store) -> None:
    now = datetime.now(UTC)
    with store.engine.connect() as conn:
        candidates = [str(r[0]) for r in conn.exec_driver_sql(
            "SELECT ca.id FROM collection_accounts ca WHERE ca.status = 'open' "
            "AND ca.disputed_on IS NULL AND EXISTS (SELECT 1 FROM contact_points p WHERE "
            "p.customer_id = ca.customer_id AND p.kind = 'email' AND p.consent_email = 1) "
            "AND NOT EXISTS (SELECT 1 FROM contact_restrictions r WHERE r.customer_id = "
            "ca.customer_id AND r.active = 1) ORDER BY ca.id")]
    account_id = candidates[0]
    with store.transaction() as session:
        conn = session.connection()
        customer_id = str(conn.exec_driver_sql(
            "SELECT customer_id FROM collection_accounts WHERE id = ?",
            (account_id,)).scalar())
        conn.exec_driver_sql(
            "INSERT INTO contact_restrictions (id, customer_id, kind, detail, active, "
            "effective_at, source, created_at, updated_at, version) VALUES (?, ?, 'no_text', "
            "'{}', 1, ?, 'agent', ?, ?, 1)",
            ("7" * 32, customer_id, *(["2026-01-01 00:00:00.000000"] * 3)))
    calls_before = _rows(store, "SELECT count(*) FROM contact_attempts WHERE channel = 'call' "
                         "AND collection_account_id = ?", account_id)
    sent = send_reminder(store, _who(store), account_id, now=now, local_zone=ZONE)
    assert sent.channels == ("email",)
    [(channel, template, body)] = _rows(
        store, "SELECT channel, template, body FROM customer_notifications WHERE "
        "related_id = ?", account_id)
    assert (channel, template) == ("email", "collections_reminder")
    assert rules.payment_link(account_id) in str(body)
    assert _rows(store, "SELECT channel, outcome, connected FROM contact_attempts WHERE "
                 "collection_account_id = ? AND outcome = 'sent' AND at = ?", account_id,
                 now.strftime("%Y-%m-%d %H:%M:%S.%f")) == [("email", "sent", 0)]
    assert _rows(store, "SELECT count(*) FROM contact_attempts WHERE channel = 'call' AND "
                 "collection_account_id = ?", account_id) == calls_before
    [(name, raw)] = _rows(store, "SELECT name, args FROM sync_outbox")
    assert name == "send_collection_reminder"
    assert [s["channel"] for s in json.loads(str(raw))["sent"]] == ["email"]
