"""A desk whose clock is far off is told so, keeps its changes, and sends them once the
clock is right."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.services.sync import SyncService
from agent_desktop.storage.store import open_store
from server_stub.__main__ import prepare
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


class ServerClock:
    def __init__(self) -> None:
        self.offset = timedelta(hours=2)  # the desk is two hours behind the server

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_a_far_off_clock_is_refused_with_the_reason_and_the_queue_is_kept(
        demo_store_template: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    path = tmp_path / "desk.sqlite3"
    shutil.copyfile(demo_store_template, path)
    store = open_store(path)
    clock = ServerClock()
    with EmbeddedServer(create_app(url, clock=clock)) as server:
        service = SyncService(store, server.url, "agent")
        try:
            service.login("demo")
            conn = sqlite3.connect(path)
            cid = conn.execute("SELECT id FROM customers LIMIT 1").fetchone()[0]
            conn.close()
            who = agent_by_username(store, "agent")
            assert who is not None
            add_note(store, who, cid, "Written on a desk with a wrong clock.")
            status, _ = service.sync()
            assert status.pending == 1
            assert "clock is about 120 minutes behind the server's" in status.detail
            assert "your changes are kept" in status.detail

            with httpx.Client(base_url=server.url) as http:
                answer = http.post("/v1/sync/push", headers={
                    "Authorization": f"Bearer {service.client.token}"}, json={
                    "protocol_version": 1, "client_id": service.client.client_id,
                    "mutations": [], "sent_at": "2026-11-23T10:00:00"})
                assert answer.status_code == 422
                assert "time zone" in answer.json()["detail"]

            clock.offset = timedelta(0)  # the agent set the clock right
            status, _ = service.sync()
            assert status.online and status.pending == 0
        finally:
            service.close()
            store.close()
