"""The client's side of sync in the store: its identity, cursor, the outbox's state, and
applying what the server sends. Each function is one transaction."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from agent_desktop.domain.synced import SYNCED_TABLES
from agent_desktop.storage import cases, knowledge_drafts, orders, payments
from agent_desktop.storage.collections import DISCARD as COLLECTION_DISCARD
from agent_desktop.storage.collections import LOCAL as COLLECTION_LOCAL
from agent_desktop.storage.contacts import write_consent
from agent_desktop.storage.customers import DISCARD as CUSTOMER_DISCARD
from agent_desktop.storage.customers import LOCAL as CUSTOMER_LOCAL
from agent_desktop.storage.customers import WROTE as CUSTOMER_WROTE
from agent_desktop.storage.models import (
    Base,
    OutboxMutation,
    SyncState,
    UTCDateTime,
    new_id,
)
from agent_desktop.storage.offers import apply_record_offer
from agent_desktop.storage.reference import load_reference_data, resources_dir
from agent_desktop.storage.store import (
    KNOWN_REVISIONS,
    Store,
    StoreError,
    current_revision,
    open_store,
)

log = logging.getLogger(__name__)

# In the set apply_changes returns (customer ids): articles or votes arrived, so the
# knowledge index and its counts need refreshing.
KNOWLEDGE_CHANGED = "@knowledge"

CLIENT_ID = "client_id"
CURSOR = "cursor"
LAST_MUTATION_ID = "last_mutation_id"
LAST_SYNC_AT = "last_sync_at"


@dataclass(frozen=True, slots=True)
class PendingMutation:
    mutation_id: int
    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    mutation_id: int
    name: str
    reason: str
    created_at: datetime
    text: str = ""  # what the agent wrote, kept so it can be redone


def _get(store: Store, key: str) -> str | None:
    with store.reading() as session:
        row = session.get(SyncState, key)
        return row.value if row else None


def _set(session: Any, key: str, value: str) -> None:
    row = session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def client_id(store: Store) -> str:
    """This installation's id, made the first time it is asked for."""
    existing = _get(store, CLIENT_ID)
    if existing:
        return existing
    with store.transaction() as session:
        row = session.get(SyncState, CLIENT_ID)
        if row is None:
            row = SyncState(key=CLIENT_ID, value=new_id())
            session.add(row)
        return row.value


def cursor(store: Store) -> int | None:
    value = _get(store, CURSOR)
    return int(value) if value else None


def last_sync_at(store: Store) -> str | None:
    return _get(store, LAST_SYNC_AT)


def pending(store: Store, limit: int) -> list[PendingMutation]:
    """Mutations not yet acknowledged by the server, oldest first."""
    with store.reading() as session:
        rows = session.scalars(
            select(OutboxMutation)
            .where(OutboxMutation.status.in_(("pending", "sent")))
            .order_by(OutboxMutation.mutation_id)
            .limit(limit)
        ).all()
        return [PendingMutation(r.mutation_id, r.id, r.name, dict(r.args)) for r in rows]


def pending_count(store: Store) -> int:
    with store.reading() as session:
        return int(session.scalar(
            select(func.count()).select_from(OutboxMutation)
            .where(OutboxMutation.status.in_(("pending", "sent")))
        ) or 0)


def mark_sent(store: Store, mutation_ids: Sequence[int]) -> None:
    """Before the request goes out: so a crash after sending is visible as 'sent'."""
    if not mutation_ids:
        return
    with store.transaction() as session:
        session.execute(
            update(OutboxMutation)
            .where(OutboxMutation.mutation_id.in_(mutation_ids))
            .values(status="sent", attempts=OutboxMutation.attempts + 1)
        )


