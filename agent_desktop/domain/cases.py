"""Cases: the life cycle, the SLA clock in business hours, and routing to a queue.

Pure rules (no storage, no Qt), used by the desk before it queues a change and by the
server before it applies one, so an impossible transition made offline is refused on
sync with the same words the desk would have shown (shared/DOMAIN.md, cases).

- Life cycle: new -> open -> pending customer / pending internal -> resolved -> closed;
  a resolved or closed case reopens within ``REOPEN_WINDOW`` of its resolution, after
  that a new case is opened and linked instead.
- SLA: the target comes from type and priority, in business hours of the contact
  center's calendar (weekly hours in its time zone, holidays); the clock stops while the
  case waits on the customer. A case turns amber when a fifth of its target (at most two
  business hours) is left, red once it is past due.
- Routing: a queue and the skill it needs, from the case's type, category and product.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.notes import storable


class CaseType(StrEnum):
    INQUIRY = "inquiry"
    TROUBLE_TICKET = "trouble_ticket"
    DISPUTE = "dispute"
    APPROVAL_REQUEST = "approval_request"
    COMPLAINT = "complaint"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    PENDING_INTERNAL = "pending_internal"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


TYPE_LABELS: dict[str, str] = {
    "inquiry": "Inquiry", "trouble_ticket": "Trouble ticket", "dispute": "Dispute",
    "approval_request": "Approval request", "complaint": "Complaint",
}
STATUS_LABELS: dict[str, str] = {
    "new": "New", "open": "Open", "pending_customer": "Pending customer",
    "pending_internal": "Pending internal", "resolved": "Resolved", "closed": "Closed",
}

_WORKING = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL)
# Where each status may go by an ordinary change (reopening is checked separately).
ALLOWED: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL,
                           Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL,
                            Status.RESOLVED}),
    Status.PENDING_CUSTOMER: frozenset({Status.OPEN, Status.PENDING_INTERNAL,
                                        Status.RESOLVED}),
    Status.PENDING_INTERNAL: frozenset({Status.OPEN, Status.PENDING_CUSTOMER,
                                        Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset({Status.OPEN}),
}
REOPEN_WINDOW = timedelta(days=14)


def is_open(status: str) -> bool:
    """Still being worked (not resolved or closed)."""
    return status in _WORKING


def check_transition(current: str, target: str, *, resolved_at: datetime | None,
                     now: datetime, merged: bool = False,
                     reopen_window: timedelta = REOPEN_WINDOW) -> Status:
    """The new status, or UserFacingError saying why the case cannot go there."""
    try:
        frm, to = Status(current), Status(target)
    except ValueError:
        raise UserFacingError(f"{target or current!r} is not a case status.") from None
    if merged:
        raise UserFacingError("This case was merged into another; work on that one.")
    if frm == to:
        raise UserFacingError(f"The case is already {STATUS_LABELS[to].lower()}.")
    if to not in ALLOWED[frm]:
        raise UserFacingError(
            f"A {STATUS_LABELS[frm].lower()} case cannot become "
            f"{STATUS_LABELS[to].lower()}.")
    reopening = to == Status.OPEN and frm in (Status.RESOLVED, Status.CLOSED)
    if reopening and (resolved_at is None or now - resolved_at > reopen_window):
        raise UserFacingError(
            f"This case was resolved more than {reopen_window.days} days ago and cannot be "
            "reopened; open a new case (it links back to this one).")
    return to


# --- business hours -------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock runs: weekly hours in ``zone`` and whole-day holidays.

    ``hours[weekday]`` (Monday = 0) is a (start, end) local time, or absent for a closed
    day. Daylight-saving changes are handled: each day is laid out in local time.
    """

    zone: str = "America/New_York"
    hours: Mapping[int, tuple[time, time]] = field(default_factory=lambda: {
        d: (time(8), time(20)) for d in range(5)} | {5: (time(9), time(17))})
    holidays: frozenset[date] = frozenset()

    def day_window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's open hours as aware UTC datetimes, or None when closed."""
        span = self.hours.get(day.weekday())
        if span is None or day in self.holidays:
            return None
        tz = ZoneInfo(self.zone)
        start = datetime.combine(day, span[0], tz).astimezone(UTC)
        end = datetime.combine(day, span[1], tz).astimezone(UTC)
        return (start, end) if end > start else None

    def _days(self, start: datetime) -> Iterable[date]:
        day = start.astimezone(ZoneInfo(self.zone)).date()
        while True:
            yield day
            day += timedelta(days=1)


