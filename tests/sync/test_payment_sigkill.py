"""The same card payment submitted three times, the first time by a desk killed with
SIGKILL in the middle of pushing it: one ledger entry on the desk and on the server, one
gateway charge. The same payment id with another amount is refused (``reused_id``).

Each case runs _payment_sigkill_child.py as its own process (its own memory keyring, its
own AGENT_DESKTOP_HOME) against a real server on 127.0.0.1 seeded from the demo store;
the child takes the payment, syncs, and kills itself at the step (see test_sigkill.py for
the same with notes). The desk is then reopened here, the agent presses Pay again on the
same payment, the desk syncs, and the agent presses Pay once more.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults import PASSWORD, SyncServer, make_server_template

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import payments
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.models import new_id
from agent_desktop.storage.store import Store, open_store
from agent_desktop.sync.client import SyncClient
from agent_desktop.sync.protocol import Mutation
from server_stub.gateway import Gateway
from server_stub.snapshot import seed_from_store
from server_stub.store import open_engine

CHILD = Path(__file__).with_name("_payment_sigkill_child.py")
AMOUNT = 4275  # $42.75

# The steps of pushing the payment at which the desk is killed (see the child).
STEPS = ("after_outbox_write", "after_mark_sent", "after_sending", "before_recording_answer",
         "recording_answer_uncommitted")
# Steps at which the server surely has the payment when the process dies (after_sending
# races the server: the request is on the wire; either way is fine).
SERVER_HAS_IT = {"before_recording_answer", "recording_answer_uncommitted"}


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory,
                    demo_store_template: Path) -> tuple[Path, int]:
    """A server database with the demo users and every row of the demo store, made once
    per module: (its path, the change_seq the seed ends at)."""
    path = make_server_template(tmp_path_factory.mktemp("seeded-server"))
    engine = open_engine(f"sqlite:///{path}")
    try:
        seq = seed_from_store(engine, demo_store_template, None)
    finally:
        engine.dispose()
    return path, seq


@pytest.fixture
def server(tmp_path: Path, seeded_template: tuple[Path, int]) -> Iterator[SyncServer]:
    with SyncServer(tmp_path / "server.sqlite3", seeded_template[0]) as running:
        yield running


@pytest.fixture
def gateway(server: SyncServer) -> Iterator[Gateway]:
    found = Gateway.beside(f"sqlite:///{server.db_path}")
    yield found
    found.close()


def _rows(path: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _data(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _who(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _card_customer(store_path: Path) -> tuple[str, str]:
    [(customer_id, method_id)] = _rows(
        store_path, "SELECT customer_id, id FROM payment_methods WHERE kind = 'card' "
        "AND status = 'active' AND exp_year >= 2028 ORDER BY customer_id LIMIT 1")
    return str(customer_id), str(method_id)


def _run_child(tmp_path: Path, store_path: Path, server: SyncServer, customer_id: str,
               method_id: str, payment_id: str, step: str) -> None:
    marker = tmp_path / "killed-at"
    env = {**os.environ, "AGENT_DESKTOP_HOME": str(tmp_path / "child-home"),
           "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run(
        [sys.executable, str(CHILD), str(store_path), server.url, customer_id, method_id,
         payment_id, str(AMOUNT), step, str(marker)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr)
    assert marker.read_text() == step


@pytest.mark.parametrize("step", STEPS)
def test_a_payment_submitted_three_times_around_a_sigkill_is_charged_once(
        step: str, tmp_path: Path, demo_store_template: Path, server: SyncServer,
        gateway: Gateway, seeded_template: tuple[Path, int]) -> None:
    seed_seq = seeded_template[1]
    store_path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, store_path)
    store = open_store(store_path)
    try:
        sync_store.start_afresh(store, seed_seq)  # a desk new to this server
        client_id = sync_store.client_id(store)
    finally:
        store.close()
    customer_id, method_id = _card_customer(store_path)
    baseline = {r[0] for r in _rows(store_path, "SELECT id FROM payments")}
    payment_id = payments.new_payment_id()  # made when the dialog opened

    # 1: the desk takes the payment and dies at the step of pushing it.
    _run_child(tmp_path, store_path, server, customer_id, method_id, payment_id, step)
    charged_while_dead = len(gateway.charges_for(payment_id))
    assert charged_while_dead <= 1
    if step in SERVER_HAS_IT:
        assert charged_while_dead == 1
    if step in ("after_outbox_write", "after_mark_sent"):
        assert charged_while_dead == 0

    store = open_store(store_path)
    service = SyncService(store, server.url, "agent")
    try:
        service.login(PASSWORD)
        who = _who(store)
        before = load_360(store, customer_id).balance_cents
        # 2: started again, the agent presses Pay on the same payment (the same id).
        again = payments.take_payment(store, who, customer_id, AMOUNT, "card",
                                      payment_id=payment_id, payment_method_id=method_id)
        assert again.payment_id == payment_id
        assert sync_store.pending_count(store) == 1
        status, _ = service.sync()
        assert status.online and status.pending == 0 and status.rejected == 0, status
        # 3: and once more after the answer came back.
        payments.take_payment(store, who, customer_id, AMOUNT, "card",
                              payment_id=payment_id, payment_method_id=method_id)
        status, _ = service.sync()
        assert status.online and status.pending == 0 and status.rejected == 0, status
        result = payments.payment_result(store, payment_id)
        assert result is not None and result.status == "settled"
        assert load_360(store, customer_id).balance_cents == before - AMOUNT

        # The same id with another amount: refused on the desk...
        with pytest.raises(UserFacingError, match="different amount"):
            payments.take_payment(store, who, customer_id, AMOUNT + 1, "card",
                                  payment_id=payment_id, payment_method_id=method_id)
        [(args,)] = _rows(store_path, "SELECT args FROM sync_outbox")
        taken = _data(args)
    finally:
        service.close()
        store.close()

    assert _rows(store_path, "PRAGMA integrity_check") == [("ok",)]
    # ...and on the server, from another installation that pushes it past any desk
    # (as a desk that lost its store would): the same fields are the same payment,
    # another amount is refused, and nothing is charged again.
    other = SyncClient(server.url, new_id())
    try:
        other.login("agent", PASSWORD)
        answer = other.push([
            Mutation(mutation_id=1, id=new_id(), name="take_payment", args=taken),
            Mutation(mutation_id=2, id=new_id(), name="take_payment",
                     args={**taken, "amount_cents": AMOUNT + 1}),
        ])
    finally:
        other.close()
    assert [r.status for r in answer.results] == ["applied", "rejected"], answer.results
    assert answer.results[1].code == "reused_id"
    assert "already used for a different payment" in answer.results[1].reason

    # One ledger entry on the desk: one payments row (that id), settled, one outbox
    # mutation, one audit row; no other new payment for anyone.
    assert _rows(store_path, "SELECT status, amount_cents FROM payments WHERE id = ?",
                 payment_id) == [("settled", AMOUNT)]
    new_rows = [r[0] for r in _rows(store_path, "SELECT id FROM payments")
                if r[0] not in baseline]
    assert new_rows == [payment_id]
    outbox = _rows(store_path, "SELECT mutation_id, name, status, args FROM sync_outbox")
    assert [(m, n, s, _data(a)["id"]) for m, n, s, a in outbox] == \
        [(1, "take_payment", "applied", payment_id)]
    assert _rows(store_path, "SELECT entity_id FROM audit_log WHERE action = "
                 "'payment.take'") == [(payment_id,)]
    # One on the server: that id once, no other payment written since the seed.
    on_server = [(i, _data(d)) for i, d in _rows(
        server.db_path, 'SELECT id, data FROM "rows" WHERE "table" = ? AND change_seq > ?',
        "payments", seed_seq)]
    assert [i for i, _ in on_server] == [payment_id]
    assert on_server[0][1]["status"] == "settled"
    assert on_server[0][1]["amount_cents"] == AMOUNT
    logged = _rows(server.db_path, "SELECT mutation_id, name, status FROM mutation_log "
                   "WHERE client_id = ?", client_id)
    assert logged == [(1, "take_payment", "applied")]
    # One charge at the gateway.
    [charge] = gateway.charges_for(payment_id)
    assert charge.status == "succeeded" and charge.amount_cents == AMOUNT
    assert gateway.charge_count() == 1
