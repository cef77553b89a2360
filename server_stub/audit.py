"""The server's audit log: append-only and hash-chained (shared/DOMAIN.md, "Audit rows").

Every payment, void, refund, adjustment, approval and rejection, and every refusal of one,
appends a row inside the transaction that does it. Each row's hash covers the previous
row's hash and its own fields, so changing, removing or reordering any row breaks the
chain from there on; ``verify`` names the first row that does not follow
(``agent-desktop-server verify-audit``).

Rows are numbered by ``seq`` (the previous maximum + 1). Two writers appending at once
would both read the same previous row: on PostgreSQL a transaction-scoped advisory lock
serialises appenders across server processes; on SQLite the single writer thread and the
database's write lock already do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server_stub.store import AuditRow

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x4144415544495421  # "ADAUDIT!" in ASCII

__all__ = ["GENESIS", "Broken", "append", "digest", "verify"]


def _fields(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq, "at": row.at.isoformat(), "client_at": row.client_at,
        "actor_id": row.actor_id, "actor_role": row.actor_role,
        "workstation": row.workstation, "action": row.action,
        "entity_type": row.entity_type, "entity_id": row.entity_id,
        "customer_id": row.customer_id, "result": row.result, "reason": row.reason,
        "approver_id": row.approver_id, "before": row.before, "after": row.after,
    }


def digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def append(session: Session, *, at: datetime, actor_id: str, actor_role: str, action: str,
           entity_type: str, entity_id: str, customer_id: str | None = None,
           result: str = "ok", reason: str = "", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, approver_id: str | None = None,
           client_at: str = "", workstation: str = "") -> AuditRow:
    """Append one row to the chain, in the caller's transaction."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = session.execute(
        select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
    seq, prev_hash = (int(last[0]) + 1, str(last[1])) if last is not None else (1, GENESIS)
    row = AuditRow(
        seq=seq, at=at, client_at=client_at[:40], actor_id=actor_id, actor_role=actor_role,
        workstation=workstation[:64], action=action, entity_type=entity_type,
        entity_id=entity_id, customer_id=customer_id, result=result, reason=reason,
        approver_id=approver_id, before=before or {}, after=after or {},
        prev_hash=prev_hash, hash="")
    row.hash = digest(prev_hash, _fields(row))
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class Broken:
    seq: int
    why: str


def verify(session: Session, batch: int = 5000) -> tuple[int, Broken | None]:
    """Walk the chain: (rows checked, the first broken link or None)."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    after = 0
    while True:
        rows = session.scalars(select(AuditRow).where(AuditRow.seq > after)
                               .order_by(AuditRow.seq).limit(batch)).all()
        if not rows:
            return checked, None
        for row in rows:
            if row.seq != expected_seq:
                return checked, Broken(expected_seq, f"row {expected_seq} is missing")
            if row.prev_hash != prev_hash:
                return checked, Broken(row.seq, "it does not point to the row before it")
            if row.hash != digest(prev_hash, _fields(row)):
                return checked, Broken(row.seq, "its content was changed after it was written")
            prev_hash, expected_seq, after = row.hash, row.seq + 1, row.seq
            checked += 1
        session.expunge_all()
