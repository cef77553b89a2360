"""The collections worklist: open debts in the domain's priority order, each with whether
it may be called now (Regulation F, FDCPA, TCPA: domain.collections.check_call), why not
in words, when it may, and the number to dial.

Ordering reads only the accounts (storage.collections.open_accounts); the call facts are
read for the accounts the list shows (``limit``), so the check stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from agent_desktop.domain import collections as rules
from agent_desktop.storage import collections as reads
from agent_desktop.storage.store import Store

DEFAULT_LIMIT = 500
WEEK_DAYS = 7

_LINE_TYPES = {
    "mobile": rules.LineType.MOBILE,
    "landline": rules.LineType.LANDLINE,
    # A VoIP number may ring a mobile: treated as one (autodialing needs consent).
    "voip": rules.LineType.MOBILE,
}
_TREATMENT_WORDS = {
    rules.Treatment.REMINDER_FIRST: "Reminder first",
    rules.Treatment.STANDARD: "Standard",
    rules.Treatment.REPEAT_LATE: "Repeat late",
}


@dataclass(frozen=True, slots=True)
class WorkItem:
    rank: int
    account_id: str
    customer_id: str
    customer_name: str
    account_number: str
    balance_cents: int
    days_past_due: int
    bucket: str
    treatment: str
    treatment_words: str
    score: int
    callable_now: bool
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
    next_allowed_words: str
    """"Tue 9:00 AM" in the agent's local time; "" when callable now, or never by itself."""
    number: str
    """The number to call (the first one every rule allows, else the primary)."""
    attempts_7_days: int
    last_conversation_at: datetime | None

    @property
    def status_words(self) -> str:
        """"Call now", or "Not now (next Tue 9:00 AM) — <first reason>"."""
        if self.callable_now:
            return "Call now"
        first = self.reasons[0] if self.reasons else "The call is not allowed."
        first = first.rstrip(".")
        # When first (what the caller plans by), then why; the detail line has it all.
        when = (f"next {self.next_allowed_words}" if self.next_allowed_words
                else "not until the restriction is lifted")
        return f"Not now ({when}) \u2014 {first}"


def time_words(moment: datetime, now: datetime) -> str:
    """'Tue 9:00 AM' (the agent's local time; the date added when a week or more away)."""
    hour = moment.hour % 12 or 12
    clock = f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"
    if (moment.date() - now.date()).days >= WEEK_DAYS - 1:
        return f"{moment:%a %b} {moment.day}, {clock}"
    return f"{moment:%a} {clock}"


def _inconvenient(detail: dict[str, object]) -> list[rules.InconvenientTime]:
    start = _clock(detail.get("from"))
    end = _clock(detail.get("to"))
    weekday = detail.get("weekday")
    on = detail.get("on")
    if isinstance(weekday, int):
        return [rules.InconvenientTime(weekday=weekday, start=start, end=end)]
    if isinstance(on, str) and on:
        try:
            return [rules.InconvenientTime(on=date.fromisoformat(on), start=start, end=end)]
        except ValueError:
            return [rules.InconvenientTime(start=start, end=end)]  # incomplete: fails closed
    # A time of day without a day: that time, every day.
    return [rules.InconvenientTime(weekday=d, start=start, end=end) for d in range(7)]


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


