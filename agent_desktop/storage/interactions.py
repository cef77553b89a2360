"""Interactions read into columns (numpy arrays) for the supervisor dashboards.

At 5,000,000 interactions the rows cannot be read out of SQLite on every refresh (about
20 s through any Python driver, shared/MEASURED.md), so :class:`InteractionColumns` is
read once (only the columns the metrics need, times as epoch seconds computed by SQLite,
strings turned into small integer codes) and then kept up to date by reading only the rows
written since (``rowid`` above the last one seen): the interactions table is written once
per contact (the server records a call when it is wrapped up or abandoned, and the row
reaches the desk by the sync pull), so a catch-up reads a handful of rows.

Whether anything changed at all is asked with ``PRAGMA data_version`` on a connection the
cache keeps (microseconds); only then is ``max(rowid)`` read. A change to an existing row in
place (a late survey answer arriving by sync) or a deleted row is not seen by the catch-up;
:meth:`ColumnCache.refresh` with ``full=True`` reads everything again (the page's Shift+F5),
and a table whose last rowid went down is read again by itself.

The reads run on the engine's own driver connection (autocommit, WAL: beside the writer),
like storage/lookup.py; a :class:`ColumnCache` may be used from any one thread at a time
(it holds a lock).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
else:  # numpy on first use: the window opens without it (pyqtgraph brings it later anyway)

    class _LazyNumpy:
        def __getattr__(self, attr: str) -> Any:
            import numpy

            globals()["np"] = numpy
            return getattr(numpy, attr)

    np = _LazyNumpy()

from agent_desktop.storage.store import Store

NO_TIME = -(2**62)
"""The epoch seconds of a time that is missing (answered_at of an abandon, ended_at lost)."""

CHANNELS = ("call", "chat", "email")
DIRECTIONS = ("inbound", "outbound")

_READ_SQL = """
SELECT rowid,
       unixepoch(offered_at),
       coalesce(unixepoch(answered_at), {none}),
       coalesce(unixepoch(ended_at), {none}),
       wait_seconds, dial_seconds, talk_seconds, hold_seconds, acw_seconds, transfers,
       abandoned, coalesce(csat, -1), coalesce(nps, -1),
       CASE channel WHEN 'call' THEN 0 WHEN 'chat' THEN 1 ELSE 2 END,
       direction = 'outbound',
       queue, reason_code, agent_id, customer_id
FROM interactions WHERE rowid > ? AND offered_at IS NOT NULL ORDER BY rowid
""".format(none=int(NO_TIME))

_NUMERIC = (
    ("rowid", "int64"), ("offered", "int64"), ("answered", "int64"), ("ended", "int64"),
    ("wait", "int32"), ("dial", "int32"), ("talk", "int32"), ("hold", "int32"),
    ("acw", "int32"), ("transfers", "int16"), ("abandoned", "bool"),
    ("csat", "int8"), ("nps", "int8"), ("channel", "int8"), ("outbound", "bool"),
)
_CHUNK = 250_000


def _empty(dtype: Any) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass(frozen=True)
class InteractionColumns:
    """Every interaction as parallel arrays, ordered by ``offered`` (then rowid).

    Times are UTC epoch seconds, :data:`NO_TIME` when missing. ``csat``/``nps`` are -1
    without an answer. ``queue``, ``reason`` and ``agent`` are codes into ``queues``,
    ``reasons`` and ``agent_ids`` (``agent`` -1: never reached an agent); ``customer`` is
    a code that only tells customers apart (-1: unknown caller). ``offers_*``,
    ``promises_*`` and ``collected_cents`` are summed from the offers and promises that
    name the interaction.
    """

    rowid: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    offered: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    answered: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    ended: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    wait: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    dial: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    talk: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    hold: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    acw: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    transfers: np.ndarray = field(default_factory=lambda: _empty(np.int16))
    abandoned: np.ndarray = field(default_factory=lambda: _empty(np.bool_))
    csat: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    nps: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    channel: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    outbound: np.ndarray = field(default_factory=lambda: _empty(np.bool_))
    queue: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    reason: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    agent: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    customer: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    offers_shown: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    offers_accepted: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    promises_kept: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    promises_broken: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    collected_cents: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    extra_rows: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    """Positions (sorted) of the rows with any offer or promise."""
    queues: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    agent_ids: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.rowid.shape[0])

    @property
    def array_names(self) -> tuple[str, ...]:
        return _ARRAYS


_ARRAYS = (
    *(n for n, _ in _NUMERIC), "queue", "reason", "agent", "customer", "offers_shown",
    "offers_accepted", "promises_kept", "promises_broken", "collected_cents",
)


class _Vocab:
    """Strings to stable integer codes (first seen, first numbered)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.words: list[str] = []

    def encode(self, values: Sequence[Any], none_code: int | None = None) -> np.ndarray:
        import pandas as pd

        codes, uniques = pd.factorize(pd.Series(values, dtype="object"), use_na_sentinel=True)
        mapping = np.empty(len(uniques) + 1, dtype=np.int32)
        for i, word in enumerate(uniques.tolist()):
            word = "" if word is None else str(word)
            code = self.codes.get(word)
            if code is None:
                code = self.codes[word] = len(self.words)
                self.words.append(word)
            mapping[i] = code
        if none_code is None:
            code = self.codes.get("")
            if code is None:
                code = self.codes[""] = len(self.words)
                self.words.append("")
            mapping[-1] = code
        else:
            mapping[-1] = none_code
        out: np.ndarray = mapping[codes]  # codes == -1 (None) pick the last slot
        return out


