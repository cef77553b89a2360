"""Contact-centre key indicators over a pandas DataFrame, and Erlang C staffing.

This lives in ``services`` (not ``domain``) because the "domain is pure" import contract
forbids pandas there. It does no I/O and touches neither Qt nor SQLAlchemy: callers read
interactions out of storage, build a frame with :func:`frame`, and pass it in.

Every metric is defined once in :data:`DEFINITIONS` (name, formula, one line in words),
which the UI shows next to the figure.

The interactions frame (:data:`COLUMNS`, one row per call/chat/email)
----------------------------------------------------------------------

==================  ==============  =========================================================
column              dtype           meaning
==================  ==============  =========================================================
id                  object (str)    interaction id
customer_id         object          customer id, or None (unknown caller)
agent_id            object          agent id, or None (never reached an agent)
team                object (str)    the agent's team, "" if unknown
queue               object (str)    queue the contact was offered to
channel             object (str)    "call", "chat" or "email"
direction           object (str)    "inbound" or "outbound"
reason_code         object (str)    contact reason, "" if none
offered_at          datetime64[ns]  when the contact was offered (naive UTC)
answered_at         datetime64[ns]  when an agent answered, NaT if never
ended_at            datetime64[ns]  when it ended, NaT if missing (a data problem)
wait_seconds        int64           queue wait (to answer, or to abandon)
dial_seconds        int64           outbound dialing time
talk_seconds        int64           talk time
hold_seconds        int64           hold time
acw_seconds         int64           after-call work
transfers           int64           number of transfers
abandoned           bool            the caller hung up before an answer
resolved            bool            the agent's own "resolved" mark (not used for FCR)
csat                float64         post-call survey 1-5, NaN if no answer
nps                 float64         post-call survey 0-10, NaN if no answer
offers_shown        int64           up-sell/cross-sell offers presented in the contact
offers_accepted     int64           of those, accepted
promises_kept       int64           collections: promises to pay made here, later kept
promises_broken     int64           collections: promises to pay made here, later broken
collected_cents     int64           collections: money taken in the contact, in cents
==================  ==============  =========================================================

Rules the figures follow
------------------------

* A contact is *handled* when it was answered and not abandoned. AHT, transfers and
  occupancy count handled contacts only. A handled contact with no ``ended_at`` is left
  out of AHT and occupancy and counted in ``data_problems`` (every row with a missing
  end time is counted there once).
* Queue figures (service level, ASA, abandonment) count inbound calls and chats.
  A *short abandon* (abandoned after less than ``short_abandon_s`` seconds, default 5) is
  left out of both the numerator and the denominator of service level and abandonment.
* FCR looks at handled inbound contacts with a customer and a reason. A contact is a
  first-contact resolution when no other handled inbound contact from the same customer
  about the same reason was offered at or after it and within ``window`` (default 7
  days). A contact whose window is not over yet at ``as_of`` (default: the latest
  ``offered_at`` in the frame) is *undecided*, even if a repeat already came: it is left
  out of FCR altogether (it counts in neither numerator nor denominator) until its window
  is over, so the failures of a recent range are not counted before its successes. To
  judge contacts near the end of a date range, pass
  a frame that also holds the contacts up to ``end + window``; :func:`summary` judges
  FCR on the whole frame before it cuts the date range.
* A ratio with nothing to divide by is ``None`` (the UI shows "—"), never NaN; counts
  and sums are 0. Ratios are fractions 0..1 except NPS, which is in points -100..100.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas costs ~0.7 s to import: only when a frame is first made (MEASURED.md)

    class _LazyPandas:
        def __getattr__(self, attr: str) -> Any:
            import pandas

            globals()["pd"] = pandas
            return getattr(pandas, attr)

    pd = _LazyPandas()

__all__ = [
    "COLUMNS",
    "DEFINITIONS",
    "GROUPINGS",
    "SUMMARY_COLUMNS",
    "MetricDefinition",
    "Staffing",
    "abandonment_rate",
    "agents_needed",
    "aht",
    "asa",
    "asa_erlang",
    "collected_cents",
    "conversion",
    "csat",
    "data_problems",
    "erlang_b",
    "erlang_c",
    "fcr",
    "figures_from_parts",
    "frame",
    "nps",
    "occupancy",
    "occupancy_ratio",
    "promises_kept_rate",
    "service_level",
    "service_level_erlang",
    "summary",
    "transfer_rate",
]

COLUMNS: dict[str, str] = {
    "id": "object",
    "customer_id": "object",
    "agent_id": "object",
    "team": "object",
    "queue": "object",
    "channel": "object",
    "direction": "object",
    "reason_code": "object",
    "offered_at": "datetime64[ns]",
    "answered_at": "datetime64[ns]",
    "ended_at": "datetime64[ns]",
    "wait_seconds": "int64",
    "dial_seconds": "int64",
    "talk_seconds": "int64",
    "hold_seconds": "int64",
    "acw_seconds": "int64",
    "transfers": "int64",
    "abandoned": "bool",
    "resolved": "bool",
    "csat": "float64",
    "nps": "float64",
    "offers_shown": "int64",
    "offers_accepted": "int64",
    "promises_kept": "int64",
    "promises_broken": "int64",
    "collected_cents": "int64",
}

_DEFAULTS: dict[str, Any] = {
    "id": "",
    "customer_id": None,
    "agent_id": None,
    "team": "",
    "queue": "",
    "channel": "call",
    "direction": "inbound",
    "reason_code": "",
    "offered_at": None,  # NaT in the frame
    "answered_at": None,
    "ended_at": None,
    "wait_seconds": 0,
    "dial_seconds": 0,
    "talk_seconds": 0,
    "hold_seconds": 0,
    "acw_seconds": 0,
    "transfers": 0,
    "abandoned": False,
    "resolved": False,
    "csat": math.nan,
    "nps": math.nan,
    "offers_shown": 0,
    "offers_accepted": 0,
    "promises_kept": 0,
    "promises_broken": 0,
    "collected_cents": 0,
}

DEFAULT_FCR_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """How a figure is computed, for showing next to it."""

    name: str
    formula: str
    words: str


DEFINITIONS: dict[str, MetricDefinition] = {
    "aht_s": MetricDefinition(
        "Average handle time",
        "(talk + hold + after-call work [+ dialing, outbound]) / handled contacts",
        "Mean seconds an agent spends on a contact; contacts without an end time are left out.",
    ),
    "fcr": MetricDefinition(
        "First-contact resolution",
        "contacts with no repeat (same customer, same reason) within the window / "
        "contacts whose window is over or that already have a repeat",
        "Share of issues the customer did not have to contact us about again within "
        "the window (default 7 days); the agent's 'resolved' mark alone does not count.",
    ),
    "service_level": MetricDefinition(
        "Service level",
        "answered within T s / (offered - short abandons)",
        "Share of offered calls and chats answered within the target (default 20 s); "
        "callers who hung up within 5 s are left out.",
    ),
    "asa_s": MetricDefinition(
        "Average speed of answer",
        "sum of queue wait of answered contacts / answered contacts",
        "Mean seconds answered callers waited in the queue.",
    ),
    "abandonment_rate": MetricDefinition(
        "Abandonment rate",
        "abandoned (not short) / (offered - short abandons)",
        "Share of offered calls and chats where the caller hung up before an answer; "
        "hang-ups within 5 s are left out.",
    ),
    "occupancy": MetricDefinition(
        "Occupancy",
        "(talk + hold + after-call work [+ dialing]) / logged-in ready+busy time",
        "Share of the agents' available time spent handling contacts (shrinkage excluded): "
        "ready is available or ringing, busy is on a call or in after-call work; "
        "not-ready and logged-out time are left out.",
    ),
    "transfer_rate": MetricDefinition(
        "Transfer rate",
        "handled contacts transferred at least once / handled contacts",
        "Share of handled contacts that were passed to someone else.",
    ),
    "csat": MetricDefinition(
        "Customer satisfaction",
        "ratings of 4 or 5 / all ratings (1-5)",
        "Share of post-call survey answers that were satisfied or very satisfied.",
    ),
    "nps": MetricDefinition(
        "Net promoter score",
        "100 x (ratings 9-10 - ratings 0-6) / all ratings (0-10)",
        "Promoters minus detractors, in points from -100 to 100.",
    ),
    "conversion": MetricDefinition(
        "Up-sell/cross-sell conversion",
        "offers accepted / offers presented",
        "Share of offers shown to customers that they accepted.",
    ),
    "promises_kept_rate": MetricDefinition(
        "Promises kept",
        "promises to pay kept / (kept + broken)",
        "Share of collections promises to pay, already due, that the customer kept.",
    ),
    "collected_cents": MetricDefinition(
        "Amount collected",
        "sum of payments taken in collections contacts",
        "Money taken in collections contacts, in cents.",
    ),
    "data_problems": MetricDefinition(
        "Data problems",
        "contacts with no end time",
        "Contacts left out of handle time because their end time is missing.",
    ),
}


# --- building a frame ---------------------------------------------------------------------


def frame(rows: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """Build an interactions frame with :data:`COLUMNS` from dicts.

    Missing keys take their defaults (inbound call, zeros, no survey, NaT times). Unknown
    keys are dropped. ``None`` in a time column becomes NaT, in a survey column NaN.
    """
    records = [{name: row.get(name, _DEFAULTS[name]) for name in COLUMNS} for row in rows]
    data: dict[str, Any] = {}
    for name, dtype in COLUMNS.items():
        values = [r[name] for r in records]
        if dtype.startswith("datetime"):
            series = pd.to_datetime(pd.Series(values, dtype="object"))
            data[name] = series.astype("datetime64[ns]")
        elif dtype == "int64":
            data[name] = pd.Series([0 if v is None else int(v) for v in values], dtype="int64")
        elif dtype == "float64":
            data[name] = pd.Series(
                [math.nan if v is None else float(v) for v in values], dtype="float64"
            )
        elif dtype == "bool":
            data[name] = pd.Series([bool(v) for v in values], dtype="bool")
        else:
            if name in ("customer_id", "agent_id"):
                cleaned = [None if v is None or v == "" else str(v) for v in values]
            else:
                cleaned = ["" if v is None else str(v) for v in values]
            data[name] = pd.Series(cleaned, dtype="object")
    return pd.DataFrame(data, columns=list(COLUMNS))


# --- per-row parts that every figure is summed from ---------------------------------------

_PARTS = [
    "contacts",
    "handled",
    "aht_n",
    "handle_s",
    "q_offered",
    "q_in_sl",
    "q_answered",
    "q_wait_s",
    "q_abandoned",
    "transferred",
    "csat_n",
    "csat_good",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "offers_shown",
    "offers_accepted",
    "promises_kept",
    "promises_broken",
    "collected_cents",
    "fcr_decided",
    "fcr_ok",
    "data_problems",
]


def _fcr_flags(
    df: pd.DataFrame, window: timedelta, as_of: datetime | None
) -> tuple[pd.Series, pd.Series]:
    """(decided, resolved) booleans per row of ``df``; see the module docstring."""
    handled = df["answered_at"].notna() & ~df["abandoned"]
    eligible = (
        handled
        & (df["direction"] == "inbound")
        & df["customer_id"].notna()
        & (df["reason_code"] != "")
    )
    decided = pd.Series(False, index=df.index)
    resolved = pd.Series(False, index=df.index)
    sub = df.loc[eligible, ["customer_id", "reason_code", "offered_at"]]
    if sub.empty:
        return decided, resolved
    if window < timedelta(0):
        raise ValueError("window must not be negative")
    sub = sub.sort_values(["customer_id", "reason_code", "offered_at"], kind="mergesort")
    nxt = sub.groupby(["customer_id", "reason_code"], sort=False)["offered_at"].shift(-1)
    win = pd.Timedelta(window)
    repeated = nxt.notna() & ((nxt - sub["offered_at"]) <= win)
    cutoff = pd.Timestamp(as_of) if as_of is not None else df["offered_at"].max()
    window_over = (sub["offered_at"] + win) <= cutoff
    # Judged only once the window is over, repeat or not: judging repeats at once and the
    # rest later would count a range's failures before its successes (a week-old range
    # would show FCR near 0%).
    decided.loc[sub.index] = window_over
    resolved.loc[sub.index] = ~repeated & window_over
    return decided, resolved


def _parts(
    df: pd.DataFrame,
    *,
    threshold_s: float = 20,
    short_abandon_s: float = 5,
    fcr_window: timedelta = DEFAULT_FCR_WINDOW,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """One row per interaction with the counts and sums every figure is made from."""
    _check(df)
    abandoned = df["abandoned"]
    answered = df["answered_at"].notna() & ~abandoned
    has_end = df["ended_at"].notna()
    aht_ok = answered & has_end
    handle = df["talk_seconds"] + df["hold_seconds"] + df["acw_seconds"]
    handle = handle + df["dial_seconds"].where(df["direction"] == "outbound", 0)
    queued = (df["direction"] == "inbound") & df["channel"].isin(["call", "chat"])
    short = abandoned & (df["wait_seconds"] < short_abandon_s)
    q_offered = queued & ~short
    q_answered = queued & answered
    csat_n = df["csat"].notna()
    nps_n = df["nps"].notna()
    decided, fcr_ok = _fcr_flags(df, fcr_window, as_of)
    parts = pd.DataFrame(
        {
            "contacts": 1,
            "handled": answered.astype("int64"),
            "aht_n": aht_ok.astype("int64"),
            "handle_s": handle.where(aht_ok, 0).astype("int64"),
            "q_offered": q_offered.astype("int64"),
            "q_in_sl": (q_answered & (df["wait_seconds"] <= threshold_s)).astype("int64"),
            "q_answered": q_answered.astype("int64"),
            "q_wait_s": df["wait_seconds"].where(q_answered, 0).astype("int64"),
            "q_abandoned": (queued & abandoned & ~short).astype("int64"),
            "transferred": (answered & (df["transfers"] > 0)).astype("int64"),
            "csat_n": csat_n.astype("int64"),
            "csat_good": (csat_n & (df["csat"] >= 4)).astype("int64"),
            "nps_n": nps_n.astype("int64"),
            "nps_promoters": (nps_n & (df["nps"] >= 9)).astype("int64"),
            "nps_detractors": (nps_n & (df["nps"] <= 6)).astype("int64"),
            "offers_shown": df["offers_shown"].astype("int64"),
            "offers_accepted": df["offers_accepted"].astype("int64"),
            "promises_kept": df["promises_kept"].astype("int64"),
            "promises_broken": df["promises_broken"].astype("int64"),
            "collected_cents": df["collected_cents"].astype("int64"),
            "fcr_decided": decided.astype("int64"),
            "fcr_ok": fcr_ok.astype("int64"),
            "data_problems": (~has_end).astype("int64"),
        },
        index=df.index,
        columns=_PARTS,
    )
    return parts


def _check(df: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"interactions frame lacks columns: {', '.join(missing)}")


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return None if den == 0 else float(num) * scale / float(den)


def occupancy_ratio(handled_s: float, ready_busy_s: float | None) -> float | None:
    """Occupancy: handled talk + hold + after-call work seconds / the same agents' ready
    (available, ringing) + busy (on a call, after-call work) seconds of the same days.
    None (shown as an em dash) without ready+busy time, never NaN or infinity."""
    if ready_busy_s is None or not math.isfinite(float(ready_busy_s)) or ready_busy_s <= 0:
        return None
    value = float(handled_s) / float(ready_busy_s)
    return value if math.isfinite(value) else None


def figures_from_parts(t: Mapping[str, Any], logged_in_s: float | None,
                       occupied_s: float | None = None) -> dict[str, Any]:
    """Every figure of :data:`SUMMARY_COLUMNS` from summed parts (a Series or a dict with
    the names of ``PARTS``): the one place the ratios are made, also used by
    services/dashboard.py over numpy sums. ``logged_in_s`` None: occupancy is None.
    ``occupied_s``: the handle seconds occupancy divides (default ``handle_s``; the
    dashboard passes those of the agent-days that have state history)."""
    nps_n = int(t["nps_n"])
    return {
        "contacts": int(t["contacts"]),
        "handled": int(t["handled"]),
        "aht_s": _ratio(t["handle_s"], t["aht_n"]),
        "fcr": _ratio(t["fcr_ok"], t["fcr_decided"]),
        "service_level": _ratio(t["q_in_sl"], t["q_offered"]),
        "asa_s": _ratio(t["q_wait_s"], t["q_answered"]),
        "abandonment_rate": _ratio(t["q_abandoned"], t["q_offered"]),
        "occupancy": occupancy_ratio(
            t["handle_s"] if occupied_s is None else occupied_s, logged_in_s),
        "transfer_rate": _ratio(t["transferred"], t["handled"]),
        "csat": _ratio(t["csat_good"], t["csat_n"]),
        "nps": _ratio(int(t["nps_promoters"]) - int(t["nps_detractors"]), nps_n, 100.0),
        "conversion": _ratio(t["offers_accepted"], t["offers_shown"]),
        "promises_kept_rate": _ratio(
            t["promises_kept"], int(t["promises_kept"]) + int(t["promises_broken"])
        ),
        "collected_cents": int(t["collected_cents"]),
        "data_problems": int(t["data_problems"]),
    }


_figures = figures_from_parts
PARTS = tuple(_PARTS)

SUMMARY_COLUMNS = [
    "contacts",
    "handled",
    "aht_s",
    "fcr",
    "service_level",
    "asa_s",
    "abandonment_rate",
    "occupancy",
    "transfer_rate",
    "csat",
    "nps",
    "conversion",
    "promises_kept_rate",
    "collected_cents",
    "data_problems",
]


def _totals(df: pd.DataFrame, **kwargs: Any) -> dict[str, int]:
    summed = _parts(df, **kwargs).sum()
    return {name: int(summed[name]) if name in summed else 0 for name in _PARTS}


# --- single figures over a whole frame ------------------------------------------------------


def aht(df: pd.DataFrame) -> float | None:
    """Average handle time in seconds; None with no handled contact that has an end time."""
    return _figures(_totals(df), None)["aht_s"]  # type: ignore[no-any-return]


def fcr(
    df: pd.DataFrame, window: timedelta = DEFAULT_FCR_WINDOW, as_of: datetime | None = None
) -> float | None:
    """First-contact resolution (0..1); None when no contact is decided yet."""
    return _figures(_totals(df, fcr_window=window, as_of=as_of), None)[  # type: ignore[no-any-return]
        "fcr"
    ]


def service_level(
    df: pd.DataFrame, threshold_s: float = 20, short_abandon_s: float = 5
) -> float | None:
    """Share of offered inbound calls/chats answered within ``threshold_s`` (0..1)."""
    t = _totals(df, threshold_s=threshold_s, short_abandon_s=short_abandon_s)
    return _figures(t, None)["service_level"]  # type: ignore[no-any-return]


def asa(df: pd.DataFrame) -> float | None:
    """Average speed of answer in seconds; None with no answered inbound call/chat."""
    return _figures(_totals(df), None)["asa_s"]  # type: ignore[no-any-return]


def abandonment_rate(df: pd.DataFrame, short_abandon_s: float = 5) -> float | None:
    """Abandoned / offered inbound calls/chats (0..1), short abandons left out of both."""
    t = _totals(df, short_abandon_s=short_abandon_s)
    return _figures(t, None)["abandonment_rate"]  # type: ignore[no-any-return]


def occupancy(df: pd.DataFrame, logged_in_seconds: Mapping[str, float]) -> float | None:
    """Handle time / logged-in ready+busy seconds of the agents in ``logged_in_seconds``.

    Only contacts of those agents count. None when their logged-in time is 0.
    """
    available = float(sum(logged_in_seconds.values()))
    mine = df[df["agent_id"].isin(list(logged_in_seconds))]
    return _figures(_totals(mine), available)["occupancy"]  # type: ignore[no-any-return]


def transfer_rate(df: pd.DataFrame) -> float | None:
    """Handled contacts transferred at least once / handled contacts (0..1)."""
    return _figures(_totals(df), None)["transfer_rate"]  # type: ignore[no-any-return]


def csat(df: pd.DataFrame) -> float | None:
    """Share of 4-5 ratings among survey answers (0..1); None with no answers."""
    return _figures(_totals(df), None)["csat"]  # type: ignore[no-any-return]


def nps(df: pd.DataFrame) -> float | None:
    """Net promoter score in points (-100..100); None with no answers."""
    return _figures(_totals(df), None)["nps"]  # type: ignore[no-any-return]


def conversion(df: pd.DataFrame) -> float | None:
    """Offers accepted / offers shown (0..1); None when no offer was shown."""
    return _figures(_totals(df), None)["conversion"]  # type: ignore[no-any-return]


def promises_kept_rate(df: pd.DataFrame) -> float | None:
    """Promises to pay kept / (kept + broken); None with no promise come due."""
    return _figures(_totals(df), None)["promises_kept_rate"]  # type: ignore[no-any-return]


def collected_cents(df: pd.DataFrame) -> int:
    """Money taken in collections contacts, in cents."""
    return _totals(df)["collected_cents"]


def data_problems(df: pd.DataFrame) -> int:
    """Contacts with a missing end time (left out of AHT and occupancy)."""
    return _totals(df)["data_problems"]


# --- summary by agent, team, queue, reason, day or hour ------------------------------------

GROUPINGS: dict[str, str] = {
    "agent": "agent_id",
    "team": "team",
    "queue": "queue",
    "reason": "reason_code",
    "channel": "channel",
    "direction": "direction",
    "day": "day",
    "hour": "hour",
    "hour_of_day": "hour_of_day",
}


def _key_series(df: pd.DataFrame, by: str) -> pd.Series:
    if by == "day":
        return df["offered_at"].dt.normalize()
    if by == "hour":
        return df["offered_at"].dt.floor("h")
    if by == "hour_of_day":
        return df["offered_at"].dt.hour.astype("int64")
    if by == "agent":
        return df["agent_id"].fillna("")
    return df[GROUPINGS[by]]


def summary(
    df: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    groups: Iterable[Hashable] | None = None,
    logged_in_seconds: Mapping[str, float] | None = None,
    threshold_s: float = 20,
    short_abandon_s: float = 5,
    fcr_window: timedelta = DEFAULT_FCR_WINDOW,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Every figure, one row per group, over contacts offered in ``[start, end)``.

    ``by`` is None (one row for everything), one of :data:`GROUPINGS` ("agent", "team",
    "queue", "reason", "channel", "direction", "day" = midnight of the day, "hour" = the
    hour's start, "hour_of_day" = 0..23), or a list of them. The group keys are the first
    columns (an agent of None shows as ""), then :data:`SUMMARY_COLUMNS`.

    FCR is judged over the whole frame (repeats after ``end`` count) and ``as_of``
    defaults to the latest contact in the frame. With one ``by`` key, ``groups`` lists
    keys that must appear even without contacts; with ``by="day"`` and both ``start`` and
    ``end``, every day of the range appears. Occupancy needs ``logged_in_seconds`` per
    agent and is only given for no grouping, "agent" or "team" (else None).

    Ratios with nothing to divide by are None, counts 0: the result never holds NaN.
    ``start > end`` is a ValueError; ``start == end`` gives no rows (one row of zeros
    when ``by`` is None).
    """
    _check(df)
    if start is not None and end is not None and start > end:
        raise ValueError("start must not be after end")
    keys: list[str] = [] if by is None else [by] if isinstance(by, str) else list(by)
    for key in keys:
        if key not in GROUPINGS:
            raise ValueError(f"cannot group by {key!r}")
    parts = _parts(
        df,
        threshold_s=threshold_s,
        short_abandon_s=short_abandon_s,
        fcr_window=fcr_window,
        as_of=as_of,
    )
    mask = pd.Series(True, index=df.index)
    if start is not None:
        mask &= df["offered_at"] >= pd.Timestamp(start)
    if end is not None:
        mask &= df["offered_at"] < pd.Timestamp(end)
    sel = df[mask]
    parts = parts[mask]
    logged = dict(logged_in_seconds or {})

    if not keys:
        t = {name: int(parts[name].sum()) for name in _PARTS}
        total_avail: float | None = None
        if logged:
            seen = set(sel["agent_id"].dropna())
            total_avail = float(sum(v for a, v in logged.items() if a in seen))
        row = _figures(t, total_avail)
        return _objects(pd.DataFrame([row], columns=SUMMARY_COLUMNS))

    key_frame = pd.DataFrame({k: _key_series(sel, k) for k in keys}, index=sel.index)
    if sel.empty:
        summed = pd.DataFrame(columns=keys + _PARTS)
    else:
        grouped = pd.concat([key_frame, parts], axis=1).groupby(keys, sort=True, dropna=False)
        summed = grouped[_PARTS].sum().reset_index()

    extra: list[Hashable] = []
    if len(keys) == 1:
        if groups is not None:
            extra = list(groups)
        elif keys[0] == "day" and start is not None and end is not None:
            days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end), freq="D")
            extra = [d for d in days if d < pd.Timestamp(end)]
        have = set(summed[keys[0]]) if not summed.empty else set()
        missing = [g for g in dict.fromkeys(extra) if g not in have]
        if missing:
            zeros = pd.DataFrame({keys[0]: missing, **{p: 0 for p in _PARTS}})
            summed = pd.concat([summed, zeros], ignore_index=True) if len(summed) else zeros
            summed = summed.sort_values(keys[0], kind="mergesort", ignore_index=True)

    team_agents: dict[Hashable, set[str]] = {}
    if logged and keys == ["team"]:
        for team, agent in zip(sel["team"], sel["agent_id"], strict=True):
            if agent is not None:
                team_agents.setdefault(team, set()).add(agent)

    rows: list[dict[str, Any]] = []
    for rec in summed.to_dict("records"):
        avail: float | None = None
        if logged and keys == ["agent"]:
            avail = float(logged.get(str(rec["agent"]), 0))
        elif logged and keys == ["team"]:
            avail = float(sum(logged.get(a, 0) for a in team_agents.get(rec["team"], ())))
        figures = _figures({p: rec[p] for p in _PARTS}, avail)
        rows.append({**{k: rec[k] for k in keys}, **figures})
    out = pd.DataFrame(rows, columns=keys + SUMMARY_COLUMNS)
    return _objects(out)


