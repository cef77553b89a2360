"""A card-on-file payment while the server is away, and a payment whose push answer is
lost after the server committed it: charged once in both cases, and never while offline.

A real sync server (server_stub's app on 127.0.0.1 over a SQLite file, seeded from the
demo store) with its gateway stub in a file beside it; the desk is a real SyncService on
its own copy of the demo store. "The server is away" is a SyncService pointed at a port
nobody listens on; a lost answer is faults.FaultTransport wrapping the real transport.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults import (
    ANSWERED,
    COMMITS_DURING_FAULT,
    PASSWORD,
    PUSH,
    Fault,
    FaultTransport,
    SyncServer,
    make_server_template,
)

from agent_desktop.services import payments
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, open_store
from agent_desktop.sync.client import SyncClient
from server_stub.gateway import Gateway
from server_stub.snapshot import seed_from_store
from server_stub.store import open_engine

AMOUNT = 3150  # $31.50


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
    """The server's gateway stub, read from its own file (it outlives server restarts)."""
    found = Gateway.beside(f"sqlite:///{server.db_path}")
    yield found
    found.close()


@pytest.fixture
def desk(tmp_path: Path, demo_store_template: Path,
         seeded_template: tuple[Path, int]) -> Iterator[Store]:
    """A desk's store: the demo store the server was seeded from, new to that server."""
    path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, path)
    store = open_store(path)
    sync_store.start_afresh(store, seeded_template[1])
    yield store
    store.close()


