"""Collections: may this debt be called now (and if not, when), the worklist order, and
the outcomes an agent records (promise to pay, payment arrangement, voicemail script).

Pure rules (no storage, no Qt, no I/O), after shared/DOMAIN.md (collections) and issue 7
section 3. The call check fails closed: a missing or unknown fact refuses the call with
words for the agent.

Rules checked before every call (12 CFR 1006 "Regulation F", FDCPA, TCPA):

- Frequency (1006.14(b)(2)): per debt, at most 7 placed calls within 7 consecutive days.
  A call counts when it connected to the dialed line (it rang, was answered or reached
  voicemail); a busy signal or network error does not (``CallAttempt.connected``).
  Days are calendar days at the customer's location, in every zone they may be in.
- After a conversation: no call within 7 days after a telephone conversation about the
  debt; the conversation day is day 1, so a conversation on Apr 1 allows a call Apr 8.
- Calling hours (1006.6(b)(1)): 8:00 to 21:00 local in every zone the customer may be in
  (a call must start at or after 8:00 and before 21:00 everywhere).
- Never (until the flag is lifted): cease communication, stop calling, represented by an
  attorney (call the attorney instead), an open dispute on this debt; a work number when
  the customer said no calls at work; autodialing a mobile without consent (TCPA).
- Inconvenient times the customer named: a weekday with an optional time of day, or a
  specific date, in the customer's local time (in every zone).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.money import Money

# --- the call check --------------------------------------------------------------------

MAX_CALLS_IN_WINDOW = 7
WINDOW_DAYS = 7
QUIET_DAYS_AFTER_CONVERSATION = 7
CALLING_STARTS = time(8, 0)
CALLING_ENDS = time(21, 0)
SEARCH_STEP = timedelta(minutes=15)
SEARCH_HORIZON = timedelta(days=14)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class LineType(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    WORK = "work"


class DialMode(StrEnum):
    MANUAL = "manual"
    AUTODIALED = "autodialed"
    """Predictive or otherwise automated dialing (TCPA: needs consent on a mobile)."""


@dataclass(frozen=True, slots=True)
class CallAttempt:
    """One call placed on the debt: when, and whether it connected to the dialed line."""

    at: datetime
    connected: bool


@dataclass(frozen=True, slots=True)
class InconvenientTime:
    """A time the customer said is inconvenient, in their local time.

    Either ``weekday`` (0 = Monday) or ``on`` (a date). Without ``start``/``end`` the
    whole day is inconvenient; with them, ``start <= t < end`` (a window past midnight,
    start later than end, wraps).
    """

    weekday: int | None = None
    on: date | None = None
    start: time | None = None
    end: time | None = None

    def describe(self) -> str:
        day = _WEEKDAYS[self.weekday] if self.weekday is not None else (
            self.on.isoformat() if self.on is not None else "some day")
        if self.start is None or self.end is None:
            return f"{day} (all day)"
        return f"{day} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class CallFacts:
    """Everything the rules need to decide whether a call on one debt may be placed."""

    debt_id: str
    time_zones: tuple[str, ...]
    """Every IANA zone the customer may be in (addresses, phone area codes)."""
    number: str
    line_type: LineType | None
    dial_mode: DialMode
    autodial_consent: bool = False
    attempts: tuple[CallAttempt, ...] = ()
    last_conversation_at: datetime | None = None
    cease_communication: bool = False
    stop_calling: bool = False
    attorney_represented: bool = False
    attorney_contact: str = ""
    dispute_open: bool = False
    no_calls_at_work: bool = False
    work_numbers: tuple[str, ...] = ()
    inconvenient: tuple[InconvenientTime, ...] = ()


@dataclass(frozen=True, slots=True)
class CallDecision:
    allowed: bool
    reasons: tuple[str, ...]
    """Why the call may not be placed now, in words for the agent (empty when allowed)."""
    next_allowed_at: datetime | None
    """When every rule passes (``now`` when allowed); None when never, or not in 14 days."""


def _digits(number: str) -> str:
    d = re.sub(r"\D", "", number)
    return d[-10:] if len(d) > 10 else d


def _zones(names: Sequence[str]) -> tuple[list[ZoneInfo], list[str]]:
    zones: list[ZoneInfo] = []
    bad: list[str] = []
    for name in names:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            bad.append(str(name))
    return zones, bad


def _permanent_reasons(facts: CallFacts) -> list[str]:
    """Reasons that do not pass with time: missing facts, flags, consent."""
    out: list[str] = []
    if not facts.debt_id.strip():
        out.append("The call is not tied to a debt; open the account first.")
    if not facts.time_zones:
        out.append("We do not know the customer's time zone; add an address or phone "
                   "number first.")
    else:
        _, bad = _zones(facts.time_zones)
        if bad:
            out.append(f"Unknown time zone {', '.join(bad)}; fix the customer's location "
                       "before calling.")
    if not _digits(facts.number):
        out.append("There is no number to dial.")
    if facts.line_type is None:
        out.append("We do not know whether this number is a mobile, landline or work "
                   "phone; confirm it before calling.")
    if facts.cease_communication:
        out.append("The customer asked in writing that we stop communicating; do not call.")
    if facts.stop_calling:
        out.append("The customer asked us to stop calling; do not call.")
    if facts.attorney_represented:
        who = facts.attorney_contact.strip()
        out.append("The customer is represented by an attorney; contact the attorney "
                   + (f"instead: {who}." if who else "instead (no attorney contact on file)."))
    if facts.dispute_open:
        out.append("The customer disputes this debt; collection stops until it is verified.")
    if facts.no_calls_at_work:
        work = {_digits(n) for n in facts.work_numbers}
        if facts.line_type is LineType.WORK or _digits(facts.number) in work:
            out.append("The customer asked for no calls at work; call another number.")
    if (facts.dial_mode is DialMode.AUTODIALED and facts.line_type is LineType.MOBILE
            and not facts.autodial_consent):
        out.append("No consent to autodial this mobile; dial it manually instead.")
    for a in facts.attempts:
        if a.at.tzinfo is None or a.at.utcoffset() is None:
            out.append("A past call has no time zone on record; the call count is unknown.")
            break
    last = facts.last_conversation_at
    if last is not None and (last.tzinfo is None or last.utcoffset() is None):
        out.append("The last conversation has no time zone on record.")
    return out


def _in_window(t: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= t < end
    return t >= start or t < end


def _timed_reasons(facts: CallFacts, zones: Sequence[ZoneInfo], now: datetime) -> list[str]:
    """Reasons that pass with time, at the instant ``now``, in every zone."""
    out: list[str] = []
    hours_bad = False
    frequency_bad = False
    quiet_bad = False
    inconvenient: list[str] = []
    counted = [a.at for a in facts.attempts if a.connected]
    for zone in zones:
        local = now.astimezone(zone)
        if not (CALLING_STARTS <= local.time() < CALLING_ENDS):
            hours_bad = True
        today = local.date()
        days = [at.astimezone(zone).date() for at in counted]
        for back in range(WINDOW_DAYS):
            first = today - timedelta(days=back)
            last = first + timedelta(days=WINDOW_DAYS - 1)
            if sum(1 for d in days if first <= d <= last) >= MAX_CALLS_IN_WINDOW:
                frequency_bad = True
                break
        if facts.last_conversation_at is not None:
            talked = facts.last_conversation_at.astimezone(zone).date()
            if today < talked + timedelta(days=QUIET_DAYS_AFTER_CONVERSATION):
                quiet_bad = True
        for slot in facts.inconvenient:
            day_hit = (slot.weekday is not None and local.weekday() == slot.weekday) or (
                slot.on is not None and today == slot.on)
            if not day_hit:
                continue
            if slot.start is None or slot.end is None or _in_window(
                    local.time(), slot.start, slot.end):
                text = slot.describe()
                if text not in inconvenient:
                    inconvenient.append(text)
    if hours_bad:
        out.append("Outside calling hours: calls only 8:00-21:00 in every time zone the "
                   "customer may be in.")
    if frequency_bad:
        out.append(f"{MAX_CALLS_IN_WINDOW} calls already placed on this debt within "
                   f"{WINDOW_DAYS} days.")
    if quiet_bad:
        out.append(f"We spoke with the customer about this debt in the last "
                   f"{QUIET_DAYS_AFTER_CONVERSATION} days.")
    for text in inconvenient:
        out.append(f"The customer said {text} is inconvenient.")
    return out


def _malformed_inconvenient(facts: CallFacts) -> list[str]:
    out: list[str] = []
    for slot in facts.inconvenient:
        if (slot.weekday is None) == (slot.on is None) or (
                slot.weekday is not None and not 0 <= slot.weekday <= 6) or (
                (slot.start is None) != (slot.end is None)):
            out.append("An inconvenient time on record is incomplete; fix it before calling.")
            break
    return out


def check_call(facts: CallFacts, now: datetime) -> CallDecision:
    """May the agent call now? If not, why (in words) and when it becomes possible.

    ``next_allowed_at`` is the earliest moment every rule passes, searched in 15-minute
    steps (on the quarter hour, where every calling-hours and day boundary falls) up to
    14 days ahead; None when a rule never passes by itself (a flag, missing facts).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("check_call needs an aware datetime for now")
    permanent = _permanent_reasons(facts) + _malformed_inconvenient(facts)
    zones, _ = _zones(facts.time_zones)
    timed = _timed_reasons(facts, zones, now) if zones else []
    reasons = tuple(permanent + timed)
    if not reasons:
        return CallDecision(True, (), now)
    if permanent:
        return CallDecision(False, reasons, None)
    return CallDecision(False, reasons, _next_allowed(facts, zones, now))


