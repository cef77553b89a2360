"""The simulated contact center over real HTTP (uvicorn on 127.0.0.1, server_stub.cti_api).

The ticker is off and the clock injected: every /v1/cti request moves the simulation to
the clock's time first, so a test decides when things happen, without sleeping. Calls
arrive at 3,600 an hour, all to billing, with callers patient enough never to hang up.
"""

from __future__ import annotations

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
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.domain.calls import WrapUpMode, WrapUpPolicy
from agent_desktop.sync.cti_protocol import AgentView, CallView, CtiEvent, FloorView
from server_stub.acd import AcdConfig
from server_stub.app import create_app, runtime_of
from server_stub.embedded import EmbeddedServer
from server_stub.store import SyncedRow, User, next_change_seq, open_engine, seed_users

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"
CUSTOMER = "c" * 32
PHONE = "+14155550132"
INTERACTION_FIELDS = {
    "id", "customer_id", "channel", "direction", "queue", "agent_id", "caller_id",
    "offered_at", "answered_at", "ended_at", "wait_seconds", "dial_seconds", "talk_seconds",
    "hold_seconds", "acw_seconds", "transfers", "abandoned", "reason_code", "wrap_up_code",
    "resolved", "csat", "nps", "summary", "created_at", "updated_at", "version",
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Desk:
    """One logged-in person's session."""

    http: httpx.Client
    token: str
    agent_id: str
    client_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> httpx.Response:
        return self.http.get(f"/v1/cti{path}", headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(f"/v1/cti{path}", headers=self.headers, json=body)

    def me(self) -> AgentView:
        r = self.get("/me")
        assert r.status_code == 200, r.text
        return AgentView.model_validate(r.json())

    def act(self, call_id: str, action: str, body: dict[str, Any] | None = None) -> CallView:
        r = self.post(f"/calls/{call_id}/{action}", body)
        assert r.status_code == 200, r.text
        return CallView.model_validate(r.json())

    def available(self) -> AgentView:
        r = self.post("/state", {"state": "available"})
        assert r.status_code == 200, r.text
        return AgentView.model_validate(r.json())

    def interactions(self) -> dict[str, dict[str, Any]]:
        r = self.http.post("/v1/sync/pull", headers=self.headers, json={
            "protocol_version": 1, "client_id": self.client_id, "cursor": None})
        assert r.status_code == 200, r.text
        return {c["id"]: c["row"] for c in r.json()["changes"] if c["table"] == "interactions"}


@dataclass
class Env:
    server: EmbeddedServer
    http: httpx.Client
    clock: Clock

    def login(self, username: str = "agent") -> Desk:
        client_id = uuid.uuid4().hex
        r = self.http.post("/v1/auth/login", json={
            "username": username, "password": PASSWORD, "client_id": client_id})
        assert r.status_code == 200, r.text
        return Desk(self.http, r.json()["token"], r.json()["agent_id"], client_id)

    def ring(self, desk: Desk) -> CallView:
        """Move time on a second at a time until a call rings at ``desk``."""
        for _ in range(300):
            self.clock.advance(seconds=1)
            view = desk.me()
            if view.state == "offered" and view.call is not None:
                return view.call
        raise AssertionError("no call was offered")


def _seed(db: str) -> None:
    engine = open_engine(db)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        with Session(engine) as s, s.begin():
            seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD),
                           ("supervisor", "Sam Okafor", "supervisor", PASSWORD),
                           ("lee", "Lee Park", "agent", PASSWORD)],
                       hasher=FAST_HASHER)
            ids = {name: uid for name, uid in s.execute(select(User.username, User.id))}

            def row(table: str, row_id: str, data: dict[str, Any]) -> None:
                s.add(SyncedRow(table_name=table, id=row_id, change_seq=next_change_seq(s),
                                updated_at=now, data={"id": row_id, **data}))

            # Dana is on billing, Sam on tech support; Lee has no agents row (every skill).
            row("agents", ids["agent"], {"username": "agent", "display_name": "Dana Reyes",
                                         "role": "agent", "team": "Billing East",
                                         "skills": ["billing", "payments"], "active": True})
            row("agents", ids["supervisor"], {
                "username": "supervisor", "display_name": "Sam Okafor", "role": "supervisor",
                "team": "Tech Support", "skills": ["tech_internet", "approvals"],
                "active": True})
            for n in (1, 2, 3):  # nobody logs in as these: candidates to simulate
                row("agents", f"{n:032x}", {"username": f"sim{n}", "role": "agent",
                                            "display_name": f"Sim {n}", "team": "Billing",
                                            "skills": ["billing"], "active": True})
            row("customers", CUSTOMER, {"first_name": "Ann", "last_name": "Lee"})
            row("contact_points", "p" * 32, {"customer_id": CUSTOMER, "kind": "phone",
                                             "value": PHONE, "label": "mobile"})
            row("contact_points", "q" * 32, {"customer_id": CUSTOMER, "kind": "email",
                                             "value": "ann@example.com"})
    finally:
        engine.dispose()


