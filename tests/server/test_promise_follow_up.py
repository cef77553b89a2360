"""The server takes a collections call's outcome with the desk's rules and follows up
promises to pay: kept by payments reaching the amount by the promised date, broken once
the date has passed without them; a debt paid in full is marked paid."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server_stub.mutations import Actor, MutationRejected, apply_mutation, put_row
from server_stub.store import SyncedRow

NOW = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # noon in New York, 9 AM in Los Angeles
TODAY = date(2026, 11, 16)
AGENT = Actor("1" * 32, "agent", "Dana Reyes", "agent")


def _debts(template: Path) -> list[tuple[str, str, int]]:
    """Open debts without a dispute: (account id, customer id, placed balance)."""
    conn = sqlite3.connect(template)
    try:
        return [(str(a), str(c), int(b)) for a, c, b in conn.execute(
            "SELECT id, customer_id, placed_balance_cents FROM collection_accounts "
            "WHERE status = 'open' AND disputed_on IS NULL AND placed_balance_cents > 5000 "
            "ORDER BY id")]
    finally:
        conn.close()


def _phone(template: Path, customer_id: str) -> str:
    conn = sqlite3.connect(template)
    try:
        row = conn.execute("SELECT value FROM contact_points WHERE customer_id = ? AND "
                           "kind = 'phone' ORDER BY is_primary DESC", (customer_id,)).fetchone()
        return str(row[0]) if row else ""
    finally:
        conn.close()


def _outcome(account: tuple[str, str, int], attempt: str, **more: Any) -> dict[str, Any]:
    return {"id": attempt, "customer_id": account[1], "collection_account_id": account[0],
            "channel": "call", "destination": "", "at": NOW.isoformat(),
            "today": TODAY.isoformat(), "actor_id": AGENT.user_id, "interaction_id": None,
            "note": "", "connected": True, "conversation": True, "callback_at": None,
            "promise": None, "arrangement": None, "dispute": None, **more}


def _apply(sessions: Any, name: str, args: dict[str, Any], now: datetime = NOW) -> None:
    with sessions() as session, session.begin():
        apply_mutation(session, AGENT, name, args, now)


def _row(sessions: Any, table: str, row_id: str) -> dict[str, Any]:
    with sessions() as session:
        row = session.get(SyncedRow, (table, row_id))
        assert row is not None, (table, row_id)
        return dict(row.data)


def _pay(sessions: Any, customer_id: str, payment_id: str, cents: int,
         received: datetime) -> None:
    """A payment that went through (what take_payment leaves on the server)."""
    with sessions() as session, session.begin():
        put_row(session, "payments", payment_id, {
            "id": payment_id, "customer_id": customer_id, "entry": "payment",
            "reverses_payment_id": None, "payment_method_id": None, "method_kind": "card",
            "amount_cents": cents, "currency": "USD", "status": "settled",
            "confirmation_number": "X", "gateway_charge_id": "ch", "decline_code": "",
            "received_at": received.isoformat(), "agent_id": AGENT.user_id,
            "interaction_id": None, "invoice_id": None, "created_at": received.isoformat(),
            "updated_at": received.isoformat(), "version": 1}, received)


def _follow(sessions: Any, now: datetime) -> int | None:
    # Imported here: server_stub.mutations (which registers it) must be imported first.
    from server_stub.collections import follow_promises

    with sessions() as session, session.begin():
        return follow_promises(session, now)


def test_a_promise_is_kept_by_payments_before_the_date_and_another_broken_after(
        sessions: Any, demo_store_template: Path) -> None:
    kept_debt, broken_debt, *_ = _debts(demo_store_template)
    promised_on = TODAY + timedelta(days=5)
    _apply(sessions, "record_collection_outcome", _outcome(
        kept_debt, "a1" * 16, outcome="promise_to_pay",
        promise={"id": "b1" * 16, "amount_cents": 4000,
                 "promised_on": promised_on.isoformat()}))
    _apply(sessions, "record_collection_outcome", _outcome(
        broken_debt, "a2" * 16, outcome="promise_to_pay",
        promise={"id": "b2" * 16, "amount_cents": 3000,
                 "promised_on": promised_on.isoformat()}))
    assert _row(sessions, "promises_to_pay", "b1" * 16)["status"] == "open"
    attempt = _row(sessions, "contact_attempts", "a1" * 16)
    assert attempt["outcome"] == "promise_to_pay" and attempt["conversation"] is True
    assert attempt["agent_id"] == AGENT.user_id

    # Two payments on the first debt before the date: the first is not enough yet.
    _pay(sessions, kept_debt[1], "c1" * 16, 2500, NOW + timedelta(days=1))
    _follow(sessions, NOW + timedelta(days=1, hours=1))
    first = _row(sessions, "promises_to_pay", "b1" * 16)
    assert (first["status"], first["paid_cents"]) == ("open", 2500)
    _pay(sessions, kept_debt[1], "c2" * 16, 1500, NOW + timedelta(days=3))
    assert _follow(sessions, NOW + timedelta(days=3, hours=1)) is not None
    first = _row(sessions, "promises_to_pay", "b1" * 16)
    assert (first["status"], first["paid_cents"], first["payment_id"]) == (
        "kept", 4000, "c2" * 16)
    # The second is still open until its date (and the day of grace) have passed.
    assert _row(sessions, "promises_to_pay", "b2" * 16)["status"] == "open"
    _follow(sessions, datetime.combine(promised_on + timedelta(days=1), datetime.min.time(),
                                       tzinfo=UTC) + timedelta(hours=12))
    assert _row(sessions, "promises_to_pay", "b2" * 16)["status"] == "open"
    _follow(sessions, datetime.combine(promised_on + timedelta(days=2), datetime.min.time(),
                                       tzinfo=UTC) + timedelta(hours=1))
    assert _row(sessions, "promises_to_pay", "b2" * 16)["status"] == "broken"
    # Looking again counts nothing twice.
    _follow(sessions, NOW + timedelta(days=9))
    assert _row(sessions, "promises_to_pay", "b1" * 16)["paid_cents"] == 4000
    assert _row(sessions, "collection_accounts", kept_debt[0])["paid_cents"] == 4000


def test_a_debt_paid_in_full_is_marked_paid_and_refuses_further_outcomes(
        sessions: Any, demo_store_template: Path) -> None:
    debt = _debts(demo_store_template)[2]
    _pay(sessions, debt[1], "d1" * 16, debt[2], NOW)
    _follow(sessions, NOW + timedelta(minutes=1))
    assert _row(sessions, "collection_accounts", debt[0])["status"] == "paid"
    with pytest.raises(MutationRejected, match="nothing left to collect"):
        _apply(sessions, "record_collection_outcome",
               _outcome(debt, "a3" * 16, outcome="refused"))


@pytest.mark.parametrize(("more", "words"), [
    ({"outcome": "promise_to_pay",
      "promise": {"id": "e1" * 16, "amount_cents": 10**9, "promised_on": "2026-11-20"}},
     "more than the balance"),
    ({"outcome": "promise_to_pay",
      "promise": {"id": "e1" * 16, "amount_cents": 1000, "promised_on": "2027-02-01"}},
     "at most 30 days"),
    ({"outcome": "arrangement",
      "arrangement": {"id": "e2" * 16, "total_cents": 3000, "frequency": "monthly",
                      "installments": [{"id": "e3" * 16, "due_on": "2026-11-20",
                                        "amount_cents": 1000},
                                       {"id": "e4" * 16, "due_on": "2026-12-20",
                                        "amount_cents": 1000}]}},
     "add up exactly"),
    # 4 AM in New York: outside calling hours, with the first time that fits.
    ({"outcome": "callback_requested", "callback_at": "2026-11-17T09:00:00+00:00"},
     "Outside calling hours"),
    ({"outcome": "no_answer", "promise": {"id": "e1" * 16, "amount_cents": 1,
                                         "promised_on": "2026-11-20"}},
     "only with it"),
])
def test_an_outcome_that_breaks_the_rules_is_refused_in_words(
        sessions: Any, demo_store_template: Path, more: dict[str, Any], words: str) -> None:
    debt = next(d for d in _debts(demo_store_template)[3:]
                if _phone(demo_store_template, d[1]))
    with pytest.raises(MutationRejected, match=words):
        _apply(sessions, "record_collection_outcome", _outcome(
            debt, "a4" * 16, **{"destination": _phone(demo_store_template, debt[1]),
                               **more}))
    with sessions() as session:
        assert session.get(SyncedRow, ("contact_attempts", "a4" * 16)) is None


def test_a_dispute_stops_collection_on_the_debt(sessions: Any,
                                                demo_store_template: Path) -> None:
    debt = _debts(demo_store_template)[4]
    _apply(sessions, "record_collection_outcome", _outcome(
        debt, "a5" * 16, outcome="dispute_raised",
        dispute={"restriction_id": "f1" * 16, "disputed_on": TODAY.isoformat()}))
    assert _row(sessions, "collection_accounts", debt[0])["disputed_on"] == TODAY.isoformat()
    assert _row(sessions, "contact_restrictions", "f1" * 16)["kind"] == "dispute_pending"
    with pytest.raises(MutationRejected, match="disputes this debt"):
        _apply(sessions, "record_collection_outcome", _outcome(
            debt, "a6" * 16, outcome="promise_to_pay",
            promise={"id": "f2" * 16, "amount_cents": 1000, "promised_on": "2026-11-20"}))


def test_an_arrangement_is_paid_installment_by_installment_or_broken_by_a_missed_one(
        sessions: Any, demo_store_template: Path) -> None:
    kept, missed, *_ = [d for d in _debts(demo_store_template) if d[2] >= 6000][5:]
    first_due = TODAY + timedelta(days=7)

    from agent_desktop.domain.collections import plan_arrangement

    plan = plan_arrangement(6000, 3, first_due, TODAY, monthly=True)

    def arrange(debt: tuple[str, str, int], tag: str) -> list[str]:
        ids = [f"{tag}{i}" * 16 for i in range(1, 4)]
        _apply(sessions, "record_collection_outcome", _outcome(
            debt, f"{tag}0" * 16, outcome="arrangement", arrangement={
                "id": f"{tag}f" * 16, "total_cents": 6000, "frequency": "monthly",
                "installments": [{"id": ids[i], "due_on": due.isoformat(),
                                  "amount_cents": cents}
                                 for i, (due, cents) in enumerate(plan)]}))
        return ids

    kept_parts, missed_parts = arrange(kept, "a"), arrange(missed, "b")
    # 2,500 before the first date pays the first installment, 500 towards the second.
    _pay(sessions, kept[1], "c3" * 16, 2500, NOW + timedelta(days=2))
    _follow(sessions, NOW + timedelta(days=2, hours=1))
    assert [_row(sessions, "arrangement_installments", i)["status"]
            for i in kept_parts] == ["paid", "scheduled", "scheduled"]
    assert _row(sessions, "payment_arrangements", "af" * 16)["paid_cents"] == 2500
    # Nothing paid on the other one: still active until the first date and its day of
    # grace have passed, then its first installment is missed and it is broken.
    _follow(sessions, datetime.combine(first_due + timedelta(days=1), datetime.min.time(),
                                       tzinfo=UTC) + timedelta(hours=12))
    assert _row(sessions, "payment_arrangements", "bf" * 16)["status"] == "active"
    _follow(sessions, datetime.combine(first_due + timedelta(days=2), datetime.min.time(),
                                       tzinfo=UTC) + timedelta(hours=1))
    assert _row(sessions, "payment_arrangements", "bf" * 16)["status"] == "broken"
    assert _row(sessions, "arrangement_installments", missed_parts[0])["status"] == "missed"
    # The rest paid in one go: every installment paid, the arrangement completed.
    _pay(sessions, kept[1], "c4" * 16, 3500, NOW + timedelta(days=20))
    _follow(sessions, NOW + timedelta(days=20, hours=1))
    assert [_row(sessions, "arrangement_installments", i)["status"]
            for i in kept_parts] == ["paid", "paid", "paid"]
    assert _row(sessions, "payment_arrangements", "af" * 16)["status"] == "completed"