# US federal holidays observed by the demo operator, 2025-2027.
US_HOLIDAYS = frozenset(date.fromisoformat(d) for d in (
    "2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-07-04", "2025-09-01",
    "2025-11-27", "2025-12-25", "2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25",
    "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25", "2027-01-01", "2027-01-18",
    "2027-02-15", "2027-05-31", "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24",
))
DEFAULT_CALENDAR = BusinessCalendar(holidays=US_HOLIDAYS)
_MAX_DAYS = 3660  # no calendar is closed for ten years; guards a misconfigured one


class _OpenSeconds:
    """A calendar's open window per day and the open seconds before each day, from an
    origin on, grown on demand: business time over months (a case long overdue, in a list
    of thousands) costs two look-ups instead of a walk over every day."""

    def __init__(self, calendar: BusinessCalendar, origin: date) -> None:
        self.calendar = calendar
        self.origin = origin
        self._windows: list[tuple[datetime, datetime] | None] = []
        self._before: list[int] = [0]  # open seconds of the days before origin + i
        self._lock = threading.Lock()

    def _grow(self, index: int) -> None:
        with self._lock:
            while len(self._windows) <= index:
                window = self.calendar.day_window(
                    self.origin + timedelta(days=len(self._windows)))
                self._windows.append(window)
                length = int((window[1] - window[0]).total_seconds()) if window else 0
                self._before.append(self._before[-1] + length)

    def seconds(self, start: datetime, first: date, end: datetime, last: date) -> int:
        """Business seconds from ``start`` (on local day ``first``) to ``end`` (on a
        later local day ``last``)."""
        i, j = (first - self.origin).days, (last - self.origin).days
        self._grow(j)
        total = timedelta(seconds=self._before[j] - self._before[i + 1])
        head, tail = self._windows[i], self._windows[j]
        if head is not None and head[1] > start:
            total += head[1] - max(head[0], start)
        if tail is not None and end > tail[0]:
            total += min(tail[1], end) - tail[0]
        return int(total.total_seconds())


_TABLES: dict[int, _OpenSeconds] = {}
_TABLES_LOCK = threading.Lock()
_LONG_SPAN_DAYS = 14  # shorter spans walk the days (as cheap, and the reference)


def _table(calendar: BusinessCalendar, first: date) -> _OpenSeconds | None:
    with _TABLES_LOCK:
        table = _TABLES.get(id(calendar))
        if table is None or table.calendar is not calendar:
            if len(_TABLES) > 16:
                _TABLES.clear()
            table = _OpenSeconds(calendar, first - timedelta(days=800))
            _TABLES[id(calendar)] = table
    return table if first >= table.origin else None


def business_seconds(start: datetime, end: datetime,
                     calendar: BusinessCalendar = DEFAULT_CALENDAR) -> int:
    """Business seconds between two aware datetimes (0 if end <= start)."""
    if end <= start:
        return 0
    zone = ZoneInfo(calendar.zone)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    if (last - first).days > _LONG_SPAN_DAYS:
        table = _table(calendar, first)
        if table is not None:
            return table.seconds(start, first, end, last)
    return _walk_business_seconds(start, end, calendar)


def _walk_business_seconds(start: datetime, end: datetime,
                           calendar: BusinessCalendar) -> int:
    total = 0.0
    for n, day in enumerate(calendar._days(start)):
        if n > _MAX_DAYS:
            raise ValueError("the business calendar has no open hours")
        window = calendar.day_window(day)
        if window is not None:
            lo, hi = max(window[0], start), min(window[1], end)
            if hi > lo:
                total += (hi - lo).total_seconds()
            if window[0] >= end:
                break
        elif datetime.combine(day, time(0), ZoneInfo(calendar.zone)) >= end:
            break
    return int(total)


