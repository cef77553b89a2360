"""Business time over long spans (a case overdue for months) is summed from a table of
the calendar's days; it must agree with walking the days one by one."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from agent_desktop.domain.cases import (
    DEFAULT_CALENDAR,
    BusinessCalendar,
    _walk_business_seconds,
    business_seconds,
)


def test_long_spans_agree_with_walking_every_day() -> None:
    rng = random.Random(7)
    start_of_range = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(2000):
        start = start_of_range + timedelta(seconds=rng.randrange(0, 700 * 86400))
        end = start + timedelta(seconds=rng.randrange(0, 500 * 86400))
        if n % 2:  # with microseconds the day walk sums floats and may lose a second
            start += timedelta(microseconds=rng.randrange(1, 10**6))
            end += timedelta(microseconds=rng.randrange(1, 10**6))
            assert abs(business_seconds(start, end)
                       - _walk_business_seconds(start, end, DEFAULT_CALENDAR)) <= 1
        else:
            assert business_seconds(start, end) == \
                _walk_business_seconds(start, end, DEFAULT_CALENDAR)


def test_a_year_of_a_weekday_calendar_with_holidays() -> None:
    calendar = BusinessCalendar(zone="UTC", hours={d: (time(9), time(17)) for d in range(5)},
                                holidays=frozenset({date(2025, 12, 25)}))
    start = datetime(2025, 1, 6, 9, tzinfo=UTC)  # a Monday
    end = datetime(2026, 1, 5, 9, tzinfo=UTC)  # 52 weeks later, a Monday
    assert business_seconds(start, end, calendar) == (52 * 5 - 1) * 8 * 3600
    # A second calendar object gets its own table.
    other = BusinessCalendar(zone="UTC", hours={d: (time(9), time(10)) for d in range(7)})
    assert business_seconds(start, end, other) == 364 * 3600
