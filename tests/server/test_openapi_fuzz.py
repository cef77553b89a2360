"""The sync server keeps the promises of its OpenAPI schema, whatever it is sent.

Two halves:
- schemathesis fuzzes every operation in /openapi.json against the real server (uvicorn on
  127.0.0.1, a SQLite file): valid and invalid requests, with a real session or a made-up
  one. Every answer must be below 500 and carry a status the schema documents.
- every documented non-2xx status of every endpoint is provoked on purpose, so the schema
  documents nothing the server never says (and a new documented status needs a case here).

Bounded and repeatable: few examples per operation, derandomized, no example database.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.sync.protocol import MUTATIONS
from server_stub.app import create_app, runtime_of
from server_stub.embedded import EmbeddedServer
from server_stub.store import SyncedRow, User, next_change_seq, open_engine, seed_users

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"
EXAMPLES = 25  # random ones per operation, after the coverage phase: the file runs < 60 s
CHECKS = [not_a_server_error, status_code_conformance]
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))


def _openapi() -> dict[str, Any]:
    """The schema, from an app that is built and never served."""
    app = create_app("sqlite://", snapshot_dir=None)
    try:
        return dict(app.openapi())
    finally:
        runtime_of(app).close()


SPEC = _openapi()
# Coverage (boundary values, missing and wrong-typed fields, each documented enum...) then
# random valid and invalid input; both phases derandomized, with no example database.
schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict({
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True,
                   "database": "none"},
}))
# An event stream with a real session never ends: fuzzed with made-up sessions only, its
# 200 is tested on its own below.
STREAMS = {"GET /v1/events"}


@dataclass
class Server:
    url: str
    http: httpx.Client
    fuzz: requests.Session  # schemathesis sends with requests; one session keeps one socket
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def login(self, username: str, client_id: str, *, fresh: bool = False) -> str | None:
        """A session for ``username`` on installation ``client_id`` (None if the server
        refuses that client id)."""
        key = (username, client_id)
        if fresh or key not in self.tokens:
            r = self.http.post("/v1/auth/login", json={
                "username": username, "password": PASSWORD, "client_id": client_id})
            if r.status_code != 200:
                return None
            self.tokens[key] = r.json()["token"]
        return self.tokens[key]


def _start(db: str, **options: Any) -> EmbeddedServer:
    """Two users, each with the agents row a server seeded from a store holds."""
    app = create_app(db, password_hasher=FAST_HASHER, **options)
    engine = open_engine(db)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD),
                       ("supervisor", "Sam Okafor", "supervisor", PASSWORD)],
                   hasher=FAST_HASHER)
        for user in s.scalars(select(User)):
            s.add(SyncedRow(table_name="agents", id=user.id, change_seq=next_change_seq(s),
                            updated_at=now, data={
                "id": user.id, "username": user.username, "role": user.role,
                "display_name": user.display_name, "team": "", "skills": [],
                "adjustment_limit_cents": 5000, "daily_adjustment_limit_cents": 20000,
                "refund_limit_cents": 10000, "active": True, "version": 1,
                "created_at": "2024-03-01 14:00:00.000000",
                "updated_at": "2026-10-01 15:00:00.000000"}))
    engine.dispose()
    return EmbeddedServer(app).start()


def _serve(db: str) -> Iterator[Server]:
    running = _start(db, snapshot_dir=None)
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http, requests.Session() as fuzz:
            yield Server(running.url, http, fuzz)
    finally:
        running.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """On a SQLite file."""
    yield from _serve(str(tmp_path / "server.sqlite3"))


@pytest.fixture
def any_server(server_db: str) -> Iterator[Server]:
    """On each of the server's databases (tests/server/conftest.py)."""
    yield from _serve(server_db)


# --- fuzzing --------------------------------------------------------------------------------


def _real_session(server: Server, case: Any, role: str) -> dict[str, str]:
    """A real session for ``role``, on the case's own installation (client id) when it
    names one the server accepts, so push and pull get past the client check."""
    client_id = "fuzz-client-0001"
    if isinstance(case.body, dict) and isinstance(case.body.get("client_id"), str):
        client_id = case.body["client_id"]
    fresh = case.operation.label == "POST /v1/auth/logout"  # a logout ends its session
    token = (server.login(role, client_id, fresh=fresh)
             or server.login(role, "fuzz-client-0001", fresh=fresh))
    assert token is not None
    return {"Authorization": f"Bearer {token}"}