def _who(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _card_customer(store: Store) -> tuple[str, str]:
    """A customer with an active card on file that is still valid for years."""
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT customer_id, id FROM payment_methods WHERE kind = 'card' "
            "AND status = 'active' AND exp_year >= 2028 ORDER BY customer_id LIMIT 1").one()
    return str(row[0]), str(row[1])


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_rows(server: SyncServer, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _server_payment(server: SyncServer, payment_id: str) -> list[dict[str, Any]]:
    """Every payments row the server holds under ``payment_id``."""
    return [json.loads(d) if isinstance(d, str) else d for (d,) in _server_rows(
        server, 'SELECT data FROM "rows" WHERE "table" = ? AND id = ?', "payments",
        payment_id)]


def _new_server_payments(server: SyncServer, seed_seq: int, customer_id: str) -> int:
    """Payments rows for ``customer_id`` the server wrote after it was seeded (a second
    ledger entry under another id would show here)."""
    rows = _server_rows(server, 'SELECT data FROM "rows" WHERE "table" = ? AND '
                        "change_seq > ?", "payments", seed_seq)
    datas = [json.loads(d) if isinstance(d, str) else d for (d,) in rows]
    return sum(1 for d in datas if d.get("customer_id") == customer_id)


def _desk_payments(store: Store, payment_id: str) -> list[tuple[str, int]]:
    with store.engine.connect() as conn:
        return [(str(s), int(a)) for s, a in conn.exec_driver_sql(
            "SELECT status, amount_cents FROM payments WHERE id = ?", (payment_id,))]


def _take(store: Store, customer_id: str, method_id: str, payment_id: str,
          amount: int = AMOUNT) -> payments.PaymentQueued:
    return payments.take_payment(store, _who(store), customer_id, amount, "card",
                                 payment_id=payment_id, payment_method_id=method_id)


def _status(store: Store, payment_id: str) -> str:
    result = payments.payment_result(store, payment_id)
    assert result is not None
    return result.status


def test_a_payment_taken_offline_waits_then_is_charged_once(
        desk: Store, server: SyncServer, gateway: Gateway,
        seeded_template: tuple[Path, int]) -> None:
    customer_id, method_id = _card_customer(desk)
    before = load_360(desk, customer_id).balance_cents
    payment_id = payments.new_payment_id()

    # The sync server cannot be reached: a desk that logged in earlier (it has a token)
    # but whose server is gone from the network.
    offline = SyncService(desk, f"http://127.0.0.1:{_closed_port()}", "agent")
    offline.client.token = "a-token-from-before-the-outage"
    try:
        queued = _take(desk, customer_id, method_id, payment_id)
        assert queued.payment_id == payment_id and "$31.50 on" in queued.summary
        for _ in range(3):  # the app retries now and then while offline
            status, _ = offline.sync()
            assert not status.online and not status.needs_login, status
            assert "cannot be reached" in status.detail, status.detail
            assert status.pending == 1 and status.rejected == 0, status
            # The agent presses Pay again while waiting: the same payment, not another.
            _take(desk, customer_id, method_id, payment_id)
    finally:
        offline.close()

    assert _status(desk, payment_id) == "pending"
    assert _desk_payments(desk, payment_id) == [("pending", AMOUNT)]
    assert load_360(desk, customer_id).balance_cents == before
    assert gateway.charge_count() == 0 and gateway.charges_for(payment_id) == []
    assert _server_payment(server, payment_id) == []

    # The connection returns: the same store, syncing with the real server.
    online = SyncService(desk, server.url, "agent")
    try:
        online.login(PASSWORD)
        for _ in range(2):  # a second pass changes nothing
            status, _ = online.sync()
            assert status.online and status.pending == 0 and status.rejected == 0, status
    finally:
        online.close()

    result = payments.payment_result(desk, payment_id)
    assert result is not None and result.status == "settled"
    assert result.confirmation_number.startswith("PAY-")
    assert _desk_payments(desk, payment_id) == [("settled", AMOUNT)]
    assert load_360(desk, customer_id).balance_cents == before - AMOUNT
    [charge] = gateway.charges_for(payment_id)
    assert charge.status == "succeeded" and charge.amount_cents == AMOUNT
    assert gateway.charge_count() == 1
    [on_server] = _server_payment(server, payment_id)
    assert on_server["status"] == "settled" and on_server["amount_cents"] == AMOUNT
    assert _new_server_payments(server, seeded_template[1], customer_id) == 1


# Every fault after which the server has committed the push: the answer is lost, cut,
# late, replaced by a 5xx, or the server restarts before replying; or the push is sent
# twice by a retrying proxy.
AFTER_COMMIT = [f for f, commits in COMMITS_DURING_FAULT.items() if commits]


@pytest.mark.parametrize("fault", AFTER_COMMIT, ids=str)
def test_a_push_answer_lost_after_the_commit_charges_once(
        fault: Fault, desk: Store, server: SyncServer, gateway: Gateway,
        seeded_template: tuple[Path, int]) -> None:
    transport = FaultTransport(on_restart=server.restart)
    service = SyncService(desk, server.url, "agent")
    service.client.close()
    # The service's own client, rebuilt over the fault transport (same URL and id).
    client = SyncClient(server.url, sync_store.client_id(desk), transport=transport)
    service.client = service.engine.client = client
    try:
        service.login(PASSWORD)
        customer_id, method_id = _card_customer(desk)
        before = load_360(desk, customer_id).balance_cents
        payment_id = payments.new_payment_id()
        _take(desk, customer_id, method_id, payment_id)

        transport.inject(fault, PUSH)
        status, _ = service.sync()
        assert transport.armed == 0, "the fault never met the push"
        assert status.online == (fault in ANSWERED), status
        # The server committed and the gateway charged, whatever the desk heard.
        assert [c.status for c in gateway.charges_for(payment_id)] == ["succeeded"]
        assert len(_server_payment(server, payment_id)) == 1
        if fault not in ANSWERED:
            # The desk never heard back: still pending, still queued, balance unmoved.
            assert _status(desk, payment_id) == "pending"
            assert status.pending == 1
            assert load_360(desk, customer_id).balance_cents == before
            # The agent presses Pay again on the same dialog: the same payment id.
            _take(desk, customer_id, method_id, payment_id)

        # The network is clean again: the desk pushes the same mutation once more.
        for _ in range(2):
            status, _ = service.sync()
            assert status.online and status.pending == 0 and status.rejected == 0, status
    finally:
        service.close()
        transport.close()

    assert _status(desk, payment_id) == "settled"
    assert _desk_payments(desk, payment_id) == [("settled", AMOUNT)]
    assert load_360(desk, customer_id).balance_cents == before - AMOUNT
    assert len(gateway.charges_for(payment_id)) == 1
    assert gateway.charge_count() == 1
    [on_server] = _server_payment(server, payment_id)
    assert on_server["status"] == "settled"
    assert _new_server_payments(server, seeded_template[1], customer_id) == 1
    client_id = sync_store.client_id(desk)
    logged = _server_rows(server, "SELECT mutation_id, name, status FROM mutation_log "
                          "WHERE client_id = ? ORDER BY mutation_id", client_id)
    assert logged == [(1, "take_payment", "applied")]
    with desk.engine.connect() as conn:
        queued = conn.exec_driver_sql("SELECT mutation_id, name, status FROM sync_outbox"
                                      ).all()
    assert [tuple(r) for r in queued] == [(1, "take_payment", "applied")]
