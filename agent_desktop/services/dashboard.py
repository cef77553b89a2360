"""Supervisor dashboards: every key indicator over a date range, by agent, team, queue,
reason and day/hour, with the heat map, the handle-time histogram, trend series against
their targets, the drill-down behind any point, the agent-against-team view and exports.

The figures follow services/metrics.py exactly (same parts, same rules, same definitions;
tests/services/test_dashboard.py checks them against ``metrics.summary``), but they are
computed with numpy over :class:`~agent_desktop.storage.interactions.InteractionColumns`
instead of a DataFrame, so that a refresh over 5,000,000 interactions stays well under a
second (docs/PERFORMANCE.md, Dashboards):

* the columns are read once and caught up with new rows (storage/interactions.py);
* the rows of a range are a contiguous slice (the columns are ordered by offered time);
* every figure is a ratio of sums of per-row *parts*; the parts of the range are summed
  with ``np.bincount`` into two small cubes, (period x agent) and (queue x reason), and
  every table and series is read off those cubes; 0/1 parts are summed two at a time
  (packed into one float64 weight, exact below 2**53);
* the FCR "next contact about the same thing" gap of each interaction does not depend on
  the range, so it is found once per load with one lexsort and kept;
* occupancy divides handle time by the ready + busy seconds of the agents' state history
  (``agent_states``, recorded by the phone system as each interval ends), read per agent
  and hour for the range with one small GROUP BY: only the handle time of agent-days that
  have state history counts, so older interactions without it do not inflate the figure.

No Qt here: the page calls :meth:`DashboardService.load` on a worker thread.
"""

from __future__ import annotations

import csv
import functools
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
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

from agent_desktop.platform.settings import SETTINGS as PLATFORM_SETTINGS
from agent_desktop.platform.settings import Setting
from agent_desktop.services import metrics
from agent_desktop.storage.interactions import (
    CHANNELS,
    NO_TIME,
    AgentRow,
    ColumnCache,
    GrowingArray,
    InteractionColumns,
    InteractionRow,
    StateSeconds,
    read_agents,
    read_rows,
    read_state_seconds,
)
from agent_desktop.storage.store import Store

# --- settings -----------------------------------------------------------------------------

SETTINGS: tuple[Setting, ...] = tuple(
    s for s in PLATFORM_SETTINGS if s.key in {
        "fcr_window_days", "service_level_seconds", "service_level_target_pct",
        "short_abandon_seconds", "aht_target_seconds", "fcr_target_pct"})
"""The dashboard's settings (declared with the app's others in platform/settings.py, so
the settings dialog, Ctrl+comma, offers them); read through the app's ``settings.get``."""

