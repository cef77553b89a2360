"""One sync pass: push the outbox in order, then pull until caught up.

Safe to repeat at any point: the server skips mutation ids it has seen, the client drops
outbox rows the server has acknowledged, and pulled notes are inserted by id (never
twice). Runs on the sync thread, never the UI thread.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store
from agent_desktop.sync.client import SyncClient
from agent_desktop.sync.protocol import MAX_MUTATIONS_PER_PUSH, Mutation, SnapshotInfo

log = logging.getLogger(__name__)

# (what is happening, fraction done 0..1): for the first full sync's progress bar.
Progress = Callable[[str, float], None]


def _quiet(_what: str, _fraction: float) -> None:
    pass


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

    def fetch_snapshot(self, dest: Path, progress: Progress = _quiet,
                       share: float = 1.0) -> SnapshotInfo | None:
        """Download the server's snapshot to ``dest`` if this is a new desk (no cursor,
        nothing local) and the server offers one; None otherwise."""
        if sync_store.cursor(self.store) is not None or not sync_store.is_empty(self.store):
            return None
        info = self.client.snapshot_info()
        if info is None:
            return None
        mb = info.size / 1e6
        self.client.download_snapshot(info, dest, lambda got, total: progress(
            f"Downloading {info.customers:,} customers ({got / 1e6:,.0f} of {mb:,.0f} MB)",
            share * got / max(total, 1)))
        return info

    def first_sync(self, progress: Progress = _quiet) -> int | None:
        """A new desk's first sync from the server's snapshot while the app runs: download
        it, copy it in, then the caller pulls what changed since. Returns the rows loaded,
        or None when a snapshot does not apply (the store is not new, or the server has
        none), and the paged pull does the work instead. (Before the window opens, the
        new-desk setup adopts the file itself instead, which is faster.)"""
        dest = self.store.path.with_name(self.store.path.name + ".snapshot-download")
        try:
            info = self.fetch_snapshot(dest, progress, share=0.8)
            if info is None:
                return None
            return sync_store.load_snapshot(
                self.store, dest, info.change_seq, lambda done, total: progress(
                    f"Loading {info.customers:,} customers", 0.8 + 0.2 * done / total))
        except sync_store.SnapshotUnusable as exc:
            log.warning("snapshot not used, pulling page by page: %s", exc)
            return None
        finally:
            dest.unlink(missing_ok=True)

    def pull(self, progress: Progress = _quiet) -> tuple[int, set[str]]:
        count, touched = 0, set()
        cursor = sync_store.cursor(self.store)
        first = cursor is None
        while True:
            page = self.client.pull(cursor)
            now = datetime.now(UTC).isoformat()
            touched |= sync_store.apply_changes(
                self.store, [(c.table, c.id, dict(c.row)) for c in page.changes], page.cursor,
                now,
            )
            count += len(page.changes)
            cursor = page.cursor
            if first and page.more and page.latest:
                progress(f"Receiving the server's records ({count:,})",
                         min(1.0, page.cursor / page.latest))
            if not page.more:
                return count, touched

    def sync_once(self, progress: Progress = _quiet) -> SyncResult:
        applied, rejected = self.push()
        if sync_store.cursor(self.store) is None:
            sync_store.ensure_reference_data(self.store)
        loaded = self.first_sync(progress) or 0
        pulled, touched = self.pull(progress)
        return SyncResult(applied, rejected, loaded + pulled, frozenset(touched))
