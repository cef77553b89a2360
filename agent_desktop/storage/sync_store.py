"""The client's side of sync in the store: its identity, cursor, the outbox's state, and
applying what the server sends. Each function is one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from agent_desktop.storage.models import Note, OutboxMutation, SyncState, new_id
from agent_desktop.storage.store import Store

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


def rejected(store: Store) -> list[Rejected]:
    """The 'needs attention' list: changes the server refused, with its reason."""
    with store.reading() as session:
        rows = session.scalars(
            select(OutboxMutation).where(OutboxMutation.status == "rejected")
            .order_by(OutboxMutation.mutation_id)
        ).all()
        return [Rejected(r.mutation_id, r.name, r.reject_reason, r.created_at) for r in rows]


def _note(data: dict[str, Any]) -> Note:
    return Note(
        id=data["id"], customer_id=data["customer_id"], case_id=data.get("case_id"),
        interaction_id=data.get("interaction_id"), author_id=data.get("author_id"),
        author_name=data.get("author_name") or "", body=data["body"],
        created_at=datetime.fromisoformat(data["created_at"]),
    )


def apply_changes(
    store: Store, changes: Sequence[tuple[str, str, dict[str, Any]]], new_cursor: int,
    synced_at: str,
) -> set[str]:
    """Apply pulled rows in one transaction; returns the customers they touch.

    Notes are append-only: a note already here (ours, pushed earlier) is kept as is.
    """
    touched: set[str] = set()
    with store.transaction() as session:
        for table, row_id, data in changes:
            if table == "notes":
                if session.get(Note, row_id) is None:
                    session.add(_note(data))
                touched.add(str(data.get("customer_id", "")))
        _set(session, CURSOR, str(new_cursor))
        _set(session, LAST_SYNC_AT, synced_at)
    touched.discard("")
    return touched
