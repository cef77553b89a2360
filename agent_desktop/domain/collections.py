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
import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from operator import itemgetter
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
    wrong_number: bool = False
    """A call to this number reached someone else (recorded as a wrong number)."""


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
    if facts.wrong_number:
        out.append("This number reached someone else (wrong number recorded); do not dial "
                   "it again until the customer confirms it.")
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


def inconvenient_from_detail(detail: dict[str, object]) -> list[InconvenientTime]:
    """An inconvenient-time restriction's detail ({"weekday": 0-6 | "on": date,
    "from": "17:00", "to": "19:00"}) as the rules read it; incomplete ones fail closed."""
    start = _clock(detail.get("from"))
    end = _clock(detail.get("to"))
    weekday = detail.get("weekday")
    on = detail.get("on")
    if isinstance(weekday, int):
        return [InconvenientTime(weekday=weekday, start=start, end=end)]
    if isinstance(on, str) and on:
        try:
            return [InconvenientTime(on=date.fromisoformat(on), start=start, end=end)]
        except ValueError:
            return [InconvenientTime(start=start, end=end)]  # incomplete: fails closed
    # A time of day without a day: that time, every day.
    return [InconvenientTime(weekday=d, start=start, end=end) for d in range(7)]


def _clock(value: object) -> time | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        return None
    hours, minutes = (int(x) for x in value.strip().split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59)
    try:
        return time(hours, minutes)
    except ValueError:
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
    return _score(account, aging_bucket(days_past_due))


