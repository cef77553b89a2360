"""A server seeded with the whole customer base, and desks joining it.

Three desks, each with its own SQLite file, against real servers on 127.0.0.1 sharing one
database: the store that seeded the server, a new desk that takes the snapshot, and a new
desk whose server offers no snapshot (it pages through the full history). After notes on
two of them and a sync of all, every desk's synced rows equal the server's.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.domain.synced import SYNCED_TABLES
from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import outbox, sync_store
from agent_desktop.storage.store import Store, open_store
from agent_desktop.sync.client import Offline, SyncClient
from server_stub.__main__ import prepare
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer
from server_stub.snapshot import (
    SeedError,
    Snapshots,
    _seed_any,
    default_snapshot_dir,
    seed_from_store,
    store_rows,
)
from server_stub.store import SyncedRow, open_engine

PASSWORD = "demo"


@pytest.fixture
def seeded(demo_store_template: Path, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A server database seeded from a copy of the demo store; (URL, seed change_seq)."""
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    engine = open_engine(url)
    try:
        seq = seed_from_store(engine, demo_store_template, default_snapshot_dir(url))
    finally:
        engine.dispose()
    yield url, seq


_services: list[SyncService] = []
_stores: list[Store] = []


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    while _services:
        _services.pop().close()
    while _stores:
        _stores.pop().close()


def _store(path: Path) -> Store:
    store = open_store(path)
    _stores.append(store)
    return store


def _service(store: Store, server: EmbeddedServer, username: str) -> SyncService:
    service = SyncService(store, server.url, username)
    _services.append(service)
    service.login(PASSWORD)
    return service


def _desk_rows(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    conn = sqlite3.connect(path)
    try:
        return {table: {row_id: sync_store.stored_row(table, data)
                        for row_id, data in store_rows(conn, table)}
                for table in SYNCED_TABLES}
    finally:
        conn.close()


def _server_rows(url: str) -> dict[str, dict[str, dict[str, Any]]]:
    engine = open_engine(url)
    found: dict[str, dict[str, dict[str, Any]]] = {table: {} for table in SYNCED_TABLES}
    try:
        with Session(engine) as session:
            for row in session.scalars(select(SyncedRow)):
                found[row.table_name][row.id] = sync_store.stored_row(row.table_name, row.data)
    finally:
        engine.dispose()
    return found


def _a_customer(store: Store) -> str:
    conn = sqlite3.connect(store.path)
    try:
        return str(conn.execute(
            "SELECT id FROM customers ORDER BY account_number LIMIT 1").fetchone()[0])
    finally:
        conn.close()


def test_new_desks_join_a_seeded_server_and_every_desk_equals_the_server(
        seeded: tuple[str, int], demo_store_template: Path, tmp_path: Path) -> None:
    url, seq = seeded
    origin_path = tmp_path / "origin.sqlite3"
    shutil.copyfile(demo_store_template, origin_path)
    origin = _store(origin_path)
    sync_store.start_afresh(origin, seq)  # the store that seeded the server
    fresh = _store(tmp_path / "fresh.sqlite3")
    paged = _store(tmp_path / "paged.sqlite3")
    assert sync_store.is_empty(fresh) and sync_store.is_empty(paged)

    # Two server processes over one database; the second offers no snapshot.
    with EmbeddedServer(create_app(url)) as server, \
            EmbeddedServer(create_app(url, snapshot_dir=None)) as plain:
        a = _service(origin, server, "agent")
        b = _service(fresh, server, "supervisor")
        c = _service(paged, plain, "agent")
        cid = _a_customer(origin)
        add_note(origin, agent_by_username(origin, "agent"), cid,  # type: ignore[arg-type]
                 "Written on the desk that seeded the server.")
        steps: list[tuple[str, float]] = []
        status, _ = b.sync(lambda what, fraction: steps.append((what, fraction)))
        assert status.online, status.detail
        assert steps and steps[-1][1] == pytest.approx(1.0)
        assert any(what.startswith("Downloading") for what, _ in steps)
        add_note(fresh, agent_by_username(fresh, "supervisor"), cid,  # type: ignore[arg-type]
                 "Written on the new desk after its first sync.")
        paging: list[tuple[str, float]] = []
        for service in (a, b, c, a):
            status, _ = service.sync(lambda what, f: paging.append((what, f)))
            assert status.online and status.pending == 0 and status.rejected == 0, status
        assert any(what.startswith("Receiving") for what, _ in paging)

    expected = _server_rows(url)
    assert sum(len(rows) for rows in expected.values()) == seq + 2
    for path in (origin_path, tmp_path / "fresh.sqlite3", tmp_path / "paged.sqlite3"):
        got = _desk_rows(path)
        for table in SYNCED_TABLES:
            assert got[table] == expected[table], f"{path.name}: {table} differs"
    # The lookup vocabulary came along too: a new desk finds customers by name at once.
    conn = sqlite3.connect(tmp_path / "paged.sqlite3")
    try:
        assert conn.execute("SELECT COUNT(*) FROM name_tokens").fetchone()[0] > 0
    finally:
        conn.close()


def test_a_desk_with_local_data_never_takes_the_snapshot(
        seeded: tuple[str, int], demo_store_template: Path, tmp_path: Path) -> None:
    url, _seq = seeded
    path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, path)
    desk = _store(path)
    with desk.transaction() as session:  # a change waiting to be sent
        outbox.enqueue(session, "add_note", {"id": "a" * 32, "customer_id": _a_customer(desk),
                                             "body": "kept", "created_at":
                                             "2026-11-20T10:00:00+00:00"})
    assert not sync_store.is_empty(desk)
    with EmbeddedServer(create_app(url)) as server:
        service = _service(desk, server, "agent")
        assert service.engine.first_sync() is None
        status, _ = service.sync()
    assert status.online and status.pending == 0