def _objects(out: pd.DataFrame) -> pd.DataFrame:
    """Ratio columns as object dtype so an undefined figure stays None, not NaN."""
    for col in SUMMARY_COLUMNS:
        if col in ("contacts", "handled", "collected_cents", "data_problems"):
            out[col] = out[col].astype("int64")
        else:
            out[col] = pd.Series(
                [
                    None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                    for v in out[col]
                ],
                index=out.index,
                dtype="object",
            )
    return out


# --- Erlang C ------------------------------------------------------------------------------


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """Blocking probability by the stable recursion B(k) = A·B(k-1) / (k + A·B(k-1))."""
    if traffic_erlangs < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic_erlangs * b / (k + traffic_erlangs * b)
    return b


def _c_from_b(a: float, n: int, b: float) -> float:
    if n <= a:
        return 1.0
    return n * b / (n - a * (1.0 - b))


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that a call waits (Erlang C); 1.0 when agents <= traffic."""
    if traffic_erlangs == 0:
        return 0.0
    return _c_from_b(traffic_erlangs, agents, erlang_b(traffic_erlangs, agents))


def _traffic(calls: float, interval_s: float, aht_s: float) -> float:
    if calls < 0 or interval_s <= 0 or aht_s <= 0:
        raise ValueError("calls must be >= 0 and interval and AHT > 0")
    return calls * aht_s / interval_s


def service_level_erlang(
    calls: float, interval_s: float, aht_s: float, agents: int, target_s: float
) -> float:
    """Share of calls answered within ``target_s``: 1 - P_wait·exp(-(N-A)·t/AHT)."""
    a = _traffic(calls, interval_s, aht_s)
    if a == 0:
        return 1.0
    if agents <= a:
        return 0.0
    p = erlang_c(a, agents)
    return max(0.0, 1.0 - p * math.exp(-(agents - a) * target_s / aht_s))


def asa_erlang(calls: float, interval_s: float, aht_s: float, agents: int) -> float:
    """Average speed of answer in seconds: P_wait·AHT/(N-A); inf when agents <= traffic."""
    a = _traffic(calls, interval_s, aht_s)
    if a == 0:
        return 0.0
    if agents <= a:
        return math.inf
    return erlang_c(a, agents) * aht_s / (agents - a)


class Staffing(NamedTuple):
    """What :func:`agents_needed` answers."""

    agents: int  # on the phones (raw)
    scheduled: int  # to schedule, after shrinkage
    service_level: float
    occupancy: float
    asa_s: float


def agents_needed(
    calls_per_interval: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    target_s: float,
    max_occupancy: float = 0.85,
    shrinkage: float = 0.3,
) -> Staffing:
    """The fewest agents that meet ``target_sl`` within ``target_s`` at most ``max_occupancy``.

    Scheduled agents = ceil(agents / (1 - shrinkage)). No calls: 0 agents, SL 1.
    """
    if not 0 <= target_sl < 1:
        raise ValueError("target_sl must be in [0, 1)")
    if not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    if target_s < 0:
        raise ValueError("target_s must not be negative")
    a = _traffic(calls_per_interval, interval_s, aht_s)
    if a == 0:
        return Staffing(0, 0, 1.0, 0.0, 0.0)
    n = max(math.floor(a) + 1, math.ceil(round(a / max_occupancy, 9)))
    b = erlang_b(a, n)
    while True:
        p = _c_from_b(a, n, b)
        sl = max(0.0, 1.0 - p * math.exp(-(n - a) * target_s / aht_s))
        if sl >= target_sl and a / n <= max_occupancy:
            break
        n += 1
        b = a * b / (n + a * b)
    scheduled = math.ceil(round(n / (1.0 - shrinkage), 9))
    return Staffing(n, scheduled, sl, a / n, p * aht_s / (n - a))