_DEFAULTS = {s.key: s.default for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    fcr_window_days: int = 7
    service_level_seconds: int = 20
    service_level_target_pct: int = 80
    short_abandon_seconds: int = 5
    aht_target_seconds: int = 360
    fcr_target_pct: int = 75

    @classmethod
    def from_getter(cls, get: Callable[[str], Any] | None) -> DashboardSettings:
        values: dict[str, int] = {}
        for key, default in _DEFAULTS.items():
            value: Any = default
            if get is not None:
                try:
                    value = get(key)
                except (KeyError, ValueError, TypeError):
                    value = default
            values[key] = int(value) if isinstance(value, int | float) and value >= 0 \
                else int(default)
        return cls(**values)


# --- ranges -------------------------------------------------------------------------------

RANGES: dict[str, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7": "Last 7 days",
    "last_30": "Last 30 days",
    "this_month": "This month",
    "custom": "Custom\u2026",
}
LONG_RANGE_DAYS = 400


class RangeError(ValueError):
    """A date range the dashboard cannot show, in words for the supervisor."""


def date_range(kind: str, today: date, custom: tuple[date, date] | None = None
               ) -> tuple[date, date]:
    """``[first day, day after the last)`` for a range picker choice (local days)."""
    if kind == "today":
        return today, today + timedelta(days=1)
    if kind == "yesterday":
        return today - timedelta(days=1), today
    if kind == "last_7":
        return today - timedelta(days=6), today + timedelta(days=1)
    if kind == "last_30":
        return today - timedelta(days=29), today + timedelta(days=1)
    if kind == "this_month":
        return today.replace(day=1), today + timedelta(days=1)
    if kind == "custom":
        if custom is None:
            raise RangeError("Pick the first and the last day of the range.")
        first, last = custom
        if last < first:
            raise RangeError(
                f"The range ends ({last:%d %b %Y}) before it starts ({first:%d %b %Y}): "
                "pick a last day on or after the first.")
        return first, last + timedelta(days=1)
    raise RangeError(f"Unknown range {kind!r}.")


def local_offset_seconds() -> int:
    offset = datetime.now().astimezone().utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


# --- what a load returns ------------------------------------------------------------------

FIGURES = metrics.SUMMARY_COLUMNS
"""The figures of every row, in the order the tables show them."""

FIGURE_TITLES: dict[str, str] = {
    "contacts": "Contacts",
    "handled": "Handled",
    "aht_s": "AHT",
    "fcr": "FCR",
    "service_level": "Service level",
    "asa_s": "ASA",
    "abandonment_rate": "Abandoned",
    "occupancy": "Occupancy",
    "transfer_rate": "Transfers",
    "csat": "CSAT",
    "nps": "NPS",
    "conversion": "Conversion",
    "promises_kept_rate": "Promises kept",
    "collected_cents": "Collected",
    "data_problems": "No end time",
}

OCCUPANCY_NOTE = ("Occupancy counts from agent state history, recorded since the phone "
                  "system started; none in this range, so it shows \u2014.")
"""The notice when a range has contacts but no state history (e.g. the demo's older days)."""

OCCUPANCY_HOW = ("Ready = available or ringing, busy = on a call or in after-call work, "
                 "from the agents' state history; only the handle time of agent-days with "
                 "state history counts. An interval counts in the hour it started.")


def definition_text(figure: str) -> str:
    """The definition of a figure in words, for tooltips and the definitions panel."""
    if figure in ("contacts", "handled"):
        return {
            "contacts": "Contacts: every call, chat and email offered in the range.",
            "handled": "Handled: contacts answered by an agent (not abandoned).",
        }[figure]
    d = metrics.DEFINITIONS[figure]
    text = f"{d.name}: {d.words}\n= {d.formula}"
    if figure == "occupancy":
        text += "\n" + OCCUPANCY_HOW
    return text


def format_figure(figure: str, value: float | int | None) -> str:
    """A figure as the table shows it; an undefined one is an em dash, never NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2014"
    if figure in ("contacts", "handled", "data_problems"):
        return f"{int(value):,}"
    if figure in ("aht_s", "asa_s"):
        secs = round(float(value))
        return f"{secs // 60}:{secs % 60:02d}"
    if figure == "nps":
        return f"{float(value):+.0f}"
    if figure == "collected_cents":
        cents = int(value)
        return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"
    return f"{float(value) * 100:.1f}%"


@dataclass(frozen=True, slots=True)
class Drill:
    """What lies behind a point or a row: interactions offered in ``[start, end)`` (epoch
    seconds) narrowed by the other fields that are set."""

    start: int
    end: int
    agent_id: str | None = None
    team: str | None = None
    queue: str | None = None
    reason: str | None = None
    weekday: int | None = None        # 0 = Monday, local time
    hour: int | None = None           # 0..23, local time
    handle_min: int | None = None     # handled contacts with handle time in [min, max)
    handle_max: int | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a table: its key, the words it shows, every figure, the drill-down."""

    key: str
    label: str
    detail: str
    figures: Mapping[str, float | int | None]
    drill: Drill


@dataclass(frozen=True, slots=True)
class Table:
    name: str              # "agent", "team", "queue", "reason", "period"
    title: str             # "By agent"...
    key_title: str         # "Agent"...
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Trend:
    """AHT and FCR over the range's periods (days, hours or weeks) for one scope."""

    scope: str                       # "Everyone", an agent's name or a team
    granularity: str                 # "hour", "day" or "week"
    starts: tuple[int, ...]          # epoch seconds of each period's start
    labels: tuple[str, ...]
    aht_s: tuple[float | None, ...]
    fcr: tuple[float | None, ...]
    contacts: tuple[int, ...]
    drills: tuple[Drill, ...]


@dataclass(frozen=True, slots=True)
class Histogram:
    edges: tuple[int, ...]           # seconds; bins [edges[i], edges[i+1])
    counts: tuple[int, ...]
    over: int                        # handled contacts at or above the last edge


@dataclass(frozen=True)
class DashboardData:
    start: date
    end: date                        # exclusive
    range_words: str
    offset_s: int
    settings: DashboardSettings
    totals: Mapping[str, float | int | None]
    tables: Mapping[str, Table]
    trend: Trend
    heatmap: tuple[tuple[int, ...], ...]   # [weekday 0..6][hour 0..23] contacts offered
    histogram: Histogram
    notices: tuple[str, ...]
    agents: tuple[AgentRow, ...]
    teams: tuple[str, ...]
    me: Row | None = None            # an agent's own figures ...
    my_team: Row | None = None       # ... against their team's
    interactions_in_store: int = 0
    occupancy_note: str = ""         # why occupancy shows an em dash ("" when shown)
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return int(self.totals.get("contacts") or 0) == 0


# --- the computation ----------------------------------------------------------------------

_BIT = float(2**23)  # two 0/1 parts per float64 weight: each sum stays below 2**23 per chunk
_PACK_ROWS = 8_000_000  # below 2**23 rows a packed pair cannot carry over


_KEY_SHIFT = 2**20  # reason codes stay below this; keys stay stable as new reasons appear


_SIDE_LIMIT = 200_000


@dataclass
class _FcrIndex:
    """Eligible contacts ordered by (customer, reason, offered, rowid): their keys and row
    positions, kept so new interactions can be placed without sorting everything again.
    New entries go to a small ``side`` index (newer than every entry of the main one),
    folded into the main one when it grows past :data:`_SIDE_LIMIT`: a catch-up copies
    the side index, not millions of keys."""

    keys: np.ndarray
    rows: np.ndarray
    gap_buf: GrowingArray
    side_keys: np.ndarray
    side_rows: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        return self.gap_buf.values()

    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        at = np.searchsorted(self.keys, self.side_keys, side="right")
        return np.insert(self.keys, at, self.side_keys), np.insert(self.rows, at, self.side_rows)


def _last_of(keys: np.ndarray, rows: np.ndarray, wanted: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """For each wanted key: found?, and the row of the last entry with it."""
    if len(keys) == 0:
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), dtype=np.int64)
    pos = np.searchsorted(keys, wanted, side="right") - 1
    safe = np.clip(pos, 0, None)
    found = (pos >= 0) & (keys[safe] == wanted)
    return found, rows[safe]


def _fcr_gap(cols: InteractionColumns) -> _FcrIndex:
    """Seconds to the next eligible contact about the same thing (customer and reason) per
    row; +inf when there is none. Only meaningful where :func:`_fcr_eligible` is true."""
    gap = GrowingArray(np.full(len(cols), np.inf), spare=True)
    values = gap.values()
    elig = np.flatnonzero(_fcr_eligible(cols, slice(None)))
    key = cols.customer[elig].astype(np.int64) * _KEY_SHIFT + cols.reason[elig]
    order = np.lexsort((cols.rowid[elig], cols.offered[elig], key))
    idx = elig[order]
    k = key[order]
    same = k[1:] == k[:-1]
    t = cols.offered[idx]
    diff = (t[1:] - t[:-1]).astype(np.float64)
    values[idx[:-1][same]] = diff[same]
    empty = np.zeros(0, dtype=np.int64)
    return _FcrIndex(k, idx, gap, empty, empty)


