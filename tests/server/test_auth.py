"""Who may do what on the sync server, over real HTTP (uvicorn on 127.0.0.1, a free port),
on each of its databases (``server_db``, tests/server/conftest.py).

Sessions: every protected endpoint refuses a missing, unknown or expired token. Roles: the
server, not the UI, decides who may push a mutation or unlock an account. Lockout: ten
failed logins lock an account for 30 minutes, a supervisor can lift it at once. And the
session token is never written to a file, the store or a log on either side.

No sleeps: time moves by an injected clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from memory_keyring import MemoryKeyring
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.platform import logs, paths
from agent_desktop.platform.credentials import SERVICE
from agent_desktop.platform.settings import Settings
from agent_desktop.services.context import agent_by_username
from agent_desktop.services.customer360 import add_note
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import open_store
from agent_desktop.sync.client import AuthRequired, SyncClient
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer
from server_stub.mutations import MAX_LIMIT_CENTS
from server_stub.store import (
    MutationLog,
    SyncedRow,
    Token,
    User,
    next_change_seq,
    open_engine,
    seed_users,
)

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"
TTL_MINUTES = 60
USERS = [
    ("agent", "Dana Reyes", "agent"),
    ("agent2", "Lee Park", "agent"),
    ("supervisor", "Sam Okafor", "supervisor"),
    ("supervisor2", "Ana Silva", "supervisor"),
    ("admin", "Ola Berg", "admin"),
    ("newhire", "Kai Moss", "agent"),  # a login without an agents row on the server
]
# (adjustment, daily, refund) limits per role, as storage.demo_data seeds them.
LIMITS = {"agent": (5_000, 20_000, 10_000), "supervisor": (50_000, 500_000, 100_000),
          "admin": (100_000, 1_000_000, 200_000)}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Env:
    http: httpx.Client
    clock: Clock
    db: str
    ids: dict[str, str]  # username -> user id (the agent id)
    seeded: int  # the change_seq after the seeded agents rows
    seed_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # agents as seeded

    def attempt(self, username: str, password: str) -> httpx.Response:
        return self.http.post("/v1/auth/login", json={
            "username": username, "password": password, "client_id": "client-0001"})

    def login(self, username: str) -> Desk:
        cid = uuid.uuid4().hex
        r = self.http.post("/v1/auth/login", json={
            "username": username, "password": PASSWORD, "client_id": cid})
        assert r.status_code == 200, r.text
        return Desk(self, cid, r.json()["token"])

    def unlock(self, username: str, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(f"/v1/admin/users/{username}/unlock", headers=headers)

    def user(self, username: str) -> tuple[int, datetime | None]:
        engine = open_engine(self.db)
        try:
            with Session(engine) as s:
                row = s.execute(select(User.failed_logins, User.locked_until)
                                .where(User.username == username)).one()
                return int(row[0]), row[1]
        finally:
            engine.dispose()

    def logged_reasons(self) -> list[str]:
        engine = open_engine(self.db)
        try:
            with Session(engine) as s:
                return list(s.scalars(select(MutationLog.reason)
                                      .where(MutationLog.status == "rejected")))
        finally:
            engine.dispose()


@dataclass
class Desk:
    """One installation logged in as one user."""

    env: Env
    client_id: str
    token: str
    next_id: int = 1
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(self, name: str, **args: Any) -> dict[str, Any]:
        m = {"mutation_id": self.next_id, "id": uuid.uuid4().hex, "name": name, "args": args}
        self.next_id += 1
        return m

    def note(self) -> dict[str, Any]:
        return self.mutation("add_note", id=uuid.uuid4().hex, customer_id="c" * 32,
                             body="Called about the bill.", created_at="2026-11-15T09:00:00")

    def limits(self, agent_id: str, **fields: Any) -> dict[str, Any]:
        return self.mutation("set_agent_limits", agent_id=agent_id, **fields)

    def push(self, *mutations: dict[str, Any]) -> dict[str, Any]:
        self.sent.update((m["mutation_id"], m) for m in mutations)
        r = self.env.http.post("/v1/sync/push", headers=self.headers, json={
            "protocol_version": 1, "client_id": self.client_id, "mutations": list(mutations)})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def pull(self, cursor: int | None = None) -> dict[str, Any]:
        r = self.env.http.post("/v1/sync/pull", headers=self.headers, json={
            "protocol_version": 1, "client_id": self.client_id, "cursor": cursor})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def agents(self, cursor: int | None = None) -> dict[str, dict[str, Any]]:
        """The agents rows whose content changed since ``cursor`` (default: since the
        seed). A refused change re-stamps the row it named without changing it; such a
        row is pulled again but is not a change."""
        since = self.env.seeded if cursor is None else cursor
        return {c["id"]: c["row"] for c in self.pull(since)["changes"]
                if c["table"] == "agents" and c["row"] != self.env.seed_rows.get(c["id"])}


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "code"} and body["detail"], body
    return dict(body)


def seed(db: str, *, agents: bool = True) -> tuple[dict[str, str], int]:
    """The users, and (``agents``) an agents row for each but newhire, as seeding the
    server from a store leaves them (same id as the user, the store's columns and
    timestamp text)."""
    engine = open_engine(db)
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    try:
        with Session(engine) as s, s.begin():
            seed_users(s, [(u, name, role, PASSWORD) for u, name, role in USERS],
                       hasher=FAST_HASHER)
            ids = {u.username: u.id for u in s.scalars(select(User))}
            seq = 0
            for username, name, role in USERS[:-1] if agents else []:
                limit, daily, refund = LIMITS[role]
                seq = next_change_seq(s)
                s.add(SyncedRow(table_name="agents", id=ids[username], change_seq=seq,
                                updated_at=now, data={
                    "id": ids[username], "username": username, "display_name": name,
                    "role": role, "team": "Billing East", "skills": ["billing"],
                    "adjustment_limit_cents": limit, "daily_adjustment_limit_cents": daily,
                    "refund_limit_cents": refund, "active": True, "version": 1,
                    "created_at": "2024-03-01 14:00:00.000000",
                    "updated_at": "2026-10-01 15:00:00.000000"}))
        return ids, seq
    finally:
        engine.dispose()


@pytest.fixture
def env(server_db: str) -> Iterator[Env]:
    clock = Clock()
    app = create_app(server_db, clock=clock, password_hasher=FAST_HASHER,
                     token_ttl_minutes=TTL_MINUTES)
    ids, seeded = seed(server_db)
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        env = Env(http, clock, server_db, ids, seeded)
        env.seed_rows = env.login("admin").agents(0)
        yield env


# --- sessions ------------------------------------------------------------------------------


def _protected(env: Env, headers: dict[str, str], client_id: str) -> dict[str, httpx.Response]:
    """One call to every endpoint that needs a session."""
    sync = {"protocol_version": 1, "client_id": client_id}
    return {
        "push": env.http.post("/v1/sync/push", headers=headers, json={**sync, "mutations": []}),
        "pull": env.http.post("/v1/sync/pull", headers=headers, json={**sync, "cursor": None}),
        "events": env.http.get("/v1/events", headers=headers),
        "logout": env.http.post("/v1/auth/logout", headers=headers),
        "unlock": env.http.post("/v1/admin/users/agent/unlock", headers=headers),
    }


def test_every_protected_endpoint_needs_a_valid_token(env: Env) -> None:
    schema = env.http.get("/openapi.json").json()
    secured = {(path, method) for path, ops in schema["paths"].items()
               for method, op in ops.items() if op.get("security")}
    # The five named here, and whatever else the schema says needs a session.
    assert {("/v1/sync/push", "post"), ("/v1/sync/pull", "post"), ("/v1/events", "get"),
            ("/v1/auth/logout", "post"),
            ("/v1/admin/users/{username}/unlock", "post")} <= secured
    for what, headers, code in [
        ("no token", {}, "not_logged_in"),
        ("garbage", {"Authorization": "Bearer not-a-token"}, "invalid_token"),
        ("bare scheme", {"Authorization": "Bearer"}, "not_logged_in"),
        ("another scheme", {"Authorization": "Basic YWdlbnQ6eA=="}, "not_logged_in"),
        ("token hash", {"Authorization": "Bearer " + "0" * 64}, "invalid_token"),
    ]:
        for name, r in _protected(env, headers, "client-0001").items():
            body = problem(r, 401)
            assert body["code"] == code, (what, name, body)
            assert r.headers["www-authenticate"].startswith("Bearer"), (what, name)
        for path, method in secured - {("/v1/events", "get")}:
            url = path.replace("{username}", "agent")
            r = env.http.request(method.upper(), url, headers=headers, json={})
            assert problem(r, 401)["code"] == code, (what, path)
    assert env.user("agent") == (0, None)  # nothing a refused call asked for happened


def test_a_token_expires_after_its_ttl_everywhere(env: Env) -> None:
    supervisor = env.login("supervisor")
    env.clock.advance(minutes=TTL_MINUTES - 1)
    assert supervisor.push()["last_mutation_id"] == 0  # still valid a minute before
    env.clock.advance(minutes=1)  # expires_at == now: expired
    for name, r in _protected(env, supervisor.headers, supervisor.client_id).items():
        body = problem(r, 401)
        assert body == {"detail": "Your session has expired; log in again.",
                        "code": "session_expired"}, name
        assert "session has expired" in body["detail"]
    # A new login gives a new session; the old token stays dead (a login purges expired
    # sessions, so from then on it is simply unknown).
    fresh = env.login("supervisor")
    assert fresh.token != supervisor.token
    assert fresh.push()["last_mutation_id"] == 0
    assert problem(env.http.post("/v1/sync/pull", headers=supervisor.headers, json={
        "protocol_version": 1, "client_id": supervisor.client_id}), 401)["code"] \
        == "invalid_token"


# --- roles: set_agent_limits ----------------------------------------------------------------


def test_an_agent_may_not_set_limits_and_the_queue_goes_on(env: Env) -> None:
    agent = env.login("agent")
    r = agent.push(agent.limits(env.ids["agent2"], adjustment_limit_cents=999_999),
                   agent.note())
    refused, note = r["results"]
    assert refused == {"mutation_id": 1, "status": "rejected",
                       "reason": "needs a supervisor", "code": "forbidden"}
    assert note["status"] == "applied" and note["code"] == ""
    assert r["last_mutation_id"] == 2
    # Nothing about agent2 changed (the refusal re-stamps the row it named, so a desk that
    # changed it locally pulls the server's version back: same content).
    assert agent.agents() == {}
    # Sent again (its answer lost): the same refusal, code included, from the log.
    assert agent.push(agent.sent[1])["results"] == [refused]
    assert env.logged_reasons() == ["[forbidden] needs a supervisor"]


def test_a_supervisor_sets_an_agents_limits_and_other_desks_pull_them(env: Env) -> None:
    supervisor, other = env.login("supervisor"), env.login("agent2")
    agent_id = env.ids["agent"]
    first = other.pull()
    before = {c["id"]: c["row"] for c in first["changes"] if c["table"] == "agents"}[agent_id]
    r = supervisor.push(supervisor.limits(agent_id, adjustment_limit_cents=7_500,
                                          skills=["billing", "tech_tv"]))
    assert r["results"][0] == {"mutation_id": 1, "status": "applied", "reason": "",
                               "code": ""}
    changed = other.agents(first["cursor"])
    assert set(changed) == {agent_id}
    row = changed[agent_id]
    # Only the fields given change; the row moves past every desk's cursor, one version on.
    assert row == {**before, "adjustment_limit_cents": 7_500, "skills": ["billing", "tech_tv"],
                   "version": 2, "updated_at": env.clock.now.isoformat()}

    env.clock.advance(minutes=5)
    cursor = other.pull(first["cursor"])["cursor"]
    supervisor.push(supervisor.limits(agent_id, refund_limit_cents=0,
                                      daily_adjustment_limit_cents=MAX_LIMIT_CENTS))
    again = other.agents(cursor)
    assert again == {agent_id: {**row, "refund_limit_cents": 0,
                                "daily_adjustment_limit_cents": MAX_LIMIT_CENTS,
                                "version": 3, "updated_at": env.clock.now.isoformat()}}
    # Setting what is already there changes nothing: no new change for anyone.
    cursor = other.pull(cursor)["cursor"]
    assert supervisor.push(supervisor.limits(agent_id, refund_limit_cents=0))[
        "results"][0]["status"] == "applied"
    assert other.pull(cursor)["changes"] == []


def test_nobody_changes_their_own_limits(env: Env) -> None:
    for username in ("supervisor", "admin"):
        desk = env.login(username)
        r = desk.push(desk.limits(env.ids[username], adjustment_limit_cents=1_000_000),
                      desk.note())
        own, note = r["results"]
        assert own["status"] == "rejected" and own["code"] == "forbidden", own
        assert "own limits" in own["reason"] and "another supervisor" in own["reason"]
        assert note["status"] == "applied"
        assert desk.agents() == {}


def test_only_an_admin_changes_an_admins_limits(env: Env) -> None:
    supervisor, admin = env.login("supervisor"), env.login("admin")
    r = supervisor.push(supervisor.limits(env.ids["admin"], refund_limit_cents=1))
    assert r["results"][0]["code"] == "forbidden"
    assert "admin" in r["results"][0]["reason"]
    r = admin.push(admin.limits(env.ids["supervisor"], refund_limit_cents=123),
                   admin.limits(env.ids["supervisor2"], skills=[]))
    assert [x["status"] for x in r["results"]] == ["applied", "applied"]
    rows = admin.agents()
    assert rows[env.ids["supervisor"]]["refund_limit_cents"] == 123
    assert rows[env.ids["supervisor"]]["role"] == "supervisor"
    assert rows[env.ids["supervisor2"]]["skills"] == []
    assert rows[env.ids["supervisor2"]]["adjustment_limit_cents"] == LIMITS["supervisor"][0]


BAD_LIMITS: list[tuple[dict[str, Any], str]] = [
    ({"agent_id": uuid.UUID(int=7).hex, "refund_limit_cents": 5}, "no agent"),
    ({"agent_id": "@newhire", "refund_limit_cents": 5}, "no agent"),
    ({"agent_id": "AGENT", "refund_limit_cents": 5}, "32 lowercase hex"),
    ({"refund_limit_cents": 5}, "32 lowercase hex"),
    ({"agent_id": "@agent"}, "Say what to change"),
    ({"agent_id": "@agent", "refund_limit_cents": -1}, "between 0 and 100,000,000"),
    ({"agent_id": "@agent", "refund_limit_cents": MAX_LIMIT_CENTS + 1}, "between 0"),
    ({"agent_id": "@agent", "adjustment_limit_cents": 10**40}, "between 0"),
    ({"agent_id": "@agent", "adjustment_limit_cents": 12.5}, "whole number of cents"),
    ({"agent_id": "@agent", "adjustment_limit_cents": 100.0}, "whole number of cents"),
    ({"agent_id": "@agent", "daily_adjustment_limit_cents": True}, "whole number"),
    ({"agent_id": "@agent", "daily_adjustment_limit_cents": "5000"}, "whole number"),
    ({"agent_id": "@agent", "daily_adjustment_limit_cents": None}, "whole number"),
    ({"agent_id": "@agent", "skills": "billing"}, "list of skill names"),
    ({"agent_id": "@agent", "skills": ["Billing"]}, "short name"),
    ({"agent_id": "@agent", "skills": ["x" * 33]}, "short name"),
    ({"agent_id": "@agent", "skills": [""]}, "short name"),
    ({"agent_id": "@agent", "skills": [7]}, "short name"),
    ({"agent_id": "@agent", "skills": ["sales", "sales"]}, "listed twice"),
    ({"agent_id": "@agent", "skills": [f"s{i}" for i in range(33)]}, "at most 32"),
    ({"agent_id": "@agent", "refund_limit_cents": 5, "role": "admin"}, "does not take role"),
]


def test_bad_limits_are_rejected_with_a_reason_and_block_nothing(env: Env) -> None:
    supervisor = env.login("supervisor")
    sent = []
    for args, _words in BAD_LIMITS:
        target = args.get("agent_id")
        if isinstance(target, str) and target.startswith("@"):
            args = {**args, "agent_id": env.ids[target[1:]]}
        sent.append(supervisor.mutation("set_agent_limits", **args))
    r = supervisor.push(*sent, supervisor.note())
    *bad, note = r["results"]
    for (args, words), result in zip(BAD_LIMITS, bad, strict=True):
        assert result["status"] == "rejected" and result["code"] == "invalid", (args, result)
        assert words in result["reason"], (args, result)
    assert note["status"] == "applied"
    assert r["last_mutation_id"] == len(BAD_LIMITS) + 1
    assert supervisor.agents() == {}


def test_every_rejection_says_its_class(env: Env) -> None:
    supervisor = env.login("supervisor")
    first = supervisor.note()
    sent = [first, supervisor.mutation("launch_rocket"),
            supervisor.mutation("add_note", body="   "),
            {**first, "mutation_id": 1, "args": {**first["args"], "body": "Changed."}}]
    supervisor.push(*sent[:3])
    reused = supervisor.push(sent[3])["results"]
    codes = [x["code"] for x in supervisor.push(*sent[:3])["results"]]
    assert codes == ["", "unknown_mutation", "invalid"]
    assert reused == [{"mutation_id": 1, "status": "rejected",
                       "reason": "mutation id reused with different content",
                       "code": "reused_id"}]


# --- lockout and unlock ---------------------------------------------------------------------


def test_nine_failures_still_allow_a_login_the_tenth_locks(env: Env) -> None:
    for _ in range(9):
        assert problem(env.attempt("agent", "wrong"), 401)["code"] == "wrong_credentials"
    assert env.user("agent")[0] == 9
    assert env.attempt("agent", PASSWORD).status_code == 200
    assert env.user("agent") == (0, None)  # a success starts the count afresh
    for _ in range(9):
        env.attempt("agent", "wrong")
    locked = problem(env.attempt("agent", "wrong"), 423)
    assert locked["code"] == "account_locked"
    assert env.user("agent")[1] == env.clock.now + timedelta(minutes=30)
    # An unknown user never locks (there is nothing to lock) and never says so.
    for _ in range(11):
        assert problem(env.attempt("nobody", "wrong"), 401)["code"] == "wrong_credentials"


def test_a_lock_lasts_exactly_thirty_minutes(env: Env) -> None:
    for _ in range(10):
        env.attempt("agent", "wrong")
    env.clock.advance(minutes=29, seconds=59)
    assert problem(env.attempt("agent", PASSWORD), 423)["code"] == "account_locked"
    env.clock.advance(seconds=1)
    assert env.attempt("agent", PASSWORD).status_code == 200


def test_a_supervisor_unlocks_at_once_and_an_agent_may_not(env: Env) -> None:
    for _ in range(10):
        env.attempt("agent", "wrong")
    assert env.attempt("agent", PASSWORD).status_code == 423
    other_agent, supervisor = env.login("agent2"), env.login("supervisor")

    refused = problem(env.unlock("agent", other_agent.token), 403)
    assert refused["code"] == "forbidden" and "needs a supervisor" in refused["detail"]
    # An agent cannot probe for usernames either: 403 before any lookup.
    assert env.unlock("no-such-user", other_agent.token).status_code == 403
    assert env.attempt("agent", PASSWORD).status_code == 423  # still locked

    r = env.unlock("agent", supervisor.token)
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "agent", "was_locked": True}
    assert env.user("agent") == (0, None)
    assert env.attempt("agent", PASSWORD).status_code == 200  # no waiting
    again = env.unlock("agent", supervisor.token)
    assert again.json() == {"username": "agent", "was_locked": False}


def test_unlock_resets_the_failure_count(env: Env) -> None:
    admin = env.login("admin")
    for _ in range(8):
        env.attempt("supervisor", "wrong")
    assert env.unlock("supervisor", admin.token).json()["was_locked"] is False
    for _ in range(9):  # 8 + 9 would have locked without the reset
        env.attempt("supervisor", "wrong")
    assert env.attempt("supervisor", PASSWORD).status_code == 200


def test_unlock_of_an_unknown_or_impossible_user(env: Env) -> None:
    supervisor = env.login("supervisor")
    missing = problem(env.unlock("nobody", supervisor.token), 404)
    assert missing["code"] == "no_user" and "nobody" in missing["detail"]
    assert problem(env.unlock("x" * 65, supervisor.token), 422)["code"] == "invalid_request"
    assert problem(env.unlock("ag%00ent", supervisor.token), 422)["code"] == "invalid_request"


# --- the token is never written down --------------------------------------------------------


def _every_file(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_the_token_is_never_written_to_a_file_the_store_or_a_log(
        demo_store_template: Path, isolated_home: Path, tmp_path: Path,
        memory_keyring: MemoryKeyring) -> None:
    home = paths.data_dir()
    assert home == isolated_home
    store_file = paths.default_store_path()
    shutil.copyfile(demo_store_template, store_file)
    server_file = tmp_path / "server" / "server.sqlite3"
    server_file.parent.mkdir()
    app = create_app(str(server_file), password_hasher=FAST_HASHER)
    seed(str(server_file), agents=False)  # the desk's demo store has its own agents

    # The app's own log file, at DEBUG so every library's chatter lands in it too.
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    log_file = logs.configure(logging.DEBUG)
    assert log_file.is_relative_to(home)
    try:
        with EmbeddedServer(app) as server:
            Settings().set("theme", "dark")  # the settings file exists and is read too
            store = open_store(store_file)
            try:
                service = SyncService(store, server.url, "agent")
                service.login(PASSWORD)
                token = service.client.token
                assert token and len(token) >= 40
                assert memory_keyring.secrets == {(SERVICE, f"agent@{server.url}"): token}
                who = agent_by_username(store, "agent")
                assert who is not None
                with contextlib.closing(sqlite3.connect(store_file)) as raw:
                    cid = raw.execute("SELECT id FROM customers LIMIT 1").fetchone()[0]
                add_note(store, who, str(cid), "Asked about the token.")
                status, _ = service.sync()
                assert status.online and status.pending == 0, status
                service.close()
                for handler in root.handlers:
                    handler.flush()
                # While both databases are open: their -wal files hold the latest writes.
                during = _every_file(home, server_file.parent)
                # A restart finds the session in the keyring, and only there.
                again = SyncService(store, server.url, "agent")
                assert again.client.token == token
                assert again.sync()[0].online
                again.logout()
                again.close()
                assert memory_keyring.secrets == {}
                # ... and the server ended the session: the old token is refused.
                stale = SyncClient(server.url, sync_store.client_id(store))
                stale.token = token
                with pytest.raises(AuthRequired):
                    stale.pull(None)
                stale.close()
            finally:
                store.close()
    finally:
        for handler in root.handlers:
            handler.flush()
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)

    after = _every_file(home, server_file.parent)
    assert {"store.sqlite3-wal", "server.sqlite3-wal"} <= {p.name for p in during}
    assert {"store.sqlite3", "agent-desktop.log", "settings.json",
            "server.sqlite3"} <= {p.name for p in after}
    assert b"/v1/sync/push" in after[log_file]  # the log did record the session's calls
    for files in (during, after):
        for secret in (token, token[:16]):
            leaked = [p for p, data in files.items() if secret.encode() in data]
            assert not leaked, f"{secret[:4]}... found in {leaked}"
    # The server keeps only the token's SHA-256.
    engine = open_engine(str(server_file))
    try:
        with Session(engine) as s:
            hashes = list(s.scalars(select(Token.token_hash)))
    finally:
        engine.dispose()
    # Only SHA-256 digests are kept, and logging out removed this session's.
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
    assert hashlib.sha256(token.encode()).hexdigest() not in hashes
    assert token not in hashes
