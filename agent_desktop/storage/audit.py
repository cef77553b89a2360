"""The append-only, hash-chained audit log (written inside the caller's transaction)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.storage.models import AuditEntry, new_id, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor_id: str | None,
    actor_role: str,
    action: str,
    entity_type: str,
    entity_id: str,
    customer_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    workstation: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Append one audit row chained to the previous one."""
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))
    prev_hash = prev or GENESIS
    entry = AuditEntry(
        id=new_id(),
        at=at or utcnow(),
        actor_id=actor_id,
        actor_role=actor_role,
        workstation=workstation,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        customer_id=customer_id,
        before=before or {},
        after=after or {},
        reason=reason,
        result="ok",
        prev_hash=prev_hash,
    )
    entry.hash = _digest(prev_hash, _fields(entry))
    session.add(entry)
    return entry


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
    }


def verify_chain(session: Session) -> int | None:
    """The seq of the first row whose hash does not follow, or None if the chain holds."""
    prev_hash = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        if entry.prev_hash != prev_hash or entry.hash != _digest(prev_hash, _fields(entry)):
            return entry.seq
        prev_hash = entry.hash
    return None