@dataclass
class _Extras:
    """Offers and promises per interaction rowid."""

    rowids: np.ndarray
    shown: np.ndarray
    accepted: np.ndarray
    kept: np.ndarray
    broken: np.ndarray
    collected: np.ndarray


_EXTRAS_SQL = """
SELECT i.rowid, x.shown, x.accepted, x.kept, x.broken, x.collected FROM (
    SELECT interaction_id AS iid, count(*) AS shown,
           sum(response = 'accepted') AS accepted, 0 AS kept, 0 AS broken, 0 AS collected
    FROM offers_shown WHERE interaction_id IS NOT NULL GROUP BY interaction_id
    UNION ALL
    SELECT p.interaction_id, 0, 0, sum(p.status = 'kept'), sum(p.status = 'broken'),
           coalesce(sum(CASE WHEN p.status = 'kept' THEN p.amount_cents END), 0)
    FROM promises_to_pay p WHERE p.interaction_id IS NOT NULL GROUP BY p.interaction_id
) x JOIN interactions i ON i.id = x.iid
"""


def _read_extras(cursor: Any) -> _Extras:
    rows = cursor.execute(_EXTRAS_SQL).fetchall()
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return _Extras(z, z, z, z, z, z)
    arr = np.array(rows, dtype=np.int64)
    return _Extras(*(arr[:, i] for i in range(6)))