def _send(server: Server, kwargs: dict[str, Any]) -> httpx.Response:
    """Send what schemathesis would, through httpx (for a body changed after generation)."""
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        body["content"] = kwargs["data"]
    return server.http.request(kwargs["method"], kwargs["url"], headers=kwargs["headers"],
                               params=kwargs.get("params"), **body)


_roles = itertools.cycle(["supervisor", "agent"])


@schema.parametrize()
@FUZZ
def test_fuzz(case: Any, server: Server) -> None:
    """Each generated request as generated (its own, made-up session), then with a real
    session, then with a real session and the protocol version this server speaks."""
    call = {"base_url": server.url, "session": server.fuzz, "checks": CHECKS, "timeout": 10}
    case.call_and_validate(**call)
    if not case.operation.security or case.operation.label in STREAMS:
        return
    auth = _real_session(server, case, next(_roles))
    case.call_and_validate(headers=auth, **call)
    kwargs = case.as_transport_kwargs(base_url=server.url, headers=auth)
    body = kwargs.get("json")
    if isinstance(body, dict) and body.get("protocol_version") != 1:
        kwargs["json"] = {**body, "protocol_version": 1}
        case.validate_response(_send(server, kwargs), checks=CHECKS)


# Args the appliers must survive: JSON of any shape, and near misses of the real args.
_finite = st.floats(allow_nan=False, allow_infinity=False)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _finite | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_near = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from([uuid.uuid4().hex, "x" * 32, ""]) | st.text(),
    "agent_id": st.sampled_from(["@agent", "@supervisor", "@self", uuid.uuid4().hex]) | _json,
    "customer_id": st.just("c" * 32) | _json,
    "body": st.text(max_size=50) | _json,
    "created_at": st.sampled_from(["2026-11-15T09:00:00", "yesterday"]) | _json,
    "interaction_id": st.none() | _json,
    "adjustment_limit_cents": st.integers(-10, 2 * 10**8) | _json,
    "daily_adjustment_limit_cents": st.integers(0, 10**8),
    "refund_limit_cents": st.integers() | _finite,
    "skills": st.lists(st.sampled_from(["billing", "Sales", "", "a" * 40]) | st.text(),
                       max_size=4) | _json,
})


def test_fuzz_every_mutations_args(any_server: Server) -> None:
    """Every mutation name the protocol knows, with mangled args, from every role: each is
    applied or rejected with a reason and a code, never a 5xx, and the queue moves on."""
    server = any_server
    ids = {}
    for username in ("agent", "supervisor"):
        r = server.http.post("/v1/auth/login", json={
            "username": username, "password": PASSWORD, "client_id": f"probe-{username}"})
        ids[username] = r.json()["agent_id"]
    desks = {role: (f"args-{role}", server.login(role, f"args-{role}")) for role in ids}
    next_id = dict.fromkeys(ids, 1)

    @FUZZ
    @given(role=st.sampled_from(sorted(ids)), name=st.sampled_from(sorted(MUTATIONS)),
           args=_near | st.dictionaries(st.text(), _json, max_size=5))
    def run(role: str, name: str, args: dict[str, Any]) -> None:
        aid = args.get("agent_id")
        if isinstance(aid, str) and aid.startswith("@"):
            args = {**args, "agent_id": ids[role] if aid == "@self" else ids[aid[1:]]}
        client_id, token = desks[role]
        mid = next_id[role]
        r = server.http.post("/v1/sync/push", headers={"Authorization": f"Bearer {token}"},
                             json={"protocol_version": 1, "client_id": client_id, "mutations": [
                                 {"mutation_id": mid, "id": uuid.uuid4().hex, "name": name,
                                  "args": args}]})
        assert r.status_code == 200, r.text
        [result] = r.json()["results"]
        assert r.json()["last_mutation_id"] == mid
        next_id[role] = mid + 1
        if result["status"] == "rejected":
            assert result["reason"] and result["code"] in ("forbidden", "invalid"), result
        else:
            assert result["status"] == "applied" and result["code"] == "", result

    run()


# --- every documented status is real ---------------------------------------------------------


BIG = b"x" * (1024 * 1024 + 1)


