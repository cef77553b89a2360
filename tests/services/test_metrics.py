"""Contact-centre indicators and Erlang C staffing (agent_desktop/services/metrics.py).

The module lives in services because the "domain is pure" contract forbids pandas in
the domain; these are still pure-function tests with hand-worked answers.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest

from agent_desktop.services import metrics as m

T0 = datetime(2024, 1, 1, 10, 0, 0)


def _call(**kw: Any) -> dict[str, Any]:
    """A handled inbound call unless told otherwise."""
    offered = kw.pop("offered_at", T0)
    wait = kw.pop("wait_seconds", 10)
    row: dict[str, Any] = {
        "id": kw.pop("id", f"i{id(kw)}"),
        "customer_id": "c1",
        "agent_id": "a1",
        "team": "red",
        "queue": "billing",
        "reason_code": "bill",
        "offered_at": offered,
        "answered_at": offered + timedelta(seconds=wait),
        "ended_at": offered + timedelta(seconds=wait + 300),
        "wait_seconds": wait,
        "talk_seconds": 100,
        "hold_seconds": 20,
        "acw_seconds": 30,
    }
    row.update(kw)
    if row.get("abandoned"):
        row["answered_at"] = None
        row["talk_seconds"] = row["hold_seconds"] = row["acw_seconds"] = 0
    return row


def assert_no_nan(df: pd.DataFrame) -> None:
    """No NaN/NaT anywhere: the only missing values allowed are plain None."""
    na = df.isna()
    nones = df.map(lambda v: v is None)
    assert (na == nones).all().all(), df[na & ~nones]
    for col in ("contacts", "handled", "collected_cents", "data_problems"):
        if col in df.columns:
            assert not df[col].isna().any()


# --- Erlang C --------------------------------------------------------------------------------


def test_worked_example_from_domain_md() -> None:
    # 100 calls / 30 min, AHT 3 min, 80% in 20 s, max occupancy 0.85, shrinkage 0.3
    # -> raw 14, scheduled 20, SL 0.888, occupancy 0.714, P_wait 0.174.
    result = m.agents_needed(100, 1800, 180, 0.8, 20, max_occupancy=0.85, shrinkage=0.3)
    assert result.agents == 14
    assert result.scheduled == 20
    assert round(result.service_level, 3) == 0.888
    assert round(result.occupancy, 3) == 0.714
    assert round(m.erlang_c(10, 14), 3) == 0.174
    agents, scheduled, sl, occ, asa_s = result  # unpacks as a plain tuple too
    assert (agents, scheduled, occ) == (14, 20, result.occupancy)
    assert asa_s == pytest.approx(0.17413193 * 180 / 4, rel=1e-6)
    assert m.service_level_erlang(100, 1800, 180, 14, 20) == pytest.approx(sl)
    assert m.asa_erlang(100, 1800, 180, 14) == pytest.approx(asa_s)
    # 13 agents would miss the target (SL 0.796), which is why the answer is 14.
    assert m.service_level_erlang(100, 1800, 180, 13, 20) < 0.8


def test_erlang_c_matches_the_factorial_formula_exactly_for_small_cases() -> None:
    cases = [(Fraction(1), 2), (Fraction(2), 3), (Fraction(5), 7), (Fraction(10), 14)]
    for a_f, n in [*cases, (Fraction(7, 2), 6)]:
        top = a_f**n / math.factorial(n) * Fraction(n) / (n - a_f)
        bottom = sum(a_f**k / math.factorial(k) for k in range(n)) + top
        assert m.erlang_c(float(a_f), n) == pytest.approx(float(top / bottom), rel=1e-12)


def test_erlang_c_edges() -> None:
    assert m.erlang_c(10, 10) == 1.0  # not enough agents: everyone waits
    assert m.erlang_c(10, 5) == 1.0
    assert m.erlang_c(0, 3) == 0.0
    assert m.service_level_erlang(100, 1800, 180, 10, 20) == 0.0
    assert m.asa_erlang(100, 1800, 180, 10) == math.inf
    assert m.service_level_erlang(0, 1800, 180, 0, 20) == 1.0
    with pytest.raises(ValueError):
        m.erlang_b(-1, 3)
    with pytest.raises(ValueError):
        m.service_level_erlang(10, 0, 180, 3, 20)


def test_large_agent_counts_do_not_overflow() -> None:
    # 1000 Erlangs: A^N/N! would overflow a float long before N = 1100.
    p = m.erlang_c(1000, 1100)
    assert 0.0 <= p < 0.01
    assert m.erlang_c(5000, 5001) < 1.0
    result = m.agents_needed(36_000, 1800, 180, 0.9, 20, max_occupancy=1.0, shrinkage=0)
    traffic = 36_000 * 180 / 1800
    assert traffic < result.agents < traffic * 1.01
    assert result.service_level >= 0.9
    assert m.service_level_erlang(36_000, 1800, 180, result.agents - 1, 20) < 0.9
    assert result.scheduled == result.agents
    assert all(math.isfinite(v) for v in result)


def test_occupancy_cap_and_shrinkage() -> None:
    # 180 Erlangs: the SL target alone needs 188 agents (occupancy 0.957), but the cap
    # of 0.85 needs ceil(180 / 0.85) = 212; scheduled = ceil(212 / 0.7) = 303.
    uncapped = m.agents_needed(1800, 1800, 180, 0.8, 20, max_occupancy=1.0)
    assert uncapped.agents == 188
    assert uncapped.occupancy > 0.85
    capped = m.agents_needed(1800, 1800, 180, 0.8, 20, max_occupancy=0.85, shrinkage=0.3)
    assert capped.agents == 212
    assert capped.occupancy <= 0.85
    assert capped.scheduled == 303
    assert m.agents_needed(1800, 1800, 180, 0.8, 20, shrinkage=0).scheduled == 212
    # 20 / (1 - 0.3) is 20.000000000000004 in floats; 14 agents schedule 20, not 21.
    assert m.agents_needed(100, 1800, 180, 0.8, 20).scheduled == 20


def test_no_calls_and_bad_staffing_input() -> None:
    assert m.agents_needed(0, 1800, 180, 0.8, 20) == m.Staffing(0, 0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        m.agents_needed(100, 1800, 180, 1.2, 20)
    with pytest.raises(ValueError):
        m.agents_needed(100, 1800, 180, 0.8, 20, shrinkage=1.0)
    with pytest.raises(ValueError):
        m.agents_needed(100, 1800, 180, 0.8, 20, max_occupancy=0)
    with pytest.raises(ValueError):
        m.agents_needed(-1, 1800, 180, 0.8, 20)


# --- handle time, queue figures, transfers ----------------------------------------------------


def _queue_day() -> pd.DataFrame:
    return m.frame(
        [
            _call(id="1", wait_seconds=10),  # 150 s handle, answered in SL
            _call(id="2", wait_seconds=20, transfers=1),  # in SL (<= 20 s), transferred
            _call(id="3", wait_seconds=30),  # answered late
            _call(id="4", wait_seconds=3, abandoned=True),  # short abandon: left out
            _call(id="5", wait_seconds=40, abandoned=True),  # real abandon
            # handled, but no end time: out of AHT, a data problem
            _call(id="6", wait_seconds=0, ended_at=None, talk_seconds=999),
            # outbound: dialing counts in AHT; not a queue contact
            _call(
                id="7",
                direction="outbound",
                wait_seconds=0,
                dial_seconds=15,
                talk_seconds=200,
                hold_seconds=0,
                acw_seconds=10,
            ),
            # an email is not in the queue figures
            _call(id="8", channel="email", wait_seconds=5000),
        ]
    )


def test_aht_excludes_missing_end_times_and_adds_dialing_for_outbound() -> None:
    df = _queue_day()
    # handled with an end: 1, 2, 3, 8 at 150 s each; 7 at 15 + 200 + 10 = 225 s.
    assert m.aht(df) == pytest.approx((150 * 4 + 225) / 5)
    assert m.data_problems(df) == 1


def test_service_level_asa_abandonment_with_short_abandons() -> None:
    df = _queue_day()
    # inbound calls offered: 1, 2, 3, 5, 6 (4 is a short abandon, 7 outbound, 8 email)
    # answered within 20 s: 1, 2, 6 -> 3 / 5
    assert m.service_level(df) == pytest.approx(3 / 5)
    assert m.service_level(df, threshold_s=10) == pytest.approx(2 / 5)
    assert m.abandonment_rate(df) == pytest.approx(1 / 5)
    # counting every abandon: 6 offered, 2 abandoned
    assert m.abandonment_rate(df, short_abandon_s=0) == pytest.approx(2 / 6)
    assert m.service_level(df, short_abandon_s=0) == pytest.approx(3 / 6)
    # ASA over answered inbound calls 1, 2, 3, 6: (10 + 20 + 30 + 0) / 4
    assert m.asa(df) == pytest.approx(15.0)


def test_transfer_rate() -> None:
    # handled: 1, 2, 3, 6, 7, 8 -> one transferred
    assert m.transfer_rate(_queue_day()) == pytest.approx(1 / 6)


def test_occupancy_from_logged_in_time() -> None:
    df = m.frame(
        [
            _call(id="1", agent_id="a1"),
            _call(id="2", agent_id="a1"),
            _call(id="3", agent_id="a2", talk_seconds=550, hold_seconds=0, acw_seconds=50),
        ]
    )
    assert m.occupancy(df, {"a1": 600}) == pytest.approx(300 / 600)
    assert m.occupancy(df, {"a1": 600, "a2": 1200}) == pytest.approx(900 / 1800)
    assert m.occupancy(df, {"a3": 0}) is None
    by_agent = m.summary(df, by="agent", logged_in_seconds={"a1": 600, "a2": 1200})
    assert by_agent.set_index("agent")["occupancy"].to_dict() == {"a1": 0.5, "a2": 0.5}
    by_queue = m.summary(df, by="queue", logged_in_seconds={"a1": 600})
    assert by_queue["occupancy"].tolist() == [None]  # not meaningful per queue
    by_team = m.summary(df, by="team", logged_in_seconds={"a1": 600, "a2": 1200})
    assert by_team["occupancy"].tolist() == [pytest.approx(0.5)]


# --- FCR ------------------------------------------------------------------------------------


def _fcr_frame() -> pd.DataFrame:
    day = timedelta(days=1)
    return m.frame(
        [
            # c1 calls again about the bill exactly 7 days later: inside the window.
            _call(id="c1a", customer_id="c1", offered_at=T0, resolved=True),
            _call(id="c1b", customer_id="c1", offered_at=T0 + 7 * day),
            # c2 calls again one minute after the window closes: the first call counts.
            _call(id="c2a", customer_id="c2", offered_at=T0),
            _call(id="c2b", customer_id="c2", offered_at=T0 + 7 * day + timedelta(minutes=1)),
            # an abandoned attempt is not a repeat contact
            _call(id="c2x", customer_id="c2", offered_at=T0 + day, abandoned=True),
            # c3: another reason is not a repeat
            _call(id="c3a", customer_id="c3", offered_at=T0),
            _call(id="c3b", customer_id="c3", offered_at=T0 + 2 * day, reason_code="fault"),
            # c4: a repeat the next day; the repeat itself is still in its window
            _call(id="c4a", customer_id="c4", offered_at=T0 + 17 * day),
            _call(id="c4b", customer_id="c4", offered_at=T0 + 18 * day),
            # the latest contact (sets as_of = Jan 20 10:00): its window is not over
            _call(id="c9", customer_id="c9", offered_at=T0 + 19 * day),
            # no customer / no reason: not judged
            _call(id="n1", customer_id=None, offered_at=T0),
            _call(id="n2", customer_id="c5", reason_code="", offered_at=T0),
        ]
    )


def test_fcr_repeat_contacts_across_the_window_boundary() -> None:
    df = _fcr_frame()
    # as_of Jan 20 10:00: decided (window over): c1a (repeat), c1b, c2a, c2b, c3a, c3b -> 6
    # resolved first time: c1b, c2a, c2b, c3a, c3b -> 5. c4a already has its repeat but
    # its window is not over: undecided like c4b and c9 (judging repeats early would count
    # a recent range's failures before its successes).
    assert m.fcr(df) == pytest.approx(5 / 6)
    # once every window is over, c4b and c9 count as resolved too
    assert m.fcr(df, as_of=T0 + timedelta(days=40)) == pytest.approx(7 / 9)


def test_fcr_window_is_configurable() -> None:
    df = _fcr_frame()
    # 1-day window, as_of Jan 20 10:00: c1a and c1b both resolved now; c4a has a repeat;
    # c4b's window ends exactly at as_of (decided, resolved); c9 undecided. -> 7 / 8
    assert m.fcr(df, window=timedelta(days=1)) == pytest.approx(7 / 8)
    with pytest.raises(ValueError):
        m.fcr(df, window=timedelta(days=-1))


def test_fcr_in_a_range_sees_repeats_after_the_range_end() -> None:
    df = _fcr_frame()
    # Range = Jan 1 only: c1a (repeat Jan 8 is outside the range but in the frame),
    # c2a, c3a are judged; c1a is not an FCR.
    out = m.summary(df, start=T0.replace(hour=0), end=T0.replace(hour=0) + timedelta(days=1))
    assert out["fcr"].tolist() == [pytest.approx(2 / 3)]


def test_fcr_without_any_judged_contact_is_none() -> None:
    assert m.fcr(m.frame([_call(customer_id=None)])) is None
    assert m.fcr(m.frame([])) is None


# --- surveys, offers, collections ---------------------------------------------------------------


def test_csat_nps_conversion_and_collections() -> None:
    rows = [
        _call(id="1", csat=5, nps=10, offers_shown=3, offers_accepted=1),
        _call(id="2", csat=4, nps=10, offers_shown=1, promises_kept=2, collected_cents=5000),
        _call(id="3", csat=3, nps=7, promises_broken=1, collected_cents=1234),
        _call(id="4", csat=1, nps=3),
        _call(id="5"),  # no survey
    ]
    df = m.frame(rows)
    assert m.csat(df) == pytest.approx(2 / 4)
    assert m.nps(df) == pytest.approx(100 * (2 - 1) / 4)
    assert m.conversion(df) == pytest.approx(1 / 4)
    assert m.promises_kept_rate(df) == pytest.approx(2 / 3)
    assert m.collected_cents(df) == 6234
    nobody = m.frame([_call(id="x")])
    assert m.csat(nobody) is None
    assert m.nps(nobody) is None
    assert m.conversion(nobody) is None
    assert m.promises_kept_rate(nobody) is None
    assert m.collected_cents(nobody) == 0


def test_nps_is_promoters_minus_detractors() -> None:
    df = m.frame([_call(id=str(i), nps=v) for i, v in enumerate([10, 9, 8, 6, 0])])
    assert m.nps(df) == 0.0


# --- summary and bad input -------------------------------------------------------------------


@pytest.mark.parametrize("by", [None, *m.GROUPINGS, ["agent", "day"]])
def test_empty_frame_gives_no_nan(by: Any) -> None:
    out = m.summary(m.frame([]), by=by)
    assert_no_nan(out)
    assert list(out.columns)[-len(m.SUMMARY_COLUMNS) :] == m.SUMMARY_COLUMNS
    if by is None:
        assert len(out) == 1
        row = out.iloc[0]
        assert row["contacts"] == 0 and row["data_problems"] == 0
        assert row["aht_s"] is None and row["fcr"] is None and row["nps"] is None
    else:
        assert len(out) == 0
    for fn in (m.aht, m.fcr, m.service_level, m.asa, m.abandonment_rate, m.transfer_rate):
        assert fn(m.frame([])) is None


def test_range_with_no_interactions_and_empty_range() -> None:
    df = _queue_day()
    later = datetime(2030, 1, 1)
    out = m.summary(df, by="day", start=later, end=later + timedelta(days=3))
    assert_no_nan(out)
    assert out["day"].tolist() == [pd.Timestamp(later + timedelta(days=i)) for i in range(3)]
    assert out["contacts"].tolist() == [0, 0, 0]
    assert out["aht_s"].tolist() == [None, None, None]
    empty = m.summary(df, by="agent", start=T0, end=T0)
    assert len(empty) == 0
    total = m.summary(df, start=T0, end=T0)
    assert total["contacts"].tolist() == [0]
    assert_no_nan(total)
    with pytest.raises(ValueError):
        m.summary(df, start=later, end=T0)


def test_very_long_range_by_day() -> None:
    df = _queue_day()
    start = datetime(2020, 1, 1)
    end = datetime(2030, 1, 1)
    out = m.summary(df, by="day", start=start, end=end)
    assert len(out) == (end - start).days
    assert out["contacts"].sum() == len(df)
    assert_no_nan(out)


def test_empty_groups_are_listed_with_none_and_zero() -> None:
    df = _queue_day()
    out = m.summary(df, by="agent", groups=["a1", "a9"]).set_index("agent")
    assert_no_nan(out.reset_index())
    assert out.loc["a9", "contacts"] == 0
    assert out.loc["a9", "service_level"] is None
    assert out.loc["a9", "data_problems"] == 0
    assert out.loc["a1", "contacts"] == len(df)


def test_summary_by_each_grouping_matches_the_single_figures() -> None:
    rows = [
        _call(id="1", agent_id="a1", team="red", queue="billing", reason_code="bill"),
        _call(id="2", agent_id="a2", team="blue", queue="sales", reason_code="order",
              offered_at=T0 + timedelta(hours=3), transfers=2),
        _call(id="3", agent_id=None, queue="sales", abandoned=True, wait_seconds=60,
              offered_at=T0 + timedelta(days=1)),
        _call(id="4", agent_id="a1", team="red", ended_at=None),
    ]  # fmt: skip
    df = m.frame(rows)
    whole = m.summary(df).iloc[0]
    assert whole["contacts"] == 4
    assert whole["aht_s"] == pytest.approx(150.0)
    assert whole["data_problems"] == 1
    assert whole["abandonment_rate"] == pytest.approx(1 / 4)
    by_queue = m.summary(df, by="queue").set_index("queue")
    assert by_queue.loc["sales", "abandonment_rate"] == pytest.approx(1 / 2)
    assert by_queue.loc["billing", "abandonment_rate"] == 0.0
    assert by_queue.loc["sales", "transfer_rate"] == 1.0
    by_agent = m.summary(df, by="agent").set_index("agent")
    assert by_agent.loc["", "contacts"] == 1  # the abandoned call reached no agent
    assert by_agent.loc["", "aht_s"] is None
    assert by_agent.loc["a1", "data_problems"] == 1
    by_hour = m.summary(df, by="hour_of_day")
    assert by_hour["hour_of_day"].tolist() == [10, 13]
    by_day = m.summary(df, by="day")
    assert by_day["contacts"].tolist() == [3, 1]
    two = m.summary(df, by=["team", "reason"])
    assert two["contacts"].sum() == 4
    for out in (by_queue.reset_index(), by_agent.reset_index(), by_hour, by_day, two):
        assert_no_nan(out)
    with pytest.raises(ValueError):
        m.summary(df, by="planet")


def test_missing_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        m.aht(pd.DataFrame({"talk_seconds": [1]}))


def test_frame_has_the_documented_columns_and_dtypes() -> None:
    df = m.frame([_call(csat=None)])
    assert list(df.columns) == list(m.COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == m.COLUMNS
    assert m.frame([]).dtypes.astype(str).to_dict() == m.COLUMNS


def test_every_figure_has_a_definition() -> None:
    for name in m.SUMMARY_COLUMNS:
        if name in ("contacts", "handled"):
            continue
        d = m.DEFINITIONS[name]
        assert d.name and d.formula and d.words