def _serve(db: str, policy: WrapUpPolicy | None = None,
           heartbeat: float = 15.0, simulated: int = 0) -> Iterator[Env]:
    clock = Clock()
    acd = AcdConfig(calls_per_hour=3600, simulated_agents=simulated,
                    queue_mix={"billing": 1.0},
                    patience_mean_seconds=10_000_000.0, known_caller_share=1.0,
                    wrap_up=policy or WrapUpPolicy(WrapUpMode.REQUIRED))
    app = create_app(db, clock=clock, password_hasher=FAST_HASHER, snapshot_dir=None,
                     acd=acd, cti_tick_seconds=0, heartbeat_seconds=heartbeat)
    _seed(db)
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield Env(server, http, clock)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from _serve(str(tmp_path / "server.sqlite3"))


def problem(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "code"} and body["code"] == code, body
    return str(body["detail"])


# --- a call all the way through, recorded and synced ------------------------------------


@pytest.fixture
def any_env(server_db: str) -> Iterator[Env]:
    yield from _serve(server_db)


def test_a_fully_driven_call_is_recorded_and_synced(any_env: Env) -> None:
    env = any_env
    dana = env.login()
    me = dana.me()
    assert (me.username, me.team, me.skills, me.state) == (
        "agent", "Billing East", ["billing", "payments"], "logged_out")
    assert me.agent_id == dana.agent_id and me.wrap_up_mode == "required"
    dana.available()
    call = env.ring(dana)
    assert (call.queue, call.caller_id, call.customer_id) == ("billing", PHONE, CUSTOMER)
    offered = datetime.fromisoformat(call.offered_at)
    answered_at = env.clock.now + timedelta(seconds=3)
    env.clock.now = answered_at
    talking = dana.act(call.id, "answer")
    assert talking.state == "talking" and talking.answered_at == answered_at.isoformat()
    env.clock.advance(seconds=60)
    dana.act(call.id, "hold")
    env.clock.advance(seconds=25)
    assert dana.act(call.id, "resume").hold_seconds == 25
    env.clock.advance(seconds=40)
    ended = dana.act(call.id, "end")                 # talk 60 + 40, hold 25
    assert ended.state == "wrap_up" and dana.me().state == "after_call_work"
    env.clock.advance(seconds=33)                    # after-call work 33
    r = dana.post(f"/calls/{call.id}/wrap", {
        "wrap_up_code": "RESOLVED-FIRST-CALL", "reason_code": "BILL-HIGH", "resolved": True,
        "summary": "Explained the proration.", "customer_id": CUSTOMER})
    assert r.status_code == 200, r.text
    assert AgentView.model_validate(r.json()).state in ("available", "offered")
    row = dana.interactions()[call.id]  # recorded before the wrap answered
    assert set(row) == INTERACTION_FIELDS
    wait = round((answered_at - offered).total_seconds())
    assert row == {
        "id": call.id, "customer_id": CUSTOMER, "channel": "call", "direction": "inbound",
        "queue": "billing", "agent_id": dana.agent_id, "caller_id": PHONE,
        "offered_at": call.offered_at, "answered_at": answered_at.isoformat(),
        "ended_at": (answered_at + timedelta(seconds=125)).isoformat(),
        "wait_seconds": wait, "dial_seconds": 0, "talk_seconds": 100, "hold_seconds": 25,
        "acw_seconds": 33, "transfers": 0, "abandoned": False, "reason_code": "BILL-HIGH",
        "wrap_up_code": "RESOLVED-FIRST-CALL", "resolved": True, "csat": None, "nps": None,
        "summary": "Explained the proration.", "created_at": call.offered_at,
        "updated_at": (answered_at + timedelta(seconds=158)).isoformat(), "version": 1,
    }