@dataclass
class Call:
    server: Server

    def __call__(self, method: str, path: str, *, token: str | None = None,
                 **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.server.http.request(method, path, headers=headers, **kwargs)

    def session(self, role: str = "agent", client_id: str = "status-client-1") -> str:
        token = self.server.login(role, client_id, fresh=True)
        assert token is not None
        return token


def _sync_body(client_id: str = "status-client-1", **extra: Any) -> dict[str, Any]:
    return {"protocol_version": 1, "client_id": client_id, **extra}


def _locked(call: Call) -> httpx.Response:
    for _ in range(10):
        call("POST", "/v1/auth/login", json={"username": "agent", "password": "wrong",
                                             "client_id": "status-client-1"})
    return call("POST", "/v1/auth/login", json={"username": "agent", "password": PASSWORD,
                                                "client_id": "status-client-1"})


JSON = {"Content-Type": "application/json"}
Provoke = Callable[[Call], httpx.Response]
UNLOCK = "/v1/admin/users/agent/unlock"

# (operation, status) -> a call that must answer with exactly that status.
PROVOKE: dict[tuple[str, int], Provoke] = {
    ("GET /v1/health", 413): lambda c: c("GET", "/v1/health", content=BIG),
    ("POST /v1/auth/login", 400): lambda c: c("POST", "/v1/auth/login", content=b"{",
                                               headers=dict(JSON)),
    ("POST /v1/auth/login", 401): lambda c: c("POST", "/v1/auth/login", json={
        "username": "agent", "password": "wrong", "client_id": "status-client-1"}),
    ("POST /v1/auth/login", 413): lambda c: c("POST", "/v1/auth/login", content=BIG,
                                               headers=dict(JSON)),
    ("POST /v1/auth/login", 422): lambda c: c("POST", "/v1/auth/login", json={
        "username": "agent", "password": PASSWORD, "client_id": "short"}),
    ("POST /v1/auth/login", 423): _locked,
    ("POST /v1/auth/logout", 401): lambda c: c("POST", "/v1/auth/logout", token="nope"),
    ("POST /v1/auth/logout", 413): lambda c: c("POST", "/v1/auth/logout", content=BIG,
                                                token=c.session()),
    (f"POST {UNLOCK.replace('agent', '{username}')}", 401): lambda c: c("POST", UNLOCK),
    (f"POST {UNLOCK.replace('agent', '{username}')}", 403):
        lambda c: c("POST", UNLOCK, token=c.session("agent")),
    (f"POST {UNLOCK.replace('agent', '{username}')}", 404):
        lambda c: c("POST", "/v1/admin/users/nobody/unlock", token=c.session("supervisor")),
    (f"POST {UNLOCK.replace('agent', '{username}')}", 413):
        lambda c: c("POST", UNLOCK, content=BIG, token=c.session("supervisor")),
    (f"POST {UNLOCK.replace('agent', '{username}')}", 422):
        lambda c: c("POST", f"/v1/admin/users/{'x' * 65}/unlock", token=c.session("supervisor")),
    ("GET /v1/sync/snapshot", 401): lambda c: c("GET", "/v1/sync/snapshot"),
    ("GET /v1/sync/snapshot", 404): lambda c: c("GET", "/v1/sync/snapshot", token=c.session()),
    ("GET /v1/sync/snapshot", 413): lambda c: c("GET", "/v1/sync/snapshot", content=BIG),
    ("GET /v1/sync/snapshot/file", 401): lambda c: c("GET", "/v1/sync/snapshot/file"),
    ("GET /v1/sync/snapshot/file", 404):
        lambda c: c("GET", "/v1/sync/snapshot/file", token=c.session()),
    ("GET /v1/sync/snapshot/file", 413):
        lambda c: c("GET", "/v1/sync/snapshot/file", content=BIG),
    ("GET /v1/events", 401): lambda c: c("GET", "/v1/events", token="nope"),
    ("GET /v1/events", 413): lambda c: c("GET", "/v1/events", content=BIG, token=c.session()),
}
for _endpoint in ("push", "pull"):
    _path = f"/v1/sync/{_endpoint}"
    _ok = _sync_body(mutations=[]) if _endpoint == "push" else _sync_body()

    def _with(path: str, body: dict[str, Any]) -> dict[tuple[str, int], Provoke]:
        return {
            (f"POST {path}", 400): lambda c: c("POST", path, token=c.session(),
                                                json={**body, "protocol_version": 2}),
            (f"POST {path}", 401): lambda c: c("POST", path, json=body),
            (f"POST {path}", 403): lambda c: c("POST", path, token=c.session(),
                                                json={**body, "client_id": "another-client"}),
            (f"POST {path}", 413): lambda c: c("POST", path, token=c.session(), content=BIG,
                                                headers=dict(JSON)),
            (f"POST {path}", 422): lambda c: c("POST", path, token=c.session(),
                                                json={**body, "client_id": 5}),
        }

    PROVOKE.update(_with(_path, _ok))

# The payment gateway's routes (server_stub.gateway_api): 402 is the gateway refusing.
_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": datetime.now(UTC).year + 2,
         "cvc": "123", "holder_name": "Dana Reyes"}
