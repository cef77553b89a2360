"""A push by one agent pokes every other connected desktop to pull at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_desktop.sync.client import SyncClient
from agent_desktop.sync.events import PokeListener
from agent_desktop.sync.protocol import Mutation
from server_stub.__main__ import prepare
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    with EmbeddedServer(create_app(url)) as running:
        yield running


def test_another_agents_push_pokes_this_desktop(server: EmbeddedServer) -> None:
    listening = SyncClient(server.url, "desktop-b-00000001")
    listening.login("supervisor", "demo")
    poked = threading.Event()
    listener = PokeListener(server.url, lambda: listening.token, poked.set)
    listener.start()
    try:
        assert listener.connected.wait(10), "the event stream did not open"
        pusher = SyncClient(server.url, "desktop-a-00000001")
        pusher.login("agent", "demo")
        pusher.push([Mutation(mutation_id=1, id="a" * 32, name="add_note", args={
            "id": "b" * 32, "customer_id": "c" * 32, "body": "Poke the others.",
            "created_at": "2026-11-20T10:00:00+00:00"})])
        assert poked.wait(10), "no poke arrived"
        pusher.close()
    finally:
        listener.stop()
        listening.close()
