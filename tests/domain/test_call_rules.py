"""The call state machine and the after-call-work policy (domain/calls.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_desktop.domain.calls import (
    CallAction,
    CallState,
    WrapUp,
    WrapUpMode,
    WrapUpPolicy,
    acw_seconds_left,
    auto_wrap_due,
    caller_id_words,
    check_call_action,
    check_wrap_up,
    clock_words,
    dialable,
)
from agent_desktop.domain.errors import UserFacingError

CODES = frozenset({"INFO-PROVIDED", "PAYMENT-TAKEN"})
REASONS = frozenset({"BILL-QUESTION", "PAYMENT"})
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_a_call_goes_offered_talking_held_talking_wrap_up_done() -> None:
    state = CallState.OFFERED
    for action, expected in ((CallAction.ANSWER, CallState.TALKING),
                             (CallAction.HOLD, CallState.HELD),
                             (CallAction.RESUME, CallState.TALKING),
                             (CallAction.END, CallState.WRAP_UP),
                             (CallAction.WRAP, CallState.DONE)):
        state = check_call_action(state, action)
        assert state == expected


@pytest.mark.parametrize(("state", "action", "words"), [
    (CallState.TALKING, CallAction.ANSWER, "Cannot answer now: the call is in progress."),
    (CallState.ABANDONED, CallAction.ANSWER,
     "Cannot answer now: the caller hung up before it was answered."),
    (CallState.HELD, CallAction.END, None),
    (CallState.HELD, CallAction.HOLD, "Cannot hold now: the caller is on hold (resume first)."),
    (CallState.OFFERED, CallAction.TRANSFER,
     "Cannot transfer now: the call is still ringing (answer it first)."),
    (CallState.WRAP_UP, CallAction.END,
     "Cannot end now: the call has ended; finish the wrap-up."),
])
def test_what_cannot_be_done_is_refused_in_words(state: CallState, action: CallAction,
                                                 words: str | None) -> None:
    if words is None:
        assert check_call_action(state, action) == CallState.WRAP_UP
        return
    with pytest.raises(UserFacingError) as refused:
        check_call_action(state, action)
    assert refused.value.message == words


def test_required_wrap_up_names_what_is_missing() -> None:
    policy = WrapUpPolicy(WrapUpMode.REQUIRED)
    with pytest.raises(UserFacingError, match="Pick a wrap-up code and a contact reason"):
        check_wrap_up(policy, WrapUp("", ""), CODES, REASONS)
    with pytest.raises(UserFacingError, match=r"^Pick a contact reason to finish"):
        check_wrap_up(policy, WrapUp("INFO-PROVIDED", ""), CODES, REASONS)
    kept = check_wrap_up(policy, WrapUp(" INFO-PROVIDED ", "PAYMENT", True, "  paid "),
                         CODES, REASONS)
    assert kept == WrapUp("INFO-PROVIDED", "PAYMENT", True, "paid")


def test_optional_wrap_up_may_be_empty_but_never_unknown() -> None:
    policy = WrapUpPolicy(WrapUpMode.OPTIONAL)
    assert check_wrap_up(policy, WrapUp("", ""), CODES, REASONS) == WrapUp("", "")
    with pytest.raises(UserFacingError, match="Unknown wrap-up code 'NOPE'"):
        check_wrap_up(policy, WrapUp("NOPE", ""), CODES, REASONS)
    with pytest.raises(UserFacingError, match="Unknown contact reason 'NOPE'"):
        check_wrap_up(policy, WrapUp("", "NOPE"), CODES, REASONS)


def test_a_long_summary_is_refused() -> None:
    with pytest.raises(UserFacingError, match="2,001 characters; keep it to 2,000"):
        check_wrap_up(WrapUpPolicy(WrapUpMode.OPTIONAL), WrapUp("", "", False, "x" * 2001),
                      CODES, REASONS)


def test_time_boxed_wrap_up_closes_at_the_limit() -> None:
    policy = WrapUpPolicy(WrapUpMode.TIME_BOXED, acw_limit_seconds=60,
                          default_code="INFO-PROVIDED")
    assert not auto_wrap_due(policy, T0, T0 + timedelta(seconds=59))
    assert auto_wrap_due(policy, T0, T0 + timedelta(seconds=60))
    assert acw_seconds_left(policy, T0, T0 + timedelta(seconds=20.5)) == 40
    assert acw_seconds_left(policy, T0, T0 + timedelta(seconds=90)) == 0
    required = WrapUpPolicy(WrapUpMode.REQUIRED, acw_limit_seconds=60)
    assert not auto_wrap_due(required, T0, T0 + timedelta(hours=2))
    assert acw_seconds_left(required, T0, T0) is None
    with pytest.raises(ValueError, match="default wrap-up code"):
        WrapUpPolicy(WrapUpMode.TIME_BOXED, default_code="")


@pytest.mark.parametrize(("caller_id", "words", "can_dial"), [
    ("+15551234567", "+15551234567", True),
    ("withheld", "Number withheld", False),
    ("", "Number withheld", False),
    ("Anonymous", "Number withheld", False),
    ("12ab", "Unknown number", False),
])
def test_caller_id_words(caller_id: str, words: str, can_dial: bool) -> None:
    assert caller_id_words(caller_id) == words
    assert dialable(caller_id) is can_dial


def test_clock_words() -> None:
    assert clock_words(0) == "0:00"
    assert clock_words(42.9) == "0:42"
    assert clock_words(725) == "12:05"
    assert clock_words(3729) == "1:02:09"
    assert clock_words(-5) == "0:00"