def record_results(
    store: Store, results: Iterable[tuple[int, str, str]], server_last_mutation_id: int
) -> None:
    """The server's answer: (mutation_id, status, reason) per mutation it looked at."""
    with store.transaction() as session:
        for mutation_id, status, reason in results:
            row = session.get(OutboxMutation, mutation_id)
            if row is None:
                continue
            if status == "rejected":
                if row.status != "rejected":
                    _discard(session, row.name, dict(row.args))
                row.status, row.reject_reason = "rejected", reason
            else:  # applied, or a duplicate of one applied earlier
                row.status = "applied"
        # Anything at or below the server's mark was processed there, even if this
        # answer was lost before: never send it again.
        session.execute(
            update(OutboxMutation)
            .where(OutboxMutation.mutation_id <= server_last_mutation_id,
                   OutboxMutation.status.in_(("pending", "sent")))
            .values(status="applied")
        )
        _set(session, LAST_MUTATION_ID, str(server_last_mutation_id))


# The rows a refused mutation wrote on this desk alone (the server never took them), by
# table and the args that hold their ids. They go when the refusal arrives; the change's
# text stays in the outbox row, listed under "needs attention" with the reason. Rows the
# mutation changed in place come back as the server has them with the next pull (the
# server re-stamps them when it refuses).
_WROTE: dict[str, tuple[tuple[str, str], ...]] = {
    "add_note": (("notes", "id"),),
    "create_case": (("case_events", "event_id"), ("cases", "id")),
    "change_case_status": (("case_events", "event_id"),),
    "set_case_priority": (("case_events", "event_id"),),
    "assign_case": (("case_events", "event_id"),),
    "add_case_note": (("case_events", "event_id"),),
    "merge_cases": (("case_events", "event_id"), ("case_events", "target_event_id")),
    "draft_article": (("knowledge_articles", "id"),),
    "record_offer": (("offers_shown", "id"),),
    **payments.WROTE,
    **CUSTOMER_WROTE,
    **orders.WROTE,
}


def _discard(session: Any, name: str, args: dict[str, Any]) -> None:
    if name in CUSTOMER_DISCARD:  # rows others point at: taken back in order
        CUSTOMER_DISCARD[name](session, args)
        return
    if name in COLLECTION_DISCARD:  # an arrangement and its installments, in order
        COLLECTION_DISCARD[name](session, args)
        return
    conn = session.connection()
    if name == "link_article":
        conn.exec_driver_sql("DELETE FROM case_articles WHERE case_id = ? AND article_id = ?",
                             (args.get("case_id"), args.get("article_id")))
        return
    for table, key in _WROTE.get(name, ()):
        row_id = args.get(key)
        if not isinstance(row_id, str):
            continue
        guard = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "AND name LIKE '%no_delete'", (table,)).fetchall()
        for trigger, _sql in guard:  # append-only guards protect what the server has
            conn.exec_driver_sql(f'DROP TRIGGER "{trigger}"')
        if table == "cases":
            conn.exec_driver_sql("DELETE FROM case_events WHERE case_id = ?", (row_id,))
        if table == "orders":
            conn.exec_driver_sql("DELETE FROM order_lines WHERE order_id = ?", (row_id,))
        conn.exec_driver_sql(f'DELETE FROM "{table}" WHERE id = ?', (row_id,))
        for _trigger, sql in guard:
            conn.exec_driver_sql(sql)


def rejected(store: Store) -> list[Rejected]:
    """The 'needs attention' list: changes the server refused, with its reason."""
    with store.reading() as session:
        rows = session.scalars(
            select(OutboxMutation).where(OutboxMutation.status == "rejected")
            .order_by(OutboxMutation.mutation_id)
        ).all()
        return [Rejected(r.mutation_id, r.name, r.reject_reason, r.created_at,
                         str(r.args.get("body") or r.args.get("subject")
                             or r.args.get("summary") or ""))
                for r in rows]


# --- applying what the server sends --------------------------------------------------------

