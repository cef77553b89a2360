"""The sync server's own store: SQLAlchemy 2 typed models, portable SQL only.

SQLite (a file) is the default; PostgreSQL works by URL through the same code, so nothing
here may use dialect-only SQL. Dialect differences are confined to ``open_engine`` (SQLite
connection pragmas, the in-memory pool), the JSON column type, the schema lock
(``_lock_schema``) and PostgreSQL's change notification (``_notify_changes``).

The schema comes from Alembic migrations (server_stub/migrations, revision 0001 is the
baseline: the tables below): ``create_schema`` runs "upgrade to head" under a lock, so
several server processes may start at once. A change to the models needs a new revision
(tests/server/test_migrations.py fails until the migrations match the models).

Tables:
- ``users``: who may log in; argon2 password hashes; lockout bookkeeping.
- ``tokens``: sessions, keyed by the SHA-256 of the bearer token so a copy of the database
  never yields a usable token.
- ``clients``: one row per installation (client_id) with the last mutation id it pushed.
- ``mutation_log``: every pushed mutation's outcome, for idempotent replays and audits.
- ``rows``: the server's authoritative copy of every synced row, stamped with a global,
  strictly increasing ``change_seq`` that pull cursors point into.
- ``change_counter``: one row that allocates ``change_seq`` values.
- ``audit_log``: who did what to money (payments, voids, refunds, adjustments, approvals,
  and refusals of any of them): append-only, each row hash-chained to the one before
  (server_stub.audit; revision 0003).
- ``order_progress``: when the stub moves each open order on (revision 0004).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Connection,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import DateTime, TypeDecorator

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")
MutationStatus = Literal["applied", "rejected"]

_COUNTER_ID = 1

# Alembic reads revision scripts from disk: this folder ships as package data (pyproject)
# and as data files in the PyInstaller build (build.spec).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
HEAD_REVISION = "0004"  # the newest revision in migrations/versions
# The tables of the baseline: a database that has them but no alembic_version was made by
# metadata.create_all before the server had migrations, and is stamped, not recreated.
BASELINE_TABLES = frozenset(
    {"users", "tokens", "clients", "mutation_log", "rows", "change_counter"}
)
# pg_advisory_xact_lock key that serialises schema upgrades ("ADSCHEMA" in ASCII).
SCHEMA_LOCK_KEY = 0x4144534348454D41
# Alembic's ``context`` and ``op`` are module-level proxies: two upgrades running at once
# in one process would run on each other's connections. The database lock covers other
# processes; this covers threads of this one.
_ALEMBIC_IN_PROCESS = threading.Lock()


def new_id() -> str:
    """A new primary key: a random UUID as 32 lowercase hex characters (as the client)."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive.

    SQLite has no time zones and returns naive values; storing naive UTC everywhere keeps
    comparisons identical on SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the server store only takes aware (UTC) datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JSONData = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name="user_role_known"),
    )


class Token(Base):
    """A login session. Only the token's SHA-256 is kept: the token itself is a secret."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Client(Base):
    """One installation of the app; mutation ids are counted per client."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"))
    last_mutation_id: Mapped[int] = mapped_column(BigInteger, default=0)


class MutationLog(Base):
    """The outcome of every mutation a client pushed (applied, or rejected with why).

    The composite primary key is the (client_id, mutation_id) uniqueness the protocol
    relies on: a second server process racing to record the same mutation fails here.
    ``args_sha256`` lets a replay be compared with the original without keeping args.
    """

    __tablename__ = "mutation_log"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mutation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    mutation_uuid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(48))
    args_sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('applied', 'rejected')", name="mutation_status_known"),
    )


class SyncedRow(Base):
    """The authoritative copy of one synced row, as the JSON the clients receive."""

    __tablename__ = "rows"

    table_name: Mapped[str] = mapped_column("table", String(48), primary_key=True)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)
    change_seq: Mapped[int] = mapped_column(BigInteger, unique=True, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """One audited action, chained: ``hash`` = SHA-256(prev_hash + the row's fields)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_at: Mapped[str] = mapped_column(String(40), default="")
    actor_id: Mapped[str] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    workstation: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(48))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    approver_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    before: Mapped[dict[str, Any]] = mapped_column(JSONData)
    after: Mapped[dict[str, Any]] = mapped_column(JSONData)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class OrderProgress(Base):
    """An open order the stub will move on at ``due_at`` (``step`` "advance"), or a
    completed one whose follow-up goes then (``step`` "follow_up"); server_stub.orders."""

    __tablename__ = "order_progress"

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    step: Mapped[str] = mapped_column(String(16))


class ChangeCounter(Base):
    """Allocates change_seq. Incrementing it inside the writing transaction holds its row
    lock until commit, so on PostgreSQL concurrent writers commit in change_seq order and a
    pull can never see seq N+1 before N (a sequence would hand out numbers that commit out
    of order and let a cursor skip rows)."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def database_url(database: str) -> str:
    """A SQLAlchemy URL for ``database``: URLs pass through, anything else is a file path."""
    if "://" in database:
        return database
    return f"sqlite:///{Path(database).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pulls read while a push writes; synchronous=NORMAL is durable enough in WAL
    # (a power cut can lose the last commits, never corrupt); foreign keys are off by
    # default in SQLite.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def open_engine(database: str) -> Engine:
    """An engine for a SQLite file path or any SQLAlchemy URL (e.g. postgresql+psycopg://)."""
    url = database_url(database)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        if in_memory:
            # One shared connection, or every pooled connection would see its own empty
            # database.
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            # The timeout is SQLite's busy wait when another process holds the write lock.
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 15}
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: a server restarted under us should cost one retry, not a failed request.
    return create_engine(url, pool_pre_ping=True)