def add_business_seconds(start: datetime, seconds: int,
                         calendar: BusinessCalendar = DEFAULT_CALENDAR) -> datetime:
    """The moment ``seconds`` business seconds after ``start`` (aware UTC)."""
    left = float(max(0, seconds))
    for n, day in enumerate(calendar._days(start)):
        if n > _MAX_DAYS:
            raise ValueError("the business calendar has no open hours")
        window = calendar.day_window(day)
        if window is None:
            continue
        lo = max(window[0], start)
        if lo >= window[1]:
            continue
        available = (window[1] - lo).total_seconds()
        if left <= available:
            return (lo + timedelta(seconds=left)).astimezone(UTC)
        left -= available
    raise AssertionError("unreachable")  # pragma: no cover


# --- the SLA --------------------------------------------------------------------------------

# Target in business hours by type, then priority.
SLA_HOURS: dict[str, dict[str, int]] = {
    "inquiry": {"urgent": 4, "high": 8, "normal": 24, "low": 48},
    "trouble_ticket": {"urgent": 4, "high": 8, "normal": 16, "low": 40},
    "dispute": {"urgent": 8, "high": 24, "normal": 48, "low": 80},
    "approval_request": {"urgent": 2, "high": 4, "normal": 8, "low": 16},
    "complaint": {"urgent": 4, "high": 8, "normal": 16, "low": 24},
}


def sla_target_seconds(case_type: str, priority: str) -> int:
    try:
        return SLA_HOURS[case_type][priority] * 3600
    except KeyError:
        raise UserFacingError(f"No service level for a {priority} {case_type}.") from None


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AMBER = "amber"  # due soon
    RED = "red"  # past due
    PAUSED = "paused"  # waiting on the customer
    DONE = "done"  # resolved or closed


@dataclass(frozen=True)
class Sla:
    state: SlaState
    due_at: datetime | None
    left_seconds: int  # business seconds left (negative: overdue by)

    def words(self) -> str:
        if self.state is SlaState.DONE:
            return "Done"
        if self.state is SlaState.PAUSED:
            return "Paused (waiting on the customer)"
        hours = abs(self.left_seconds) / 3600
        amount = f"{hours:.0f} h" if hours >= 1 else f"{abs(self.left_seconds) // 60} min"
        if self.state is SlaState.RED:
            return f"Overdue by {amount}" if self.left_seconds < 0 else "Overdue"
        return f"{amount} left"


def due_at(opened_at: datetime, case_type: str, priority: str, paused_seconds: int = 0,
           calendar: BusinessCalendar = DEFAULT_CALENDAR) -> datetime:
    """When the case is due: the SLA target counted in business time from opening, plus
    the business time it spent waiting on the customer."""
    return add_business_seconds(
        opened_at, sla_target_seconds(case_type, priority) + paused_seconds, calendar)