# --- refusals ---------------------------------------------------------------------------


def test_the_second_answer_to_a_call_is_refused(env: Env) -> None:
    dana, lee = env.login(), env.login("lee")
    lee_view = lee.me()
    assert (lee_view.team, lee_view.skills) == ("", ["billing", "collections", "retention",
                                                      "sales", "tech_internet"])
    dana.available()
    call = env.ring(dana)
    env.clock.advance(seconds=20)  # Dana does not answer: back to the front of the queue
    view = dana.me()
    assert (view.state, view.reason) == ("not_ready", "RING-NO-ANSWER")
    assert view.call is None
    lee.available()
    ringing = lee.me().call
    assert ringing is not None and ringing.id == call.id
    assert lee.act(call.id, "answer").agent_id == lee.agent_id
    detail = problem(dana.post(f"/calls/{call.id}/answer"), 409, "call_state")
    assert detail == "Another agent answered this call."
    detail = problem(lee.post(f"/calls/{call.id}/answer"), 409, "call_state")
    assert detail == "Cannot answer now: the call is in progress."
    lee.act(call.id, "end")
    lee.post(f"/calls/{call.id}/wrap", {"wrap_up_code": "INFO-PROVIDED",
                                        "reason_code": "BILL-QUESTION"})
    # Lee has no agents row: a desk could not link the call to him, so it names nobody.
    row = lee.interactions()[call.id]
    assert row["agent_id"] is None and row["wrap_up_code"] == "INFO-PROVIDED"


