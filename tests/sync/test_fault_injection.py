"""Sync through a faulty network: two real clients (each its own SQLite store) and a real
server on 127.0.0.1. Whatever a fault does to one request, once the network is clean
again every note is on the server exactly once and in both stores, and nothing waits or
was refused. See faults.py for what each fault does."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faults import (
    ANSWERED,
    COMMITS_DURING_FAULT,
    PULL,
    PUSH,
    Desk,
    Fault,
    FaultTransport,
    SyncServer,
    check_converged,
    check_no_doubles,
    customer_ids,
    make_server_template,
    note_ids,
    observe,
    sync_cleanly,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, StoreError, StoreProblem, make_engine, open_store
from agent_desktop.sync.client import Offline, SyncClient


@pytest.fixture(scope="module")
def server_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_server_template(tmp_path_factory.mktemp("server-template"))


@pytest.fixture
def server(tmp_path: Path, server_template: Path) -> Iterator[SyncServer]:
    with SyncServer(tmp_path / "server.sqlite3", server_template) as running:
        yield running


@pytest.fixture
def desks(tmp_path: Path, demo_store_template: Path, server: SyncServer) -> Iterator[list[Desk]]:
    opened: list[Desk] = []
    try:
        for name, username in (("a", "agent"), ("b", "supervisor")):
            opened.append(Desk(name, tmp_path / f"client-{name}.sqlite3", demo_store_template,
                               server, username))
        yield opened
    finally:
        for desk in opened:
            desk.close()


def _pushed_ids(body: dict[str, object]) -> list[int]:
    mutations = body["mutations"]
    assert isinstance(mutations, list)
    return [int(m["mutation_id"]) for m in mutations]


@pytest.mark.parametrize("fault", list(Fault), ids=str)
def test_a_push_hit_by_a_fault_lands_once(fault: Fault, server: SyncServer,
                                          desks: list[Desk]) -> None:
    a, b = desks
    first, second = customer_ids(a.path, 2)
    written = {(first, "b: pushed cleanly"), (first, "a: hit by the fault"),
               (second, "a: written after the fault")}
    b.add_note(first, "b: pushed cleanly")
    assert b.sync().online
    a.add_note(first, "a: hit by the fault")

    a.transport.inject(fault, PUSH)
    status = a.sync()

    assert a.transport.armed == 0, "the fault never met its request"
    if fault in ANSWERED:
        assert status.online and status.pending == 0, status
    else:  # the agent is told, and the change waits
        assert not status.online and status.pending == 1 and "kept" in status.detail, status
        assert [s for _, _, s, _ in a.outbox()] == ["sent"]
    bodies = [body for _, _, body in server.notes()]
    assert bodies.count("a: hit by the fault") == int(COMMITS_DURING_FAULT[fault])
    assert server.restarts == int(fault is Fault.RESTART_SERVER)
    check_no_doubles(observe(server, desks))

    a.add_note(second, "a: written after the fault")
    sync_cleanly(desks)
    check_converged(server, desks, written)


@pytest.mark.parametrize("fault", list(Fault), ids=str)
def test_a_pull_hit_by_a_fault_is_caught_up_later(fault: Fault, server: SyncServer,
                                                  desks: list[Desk]) -> None:
    a, b = desks
    [customer] = customer_ids(a.path, 1)
    b.add_note(customer, "b: for a to pull")
    a.add_note(customer, "a: pushed before the pull")
    assert b.sync().online

    a.transport.inject(fault, PULL)
    status = a.sync()

    assert a.transport.armed == 0
    assert status.pending == 0, status  # the push before the pull went through
    assert status.online == (fault in ANSWERED), status
    pulled = {body for _, _, body in a.notes()} >= {"b: for a to pull"}
    assert pulled == (fault in ANSWERED)

    sync_cleanly(desks)
    check_converged(server, desks, {(customer, "b: for a to pull"),
                                    (customer, "a: pushed before the pull")})


def test_a_held_push_replayed_after_a_later_one_changes_nothing(
        server: SyncServer, desks: list[Desk]) -> None:
    a, _ = desks
    [customer] = customer_ids(a.path, 1)
    a.add_note(customer, "first")
    a.transport.inject(Fault.REORDER, PUSH)
    assert not a.sync().online
    assert a.transport.holding and server.notes() == []
    a.add_note(customer, "second")
    assert a.sync().online

    pushes = [d for d in a.transport.deliveries if d.path == PUSH and d.reached_server]
    assert [(_pushed_ids(d.json()), d.late) for d in pushes] == [([1, 2], False), ([1], True)]
    late = pushes[-1].answer_json()
    assert [(r["mutation_id"], r["status"]) for r in late["results"]] == [(1, "duplicate")]
    sync_cleanly(desks)
    check_converged(server, desks, {(customer, "first"), (customer, "second")})


def test_a_duplicated_push_is_applied_once_and_the_copy_is_answered_duplicate(
        server: SyncServer, desks: list[Desk]) -> None:
    a, _ = desks
    [customer] = customer_ids(a.path, 1)
    a.add_note(customer, "said twice")
    a.transport.inject(Fault.DUPLICATE, PUSH)
    assert a.sync().online

    pushes = [d for d in a.transport.deliveries if d.path == PUSH]
    assert [r["status"] for d in pushes for r in d.answer_json()["results"]] == \
        ["applied", "duplicate"]
    sync_cleanly(desks)
    check_converged(server, desks, {(customer, "said twice")})


def test_the_restarted_server_keeps_its_address_sessions_and_data(
        server: SyncServer, desks: list[Desk]) -> None:
    a, b = desks
    [customer] = customer_ids(a.path, 1)
    url = server.url
    a.add_note(customer, "committed just before the restart")
    a.transport.inject(Fault.RESTART_SERVER, PUSH)
    status = a.sync()
    assert "RemoteProtocolError" in status.detail and not status.online
    assert server.url == url and server.restarts == 1
    # Same sessions: neither desk is asked to log in again.
    sync_cleanly(desks)
    assert not b.sync().needs_login
    check_converged(server, desks, {(customer, "committed just before the restart")})


def test_a_dropped_request_looks_like_a_refused_connection(server: SyncServer) -> None:
    """The fault raises what httpx raises for a real refused connection, so the client
    reports the two the same way."""
    nobody = SyncClient("http://127.0.0.1:9", "client-for-errors-1")
    faulty = FaultTransport()
    faulty.inject(Fault.DROP_REQUEST)
    dropped = SyncClient(server.url, "client-for-errors-2", transport=faulty)
    try:
        with pytest.raises(Offline) as real:
            nobody.pull(None)
        with pytest.raises(Offline) as injected:
            dropped.pull(None)
    finally:
        nobody.close()
        dropped.close()
    assert str(real.value) == str(injected.value)
    assert type(real.value.__cause__) is type(injected.value.__cause__) is httpx.ConnectError


def test_a_sync_write_in_the_middle_of_a_save_waits_for_it_instead_of_failing_it(
        tmp_path: Path, demo_store_template: Path) -> None:
    """The sync thread writes to the store (marking mutations sent, recording answers,
    applying pulls) beside the agent's saves. A save reads before it writes; when the
    sync thread committed in between, SQLite used to fail the save at once ("in use by
    another program"). Now the save holds the write lock from its start and the sync
    write waits for it (here: with no busy wait, it gives up at once, and then retries)."""
    path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, path)
    desk = open_store(path)
    sync_thread = Store(path, make_engine(path, busy_timeout_ms=0))
    who = agent_by_username(desk, "agent")
    assert who is not None
    [customer] = customer_ids(path, 1)
    outcomes: list[object] = []

    def sync_writes_now(session: Session, *_: object) -> None:
        if outcomes:
            return
        outcomes.append("tried")  # the save has read the customer and the agent
        try:
            sync_store.record_results(sync_thread, [], 0)
            outcomes.append("committed")
        except StoreError as exc:
            outcomes.append(exc.problem)

    event.listen(Session, "before_flush", sync_writes_now)
    try:
        added = add_note(desk, who, customer, "Saved while the sync thread wrote.")
    finally:
        event.remove(Session, "before_flush", sync_writes_now)
    try:
        assert outcomes == ["tried", StoreProblem.LOCKED]
        sync_store.record_results(sync_thread, [], 0)  # after the save, it goes through
        assert added.note.id in note_ids(path)
    finally:
        sync_thread.close()
        desk.close()
