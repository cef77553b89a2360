"""A desk killed with SIGKILL at each step of writing and pushing a note, then started
again on the same store file: nothing lost, nothing doubled, nothing half-written.

Each case runs _sigkill_child.py as its own process (its own memory keyring, its own
AGENT_DESKTOP_HOME) against a real server on 127.0.0.1; the child adds a note, syncs, and
kills itself at the step. The desk is then reopened here and synced.
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

import pytest
from faults import PASSWORD, SyncServer, customer_ids, make_server_template, note_ids

from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import open_store

CHILD = Path(__file__).with_name("_sigkill_child.py")

# Each step, and whether the note was committed locally when the process died.
STEPS = {
    "before_outbox_write": False,
    "outbox_written_uncommitted": False,
    "after_outbox_write": True,
    "after_mark_sent": True,
    "after_sending": True,
    "before_recording_answer": True,
    "recording_answer_uncommitted": True,
}


@pytest.fixture(scope="module")
def server_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_server_template(tmp_path_factory.mktemp("server-template"))


@pytest.fixture
def server(tmp_path: Path, server_template: Path) -> Iterator[SyncServer]:
    with SyncServer(tmp_path / "server.sqlite3", server_template) as running:
        yield running


def _rows(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _run_child(tmp_path: Path, store_path: Path, server: SyncServer, customer: str,
               body: str, step: str) -> None:
    marker = tmp_path / "killed-at"
    env = {**os.environ, "AGENT_DESKTOP_HOME": str(tmp_path / "child-home"),
           "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run(
        [sys.executable, str(CHILD), str(store_path), server.url, customer, body, step,
         str(marker)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr)
    assert marker.read_text() == step


@pytest.mark.parametrize("step", list(STEPS))
def test_a_desk_killed_mid_push_loses_nothing_and_doubles_nothing(
        step: str, tmp_path: Path, demo_store_template: Path, server: SyncServer) -> None:
    store_path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, store_path)
    baseline = note_ids(store_path)
    [customer] = customer_ids(store_path, 1)
    body = f"Written just before a SIGKILL at {step}."

    _run_child(tmp_path, store_path, server, customer, body, step)

    # The desk starts again on the same file, logs in and syncs (twice: stays settled).
    store = open_store(store_path)
    service = SyncService(store, server.url, "agent")
    try:
        client_id = sync_store.client_id(store)
        service.login(PASSWORD)
        for _ in range(2):
            status, _ = service.sync()
            assert status.online and status.pending == 0 and status.rejected == 0, status
    finally:
        service.close()
        store.close()

    assert _rows(store_path, "PRAGMA integrity_check") == [("ok",)]
    local = [r for r in _rows(store_path, "SELECT id, customer_id, body FROM notes")
             if r[0] not in baseline]
    on_server = server.notes()
    outbox = [(m, u, s, json.loads(a)) for m, u, s, a in _rows(
        store_path, "SELECT mutation_id, id, status, args FROM sync_outbox")]
    audit = _rows(store_path, "SELECT entity_id FROM audit_log WHERE action = 'note.add'")
    logged = [(m, u, s) for c, m, u, s in server.mutation_log() if c == client_id]

    if not STEPS[step]:  # died before the commit: no trace anywhere, no half of it
        assert local == [] and on_server == [] and outbox == [] and audit == []
        assert logged == []
        return
    [(note_id, note_customer, note_body)] = local
    assert (note_customer, note_body) == (customer, body)
    assert on_server == [(note_id, customer, body)]
    assert audit == [(note_id,)]
    [(mutation_id, uuid, state, args)] = outbox
    assert (mutation_id, state, args["id"]) == (1, "applied", note_id)
    assert logged == [(1, uuid, "applied")]
