"""The sync server over real HTTP: uvicorn on 127.0.0.1 (a free port), on each of its
databases: a SQLite file and a real PostgreSQL (``server_db``, tests/server/conftest.py).

No Qt, no sleeps: time-dependent rules (lockout, token expiry) use an injected clock.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session

from server_stub.__main__ import DEMO_PASSWORD, prepare
from server_stub.app import create_app, runtime_of
from server_stub.embedded import EmbeddedServer, EmbeddedServerError
from server_stub.store import MutationLog, SyncedRow, User, open_engine, seed_users

# Cheap argon2 parameters keep the lockout test fast; production uses the defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"
EXPIRED = "Your session has expired; log in again."
WRONG = "Wrong username or password."


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Env:
    server: EmbeddedServer
    http: httpx.Client
    clock: Clock
    db: str  # a SQLite file path or a PostgreSQL URL

    @property
    def sqlite(self) -> bool:
        return "://" not in self.db

    def login(self, username: str = "agent", client_id: str | None = None) -> Session_:
        cid = client_id or uuid.uuid4().hex
        r = self.http.post(
            "/v1/auth/login",
            json={"username": username, "password": PASSWORD, "client_id": cid},
        )
        assert r.status_code == 200, r.text
        return Session_(self, cid, r.json())

    def count(self, model: Any) -> int:
        engine = open_engine(self.db)
        try:
            with Session(engine) as s:
                return int(s.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            engine.dispose()

    def dump(self) -> str:
        """Every row of every table, as text."""
        engine = open_engine(self.db)
        try:
            meta = MetaData()
            meta.reflect(engine)
            with engine.connect() as conn:
                return repr([conn.execute(t.select()).all() for t in meta.sorted_tables])
        finally:
            engine.dispose()


@dataclass
class Session_:
    env: Env
    client_id: str
    login: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login['token']}"}

    def push(self, *mutations: dict[str, Any], version: int = 1) -> httpx.Response:
        body = {"protocol_version": version, "client_id": self.client_id,
                "mutations": list(mutations)}
        return self.env.http.post("/v1/sync/push", json=body, headers=self.headers)

    def pull(self, cursor: int | None = None, limit: int = 5000) -> dict[str, Any]:
        body = {"protocol_version": 1, "client_id": self.client_id, "cursor": cursor,
                "limit": limit}
        r = self.env.http.post("/v1/sync/pull", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


def note(mutation_id: int, body: Any = "Called about the bill.", **extra: Any) -> dict[str, Any]:
    args = {"id": uuid.uuid4().hex, "customer_id": "c" * 32, "body": body,
            "created_at": "2026-11-15T09:00:00", "interaction_id": None, **extra}
    return {"mutation_id": mutation_id, "id": uuid.uuid4().hex, "name": "add_note", "args": args}


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "code"} and body["detail"], body
    return dict(body)


@pytest.fixture
def env(server_db: str) -> Iterator[Env]:
    db = server_db
    clock = Clock()
    app = create_app(db, clock=clock, password_hasher=FAST_HASHER, token_ttl_minutes=60)
    engine = open_engine(db)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD),
                       ("supervisor", "Sam Okafor", "supervisor", PASSWORD)],
                   hasher=FAST_HASHER)
    engine.dispose()
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        yield Env(server, http, clock, db)


# --- health, schema ------------------------------------------------------------------------


def test_health_and_openapi_list_every_endpoint(env: Env) -> None:
    assert env.http.get("/v1/health").json() == {"status": "ok", "protocol_version": 1}
    schema = env.http.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) >= {"/v1/health", "/v1/auth/login", "/v1/auth/logout", "/v1/sync/push",
                          "/v1/sync/pull", "/v1/events"}
    for path, ops in paths.items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Problem"), (path, method, status)
    assert "401" in paths["/v1/sync/push"]["post"]["responses"]
    assert "423" in paths["/v1/auth/login"]["post"]["responses"]
    assert "text/event-stream" in paths["/v1/events"]["get"]["responses"]["200"]["content"]


# --- login ---------------------------------------------------------------------------------


def test_login_ok_and_token_is_stored_hashed(env: Env) -> None:
    s = env.login("supervisor")
    assert s.login["username"] == "supervisor"
    assert s.login["display_name"] == "Sam Okafor"
    assert s.login["role"] == "supervisor"
    assert datetime.fromisoformat(s.login["expires_at"]) == env.clock.now + timedelta(hours=1)
    assert len(s.login["agent_id"]) == 32
    token = s.login["token"]
    assert len(token) >= 40
    assert token not in env.dump()  # only its SHA-256 is kept
    assert hashlib.sha256(token.encode()).hexdigest() in env.dump()
    if env.sqlite:  # and not in the file's bytes either (WAL included)
        db = Path(env.db)
        wal = db.with_name(db.name + "-wal")
        raw = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert token.encode() not in raw


def test_wrong_password_and_unknown_user_get_the_same_answer(env: Env) -> None:
    wrong = env.http.post("/v1/auth/login", json={"username": "agent", "password": "nope",
                                                  "client_id": "client-0001"})
    unknown = env.http.post("/v1/auth/login", json={"username": "nobody", "password": "nope",
                                                    "client_id": "client-0001"})
    assert assert_problem(wrong, 401) == assert_problem(unknown, 401)
    assert wrong.json()["detail"] == WRONG


def test_ten_failures_lock_the_account_for_thirty_minutes(env: Env) -> None:
    def attempt(password: str) -> httpx.Response:
        return env.http.post("/v1/auth/login", json={"username": "agent", "password": password,
                                                     "client_id": "client-0001"})

    for _ in range(9):
        assert attempt("wrong").status_code == 401
    locked = assert_problem(attempt("wrong"), 423)
    assert "locked" in locked["detail"] and "09:30 UTC" in locked["detail"]
    refused = assert_problem(attempt(PASSWORD), 423)  # right password, still locked
    assert refused["code"] == "account_locked"
    env.clock.advance(minutes=29)
    assert attempt(PASSWORD).status_code == 423
    env.clock.advance(minutes=2)
    assert attempt(PASSWORD).status_code == 200
    # A success clears the count: nine more failures do not lock again.
    for _ in range(9):
        assert attempt("wrong").status_code == 401
    assert attempt(PASSWORD).status_code == 200


def test_no_token_bad_token_and_expired_token_are_401(env: Env) -> None:
    body = {"protocol_version": 1, "client_id": "client-0001", "mutations": []}
    assert_problem(env.http.post("/v1/sync/push", json=body), 401)
    bad = env.http.post("/v1/sync/push", json=body, headers={"Authorization": "Bearer nope"})
    assert assert_problem(bad, 401)["code"] == "invalid_token"
    assert bad.headers["www-authenticate"].startswith("Bearer")
    s = env.login()
    assert s.push().status_code == 200
    env.clock.advance(minutes=61)
    expired = assert_problem(s.push(), 401)
    assert expired["detail"] == EXPIRED
    assert assert_problem(env.http.get("/v1/events", headers=s.headers), 401)["detail"] == EXPIRED


def test_logout_ends_the_session(env: Env) -> None:
    s = env.login()
    assert env.http.post("/v1/auth/logout", headers=s.headers).status_code == 204
    assert_problem(s.push(), 401)
    assert_problem(env.http.post("/v1/auth/logout", headers=s.headers), 401)


# --- push ----------------------------------------------------------------------------------


def test_push_applies_a_note_once(env: Env) -> None:
    s = env.login()
    m = note(1)
    r = s.push(m)
    assert r.status_code == 200, r.text
    assert r.json() == {"last_mutation_id": 1,
                        "results": [{"mutation_id": 1, "status": "applied", "reason": "",
                                     "code": ""}]}
    again = s.push(m).json()
    assert again["results"] == [{"mutation_id": 1, "status": "duplicate", "reason": "",
                                  "code": ""}]
    assert again["last_mutation_id"] == 1
    assert env.count(SyncedRow) == 1
    row = s.pull()["changes"][0]
    assert row["table"] == "notes" and row["id"] == m["args"]["id"]
    assert row["row"] == {
        "id": m["args"]["id"], "customer_id": "c" * 32, "body": "Called about the bill.",
        "author_id": s.login["agent_id"], "author_name": "Dana Reyes", "interaction_id": None,
        "case_id": None, "created_at": "2026-11-15T09:00:00",
    }


def test_a_gap_stops_the_push(env: Env) -> None:
    s = env.login()
    r = s.push(note(1), note(3), note(4)).json()
    assert r["last_mutation_id"] == 1
    assert [x["mutation_id"] for x in r["results"]] == [1]
    assert env.count(SyncedRow) == 1


def test_a_rejected_mutation_advances_and_says_why(env: Env) -> None:
    s = env.login()
    r = s.push(note(1, body="   "), note(2), {**note(3), "name": "launch_rocket"}).json()
    assert r["last_mutation_id"] == 3
    empty, ok, unknown = r["results"]
    assert empty["status"] == "rejected" and "empty" in empty["reason"]
    assert ok["status"] == "applied"
    assert unknown == {"mutation_id": 3, "status": "rejected",
                       "reason": "unknown mutation launch_rocket", "code": "unknown_mutation"}
    assert env.count(SyncedRow) == 1
    assert env.count(MutationLog) == 3


def test_a_resent_rejected_mutation_repeats_its_refusal(env: Env) -> None:
    # If the first answer was lost, a bare "duplicate" would read as "applied": the client
    # must learn the refusal again.
    s = env.login()
    bad = note(1, body="   ")
    first = s.push(bad).json()["results"][0]
    again = s.push(bad).json()
    assert again["results"] == [first] and first["status"] == "rejected"
    assert again["last_mutation_id"] == 1


def test_bad_note_args_are_rejected_with_reasons(env: Env) -> None:
    s = env.login()
    r = s.push(note(1, id="not-a-uuid"), note(2, body="x" * 4001),
               note(3, created_at="yesterday"), note(4, body=42)).json()
    reasons = [x["reason"] for x in r["results"]]
    assert [x["status"] for x in r["results"]] == ["rejected"] * 4
    assert "hex" in reasons[0] and "4,000" in reasons[1] and "ISO 8601" in reasons[2]
    assert r["last_mutation_id"] == 4


def test_mutation_id_reused_with_different_content_is_rejected(env: Env) -> None:
    s = env.login()
    first = note(1)
    assert s.push(first).json()["results"][0]["status"] == "applied"
    changed = {**first, "args": {**first["args"], "body": "Something else."}}
    r = s.push(changed).json()["results"][0]
    assert r == {"mutation_id": 1, "status": "rejected",
                 "reason": "mutation id reused with different content", "code": "reused_id"}
    other_uuid = {**first, "id": uuid.uuid4().hex}
    assert s.push(other_uuid).json()["results"][0]["status"] == "rejected"
    assert env.count(SyncedRow) == 1


def test_notes_are_never_overwritten(env: Env) -> None:
    a, b = env.login(), env.login()
    m = note(1)
    assert a.push(m).json()["results"][0]["status"] == "applied"
    same = {**note(1), "args": m["args"]}  # the same note from another installation
    assert b.push(same).json()["results"][0]["status"] == "applied"  # idempotent
    different = {**note(2), "args": {**m["args"], "body": "Rewritten."}}
    r = b.push(different).json()["results"][0]
    assert r["status"] == "rejected" and "never changed" in r["reason"]
    assert a.pull()["changes"][0]["row"]["body"] == "Called about the bill."


def test_push_checks_protocol_version_and_client_id(env: Env) -> None:
    s = env.login()
    wrong_version = assert_problem(s.push(note(1), version=2), 400)
    assert wrong_version["code"] == "unsupported_protocol"
    assert "version 1" in wrong_version["detail"]
    # A future client whose body does not even fit today's models: still the version.
    future = {"protocol_version": 2, "client_id": s.client_id, "batches": []}
    r = env.http.post("/v1/sync/push", json=future, headers=s.headers)
    assert assert_problem(r, 400)["code"] == "unsupported_protocol"
    other = {"protocol_version": 1, "client_id": "someone-else", "mutations": []}
    r = env.http.post("/v1/sync/push", json=other, headers=s.headers)
    assert assert_problem(r, 403)["code"] == "wrong_client"


def test_bad_input_is_4xx_with_a_problem(env: Env) -> None:
    s = env.login()
    headers = {**s.headers, "Content-Type": "application/json"}
    malformed = env.http.post("/v1/sync/push", content=b'{"protocol_version": 1,', headers=headers)
    assert assert_problem(malformed, 400)["code"] == "malformed_json"
    invalid = env.http.post("/v1/sync/push", headers=headers, json={
        "protocol_version": 1, "client_id": s.client_id,
        "mutations": [{**note(1), "mutation_id": 0}]})
    assert "mutation_id" in assert_problem(invalid, 422)["detail"]
    no_body = env.http.post("/v1/auth/login")
    assert_problem(no_body, 422)
    assert_problem(env.http.get("/v1/nowhere"), 404)
    nested = b"[" * 100_000 + b"]" * 100_000
    assert env.http.post("/v1/sync/push", content=nested, headers=headers).status_code < 500
    for depth in (150, 900, 5000):  # deep args: parsed, fingerprinted, or refused; never 500
        m = json.dumps({**note(1), "args": "ARGS"}).replace(
            '"ARGS"', '{"a":' * depth + "1" + "}" * depth)
        body = f'{{"protocol_version": 1, "client_id": "{s.client_id}", "mutations": [{m}]}}'
        r = env.http.post("/v1/sync/push", content=body.encode(), headers=headers)
        assert r.status_code < 500, (depth, r.text)


def test_unstorable_text_is_refused_not_a_500(env: Env) -> None:
    # NUL and lone surrogates travel fine in JSON but no database stores them.
    login = env.http.post("/v1/auth/login", json={"username": "ag\u0000ent", "password": "x",
                                                  "client_id": "client-0001"})
    assert assert_problem(login, 422)["detail"].startswith("username:")
    s = env.login()
    headers = {**s.headers, "Content-Type": "application/json"}
    r = s.push(note(1, body="nul \u0000 here"), note(2))
    nul, fine = r.json()["results"]
    assert nul["status"] == "rejected" and nul["reason"].startswith("args.body")
    assert fine["status"] == "applied"
    surrogate = json.dumps({"protocol_version": 1, "client_id": s.client_id,
                            "mutations": [note(3, body="BODY")]}).replace("BODY", "\\ud800")
    r = env.http.post("/v1/sync/push", content=surrogate.encode(), headers=headers)
    assert r.json()["results"][0]["status"] == "rejected"
    assert_problem(s.push({**note(4), "name": "add_note\u0000"}), 422)
    assert s.push(note(4)).json()["last_mutation_id"] == 4


def test_oversized_bodies_get_413(env: Env) -> None:
    s = env.login()
    big = json.dumps({"protocol_version": 1, "client_id": s.client_id,
                      "mutations": [note(1, body="x" * (1024 * 1024))]}).encode()
    r = env.http.post("/v1/sync/push", content=big,
                      headers={**s.headers, "Content-Type": "application/json"})
    assert assert_problem(r, 413)["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must still hold
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    r = env.http.post("/v1/sync/push", content=chunks(),
                      headers={**s.headers, "Content-Type": "application/json"})
    assert_problem(r, 413)
    assert env.http.get("/v1/health").status_code == 200  # and the server keeps serving


# --- pull ----------------------------------------------------------------------------------


def test_two_clients_push_and_both_pull_everything(env: Env) -> None:
    agent, supervisor = env.login("agent"), env.login("supervisor")
    assert agent.push(note(1, body="From Dana.")).json()["last_mutation_id"] == 1
    assert supervisor.push(note(1, body="From Sam.")).json()["last_mutation_id"] == 1
    for s in (agent, supervisor):
        full = s.pull(None)
        assert full["reset"] is True and full["more"] is False
        assert sorted(c["row"]["body"] for c in full["changes"]) == ["From Dana.", "From Sam."]
        assert {c["row"]["author_name"] for c in full["changes"]} == {"Dana Reyes", "Sam Okafor"}
        assert full["last_mutation_id"] == 1
        assert full["cursor"] == 2
        again = s.pull(full["cursor"])
        assert again == {"cursor": 2, "last_mutation_id": 1, "changes": [], "reset": False,
                         "more": False, "latest": 2}
    assert agent.pull(99)["reset"] is True  # a cursor from another server: start over
    assert agent.pull(-1)["reset"] is True
    assert len(agent.pull(1)["changes"]) == 1


def test_pull_pages_until_done(env: Env) -> None:
    s = env.login()
    s.push(*(note(i) for i in range(1, 6)))
    page = s.pull(None, limit=1)
    assert page["reset"] and page["more"] and len(page["changes"]) == 1
    seen = [c["id"] for c in page["changes"]]
    pages = 1
    while page["more"]:
        page = s.pull(page["cursor"], limit=1)
        assert not page["reset"]
        seen += [c["id"] for c in page["changes"]]
        pages += 1
    assert pages == 5 and len(set(seen)) == 5 and page["cursor"] == 5


def test_new_client_on_empty_server_gets_an_empty_snapshot(env: Env) -> None:
    s = env.login()
    assert s.pull(None) == {"cursor": 0, "last_mutation_id": 0, "changes": [], "reset": True,
                            "more": False, "latest": 0}


# --- roles ---------------------------------------------------------------------------------


def test_forbidden_mutation_needs_a_supervisor(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server_stub import mutations

    monkeypatch.setitem(mutations.ROLES_ALLOWED, "add_note",
                        frozenset({"supervisor", "admin"}))
    agent, supervisor = env.login("agent"), env.login("supervisor")
    r = agent.push(note(1)).json()
    assert r["results"] == [{"mutation_id": 1, "status": "rejected",
                             "reason": "needs a supervisor", "code": "forbidden"}]
    assert r["last_mutation_id"] == 1
    assert supervisor.push(note(1)).json()["results"][0]["status"] == "applied"


# --- events --------------------------------------------------------------------------------


def _read_event(lines: Iterator[str]) -> list[str]:
    """The next event's lines (up to the blank line that ends it)."""
    event: list[str] = []
    for line in lines:
        if line == "":
            if event:
                return event
            continue
        event.append(line)
    raise AssertionError(f"stream ended in the middle of {event}")


