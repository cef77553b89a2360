"""Test scaffolding for sync under faults: a real sync server that can be restarted in
place, and an httpx transport that breaks requests the way a network or a proxy does.

Nothing here is a mock. ``SyncServer`` is server_stub's real app on 127.0.0.1 over a real
SQLite file; ``FaultTransport`` wraps a real ``httpx.HTTPTransport`` and, for the request a
fault is aimed at, either never sends it, sends it and loses or replaces the answer, sends
it twice, holds it back until after the next request, or restarts the server after it
committed. The client sees exactly the exceptions (or 5xx answers) a real network gives
it: ``httpx.ConnectError``, ``ReadError``, ``ReadTimeout``, ``RemoteProtocolError``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import sqlite3
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.services.sync import SyncService, SyncStatus
from agent_desktop.storage import sync_store
from agent_desktop.storage.customer_record import NoteRow
from agent_desktop.storage.store import open_store
from agent_desktop.sync.client import SyncClient
from server_stub.__main__ import DEMO_USERS, prepare
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer
from server_stub.store import open_engine, seed_users

PUSH = "/v1/sync/push"
PULL = "/v1/sync/pull"
PASSWORD = "demo"
# Real argon2id with cheap parameters (as tests/server do): a login costs milliseconds, so
# a test can start servers and log clients in by the dozen.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# --- the server ----------------------------------------------------------------------------


def make_server_template(folder: Path) -> Path:
    """A server database with the schema and the demo users (password "demo"), made once
    per module; each test starts from a copy."""
    path = folder / "server-template.sqlite3"
    url = f"sqlite:///{path}"
    prepare(url)
    engine = open_engine(url)
    try:
        with Session(engine) as session, session.begin():
            seed_users(session, DEMO_USERS, hasher=FAST_HASHER)
    finally:
        engine.dispose()
    return path


class SyncServer:
    """server_stub's app on 127.0.0.1 over one SQLite file; ``restart()`` stops it and
    starts a new app (a new process, as far as the server knows) on the same database
    file and the same port, so clients keep their URL and their tokens."""

    def __init__(self, db_path: Path, template: Path) -> None:
        shutil.copyfile(template, db_path)
        self.db_path = db_path
        self.restarts = 0
        self._port = 0
        self._server: EmbeddedServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> SyncServer:
        assert self._server is None, "already running"
        app = create_app(f"sqlite:///{self.db_path}", password_hasher=FAST_HASHER)
        server = EmbeddedServer(app, port=self._port)
        server.start()
        self._server = server
        self._port = server.port
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def restart(self) -> None:
        port = self._port
        self.stop()
        self.start()
        assert self._port == port, "the restarted server must keep its port"
        self.restarts += 1

    def __enter__(self) -> SyncServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- what the server holds, read straight from its database file ---------------------

    def _query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def notes(self) -> list[tuple[str, str, str]]:
        """Every note row on the server as (id, customer_id, body), duplicates kept."""
        rows = self._query('SELECT data FROM "rows" WHERE "table" = ? ORDER BY change_seq',
                           "notes")
        out = []
        for (data,) in rows:
            row = json.loads(data) if isinstance(data, str) else data
            out.append((row["id"], row["customer_id"], row["body"]))
        return out

    def mutation_log(self) -> list[tuple[str, int, str, str]]:
        """(client_id, mutation_id, mutation_uuid, status) for every recorded mutation."""
        return [(r[0], int(r[1]), r[2], r[3]) for r in self._query(
            "SELECT client_id, mutation_id, mutation_uuid, status FROM mutation_log "
            "ORDER BY client_id, mutation_id")]

    def last_mutation_ids(self) -> dict[str, int]:
        """Per client, the last mutation id the server has taken."""
        return {c: int(m) for c, m in self._query(
            "SELECT client_id, last_mutation_id FROM clients")}


# --- the faults ----------------------------------------------------------------------------


class Fault(StrEnum):
    # Never reaches the server: the connection is refused.
    DROP_REQUEST = "drop_request"
    # Reaches the server, which commits and answers; the answer is lost (connection reset).
    DROP_RESPONSE = "drop_response"
    # The answer's status and headers arrive, then the connection breaks mid-body.
    CUT_RESPONSE = "cut_response"
    # Sent twice (a retrying proxy); the client gets the second answer.
    DUPLICATE = "duplicate"
    # Held in the network: the client times out waiting; the server gets the request only
    # after the client's next one (an earlier push body replayed after a later one).
    REORDER = "reorder"
    # Reaches the server, which commits; the answer comes after the client's read timeout.
    TIMEOUT = "timeout"
    # A proxy answers 500 / 503 without forwarding: the server never sees the request.
    HTTP_500_UNSENT = "http_500_unsent"
    HTTP_503_UNSENT = "http_503_unsent"
    # The server commits, then the client gets 500 / 503 instead of the answer.
    HTTP_500_AFTER_COMMIT = "http_500_after_commit"
    HTTP_503_AFTER_COMMIT = "http_503_after_commit"
    # The server commits, then goes down before replying and comes back on the same port
    # and database: the client sees the connection closed without a response.
    RESTART_SERVER = "restart_server"


# Whether the server has the faulted request's effect once the client's call failed.
COMMITS_DURING_FAULT: dict[Fault, bool] = {
    Fault.DROP_REQUEST: False,
    Fault.DROP_RESPONSE: True,
    Fault.CUT_RESPONSE: True,
    Fault.DUPLICATE: True,
    Fault.REORDER: False,
    Fault.TIMEOUT: True,
    Fault.HTTP_500_UNSENT: False,
    Fault.HTTP_503_UNSENT: False,
    Fault.HTTP_500_AFTER_COMMIT: True,
    Fault.HTTP_503_AFTER_COMMIT: True,
    Fault.RESTART_SERVER: True,
}

# Faults after which the client still got a good answer (the others make the call fail).
ANSWERED = frozenset({Fault.DUPLICATE})


@dataclass
class Delivery:
    """One request as the server saw it (or did not), for tests to check order."""

    path: str
    body: bytes
    fault: Fault | None
    reached_server: bool
    late: bool = False  # a held request delivered after a later one
    status: int | None = None  # the server's answer, when it gave one
    answer: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)

    def answer_json(self) -> Any:
        return json.loads(self.answer)


class _BreaksMidBody(httpx.SyncByteStream):
    def __init__(self, head: bytes, request: httpx.Request) -> None:
        self._head = head
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        if self._head:
            yield self._head
        raise httpx.ReadError("peer closed connection without sending complete message body",
                              request=self._request)


@dataclass
class _Planned:
    fault: Fault
    path: str | None


@functools.cache
def _tls() -> ssl.SSLContext:
    # Made once: loading the CA bundle costs more than a whole sync on loopback.
    return ssl.create_default_context()


def _real_transport() -> httpx.BaseTransport:
    return httpx.HTTPTransport(verify=_tls())


@dataclass
class FaultTransport(httpx.BaseTransport):
    """A real HTTP transport with faults aimed at chosen requests.

    ``inject(fault, path)`` arms one fault for the next request to ``path`` (any path when
    None); armed faults are used in the order they were armed. ``on_restart`` restarts
    the server (for ``Fault.RESTART_SERVER``).
    """

    on_restart: Callable[[], None] | None = None
    inner: httpx.BaseTransport = field(default_factory=_real_transport)
    deliveries: list[Delivery] = field(default_factory=list)
    _planned: list[_Planned] = field(default_factory=list)
    _held: httpx.Request | None = None

    def inject(self, fault: Fault, path: str | None = None) -> None:
        if fault is Fault.RESTART_SERVER and self.on_restart is None:
            raise ValueError("RESTART_SERVER needs on_restart")
        self._planned.append(_Planned(fault, path))

    def disarm(self) -> None:
        """Forget faults that were armed but never met a request."""
        self._planned.clear()

    @property
    def armed(self) -> int:
        return len(self._planned)

    @property
    def holding(self) -> bool:
        return self._held is not None

    def _take(self, path: str) -> Fault | None:
        for i, planned in enumerate(self._planned):
            if planned.path is None or planned.path == path:
                del self._planned[i]
                return planned.fault
        return None

    def _forward(self, request: httpx.Request, fault: Fault | None,
                 late: bool = False) -> httpx.Response:
        delivery = Delivery(request.url.path, request.content, fault, True, late)
        self.deliveries.append(delivery)
        response = self.inner.handle_request(request)
        response.read()  # the whole answer: the server finished (and committed) this one
        response.close()
        delivery.status, delivery.answer = response.status_code, response.content
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        held, self._held = self._held, None
        try:
            return self._handle(request)
        finally:
            if held is not None:
                self.deliver_held(held)

    def deliver_held(self, held: httpx.Request | None = None) -> None:
        """Let a held request reach the server now; nobody waits for its answer."""
        if held is None:
            held, self._held = self._held, None
        if held is None:
            return
        # If the server is down, the late packet is lost, as on a real network.
        with contextlib.suppress(httpx.TransportError):
            self._forward(held, Fault.REORDER, late=True)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        fault = self._take(request.url.path)
        if fault is None:
            return self._forward(request, None)
        if fault is Fault.DROP_REQUEST:
            self.deliveries.append(Delivery(request.url.path, request.content, fault, False))
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if fault is Fault.REORDER:
            self.deliveries.append(Delivery(request.url.path, request.content, fault, False))
            self._held = request
            raise httpx.ReadTimeout("timed out", request=request)
        if fault in (Fault.HTTP_500_UNSENT, Fault.HTTP_503_UNSENT):
            self.deliveries.append(Delivery(request.url.path, request.content, fault, False))
            return _server_error(fault, request)
        if fault is Fault.DUPLICATE:
            self._forward(request, fault)
            return self._forward(request, fault)
        response = self._forward(request, fault)
        if fault is Fault.DROP_RESPONSE:
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        if fault is Fault.CUT_RESPONSE:
            return httpx.Response(
                response.status_code, headers=response.headers, request=request,
                stream=_BreaksMidBody(response.content[: len(response.content) // 2], request))
        if fault is Fault.TIMEOUT:
            raise httpx.ReadTimeout("timed out", request=request)
        if fault in (Fault.HTTP_500_AFTER_COMMIT, Fault.HTTP_503_AFTER_COMMIT):
            return _server_error(fault, request)
        if fault is Fault.RESTART_SERVER:
            assert self.on_restart is not None
            self.on_restart()
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request)
        raise AssertionError(f"unhandled fault {fault}")

    def close(self) -> None:
        self._held = None
        self.inner.close()


def _server_error(fault: Fault, request: httpx.Request) -> httpx.Response:
    if fault in (Fault.HTTP_503_UNSENT, Fault.HTTP_503_AFTER_COMMIT):
        # What a load balancer says when the upstream is away: plain text, Retry-After.
        return httpx.Response(503, text="503 Service Unavailable",
                              headers={"Retry-After": "1"}, request=request)
    return httpx.Response(500, json={"detail": "The server hit an unexpected error; try "
                                     "again later.", "code": "internal"}, request=request)


# --- the clients ---------------------------------------------------------------------------


def _read(path: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def note_ids(store_path: Path) -> frozenset[str]:
    return frozenset(r[0] for r in _read(store_path, "SELECT id FROM notes"))


def customer_ids(store_path: Path, count: int) -> list[str]:
    return [r[0] for r in _read(
        store_path, "SELECT id FROM customers ORDER BY account_number LIMIT ?", count)]


class Desk:
    """One installation: its own store file (a copy of the demo store), a real
    SyncService logged in as ``username``, whose HTTP goes through a FaultTransport."""

    def __init__(self, name: str, store_path: Path, template: Path, server: SyncServer,
                 username: str) -> None:
        shutil.copyfile(template, store_path)
        self.name = name
        self.path = store_path
        self.baseline = note_ids(template)
        self.store = open_store(store_path)
        self.transport = FaultTransport(on_restart=server.restart)
        try:
            self.service = SyncService(self.store, server.url, username)
            # The service's own client, rebuilt over the fault transport (same URL and id).
            self.service.client.close()
            self.client_id = sync_store.client_id(self.store)
            client = SyncClient(server.url, self.client_id, transport=self.transport)
            self.service.client = self.service.engine.client = client
            self.service.login(PASSWORD)
            who = agent_by_username(self.store, username)
            assert who is not None, username
            self.who = who
        except BaseException:
            self.close()
            raise

    def add_note(self, customer_id: str, body: str) -> NoteRow:
        """The service an agent uses: note, audit row and outbox mutation, one commit."""
        return add_note(self.store, self.who, customer_id, body).note

    def sync(self) -> SyncStatus:
        status, _ = self.service.sync()
        return status

    def notes(self) -> list[tuple[str, str, str]]:
        """Notes added since the demo store was made, as (id, customer_id, body)."""
        return [(i, c, b) for i, c, b in _read(
            self.path, "SELECT id, customer_id, body FROM notes ORDER BY id")
            if i not in self.baseline]

    def outbox(self) -> list[tuple[int, str, str, str]]:
        """(mutation_id, mutation uuid, status, note id) for every outbox row."""
        rows = _read(self.path, "SELECT mutation_id, id, status, args FROM sync_outbox "
                     "ORDER BY mutation_id")
        return [(int(m), u, s, json.loads(a).get("id", "")) for m, u, s, a in rows]

    def close(self) -> None:
        service = getattr(self, "service", None)
        if service is not None:
            service.close()
        self.transport.close()
        self.store.close()


# --- what must hold after any sequence of faults -----------------------------------------

Note = tuple[str, str, str]  # (id, customer_id, body)


@dataclass(frozen=True)
class DeskState:
    name: str
    client_id: str
    notes: list[Note]  # added since the demo store was made
    outbox: list[tuple[int, str, str, str]]  # (mutation_id, uuid, status, note id)


@dataclass(frozen=True)
class Observed:
    """Both sides at one moment, each file read once."""

    server_notes: list[Note]
    mutation_log: list[tuple[str, int, str, str]]
    last_mutation_ids: dict[str, int]
    desks: list[DeskState]


def observe(server: SyncServer, desks: list[Desk]) -> Observed:
    return Observed(
        server.notes(), server.mutation_log(), server.last_mutation_ids(),
        [DeskState(d.name, d.client_id, d.notes(), d.outbox()) for d in desks])


def check_no_doubles(seen: Observed) -> None:
    """Each note at most once on the server and in every store (by id and by body: every
    note a test writes has its own text, so a second id with the same text is a double);
    each client's mutations recorded once each, in order, for the mutation the client
    queued under that id."""
    on_server = seen.server_notes
    assert len({i for i, _, _ in on_server}) == len(on_server), on_server
    assert len({b for _, _, b in on_server}) == len(on_server), f"doubled: {on_server}"
    logged = seen.mutation_log
    assert len({(c, m) for c, m, _, _ in logged}) == len(logged), logged
    for desk in seen.desks:
        assert len({b for _, _, b in desk.notes}) == len(desk.notes), \
            f"{desk.name} doubled: {desk.notes}"
        queued = {m: uuid for m, uuid, _, _ in desk.outbox}
        mine = [(m, uuid) for c, m, uuid, _ in logged if c == desk.client_id]
        assert [m for m, _ in mine] == list(range(1, len(mine) + 1)), mine
        assert seen.last_mutation_ids.get(desk.client_id, 0) == len(mine)
        for m, uuid in mine:
            assert queued.get(m) == uuid, f"{desk.name}: mutation {m} is not the one queued"


def check_acknowledged_on_server(seen: Observed) -> None:
    """Every mutation a client holds as applied has its note on the server; no refusals."""
    on_server = {i for i, _, _ in seen.server_notes}
    assert all(status == "applied" for *_, status in seen.mutation_log), seen.mutation_log
    for desk in seen.desks:
        for mutation_id, _, status, note_id in desk.outbox:
            assert status != "rejected", f"{desk.name}: mutation {mutation_id} rejected"
            if status == "applied":
                assert note_id in on_server, f"{desk.name}: acknowledged note {note_id} lost"


def sync_cleanly(desks: list[Desk]) -> None:
    """Every desk syncs with no fault armed, twice round, so each pulls what all pushed."""
    for desk in desks:
        desk.transport.disarm()
    for desk in [*desks, *desks]:
        status = desk.sync()
        assert status.online and status.pending == 0 and status.rejected == 0, \
            (desk.name, status)


def check_converged(server: SyncServer, desks: list[Desk],
                    written: set[tuple[str, str]]) -> None:
    """After clean syncs: the server holds exactly the notes written (customer, body),
    once each; every store holds exactly the server's notes; every outbox is drained."""
    seen = observe(server, desks)
    check_no_doubles(seen)
    check_acknowledged_on_server(seen)
    on_server = sorted(seen.server_notes)
    assert sorted((c, b) for _, c, b in on_server) == sorted(written)
    for desk in seen.desks:
        assert sorted(desk.notes) == on_server, desk.name
        assert all(status == "applied" for _, _, status, _ in desk.outbox), desk.outbox
