"""What another server process doing the same thing a moment earlier looks like to this one.

On PostgreSQL several processes write to one database. The interleavings are made here
deterministically: the other process's commit is done by the test at the point where it
would land, and this process's earlier read is replayed as it saw it. Answers must stay
correct (and never a 500) on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from agent_desktop.sync.protocol import LoginRequest
from server_stub.service import Auth
from server_stub.store import Client, User, create_schema, open_engine, seed_users

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"
NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(server_db: str) -> Iterator[Engine]:
    engine = open_engine(server_db)
    create_schema(engine)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD),
                       ("supervisor", "Sam Okafor", "supervisor", PASSWORD)],
                   hasher=FAST_HASHER)
    yield engine
    engine.dispose()


def test_a_login_for_an_installation_another_process_just_registered(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = sessionmaker(engine, class_=Session, expire_on_commit=False)
    auth = Auth(sessions, FAST_HASHER, lambda: NOW, timedelta(hours=1))
    request = LoginRequest(username="agent", password=PASSWORD, client_id="desk-0000001")
    check = auth.check_password(request)
    assert check is not None and check.ok
    with Session(engine) as s, s.begin():
        supervisor = s.scalars(select(User.id).where(User.username == "supervisor")).one()
        # The other process: the same desk logged in there (as the supervisor), and has
        # pushed 7 mutations since...
        s.add(Client(client_id=request.client_id, user_id=supervisor, last_mutation_id=7))
    # ...after this process had looked the installation up and found nothing.
    real_get = Session.get
    missed: list[Any] = []

    def get_as_seen_before(self: Session, entity: Any, ident: Any, **kw: Any) -> Any:
        if entity is Client and not missed:
            missed.append(ident)
            return None
        return real_get(self, entity, ident, **kw)

    monkeypatch.setattr(Session, "get", get_as_seen_before)
    response = auth.record_login(request, check)
    assert missed == [request.client_id]
    assert response.username == "agent" and response.token
    with Session(engine) as s:
        client = s.get_one(Client, request.client_id)
        assert (client.user_id, client.last_mutation_id) == (response.agent_id, 7)
    assert auth.authenticate(response.token).client_id == request.client_id