def test_a_damaged_snapshot_download_leaves_nothing_behind(
        seeded: tuple[str, int], tmp_path: Path) -> None:
    url, _seq = seeded
    found = Snapshots(default_snapshot_dir(url)).current()
    assert found is not None
    _info, path = found
    with path.open("r+b") as f:  # one byte rots on the server's disk
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))

    desk = _store(tmp_path / "fresh.sqlite3")
    with EmbeddedServer(create_app(url)) as server:
        client = SyncClient(server.url, sync_store.client_id(desk))
        try:
            client.login("agent", PASSWORD)
            info = client.snapshot_info()
            assert info is not None
            dest = tmp_path / "download.sqlite3"
            with pytest.raises(Offline, match="damaged"):
                client.download_snapshot(info, dest)
            assert not dest.exists()
        finally:
            client.close()
    assert sync_store.is_empty(desk) and sync_store.cursor(desk) is None


def test_snapshot_endpoints_need_a_login_and_say_when_there_is_none(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    prepare(url, seed_demo_users=True)
    with EmbeddedServer(create_app(url)) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/v1/sync/snapshot").status_code == 401
        assert http.get("/v1/sync/snapshot/file").status_code == 401
        token = http.post("/v1/auth/login", json={
            "username": "agent", "password": PASSWORD, "client_id": "c" * 32}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for path in ("/v1/sync/snapshot", "/v1/sync/snapshot/file"):
            answer = http.get(path, headers=auth)
            assert answer.status_code == 404
            assert answer.json()["code"] == "no_snapshot"


def test_seeding_refuses_a_server_that_already_has_rows(
        seeded: tuple[str, int], demo_store_template: Path) -> None:
    url, seq = seeded
    info = Snapshots(default_snapshot_dir(url)).current()
    assert info is not None and info[0].change_seq == seq
    engine = open_engine(url)
    try:
        with pytest.raises(SeedError, match="already holds rows"):
            seed_from_store(engine, demo_store_template, None)
    finally:
        engine.dispose()


def test_starting_afresh_renumbers_waiting_changes_from_one(
        demo_store_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, path)
    desk = _store(path)
    cid = _a_customer(desk)
    who = agent_by_username(desk, "agent")
    assert who is not None
    for text in ("one", "two", "three"):
        add_note(desk, who, cid, text)
    sync_store.record_results(desk, [(1, "applied", ""), (2, "rejected", "no")], 2)
    old_id = sync_store.client_id(desk)
    sync_store.start_afresh(desk, 1234)
    assert sync_store.client_id(desk) != old_id
    assert sync_store.cursor(desk) == 1234
    [waiting] = sync_store.pending(desk, 10)
    assert waiting.mutation_id == 1 and waiting.args["body"] == "three"
    [refused] = sync_store.rejected(desk)
    assert refused.mutation_id < 0 and refused.reason == "no"
    add_note(desk, who, cid, "four")
    assert [m.mutation_id for m in sync_store.pending(desk, 10)] == [1, 2]


def test_both_ways_of_seeding_give_the_same_rows(
        seeded: tuple[str, int], demo_store_template: Path, tmp_path: Path) -> None:
    """SQLite servers seed inside SQLite; other databases through Python. Same rows."""
    url, seq = seeded
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    prepare(other, seed_demo_users=True)
    engine = open_engine(other)
    source = sqlite3.connect(demo_store_template)
    try:
        assert _seed_any(engine, source, None) == seq
    finally:
        source.close()
        engine.dispose()
    assert _server_rows(other) == _server_rows(url)