# Rows that are never rewritten once here (shared/ARCHITECTURE.md, conflicts): a pulled
# copy of one we already hold is ignored. A payment's money columns are frozen; its
# status may still move forward.
_APPEND_ONLY = frozenset({"notes", "case_events"})
_FROZEN: dict[str, frozenset[str]] = {
    "payments": frozenset({"customer_id", "amount_cents", "method_kind", "entry", "currency"}),
}
_STORED_TS_LENGTH = len("2026-01-01 00:00:00.000000")


def _stored_timestamp(value: Any) -> Any:
    """A timestamp from the wire as the store keeps it: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'
    text (what SQLAlchemy's SQLite DateTime reads back)."""
    if not isinstance(value, str) or (len(value) == _STORED_TS_LENGTH and value[10] == " "):
        return value
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%d %H:%M:%S.%f")


def _stored_json(value: Any) -> Any:
    return None if value is None else json.dumps(value)  # as SQLAlchemy writes JSON


def _stored_bool(value: Any) -> Any:
    return None if value is None else int(bool(value))


def _converters(table: str) -> dict[str, Callable[[Any], Any]]:
    """Per column, how a wire value becomes a stored value (absent: as it is)."""
    found: dict[str, Callable[[Any], Any]] = {}
    for column in Base.metadata.tables[table].columns:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            found[column.name] = _stored_timestamp
        elif isinstance(kind, JSON):
            found[column.name] = _stored_json
        elif isinstance(kind, Boolean):
            found[column.name] = _stored_bool
    return found


_CONVERTERS = {table: _converters(table) for table in SYNCED_TABLES}
_COLUMNS = {table: frozenset(c.name for c in Base.metadata.tables[table].columns)
            for table in SYNCED_TABLES}
_KEYS = {table: tuple(c.name for c in Base.metadata.tables[table].primary_key.columns)
         for table in SYNCED_TABLES}


def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    if table in _APPEND_ONLY:
        return f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})'
    key = _KEYS[table]
    frozen = _FROZEN.get(table, frozenset())
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns
                        if c not in key and c not in frozen)
    if not updates:
        return f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})'
    target = ", ".join(f'"{c}"' for c in key)
    return (f'INSERT INTO "{table}" ({names}) VALUES ({marks}) '
            f"ON CONFLICT({target}) DO UPDATE SET {updates}")


def stored_row(table: str, data: dict[str, Any]) -> dict[str, Any]:
    """A wire row as this store keeps it (known columns only, values converted)."""
    known, convert = _COLUMNS[table], _CONVERTERS[table]
    return {c: convert[c](v) if c in convert else v for c, v in data.items() if c in known}


def _customer_of(table: str, row_id: str, data: dict[str, Any]) -> str:
    if table == "customers":
        return row_id
    value = data.get("customer_id")
    return value if isinstance(value, str) else ""


def _refresh_vocabulary(conn: Any, customer_ids: Sequence[str]) -> None:
    """Recount the name tokens of changed customers (the lookup's vocabulary)."""
    tokens: set[str] = set()
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for first, last in conn.exec_driver_sql(
            f"SELECT first_norm, last_norm FROM customers WHERE id IN ({marks})", tuple(chunk)
        ):
            tokens.update(t for t in (first, last) if t)
    for token in tokens:
        conn.exec_driver_sql(
            "INSERT INTO name_tokens (token, customers) VALUES (?, "
            "(SELECT COUNT(*) FROM customers WHERE first_norm = ?) + "
            "(SELECT COUNT(*) FROM customers WHERE last_norm = ?)) "
            "ON CONFLICT(token) DO UPDATE SET customers = excluded.customers",
            (token, token, token),
        )


