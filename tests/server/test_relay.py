"""Several server processes on one PostgreSQL: a push to one pokes agents on the others.

Two apps (each as a server process would build it: create_app on the same URL) behind two
EmbeddedServers; a client streams /v1/events from one and another pushes to the other.
No sleeps: each wait is a read on the event stream, bounded by the client's timeout.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.orm import Session

from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer
from server_stub.relay import APPLICATION_NAME
from server_stub.store import open_engine, seed_users

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"


@dataclass
class Node:
    """One server process: its server and an HTTP client for it."""

    server: EmbeddedServer
    http: httpx.Client

    def login(self, username: str) -> tuple[str, dict[str, str]]:
        client_id = uuid.uuid4().hex
        r = self.http.post("/v1/auth/login", json={
            "username": username, "password": PASSWORD, "client_id": client_id})
        assert r.status_code == 200, r.text
        return client_id, {"Authorization": f"Bearer {r.json()['token']}"}

    def push_note(self, client_id: str, headers: dict[str, str], mutation_id: int) -> int:
        args = {"id": uuid.uuid4().hex, "customer_id": "c" * 32, "body": "Across processes.",
                "created_at": "2026-11-15T09:00:00", "interaction_id": None}
        body = {"protocol_version": 1, "client_id": client_id, "mutations": [
            {"mutation_id": mutation_id, "id": uuid.uuid4().hex, "name": "add_note",
             "args": args}]}
        r = self.http.post("/v1/sync/push", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["status"] == "applied", r.text
        pulled = self.http.post("/v1/sync/pull", headers=headers, json={
            "protocol_version": 1, "client_id": client_id, "cursor": None})
        return int(pulled.json()["cursor"])


@pytest.fixture
def nodes(postgres_url: str) -> Iterator[tuple[Node, Node]]:
    apps = [create_app(postgres_url, password_hasher=FAST_HASHER) for _ in range(2)]
    engine = open_engine(postgres_url)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD),
                       ("supervisor", "Sam Okafor", "supervisor", PASSWORD)],
                   hasher=FAST_HASHER)
    engine.dispose()
    with EmbeddedServer(apps[0]) as one, EmbeddedServer(apps[1]) as two, \
            httpx.Client(base_url=one.url, timeout=10) as h1, \
            httpx.Client(base_url=two.url, timeout=10) as h2:
        yield Node(one, h1), Node(two, h2)


def _events(lines: Iterator[str]) -> Iterator[list[str]]:
    """Events (their lines), heartbeats left out."""
    event: list[str] = []
    for line in lines:
        if line:
            event.append(line)
        elif event:
            if not all(part.startswith(":") or part.startswith("retry:") for part in event):
                yield event
            event = []


def _next_poke(events: Iterator[list[str]]) -> dict[str, Any]:
    event = next(events)  # the client's read timeout bounds the wait
    assert event[0] == "event: poke", event
    return dict(json.loads(event[1].removeprefix("data: ")))


def _stream(node: Node, headers: dict[str, str]) -> Any:
    return node.http.stream("GET", "/v1/events", headers=headers)


def test_a_push_to_one_process_pokes_agents_on_the_other(nodes: tuple[Node, Node]) -> None:
    one, two = nodes
    _listener_cid, listener = two.login("supervisor")
    writer_cid, writer = one.login("agent")
    with _stream(two, listener) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000" and next(lines) == ": connected"
        events = _events(lines)
        seq = one.push_note(writer_cid, writer, 1)
        assert _next_poke(events) == {"cursor": seq}
        # And the other way round on the same database: a push to two pokes two's own
        # listener once, though two hears its own notification as well.
        own_cid, own = two.login("agent")
        seq2 = two.push_note(own_cid, own, 1)
        assert _next_poke(events) == {"cursor": seq2}
        seq3 = one.push_note(writer_cid, writer, 2)
        assert seq3 > seq2 > seq
        assert _next_poke(events) == {"cursor": seq3}  # not a repeat of seq2


def test_pokes_survive_a_lost_listener_connection(
    nodes: tuple[Node, Node], postgres_url: str
) -> None:
    one, two = nodes
    _cid, listener = two.login("supervisor")
    writer_cid, writer = one.login("agent")
    with _stream(two, listener) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000" and next(lines) == ": connected"
        events = _events(lines)
        # Cut every relay connection (a database restart or a network blip would).
        engine = open_engine(postgres_url)
        try:
            with engine.begin() as conn:
                cut = conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"),
                    {"name": APPLICATION_NAME}).scalar()
        finally:
            engine.dispose()
        assert cut == 2  # one listener per server process
        # Pushed while nobody may be listening: the relay announces the current
        # change_seq when it reconnects, so the poke still comes.
        seq = one.push_note(writer_cid, writer, 1)
        assert _next_poke(events) == {"cursor": seq}