_ACCOUNT = {"routing_number": "110000000", "account_number": "000123456789",
            "holder_name": "Dana Reyes"}
for _path, _good, _refused in (
    ("/v1/gateway/cards", _CARD, {"number": "4242424242424241"}),
    ("/v1/gateway/bank-accounts", _ACCOUNT, {"routing_number": "123456789"}),
):
    def _gateway(path: str, good: dict[str, Any],
                 refused: dict[str, Any]) -> dict[tuple[str, int], Provoke]:
        return {
            (f"POST {path}", 400): lambda c: c("POST", path, token=c.session(), content=b"{",
                                                headers=dict(JSON)),
            (f"POST {path}", 401): lambda c: c("POST", path, json=good),
            (f"POST {path}", 402): lambda c: c("POST", path, token=c.session(),
                                                json={**good, **refused}),
            (f"POST {path}", 413): lambda c: c("POST", path, token=c.session(), content=BIG,
                                                headers=dict(JSON)),
            (f"POST {path}", 422): lambda c: c("POST", path, token=c.session(),
                                                json={**good, "holder_name": 5}),
        }

    PROVOKE.update(_gateway(_path, _good, _refused))


# The simulated contact center's routes (server_stub.cti_api). Its event stream never ends
# with a real session either: fuzzed with made-up sessions only.
STREAMS.add("GET /v1/cti/events")
_CTI_CALL = "/v1/cti/calls/{call_id}"


def _dialing(c: Call) -> tuple[str, str]:
    """A fresh agent session with an outbound call not yet connected: (token, call id)."""
    token = c.session()
    c("POST", "/v1/cti/state", token=token, json={"state": "not_ready", "reason": "MEETING"})
    r = c("POST", "/v1/cti/dial", token=token, json={"number": "+14155550132"})
    assert r.status_code == 200, r.text
    return token, str(r.json()["id"])


def _cti_conflict(action: str, body: dict[str, Any] | None) -> Provoke:
    def provoke(c: Call) -> httpx.Response:
        token, call_id = _dialing(c)
        if action == "end":  # ending is allowed while dialing; twice is not
            c("POST", f"/v1/cti/calls/{call_id}/end", token=token)
        return c("POST", f"/v1/cti/calls/{call_id}/{action}", token=token, json=body)
    return provoke


def _cti_state_conflict(c: Call) -> httpx.Response:
    token, _ = _dialing(c)
    return c("POST", "/v1/cti/state", token=token, json={"state": "available"})


for _action, _body in (("answer", None), ("hold", None), ("resume", None), ("end", None),
                       ("transfer", {"queue": "sales"}), ("wrap", {})):
    def _cti_call(action: str, body: dict[str, Any] | None) -> dict[tuple[str, int], Provoke]:
        op = f"POST {_CTI_CALL}/{action}"
        some = f"/v1/cti/calls/{'0' * 32}/{action}"
        cases: dict[tuple[str, int], Provoke] = {
            (op, 401): lambda c: c("POST", some, json=body),
            (op, 404): lambda c: c("POST", some, token=c.session(), json=body),
            (op, 409): _cti_conflict(action, body),
            (op, 413): lambda c: c("POST", some, token=c.session(), content=BIG,
                                   headers=dict(JSON)),
            (op, 422): lambda c: c("POST", f"/v1/cti/calls/{'x' * 65}/{action}",
                                   token=c.session(), json=body),
        }
        if body is not None:
            cases[(op, 400)] = lambda c: c("POST", some, token=c.session(), content=b"{",
                                           headers=dict(JSON))
        return cases

    PROVOKE.update(_cti_call(_action, _body))

for _path in ("/v1/cti/me", "/v1/cti/queues", "/v1/cti/floor", "/v1/cti/events"):
    def _cti_get(path: str) -> dict[tuple[str, int], Provoke]:
        return {
            (f"GET {path}", 401): lambda c: c("GET", path, token="nope"),
            (f"GET {path}", 413): lambda c: c("GET", path, content=BIG, token=c.session()),
        }

    PROVOKE.update(_cti_get(_path))