def call_facts(account: reads.OpenAccount, context: reads.CallContext,
               phone: reads.Phone | None) -> rules.CallFacts:
    """The domain's facts for a manual call to ``phone`` on this debt."""
    kinds = {r.kind for r in context.restrictions}
    attorney = next((r.detail for r in context.restrictions if r.kind == "attorney"), {})
    attorney_contact = " ".join(str(attorney.get(k, "")).strip() for k in ("name", "phone")
                                if str(attorney.get(k, "")).strip())
    work = tuple(str(r.detail.get("phone", "")) for r in context.restrictions
                 if r.kind == "no_calls_at_work" and r.detail.get("phone"))
    work += tuple(p.number for p in context.phones if p.label == "work")
    inconvenient: list[rules.InconvenientTime] = []
    for r in context.restrictions:
        if r.kind == "inconvenient_time":
            inconvenient.extend(_inconvenient(r.detail))
    line_type: rules.LineType | None = None
    if phone is not None:
        line_type = (rules.LineType.WORK if phone.label == "work"
                     else _LINE_TYPES.get(phone.line_type))
    conversations = [a.at for a in context.attempts if a.conversation]
    return rules.CallFacts(
        debt_id=account.account_id,
        time_zones=tuple(context.time_zones),
        number=phone.number if phone is not None else "",
        line_type=line_type,
        dial_mode=rules.DialMode.MANUAL,
        autodial_consent=phone.consent_autodial if phone is not None else False,
        attempts=tuple(rules.CallAttempt(a.at, a.connected) for a in context.attempts),
        last_conversation_at=max(conversations) if conversations else None,
        cease_communication="cease_communication" in kinds,
        stop_calling=bool(kinds & {"stop_calling", "do_not_call"}),
        attorney_represented="attorney" in kinds,
        attorney_contact=attorney_contact,
        dispute_open="dispute_pending" in kinds or account.disputed_on is not None,
        no_calls_at_work="no_calls_at_work" in kinds,
        work_numbers=work,
        inconvenient=tuple(inconvenient),
    )


def _decide(account: reads.OpenAccount, context: reads.CallContext,
            now: datetime) -> tuple[reads.Phone | None, rules.CallFacts, rules.CallDecision]:
    """The first phone every rule allows now; else the one callable soonest; else the
    primary (with every reason)."""
    phones: Sequence[reads.Phone | None] = context.phones or [None]
    best: tuple[reads.Phone | None, rules.CallFacts, rules.CallDecision] | None = None
    for phone in phones:
        facts = call_facts(account, context, phone)
        decision = rules.check_call(facts, now)
        if decision.allowed:
            return phone, facts, decision
        if best is None or (decision.next_allowed_at is not None and (
                best[2].next_allowed_at is None
                or decision.next_allowed_at < best[2].next_allowed_at)):
            best = (phone, facts, decision)
    assert best is not None
    return best


def worklist(store: Store, now: datetime, limit: int = DEFAULT_LIMIT,
             local_zone: tzinfo | None = None) -> list[WorkItem]:
    """The open debts in the domain's priority order (at most ``limit``), each checked
    for a call at ``now`` (aware). Times are worded in ``local_zone`` (the agent's; the
    computer's zone by default)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("worklist needs an aware datetime for now")
    zone = local_zone or datetime.now().astimezone().tzinfo
    local_now = now.astimezone(zone)
    today = local_now.date()
    accounts = {a.account_id: a for a in reads.open_accounts(store, today)}
    entries = rules.prioritize(
        (rules.WorklistAccount(a.account_id, a.balance_cents, a.past_due_since, a.risk,
                               a.customer_value_cents, a.times_late_before)
         for a in accounts.values()), today)[:max(limit, 0)]
    shown = [accounts[e.account.account_id] for e in entries]
    contexts = reads.call_context(store, shown, now)
    items: list[WorkItem] = []
    week_ago = now - timedelta(days=WEEK_DAYS)
    for rank, (entry, account) in enumerate(zip(entries, shown, strict=True), start=1):
        context = contexts[account.account_id]
        phone, facts, decision = _decide(account, context, now)
        words = ""
        if not decision.allowed and decision.next_allowed_at is not None:
            words = time_words(decision.next_allowed_at.astimezone(zone), local_now)
        items.append(WorkItem(
            rank=rank, account_id=account.account_id, customer_id=account.customer_id,
            customer_name=account.customer_name, account_number=account.account_number,
            balance_cents=account.balance_cents, days_past_due=entry.days_past_due,
            bucket=entry.bucket.value, treatment=entry.treatment.value,
            treatment_words=_TREATMENT_WORDS[entry.treatment], score=entry.score,
            callable_now=decision.allowed, reasons=decision.reasons,
            next_allowed_at=decision.next_allowed_at, next_allowed_words=words,
            number=phone.number if phone is not None else "",
            attempts_7_days=sum(1 for a in context.attempts if a.connected
                                and a.at > week_ago),
            last_conversation_at=facts.last_conversation_at))
    return items

