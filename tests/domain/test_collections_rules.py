from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_desktop.domain.collections import (
    AgingBucket,
    CallAttempt,
    CallFacts,
    DialMode,
    InconvenientTime,
    LineType,
    Outcome,
    Promise,
    PromiseStatus,
    Treatment,
    WorklistAccount,
    check_call,
    check_promise,
    is_connected,
    is_conversation_about_debt,
    plan_arrangement,
    prioritize,
    promise_status,
    voicemail_script,
)
from agent_desktop.domain.errors import UserFacingError

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


def ny(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=NY)


def facts(**changes: object) -> CallFacts:
    base = CallFacts(debt_id="debt-1", time_zones=("America/New_York",),
                     number="+1 212 555 0100", line_type=LineType.LANDLINE,
                     dial_mode=DialMode.MANUAL)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- calling hours ----------------------------------------------------------------------

def test_a_call_in_hours_with_nothing_against_it_is_allowed() -> None:
    now = ny(2026, 4, 15, 14)
    decision = check_call(facts(), now)
    assert decision.allowed and decision.reasons == () and decision.next_allowed_at == now


def test_before_eight_is_refused_until_eight_local() -> None:
    decision = check_call(facts(), ny(2026, 4, 15, 7, 10))
    assert not decision.allowed
    assert "Outside calling hours" in decision.reasons[0]
    assert decision.next_allowed_at == ny(2026, 4, 15, 8)


def test_at_nine_pm_it_waits_for_the_next_morning() -> None:
    assert check_call(facts(), ny(2026, 4, 15, 20, 59)).allowed
    decision = check_call(facts(), ny(2026, 4, 15, 21))
    assert not decision.allowed and decision.next_allowed_at == ny(2026, 4, 16, 8)


def test_eastern_and_pacific_leave_eleven_to_nine_eastern() -> None:
    both = facts(time_zones=("America/New_York", "America/Los_Angeles"))
    early = check_call(both, ny(2026, 4, 15, 10, 30))
    assert not early.allowed and early.next_allowed_at == ny(2026, 4, 15, 11)
    assert early.next_allowed_at.astimezone(LA).time() == time(8, 0)
    assert check_call(both, ny(2026, 4, 15, 11)).allowed
    assert check_call(both, ny(2026, 4, 15, 20, 45)).allowed
    late = check_call(both, ny(2026, 4, 15, 21))
    assert not late.allowed and late.next_allowed_at == ny(2026, 4, 16, 11)


