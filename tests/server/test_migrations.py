"""The server's Alembic migrations: they build exactly the models' schema, on SQLite and
PostgreSQL; a database from before migrations is adopted; concurrent starts are safe."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from server_stub.store import (
    BASELINE_TABLES,
    HEAD_REVISION,
    Base,
    ChangeCounter,
    SchemaError,
    User,
    create_schema,
    open_engine,
    seed_users,
)


def _diffs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


@pytest.fixture
def engine(server_db: str) -> Any:
    engine = open_engine(server_db)
    yield engine
    engine.dispose()


def test_the_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    create_schema(engine)
    assert _diffs(engine) == []
    assert _revision(engine) == HEAD_REVISION
    assert set(inspect(engine).get_table_names()) == BASELINE_TABLES | {
        "alembic_version", "audit_log", "order_progress"}
    with Session(engine) as s:
        assert s.get(ChangeCounter, 1) is not None


def test_create_schema_twice_changes_nothing(engine: Engine) -> None:
    create_schema(engine)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", "pw")])
        s.get_one(ChangeCounter, 1).value = 7
    create_schema(engine)
    with Session(engine) as s:
        assert s.scalars(select(User.username)).all() == ["agent"]
        assert s.get_one(ChangeCounter, 1).value == 7


def test_a_database_made_by_create_all_is_stamped_not_recreated(engine: Engine) -> None:
    # What create_schema did before the server had migrations (the baseline's tables).
    Base.metadata.create_all(engine, tables=[
        Base.metadata.tables[name] for name in sorted(BASELINE_TABLES)])
    with Session(engine) as s, s.begin():
        s.add(ChangeCounter(id=1, value=41))
        seed_users(s, [("agent", "Dana Reyes", "agent", "pw")])
    create_schema(engine)
    assert _revision(engine) == HEAD_REVISION
    assert _diffs(engine) == []
    with Session(engine) as s:
        assert s.scalars(select(User.username)).all() == ["agent"]
        assert s.get_one(ChangeCounter, 1).value == 41


def test_a_database_with_only_some_of_the_tables_is_refused(engine: Engine) -> None:
    Base.metadata.tables["users"].create(engine)
    with pytest.raises(SchemaError, match=r"not .*change_counter"):
        create_schema(engine)
    assert "alembic_version" not in inspect(engine).get_table_names()


def test_a_database_from_a_newer_server_is_refused(engine: Engine) -> None:
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="9999"):
        create_schema(engine)


# A server process: imports, says "ready", waits for "go", creates the schema.
_STARTER = """
import sys
import alembic.command
from server_stub.store import create_schema, open_engine
engine = open_engine(sys.argv[1])
engine.connect().close()
print("ready", flush=True)
sys.stdin.readline()
create_schema(engine)
engine.dispose()
"""


def test_server_processes_starting_at_once_all_succeed(server_db: str) -> None:
    # Real processes (Alembic cannot run twice at once in one process, so threads would
    # not test the database lock). Without it they race to CREATE TABLE and fail.
    starters = [
        subprocess.Popen([sys.executable, "-c", _STARTER, server_db], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for p in starters:  # all imported and waiting: release them together
            assert p.stdout is not None
            line = p.stdout.readline()
            if line != "ready\n":  # it died first: say why
                _out, err = p.communicate(timeout=60)
                raise AssertionError(f"a starter exited {p.returncode} before it was "
                                     f"ready: {line!r} {err}")
        for p in starters:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()  # communicate() closes it
        for p in starters:
            _out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    finally:
        for p in starters:
            if p.poll() is None:
                p.kill()
            p.communicate()  # also closes its pipes
    engine = open_engine(server_db)
    try:
        assert _diffs(engine) == []
        assert _revision(engine) == HEAD_REVISION
        with Session(engine) as s:
            assert s.scalars(select(ChangeCounter.value)).all() == [0]
    finally:
        engine.dispose()


def test_threads_of_one_process_creating_schemas_at_once_all_succeed(
    server_db: str, tmp_path: Path
) -> None:
    # Alembic's module-level proxies are shared by every thread: create_schema must not
    # let two upgrades (here on two databases) interleave.
    databases = [server_db, str(tmp_path / "other.sqlite3")]
    barrier = threading.Barrier(len(databases))
    errors: list[BaseException] = []

    def start(database: str) -> None:
        engine = open_engine(database)
        try:
            barrier.wait(30)
            create_schema(engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start, args=(db,)) for db in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for database in databases:
        engine = open_engine(database)
        try:
            assert _diffs(engine) == []
        finally:
            engine.dispose()
