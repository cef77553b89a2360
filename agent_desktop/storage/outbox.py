"""The sync outbox: each local change queues a mutation in the same transaction.

mutation_id grows by one per client and is allocated inside the writing transaction, so a
crash either keeps both the change and its mutation or neither (shared/ARCHITECTURE.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent_desktop.storage.models import OutboxMutation, SyncState, new_id


def enqueue(session: Session, name: str, args: dict[str, Any]) -> OutboxMutation:
    """Queue mutation ``name`` with ``args`` (JSON-able) for the next push."""
    last_pushed = session.get(SyncState, "last_mutation_id")
    floor = int(last_pushed.value) if last_pushed else 0
    current = session.scalar(select(func.max(OutboxMutation.mutation_id))) or 0
    mutation = OutboxMutation(
        mutation_id=max(current, floor) + 1, id=new_id(), name=name, args=args
    )
    session.add(mutation)
    return mutation