class ColumnCache:
    """The interactions of one store in columns, caught up on each :meth:`refresh`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._reset()

    def _reset(self) -> None:
        self.appended_after: int | None = None
        self._grow: dict[str, GrowingArray] = {}
        self._by_row = GrowingArray(np.zeros(0, dtype=np.int64))
        self._extras: _Extras | None = None
        self._cols = InteractionColumns()
        self._queues = _Vocab()
        self._reasons = _Vocab()
        self._agents = _Vocab()
        self._customers = _Vocab()
        self._last_rowid = 0
        self._count = 0
        self._version = -1

    @property
    def columns(self) -> InteractionColumns:
        return self._cols

    def refresh(
        self,
        full: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> InteractionColumns:
        """Catch up with the store and return the columns (read all of them the first
        time, when ``full``, or when rows went away). ``progress(done, total)``."""
        with self._lock:
            if self._conn is None:
                # A connection of our own, kept: PRAGMA data_version only changes when
                # another connection commits, so "nothing new" costs microseconds.
                self._conn = sqlite3.connect(self._store.path, check_same_thread=False,
                                             isolation_level=None)
                self._conn.execute("PRAGMA busy_timeout = 5000")
            cursor = self._conn.cursor()
            try:
                version = cursor.execute("PRAGMA data_version").fetchone()[0]
                if full:
                    self._reset()
                elif version == self._version and self._count:
                    return self._cols
                top = cursor.execute("SELECT coalesce(max(rowid), 0) FROM interactions"
                                     ).fetchone()[0]
                if not self._count or top < self._last_rowid:
                    count = cursor.execute("SELECT count(*) FROM interactions").fetchone()[0]
                    if top < self._last_rowid:
                        self._reset()
                else:
                    count = self._count + (top - self._last_rowid)  # an estimate for progress
                self._version = version
                if top == self._last_rowid and self._count:
                    return self._cols
                new = self._read_since(cursor, self._last_rowid, count - self._count, progress)
                self._merge(new, cursor)
                self._last_rowid = int(top)
                self._count = len(self._cols)
            finally:
                cursor.close()
            return self._cols

    def close(self, wait: bool = True) -> None:
        """Close the cache's connection. ``wait=False``: not while a refresh runs (the
        UI thread never waits for a read; the connection then goes with the cache)."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        finally:
            self._lock.release()

    def _read_since(
        self,
        cursor: Any,
        after: int,
        expected: int,
        progress: Callable[[int, int], None] | None,
    ) -> dict[str, np.ndarray]:
        parts: dict[str, list[np.ndarray]] = {n: [] for n in _ARRAYS[: len(_NUMERIC) + 4]}
        cursor.execute(_READ_SQL, (after,))
        done = 0
        while True:
            rows = cursor.fetchmany(_CHUNK)
            if not rows:
                break
            cols = list(zip(*rows, strict=True))
            for i, (name, dtype) in enumerate(_NUMERIC):
                parts[name].append(np.array(cols[i], dtype=np.int64).astype(dtype, copy=False))
            base = len(_NUMERIC)
            parts["queue"].append(self._queues.encode(cols[base]))
            parts["reason"].append(self._reasons.encode(cols[base + 1]))
            parts["agent"].append(self._agents.encode(cols[base + 2], none_code=-1))
            parts["customer"].append(self._customers.encode(cols[base + 3], none_code=-1))
            done += len(rows)
            if progress is not None:
                progress(done, max(expected, done))
        return {
            name: (np.concatenate(chunks) if chunks else _empty(_dtype(name)))
            for name, chunks in parts.items()
        }

    def _merge(self, new: dict[str, np.ndarray], cursor: Any) -> None:
        old = self._cols
        n_old, n_new = len(old), len(new["rowid"])
        if n_new > 1:  # read in rowid order; the columns are in offered-time order
            o = np.lexsort((new["rowid"], new["offered"]))
            if not np.all(o[1:] > o[:-1]):
                new = {k: v[o] for k, v in new.items()}
        # The usual catch-up: every new row is offered no earlier than the last one held.
        # The arrays then grow in place (spare capacity, no copy of the 5,000,000 rows
        # held), and the rows before ``appended_after`` stay where they were, so callers
        # may extend what they derived from them instead of starting afresh.
        append = n_old > 0 and (n_new == 0 or new["offered"][0] >= old.offered[-1])
        merged: dict[str, np.ndarray] = {}
        if append:
            for name in new:
                merged[name] = self._grow[name].extend(new[name])
            by_row = self._by_row.extend(n_old + np.argsort(new["rowid"], kind="stable"))
        else:
            for name in new:
                merged[name] = np.concatenate([getattr(old, name), new[name]])
            order = np.lexsort((merged["rowid"], merged["offered"]))
            self._grow = {k: GrowingArray(v[order], spare=True) for k, v in merged.items()}
            merged = {k: g.values() for k, g in self._grow.items()}
            self._by_row = GrowingArray(np.argsort(merged["rowid"], kind="stable"), spare=True)
            by_row = self._by_row.values()
        total = len(merged["rowid"])
        # Offers and promises can be added to older interactions too: re-read them (a
        # small GROUP BY over two small tables) and scatter them by rowid, unless they are
        # what they were (then the new rows simply have none).
        extras = _read_extras(cursor)
        same = append and self._extras is not None and all(
            np.array_equal(a, b) for a, b in zip(
                _extras_arrays(extras), _extras_arrays(self._extras), strict=True))
        extra_rows = self._cols.extra_rows if same else np.zeros(0, dtype=np.int64)
        for name, values, dtype in (
            ("offers_shown", extras.shown, np.int32),
            ("offers_accepted", extras.accepted, np.int32),
            ("promises_kept", extras.kept, np.int32),
            ("promises_broken", extras.broken, np.int32),
            ("collected_cents", extras.collected, np.int64),
        ):
            if same:
                merged[name] = self._grow[name].extend(np.zeros(n_new, dtype=dtype))
                continue
            column = np.zeros(total, dtype=dtype)
            if len(extras.rowids) and total:
                pos = np.searchsorted(merged["rowid"], extras.rowids, sorter=by_row)
                pos = np.clip(pos, 0, total - 1)
                hit = merged["rowid"][by_row[pos]] == extras.rowids
                np.add.at(column, by_row[pos[hit]], values[hit].astype(dtype))
                extra_rows = np.unique(by_row[pos[hit]]).astype(np.int64)
            self._grow[name] = GrowingArray(column, spare=True)
            merged[name] = self._grow[name].values()
        self._extras = extras
        self.appended_after = n_old if append else None
        self._cols = replace(
            old,
            **merged,
            extra_rows=extra_rows,
            queues=tuple(self._queues.words),
            reasons=tuple(self._reasons.words),
            agent_ids=tuple(self._agents.words),
        )