def test_events_poke_after_a_push(env: Env) -> None:
    listener, writer = env.login(), env.login("supervisor")
    with env.http.stream("GET", "/v1/events", headers=listener.headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert _read_event(lines) == ["retry: 3000", ": connected"]  # subscribed now
        assert writer.push(note(1)).status_code == 200
        assert _read_event(lines) == ["event: poke", 'data: {"cursor": 1}']
        writer.push(note(2, body="   "))  # rejected: nothing changed, so no poke
        writer.push(note(3))
        assert _read_event(lines) == ["event: poke", 'data: {"cursor": 2}']


def test_events_send_heartbeats(server_db: str) -> None:
    clock = Clock()
    app = create_app(server_db, clock=clock, password_hasher=FAST_HASHER,
                     heartbeat_seconds=0.05)
    engine = open_engine(server_db)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD)], hasher=FAST_HASHER)
    engine.dispose()
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        token = http.post("/v1/auth/login", json={"username": "agent", "password": PASSWORD,
                                                  "client_id": "client-0001"}).json()["token"]
        with http.stream("GET", "/v1/events",
                         headers={"Authorization": f"Bearer {token}"}) as stream:
            lines = stream.iter_lines()
            _read_event(lines)
            assert _read_event(lines) == [": keepalive"]