def _score(account: WorklistAccount, bucket: AgingBucket) -> int:
    return (_points(bucket, account.balance_cents, account.risk)
            + min(max(account.customer_value_cents, 0) // 100_000, MAX_VALUE_POINTS))


def _points(bucket: AgingBucket, balance_cents: int, risk: int) -> int:
    """A score's points but the customer value's."""
    return (_BUCKET_POINTS[bucket] + min(max(balance_cents, 0) // 10_000, 30)
            + min(max(risk, 0), 100) // 5)


MAX_VALUE_POINTS = 10
"""The most a customer's value adds to a priority score."""


def shortlist(accounts: Iterable[tuple[str, int, date, int]], today: date, limit: int
              ) -> list[str]:
    """The ids of the accounts that may be among the first ``limit`` of ``prioritize``
    whatever their customer's value turns out to be, from (account id, balance cents,
    past due since, risk) alone: the value adds at most ``MAX_VALUE_POINTS`` to a score
    and never changes an aging bucket, so this is exact: ``prioritize`` over the
    shortlisted accounts (with their values) gives the same first ``limit``."""
    rank = {bucket: i for i, bucket in enumerate(AgingBucket)}
    keyed: list[tuple[int, int, str]] = []
    for account_id, balance, since, risk in accounts:
        days = (today - since).days
        if days < 1 or balance <= 0:
            continue
        bucket = aging_bucket(days)
        keyed.append((rank[bucket], _points(bucket, balance, risk), account_id))
    if len(keyed) <= limit:
        return [account_id for _, _, account_id in keyed]
    # The limit-th best (bucket, score) before values: every final score is at least its
    # score here, so the limit-th final score is at least this one.
    cut_rank, cut_score, _ = heapq.nlargest(max(limit, 1), keyed,
                                            key=lambda k: (k[0], k[1]))[-1]
    return [account_id for bucket_rank, score, account_id in keyed
            if bucket_rank > cut_rank
            or (bucket_rank == cut_rank and score + MAX_VALUE_POINTS >= cut_score)]


def prioritize(accounts: Iterable[WorklistAccount], today: date,
               limit: int | None = None) -> list[WorklistEntry]:
    """Past-due accounts with a balance, oldest aging bucket first, then by score
    (`priority_score`), then larger balance, higher risk, higher value, account id; the
    first ``limit`` of them (None: all)."""
    rank = {bucket: i for i, bucket in enumerate(AgingBucket)}
    keyed: list[tuple[tuple[int, int, int, int, int, str], WorklistAccount, int,
                      AgingBucket, int]] = []
    for account in accounts:
        days = (today - account.past_due_since).days
        if days < 1 or account.balance_cents <= 0:
            continue
        bucket = aging_bucket(days)
        score = _score(account, bucket)
        keyed.append(((-rank[bucket], -score, -account.balance_cents, -account.risk,
                       -account.customer_value_cents, account.account_id),
                      account, days, bucket, score))
    first = itemgetter(0)
    chosen = sorted(keyed, key=first) if limit is None or limit >= len(keyed) \
        else heapq.nsmallest(max(limit, 0), keyed, key=first)
    return [WorklistEntry(account, days, bucket, treatment_for(account, days), score)
            for _, account, days, bucket, score in chosen]


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


class OutcomeError(UserFacingError):
    """A recorded outcome that does not fit, with the field that fixes it (the dialog shows
    the words beside it) and, for a callback, the first time that would fit."""

    def __init__(self, message: str, field: str = "",
                 suggestion: datetime | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.suggestion = suggestion


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
        raise OutcomeError("Enter the amount to arrange, more than $0.00.", "total")
    if type(installments) is not int or not (
            MIN_INSTALLMENTS <= installments <= MAX_INSTALLMENTS):
        raise OutcomeError(f"An arrangement has {MIN_INSTALLMENTS} to {MAX_INSTALLMENTS} "
                           "installments.", "installments")
    if first_due < today:
        raise OutcomeError("The first installment cannot be due in the past.", "first_due")
    if monthly == (every_days is not None):
        raise OutcomeError("Choose either monthly installments or every so many days.",
                           "frequency")
    if every_days is not None and (type(every_days) is not int or not 1 <= every_days <= 92):
        raise OutcomeError("Installments are 1 to 92 days apart.", "frequency")
    if total_cents < MIN_INSTALLMENT_CENTS * installments:
        raise OutcomeError(f"Each installment must be at least $1.00: use at most "
                           f"{total_cents // MIN_INSTALLMENT_CENTS} installments.",
                           "installments")
    parts = Money(total_cents).split(installments)
    plan: list[tuple[date, int]] = []
    for i, part in enumerate(parts):
        due = (_add_months(first_due, i) if monthly
               else first_due + timedelta(days=(every_days or 0) * i))
        plan.append((due, part.cents))
    return plan


def check_promise(amount_cents: int, promised_on: date, today: date,
                  balance_cents: int, horizon_days: int = MAX_PROMISE_DAYS) -> None:
    """Refuse a promise to pay that cannot be recorded, saying why (``OutcomeError``
    names the field: ``amount`` or ``promised_on``)."""
    if balance_cents <= 0:
        raise OutcomeError("Nothing is owed on this debt; there is nothing to promise.",
                           "amount")
    if type(amount_cents) is not int or amount_cents <= 0:
        raise OutcomeError("Enter the amount the customer promises, more than $0.00.",
                           "amount")
    if amount_cents > balance_cents:
        raise OutcomeError(f"The promise is more than the balance of "
                           f"{Money(balance_cents).format()}.", "amount")
    if promised_on < today:
        raise OutcomeError("The promised date cannot be in the past.", "promised_on")
    if promised_on > today + timedelta(days=horizon_days):
        raise OutcomeError(f"A promise is at most {horizon_days} days out; set up a "
                           "payment arrangement instead.", "promised_on")


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class Promise:
    amount_cents: int
    promised_on: date


def promise_status(promise: Promise, payments: Iterable[tuple[date, int]],
                   today: date, grace_days: int = 0) -> PromiseStatus:
    """Kept when payments on or before the promised date (plus ``grace_days``) add up to
    the amount; broken once that day has passed without it; open until then."""
    last = promise.promised_on + timedelta(days=grace_days)
    paid = sum(cents for on, cents in payments if on <= last)
    if paid >= promise.amount_cents:
        return PromiseStatus.KEPT
    if today > last:
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


# --- recording an outcome ---------------------------------------------------------------

PROMISE_GRACE_DAYS = 1
"""A payment that posts the day after the promised date still keeps the promise (a
transfer made late on the day posts the next, and the customer's day ends after UTC's)."""
ARRANGEMENT_START_DAYS = MAX_PROMISE_DAYS
"""The first installment of an arrangement falls due within this many days."""
CALLBACK_HORIZON = timedelta(days=14)
MAX_NOTE = 2000


class Frequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


FREQUENCY_WORDS = {Frequency.WEEKLY: "Every week", Frequency.BIWEEKLY: "Every two weeks",
                   Frequency.MONTHLY: "Every month"}
_EVERY_DAYS = {Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}

OUTCOME_WORDS: dict[Outcome, str] = {
    Outcome.NO_ANSWER: "No answer",
    Outcome.BUSY: "Busy / did not connect",
    Outcome.VOICEMAIL: "Left a voicemail",
    Outcome.WRONG_NUMBER: "Wrong number",
    Outcome.REFUSED: "Refused to pay",
    Outcome.PROMISE_TO_PAY: "Promise to pay",
    Outcome.ARRANGEMENT: "Payment arrangement",
    Outcome.PAYMENT_TAKEN: "Payment taken now",
    Outcome.DISPUTE_RAISED: "Dispute raised",
    Outcome.CALLBACK_REQUESTED: "Callback requested",
}


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    """What the agent entered for one call's outcome (only the outcome's own fields)."""

    outcome: Outcome
    amount_cents: int | None = None
    promised_on: date | None = None
    total_cents: int | None = None
    installments: int | None = None
    first_due: date | None = None
    frequency: Frequency | None = None
    callback_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class OutcomePlan:
    """What recording the outcome writes, decided by the rules."""

    outcome: Outcome
    connected: bool
    conversation: bool
    promise: Promise | None = None
    installments: tuple[tuple[date, int], ...] = ()
    callback_at: datetime | None = None
    stops_collection: bool = False
    """A dispute: collection on this debt stops until it is verified."""
    marks_wrong_number: bool = False
    """The dialed number reached someone else: it is not dialed again."""
    summary: str = ""
    """One line for the attempt's note and the agent ("Promise to pay $50.00 by Apr 20")."""


def arrangement_plan(total_cents: int, installments: int, first_due: date, today: date,
                     frequency: Frequency) -> list[tuple[date, int]]:
    """``plan_arrangement`` for a frequency the agent picks."""
    if frequency not in _EVERY_DAYS and frequency is not Frequency.MONTHLY:
        raise OutcomeError("Choose how often the customer pays.", "frequency")
    if first_due > today + timedelta(days=ARRANGEMENT_START_DAYS):
        raise OutcomeError(f"The first installment falls due within "
                           f"{ARRANGEMENT_START_DAYS} days.", "first_due")
    return plan_arrangement(total_cents, installments, first_due, today,
                            every_days=_EVERY_DAYS.get(frequency),
                            monthly=frequency is Frequency.MONTHLY)


def _local_words(moment: datetime, zones: Sequence[str]) -> str:
    zone_list, _ = _zones(zones)
    local = moment.astimezone(zone_list[0]) if zone_list else moment
    hour = local.hour % 12 or 12
    return (f"{local:%a %b} {local.day}, {hour}:{local:%M} "
            f"{'AM' if local.hour < 12 else 'PM'} {local.tzname() or ''}").rstrip()


def check_callback(at: datetime, facts: CallFacts, now: datetime) -> None:
    """A callback time the customer chose must itself be a time the rules allow.

    The customer asking for the call is their prior consent given directly, so the
    7-in-7 count and the 7 days after this conversation do not apply to it (Reg F
    1006.14(b)(3)(i)); calling hours in every zone, inconvenient times and every flag
    still do. Refused with the first moment that fits after the chosen one.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("check_callback needs an aware datetime")
    if at <= now:
        raise OutcomeError("The callback time has passed; choose a later time.",
                           "callback_at")
    if at > now + CALLBACK_HORIZON:
        raise OutcomeError(f"Schedule a callback within {CALLBACK_HORIZON.days} days.",
                           "callback_at")
    consented = replace(facts, attempts=(), last_conversation_at=None,
                        dial_mode=DialMode.MANUAL, wrong_number=False)
    decision = check_call(consented, at)
    if decision.allowed:
        return
    reason = decision.reasons[0].rstrip(".")
    if decision.next_allowed_at is None or decision.next_allowed_at > now + CALLBACK_HORIZON:
        raise OutcomeError(f"A callback then is not allowed: {reason}.", "callback_at")
    when = _local_words(decision.next_allowed_at, facts.time_zones)
    raise OutcomeError(f"A callback then is not allowed: {reason}. The first time that fits "
                       f"is {when}.", "callback_at", decision.next_allowed_at)


def plan_outcome(entry: OutcomeInput, *, today: date, now: datetime, balance_cents: int,
                 facts: CallFacts | None = None,
                 promise_horizon_days: int = MAX_PROMISE_DAYS) -> OutcomePlan:
    """Check what the agent entered and say what recording it writes; refused with an
    ``OutcomeError`` naming the field to fix.

    ``facts`` are the call facts of the debt (needed for a callback: its time must be
    one the calling rules allow). ``today`` is the agent's day.
    """
    outcome = Outcome(entry.outcome)
    if len(entry.note) > MAX_NOTE:
        raise OutcomeError(f"The note is {len(entry.note)} characters; at most {MAX_NOTE}.",
                           "note")
    base = OutcomePlan(outcome, is_connected(outcome), is_conversation_about_debt(outcome))
    if outcome is Outcome.PROMISE_TO_PAY:
        if entry.amount_cents is None:
            raise OutcomeError("Enter the amount the customer promises.", "amount")
        if entry.promised_on is None:
            raise OutcomeError("Enter the date the customer promises to pay by.",
                               "promised_on")
        check_promise(entry.amount_cents, entry.promised_on, today, balance_cents,
                      promise_horizon_days)
        promise = Promise(entry.amount_cents, entry.promised_on)
        return replace(base, promise=promise, summary=(
            f"Promise to pay {Money(promise.amount_cents).format()} by "
            f"{promise.promised_on:%b} {promise.promised_on.day}, {promise.promised_on.year}."))
    if outcome is Outcome.ARRANGEMENT:
        if entry.total_cents is None:
            raise OutcomeError("Enter the amount to arrange.", "total")
        if balance_cents <= 0:
            raise OutcomeError("Nothing is owed on this debt; there is nothing to arrange.",
                               "total")
        if entry.total_cents > balance_cents:
            raise OutcomeError(f"The arrangement is more than the balance of "
                               f"{Money(balance_cents).format()}.", "total")
        if entry.installments is None:
            raise OutcomeError("Enter how many installments.", "installments")
        if entry.first_due is None:
            raise OutcomeError("Enter when the first installment is due.", "first_due")
        if entry.frequency is None:
            raise OutcomeError("Choose how often the customer pays.", "frequency")
        plan = arrangement_plan(entry.total_cents, entry.installments, entry.first_due,
                                today, Frequency(entry.frequency))
        return replace(base, installments=tuple(plan), summary=(
            f"Payment arrangement: {Money(entry.total_cents).format()} in {len(plan)} "
            f"installments, {FREQUENCY_WORDS[Frequency(entry.frequency)].lower()} from "
            f"{plan[0][0]:%b} {plan[0][0].day}, {plan[0][0].year}."))
    if outcome is Outcome.CALLBACK_REQUESTED:
        if entry.callback_at is None:
            raise OutcomeError("Enter the time the customer wants the callback.",
                               "callback_at")
        if facts is None:
            raise OutcomeError("The calling rules for this debt are not known; "
                               "reopen the worklist.", "callback_at")
        check_callback(entry.callback_at, facts, now)
        return replace(base, callback_at=entry.callback_at, summary=(
            f"Callback requested for {_local_words(entry.callback_at, facts.time_zones)}."))
    if outcome is Outcome.DISPUTE_RAISED:
        return replace(base, stops_collection=True, summary=(
            "Customer disputes the debt: collection stops until it is verified."))
    if outcome is Outcome.WRONG_NUMBER:
        return replace(base, marks_wrong_number=True, summary=(
            "Wrong number: the number is not dialed again."))
    return replace(base, summary=f"{OUTCOME_WORDS[outcome]}.")


# --- call scripts -------------------------------------------------------------------------


class ScriptKind(StrEnum):
    REMINDER = "reminder"
    STANDARD = "standard"
    REPEAT_LATE = "repeat_late"
    HARDSHIP = "hardship"


MINI_MIRANDA = ("This is an attempt to collect a debt, and any information obtained will "
                "be used for that purpose.")
"""The FDCPA disclosure (15 U.S.C. 1692e(11)) said in every conversation with the consumer,
only after the right party is verified."""


@dataclass(frozen=True, slots=True)
class ScriptStep:
    title: str
    say: str
    """What the agent says; {customer}, {agent}, {business}, {balance}, {notice} are filled."""
    disclosure: str = ""
    """The required disclosure this step delivers ("right_party", "mini_miranda",
    "validation_notice"), or ""."""


_VERIFY = ScriptStep(
    "Right party", "Hello, may I speak with {customer}? ... This is {agent} from {business}. "
    "Before we go on, please confirm the last four digits of your account number or your "
    "date of birth. (Do not mention the debt to anyone else: if this is not {customer}, "
    "leave only your name and number.)", "right_party")
_MIRANDA = ScriptStep("Disclosure", MINI_MIRANDA, "mini_miranda")
_NOTICE = ScriptStep("Validation notice", "{notice}", "validation_notice")
_CLOSE = ScriptStep("Close", "Repeat what was agreed, the date and the amount, and thank "
                    "the customer. Offer the self-service payment link by email or text.")

SCRIPTS: dict[ScriptKind, tuple[ScriptStep, ...]] = {
    ScriptKind.REMINDER: (
        _VERIFY, _MIRANDA, _NOTICE,
        ScriptStep("Reminder", "We noticed your last payment of {balance} has not come in; "
                   "it may simply have slipped by. Would you like to take care of it now, "
                   "or shall I send you a link to pay online?"),
        _CLOSE),
    ScriptKind.STANDARD: (
        _VERIFY, _MIRANDA, _NOTICE,
        ScriptStep("The balance", "Your account has {balance} past due. Can you pay it "
                   "today? If not, when can you, and how much?"),
        ScriptStep("Options", "A promise to pay within 30 days, or a payment arrangement in "
                   "installments; a payment can be taken now by card or bank account."),
        _CLOSE),
    ScriptKind.REPEAT_LATE: (
        _VERIFY, _MIRANDA, _NOTICE,
        ScriptStep("The balance", "Your account has {balance} past due, and it has been late "
                   "before. What happened this time, and when will it be paid?"),
        ScriptStep("Options", "Ask for payment in full now; a payment arrangement with autopay "
                   "helps keep it from happening again."),
        _CLOSE),
    ScriptKind.HARDSHIP: (
        _VERIFY, _MIRANDA, _NOTICE,
        ScriptStep("Listen", "I understand things may be difficult right now. Your account "
                   "has {balance} past due; let us find an amount that works for you."),
        ScriptStep("Options", "Offer a payment arrangement with small installments first; "
                   "never press for payment in full. Note any hardship the customer names."),
        _CLOSE),
}

_TREATMENT_SCRIPTS = {
    "reminder_first": ScriptKind.REMINDER, "gentle": ScriptKind.REMINDER,
    "standard": ScriptKind.STANDARD, "recovery": ScriptKind.STANDARD,
    "repeat_late": ScriptKind.REPEAT_LATE, "hardship": ScriptKind.HARDSHIP,
}
VALIDATION_DAYS = 30


def script_kind(treatment: str) -> ScriptKind:
    """The script for a treatment (the domain's or the account's); standard otherwise."""
    return _TREATMENT_SCRIPTS.get(str(treatment), ScriptKind.STANDARD)


def validation_words(sent_on: date | None, today: date) -> str:
    """What to say about the validation notice (sent within 5 days of first contact; a
    written dispute within 30 days of it stops collection until verified)."""
    if sent_on is None:
        return ("A validation notice with the amount and your rights will be sent to you "
                "within 5 days.")
    until = sent_on + timedelta(days=VALIDATION_DAYS)
    sent = f"{sent_on:%B} {sent_on.day}, {sent_on.year}"
    if today <= until:
        return (f"We sent you a validation notice on {sent}. Until {until:%B} {until.day}, "
                f"{until.year} you may dispute the debt in writing, and we stop collecting "
                "until we verify it.")
    return (f"We sent you a validation notice on {sent}; it explains the debt and your "
            "rights.")


def fill_script(kind: ScriptKind, *, customer_name: str, agent_name: str,
                business_name: str, balance_cents: int, validation_notice_sent_on: date | None,
                today: date) -> list[tuple[str, str]]:
    """The script's steps with the names filled in: (title, words to say), in order (the
    right party is verified before anything about the debt is said)."""
    values = {"customer": customer_name.strip() or "the customer",
              "agent": agent_name.strip() or "your agent",
              "business": business_name.strip(),
              "balance": Money(max(balance_cents, 0)).format(),
              "notice": validation_words(validation_notice_sent_on, today)}
    return [(step.title, step.say.format(**values)) for step in SCRIPTS[ScriptKind(kind)]]


# --- the gentle reminder ----------------------------------------------------------------------

BUSINESS_NAME = "Northwind Communications"
"""The name callers and messages use (no word about debts: it may be read by others)."""
PAYMENT_LINK_BASE = "https://pay.northwind.example/p/"
CALLBACK_NUMBER = "800-555-0142"
"""The number customers call back (left in voicemails)."""


@dataclass(frozen=True, slots=True)
class Reminder:
    subject: str
    email_body: str
    text_body: str


def payment_link(collection_account_id: str) -> str:
    """The self-service payment page of this debt (the id is random: not guessable)."""
    return PAYMENT_LINK_BASE + collection_account_id


def reminder_for(first_name: str, balance_cents: int, link: str,
                 business_name: str = BUSINESS_NAME) -> Reminder:
    """The email and text of the gentle reminder, each with the opt-out Reg F 1006.6(e)
    asks of an electronic message."""
    hello = f"Hi {first_name.strip()}, " if first_name.strip() else "Hello, "
    amount = Money(max(balance_cents, 0)).format()
    return Reminder(
        subject=f"A reminder from {business_name}",
        email_body=(f"{hello}this is a friendly reminder that {amount} on your "
                    f"{business_name} account is past due; it may simply have slipped by. "
                    f"You can pay securely here: {link}\nIf you have already paid, thank "
                    "you. This is an attempt to collect a debt, and any information "
                    "obtained will be used for that purpose.\nTo stop emails like this, "
                    "reply UNSUBSCRIBE."),
        text_body=(f"{business_name}: {hello}{amount} on your account is past due. Pay "
                   f"securely: {link} Reply STOP to opt out."))
