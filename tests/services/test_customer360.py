"""The 360 shows what the ledger says: balance, aging, badges; notes are audited."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import add_note, load_360
from agent_desktop.storage.store import Store

AS_OF = date(2026, 11, 15)


def _past_due_customer(store: Store) -> str:
    conn = sqlite3.connect(store.path)
    cid = conn.execute(
        "SELECT customer_id FROM collection_accounts ORDER BY customer_id LIMIT 1"
    ).fetchone()[0]
    conn.close()
    return str(cid)


def _balance_in_sql(store: Store, cid: str) -> int:
    conn = sqlite3.connect(store.path)
    billed = conn.execute("SELECT coalesce(sum(total_cents),0) FROM invoices"
                          " WHERE customer_id = ?", (cid,)).fetchone()[0]
    paid = conn.execute(
        "SELECT coalesce(sum(CASE entry WHEN 'payment' THEN amount_cents ELSE -amount_cents"
        " END),0) FROM payments WHERE customer_id = ? AND status IN ('settled','authorized')",
        (cid,)).fetchone()[0]
    adjusted = conn.execute(
        "SELECT coalesce(sum(CASE direction WHEN 'debit' THEN amount_cents ELSE -amount_cents"
        " END),0) FROM adjustments WHERE customer_id = ? AND status = 'posted'",
        (cid,)).fetchone()[0]
    conn.close()
    return int(billed - paid + adjusted)


def test_the_360_balance_equals_the_ledger_and_past_due_shows_as_a_badge(
        store: Store) -> None:
    cid = _past_due_customer(store)
    data = load_360(store, cid, as_of=AS_OF)
    assert data.balance_cents == _balance_in_sql(store, cid)
    assert data.aging.past_due > 0
    assert any(b.text.startswith("Past due") and b.level == "danger" for b in data.badges)
    assert data.ledger[0].balance_cents == data.balance_cents  # newest first
    assert len(data.months) == 24
    assert data.account_number.count("-") == 2


def test_a_short_history_window_still_carries_the_older_balance(store: Store) -> None:
    cid = _past_due_customer(store)
    full = load_360(store, cid, as_of=AS_OF, months=24)
    short = load_360(store, cid, as_of=AS_OF, months=6)
    assert short.balance_cents == full.balance_cents
    assert len(short.ledger) <= len(full.ledger)


def test_a_note_is_saved_once_with_its_audit_row_and_outbox_mutation(store: Store) -> None:
    cid = _past_due_customer(store)
    who = agent_by_username(store, "agent")
    assert who is not None and who.display_name == "Dana Reyes"
    added = add_note(store, who, cid, "  Promised to pay Friday.  ")
    assert added.note.body == "Promised to pay Friday."
    assert cid in added.changes.customers
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM notes WHERE id = ?",
                        (added.note.id,)).fetchone()[0] == 1
    assert conn.execute("SELECT actor_id, action FROM audit_log").fetchall() == [
        (who.agent_id, "note.add")]
    name, status = conn.execute("SELECT name, status FROM sync_outbox").fetchone()
    conn.close()
    assert (name, status) == ("add_note", "pending")
    assert load_360(store, cid, as_of=AS_OF).notes[0].id == added.note.id


@pytest.mark.parametrize("body, message", [
    ("   ", "The note is empty"),
    ("x" * 4001, "keep it under 4,000"),
])
def test_a_bad_note_is_refused_with_a_clear_message(store: Store, body: str,
                                                     message: str) -> None:
    who = AgentContext(None, "agent", "Dana Reyes", "agent")
    with pytest.raises(UserFacingError, match=message):
        add_note(store, who, _past_due_customer(store), body)
