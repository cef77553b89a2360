"""The audit chains can be checked from the command line, and tampering is named."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from agent_desktop.__main__ import main as desk_main
from agent_desktop.services import payments
from agent_desktop.services.context import agent_by_username
from agent_desktop.storage.store import Store
from server_stub import audit
from server_stub.__main__ import main as server_main
from server_stub.__main__ import prepare
from server_stub.store import open_engine


def test_the_server_chain_is_checked_and_the_first_edited_row_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "server.sqlite3"
    prepare(str(path))
    engine = open_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session, session.begin():
            for i in range(5):
                audit.append(session, at=datetime(2026, 11, 24, 9, i, tzinfo=UTC),
                             actor_id="a" * 32, actor_role="agent", action="payment.take",
                             entity_type="payment", entity_id=f"{i:032x}",
                             after={"amount_cents": 100 * (i + 1)})
    finally:
        engine.dispose()
    assert server_main(["--verify-audit", "--database", str(path)]) == 0
    assert "intact (5 rows checked)" in capsys.readouterr().out
    conn = sqlite3.connect(path)
    conn.execute("UPDATE audit_log SET after = '{\"amount_cents\": 1}' WHERE seq = 3")
    conn.commit()
    conn.close()
    assert server_main(["--verify-audit", "--database", str(path)]) == 3
    err = capsys.readouterr().err
    assert "BROKEN at row 3" in err and "2 rows before it are intact" in err
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM audit_log WHERE seq = 3")
    conn.commit()
    conn.close()
    assert server_main(["--verify-audit", "--database", str(path)]) == 3
    assert "row 3 is missing" in capsys.readouterr().err


def test_the_desk_chain_covers_payments_and_names_a_tampered_row(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    who = agent_by_username(store, "agent")
    assert who is not None
    with store.engine.connect() as conn:
        customer_id, method_id = conn.exec_driver_sql(
            "SELECT customer_id, id FROM payment_methods WHERE status = 'active' "
            "AND kind = 'card' LIMIT 1").one()
    payments.take_payment(store, who, str(customer_id), 1234, "card",
                          payment_id=payments.new_payment_id(),
                          payment_method_id=str(method_id))
    path = store.path
    store.close()
    assert desk_main(["verify-audit", "--store", str(path)]) == 0
    assert "intact" in capsys.readouterr().out
    conn = sqlite3.connect(path)
    seq = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
    # The store refuses the edit; someone with the file drops the guard first.
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET after = '{}' WHERE seq = ?", (seq,))
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET after = '{}' WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    assert desk_main(["verify-audit", "--store", str(path)]) == 3
    assert f"BROKEN at row {seq}" in capsys.readouterr().err
