"""The server's tests run on both of its databases: a SQLite file and a real PostgreSQL.

One throwaway PostgreSQL cluster per test session (tests/pg.py), started on first use and
stopped at the end; every test gets an empty database of its own (databases are emptied,
connections cut and tables dropped, and reused). Without PostgreSQL installed the
postgresql variants are skipped, except under CI (the CI variable set), where they fail:
CI must really test PostgreSQL.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg import PostgresCluster

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster | None]:
    """The session's PostgreSQL cluster, or None when PostgreSQL is not installed."""
    cluster = PostgresCluster.find_and_start()
    if cluster is not None:
        # pg_ctl detaches the server from us: should the session end without running
        # fixture teardown (an interrupted run), stop it on the way out anyway.
        atexit.register(cluster.stop)
    try:
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
            atexit.unregister(cluster.stop)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster | None) -> Iterator[str]:
    """An empty PostgreSQL database for this test (emptied again afterwards: every
    connection cut, every table dropped)."""
    if postgres_cluster is None:
        why = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must run the PostgreSQL tests")
        pytest.skip(why)
    name, url = postgres_cluster.take_database()
    try:
        yield url
    finally:
        postgres_cluster.return_database(name)


@pytest.fixture(params=BACKENDS)
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The server's database for this test: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "server.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sessions(demo_store_template: Path, tmp_path: Path) -> Iterator[Any]:
    """Sessions on a server database seeded from the demo store (no demo users), for
    tests that apply mutations and run the back office directly."""
    from sqlalchemy.orm import Session, sessionmaker

    from server_stub.__main__ import prepare, seed
    from server_stub.store import open_engine

    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url)
    seed(url, str(demo_store_template), None)
    engine = open_engine(url)
    yield sessionmaker(engine, class_=Session, expire_on_commit=False)
    engine.dispose()
