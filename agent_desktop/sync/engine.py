"""One sync pass: push the outbox in order, then pull until caught up.

Safe to repeat at any point: the server skips mutation ids it has seen, the client drops
outbox rows the server has acknowledged, and pulled notes are inserted by id (never
twice). Runs on the sync thread, never the UI thread.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store
from agent_desktop.sync.client import SyncClient
from agent_desktop.sync.protocol import MAX_MUTATIONS_PER_PUSH, Mutation


@dataclass(frozen=True)
class SyncResult:
    pushed: int = 0
    rejected: int = 0
    pulled: int = 0
    customers: frozenset[str] = field(default_factory=frozenset)


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 60.0,
                    rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter (AWS's recipe): 0..min(cap, base * 2^attempt)."""
    return float(rng()) * min(cap, base * float(2 ** max(0, attempt)))


class SyncEngine:
    def __init__(self, store: Store, client: SyncClient) -> None:
        self.store = store
        self.client = client

    def push(self) -> tuple[int, int]:
        """Send every pending mutation, in order; returns (applied, rejected)."""
        applied = rejected = 0
        while True:
            batch = sync_store.pending(self.store, MAX_MUTATIONS_PER_PUSH)
            if not batch:
                return applied, rejected
            sync_store.mark_sent(self.store, [m.mutation_id for m in batch])
            answer = self.client.push([
                Mutation(mutation_id=m.mutation_id, id=m.id, name=m.name, args=m.args)
                for m in batch
            ])
            results = [(r.mutation_id, r.status, r.reason) for r in answer.results]
            sync_store.record_results(self.store, results, answer.last_mutation_id)
            applied += sum(1 for _, status, _ in results if status != "rejected")
            rejected += sum(1 for _, status, _ in results if status == "rejected")
            if answer.last_mutation_id < batch[0].mutation_id:
                # Nothing of this batch was taken (the server stopped at a gap): later.
                return applied, rejected

    def pull(self) -> tuple[int, set[str]]:
        count, touched = 0, set()
        cursor = sync_store.cursor(self.store)
        while True:
            page = self.client.pull(cursor)
            now = datetime.now(UTC).isoformat()
            touched |= sync_store.apply_changes(
                self.store, [(c.table, c.id, dict(c.row)) for c in page.changes], page.cursor,
                now,
            )
            count += len(page.changes)
            cursor = page.cursor
            if not page.more:
                return count, touched

    def sync_once(self) -> SyncResult:
        applied, rejected = self.push()
        pulled, touched = self.pull()
        return SyncResult(applied, rejected, pulled, frozenset(touched))