# Re-applying a still-pending local change on top of freshly pulled rows (the rebase):
# until the server has answered, the agent keeps seeing what they did. Append-only
# mutations need nothing (their rows are inserted once and never overwritten).
Reapply = Callable[[Any, dict[str, Any]], object]  # (session, args)
REAPPLY: dict[str, Reapply] = {
    "set_contact_consent": lambda session, args: write_consent(
        session.connection(), str(args.get("contact_point_id", "")), args),
    **{name: cases.reapply(name) for name in cases.LOCAL},
    **{name: cases.reapply_with(fn) for name, fn in knowledge_drafts.LOCAL.items()},
    **{name: cases.reapply_with(fn) for name, fn in payments.LOCAL.items()},
    **{name: cases.reapply_with(fn) for name, fn in CUSTOMER_LOCAL.items()},
    "record_offer": cases.reapply_with(apply_record_offer),
    **{name: cases.reapply_with(fn) for name, fn in orders.LOCAL.items()},
    **{name: cases.reapply_with(fn) for name, fn in COLLECTION_LOCAL.items()},
}


def _rebase(session: Any) -> None:
    rows = session.scalars(
        select(OutboxMutation).where(OutboxMutation.status.in_(("pending", "sent")))
        .order_by(OutboxMutation.mutation_id)
    ).all()
    for row in rows:
        reapply = REAPPLY.get(row.name)
        if reapply is not None:
            reapply(session, dict(row.args))


def apply_changes(
    store: Store, changes: Sequence[tuple[str, str, dict[str, Any]]], new_cursor: int,
    synced_at: str,
) -> set[str]:
    """Apply pulled rows in one transaction, then re-apply still-pending local changes on
    top; returns the customers the rows touch.

    Rows are upserted by id (plain fields: the server's last write wins); append-only
    rows already here are kept as they are; tables this version does not know are
    skipped, so a newer server does not stop an older desk from syncing.
    """
    touched: set[str] = set()
    changed_customers: list[str] = []
    with store.transaction() as session:
        conn = session.connection()
        by_shape: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        for table, row_id, data in changes:
            known = _COLUMNS.get(table)
            if known is None:
                continue
            row = stored_row(table, data)
            by_shape.setdefault((table, tuple(row)), []).append(tuple(row.values()))
            touched.add(_customer_of(table, row_id, data))
            if table in ("knowledge_articles", "knowledge_votes"):
                touched.add(KNOWLEDGE_CHANGED)
            if table == "customers":
                changed_customers.append(row_id)
        order = {table: i for i, table in enumerate(SYNCED_TABLES)}
        for (table, columns), rows in sorted(by_shape.items(), key=lambda kv: order[kv[0][0]]):
            sql = _upsert_sql(table, columns)
            try:
                with session.begin_nested():
                    conn.exec_driver_sql(sql, rows)
            except IntegrityError:
                # One row this store cannot take (e.g. an agent whose username another id
                # holds here) must not stop every other row from arriving: apply one by
                # one and report the ones that do not fit.
                for values in rows:
                    try:
                        with session.begin_nested():
                            conn.exec_driver_sql(sql, values)
                    except IntegrityError as exc:
                        log.warning("pulled %s row not applied: %s", table, exc.orig)
        if changed_customers:
            _refresh_vocabulary(conn, changed_customers)
        _rebase(session)
        _set(session, CURSOR, str(new_cursor))
        _set(session, LAST_SYNC_AT, synced_at)
    touched.discard("")
    return touched


def ensure_reference_data(store: Store) -> None:
    """Load the catalog and knowledge articles from resources/ into a store that has none
    (a new desk), so pulled services and orders find their products."""
    with store.reading() as session:
        if session.connection().exec_driver_sql(
                "SELECT 1 FROM products LIMIT 1").first() is not None:
            return
    with store.engine.begin() as connection:
        load_reference_data(connection, resources_dir())


def set_cursor(store: Store, value: int) -> None:
    """Record that this store holds everything up to change_seq ``value`` (for a store
    that was the source of the server's seed, or was loaded from its snapshot)."""
    with store.transaction() as session:
        _set(session, CURSOR, str(value))