PROVOKE.update({
    ("GET /v1/cti/floor", 403): lambda c: c("GET", "/v1/cti/floor", token=c.session()),
    ("GET /v1/cti/events", 403):
        lambda c: c("GET", "/v1/cti/events?floor=1", token=c.session()),
    ("GET /v1/cti/events", 422):
        lambda c: c("GET", "/v1/cti/events?floor=maybe", token=c.session()),
    ("POST /v1/cti/state", 400): lambda c: c("POST", "/v1/cti/state", token=c.session(),
                                              content=b"{", headers=dict(JSON)),
    ("POST /v1/cti/state", 401): lambda c: c("POST", "/v1/cti/state",
                                              json={"state": "available"}),
    ("POST /v1/cti/state", 409): _cti_state_conflict,
    ("POST /v1/cti/state", 413): lambda c: c("POST", "/v1/cti/state", token=c.session(),
                                              content=BIG, headers=dict(JSON)),
    ("POST /v1/cti/state", 422): lambda c: c("POST", "/v1/cti/state", token=c.session(),
                                              json={"state": "asleep"}),
    ("POST /v1/cti/dial", 400): lambda c: c("POST", "/v1/cti/dial", token=c.session(),
                                             content=b"{", headers=dict(JSON)),
    ("POST /v1/cti/dial", 401): lambda c: c("POST", "/v1/cti/dial",
                                             json={"number": "+14155550132"}),
    ("POST /v1/cti/dial", 409): lambda c: c("POST", "/v1/cti/dial", token=c.session(),
                                             json={"number": "+14155550132"}),
    ("POST /v1/cti/dial", 413): lambda c: c("POST", "/v1/cti/dial", token=c.session(),
                                             content=BIG, headers=dict(JSON)),
    ("POST /v1/cti/dial", 422): lambda c: c("POST", "/v1/cti/dial", token=c.session(),
                                             json={"number": "12"}),
})


def _documented(server: Server) -> set[tuple[str, int]]:
    paths = server.http.get("/openapi.json").json()["paths"]
    return {(f"{method.upper()} {path}", int(status))
            for path, ops in paths.items() for method, op in ops.items()
            for status in op["responses"] if not status.startswith("2")}


def test_every_documented_error_status_has_a_case(server: Server) -> None:
    assert set(PROVOKE) == _documented(server)


@pytest.mark.parametrize(("operation", "status"), sorted(PROVOKE))
def test_every_documented_error_status_is_real(
        server: Server, operation: str, status: int) -> None:
    r = PROVOKE[(operation, status)](Call(server))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"detail", "code"} and body["detail"] and body["code"], body
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("body", "words"), [
    ('{"username": "\u00e9"}'.encode("latin-1"), "not UTF-8"),
    (b'{"username": ' + b"9" * 5000 + b"}", "too many digits"),
    (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nests too deeply"),
])
def test_a_body_json_cannot_read_is_a_400_with_a_reason(
        server: Server, body: bytes, words: str) -> None:
    # FastAPI answers these with a bare "There was an error parsing the body".
    for path in ("/v1/auth/login", "/v1/sync/push"):
        r = server.http.post(path, content=body, headers=JSON)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "malformed_json" and words in r.json()["detail"], r.text


def test_the_success_statuses_are_real(server: Server) -> None:
    call = Call(server)
    assert call("GET", "/v1/health").status_code == 200
    token = call.session("supervisor")
    assert call("POST", "/v1/sync/push", token=token,
                json=_sync_body(mutations=[])).status_code == 200
    assert call("POST", "/v1/sync/pull", token=token, json=_sync_body()).status_code == 200
    r = call("POST", UNLOCK, token=token)
    assert r.status_code == 200 and r.json() == {"username": "agent", "was_locked": False}
    with server.http.stream("GET", "/v1/events",
                            headers={"Authorization": f"Bearer {token}"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert next(stream.iter_lines()) == "retry: 3000"
    assert call("POST", "/v1/gateway/cards", token=token, json=_CARD).status_code == 200
    assert call("POST", "/v1/gateway/bank-accounts", token=token,
                json=_ACCOUNT).status_code == 200
    assert call("POST", "/v1/auth/logout", token=token).status_code == 204
    assert json.loads(call("POST", "/v1/auth/logout", token=token).text)["code"] \
        == "invalid_token"