class SchemaError(RuntimeError):
    """The database's schema is not one this server can upgrade."""


def _lock_schema(connection: Connection) -> None:
    """Begin the transaction that upgrades the schema, holding a lock no other server
    process can take until it commits: on PostgreSQL a transaction-scoped advisory lock
    (its DDL is transactional, so the next process sees the finished schema), on SQLite
    the database's write lock (BEGIN IMMEDIATE waits out the busy timeout)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite opens transactions itself only before DML, so the DDL below would run
        # unprotected in autocommit mode without this.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_schema(engine: Engine) -> None:
    """Upgrade the schema to the newest revision ("alembic upgrade head") and create the
    change counter row. Idempotent, and safe when several server processes call it at once.

    A database made by ``metadata.create_all`` before the server had migrations (the
    baseline tables, no alembic_version) is stamped at the baseline, then upgraded.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    with _ALEMBIC_IN_PROCESS, engine.connect() as connection:
        _lock_schema(connection)
        tables = set(inspect(connection).get_table_names())
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        if "alembic_version" not in tables and tables & BASELINE_TABLES:
            missing = BASELINE_TABLES - tables
            if missing:
                raise SchemaError(
                    "the server database has some of the sync server's tables but not "
                    f"{', '.join(sorted(missing))}; it was not made by this server"
                )
            command.stamp(config, BASELINE_REVISION)
        try:
            command.upgrade(config, "head")
        except CommandError as exc:  # e.g. a revision from a newer server
            raise SchemaError(
                f"the server database's schema cannot be upgraded by this server: {exc}"
            ) from exc
        counter = connection.scalar(
            select(ChangeCounter.id).where(ChangeCounter.id == _COUNTER_ID)
        )
        if counter is None:
            connection.execute(insert(ChangeCounter).values(id=_COUNTER_ID, value=0))
        connection.commit()


def next_change_seq(session: Session) -> int:
    """Allocate the next change_seq inside the caller's (writing) transaction."""
    # Prebuilt Core statements on the session's connection: this runs once per applied
    # mutation, and building ORM statements each time cost more than running them.
    connection = session.connection()
    if connection.dialect.update_returning:  # SQLite >= 3.35 and PostgreSQL: one statement
        value = connection.execute(_BUMP_RETURNING).scalar()
    else:
        connection.execute(_BUMP_COUNTER)
        value = connection.execute(_READ_COUNTER).scalar()
    if value is None:
        raise RuntimeError("the change counter row is missing; run create_schema first")
    session.info[_NOTIFY_SEQ] = int(value)  # announced when the transaction commits
    return int(value)


# Other server processes learn of new changes from PostgreSQL: the transaction that
# allocated change_seq values sends NOTIFY CHANGES_CHANNEL, '<highest one>' as it commits,
# so the notification goes out exactly when the rows become visible, once per transaction
# (server_stub.relay listens). SQLite has no such channel, and needs none: one process.
CHANGES_CHANNEL = "agent_desktop_changes"
_NOTIFY_SEQ = "agent_desktop_notify_change_seq"


@event.listens_for(Session, "before_commit")
def _notify_changes(session: Session) -> None:
    seq = session.info.pop(_NOTIFY_SEQ, None)
    if seq is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANGES_CHANNEL, str(seq))))


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_NOTIFY_SEQ, None)


_COUNTER: Table = ChangeCounter.__table__  # type: ignore[assignment]
_BUMP_COUNTER = (
    update(_COUNTER).where(_COUNTER.c.id == _COUNTER_ID).values(value=_COUNTER.c.value + 1)
)
_READ_COUNTER = select(_COUNTER.c.value).where(_COUNTER.c.id == _COUNTER_ID)
_BUMP_RETURNING = _BUMP_COUNTER.returning(_COUNTER.c.value)


def current_change_seq(session: Session) -> int:
    """The highest change_seq handed out so far (0 before any change)."""
    value = session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == _COUNTER_ID))
    return value or 0


def seed_users(
    session: Session,
    users: Sequence[tuple[str, str, Role, str]],
    *,
    hasher: PasswordHasher | None = None,
) -> list[str]:
    """Add ``(username, display_name, role, password)`` users that do not exist yet.

    Runs in the caller's transaction (the caller commits). Existing users are left alone,
    passwords included, so seeding twice is harmless. Returns the usernames added.
    """
    ph = hasher or PasswordHasher()
    added: list[str] = []
    for username, display_name, role, password in users:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        exists = session.scalar(select(User.id).where(User.username == username))
        if exists is not None:
            continue
        session.add(
            User(
                id=new_id(),
                username=username,
                display_name=display_name,
                role=role,
                password_hash=ph.hash(password),
                failed_logins=0,
                locked_until=None,
            )
        )
        added.append(username)
    session.flush()
    return added