def start_afresh(store: Store, seed_seq: int) -> None:
    """This store just seeded a new server: it holds everything up to ``seed_seq``, and
    the server has never heard of this installation. Take a new client id and number the
    changes still waiting from 1 again (the server counts from there); refused ones stay
    in the "needs attention" list, below zero so they never collide."""
    with store.transaction() as session:
        rows = session.scalars(select(OutboxMutation).order_by(OutboxMutation.mutation_id)).all()
        waiting = [r for r in rows if r.status in ("pending", "sent")]
        refused = [r for r in rows if r.status == "rejected"]
        session.execute(delete(OutboxMutation))
        session.flush()
        for number, row in enumerate(reversed(refused), start=1):
            session.add(_renumbered(row, -number))
        for number, row in enumerate(waiting, start=1):
            session.add(_renumbered(row, number, status="pending"))
        _set(session, CLIENT_ID, new_id())
        _set(session, LAST_MUTATION_ID, "0")
        _set(session, CURSOR, str(seed_seq))


def _renumbered(row: OutboxMutation, number: int, status: str | None = None) -> OutboxMutation:
    return OutboxMutation(mutation_id=number, id=row.id, name=row.name, args=dict(row.args),
                          status=status or row.status, attempts=row.attempts,
                          reject_reason=row.reject_reason, created_at=row.created_at)


def is_empty(store: Store) -> bool:
    """No synced rows and nothing queued: a new desk that can take a snapshot as it is."""
    with store.reading() as session:
        conn = session.connection()
        if conn.exec_driver_sql("SELECT 1 FROM sync_outbox LIMIT 1").first() is not None:
            return False
        return all(
            conn.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is None
            for table in SYNCED_TABLES if table not in _SHIPPED
        )


class SnapshotUnusable(Exception):
    """The snapshot cannot be loaded into this store; ``str()`` says why. The caller falls
    back to the paged full pull."""


# Reference data ships in resources/ and is loaded from there; a snapshot brings its own
# copy, used only by a store that has none yet.
_REFERENCE_TABLES = ("regions", "product_families", "products", "bundles",
                     "bundle_components", "promotions")
_SNAPSHOT_TABLES = (*_REFERENCE_TABLES, *SYNCED_TABLES, "name_tokens")
# Synced tables every desk also loads from resources/ (the same rows, by the same ids): a
# desk holding only these is still new, and the snapshot's copy replaces them.
_SHIPPED = frozenset({"knowledge_articles"})