@pytest.mark.parametrize(("now_utc", "expected_utc"), [
    # Spring forward (Sun 8 Mar 2026): 8:00 is already EDT, 12:00 UTC.
    (datetime(2026, 3, 8, 6, 0, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
    # The day before: 8:00 EST is 13:00 UTC.
    (datetime(2026, 3, 7, 6, 0, tzinfo=UTC), datetime(2026, 3, 7, 13, 0, tzinfo=UTC)),
    # Fall back (Sun 1 Nov 2026): 8:00 EST is 13:00 UTC.
    (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
])
def test_calling_hours_follow_daylight_saving_changes(
        now_utc: datetime, expected_utc: datetime) -> None:
    decision = check_call(facts(), now_utc)
    assert not decision.allowed and decision.next_allowed_at == expected_utc


def test_an_unknown_or_missing_zone_refuses_the_call_for_good() -> None:
    unknown = check_call(facts(time_zones=("America/New_York", "Mars/Olympus")),
                         ny(2026, 4, 15, 14))
    assert not unknown.allowed and unknown.next_allowed_at is None
    assert any("Unknown time zone Mars/Olympus" in r for r in unknown.reasons)
    missing = check_call(facts(time_zones=()), ny(2026, 4, 15, 14))
    assert not missing.allowed and missing.next_allowed_at is None
    assert any("time zone" in r for r in missing.reasons)


@pytest.mark.parametrize("change", [
    {"debt_id": ""}, {"number": ""}, {"line_type": None},
    {"attempts": (CallAttempt(datetime(2026, 4, 14, 10), True),)},
    {"last_conversation_at": datetime(2026, 4, 14, 10)},
    {"inconvenient": (InconvenientTime(),)},
])
def test_missing_facts_fail_closed(change: dict[str, object]) -> None:
    decision = check_call(facts(**change), ny(2026, 4, 15, 14))
    assert not decision.allowed and decision.reasons and decision.next_allowed_at is None


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        check_call(facts(), datetime(2026, 4, 15, 14))


# --- frequency --------------------------------------------------------------------------

def seven_days_of_calls(connected: bool = True) -> tuple[CallAttempt, ...]:
    return tuple(CallAttempt(ny(2026, 4, d, 10), connected) for d in range(1, 8))


def test_the_eighth_call_in_seven_days_waits_for_day_eight() -> None:
    decision = check_call(facts(attempts=seven_days_of_calls()), ny(2026, 4, 7, 15))
    assert not decision.allowed
    assert decision.reasons == ("7 calls already placed on this debt within 7 days.",)
    assert decision.next_allowed_at == ny(2026, 4, 8, 8)


def test_six_calls_leave_room_for_a_seventh() -> None:
    six = seven_days_of_calls()[:6]
    assert check_call(facts(attempts=six), ny(2026, 4, 7, 15)).allowed


def test_calls_that_did_not_connect_do_not_count() -> None:
    busy = seven_days_of_calls(connected=False)
    assert check_call(facts(attempts=busy), ny(2026, 4, 7, 15)).allowed


def test_seven_calls_on_one_day_block_the_six_days_after() -> None:
    burst = tuple(CallAttempt(ny(2026, 4, 1, 9 + i), True) for i in range(7))
    decision = check_call(facts(attempts=burst), ny(2026, 4, 3, 12))
    assert not decision.allowed and decision.next_allowed_at == ny(2026, 4, 8, 8)


def test_seven_days_after_a_conversation_the_day_of_it_being_day_one() -> None:
    talked = ny(2026, 4, 1, 19)
    decision = check_call(facts(last_conversation_at=talked), ny(2026, 4, 7, 12))
    assert not decision.allowed
    assert decision.reasons == ("We spoke with the customer about this debt in the last "
                                "7 days.",)
    assert decision.next_allowed_at == ny(2026, 4, 8, 8)
    assert check_call(facts(last_conversation_at=talked), ny(2026, 4, 8, 8)).allowed


def test_day_boundaries_are_counted_in_every_zone() -> None:
    # Talked 22:30 Pacific on Apr 1 = 01:30 Eastern on Apr 2: day 8 is Apr 9 in Eastern.
    talked = datetime(2026, 4, 1, 22, 30, tzinfo=LA)
    both = facts(time_zones=("America/New_York", "America/Los_Angeles"),
                 last_conversation_at=talked)
    decision = check_call(both, ny(2026, 4, 8, 12))
    assert not decision.allowed and decision.next_allowed_at == ny(2026, 4, 9, 11)


# --- flags ------------------------------------------------------------------------------

@pytest.mark.parametrize(("flag", "words"), [
    ({"cease_communication": True}, "stop communicating"),
    ({"stop_calling": True}, "stop calling"),
    ({"attorney_represented": True}, "represented by an attorney"),
    ({"dispute_open": True}, "disputes this debt"),
])
def test_each_flag_refuses_the_call_for_good(flag: dict[str, object], words: str) -> None:
    decision = check_call(facts(**flag), ny(2026, 4, 15, 14))
    assert not decision.allowed and decision.next_allowed_at is None
    assert any(words in r for r in decision.reasons)


def test_an_attorney_is_named_when_known() -> None:
    decision = check_call(facts(attorney_represented=True,
                                attorney_contact="J. Doe, 555-0199"), ny(2026, 4, 15, 14))
    assert decision.reasons == ("The customer is represented by an attorney; contact the "
                                "attorney instead: J. Doe, 555-0199.",)


def test_no_calls_at_work_blocks_the_work_number_only() -> None:
    work = facts(no_calls_at_work=True, work_numbers=("(212) 555-0100",))
    refused = check_call(work, ny(2026, 4, 15, 14))
    assert not refused.allowed and refused.next_allowed_at is None
    assert any("no calls at work" in r for r in refused.reasons)
    home = dataclasses.replace(work, number="212-555-0111")
    assert check_call(home, ny(2026, 4, 15, 14)).allowed
    by_type = dataclasses.replace(home, line_type=LineType.WORK)
    assert not check_call(by_type, ny(2026, 4, 15, 14)).allowed


def test_autodialing_a_mobile_needs_consent_manual_dialing_does_not() -> None:
    mobile = facts(line_type=LineType.MOBILE, dial_mode=DialMode.AUTODIALED)
    refused = check_call(mobile, ny(2026, 4, 15, 14))
    assert not refused.allowed and refused.next_allowed_at is None
    assert refused.reasons == ("No consent to autodial this mobile; dial it manually "
                               "instead.",)
    assert check_call(dataclasses.replace(mobile, dial_mode=DialMode.MANUAL),
                      ny(2026, 4, 15, 14)).allowed
    assert check_call(dataclasses.replace(mobile, autodial_consent=True),
                      ny(2026, 4, 15, 14)).allowed
    landline = dataclasses.replace(mobile, line_type=LineType.LANDLINE)
    assert check_call(landline, ny(2026, 4, 15, 14)).allowed


# --- inconvenient times -----------------------------------------------------------------

def test_an_inconvenient_weekday_window_waits_for_its_end() -> None:
    lunch = facts(inconvenient=(InconvenientTime(weekday=2, start=time(12), end=time(14)),))
    decision = check_call(lunch, ny(2026, 4, 15, 12, 30))  # a Wednesday
    assert not decision.allowed
    assert decision.reasons == ("The customer said Wednesday 12:00-14:00 is inconvenient.",)
    assert decision.next_allowed_at == ny(2026, 4, 15, 14)
    assert check_call(lunch, ny(2026, 4, 16, 12, 30)).allowed  # Thursday


def test_an_inconvenient_date_waits_for_the_next_morning() -> None:
    day = facts(inconvenient=(InconvenientTime(on=date(2026, 4, 15)),))
    decision = check_call(day, ny(2026, 4, 15, 10))
    assert not decision.allowed and decision.next_allowed_at == ny(2026, 4, 16, 8)


def test_rules_combine_to_the_first_moment_all_pass() -> None:
    combo = facts(attempts=seven_days_of_calls(),
                  inconvenient=(InconvenientTime(weekday=2, start=time(8), end=time(10)),))
    decision = check_call(combo, ny(2026, 4, 7, 15))
    assert decision.next_allowed_at == ny(2026, 4, 8, 10)  # Apr 8 2026 is a Wednesday


def test_nothing_within_fourteen_days_gives_no_time() -> None:
    every_day = tuple(InconvenientTime(weekday=d) for d in range(7))
    decision = check_call(facts(inconvenient=every_day), ny(2026, 4, 15, 14))
    assert not decision.allowed and decision.next_allowed_at is None


# --- arrangements and promises ----------------------------------------------------------

@given(total=st.integers(min_value=200, max_value=10**9),
       count=st.integers(min_value=2, max_value=24),
       monthly=st.booleans())
def test_installments_add_up_exactly(total: int, count: int, monthly: bool) -> None:
    if total < 100 * count:
        count = total // 100
    plan = plan_arrangement(total, count, date(2026, 1, 31), date(2026, 1, 20),
                            monthly=monthly, every_days=None if monthly else 14)
    assert sum(c for _, c in plan) == total
    assert len(plan) == count and all(c >= 100 for _, c in plan)
    assert max(c for _, c in plan) - min(c for _, c in plan) <= 1
    dates = [d for d, _ in plan]
    assert dates == sorted(dates) and len(set(dates)) == count


def test_monthly_installments_keep_the_day_or_the_month_end() -> None:
    plan = plan_arrangement(1000, 3, date(2026, 1, 31), date(2026, 1, 1), monthly=True)
    assert plan == [(date(2026, 1, 31), 334), (date(2026, 2, 28), 333),
                    (date(2026, 3, 31), 333)]


@pytest.mark.parametrize(("args", "kwargs", "words"), [
    ((1000, 1, date(2026, 2, 1)), {"monthly": True}, "2 to 24"),
    ((10000, 25, date(2026, 2, 1)), {"monthly": True}, "2 to 24"),
    ((1000, 2, date(2026, 1, 1)), {"monthly": True}, "past"),
    ((150, 2, date(2026, 2, 1)), {"monthly": True}, "at least \\$1.00"),
    ((0, 2, date(2026, 2, 1)), {"monthly": True}, "more than \\$0.00"),
    ((1000, 2, date(2026, 2, 1)), {}, "Choose either"),
    ((1000, 2, date(2026, 2, 1)), {"monthly": True, "every_days": 7}, "Choose either"),
    ((1000, 2, date(2026, 2, 1)), {"every_days": 0}, "1 to 92"),
])
def test_an_arrangement_that_does_not_fit_is_refused(
        args: tuple[int, int, date], kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(UserFacingError, match=words):
        plan_arrangement(*args, date(2026, 1, 15), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("amount", "on", "balance", "words"), [
    (0, date(2026, 4, 20), 5000, "more than \\$0.00"),
    (6000, date(2026, 4, 20), 5000, "more than the balance of \\$50.00"),
    (1000, date(2026, 4, 14), 5000, "past"),
    (1000, date(2026, 5, 30), 5000, "arrangement instead"),
    (1000, date(2026, 4, 20), 0, "Nothing is owed"),
])
def test_a_promise_that_cannot_be_kept_is_refused(
        amount: int, on: date, balance: int, words: str) -> None:
    with pytest.raises(UserFacingError, match=words):
        check_promise(amount, on, date(2026, 4, 15), balance)


def test_a_sound_promise_passes() -> None:
    check_promise(5000, date(2026, 4, 15), date(2026, 4, 15), 5000)


def test_promises_are_kept_broken_or_open() -> None:
    promise = Promise(5000, date(2026, 4, 20))
    paid = [(date(2026, 4, 18), 3000), (date(2026, 4, 20), 2000)]
    assert promise_status(promise, paid, date(2026, 4, 25)) is PromiseStatus.KEPT
    late = [(date(2026, 4, 18), 3000), (date(2026, 4, 21), 2000)]
    assert promise_status(promise, late, date(2026, 4, 25)) is PromiseStatus.BROKEN
    assert promise_status(promise, late[:1], date(2026, 4, 20)) is PromiseStatus.OPEN
    assert promise_status(promise, [], date(2026, 4, 21)) is PromiseStatus.BROKEN


# --- worklist ---------------------------------------------------------------------------

def test_prioritize_orders_by_bucket_then_score_and_picks_treatments() -> None:
    today = date(2026, 4, 15)

    def acct(i: str, days: int, balance: int, risk: int = 50, value: int = 0,
             late: int = 0) -> WorklistAccount:
        return WorklistAccount(i, balance, today - timedelta(days=days), risk, value, late)

    accounts = [
        acct("forgot", 10, 80_000, risk=10, value=900_000),
        acct("small-old", 95, 5_000),
        acct("big-new", 20, 300_000, late=3),
        acct("mid", 45, 50_000),
        acct("mid-risky", 45, 50_000, risk=90),
        acct("not-due", 0, 10_000),
        acct("paid", 70, 0),
    ]
    entries = prioritize(accounts, today)
    assert [e.account.account_id for e in entries] == [
        "small-old", "mid-risky", "mid", "big-new", "forgot"]
    assert [e.bucket for e in entries] == [
        AgingBucket.DAYS_90_PLUS, AgingBucket.DAYS_31_60, AgingBucket.DAYS_31_60,
        AgingBucket.DAYS_1_30, AgingBucket.DAYS_1_30]
    treatments = {e.account.account_id: e.treatment for e in entries}
    assert treatments["forgot"] is Treatment.REMINDER_FIRST
    assert treatments["big-new"] is Treatment.REPEAT_LATE
    assert treatments["mid"] is Treatment.STANDARD


# --- voicemail --------------------------------------------------------------------------

def test_the_voicemail_says_nothing_about_the_debt() -> None:
    script = voicemail_script("Dana", "+1 (800) 555-0142", "Northwind Services")
    assert script == ("Hello, this is Dana calling from Northwind Services. "
                      "Please call me back at 800-555-0142. Thank you.")
    for word in ("debt", "collect", "owe", "balance", "payment"):
        assert word not in script.lower()


@pytest.mark.parametrize(("name", "number", "business"), [
    ("", "8005550142", "Northwind"),
    ("Dana Smith", "8005550142", "Northwind"),
    ("Dana", "555-0142", "Northwind"),
    ("Dana", "8005550142", "Northwind Debt Recovery"),
])
def test_a_voicemail_that_could_say_too_much_is_refused(
        name: str, number: str, business: str) -> None:
    with pytest.raises(UserFacingError):
        voicemail_script(name, number, business)


def test_outcomes_say_whether_they_count_and_start_the_quiet_period() -> None:
    assert not is_connected(Outcome.BUSY)
    assert is_connected(Outcome.NO_ANSWER) and is_connected(Outcome.VOICEMAIL)
    assert is_conversation_about_debt(Outcome.PROMISE_TO_PAY)
    assert not is_conversation_about_debt(Outcome.WRONG_NUMBER)
    assert not is_conversation_about_debt(Outcome.VOICEMAIL)
