"""The store file: migrations, pragmas, and environment trouble told plainly."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from agent_desktop.services.context import AgentContext
from agent_desktop.services.customer360 import add_note
from agent_desktop.storage import audit
from agent_desktop.storage.models import (
    AuditEntry,
    ContactPoint,
    Customer,
    Invoice,
    Note,
    OutboxMutation,
)
from agent_desktop.storage.store import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    Store,
    StoreError,
    StoreProblem,
    current_revision,
    make_engine,
    open_store,
    upgrade,
)

WHO = AgentContext(None, "tester", "Test Agent", "agent", workstation="ws-1")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_store_is_created_at_the_newest_revision_with_safe_pragmas(tmp_path: Path) -> None:
    store = open_store(tmp_path / "new.sqlite3")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        tables = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='table'")}
    store.close()
    assert current_revision(tmp_path / "new.sqlite3") == HEAD_REVISION
    for needed in ("customers", "contact_points", "addresses", "products", "bundles",
                   "promotions", "services", "orders", "order_lines", "invoices",
                   "invoice_lines", "payment_methods", "payments", "adjustments", "cases",
                   "case_events", "knowledge_articles", "interactions", "offers_shown",
                   "contact_attempts", "promises_to_pay", "payment_arrangements",
                   "contact_restrictions", "notes", "audit_log", "sync_outbox",
                   "sync_state", "agents", "name_tokens"):
        assert needed in tables


def test_the_build_knows_alembics_newest_revision() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_a_store_from_the_previous_revision_is_upgraded_and_keeps_its_rows(
        tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    engine = make_engine(path)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customers (id, account_number, kind, first_name, last_name,"
            " business_name, display_name, first_norm, last_norm, status, customer_since,"
            " language, risk_score, credit_class, created_at, updated_at, version) VALUES"
            " ('0123456789abcdef0123456789abcdef', '100000009', 'consumer', 'Ana', 'Diaz',"
            " '', 'Ana Diaz', 'ana', 'diaz', 'active', '2020-01-01', 'en', 0, 'B',"
            " '2020-01-01 00:00:00.000000', '2020-01-01 00:00:00.000000', 1)")
    engine.dispose()
    assert current_revision(path) == "0001"

    store = open_store(path)
    assert current_revision(path) == HEAD_REVISION
    with store.reading() as session:
        assert session.scalar(select(Customer.display_name)) == "Ana Diaz"
        tokens = dict(session.execute(text("SELECT token, customers FROM name_tokens")).all())
    assert tokens == {"ana": 1, "diaz": 1}
    store.close()


def test_a_store_from_a_newer_version_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    before = _sha(path)
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert err.value.problem is StoreProblem.NEWER_VERSION
    assert "newer version of Agent Desktop" in err.value.message
    assert _sha(path) == before


def test_a_corrupt_file_is_refused_with_a_plain_message(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    before = _sha(path)
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert err.value.problem is StoreProblem.CORRUPT
    assert "damaged" in err.value.message
    assert _sha(path) == before


def test_another_sqlite_database_is_not_mistaken_for_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert err.value.problem is StoreProblem.CORRUPT


def _customer(store: Store) -> str:
    with store.reading() as session:
        cid = session.scalar(select(Customer.id).limit(1))
    assert cid
    return cid


def test_a_locked_store_says_so_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    store = open_store(path)
    with store.transaction() as session:
        session.add(Customer(account_number="100000009", display_name="Ana Diaz",
                             customer_since=date(2020, 1, 1)))
    store.engine.dispose()
    store = Store(path, make_engine(path, busy_timeout_ms=50))
    cid = _customer(store)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as err:
            add_note(store, WHO, cid, "Called about the bill")
        assert err.value.problem is StoreProblem.LOCKED
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with store.reading() as session:
        assert session.scalar(select(Note.id)) is None
    store.close()


def test_a_full_disk_loses_nothing_and_half_writes_nothing(store: Store) -> None:
    cid = _customer(store)
    add_note(store, WHO, cid, "First note, saved before the disk filled")
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def _fill_the_disk(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    with pytest.raises(StoreError) as err:
        add_note(store, WHO, cid, "x" * 3900)
    assert err.value.problem is StoreProblem.DISK_FULL
    assert "disk is full" in err.value.message
    event.remove(store.engine, "connect", _fill_the_disk)
    store.engine.dispose()
    with store.reading() as session:
        bodies = session.scalars(select(Note.body).where(Note.customer_id == cid)).all()
        assert bodies == ["First note, saved before the disk filled"]
        assert session.query(AuditEntry).count() == 1
        assert session.query(OutboxMutation).count() == 1


def test_constraints_keep_garbage_out(store: Store) -> None:
    cid = _customer(store)
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(ContactPoint(customer_id=cid, kind="phone", value="415-555-0132"))
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(Invoice(customer_id=cid, invoice_number="X-1", period_start=date.today(),
                            period_end=date.today(), issued_on=date.today(),
                            due_on=date.today(), subtotal_cents=1000, tax_cents=80,
                            total_cents=1000))
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(ContactPoint(customer_id="f" * 32, kind="email", value="a@b.example"))


def test_notes_and_the_audit_log_are_append_only(store: Store) -> None:
    cid = _customer(store)
    add_note(store, WHO, cid, "Promised a callback")
    with store.engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.exec_driver_sql("DELETE FROM notes")
    with store.engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.exec_driver_sql("UPDATE audit_log SET reason = 'edited'")
    with store.reading() as session:
        assert audit.verify_chain(session) is None
