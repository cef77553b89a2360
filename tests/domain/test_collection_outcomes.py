"""Recording a collections outcome: each outcome's fields checked with words naming the
field to fix; a callback only at a time the calling rules allow (else the first that
fits); what each outcome counts as; the call scripts with their disclosures in order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_desktop.domain.collections import (
    MINI_MIRANDA,
    SCRIPTS,
    CallAttempt,
    CallFacts,
    DialMode,
    Frequency,
    LineType,
    Outcome,
    OutcomeError,
    OutcomeInput,
    Promise,
    PromiseStatus,
    ScriptKind,
    fill_script,
    plan_outcome,
    promise_status,
    reminder_for,
    script_kind,
)

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 4, 15, 14, 0, tzinfo=NY)  # a Wednesday, 2 PM in New York
TODAY = NOW.date()


def facts(**change: object) -> CallFacts:
    base: dict[str, object] = {
        "debt_id": "debt-1", "time_zones": ("America/New_York", "America/Los_Angeles"),
        "number": "+12125550100", "line_type": LineType.MOBILE,
        "dial_mode": DialMode.MANUAL}
    base.update(change)
    return CallFacts(**base)  # type: ignore[arg-type]


def plan(entry: OutcomeInput, balance: int = 50_000, **more: object) -> object:
    return plan_outcome(entry, today=TODAY, now=NOW.astimezone(UTC), balance_cents=balance,
                        facts=more.get("facts", facts()))  # type: ignore[arg-type]


def test_a_promise_within_the_balance_and_horizon_is_planned() -> None:
    done = plan_outcome(OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=12_500,
                                     promised_on=TODAY + timedelta(days=10)),
                        today=TODAY, now=NOW, balance_cents=50_000)
    assert done.promise == Promise(12_500, date(2026, 4, 25))
    assert done.connected and done.conversation
    assert done.summary == "Promise to pay $125.00 by Apr 25, 2026."


@pytest.mark.parametrize(("entry", "field", "words"), [
    (OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=0, promised_on=TODAY), "amount",
     "more than \\$0.00"),
    (OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=60_000, promised_on=TODAY),
     "amount", "more than the balance of \\$500.00"),
    (OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=100, promised_on=TODAY
                  - timedelta(days=1)), "promised_on", "past"),
    (OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=100, promised_on=TODAY
                  + timedelta(days=31)), "promised_on", "arrangement instead"),
    (OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=100), "promised_on", "date"),
    (OutcomeInput(Outcome.ARRANGEMENT, total_cents=60_000, installments=3,
                  first_due=TODAY, frequency=Frequency.MONTHLY), "total",
     "more than the balance"),
    (OutcomeInput(Outcome.ARRANGEMENT, total_cents=50_000, installments=1,
                  first_due=TODAY, frequency=Frequency.MONTHLY), "installments", "2 to 24"),
    (OutcomeInput(Outcome.ARRANGEMENT, total_cents=50_000, installments=3,
                  first_due=TODAY + timedelta(days=45), frequency=Frequency.WEEKLY),
     "first_due", "within 30 days"),
    (OutcomeInput(Outcome.ARRANGEMENT, total_cents=50_000, installments=3,
                  first_due=TODAY), "frequency", "how often"),
    (OutcomeInput(Outcome.CALLBACK_REQUESTED), "callback_at", "time"),
])
def test_an_outcome_that_does_not_fit_names_the_field(
        entry: OutcomeInput, field: str, words: str) -> None:
    with pytest.raises(OutcomeError, match=words) as refused:
        plan(entry)
    assert refused.value.field == field


def test_a_horizon_can_be_configured() -> None:
    entry = OutcomeInput(Outcome.PROMISE_TO_PAY, amount_cents=100,
                         promised_on=TODAY + timedelta(days=10))
    with pytest.raises(OutcomeError, match="at most 7 days"):
        plan_outcome(entry, today=TODAY, now=NOW, balance_cents=500, promise_horizon_days=7)


@pytest.mark.parametrize("frequency", list(Frequency))
def test_an_arrangement_adds_up_exactly_at_every_frequency(frequency: Frequency) -> None:
    done = plan_outcome(OutcomeInput(Outcome.ARRANGEMENT, total_cents=100_001,
                                     installments=7, first_due=TODAY + timedelta(days=3),
                                     frequency=frequency),
                        today=TODAY, now=NOW, balance_cents=100_001)
    assert sum(c for _, c in done.installments) == 100_001
    assert len(done.installments) == 7
    gaps = {(b[0] - a[0]).days for a, b in zip(done.installments, done.installments[1:],
                                              strict=False)}
    assert gaps <= {7} if frequency is Frequency.WEEKLY else (
        gaps <= {14} if frequency is Frequency.BIWEEKLY else gaps <= {28, 29, 30, 31})


def test_a_callback_at_a_time_the_rules_allow_is_planned_despite_the_quiet_period() -> None:
    # The customer asks for tomorrow 10 AM; we spoke today (the 7-day quiet period) and
    # called seven times this week: the customer's request is their consent.
    busy = facts(attempts=tuple(CallAttempt(NOW - timedelta(hours=h), True)
                                for h in range(1, 8)),
                 last_conversation_at=NOW - timedelta(minutes=5))
    at = datetime(2026, 4, 16, 13, 0, tzinfo=NY)  # 10 AM in Los Angeles
    done = plan(OutcomeInput(Outcome.CALLBACK_REQUESTED, callback_at=at), facts=busy)
    assert done.callback_at == at  # type: ignore[attr-defined]
    assert done.conversation  # type: ignore[attr-defined]


def test_a_callback_outside_calling_hours_says_when_it_could_be() -> None:
    at = datetime(2026, 4, 16, 9, 0, tzinfo=NY)  # 6 AM in Los Angeles
    with pytest.raises(OutcomeError, match="Outside calling hours") as refused:
        plan(OutcomeInput(Outcome.CALLBACK_REQUESTED, callback_at=at))
    assert refused.value.field == "callback_at"
    assert refused.value.suggestion == datetime(2026, 4, 16, 11, 0, tzinfo=NY)
    assert "The first time that fits is Thu Apr 16, 11:00 AM EDT" in refused.value.message


@pytest.mark.parametrize(("change", "words"), [
    ({"cease_communication": True}, "stop communicating"),
    ({"dispute_open": True}, "disputes this debt"),
])
def test_a_callback_on_a_debt_that_may_not_be_called_is_refused(
        change: dict[str, object], words: str) -> None:
    with pytest.raises(OutcomeError, match=words) as refused:
        plan(OutcomeInput(Outcome.CALLBACK_REQUESTED,
                          callback_at=NOW + timedelta(days=1)), facts=facts(**change))
    assert refused.value.suggestion is None


def test_a_callback_in_the_past_or_too_far_out_is_refused() -> None:
    for at, words in ((NOW - timedelta(minutes=1), "passed"),
                      (NOW + timedelta(days=15), "within 14 days")):
        with pytest.raises(OutcomeError, match=words):
            plan(OutcomeInput(Outcome.CALLBACK_REQUESTED, callback_at=at))


def test_what_each_outcome_brings() -> None:
    dispute = plan(OutcomeInput(Outcome.DISPUTE_RAISED))
    assert dispute.stops_collection and dispute.conversation  # type: ignore[attr-defined]
    wrong = plan(OutcomeInput(Outcome.WRONG_NUMBER))
    assert wrong.marks_wrong_number and not wrong.conversation  # type: ignore[attr-defined]
    busy = plan(OutcomeInput(Outcome.BUSY))
    assert not busy.connected  # type: ignore[attr-defined]
    voicemail = plan(OutcomeInput(Outcome.VOICEMAIL))
    assert voicemail.connected and not voicemail.conversation  # type: ignore[attr-defined]
    with pytest.raises(OutcomeError, match="at most 2000"):
        plan(OutcomeInput(Outcome.NO_ANSWER, note="x" * 2001))


def test_a_wrong_number_is_never_dialed_again() -> None:
    from agent_desktop.domain.collections import check_call

    decision = check_call(facts(wrong_number=True), NOW)
    assert not decision.allowed and decision.next_allowed_at is None
    assert "wrong number" in decision.reasons[0]


def test_a_payment_the_day_after_the_date_keeps_the_promise_with_grace() -> None:
    promise = Promise(5000, date(2026, 4, 20))
    late = [(date(2026, 4, 21), 5000)]
    assert promise_status(promise, late, date(2026, 4, 25)) is PromiseStatus.BROKEN
    assert promise_status(promise, late, date(2026, 4, 25), 1) is PromiseStatus.KEPT
    assert promise_status(promise, [], date(2026, 4, 21), 1) is PromiseStatus.OPEN
    assert promise_status(promise, [], date(2026, 4, 22), 1) is PromiseStatus.BROKEN


# --- scripts ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(ScriptKind))
def test_every_script_verifies_the_right_party_before_the_debt_and_discloses(
        kind: ScriptKind) -> None:
    disclosures = [step.disclosure for step in SCRIPTS[kind] if step.disclosure]
    assert disclosures == ["right_party", "mini_miranda", "validation_notice"]
    steps = fill_script(kind, customer_name="Ana Ruiz", agent_name="Dana",
                        business_name="Northwind", balance_cents=12_345,
                        validation_notice_sent_on=date(2026, 4, 1), today=TODAY)
    words = [text for _, text in steps]
    assert "Ana Ruiz" in words[0] and "Dana" in words[0] and "Northwind" in words[0]
    assert "debt" in words[0] and "$" not in words[0]  # nothing about it to a third party
    assert words[1] == MINI_MIRANDA
    assert "This is an attempt to collect a debt" in words[1]
    assert "any information obtained will be used for that purpose" in words[1]
    assert "validation notice on April 1, 2026" in words[2]
    assert "May 1, 2026" in words[2] and "dispute" in words[2]
    assert any("$123.45" in w for w in words[3:])


def test_scripts_follow_the_treatment_and_say_when_the_notice_is_still_to_come() -> None:
    assert script_kind("reminder_first") is ScriptKind.REMINDER
    assert script_kind("gentle") is ScriptKind.REMINDER
    assert script_kind("repeat_late") is ScriptKind.REPEAT_LATE
    assert script_kind("hardship") is ScriptKind.HARDSHIP
    assert script_kind("something new") is ScriptKind.STANDARD
    steps = fill_script(ScriptKind.STANDARD, customer_name="Ana", agent_name="Dana",
                        business_name="Northwind", balance_cents=100,
                        validation_notice_sent_on=None, today=TODAY)
    assert "within 5 days" in steps[2][1]


def test_the_reminder_carries_the_link_and_an_opt_out() -> None:
    message = reminder_for("Ana", 12_345, "https://pay.example/p/abc")
    assert "$123.45" in message.email_body and "https://pay.example/p/abc" in message.email_body
    assert "UNSUBSCRIBE" in message.email_body
    assert "https://pay.example/p/abc" in message.text_body and "STOP" in message.text_body