def _fcr_gap_append(cols: InteractionColumns, base: int, old: _FcrIndex) -> _FcrIndex:
    """:func:`_fcr_gap` after rows ``base..`` were appended, all offered no earlier than
    every row before them: only the new rows and the contact each one repeats change."""
    old.gap_buf.extend(np.full(len(cols) - base, np.inf))
    gap = old.gap
    elig = base + np.flatnonzero(_fcr_eligible(cols, slice(base, len(cols))))
    if len(elig) == 0:
        return old
    key = cols.customer[elig].astype(np.int64) * _KEY_SHIFT + cols.reason[elig]
    order = np.lexsort((cols.rowid[elig], cols.offered[elig], key))
    idx, k = elig[order], key[order]
    t = cols.offered[idx]
    same = k[1:] == k[:-1]
    gap[idx[:-1][same]] = (t[1:] - t[:-1]).astype(np.float64)[same]
    # The first new contact of each key repeats the last older one with that key (in the
    # side index if it has one there: those are newer than the main index's).
    first = np.r_[True, ~same]
    wanted = k[first]
    in_side, side_prev = _last_of(old.side_keys, old.side_rows, wanted)
    in_main, main_prev = _last_of(old.keys, old.rows, wanted)
    prev = np.where(in_side, side_prev, main_prev)
    hit = in_side | in_main
    gap[prev[hit]] = (t[first][hit] - cols.offered[prev[hit]]).astype(np.float64)
    at = np.searchsorted(old.side_keys, k, side="right")
    out = _FcrIndex(old.keys, old.rows, old.gap_buf, np.insert(old.side_keys, at, k),
                    np.insert(old.side_rows, at, idx))
    if len(out.side_keys) > _SIDE_LIMIT:
        keys, rows = out.merged()
        empty = np.zeros(0, dtype=np.int64)
        out = _FcrIndex(keys, rows, out.gap_buf, empty, empty)
    return out


def _fcr_eligible(cols: InteractionColumns, sl: slice) -> np.ndarray:
    empty_reason = cols.reasons.index("") if "" in cols.reasons else -1
    out: np.ndarray = (
        (cols.answered[sl] != NO_TIME)
        & ~cols.abandoned[sl]
        & ~cols.outbound[sl]
        & (cols.customer[sl] >= 0)
        & (cols.reason[sl] != empty_reason)
    )
    return out


def _static(cols: InteractionColumns, sl: slice, s: DashboardSettings) -> dict[str, np.ndarray]:
    """The parts of the rows in ``sl`` that depend neither on the range nor on the clock:
    the combined state without its FCR class, handle and queue-wait seconds, whether the
    row counts in AHT and whether it is judged for FCR. Kept per columns by the service."""
    abandoned = cols.abandoned[sl]
    answered = (cols.answered[sl] != NO_TIME) & ~abandoned
    has_end = cols.ended[sl] != NO_TIME
    aht_ok = answered & has_end
    outbound = cols.outbound[sl]
    handle = (cols.talk[sl].astype(np.int64) + cols.hold[sl] + cols.acw[sl]
              + np.where(outbound, cols.dial[sl], 0))
    queued = ~outbound & (cols.channel[sl] != CHANNELS.index("email"))
    wait = cols.wait[sl]
    short = abandoned & (wait < s.short_abandon_seconds)
    q_answered = queued & answered
    csat = cols.csat[sl]
    nps = cols.nps[sl]
    nps_n = nps >= 0
    u8 = np.uint8
    csat_good = csat >= 4
    promoters = nps >= 9
    detractors = nps_n & (nps <= 6)
    state_a = answered.astype(u8)
    state_a |= has_end.view(u8) << 1
    state_a |= queued.view(u8) << 2
    state_a |= short.view(u8) << 3
    state_a |= abandoned.view(u8) << 4
    state_a |= (wait <= s.service_level_seconds).view(u8) << 5
    state_a |= (cols.transfers[sl] > 0).view(u8) << 6
    state_b = csat_good.astype(u8)
    state_b += ((csat >= 0) & ~csat_good).view(u8) * u8(2)
    state_b += promoters.view(u8) * u8(3)
    state_b += detractors.view(u8) * u8(6)
    state_b += (nps_n & ~promoters & ~detractors).view(u8) * u8(9)
    state = state_a.astype(np.uint16) * np.uint16(_N_B)
    state += state_b
    return {
        "state0": state,
        "handle_s": np.where(aht_ok, handle, 0).astype(np.float64),
        "q_wait_s": np.where(q_answered, wait, 0).astype(np.float64),
        "aht_n": aht_ok,
        "elig": _fcr_eligible(cols, sl),
    }


def _parts(cols: InteractionColumns, sl: slice, gap: np.ndarray, s: DashboardSettings,
           as_of: int, static: Mapping[str, np.ndarray] | None = None
           ) -> dict[str, np.ndarray]:
    """What the sums are made of for the rows in ``sl``: each row's combined state (a
    dense code, with ``state_ind`` turning state counts into the 0/1 parts of
    metrics.PARTS), the seconds to sum, and the few rows with offers or promises.
    ``static``: :func:`_static` of every row (kept by the service), else computed here."""
    lo, hi = sl.start or 0, sl.stop if sl.stop is not None else len(cols)
    base = {k: v[lo:hi] for k, v in static.items()} if static is not None \
        else _static(cols, sl, s)
    window = s.fcr_window_days * 86400
    elig = base["elig"]
    # Judged once the window is over, repeat or not (services.metrics: FCR).
    over = elig & (cols.offered[sl] + window <= as_of)
    repeated = over & (gap[sl] <= window)
    fcr_class = (over & ~repeated).astype(np.uint16)
    fcr_class += repeated.view(np.uint8) * np.uint16(2)
    state = base["state0"] + fcr_class * np.uint16(12)
    # Only a few hundred of the 4,608 states occur: number those densely, so the
    # (group x state) counts stay small enough to sit in the cache.
    present = np.bincount(state, minlength=_N_STATES) > 0
    lut = (np.cumsum(present) - 1).astype(np.int64)
    extra = cols.extra_rows
    extra = extra[np.searchsorted(extra, lo):np.searchsorted(extra, hi)] - lo
    return {
        "state": lut[state],
        "state_ind": _combined_indicators()[present],
        "extra_rows": extra,
        "aht_n": base["aht_n"],
        "handle_s": base["handle_s"],
        "q_wait_s": base["q_wait_s"],
        **{name: getattr(cols, name)[lo:hi][extra] for name in _SPARSE},
    }