def test_unknown_calls_bad_bodies_and_the_floor_for_agents(env: Env) -> None:
    dana = env.login()
    for action in ("answer", "hold", "resume", "end"):
        problem(dana.post(f"/calls/{uuid.uuid4().hex}/{action}"), 404, "unknown_call")
    problem(dana.post(f"/calls/{uuid.uuid4().hex}/transfer", {"queue": "sales"}), 404,
            "unknown_call")
    problem(dana.post(f"/calls/{uuid.uuid4().hex}/wrap", {}), 404, "unknown_call")
    problem(dana.post("/state", {"state": "asleep"}), 422, "invalid_request")
    problem(dana.post("/state", {"state": "available", "extra": 1}), 422, "invalid_request")
    assert problem(dana.post("/state", {"state": "not_ready", "reason": "NAP"}), 422,
                   "invalid_request").startswith("Unknown not-ready reason")
    problem(dana.post("/state", None), 422, "invalid_request")
    problem(dana.post("/dial", {"number": "12"}), 422, "invalid_request")
    problem(dana.post(f"/calls/{'x' * 65}/answer"), 422, "invalid_request")
    r = dana.http.post("/v1/cti/state", headers={**dana.headers,
                                                  "Content-Type": "application/json"},
                       content=b"{")
    problem(r, 400, "malformed_json")
    problem(dana.get("/floor"), 403, "forbidden")
    problem(dana.http.get("/v1/cti/events?floor=1", headers=dana.headers), 403, "forbidden")
    problem(dana.http.get("/v1/cti/me"), 401, "not_logged_in")
    dana.available()
    call = env.ring(dana)
    problem(dana.post(f"/calls/{call.id}/transfer", {"queue": ""}), 422, "invalid_request")
    dana.act(call.id, "answer")
    assert problem(dana.post(f"/calls/{call.id}/transfer", {"queue": "nowhere"}), 422,
                   "invalid_request").startswith("Unknown queue")
    assert "on a call" in problem(dana.post("/state", {"state": "available"}), 409,
                                  "call_state")
    assert "already have a call" in problem(dana.post("/dial", {"number": PHONE}), 409,
                                            "call_state")
    dana.act(call.id, "end")
    assert problem(dana.post(f"/calls/{call.id}/wrap", {}), 422, "invalid_request") == \
        "Pick a wrap-up code and a contact reason to finish the call."
    assert "no customer" in problem(dana.post(f"/calls/{call.id}/wrap", {
        "wrap_up_code": "INFO-PROVIDED", "reason_code": "BILL-QUESTION",
        "customer_id": "d" * 32}), 422, "invalid_request")
    r = dana.post(f"/calls/{call.id}/wrap", {"wrap_up_code": "INFO-PROVIDED",
                                             "reason_code": "BILL-QUESTION"})
    assert r.status_code == 200, r.text
    assert "already wrapped up" in problem(dana.post(f"/calls/{call.id}/end"), 409,
                                           "call_state")


def test_transfer_with_a_note_and_the_supervisors_floor(env: Env) -> None:
    dana, sam = env.login(), env.login("supervisor")
    dana.available()
    call = env.ring(dana)
    dana.act(call.id, "answer")
    env.clock.advance(seconds=30)
    leg = dana.act(call.id, "transfer", {"queue": "tech_support",
                                         "note": "Modem drops every evening."})
    assert (leg.state, leg.transfers) == ("wrap_up", 1)
    sam.available()  # tech support: the transferred caller rings at Sam
    onward = sam.me().call
    assert onward is not None and onward.id != call.id and onward.queue == "tech_support"
    assert (onward.transferred_from, onward.transfer_note) == ("billing",
                                                               "Modem drops every evening.")
    assert (onward.caller_id, onward.customer_id) == (PHONE, CUSTOMER)
    r = sam.get("/floor")
    assert r.status_code == 200, r.text
    floor = FloorView.model_validate(r.json())
    states = {a.username: a.state for a in floor.agents}
    assert states == {"agent": "after_call_work", "supervisor": "offered"}
    billing = next(q for q in floor.queues if q.name == "billing")
    assert (billing.offered_today, billing.answered_today) >= (1, 1)
    queues = dana.get("/queues").json()
    assert [q["name"] for q in queues] == ["billing", "tech_support", "sales", "retention",
                                           "collections", "general"]
    dana.post(f"/calls/{call.id}/wrap", {"wrap_up_code": "TRANSFERRED",
                                         "reason_code": "TECH-NO-INTERNET"})
    row = dana.interactions()[call.id]
    assert (row["transfers"], row["talk_seconds"], row["wrap_up_code"]) == (1, 30,
                                                                            "TRANSFERRED")


