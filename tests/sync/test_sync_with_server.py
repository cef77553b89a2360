"""Real clients, each with its own SQLite store, against a real server on 127.0.0.1."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import outbox, sync_store
from agent_desktop.storage.store import Store, open_store
from agent_desktop.sync.client import SyncClient
from server_stub.__main__ import prepare
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer

PASSWORD = "demo"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    with EmbeddedServer(create_app(url)) as running:
        yield running


@pytest.fixture
def stores(demo_store_template: Path, tmp_path: Path) -> Iterator[list[Store]]:
    opened = []
    for name in ("a", "b"):
        path = tmp_path / f"client-{name}.sqlite3"
        shutil.copyfile(demo_store_template, path)
        opened.append(open_store(path))
    yield opened
    for s in opened:
        s.close()


_open: list[SyncService] = []


@pytest.fixture(autouse=True)
def _close_services() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def _swap_client(service: SyncService, client: SyncClient) -> None:
    service.client.close()
    service.client = service.engine.client = client


def _service(store: Store, server: EmbeddedServer, username: str,
             transport: httpx.BaseTransport | None = None) -> SyncService:
    service = SyncService(store, server.url, username)
    _open.append(service)
    if transport is not None:
        _swap_client(service, SyncClient(server.url, sync_store.client_id(store),
                                         transport=transport))
    service.login(PASSWORD)
    return service


def _agent(store: Store, username: str) -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _a_customer(store: Store) -> str:
    conn = sqlite3.connect(store.path)
    cid = conn.execute("SELECT id FROM customers ORDER BY account_number LIMIT 1").fetchone()[0]
    conn.close()
    return str(cid)


def _notes(store: Store) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(store.path)
    rows = {(r[0], r[1], r[2]) for r in conn.execute("SELECT id, customer_id, body FROM notes")}
    conn.close()
    return rows


def _server_notes(server: EmbeddedServer) -> set[tuple[str, str, str]]:
    client = SyncClient(server.url, "observer-client-0001")
    client.login("supervisor", PASSWORD)
    rows: set[tuple[str, str, str]] = set()
    cursor = None
    while True:
        page = client.pull(cursor)
        rows |= {(c.row["id"], c.row["customer_id"], c.row["body"]) for c in page.changes
                 if c.table == "notes"}
        cursor = page.cursor
        if not page.more:
            break
    client.close()
    return rows


def test_two_agents_notes_reach_each_other_and_every_store_equals_the_server(
        server: EmbeddedServer, stores: list[Store]) -> None:
    a, b = stores
    sync_a, sync_b = _service(a, server, "agent"), _service(b, server, "supervisor")
    cid = _a_customer(a)
    who_a, who_b = _agent(a, "agent"), _agent(b, "supervisor")
    before = _notes(a)
    add_note(a, who_a, cid, "Customer asked for paper bills.")
    add_note(b, who_b, cid, "Supervisor approved the late-fee waiver.")
    add_note(a, who_a, cid, "Called back; bills now on paper.")

    for service in (sync_a, sync_b, sync_a):
        status, _ = service.sync()
        assert status.online and status.pending == 0, status

    server_rows = _server_notes(server)
    assert len(server_rows) == 3
    assert _notes(a) - before == server_rows
    assert _notes(b) - before == server_rows


def test_offline_changes_wait_and_go_out_once_the_server_is_back(
        server: EmbeddedServer, stores: list[Store]) -> None:
    a = stores[0]
    service = _service(a, server, "agent")
    who = _agent(a, "agent")
    add_note(a, who, _a_customer(a), "Written while the network was down.")
    _swap_client(service, SyncClient("http://127.0.0.1:9", sync_store.client_id(a)))  # no one
    service.client.token = "whatever"
    status, _ = service.sync()
    assert not status.online and status.pending == 1
    assert "kept" in status.detail
    _swap_client(service, SyncClient(server.url, sync_store.client_id(a)))
    service.login(PASSWORD)
    status, _ = service.sync()
    assert status.online and status.pending == 0
    assert len(_server_notes(server)) == 1


class _LoseFirstPushAnswer(httpx.HTTPTransport):
    """The server commits the push, then the answer never arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/v1/sync/push" and self.lost == 0:
            response.read()
            self.lost += 1
            raise httpx.ReadError("connection dropped after the server answered", request=request)
        return response


def test_a_push_whose_answer_was_lost_is_not_applied_twice(
        server: EmbeddedServer, stores: list[Store]) -> None:
    a = stores[0]
    transport = _LoseFirstPushAnswer()
    service = _service(a, server, "agent", transport=transport)
    who = _agent(a, "agent")
    add_note(a, who, _a_customer(a), "Exactly once, please.")
    first, _ = service.sync()
    assert not first.online and first.pending == 1 and transport.lost == 1
    second, _ = service.sync()
    assert second.online and second.pending == 0
    assert [body for _, _, body in _server_notes(server)] == ["Exactly once, please."]


def test_a_change_the_server_refuses_is_listed_and_does_not_block_the_rest(
        server: EmbeddedServer, stores: list[Store]) -> None:
    a = stores[0]
    service = _service(a, server, "agent")
    who = _agent(a, "agent")
    cid = _a_customer(a)
    with a.transaction() as session:  # a mutation the domain rules refuse
        outbox.enqueue(session, "add_note", {"id": "f" * 32, "customer_id": cid, "body": " ",
                                             "created_at": "2026-11-20T10:00:00+00:00"})
    add_note(a, who, cid, "This one is fine.")
    status, _ = service.sync()
    assert status.online and status.pending == 0 and status.rejected == 1
    [refused] = sync_store.rejected(a)
    assert refused.name == "add_note" and refused.reason
    assert [body for _, _, body in _server_notes(server)] == ["This one is fine."]


def test_an_expired_session_asks_for_a_login_and_keeps_the_queue(
        server: EmbeddedServer, stores: list[Store]) -> None:
    a = stores[0]
    service = _service(a, server, "agent")
    who = _agent(a, "agent")
    add_note(a, who, _a_customer(a), "Kept while logged out.")
    service.client.token = "not-a-valid-token"
    status, _ = service.sync()
    assert status.needs_login and status.pending == 1
    assert status.headline() == "Sync paused: log in again"
    service.login(PASSWORD)
    status, _ = service.sync()
    assert status.online and status.pending == 0