def _extras_arrays(e: _Extras) -> tuple[np.ndarray, ...]:
    return (e.rowids, e.shown, e.accepted, e.kept, e.broken, e.collected)


class GrowingArray:
    """A 1-d array grown by appending: in place while its spare capacity lasts (it grows
    by half when full), so a catch-up of a few rows does not copy millions. Views handed
    out earlier stay valid and unchanged (appends only write past their end)."""

    def __init__(self, values: np.ndarray, spare: bool = False) -> None:
        """``spare``: copy into a buffer with room for an eighth more rows now, so the
        first catch-ups do not copy everything."""
        self._n = len(values)
        if spare:
            self._buf = np.empty(self._n + self._n // 8 + 1024, dtype=values.dtype)
            self._buf[: self._n] = values
        else:
            self._buf = values

    def __len__(self) -> int:
        return self._n

    def values(self) -> np.ndarray:
        view: np.ndarray = self._buf[: self._n]
        return view

    def extend(self, values: np.ndarray) -> np.ndarray:
        need = self._n + len(values)
        if need > len(self._buf):
            grown = np.empty(max(need, self._n + self._n // 2 + 1024), dtype=self._buf.dtype)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = values
        self._n = need
        view: np.ndarray = self._buf[:need]
        return view


def _dtype(name: str) -> Any:
    for n, d in _NUMERIC:
        if n == name:
            return d
    return "int32"


# --- agent state history (occupancy) -----------------------------------------------------

READY_STATES = ("available", "offered")
BUSY_STATES = ("on_call", "after_call_work")

_STATES_SQL = """
SELECT agent_id, (unixepoch(started_at) + ?) / 3600 AS hour,
       sum(CASE WHEN state IN ({ready}) THEN seconds ELSE 0 END),
       sum(CASE WHEN state IN ({busy}) THEN seconds ELSE 0 END)
FROM agent_states
WHERE started_at >= ? AND started_at < ? AND state IN ({ready}, {busy})
GROUP BY agent_id, hour
ORDER BY agent_id, hour
""".format(ready=", ".join(f"'{s}'" for s in READY_STATES),
           busy=", ".join(f"'{s}'" for s in BUSY_STATES))


@dataclass(frozen=True)
class StateSeconds:
    """Ready and busy seconds of the agents' state history, per agent and local hour.

    ``agent`` codes into ``agent_ids``; ``hour`` is local hours since the epoch (the hour
    an interval *started* in: an interval counts whole where it starts, as a contact
    counts where it was offered); ``ready`` = available + offered, ``busy`` = on a call +
    after-call work. Not-ready and logged-out time are not read (occupancy leaves them
    out)."""

    agent: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    hour: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    ready: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    busy: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    agent_ids: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.agent.shape[0])

    @property
    def total(self) -> np.ndarray:
        """Ready + busy seconds of each row."""
        out: np.ndarray = self.ready + self.busy
        return out


def _stored_text(epoch: int) -> str:
    """An epoch second as the store keeps timestamps (naive UTC text), for range bounds
    that use the started_at index."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def read_state_seconds(store: Store, start: int, end: int, offset_s: int) -> StateSeconds:
    """Ready and busy seconds of the intervals that started in ``[start, end)`` (UTC epoch
    seconds), per agent and local hour (``offset_s``: the local offset from UTC).

    A small GROUP BY on the started_at index: an agent has a few dozen intervals an hour.
    A store older than the table, or one with no history in the range, gives none."""
    pooled = store.engine.raw_connection()
    try:
        cursor = pooled.cursor()
        try:
            rows = cursor.execute(
                _STATES_SQL, (int(offset_s), _stored_text(start), _stored_text(end))
            ).fetchall()
        except sqlite3.OperationalError:  # no agent_states table (cannot happen after 0008)
            rows = []
        cursor.close()
    finally:
        pooled.close()
    if not rows:
        return StateSeconds()
    ids: dict[str, int] = {}
    agent = np.array([ids.setdefault(str(r[0]), len(ids)) for r in rows], dtype=np.int32)
    return StateSeconds(
        agent=agent,
        hour=np.array([int(r[1]) for r in rows], dtype=np.int64),
        ready=np.array([int(r[2] or 0) for r in rows], dtype=np.int64),
        busy=np.array([int(r[3] or 0) for r in rows], dtype=np.int64),
        agent_ids=tuple(ids),
    )


# --- what the drill-down and the pickers need -------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent_id: str
    display_name: str
    team: str
    role: str


def read_agents(store: Store) -> list[AgentRow]:
    """Every agent (name, team, role), for the pickers and the team of each interaction."""
    pooled = store.engine.raw_connection()
    try:
        cursor = pooled.cursor()
        rows = cursor.execute(
            "SELECT id, display_name, team, role FROM agents ORDER BY display_name"
        ).fetchall()
        cursor.close()
    finally:
        pooled.close()
    return [AgentRow(str(a), str(n or ""), str(t or ""), str(r or "")) for a, n, t, r in rows]


@dataclass(frozen=True, slots=True)
class InteractionRow:
    """One interaction as the drill-down list shows it."""

    id: str
    customer_id: str | None
    customer_name: str
    agent_name: str
    channel: str
    direction: str
    queue: str
    reason_code: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: int
    handle_seconds: int
    transfers: int
    abandoned: bool
    csat: int | None
    summary: str


_ROWS_SQL = """
SELECT i.id, i.customer_id, coalesce(c.display_name, ''), coalesce(a.display_name, ''),
       i.channel, i.direction, i.queue, i.reason_code, i.offered_at, i.answered_at,
       i.ended_at, i.wait_seconds,
       i.talk_seconds + i.hold_seconds + i.acw_seconds
         + CASE WHEN i.direction = 'outbound' THEN i.dial_seconds ELSE 0 END,
       i.transfers, i.abandoned, i.csat, i.summary
FROM interactions i
LEFT JOIN customers c ON c.id = i.customer_id
LEFT JOIN agents a ON a.id = i.agent_id
WHERE i.rowid IN ({marks})
ORDER BY i.offered_at, i.rowid
"""


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def read_rows(store: Store, rowids: Sequence[int]) -> list[InteractionRow]:
    """The interactions with these rowids, oldest first (at most a few thousand)."""
    out: list[InteractionRow] = []
    if not rowids:
        return out
    pooled = store.engine.raw_connection()
    try:
        cursor = pooled.cursor()
        ids = [int(r) for r in rowids]
        for lo in range(0, len(ids), 900):
            chunk = ids[lo : lo + 900]
            sql = _ROWS_SQL.format(marks=",".join("?" * len(chunk)))
            for r in cursor.execute(sql, chunk).fetchall():
                offered = _time(r[8])
                assert offered is not None
                out.append(
                    InteractionRow(
                        id=str(r[0]), customer_id=None if r[1] is None else str(r[1]),
                        customer_name=str(r[2]), agent_name=str(r[3]), channel=str(r[4]),
                        direction=str(r[5]), queue=str(r[6]), reason_code=str(r[7]),
                        offered_at=offered, answered_at=_time(r[9]), ended_at=_time(r[10]),
                        wait_seconds=int(r[11] or 0), handle_seconds=int(r[12] or 0),
                        transfers=int(r[13] or 0), abandoned=bool(r[14]),
                        csat=None if r[15] is None else int(r[15]), summary=str(r[16] or ""),
                    )
                )
        cursor.close()
    finally:
        pooled.close()
    out.sort(key=lambda row: row.offered_at)
    return out