def test_dialing_out_connects_and_records_dial_seconds(env: Env) -> None:
    dana = env.login()
    problem(dana.post("/dial", {"number": PHONE}), 409, "call_state")  # logged out
    dana.post("/state", {"state": "not_ready", "reason": "MEETING"})
    dialing = CallView.model_validate(dana.post("/dial", {
        "number": "(415) 555-0132", "customer_id": CUSTOMER}).json())
    assert (dialing.state, dialing.direction, dialing.caller_id) == ("dialing", "outbound",
                                                                     PHONE)
    env.clock.advance(seconds=15)  # the far end answers within 4-12 s
    connected = dana.me().call
    assert connected is not None and connected.state == "talking"
    assert connected.answered_at is not None
    dial = (datetime.fromisoformat(connected.answered_at)
            - datetime.fromisoformat(dialing.offered_at)).total_seconds()
    env.clock.advance(seconds=45)
    dana.act(dialing.id, "end")
    env.clock.advance(seconds=10)
    r = dana.post(f"/calls/{dialing.id}/wrap", {"wrap_up_code": "CALLBACK-SCHEDULED",
                                                "reason_code": "COLL-PAST-DUE"})
    assert r.status_code == 200, r.text
    row = dana.interactions()[dialing.id]
    assert (row["direction"], row["dial_seconds"], row["talk_seconds"],
            row["acw_seconds"]) == ("outbound", round(dial), round(60 - dial), 10)


def test_time_boxed_wrap_up_closes_by_itself(tmp_path: Path) -> None:
    policy = WrapUpPolicy(WrapUpMode.TIME_BOXED, acw_limit_seconds=60,
                          default_code="INFO-PROVIDED")
    for env in _serve(str(tmp_path / "server.sqlite3"), policy):
        dana = env.login()
        dana.available()
        call = env.ring(dana)
        dana.act(call.id, "answer")
        env.clock.advance(seconds=20)
        dana.act(call.id, "end")
        view = dana.me()
        assert view.wrap_up_mode == "time_boxed"
        assert view.acw_deadline == (env.clock.now + timedelta(seconds=60)).isoformat()
        assert "wrap-up" in problem(dana.post("/state", {"state": "available"}), 409,
                                    "call_state")
        env.clock.advance(seconds=61)
        assert dana.me().state in ("available", "offered")
        row = dana.interactions()[call.id]
        assert (row["wrap_up_code"], row["reason_code"], row["acw_seconds"]) == (
            "INFO-PROVIDED", "", 60)