def test_stopping_the_server_ends_open_streams(env: Env) -> None:
    s = env.login()
    with env.http.stream("GET", "/v1/events", headers=s.headers) as stream:
        lines = stream.iter_lines()
        _read_event(lines)
        started = time.monotonic()
        env.server.stop()
        assert list(lines) == []  # the stream ended cleanly
        assert time.monotonic() - started < 3
    assert not env.server.running


def test_a_disconnected_listener_is_forgotten(env: Env) -> None:
    broker = runtime_of(env.server.app).broker
    s = env.login()
    with env.http.stream("GET", "/v1/events", headers=s.headers) as stream:
        # Keep the line iterator alive: dropping it closes the response, which is the
        # disconnect this test means to make only after the check below.
        lines = stream.iter_lines()
        _read_event(lines)
        assert broker.subscriber_count == 1
    # The server notices the disconnect on its own loop; give it a few round trips.
    deadline = time.monotonic() + 3
    while broker.subscriber_count and time.monotonic() < deadline:
        env.http.get("/v1/health")
    assert broker.subscriber_count == 0
    assert s.push(note(1)).status_code == 200


# --- embedding and the command line ---------------------------------------------------------


def test_the_embedded_server_restarts_with_its_data(env: Env) -> None:
    s = env.login()
    s.push(note(1))
    env.server.stop()
    env.server.stop()  # idempotent
    with pytest.raises(EmbeddedServerError):
        _ = env.server.url
    env.server.start()
    env.http.base_url = httpx.URL(env.server.url)
    assert s.pull(None)["cursor"] == 1  # same data, and the session survived the restart
    assert s.push(note(2)).json()["last_mutation_id"] == 2


def test_an_embedded_server_that_cannot_bind_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app = create_app(str(tmp_path / "s.sqlite3"))
        server = EmbeddedServer(app, port=taken.getsockname()[1], log_level="critical")
        with pytest.raises(EmbeddedServerError, match="did not start"):
            server.start()
        assert not server.running


def test_prepare_seeds_the_demo_users_once(server_db: str, tmp_path: Path) -> None:
    # SQLite: in a folder that does not exist yet (a fresh machine's data folder).
    db = server_db if "://" in server_db else str(tmp_path / "new" / "server.sqlite3")
    assert prepare(db, seed_demo_users=True) == ["agent", "supervisor"]
    assert prepare(db, seed_demo_users=True) == []
    engine = open_engine(db)
    with Session(engine) as s:
        users = {u.username: u for u in s.scalars(select(User))}
    engine.dispose()
    assert {(u.display_name, u.role) for u in users.values()} == {
        ("Dana Reyes", "agent"), ("Sam Okafor", "supervisor")}
    assert users["agent"].password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(users["supervisor"].password_hash, DEMO_PASSWORD)
