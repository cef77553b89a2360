"""The demo operator's data: deterministic, realistic, consistent, and readable by the ORM."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import select

from agent_desktop.domain import billing
from agent_desktop.domain.billing import EntryKind, LedgerEntry
from agent_desktop.storage.demo_data import generate
from agent_desktop.storage.models import Customer, Interaction, Invoice
from agent_desktop.storage.store import open_store

AS_OF = date(2026, 11, 15)


def _table_digest(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    out = {}
    for t in tables:
        h = hashlib.sha256()
        # Articles are reference data stamped when loaded; their content is compared.
        sql = ("SELECT code, title, body_md FROM knowledge_articles ORDER BY 1"
               if t == "knowledge_articles" else f"SELECT * FROM {t} ORDER BY 1")
        for row in conn.execute(sql):
            h.update(repr(row).encode())
        out[t] = h.hexdigest()
    conn.close()
    return out


def test_the_same_seed_makes_the_same_store_and_another_seed_does_not(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.sqlite3", 120, 11, as_of=AS_OF)
    b = generate(tmp_path / "b.sqlite3", 120, 11, as_of=AS_OF)
    c = generate(tmp_path / "c.sqlite3", 120, 12, as_of=AS_OF)
    assert a.counts == b.counts
    digest_a = _table_digest(a.path)
    assert digest_a == _table_digest(b.path)
    assert digest_a["customers"] != _table_digest(c.path)["customers"]


def test_an_existing_file_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "keep.sqlite3"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        generate(target, 10, 1, as_of=AS_OF)
    assert target.read_bytes() == b"precious"


def test_the_store_is_consistent(store_path: Path) -> None:
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    mismatched = conn.execute(
        "SELECT count(*) FROM invoices i WHERE EXISTS (SELECT 1 FROM invoice_lines l"
        " WHERE l.invoice_id = i.id) AND total_cents <> (SELECT sum(amount_cents)"
        " FROM invoice_lines l WHERE l.invoice_id = i.id)").fetchone()[0]
    assert mismatched == 0
    names = {r[0] for r in conn.execute(
        "SELECT first_norm FROM customers UNION SELECT last_norm FROM customers")}
    tokens = {r[0] for r in conn.execute("SELECT token FROM name_tokens")}
    assert names - {""} <= tokens
    assert conn.execute("SELECT count(*) FROM products").fetchone()[0] >= 25
    assert conn.execute("SELECT count(*) FROM knowledge_articles").fetchone()[0] >= 60
    users = dict(conn.execute("SELECT username, display_name FROM agents"))
    assert users["agent"] == "Dana Reyes" and users["supervisor"] == "Sam Okafor"
    conn.close()


def test_phones_are_valid_e164_and_customers_span_time_zones(store_path: Path) -> None:
    conn = sqlite3.connect(store_path)
    phones = [r[0] for r in conn.execute("SELECT value FROM contact_points WHERE kind='phone'")]
    assert phones
    for number in phones:
        parsed = phonenumbers.parse(number, None)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    zones = {r[0] for r in conn.execute("SELECT DISTINCT time_zone FROM addresses")}
    assert len(zones) >= 4
    without_address = conn.execute(
        "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM addresses a"
        " WHERE a.customer_id = c.id AND a.kind IN ('service','both'))").fetchone()[0]
    assert without_address == 0
    conn.close()


def test_past_due_accounts_exist_in_every_aging_bucket(store_path: Path) -> None:
    """Computed here from invoices and payments with the domain's aging, independently of
    the generator's own bookkeeping."""
    conn = sqlite3.connect(store_path)
    entries: dict[str, list[LedgerEntry]] = {}
    for cid, iid, issued, due, total in conn.execute(
            "SELECT customer_id, id, issued_on, due_on, total_cents FROM invoices"):
        entries.setdefault(cid, []).append(LedgerEntry(
            iid, EntryKind.INVOICE, date.fromisoformat(issued), total,
            due_on=date.fromisoformat(due)))
    for cid, pid, at, amount in conn.execute(
            "SELECT customer_id, id, received_at, amount_cents FROM payments"
            " WHERE status = 'settled' AND entry = 'payment'"):
        entries.setdefault(cid, []).append(LedgerEntry(
            pid, EntryKind.PAYMENT, date.fromisoformat(at[:10]), -amount))
    for cid, aid, day, direction, amount in conn.execute(
            "SELECT customer_id, id, posted_on, direction, amount_cents FROM adjustments"
            " WHERE status = 'posted'"):
        kind = EntryKind.CREDIT_ADJUSTMENT if direction == "credit" else EntryKind.DEBIT_ADJUSTMENT
        entries.setdefault(cid, []).append(LedgerEntry(
            aid, kind, date.fromisoformat(day), billing.signed_cents(kind, amount)))
    conn.close()
    buckets = {"1-30": 0, "31-60": 0, "61-90": 0, "90+": 0}
    for items in entries.values():
        aged = billing.aging(items, AS_OF)
        if aged.days_90_plus:
            buckets["90+"] += 1
        elif aged.days_61_90:
            buckets["61-90"] += 1
        elif aged.days_31_60:
            buckets["31-60"] += 1
        elif aged.days_1_30:
            buckets["1-30"] += 1
    assert all(n > 0 for n in buckets.values()), buckets
    share = sum(buckets.values()) / len(entries)
    assert 0.05 <= share <= 0.2, share


def test_interactions_have_realistic_handle_times(store_path: Path) -> None:
    conn = sqlite3.connect(store_path)
    talk = sorted(r[0] for r in conn.execute(
        "SELECT talk_seconds FROM interactions WHERE channel = 'call' AND NOT abandoned"))
    abandoned = conn.execute(
        "SELECT avg(abandoned) FROM interactions WHERE channel='call' AND direction='inbound'"
    ).fetchone()[0]
    queues = {r[0] for r in conn.execute("SELECT DISTINCT queue FROM interactions")}
    agents = conn.execute("SELECT count(DISTINCT agent_id) FROM interactions").fetchone()[0]
    conn.close()
    median = talk[len(talk) // 2]
    assert 150 <= median <= 600, median
    assert 0.01 <= abandoned <= 0.1
    assert {"billing", "tech_support", "sales"} <= queues
    assert agents >= 10


def test_rows_load_through_the_orm(store_path: Path) -> None:
    store = open_store(store_path)
    with store.reading() as session:
        customer = session.scalars(select(Customer).limit(1)).one()
        invoice = session.scalars(select(Invoice).limit(1)).one()
        call = session.scalars(select(Interaction).where(
            Interaction.answered_at.is_not(None)).limit(1)).one()
        assert len(customer.id) == 32 and customer.account_number.isdigit()
        assert invoice.total_cents == invoice.subtotal_cents + invoice.tax_cents
        assert invoice.due_on - invoice.issued_on == timedelta(days=21)
        assert call.offered_at.tzinfo is not None
        assert call.answered_at is not None and call.answered_at >= call.offered_at
    store.close()