# --- the event stream -------------------------------------------------------------------


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of the stream; comments and retry lines skipped."""
    event, data = "", ""
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and event:
            yield event, data
            event, data = "", ""


def test_the_event_stream_says_hello_then_offers_the_call(env: Env) -> None:
    dana = env.login()
    with env.http.stream("GET", "/v1/cti/events", headers=dana.headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.iter_lines())
        kind, data = next(events)
        assert kind == "hello"
        assert AgentView.model_validate_json(data).state == "logged_out"
        dana.available()
        kind, data = next(events)
        state = CtiEvent.model_validate_json(data)
        assert (kind, state.kind, state.agent.state, state.seq) == ("cti", "state",
                                                                    "available", 1)
        call = env.ring(dana)
        kind, data = next(events)
        offered = CtiEvent.model_validate_json(data)
        assert (offered.kind, offered.seq, offered.agent.state) == ("offered", 2, "offered")
        assert offered.call is not None and offered.call.id == call.id
        dana.act(call.id, "answer")
        assert CtiEvent.model_validate_json(next(events)[1]).kind == "answered"
    # A desk that reconnects hears its state at once.
    with env.http.stream("GET", "/v1/cti/events", headers=dana.headers) as stream:
        kind, data = next(_events(stream.iter_lines()))
        hello = AgentView.model_validate_json(data)
        assert (kind, hello.state) == ("hello", "on_call")
        assert hello.call is not None and hello.call.id == call.id


def test_supervisors_hear_the_floor(env: Env) -> None:
    dana, sam = env.login(), env.login("supervisor")
    with env.http.stream("GET", "/v1/cti/events?floor=1", headers=sam.headers) as stream:
        events = _events(stream.iter_lines())
        assert next(events)[0] == "hello"
        kind, data = next(events)
        assert kind == "floor" and FloorView.model_validate_json(data).agents
        dana.available()
        for kind, data in events:
            if kind == "floor":
                states = {a.username: a.state
                          for a in FloorView.model_validate_json(data).agents}
                if states.get("agent") == "available":
                    break


def test_stopping_the_server_ends_open_cti_streams(env: Env) -> None:
    dana = env.login()
    hub = runtime_of(env.server.app).cti.hub  # type: ignore[union-attr]
    with env.http.stream("GET", "/v1/cti/events", headers=dana.headers) as stream:
        lines = stream.iter_lines()
        assert next(_events(lines))[0] == "hello"
        assert hub.subscriber_count == 1
        started = time.monotonic()
        env.server.stop()
        assert list(lines) == []  # ended cleanly
        assert time.monotonic() - started < 3
    assert not env.server.running


def test_the_cti_stream_sends_heartbeats(tmp_path: Path) -> None:
    for env in _serve(str(tmp_path / "server.sqlite3"), heartbeat=0.05):
        dana = env.login()
        with env.http.stream("GET", "/v1/cti/events", headers=dana.headers) as stream:
            lines = stream.iter_lines()
            assert next(_events(lines))[0] == "hello"
            assert ": keepalive" in (next(lines), next(lines), next(lines))


def test_simulated_agents_are_synced_agents_nobody_logs_in_as(tmp_path: Path) -> None:
    for env in _serve(str(tmp_path / "server.sqlite3"), simulated=2):
        sam = env.login("supervisor")
        r = sam.get("/floor")
        assert r.status_code == 200, r.text
        floor = FloorView.model_validate(r.json())
        simulated = {a.username: a for a in floor.agents if a.simulated}
        assert len(simulated) == 2 and set(simulated) <= {"sim1", "sim2", "sim3"}
        for _ in range(40):  # ten minutes, a request every 15 s
            env.clock.advance(seconds=15)
            assert sam.get("/floor").status_code == 200
        rows = [r for r in sam.interactions().values() if not r["abandoned"]]
        assert rows and {r["agent_id"] for r in rows} <= {a.agent_id
                                                           for a in simulated.values()}
        assert all(r["wrap_up_code"] and r["reason_code"] and r["talk_seconds"] >= 25
                   for r in rows)
        assert all(r["customer_id"] == CUSTOMER for r in rows)  # every caller is Ann


def test_todays_calls_from_before_a_restart_still_count_on_the_floor(tmp_path: Path) -> None:
    db = str(tmp_path / "server.sqlite3")
    for env in _serve(db):
        # Written before the contact center started (as by the server before a restart):
        # one answered in 12 s, one abandoned after 40 s, one from yesterday, one outbound.
        engine = open_engine(db)
        today = env.clock.now
        try:
            with Session(engine) as s, s.begin():
                for n, (offered, extra) in enumerate((
                        (today - timedelta(hours=1), {"answered_at": "x", "wait_seconds": 12}),
                        (today - timedelta(hours=2), {"abandoned": True, "wait_seconds": 40}),
                        (today - timedelta(days=1), {"answered_at": "x", "wait_seconds": 3}),
                        (today - timedelta(hours=1), {"direction": "outbound"}))):
                    row_id = f"{n + 1:032x}"
                    s.add(SyncedRow(table_name="interactions", id=row_id,
                                    change_seq=next_change_seq(s), updated_at=today,
                                    data={"id": row_id, "queue": "billing",
                                          "direction": "inbound", "abandoned": False,
                                          "offered_at": offered.isoformat(), **extra}))
        finally:
            engine.dispose()
        sam = env.login("supervisor")
        r = sam.get("/floor")
        assert r.status_code == 200, r.text
        billing = next(q for q in FloorView.model_validate(r.json()).queues
                       if q.name == "billing")
        assert (billing.offered_today, billing.answered_today,
                billing.answered_in_target_today, billing.abandoned_today) == (2, 1, 1, 1)
        assert billing.service_level == 0.5
