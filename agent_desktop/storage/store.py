"""Opening the local store: one SQLite file, WAL, foreign keys on, synchronous=FULL.

The store holds money, so it is opened with synchronous=FULL: a committed payment survives
a power cut. Opening upgrades an older store through Alembic, refuses a store written by a
newer version, and turns environment trouble (corrupt, locked, disk full) into a
``StoreError`` whose message is fit to show the agent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

# The newest migration this build knows; tests/storage checks it equals Alembic's head.
# Checking it by hand keeps Alembic out of start-up when the store is already current.
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
HEAD_REVISION = KNOWN_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class StoreProblem(StrEnum):
    NEWER_VERSION = "newer_version"
    CORRUPT = "corrupt"
    LOCKED = "locked"
    DISK_FULL = "disk_full"
    UNREADABLE = "unreadable"


class StoreError(Exception):
    """Environment trouble with the store file, with a message for the agent."""

    def __init__(self, problem: StoreProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


def explain(exc: BaseException, path: Path | str = "") -> StoreError:
    """Turn a sqlite3 / SQLAlchemy error about the file into a StoreError (or re-raise)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text_ = str(orig).lower()
    where = f" ({path})" if path else ""
    if "disk is full" in text_ or ("disk i/o error" in text_ and "full" in text_):
        return StoreError(
            StoreProblem.DISK_FULL,
            "The disk is full, so this change was not saved. Nothing already saved is "
            "lost. Free some disk space, then try again.",
        )
    if "locked" in text_ or "busy" in text_:
        return StoreError(
            StoreProblem.LOCKED,
            f"The customer store{where} is in use by another program. Close other copies "
            "of Agent Desktop and try again.",
        )
    if "not a database" in text_ or "malformed" in text_ or "corrupt" in text_:
        return StoreError(
            StoreProblem.CORRUPT,
            f"The customer store{where} is damaged and cannot be opened. It was left as "
            "it is so support can recover it; start with a fresh store or restore a copy.",
        )
    if "unable to open" in text_ or "readonly" in text_ or "permission" in text_:
        return StoreError(
            StoreProblem.UNREADABLE,
            f"The customer store{where} cannot be opened for writing. Check that the "
            "folder exists and that you may write to it.",
        )
    raise exc


def _pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        _on_connect(dbapi_connection, busy_timeout_ms)

    return on_connect


def _on_connect(dbapi_connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
    # Autocommit at the driver; SQLAlchemy's "begin" event below issues BEGIN itself, so
    # transactions are exactly the ones the code asks for (the pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


# The execution option Store.transaction sets so its BEGIN takes the write lock at once.
_BEGIN_IMMEDIATE = "agent_desktop_begin_immediate"


def _on_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(_BEGIN_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(path: Path | str, busy_timeout_ms: int = 5000) -> Engine:
    engine = create_engine(f"sqlite:///{path}", pool_pre_ping=False)
    event.listen(engine, "connect", _pragmas(busy_timeout_ms))
    event.listen(engine, "begin", _on_begin)
    return engine


@dataclass
class Store:
    """An open store: its file and engine. Sessions are made per unit of work."""

    path: Path
    engine: Engine

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error.

        BEGIN IMMEDIATE: the write lock is taken at the start (waiting up to the busy
        timeout for another writer), not at the first write. With a plain BEGIN, a
        transaction that reads first (add_note reads the customer, then writes) fails at
        once with "database is locked" whenever another connection, such as the sync
        thread's, commits between its first read and its first write.
        """
        session = self._sessions()
        try:
            with session.begin():
                session.connection(execution_options={_BEGIN_IMMEDIATE: True})
                yield session
        except (OperationalError, sqlite3.OperationalError) as exc:
            raise explain(exc, self.path) from exc
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session (WAL lets it run beside the writer)."""
        session = self._sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def current_revision(path: Path) -> str | None:
    """The store's schema revision, or None for an empty file. Raises StoreError."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            conn.execute("PRAGMA schema_version").fetchone()  # fails on a non-database
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            if not has_table:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise StoreError(
                        StoreProblem.CORRUPT,
                        f"{path} is a database, but not an Agent Desktop customer store. "
                        "Choose another file.",
                    )
                return None
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            return str(row[0]) if row else None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise explain(exc, path) from exc


def upgrade(engine: Engine, target: str = "head") -> None:
    """Bring the store's schema up to ``target`` with Alembic (imported only when needed)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)


def open_store(path: Path | str) -> Store:
    """Open (creating or upgrading as needed) the store at ``path``.

    Raises StoreError for a newer, corrupt, locked or unwritable store; the file is never
    modified in those cases.
    """
    path = Path(path)
    revision = current_revision(path)
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StoreError(
            StoreProblem.NEWER_VERSION,
            f"This customer store was written by a newer version of Agent Desktop "
            f"(schema {revision}; this version knows up to {HEAD_REVISION}). Update Agent "
            "Desktop to open it. The store was not changed.",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(path)
        if revision != HEAD_REVISION:
            upgrade(engine)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, sqlite3.Error, OSError) as exc:
        if isinstance(exc, OSError):
            raise StoreError(
                StoreProblem.UNREADABLE,
                f"The folder for the customer store ({path.parent}) cannot be created: "
                f"{exc.strerror}.",
            ) from exc
        raise explain(exc, path) from exc
    return Store(path=path, engine=engine)