def _next_allowed(facts: CallFacts, zones: Sequence[ZoneInfo], now: datetime) -> datetime | None:
    step = int(SEARCH_STEP.total_seconds())
    stamp = now.timestamp()
    first = (int(stamp) // step + 1) * step
    candidate = datetime.fromtimestamp(first, tz=now.tzinfo)
    end = now + SEARCH_HORIZON
    while candidate <= end:
        if not _timed_reasons(facts, zones, candidate):
            return candidate
        candidate += SEARCH_STEP
    return None


# --- the worklist ----------------------------------------------------------------------


class AgingBucket(StrEnum):
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_90_PLUS = "90+"


class Treatment(StrEnum):
    REMINDER_FIRST = "reminder_first"
    """High-value customer who simply forgot: email and text with a payment link first."""
    STANDARD = "standard"
    REPEAT_LATE = "repeat_late"
    """Late before, repeatedly: straight to the call list, no reminder round."""


HIGH_VALUE_CENTS = 500_000
"""Customer value (12-month revenue) from which a customer counts as high value ($5,000)."""
REPEAT_LATE_TIMES = 2
"""Times late in the past 12 months (before this one) that make a repeat late payer."""

_BUCKET_POINTS = {AgingBucket.DAYS_1_30: 10, AgingBucket.DAYS_31_60: 20,
                  AgingBucket.DAYS_61_90: 30, AgingBucket.DAYS_90_PLUS: 40}


@dataclass(frozen=True, slots=True)
class WorklistAccount:
    account_id: str
    balance_cents: int
    past_due_since: date
    """The due date of the oldest unpaid amount."""
    risk: int
    """Risk of not paying, 0 (low) to 100 (high)."""
    customer_value_cents: int
    """What the customer brings in a year."""
    times_late_before: int = 0
    """Times late in the past 12 months, this one not counted."""


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    account: WorklistAccount
    days_past_due: int
    bucket: AgingBucket
    treatment: Treatment
    score: int


def aging_bucket(days_past_due: int) -> AgingBucket:
    if days_past_due <= 30:
        return AgingBucket.DAYS_1_30
    if days_past_due <= 60:
        return AgingBucket.DAYS_31_60
    if days_past_due <= 90:
        return AgingBucket.DAYS_61_90
    return AgingBucket.DAYS_90_PLUS


def treatment_for(account: WorklistAccount, days_past_due: int) -> Treatment:
    """Reminder first for a high-value customer, never late before, in the first bucket;
    repeat late for a customer late ``REPEAT_LATE_TIMES`` or more before; else standard."""
    if account.times_late_before >= REPEAT_LATE_TIMES:
        return Treatment.REPEAT_LATE
    if (account.customer_value_cents >= HIGH_VALUE_CENTS and account.times_late_before == 0
            and days_past_due <= 30):
        return Treatment.REMINDER_FIRST
    return Treatment.STANDARD


def priority_score(account: WorklistAccount, days_past_due: int) -> int:
    """Points out of 100, higher is called first.

    - aging: 10 (1-30 days), 20 (31-60), 30 (61-90), 40 (90+)
    - balance: 1 point per full $100, at most 30
    - risk: risk / 5, at most 20 (risk 0-100)
    - customer value: 1 point per full $1,000 a year, at most 10
    """
    risk = min(max(account.risk, 0), 100)
    return (_BUCKET_POINTS[aging_bucket(days_past_due)]
            + min(max(account.balance_cents, 0) // 10_000, 30)
            + risk // 5
            + min(max(account.customer_value_cents, 0) // 100_000, 10))


def prioritize(accounts: Iterable[WorklistAccount], today: date) -> list[WorklistEntry]:
    """Past-due accounts with a balance, oldest aging bucket first, then by score
    (`priority_score`), then larger balance, higher risk, higher value, account id."""
    entries: list[WorklistEntry] = []
    for account in accounts:
        days = (today - account.past_due_since).days
        if days < 1 or account.balance_cents <= 0:
            continue
        entries.append(WorklistEntry(account, days, aging_bucket(days),
                                     treatment_for(account, days),
                                     priority_score(account, days)))
    order = list(AgingBucket)
    entries.sort(key=lambda e: (-order.index(e.bucket), -e.score, -e.account.balance_cents,
                                -e.account.risk, -e.account.customer_value_cents,
                                e.account.account_id))
    return entries


# --- outcomes ---------------------------------------------------------------------------


class Outcome(StrEnum):
    """What the agent records after a call attempt."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    PROMISE_TO_PAY = "promise_to_pay"
    ARRANGEMENT = "arrangement"
    PAYMENT_TAKEN = "payment_taken"
    DISPUTE_RAISED = "dispute_raised"
    CALLBACK_REQUESTED = "callback_requested"


NOT_CONNECTED_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.BUSY})
"""Calls that did not connect to the dialed line; they do not count toward 7 in 7."""
CONVERSATION_OUTCOMES: frozenset[Outcome] = frozenset({
    Outcome.REFUSED, Outcome.PROMISE_TO_PAY, Outcome.ARRANGEMENT, Outcome.PAYMENT_TAKEN,
    Outcome.DISPUTE_RAISED, Outcome.CALLBACK_REQUESTED})
"""Outcomes where the customer was spoken to about the debt: they start the 7-day quiet
period. A wrong number reached a third party, not the customer."""


def is_connected(outcome: Outcome) -> bool:
    """Whether the attempt counts toward the 7-calls-in-7-days limit."""
    return outcome not in NOT_CONNECTED_OUTCOMES


def is_conversation_about_debt(outcome: Outcome) -> bool:
    """Whether the attempt starts the 7-day quiet period after a conversation."""
    return outcome in CONVERSATION_OUTCOMES


MIN_INSTALLMENTS = 2
MAX_INSTALLMENTS = 24
MIN_INSTALLMENT_CENTS = 100
MAX_PROMISE_DAYS = 30


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def plan_arrangement(total_cents: int, installments: int, first_due: date, today: date,
                     *, every_days: int | None = None,
                     monthly: bool = False) -> list[tuple[date, int]]:
    """Due dates and amounts that add up exactly to ``total_cents`` (larger parts first).

    Monthly dates keep the first due day, moved to the month's last day when shorter.
    """
    if type(total_cents) is not int or total_cents <= 0:
        raise UserFacingError("Enter the amount to arrange, more than $0.00.")
    if type(installments) is not int or not (
            MIN_INSTALLMENTS <= installments <= MAX_INSTALLMENTS):
        raise UserFacingError(f"An arrangement has {MIN_INSTALLMENTS} to {MAX_INSTALLMENTS} "
                              "installments.")
    if first_due < today:
        raise UserFacingError("The first installment cannot be due in the past.")
    if monthly == (every_days is not None):
        raise UserFacingError("Choose either monthly installments or every so many days.")
    if every_days is not None and (type(every_days) is not int or not 1 <= every_days <= 92):
        raise UserFacingError("Installments are 1 to 92 days apart.")
    if total_cents < MIN_INSTALLMENT_CENTS * installments:
        raise UserFacingError(f"Each installment must be at least $1.00: use at most "
                              f"{total_cents // MIN_INSTALLMENT_CENTS} installments.")
    parts = Money(total_cents).split(installments)
    plan: list[tuple[date, int]] = []
    for i, part in enumerate(parts):
        due = (_add_months(first_due, i) if monthly
               else first_due + timedelta(days=(every_days or 0) * i))
        plan.append((due, part.cents))
    return plan


def check_promise(amount_cents: int, promised_on: date, today: date,
                  balance_cents: int) -> None:
    """Refuse a promise to pay that cannot be recorded, saying why."""
    if balance_cents <= 0:
        raise UserFacingError("Nothing is owed on this debt; there is nothing to promise.")
    if type(amount_cents) is not int or amount_cents <= 0:
        raise UserFacingError("Enter the amount the customer promises, more than $0.00.")
    if amount_cents > balance_cents:
        raise UserFacingError(f"The promise is more than the balance of "
                              f"{Money(balance_cents).format()}.")
    if promised_on < today:
        raise UserFacingError("The promised date cannot be in the past.")
    if promised_on > today + timedelta(days=MAX_PROMISE_DAYS):
        raise UserFacingError(f"A promise is at most {MAX_PROMISE_DAYS} days out; set up a "
                              "payment arrangement instead.")


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class Promise:
    amount_cents: int
    promised_on: date


def promise_status(promise: Promise, payments: Iterable[tuple[date, int]],
                   today: date) -> PromiseStatus:
    """Kept when payments on or before the promised date add up to the amount; broken
    once that date has passed without it; open until then."""
    paid = sum(cents for on, cents in payments if on <= promise.promised_on)
    if paid >= promise.amount_cents:
        return PromiseStatus.KEPT
    if today > promise.promised_on:
        return PromiseStatus.BROKEN
    return PromiseStatus.OPEN


_DEBT_WORDS = re.compile(r"collect|debt|recover|owe|past.?due|overdue|delinquen", re.I)


def voicemail_script(agent_first_name: str, callback_number: str, business_name: str) -> str:
    """The limited-content message (Reg F 1006.2(j)): a business name that does not say
    debt collection, a request to call back, the agent's name and a number; nothing
    about the debt."""
    name = agent_first_name.strip()
    if not name or " " in name:
        raise UserFacingError("Give the agent's first name only.")
    digits = re.sub(r"\D", "", callback_number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise UserFacingError("Enter a 10-digit callback number.")
    business = business_name.strip()
    if not business or _DEBT_WORDS.search(business):
        raise UserFacingError("Use a business name that does not mention debts or "
                              "collection.")
    number = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return (f"Hello, this is {name} calling from {business}. "
            f"Please call me back at {number}. Thank you.")