def load_snapshot(
    store: Store, path: Path, change_seq: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Copy every synced table of the snapshot file at ``path`` into this (empty) store in
    one transaction and set the cursor to ``change_seq``; returns the rows copied.

    ``INSERT INTO t SELECT * FROM snapshot.t`` between identical schemas lets SQLite move
    whole b-tree pages instead of rows (its transfer optimization), which is what makes
    a first sync of 100,000 customers take seconds; it needs foreign key enforcement off
    and no triggers on the table, so the append-only triggers are dropped and recreated
    inside the same transaction. A crash at any point leaves the store as it was.
    """
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys = OFF")
        cur.execute("ATTACH DATABASE ? AS snapshot", (str(path),))
        try:
            copied = _copy_snapshot(cur, change_seq, progress)
        finally:
            cur.execute("DETACH DATABASE snapshot")
            cur.execute("PRAGMA foreign_keys = ON")
        # Move the copied pages from the write-ahead log into the file now, on the sync
        # thread: left to SQLite's automatic checkpoint, the next small write (an agent's
        # note) would pay for gigabytes.
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return copied
    except sqlite3.DatabaseError as exc:
        raise SnapshotUnusable(f"the snapshot file cannot be read ({exc})") from exc
    finally:
        raw.close()


def _copy_snapshot(cur: Any, change_seq: int,
                   progress: Callable[[int, int], None] | None) -> int:
    theirs = cur.execute("SELECT version_num FROM snapshot.alembic_version").fetchone()
    ours = cur.execute("SELECT version_num FROM main.alembic_version").fetchone()
    if theirs is None or ours is None or theirs[0] != ours[0]:
        raise SnapshotUnusable(
            f"the snapshot's schema ({theirs[0] if theirs else '?'}) is not this store's "
            f"({ours[0] if ours else '?'})")
    copied = 0
    cur.execute("BEGIN IMMEDIATE")
    try:
        if cur.execute("SELECT 1 FROM main.sync_outbox LIMIT 1").fetchone() is not None:
            raise SnapshotUnusable("this store has changes waiting to be sent")
        has_stats = cur.execute(
            "SELECT 1 FROM snapshot.sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        main_stats = cur.execute(
            "SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        if has_stats and not main_stats:
            cur.execute("ANALYZE main")  # creates sqlite_stat1; cheap before the copy
        for done, table in enumerate(_SNAPSHOT_TABLES):
            if cur.execute(f'SELECT 1 FROM main."{table}" LIMIT 1').fetchone() is not None:
                if table in _REFERENCE_TABLES:
                    continue
                if table == "name_tokens" or table in _SHIPPED:
                    cur.execute(f'DELETE FROM main."{table}"')
                else:
                    raise SnapshotUnusable(f"this store already holds {table}")
            triggers = cur.execute(
                "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = ?", (table,)).fetchall()
            for name, _sql in triggers:
                cur.execute(f'DROP TRIGGER main."{name}"')
            cur.execute(f'INSERT INTO main."{table}" SELECT * FROM snapshot."{table}"')
            copied += max(cur.rowcount, 0)
            for _name, sql in triggers:
                cur.execute(sql)
            if progress is not None:
                progress(done + 1, len(_SNAPSHOT_TABLES))
        if has_stats:
            # The planner's statistics come with the data, so lookups use the right
            # indexes at once instead of after an ANALYZE of gigabytes.
            cur.execute("DELETE FROM main.sqlite_stat1")
            cur.execute("INSERT INTO main.sqlite_stat1 SELECT * FROM snapshot.sqlite_stat1")
        for key, value in ((CURSOR, str(change_seq)),
                           (LAST_SYNC_AT, datetime.now(UTC).isoformat())):
            cur.execute("INSERT INTO main.sync_state (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return copied


def adopt_snapshot(store_path: Path, snapshot: Path, change_seq: int, client_id: str,
                   expected_revision: str) -> None:
    """Make the downloaded snapshot this desk's store: the fastest first sync there is (a
    rename instead of copying gigabytes). Only for a new desk, with its store CLOSED: the
    caller checked it was empty and has no connection open to it.

    The snapshot keeps this installation's client id and starts its cursor at the
    snapshot's change_seq; the old (empty) store and its WAL files are replaced.
    """
    try:
        revision = current_revision(snapshot)
    except StoreError as exc:
        raise SnapshotUnusable(f"the snapshot file cannot be read ({exc})") from exc
    if revision in KNOWN_REVISIONS and revision != expected_revision:
        # A snapshot made before this version's schema: upgrade it like any older store
        # (the server keeps serving it until it makes a new one).
        try:
            open_store(snapshot).close()
        except StoreError as exc:
            raise SnapshotUnusable(f"the snapshot could not be upgraded ({exc})") from exc
        for suffix in ("-wal", "-shm"):
            Path(f"{snapshot}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(snapshot)
    try:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if found is None or found[0] != expected_revision:
            raise SnapshotUnusable(
                f"the snapshot's schema ({found[0] if found else '?'}) is not this "
                f"version's ({expected_revision})")
        with conn:
            for key, value in ((CLIENT_ID, client_id), (CURSOR, str(change_seq)),
                               (LAST_SYNC_AT, datetime.now(UTC).isoformat()),
                               (LAST_MUTATION_ID, "0")):
                conn.execute("INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key)"
                             " DO UPDATE SET value = excluded.value", (key, value))
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        raise SnapshotUnusable(f"the snapshot file cannot be read ({exc})") from exc
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    os.replace(snapshot, store_path)
