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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from agent_desktop.domain.errors import UserFacingError


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


def business_seconds(start: datetime, end: datetime,
                     calendar: BusinessCalendar = DEFAULT_CALENDAR) -> int:
    """Business seconds between two aware datetimes (0 if end <= start)."""
    if end <= start:
        return 0
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
