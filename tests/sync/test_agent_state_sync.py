"""A person's state history, recorded by the server's contact center as each interval
ends, reaches a desk's store by the ordinary sync pull, and the dashboard reads occupancy
from it. A real server on 127.0.0.1 with an injected clock and the ticker off; a real
client store."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.domain.calls import WrapUpMode, WrapUpPolicy
from agent_desktop.services import dashboard as dash
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, open_store
from server_stub.acd import AcdConfig
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer
from server_stub.store import SyncedRow, User, next_change_seq, open_engine, seed_users

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def to(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


@dataclass
class Env:
    http: httpx.Client
    clock: Clock
    token: str
    agent_id: str
    client_id: str

    def cti(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.http.post(f"/v1/cti{path}", json=body,
                           headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def me(self) -> dict[str, Any]:
        r = self.http.get("/v1/cti/me", headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def pull_into(self, store: Store) -> int:
        """Every change since the store's cursor, applied as the desk's sync does."""
        applied = 0
        while True:
            r = self.http.post("/v1/sync/pull", headers={
                "Authorization": f"Bearer {self.token}"}, json={
                "protocol_version": 1, "client_id": self.client_id,
                "cursor": sync_store.cursor(store)})
            assert r.status_code == 200, r.text
            body = r.json()
            changes = [(c["table"], c["id"], c["row"]) for c in body["changes"]]
            sync_store.apply_changes(store, changes, body["cursor"], T0.isoformat())
            applied += len(changes)
            if not body["more"]:
                return applied


def _seed(db: str) -> None:
    engine = open_engine(db)
    try:
        with Session(engine) as s, s.begin():
            seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD)], hasher=FAST_HASHER)
            uid = s.scalar(select(User.id).where(User.username == "agent"))
            stamp = T0 - timedelta(days=30)
            s.add(SyncedRow(table_name="agents", id=uid, change_seq=next_change_seq(s),
                            updated_at=stamp, data={
                                "id": uid, "username": "agent", "display_name": "Dana Reyes",
                                "role": "agent", "team": "Billing East",
                                "skills": ["billing"], "adjustment_limit_cents": 5000,
                                "daily_adjustment_limit_cents": 20000,
                                "refund_limit_cents": 10000, "active": True,
                                "created_at": stamp.isoformat(),
                                "updated_at": stamp.isoformat(), "version": 1}))
    finally:
        engine.dispose()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    db = str(tmp_path / "server.sqlite3")
    clock = Clock()
    # A call a second on average, all to billing; callers never hang up.
    acd = AcdConfig(calls_per_hour=3600, simulated_agents=0, queue_mix={"billing": 1.0},
                    patience_mean_seconds=10_000_000.0,
                    wrap_up=WrapUpPolicy(WrapUpMode.OPTIONAL))
    app = create_app(db, clock=clock, password_hasher=FAST_HASHER, snapshot_dir=None,
                     acd=acd, cti_tick_seconds=0)
    _seed(db)
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        client_id = uuid.uuid4().hex
        r = http.post("/v1/auth/login", json={"username": "agent", "password": PASSWORD,
                                               "client_id": client_id})
        assert r.status_code == 200, r.text
        yield Env(http, clock, r.json()["token"], r.json()["agent_id"], client_id)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "desk.sqlite3")
    yield store
    store.close()


def test_a_persons_state_history_reaches_the_desk_and_makes_occupancy(
        env: Env, desk: Store) -> None:
    env.me()                                           # registered (logged out) at T0
    env.cti("/state", {"state": "available"})          # ready from 0 s
    call: dict[str, Any] | None = None
    for second in range(1, 300):                       # a call arrives within seconds
        env.clock.to(second)
        view = env.me()
        if view["state"] == "offered":
            call = view["call"]
            break
    assert call is not None
    offered = datetime.fromisoformat(call["offered_at"])
    answer = env.clock.now + timedelta(seconds=2)
    env.clock.now = answer
    env.cti(f"/calls/{call['id']}/answer")
    env.clock.now = answer + timedelta(seconds=100)
    env.cti(f"/calls/{call['id']}/end")                # talk 100
    wrapped = answer + timedelta(seconds=130)
    env.clock.now = wrapped
    env.cti(f"/calls/{call['id']}/wrap", {"wrap_up_code": "", "reason_code": "",
                                           "resolved": False, "summary": ""})  # ACW 30
    # Callers queued meanwhile: the next rings at once, and unanswered for 20 s it sends
    # Dana not ready (RING-NO-ANSWER); she logs out a while later.
    env.clock.now = wrapped + timedelta(seconds=30)
    assert env.me()["state"] == "not_ready"
    env.clock.now = wrapped + timedelta(seconds=60)
    env.cti("/state", {"state": "logged_out"})

    assert env.pull_into(desk) > 0
    con = sqlite3.connect(desk.path)
    try:
        got = con.execute(
            "SELECT agent_id, state, reason, started_at, ended_at, seconds, version "
            "FROM agent_states ORDER BY started_at").fetchall()
        handled = con.execute(
            "SELECT talk_seconds + hold_seconds + acw_seconds FROM interactions "
            "WHERE abandoned = 0").fetchall()
    finally:
        con.close()

    def stored(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    ringing = (answer - offered).total_seconds()
    expected = [
        ("available", "", T0, offered, round((offered - T0).total_seconds())),
        ("offered", "", offered, answer, round(ringing)),
        ("on_call", "", answer, answer + timedelta(seconds=100), 100),
        ("after_call_work", "", answer + timedelta(seconds=100), wrapped, 30),
        ("offered", "", wrapped, wrapped + timedelta(seconds=20), 20),
        ("not_ready", "RING-NO-ANSWER", wrapped + timedelta(seconds=20),
         wrapped + timedelta(seconds=60), 40),
    ]
    assert got == [(env.agent_id, state, reason, stored(start), stored(end), seconds, 1)
                   for state, reason, start, end, seconds in expected]
    assert handled == [(130,)]

    service = dash.DashboardService(desk, now=lambda: T0 + timedelta(hours=1))
    data = service.load(date(2026, 11, 24), date(2026, 11, 25), offset_s=0)
    ready_busy = sum(seconds for state, _r, _s, _e, seconds in expected
                     if state != "not_ready")
    assert data.totals["occupancy"] == pytest.approx(130 / ready_busy)
    assert data.occupancy_note == ""
    [row] = data.tables["agent"].rows
    assert row.key == env.agent_id and row.figures["occupancy"] == data.totals["occupancy"]