def sla(status: str, opened_at: datetime, case_type: str, priority: str,
        paused_seconds: int, now: datetime,
        calendar: BusinessCalendar = DEFAULT_CALENDAR) -> Sla:
    """Where the case stands against its SLA at ``now``."""
    if not is_open(status):
        return Sla(SlaState.DONE, None, 0)
    due = due_at(opened_at, case_type, priority, paused_seconds, calendar)
    if due > now:
        left = business_seconds(now, due, calendar)
    else:
        left = -business_seconds(due, now, calendar)
    if status == Status.PENDING_CUSTOMER:
        return Sla(SlaState.PAUSED, None, left)
    target = sla_target_seconds(case_type, priority)
    if now > due:
        return Sla(SlaState.RED, due, left)
    if left <= min(target // 5, 2 * 3600):
        return Sla(SlaState.AMBER, due, left)
    return Sla(SlaState.ON_TRACK, due, left)


def paused_after(status_before: str, status_after: str, paused_seconds: int,
                 pending_since: datetime | None, now: datetime,
                 calendar: BusinessCalendar = DEFAULT_CALENDAR) -> int:
    """The paused total once a case leaves pending-customer (or unchanged otherwise)."""
    if status_before == Status.PENDING_CUSTOMER and status_after != Status.PENDING_CUSTOMER \
            and pending_since is not None:
        return paused_seconds + business_seconds(pending_since, now, calendar)
    return paused_seconds


# --- routing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    queue: str
    skill: str


# Product family (catalog) -> the technical skill that works it.
_TECH_SKILL = {"internet": "tech_internet", "tv": "tech_tv", "phone": "tech_phone",
               "mobile": "tech_mobile", "security": "tech_security"}


def route(case_type: str, category: str = "", product_family: str = "") -> Route:
    """The queue a new case goes to, and the skill an agent needs to take it."""
    family = product_family.lower()
    if case_type == CaseType.APPROVAL_REQUEST:
        return Route("approvals", "approvals")
    if case_type == CaseType.DISPUTE:
        if category == "collections":
            return Route("collections", "collections")
        return Route("billing", "billing")
    if case_type == CaseType.COMPLAINT:
        return Route("retention", "retention")
    if case_type == CaseType.TROUBLE_TICKET or category == "technical":
        return Route("tech_support", _TECH_SKILL.get(family, "tech_internet"))
    if category in ("billing", "payment"):
        return Route("billing", "billing")
    if category in ("order", "equipment", "moving"):
        return Route("sales", "sales")
    if category == "collections":
        return Route("collections", "collections")
    return Route("general", "")


def can_take(skills: Iterable[str], required_skill: str) -> bool:
    """Whether an agent with ``skills`` may be assigned a case needing ``required_skill``."""
    return not required_skill or required_skill in set(skills)


# --- changes, planned the same way on the desk and on the server ------------------------------

def case_number(case_id: str) -> str:
    """A case number a desk gives offline without asking anyone: 8 characters of the
    case's random id in base32, with I, L, O and U written 1, 8, 0 and 9 so nobody
    misreads them on the phone."""
    raw = base64.b32encode(uuid.UUID(case_id).bytes[:5]).decode()
    return "CS-" + raw.translate(str.maketrans("ILOU", "1809"))


MAX_SUBJECT = 200
MAX_CASE_TEXT = 8000


def _when(value: object) -> datetime | None:
    """A timestamp from a row (datetime) or from the wire (ISO text), as aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise UserFacingError(f"{value!r} is not a date and time.")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about a case, from a store row or a server row."""

    status: str
    type: str
    priority: str
    opened_at: datetime
    resolved_at: datetime | None = None
    pending_since: datetime | None = None
    sla_paused_seconds: int = 0
    merged_into_id: str | None = None
    required_skill: str = ""

    @classmethod
    def of(cls, row: Mapping[str, object]) -> CaseFacts:
        opened = _when(row.get("opened_at"))
        if opened is None:
            raise UserFacingError("The case has no opening time.")
        paused = row.get("sla_paused_seconds") or 0
        merged = row.get("merged_into_id")
        return cls(
            status=str(row.get("status", "")), type=str(row.get("type", "")),
            priority=str(row.get("priority", "")), opened_at=opened,
            resolved_at=_when(row.get("resolved_at")),
            pending_since=_when(row.get("pending_since")),
            sla_paused_seconds=int(paused) if isinstance(paused, int | float) else 0,
            merged_into_id=str(merged) if merged else None,
            required_skill=str(row.get("required_skill") or ""),
        )


def plan_status_change(case: CaseFacts, target: str, now: datetime,
                       calendar: BusinessCalendar = DEFAULT_CALENDAR) -> dict[str, object]:
    """The fields that change when ``case`` moves to ``target`` at ``now`` (raises
    UserFacingError for a move the life cycle does not allow)."""
    to = check_transition(case.status, target, resolved_at=case.resolved_at, now=now,
                          merged=case.merged_into_id is not None)
    paused = paused_after(case.status, to, case.sla_paused_seconds, case.pending_since, now,
                          calendar)
    fields: dict[str, object] = {"status": to.value, "sla_paused_seconds": paused}
    fields["pending_since"] = (case.pending_since or now) if to == Status.PENDING_CUSTOMER \
        else None
    if to == Status.RESOLVED:
        fields["resolved_at"] = now
    elif to == Status.CLOSED:
        fields["closed_at"] = now
    elif to == Status.OPEN and case.status in (Status.RESOLVED, Status.CLOSED):
        fields["resolved_at"] = None
        fields["closed_at"] = None
    if is_open(to):
        fields["due_at"] = due_at(case.opened_at, case.type, case.priority, paused, calendar)
    return fields


def plan_priority_change(case: CaseFacts, priority: str,
                         calendar: BusinessCalendar = DEFAULT_CALENDAR) -> dict[str, object]:
    """Escalating (or lowering) a case: its due time follows the new priority."""
    try:
        Priority(priority)
    except ValueError:
        raise UserFacingError(f"{priority!r} is not a priority.") from None
    if case.merged_into_id is not None:
        raise UserFacingError("This case was merged into another; work on that one.")
    if not is_open(case.status):
        raise UserFacingError("Reopen the case before changing its priority.")
    if priority == case.priority:
        raise UserFacingError(f"The case is already {priority} priority.")
    return {"priority": priority,
            "due_at": due_at(case.opened_at, case.type, priority, case.sla_paused_seconds,
                             calendar)}


def check_new_case(case_type: str, priority: str, subject: object,
                   description: object = "") -> tuple[str, str]:
    """The subject and description of a new case, cleaned, or UserFacingError."""
    try:
        CaseType(case_type)
    except ValueError:
        raise UserFacingError(f"{case_type!r} is not a case type.") from None
    try:
        Priority(priority)
    except ValueError:
        raise UserFacingError(f"{priority!r} is not a priority.") from None
    if not isinstance(subject, str) or not subject.strip():
        raise UserFacingError("Give the case a subject: what is it about?")
    text = " ".join(subject.split())
    if len(text) > MAX_SUBJECT:
        raise UserFacingError(f"The subject is {len(text)} characters; keep it under "
                              f"{MAX_SUBJECT} (the details go in the description).")
    body = description if isinstance(description, str) else ""
    if not storable(text) or not storable(body):
        raise UserFacingError(_HIDDEN)
    if len(body) > MAX_CASE_TEXT:
        raise UserFacingError(f"The description is {len(body):,} characters; the most is "
                              f"{MAX_CASE_TEXT:,}.")
    return text, body.strip()


_HIDDEN = ("The text has a hidden character that cannot be saved (it usually comes with "
           "pasted text). Retype that part, or paste it again as plain text.")


def check_case_text(body: object) -> str:
    """A case note or a message to the customer, cleaned, or UserFacingError."""
    if not isinstance(body, str) or not body.strip():
        raise UserFacingError("Type the note first.")
    if not storable(body):
        raise UserFacingError(_HIDDEN)
    if len(body) > MAX_CASE_TEXT:
        raise UserFacingError(f"The note is {len(body):,} characters; the most is "
                              f"{MAX_CASE_TEXT:,}.")
    return body.strip()


def check_assignment(case: CaseFacts, agent_skills: Iterable[str] | None) -> None:
    """Whether the case can go to an agent with ``agent_skills`` (None: unassign)."""
    if case.merged_into_id is not None:
        raise UserFacingError("This case was merged into another; work on that one.")
    if not is_open(case.status):
        raise UserFacingError("Only an open case is assigned; reopen it first.")
    if agent_skills is not None and not can_take(agent_skills, case.required_skill):
        raise UserFacingError(
            f"That agent lacks the {case.required_skill.replace('_', ' ')} skill this case "
            "needs; pick someone who has it, or escalate.")


def check_merge(source: CaseFacts, target: CaseFacts, source_id: str, target_id: str,
                same_customer: bool) -> None:
    """A duplicate (source) folds into the case that continues (target)."""
    if source_id == target_id:
        raise UserFacingError("A case cannot be merged into itself.")
    if source.merged_into_id is not None:
        raise UserFacingError("This case was already merged into another.")
    if target.merged_into_id is not None:
        raise UserFacingError("The other case was itself merged away; merge into the case "
                              "it went into.")
    if not same_customer:
        raise UserFacingError("Only cases of the same customer can be merged.")
    if not is_open(target.status):
        raise UserFacingError("Merge into a case that is still open (reopen it first).")
