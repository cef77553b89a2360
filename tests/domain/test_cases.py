"""The case rules: life cycle, SLA clock in business hours, routing."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_desktop.domain.cases import (
    ALLOWED,
    BusinessCalendar,
    SlaState,
    Status,
    add_business_seconds,
    business_seconds,
    can_take,
    check_transition,
    due_at,
    paused_after,
    route,
    sla,
)
from agent_desktop.domain.errors import UserFacingError

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
NY = BusinessCalendar(holidays=frozenset({date(2026, 11, 26)}))  # Thanksgiving


# --- life cycle ---------------------------------------------------------------------------

_EXPECTED = {
    ("new", "open"), ("new", "pending_customer"), ("new", "pending_internal"),
    ("new", "resolved"),
    ("open", "pending_customer"), ("open", "pending_internal"), ("open", "resolved"),
    ("pending_customer", "open"), ("pending_customer", "pending_internal"),
    ("pending_customer", "resolved"),
    ("pending_internal", "open"), ("pending_internal", "pending_customer"),
    ("pending_internal", "resolved"),
    ("resolved", "closed"), ("resolved", "open"), ("closed", "open"),
}


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(
    [s.value for s in Status], [s.value for s in Status])))
def test_every_transition_is_allowed_or_refused_as_the_table_says(frm: str, to: str) -> None:
    resolved = NOW - timedelta(days=1)
    if (frm, to) in _EXPECTED:
        assert check_transition(frm, to, resolved_at=resolved, now=NOW) == Status(to)
    else:
        with pytest.raises(UserFacingError):
            check_transition(frm, to, resolved_at=resolved, now=NOW)


def test_the_table_is_exactly_the_documented_one() -> None:
    assert {(a.value, b.value) for a, targets in ALLOWED.items() for b in targets} == _EXPECTED


def test_refusals_say_why_in_words() -> None:
    with pytest.raises(UserFacingError, match=r"A new case cannot become closed\."):
        check_transition("new", "closed", resolved_at=None, now=NOW)
    with pytest.raises(UserFacingError, match="already open"):
        check_transition("open", "open", resolved_at=None, now=NOW)
    with pytest.raises(UserFacingError, match="merged into another"):
        check_transition("open", "resolved", resolved_at=None, now=NOW, merged=True)
    with pytest.raises(UserFacingError, match="not a case status"):
        check_transition("open", "lost", resolved_at=None, now=NOW)


def test_reopening_only_within_the_window() -> None:
    assert check_transition("closed", "open", resolved_at=NOW - timedelta(days=13),
                            now=NOW) == Status.OPEN
    with pytest.raises(UserFacingError, match="more than 14 days ago"):
        check_transition("closed", "open", resolved_at=NOW - timedelta(days=15), now=NOW)
    assert check_transition("resolved", "open", resolved_at=NOW - timedelta(days=20),
                            now=NOW, reopen_window=timedelta(days=30)) == Status.OPEN


# --- business hours ----------------------------------------------------------------------

def _ny(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    from zoneinfo import ZoneInfo
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo("America/New_York"))


def test_business_seconds_count_only_open_hours() -> None:
    assert business_seconds(_ny(18, 10), _ny(18, 12), NY) == 2 * 3600
    # Wednesday 19:00 -> Thursday 9:00: one hour Wednesday, one Thursday.
    assert business_seconds(_ny(18, 19), _ny(19, 9), NY) == 2 * 3600
    # Friday 19:00 -> Monday 9:00: Friday 1 h, Saturday 9-17 = 8 h, Sunday closed, 1 h.
    assert business_seconds(_ny(20, 19), _ny(23, 9), NY) == 10 * 3600
    # Thanksgiving is closed: Wednesday 19:00 -> Friday 9:00 is 2 h.
    assert business_seconds(_ny(25, 19), _ny(27, 9), NY) == 2 * 3600
    assert business_seconds(_ny(18, 12), _ny(18, 10), NY) == 0


def test_adding_business_time_skips_nights_weekends_and_holidays() -> None:
    assert add_business_seconds(_ny(18, 19), 2 * 3600, NY) == _ny(19, 9)
    assert add_business_seconds(_ny(25, 19, 30), 3600, NY) == _ny(27, 8, 30)
    assert add_business_seconds(_ny(22, 3), 60, NY) == _ny(23, 8, 1)  # Sunday night


def test_daylight_saving_days_are_laid_out_in_local_time() -> None:
    # 2026-11-01: clocks go back at 2:00; Sunday is closed, Monday opens at 8:00 EST.
    assert add_business_seconds(_ny(31, 16, month=10), 2 * 3600, NY) == _ny(2, 9)
    assert _ny(2, 9).utcoffset() == timedelta(hours=-5)


def test_a_case_opened_from_another_time_zone_uses_the_centers_hours() -> None:
    from zoneinfo import ZoneInfo
    la_evening = datetime(2026, 11, 18, 16, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    # 19:30 in New York: half an hour left today.
    assert add_business_seconds(la_evening, 3600, NY) == _ny(19, 8, 30)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 1),
                    timezones=st.just(UTC)),
       st.integers(min_value=0, max_value=200 * 3600))
def test_adding_then_counting_gives_back_the_same_business_time(
        start: datetime, seconds: int) -> None:
    end = add_business_seconds(start, seconds, NY)
    assert end >= start
    assert abs(business_seconds(start, end, NY) - seconds) <= 1


# --- SLA ---------------------------------------------------------------------------------

def test_due_time_comes_from_type_and_priority() -> None:
    opened = _ny(18, 10)
    assert due_at(opened, "approval_request", "normal", 0, NY) == _ny(18, 18)
    assert due_at(opened, "trouble_ticket", "normal", 0, NY) == _ny(19, 14)
    with pytest.raises(UserFacingError):
        due_at(opened, "inquiry", "whenever", 0, NY)


def test_sla_goes_amber_then_red_and_pauses_while_waiting_on_the_customer() -> None:
    opened = _ny(18, 10)  # approval request, normal: due 18:00 the same day
    at = lambda h, m=0: _ny(18, h, m).astimezone(UTC)  # noqa: E731
    assert sla("open", opened, "approval_request", "normal", 0, at(12), NY).state \
        is SlaState.ON_TRACK
    amber = sla("open", opened, "approval_request", "normal", 0, at(16, 30), NY)
    assert amber.state is SlaState.AMBER and amber.words() == "2 h left"
    red = sla("open", opened, "approval_request", "normal", 0, at(19), NY)
    assert red.state is SlaState.RED and red.words() == "Overdue by 1 h"
    paused = sla("pending_customer", opened, "approval_request", "normal", 0, at(19), NY)
    assert paused.state is SlaState.PAUSED and paused.due_at is None
    assert sla("resolved", opened, "approval_request", "normal", 0, at(19), NY).state \
        is SlaState.DONE


def test_time_pending_the_customer_moves_the_due_time() -> None:
    opened = _ny(18, 10)
    paused = paused_after("pending_customer", "open", 0, _ny(18, 11), _ny(18, 14), NY)
    assert paused == 3 * 3600
    assert due_at(opened, "approval_request", "normal", paused, NY) == _ny(19, 9)
    assert paused_after("open", "resolved", 600, None, _ny(18, 14), NY) == 600


# --- routing -----------------------------------------------------------------------------

@pytest.mark.parametrize(("case_type", "category", "family", "queue", "skill"), [
    ("trouble_ticket", "technical", "tv", "tech_support", "tech_tv"),
    ("trouble_ticket", "", "", "tech_support", "tech_internet"),
    ("inquiry", "technical", "mobile", "tech_support", "tech_mobile"),
    ("dispute", "billing", "", "billing", "billing"),
    ("dispute", "collections", "", "collections", "collections"),
    ("approval_request", "billing", "", "approvals", "approvals"),
    ("complaint", "general", "", "retention", "retention"),
    ("inquiry", "billing", "", "billing", "billing"),
    ("inquiry", "order", "", "sales", "sales"),
    ("inquiry", "account", "", "general", ""),
])
def test_routing_picks_queue_and_skill(case_type: str, category: str, family: str,
                                       queue: str, skill: str) -> None:
    r = route(case_type, category, family)
    assert (r.queue, r.skill) == (queue, skill)


def test_only_skilled_agents_take_a_case() -> None:
    assert can_take(["tech_tv", "spanish"], "tech_tv")
    assert not can_take(["billing"], "tech_tv")
    assert can_take([], "")


def test_calendar_with_no_open_hours_is_an_error_not_a_hang() -> None:
    closed = BusinessCalendar(hours={})
    with pytest.raises(ValueError, match="no open hours"):
        add_business_seconds(NOW, 60, closed)
    assert business_seconds(NOW, NOW + timedelta(days=3), closed) == 0