_SPARSE = ("offers_shown", "offers_accepted", "promises_kept", "promises_broken",
           "collected_cents")

# The 0/1 parts are not summed one by one (15 weighted bincounts per grouping): each row
# gets two small state codes, the rows are counted per (group, state) with one unweighted
# bincount each, and the flags are read off the state counts with a 0/1 matrix.
#   state A (7 bits): answered, has an end, queued (inbound call/chat), short abandon,
#                     abandoned, waited <= the SL threshold, transferred;
#   state B (36):     CSAT class (none, 4-5, 1-3) + 3 x NPS class (none, 9-10, 0-6, 7-8)
#                     + 12 x FCR class (not decided, resolved, repeated).
_N_A, _N_B = 128, 36


def _indicators() -> tuple[np.ndarray, np.ndarray]:
    a = np.arange(_N_A)
    answered, has_end, queued, short = a & 1 > 0, a & 2 > 0, a & 4 > 0, a & 8 > 0
    abandoned, in_sl, transferred = a & 16 > 0, a & 32 > 0, a & 64 > 0
    ind_a = np.stack([
        answered, answered & has_end, queued & ~short, queued & answered & in_sl,
        queued & answered, queued & abandoned & ~short, answered & transferred, ~has_end,
    ], axis=1).astype(np.int64)
    b = np.arange(_N_B)
    c, p, f = b % 3, (b // 3) % 4, b // 12
    ind_b = np.stack([c != 0, c == 1, p != 0, p == 1, p == 2, f != 0, f == 1],
                     axis=1).astype(np.int64)
    return ind_a, ind_b


_N_STATES = _N_A * _N_B


@functools.cache
def _combined_indicators() -> np.ndarray:
    """One combined state per row (A x 36 + B): one unweighted bincount per grouping."""
    ind_a, ind_b = _indicators()
    return np.concatenate([np.repeat(ind_a, _N_B, axis=0), np.tile(ind_b, (_N_A, 1))],
                          axis=1).astype(np.float64)


_FLAG_ORDER = ("handled", "aht_n", "q_offered", "q_in_sl", "q_answered", "q_abandoned",
               "transferred", "data_problems", "csat_n", "csat_good", "nps_n",
               "nps_promoters", "nps_detractors", "fcr_decided", "fcr_ok")
def _sum_by(parts: Mapping[str, np.ndarray], key: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Every part summed per group (``key`` in 0..n-1), as int64 arrays of length n."""
    ind = parts["state_ind"]
    k = max(len(ind), 1)
    combined = np.multiply(key, k, dtype=np.int64)
    combined += parts["state"]
    counts = np.bincount(combined, minlength=n * k).reshape(n, k)
    out: dict[str, np.ndarray] = {"contacts": counts.sum(axis=1).astype(np.int64)}
    # float64 products go through BLAS; the counts are exact integers far below 2**53.
    flags = np.rint(counts.astype(np.float64) @ ind).astype(np.int64) if len(ind) \
        else np.zeros((n, len(_FLAG_ORDER)), dtype=np.int64)
    for i, name in enumerate(_FLAG_ORDER):
        out[name] = flags[:, i]
    for name in ("handle_s", "q_wait_s"):
        out[name] = np.rint(np.bincount(key, weights=parts[name], minlength=n)).astype(np.int64)
    extra_key = key[parts["extra_rows"]]
    for name in _SPARSE:
        values = parts[name]
        out[name] = np.rint(np.bincount(extra_key, weights=values, minlength=n)).astype(
            np.int64) if len(values) else np.zeros(n, dtype=np.int64)
    return out


def _subset(parts: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The parts of the rows at ``rows`` (sorted positions within the parts)."""
    out = {k: v[rows] for k, v in parts.items()
           if k not in _SPARSE and k not in ("state_ind", "extra_rows")}
    out["state_ind"] = parts["state_ind"]
    keep = np.isin(parts["extra_rows"], rows)
    out["extra_rows"] = np.searchsorted(rows, parts["extra_rows"][keep])
    for name in _SPARSE:
        out[name] = parts[name][keep]
    return out


def _figures(summed: Mapping[str, Any], i: int | np.ndarray | None, extra_state_s: int = 0
             ) -> dict[str, float | int | None]:
    """The figures of the group(s) ``i`` of ``summed`` (None: all of it). Occupancy comes
    from ``occ_handle_s`` / ``occ_state_s`` when ``summed`` has them (plus
    ``extra_state_s``: state time of agents with no slot), else it is None."""
    if i is None:
        t = {name: int(np.sum(v)) for name, v in summed.items()}
    elif isinstance(i, int):
        t = {name: int(v[i]) for name, v in summed.items()}
    else:
        t = {name: int(v[i].sum()) for name, v in summed.items()}
    if "occ_state_s" not in t:
        return metrics.figures_from_parts(t, None)
    return metrics.figures_from_parts(t, t["occ_state_s"] + extra_state_s, t["occ_handle_s"])


_DAY_KEY = 2**24  # local days since the epoch stay far below this


@dataclass(frozen=True)
class _Occupancy:
    """Occupancy's sums for one load: per agent slot (as ``per_agent``) and per period,
    the handle seconds of agent-days with state history and the ready + busy seconds."""

    slot_handle: np.ndarray
    slot_state: np.ndarray
    period_handle: np.ndarray
    period_state: np.ndarray
    unslotted: dict[str, int]          # agent id -> state seconds, agents with no slot


def _occupancy(cols: InteractionColumns, states: StateSeconds, agent_code: np.ndarray,
               hours: np.ndarray, period: np.ndarray, handle_s: np.ndarray, n_agents: int,
               n_p: int, lo_h: int, hours_per_period: int, n_periods: int) -> _Occupancy:
    """Occupancy's numerator and denominator for the range's rows (``agent_code``,
    local ``hours`` and ``period`` of each, ``handle_s`` 0 unless it counts in AHT)."""
    slot_of = {a: i + 1 for i, a in enumerate(cols.agent_ids)}
    total = states.total
    st_slot = np.array([slot_of.get(a, -1) for a in states.agent_ids],
                       dtype=np.int64)[states.agent] if len(states) \
        else np.zeros(0, dtype=np.int64)
    with_time = total > 0
    days = states.hour // 24
    keys = np.unique(st_slot[with_time & (st_slot > 0)] * _DAY_KEY + days[with_time & (
        st_slot > 0)])
    counted = np.isin(agent_code * _DAY_KEY + hours.astype(np.int64) // 24, keys) \
        if len(keys) else np.zeros(len(agent_code), dtype=bool)
    occupied = np.where(counted, handle_s, 0.0)
    slotted = st_slot > 0
    slot_state = np.bincount(st_slot[slotted], weights=total[slotted],
                             minlength=n_agents)[:n_agents]
    st_period = (states.hour - lo_h) // max(hours_per_period, 1)
    in_range = (st_period >= 0) & (st_period < max(n_periods, 1))
    period_state = np.bincount(st_period[in_range], weights=total[in_range],
                               minlength=n_p)[:n_p]
    unslotted: dict[str, int] = {}
    for code in np.flatnonzero(np.bincount(states.agent[~slotted],
                                           minlength=len(states.agent_ids))):
        agent_id = states.agent_ids[int(code)]
        unslotted[agent_id] = int(total[~slotted][states.agent[~slotted] == code].sum())
    return _Occupancy(
        slot_handle=np.rint(np.bincount(agent_code, weights=occupied,
                                        minlength=n_agents)).astype(np.int64),
        slot_state=np.rint(slot_state).astype(np.int64),
        period_handle=np.rint(np.bincount(period, weights=occupied, minlength=n_p)
                              ).astype(np.int64)[:n_p],
        period_state=np.rint(period_state).astype(np.int64),
        unslotted=unslotted,
    )


def _local_day(epoch: int, offset_s: int) -> date:
    return date(1970, 1, 1) + timedelta(days=(epoch + offset_s) // 86400)


def _epoch(day: date, offset_s: int) -> int:
    return (day - date(1970, 1, 1)).days * 86400 - offset_s


class DashboardService:
    """Loads a range's figures; one per store, used from one worker thread at a time."""

    def __init__(self, store: Store, now: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.cache = ColumnCache(store)
        self._now = now or (lambda: datetime.now(UTC))
        self._fcr: _FcrIndex | None = None
        self._gap_of: InteractionColumns | None = None
        self._lock = threading.Lock()
        self._agents: tuple[AgentRow, ...] = ()
        self._kept_of: tuple[InteractionColumns, tuple[int, int, int],
                             dict[str, GrowingArray]] | None = None

    def last_day(self, offset_s: int) -> date | None:
        """The local day of the latest interaction read so far (None before any)."""
        cols = self.cache.columns
        return _local_day(int(cols.offered[-1]), offset_s) if len(cols) else None

    def today(self, offset_s: int) -> date:
        return _local_day(int(self._now().timestamp()), offset_s)

    # --- loading ---------------------------------------------------------------------
    def load(
        self,
        start: date,
        end: date,
        *,
        range_words: str = "",
        settings: DashboardSettings | None = None,
        offset_s: int | None = None,
        trend_agent: str | None = None,
        trend_team: str | None = None,
        me: str | None = None,
        full: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> DashboardData:
        """Every figure for local days ``[start, end)``.

        ``trend_agent`` / ``trend_team`` narrow the trend series (AHT, FCR) to one agent
        or team. ``me``: an agent's id; their own figures and their team's come back in
        ``me`` / ``my_team`` and the agent and team tables hold only those two rows.
        """
        import time

        t0 = time.perf_counter()
        s = settings or DashboardSettings()
        off = local_offset_seconds() if offset_s is None else offset_s
        if end < start:
            raise RangeError("The range ends before it starts: pick a last day on or after "
                             "the first.")
        with self._lock:
            cols = self.cache.refresh(full=full, progress=progress)
            t_read = time.perf_counter()
            if self._gap_of is not cols or self._fcr is None:
                base = self.cache.appended_after
                if self._fcr is not None and self._gap_of is not None and base is not None \
                        and base == len(self._gap_of) and base > 0:
                    self._fcr = _fcr_gap_append(cols, base, self._fcr)
                else:
                    self._fcr = _fcr_gap(cols)
                self._gap_of = cols
                self._agents = tuple(read_agents(self.store))
            gap = self._fcr.gap
            agents = self._agents
        t_gap = time.perf_counter()
        states = read_state_seconds(self.store, _epoch(start, off), _epoch(end, off), off)
        t_states = time.perf_counter()
        data = self._compute(cols, gap, agents, start, end, range_words, s, off,
                             trend_agent, trend_team, me, states)
        t_done = time.perf_counter()
        timings = {"read": (t_read - t0) * 1000, "fcr_gap": (t_gap - t_read) * 1000,
                   "states": (t_states - t_gap) * 1000,
                   "compute": (t_done - t_states) * 1000}
        return replace(data, timings_ms=timings)

    def _compute(self, cols: InteractionColumns, gap: np.ndarray,
                 agents: tuple[AgentRow, ...], start: date, end: date, range_words: str,
                 s: DashboardSettings, off: int, trend_agent: str | None,
                 trend_team: str | None, me: str | None,
                 states: StateSeconds | None = None) -> DashboardData:
        lo_t, hi_t = _epoch(start, off), _epoch(end, off)
        lo = int(np.searchsorted(cols.offered, lo_t, side="left"))
        hi = int(np.searchsorted(cols.offered, hi_t, side="left"))
        sl = slice(lo, hi)
        n = hi - lo
        as_of = int(self._now().timestamp())
        days = (end - start).days
        notices: list[str] = []
        if days == 0:
            notices.append("The range is empty: pick at least one day.")
        elif len(cols) == 0:
            notices.append("There are no interactions in the store yet. Figures appear "
                           "once calls are recorded (the demo store or the server's calls).")
        elif n == 0:
            first = _local_day(int(cols.offered[0]), off)
            last = _local_day(int(cols.offered[-1]), off)
            notices.append(f"No interactions between {start:%d %b %Y} and "
                           f"{end - timedelta(days=1):%d %b %Y}. The store holds "
                           f"interactions from {first:%d %b %Y} to {last:%d %b %Y}.")
        if days > LONG_RANGE_DAYS:
            notices.append(f"This is a long range ({days:,} days): the trend shows weeks.")

        by_id = {a.agent_id: a for a in agents}
        teams = tuple(sorted({a.team for a in agents if a.team}))
        n_agents = len(cols.agent_ids) + 1  # slot 0: no agent; agent code c: slot c + 1
        agent_team = [""] + [by_id[a].team if a in by_id else "" for a in cols.agent_ids]
        granularity = "hour" if days <= 2 else ("day" if days <= LONG_RANGE_DAYS else "week")
        step = {"hour": 3600, "day": 86400, "week": 7 * 86400}[granularity]
        n_periods = max(1, math.ceil((hi_t - lo_t) / step)) if days else 0

        kept = self._kept(cols, s, off)
        parts = _parts(cols, sl, gap, s, as_of, kept)
        agent_code = kept["agent_code"][sl]
        hours = kept["hours"][sl]
        period = hours - np.int32((lo_t + off) // 3600)
        if step > 3600:
            period //= np.int32(step // 3600)
        if n_periods:
            np.clip(period, 0, n_periods - 1, out=period)
        n_p = max(n_periods, 1)
        per_agent = _sum_by(parts, agent_code, n_agents)
        per_period = _sum_by(parts, period.astype(np.int64), n_p)
        n_q, n_r = max(len(cols.queues), 1), max(len(cols.reasons), 1)
        qr = _sum_by(parts, cols.queue[sl].astype(np.int64) * n_r + cols.reason[sl], n_q * n_r)
        qr = {k: v.reshape(n_q, n_r) for k, v in qr.items()}
        occ = _occupancy(cols, states or StateSeconds(), agent_code, hours, period,
                         parts["handle_s"], n_agents, n_p, (lo_t + off) // 3600,
                         step // 3600, n_periods)
        per_agent["occ_handle_s"], per_agent["occ_state_s"] = occ.slot_handle, occ.slot_state
        per_period["occ_handle_s"] = occ.period_handle
        per_period["occ_state_s"] = occ.period_state

        totals = _figures({k: v.sum() for k, v in per_agent.items()}, None,
                          sum(occ.unslotted.values()))
        occupancy_note = ""
        if totals["occupancy"] is None and n and days:
            occupancy_note = OCCUPANCY_NOTE
        if totals["fcr"] is None and totals["handled"]:
            notices.append(
                f"FCR is judged {s.fcr_window_days} days after each contact (a repeat may "
                "still come): no contact in this range has had its days yet, so it shows "
                "\u2014. Pick an earlier range to see it.")
        if totals["data_problems"]:
            notices.append(
                f"{totals['data_problems']:,} interaction(s) have no end time: they are "
                "left out of handle time (the drill-down lists them with a blank end).")

        # Tables.
        agent_rows: list[Row] = []
        for code, agent_id in enumerate(cols.agent_ids):
            if per_agent["contacts"][code + 1] == 0:
                continue
            info = by_id.get(agent_id)
            agent_rows.append(Row(agent_id, info.display_name if info else agent_id[:8],
                                  info.team if info else "",
                                  _figures(per_agent, code + 1),
                                  Drill(lo_t, hi_t, agent_id=agent_id,
                                        title=info.display_name if info else agent_id)))
        if per_agent["contacts"][0]:
            agent_rows.append(Row("", "(no agent: abandoned in the queue)", "",
                                  _figures(per_agent, 0),
                                  Drill(lo_t, hi_t, agent_id="", title="No agent")))
        agent_rows.sort(key=lambda r: (r.key == "", r.label.lower()))
        team_of = np.array(agent_team, dtype=object)
        team_rows: list[Row] = []
        unslotted_team: dict[str, int] = {}
        for agent_id, seconds in occ.unslotted.items():
            info = by_id.get(agent_id)
            team = info.team if info else ""
            unslotted_team[team] = unslotted_team.get(team, 0) + seconds
        for team in sorted(set(agent_team)):
            idx = np.flatnonzero(team_of == team)
            figs = _figures(per_agent, idx, unslotted_team.get(team, 0))
            if not figs["contacts"]:
                continue
            label = team or "(no team)"
            team_rows.append(Row(team, label, "", figs,
                                 Drill(lo_t, hi_t, team=team, title=label)))
        per_queue = {k: v.sum(axis=1) for k, v in qr.items()}
        per_reason = {k: v.sum(axis=0) for k, v in qr.items()}
        queue_rows = [
            Row(q, q or "(none)", "", _figures(per_queue, i),
                Drill(lo_t, hi_t, queue=q, title=f"Queue {q or '(none)'}"))
            for i, q in enumerate(cols.queues) if per_queue["contacts"][i]
        ]
        reason_rows = [
            Row(r, r or "(no reason)", "", _figures(per_reason, i),
                Drill(lo_t, hi_t, reason=r, title=f"Reason {r or '(none)'}"))
            for i, r in enumerate(cols.reasons) if per_reason["contacts"][i]
        ]
        queue_rows.sort(key=lambda r: r.label)
        reason_rows.sort(key=lambda r: r.label)

        # Periods (the trend and the by-day/hour table), for everyone and for the scope.
        starts = [lo_t + i * step for i in range(n_periods)]
        labels = [_period_label(t, off, granularity) for t in starts]
        period_rows = [
            Row(str(t), labels[i], "", _figures(per_period, i),
                Drill(t, min(t + step, hi_t), title=labels[i]))
            for i, t in enumerate(starts)
        ]
        scope_codes: np.ndarray | None = None
        scope = "Everyone"
        scope_drill: dict[str, str] = {}
        if trend_agent is not None:
            code = cols.agent_ids.index(trend_agent) if trend_agent in cols.agent_ids else -2
            scope_codes = np.array([code + 1], dtype=np.int64)
            info = by_id.get(trend_agent)
            scope = info.display_name if info else "Agent"
            scope_drill = {"agent_id": trend_agent}
        elif trend_team is not None:
            scope_codes = np.flatnonzero(team_of == trend_team)
            scope = trend_team or "(no team)"
            scope_drill = {"team": trend_team}
        if scope_codes is None:
            trend_sum = per_period
        else:
            rows_in = np.flatnonzero(np.isin(agent_code, scope_codes))
            trend_sum = _sum_by(_subset(parts, rows_in), period[rows_in].astype(np.int64), n_p)
        trend_figs = [_figures(trend_sum, i) for i in range(n_periods)]
        trend = Trend(
            scope=scope, granularity=granularity, starts=tuple(starts), labels=tuple(labels),
            aht_s=tuple(_finite(f["aht_s"]) for f in trend_figs),
            fcr=tuple(_finite(f["fcr"]) for f in trend_figs),
            contacts=tuple(int(f["contacts"] or 0) for f in trend_figs),
            drills=tuple(Drill(t, min(t + step, hi_t), title=f"{scope}, {labels[i]}",
                               **scope_drill)  # type: ignore[arg-type]
                         for i, t in enumerate(starts)),
        )

        # Heat map: contacts offered by local weekday and hour.
        my_rows: np.ndarray | None = None
        if me is not None:  # an agent's heat map and histogram are their own contacts
            code = cols.agent_ids.index(me) if me in cols.agent_ids else -2
            my_rows = np.flatnonzero(agent_code == code + 1)
            hours = hours[my_rows]
        hour_of_week = (hours + np.int32(72)) % np.int32(168)  # 1970-01-01 was a Thursday
        heat = np.bincount(hour_of_week, minlength=7 * 24).reshape(7, 24)
        heatmap = tuple(tuple(int(x) for x in row) for row in heat)

        # Handle-time histogram: handled contacts with an end time, 1-min bins to 30 min.
        edges = list(range(0, 1800 + 1, 60))
        handle_s, aht_n = parts["handle_s"], parts["aht_n"]
        if my_rows is not None:
            handle_s, aht_n = handle_s[my_rows], aht_n[my_rows]
        handle = handle_s[aht_n]
        counts, _ = np.histogram(handle, bins=edges)
        histogram = Histogram(tuple(edges), tuple(int(c) for c in counts),
                              int((handle >= edges[-1]).sum()))

        me_row = my_team_row = None
        if me is not None:
            mine = [r for r in agent_rows if r.key == me]
            info = by_id.get(me)
            my_team = info.team if info else ""
            me_row = mine[0] if mine else Row(
                me, info.display_name if info else "Me", my_team,
                _figures({k: np.zeros(1, dtype=np.int64) for k in per_agent}, 0,
                         occ.unslotted.get(me, 0)),
                Drill(lo_t, hi_t, agent_id=me, title="Me"))
            teams_mine = [r for r in team_rows if r.key == my_team]
            my_team_row = teams_mine[0] if teams_mine else None
            agent_rows = [me_row]
            team_rows = teams_mine

        tables = {
            "agent": Table("agent", "By agent", "Agent", tuple(agent_rows)),
            "team": Table("team", "By team", "Team", tuple(team_rows)),
            "queue": Table("queue", "By queue", "Queue", tuple(queue_rows)),
            "reason": Table("reason", "By reason", "Reason", tuple(reason_rows)),
            "period": Table("period", f"By {granularity}", granularity.title(),
                            tuple(period_rows)),
        }
        return DashboardData(
            start=start, end=end, range_words=range_words, offset_s=off, settings=s,
            totals=totals, tables=tables, trend=trend, heatmap=heatmap,
            histogram=histogram, notices=tuple(notices), agents=agents, teams=teams,
            me=me_row, my_team=my_team_row, interactions_in_store=len(cols),
            occupancy_note=occupancy_note,
        )

    def _kept(self, cols: InteractionColumns, s: DashboardSettings, off: int
              ) -> dict[str, np.ndarray]:
        """Per-row arrays derived from the columns, kept between refreshes and, after a
        catch-up, extended with the new rows only: the agent's slot (its code + 1; 0: no
        agent), local hours since the epoch and :func:`_static`."""
        key = (s.short_abandon_seconds, s.service_level_seconds, off)
        kept = self._kept_of
        if kept is not None and kept[0] is cols and kept[1] == key:
            return {k: v.values() for k, v in kept[2].items()}
        base = self.cache.appended_after
        if kept is not None and kept[1] == key and base is not None and base > 0 \
                and len(kept[2]["agent_code"]) == base:
            new = self._derive(cols, slice(base, len(cols)), s, off)
            arrays = {k: kept[2][k].extend(v) for k, v in new.items()}
            grown = kept[2]
        else:
            arrays = self._derive(cols, slice(None), s, off)
            grown = {k: GrowingArray(v, spare=True) for k, v in arrays.items()}
            arrays = {k: g.values() for k, g in grown.items()}
        self._kept_of = (cols, key, grown)
        return arrays

    @staticmethod
    def _derive(cols: InteractionColumns, sl: slice, s: DashboardSettings, off: int
                ) -> dict[str, np.ndarray]:
        agent = cols.agent[sl].astype(np.int64) + 1  # 0: no agent, else the code + 1
        hours = ((cols.offered[sl] + off) // 3600).astype(np.int32)
        return {"agent_code": agent, "hours": hours, **_static(cols, sl, s)}

    # --- drill-down ------------------------------------------------------------------
    def drill_rowids(self, drill: Drill, offset_s: int) -> tuple[np.ndarray, int]:
        """The rowids behind ``drill`` (at most :data:`DRILL_LIMIT`) and how many there
        are in all."""
        cols = self.cache.columns
        lo = int(np.searchsorted(cols.offered, drill.start, side="left"))
        hi = int(np.searchsorted(cols.offered, drill.end, side="left"))
        sl = slice(lo, hi)
        mask = np.ones(hi - lo, dtype=bool)
        if drill.agent_id is not None:
            if drill.agent_id == "":
                mask &= cols.agent[sl] < 0
            else:
                code = cols.agent_ids.index(drill.agent_id) \
                    if drill.agent_id in cols.agent_ids else -2
                mask &= cols.agent[sl] == code
        if drill.team is not None:
            codes = [i for i, a in enumerate(cols.agent_ids)
                     if (self._team_of(a)) == drill.team]
            in_team = np.isin(cols.agent[sl], np.array(codes, dtype=np.int32))
            if drill.team == "":
                in_team |= cols.agent[sl] < 0
            mask &= in_team
        if drill.queue is not None:
            code = cols.queues.index(drill.queue) if drill.queue in cols.queues else -2
            mask &= cols.queue[sl] == code
        if drill.reason is not None:
            code = cols.reasons.index(drill.reason) if drill.reason in cols.reasons else -2
            mask &= cols.reason[sl] == code
        if drill.weekday is not None or drill.hour is not None:
            local = cols.offered[sl] + offset_s
            if drill.weekday is not None:
                mask &= (local // 86400 + 3) % 7 == drill.weekday
            if drill.hour is not None:
                mask &= (local // 3600) % 24 == drill.hour
        if drill.handle_min is not None or drill.handle_max is not None:
            handled = (cols.answered[sl] != NO_TIME) & ~cols.abandoned[sl] \
                & (cols.ended[sl] != NO_TIME)
            out = cols.outbound[sl]
            handle = (cols.talk[sl].astype(np.int64) + cols.hold[sl] + cols.acw[sl]
                      + np.where(out, cols.dial[sl], 0))
            mask &= handled
            if drill.handle_min is not None:
                mask &= handle >= drill.handle_min
            if drill.handle_max is not None:
                mask &= handle < drill.handle_max
        found = cols.rowid[sl][mask]
        return found[:DRILL_LIMIT], len(found)

    def _team_of(self, agent_id: str) -> str:
        for a in self._agents:
            if a.agent_id == agent_id:
                return a.team
        return ""

    def drill_down(self, drill: Drill, offset_s: int) -> tuple[list[InteractionRow], int]:
        """The interactions behind a point (oldest first, at most DRILL_LIMIT) and the
        total count."""
        rowids, total = self.drill_rowids(drill, offset_s)
        return read_rows(self.store, rowids.tolist()), total


DRILL_LIMIT = 2000


def _finite(value: float | int | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _period_label(epoch: int, offset_s: int, granularity: str) -> str:
    moment = datetime(1970, 1, 1) + timedelta(seconds=epoch + offset_s)
    if granularity == "hour":
        return moment.strftime("%a %d %b %H:00")
    if granularity == "week":
        return "Week of " + moment.strftime("%d %b %Y")
    return moment.strftime("%a %d %b %Y")


# --- exports ------------------------------------------------------------------------------


def table_cells(table: Table) -> tuple[list[str], list[list[Any]]]:
    """A table as header + rows of plain values (ratios as fractions, seconds, cents;
    None for undefined), the way the exports write it."""
    header = [table.key_title, *(FIGURE_TITLES[f] for f in FIGURES)]
    if table.name == "agent":
        header.insert(1, "Team")
    rows: list[list[Any]] = []
    for row in table.rows:
        values: list[Any] = [row.label]
        if table.name == "agent":
            values.append(row.detail)
        for f in FIGURES:
            v = row.figures.get(f)
            values.append(None if v is None or (isinstance(v, float) and not math.isfinite(v))
                          else v)
        rows.append(values)
    return header, rows


def _shown_header(table: Table) -> list[str]:
    header, _ = table_cells(table)
    units = {"AHT": "AHT (s)", "ASA": "ASA (s)", "Collected": "Collected (cents)"}
    return [units.get(h, h) for h in header]


def export_csv(table: Table, path: Path | str) -> Path:
    """Write ``table`` to a CSV file (UTF-8, ratios as fractions 0..1, blank = undefined)."""
    path = Path(path)
    _header, rows = table_cells(table)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_shown_header(table))
        for r in rows:
            writer.writerow(["" if v is None else v for v in r])
    return path


def export_excel(tables: Sequence[Table], path: Path | str, title: str = "") -> Path:
    """Write each table to its own sheet of an .xlsx workbook (openpyxl), ratios as
    percentages, times as seconds; a definitions sheet at the end."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    wb = Workbook()
    first = True
    for table in tables:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = table.title[:31]
        header, rows = table_cells(table)
        if title:
            ws.append([title])
            ws["A1"].font = Font(bold=True)
        ws.append(_shown_header(table))
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        offset = len(header) - len(FIGURES)
        for r in rows:
            ws.append(r)
            for i, f in enumerate(FIGURES):
                if f not in ("contacts", "handled", "data_problems", "aht_s", "asa_s",
                             "nps", "collected_cents"):
                    ws.cell(row=ws.max_row, column=offset + i + 1).number_format = "0.0%"
        ws.column_dimensions["A"].width = 28
    defs = wb.create_sheet("Definitions")
    defs.append(["Figure", "Definition"])
    for f in FIGURES:
        defs.append([FIGURE_TITLES[f], definition_text(f)])
    defs.column_dimensions["B"].width = 100
    wb.save(path)
    return path
