"""The collections worklist: open debts in the domain's priority order, each with whether
it may be called now (Regulation F, FDCPA, TCPA: domain.collections.check_call), why not
in words, when it may, and the number to dial.

Ordering reads only the accounts (storage.collections.open_accounts); the call facts are
read for the accounts the list shows (``limit``), so the check stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from agent_desktop.domain import collections as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.money import Money
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage import collections as reads
from agent_desktop.storage.models import new_id
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
    promise_words: str = ""
    """"Promised $50.00 by Nov 20" (waiting), "Broke a promise of $50.00 due Nov 2", or ""."""
    callback_at: datetime | None = None
    """The callback the customer asked for, still to make (None when none is waiting)."""
    account_treatment: str = ""
    """The account's treatment as placed ("hardship"...): picks the call script."""
    validation_notice_sent_on: date | None = None

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


def _wrong_number(context: reads.CallContext, phone: reads.Phone | None) -> bool:
    """A call to this number was recorded as a wrong number since the number last changed."""
    if phone is None:
        return False
    digits = _digits(phone.number)
    return any(a.outcome == rules.Outcome.WRONG_NUMBER and _digits(a.destination) == digits
               and (phone.updated_at is None or a.at >= phone.updated_at)
               for a in context.attempts)


def _digits(number: str) -> str:
    d = re.sub(r"\D", "", number)
    return d[-10:]


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
            inconvenient.extend(rules.inconvenient_from_detail(r.detail))
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
        wrong_number=_wrong_number(context, phone),
    )


def _decide(account: reads.OpenAccount, context: reads.CallContext, now: datetime,
            consented: bool = False,
            ) -> tuple[reads.Phone | None, rules.CallFacts, rules.CallDecision]:
    """The first phone every rule allows now; else the one callable soonest; else the
    primary (with every reason). ``consented``: the customer asked for this call (a
    callback), so the call count and the quiet days after a conversation do not apply."""
    phones: Sequence[reads.Phone | None] = context.phones or [None]
    best: tuple[reads.Phone | None, rules.CallFacts, rules.CallDecision] | None = None
    for phone in phones:
        facts = call_facts(account, context, phone)
        checked = replace(facts, attempts=(), last_conversation_at=None) if consented \
            else facts
        decision = rules.check_call(checked, now)
        if decision.allowed:
            return phone, facts, decision
        if best is None or (decision.next_allowed_at is not None and (
                best[2].next_allowed_at is None
                or decision.next_allowed_at < best[2].next_allowed_at)):
            best = (phone, facts, decision)
    assert best is not None
    return best


def agent_zone(local_zone: tzinfo | None = None) -> tzinfo:
    """The agent's zone: the one given, else the computer's."""
    return local_zone or datetime.now().astimezone().tzinfo or UTC


def worklist(store: Store, now: datetime, limit: int = DEFAULT_LIMIT,
             local_zone: tzinfo | None = None) -> list[WorkItem]:
    """The open debts in the domain's priority order (at most ``limit``), each checked
    for a call at ``now`` (aware). Times are worded in ``local_zone`` (the agent's; the
    computer's zone by default)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("worklist needs an aware datetime for now")
    zone = agent_zone(local_zone)
    local_now = now.astimezone(zone)
    today = local_now.date()
    # Every open debt is ranked; the rest of what orders them (the customer's value and
    # earlier debts: most of the read's cost) is read only for those that may make the
    # list.
    ids = rules.shortlist(reads.ranking_rows(store), today, max(limit, 0))
    accounts = {a.account_id: a for a in reads.open_accounts_by_id(store, ids, today)}
    entries = rules.prioritize(
        (rules.WorklistAccount(a.account_id, a.balance_cents, a.past_due_since, a.risk,
                               a.customer_value_cents, a.times_late_before)
         for a in accounts.values()), today, limit=max(limit, 0))
    shown = [accounts[e.account.account_id] for e in entries]
    contexts = reads.call_context(store, shown, now)
    items: list[WorkItem] = []
    week_ago = now - timedelta(days=WEEK_DAYS)
    for rank, (entry, account) in enumerate(zip(entries, shown, strict=True), start=1):
        context = contexts[account.account_id]
        callback = _callback_waiting(context, now)
        phone, facts, decision = _decide(
            account, context, now, consented=callback is not None and callback <= now)
        promise_words, wait = _waiting(context, today, zone)
        if callback is not None and callback > now:
            wait = (callback, f"The customer asked to be called back "
                    f"{time_words(callback.astimezone(zone), local_now)}.")
        if wait is not None:
            decision = _held(account, context, decision, wait, now,
                             consented=callback is not None)
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
            last_conversation_at=facts.last_conversation_at,
            promise_words=promise_words, callback_at=callback,
            account_treatment=account.treatment,
            validation_notice_sent_on=account.validation_notice_sent_on))
    return items


CALLBACK_GOOD_FOR = timedelta(days=1)
"""How long after the time asked for a callback still counts as the customer's request."""


def _callback_waiting(context: reads.CallContext, now: datetime) -> datetime | None:
    """The callback the customer asked for on the last call, if no call came after it
    and its time is not long past."""
    if not context.attempts:
        return None
    last = max(context.attempts, key=lambda a: a.at)
    if last.callback_at is None or last.callback_at + CALLBACK_GOOD_FOR < now:
        return None
    return last.callback_at


def _midnight_after(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _waiting(context: reads.CallContext, today: date,
             zone: tzinfo) -> tuple[str, tuple[datetime, str] | None]:
    """Words about the debt's promise, and what the list waits for (a promise still
    open, the next installment of an active arrangement) with the reason."""
    words = ""
    wait: tuple[datetime, str] | None = None
    promise = context.promise
    if promise is not None:
        amount = Money(promise.amount_cents).format()
        due = f"{promise.promised_on:%b} {promise.promised_on.day}"
        last_day = promise.promised_on + timedelta(days=rules.PROMISE_GRACE_DAYS)
        if promise.status == rules.PromiseStatus.OPEN and today <= last_day:
            words = f"Promised {amount} by {due}"
            wait = (_midnight_after(last_day, zone),
                    f"Promised {amount} by {due}: wait until then.")
        elif promise.status in (rules.PromiseStatus.OPEN, rules.PromiseStatus.BROKEN):
            words = f"Broke a promise of {amount} due {due}"
        elif promise.status == rules.PromiseStatus.KEPT:
            words = f"Kept a promise of {amount} due {due}"
    due_next = context.arrangement_next_due
    if due_next is not None:
        last_day = due_next + timedelta(days=rules.PROMISE_GRACE_DAYS)
        if today <= last_day:
            until = _midnight_after(last_day, zone)
            if wait is None or until > wait[0]:
                wait = (until, f"On a payment arrangement: the next installment is due "
                               f"{due_next:%b} {due_next.day}.")
    return words, wait


def _held(account: reads.OpenAccount, context: reads.CallContext,
          decision: rules.CallDecision, wait: tuple[datetime, str], now: datetime,
          consented: bool) -> rules.CallDecision:
    """Not now: the debt waits (a promise, an arrangement, a callback time); when the
    wait is over, the first moment the calling rules allow."""
    until, reason = wait
    _, _, then = _decide(account, context, until, consented=consented)
    next_at = until if then.allowed else then.next_allowed_at
    return rules.CallDecision(False, (reason, *decision.reasons), next_at)



# --- recording an outcome --------------------------------------------------------------------

class DebtClosed(UserFacingError):
    """The debt was paid or closed meanwhile: nothing is written; the list refreshes."""


@dataclass(frozen=True, slots=True)
class OutcomeContext:
    """What the outcome dialog and the script panel need for one debt (read off the UI
    thread when the dialog opens): the balance, the call facts (a callback time is checked
    against them as the agent types), the script's names."""

    account_id: str
    customer_id: str
    customer_name: str
    first_name: str
    number: str
    balance_cents: int
    treatment: str
    validation_notice_sent_on: date | None
    facts: rules.CallFacts
    today: date
    zone: tzinfo
    closed_reason: str
    """Why nothing may be recorded (paid, closed), or ""."""


@dataclass(frozen=True, slots=True)
class OutcomeRecorded:
    attempt_id: str
    outcome: rules.Outcome
    summary: str
    customer_id: str
    payment_requested: bool
    changes: Changes


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _open_debt(conn: Any, account_id: str, who: AgentContext, today: date, now: datetime
               ) -> reads.DebtState:
    """The debt as it is now, or DebtClosed saying why nothing more can be done with it
    (gone from the store, paid or closed meanwhile, by whom and how long ago)."""
    state = reads.debt_state(conn, account_id, today)
    if state is None:
        raise DebtClosed("This debt is no longer in the local store; the list is refreshed.")
    closed = _closed_reason(state, who, now)
    if closed:
        raise DebtClosed(closed)
    return state


def closed_since_listed(store: Store, who: AgentContext | None, account_id: str,
                        now: datetime, local_zone: tzinfo | None = None) -> str:
    """Why the debt can no longer be worked (paid or closed since the list was read, by
    whom and how long ago), or "" while it is still open: checked again before a dial."""
    today = now.astimezone(agent_zone(local_zone)).date()
    with store.reading() as session:
        state = reads.debt_state(session.connection(), account_id, today)
    if state is None:
        return "This debt is no longer in the local store; the list is refreshed."
    return _closed_reason(state, who, now)


def _closed_reason(state: reads.DebtState, who: AgentContext | None, now: datetime) -> str:
    if state.status != "open":
        return (f"This debt is {state.status.replace('_', ' ')} now: nothing left to collect; "
                "the list is refreshed.")
    if state.balance_cents > 0:
        return ""
    if state.last_payment_at is None:
        return "Paid in full: nothing left to collect; the list is refreshed."
    by = ("by you" if who is not None and state.last_payment_agent_id == who.agent_id
          else "by another agent")
    return (f"Paid in full {_ago((now - state.last_payment_at).total_seconds())} ago {by}: "
            "nothing left to collect; the list is refreshed.")


def _facts_for(store: Store, state: reads.DebtState, number: str,
               now: datetime) -> tuple[rules.CallFacts, str]:
    account = reads.OpenAccount(
        state.account_id, state.customer_id, state.customer_name, "", now.date(),
        state.placed_balance_cents, 0, 0, 0, state.disputed_on)
    context = reads.call_context(store, [account], now)[state.account_id]
    phone = next((p for p in context.phones if _digits(p.number) == _digits(number)), None) \
        if number else None
    if phone is None:
        phone, facts, _ = _decide(account, context, now)
        return facts, phone.number if phone is not None else ""
    return call_facts(account, context, phone), phone.number


def outcome_context(store: Store, account_id: str, now: datetime, number: str = "",
                    who: AgentContext | None = None,
                    local_zone: tzinfo | None = None) -> OutcomeContext:
    """The debt as it is now (call off the UI thread)."""
    zone = agent_zone(local_zone)
    today = now.astimezone(zone).date()
    with store.engine.connect() as conn:
        state = reads.debt_state(conn, account_id, today)
    if state is None:
        raise UserFacingError("This debt is no longer in the local store; refresh the list.")
    facts, dialed = _facts_for(store, state, number, now)
    return OutcomeContext(
        state.account_id, state.customer_id, state.customer_name, state.first_name, dialed,
        state.balance_cents, state.treatment, state.validation_notice_sent_on, facts, today,
        zone, _closed_reason(state, who, now))


def record_collection_outcome(
        store: Store, who: AgentContext, account_id: str, entry: rules.OutcomeInput, *,
        number: str = "", interaction_id: str | None = None, now: datetime | None = None,
        local_zone: tzinfo | None = None) -> OutcomeRecorded:
    """Record what came of a call on a debt: the call attempt (counted by the calling
    rules: connected, a conversation about the debt), and the promise, arrangement with
    its installments, callback time or dispute it brings, with the audit row and the
    ``record_collection_outcome`` mutation, in one transaction.

    The debt is read again inside the transaction: paid or closed meanwhile (another
    agent took the payment a moment ago), nothing is written (``DebtClosed``)."""
    now = now or datetime.now(UTC)
    zone = agent_zone(local_zone)
    today = now.astimezone(zone).date()
    outcome = rules.Outcome(entry.outcome)
    with store.transaction() as session:
        conn = session.connection()
        state = _open_debt(conn, account_id, who, today, now)
        if state.disputed_on is not None and outcome in (
                rules.Outcome.PROMISE_TO_PAY, rules.Outcome.ARRANGEMENT,
                rules.Outcome.CALLBACK_REQUESTED, rules.Outcome.PAYMENT_TAKEN):
            raise rules.OutcomeError("The customer disputes this debt; collection stops "
                                     "until it is verified.", "outcome")
        facts: rules.CallFacts | None = None
        dialed = number
        if outcome is rules.Outcome.CALLBACK_REQUESTED or not number:
            facts, dialed = _facts_for(store, state, number, now)
        plan = rules.plan_outcome(entry, today=today, now=now,
                                  balance_cents=state.balance_cents, facts=facts)
        attempt_id = new_id()
        note = " ".join(x for x in (plan.summary, entry.note.strip()) if x)
        args: dict[str, Any] = {
            "id": attempt_id, "customer_id": state.customer_id,
            "collection_account_id": state.account_id, "outcome": outcome.value,
            "channel": "call", "destination": dialed, "at": now.isoformat(),
            "today": today.isoformat(), "actor_id": who.agent_id,
            "interaction_id": interaction_id, "note": note,
            "summary": f"{state.customer_name}: {plan.summary}",  # for "needs attention"
            "connected": plan.connected, "conversation": plan.conversation,
            "callback_at": plan.callback_at.isoformat() if plan.callback_at else None,
            "promise": None, "arrangement": None, "dispute": None,
        }
        if plan.promise is not None:
            args["promise"] = {"id": new_id(), "amount_cents": plan.promise.amount_cents,
                               "promised_on": plan.promise.promised_on.isoformat()}
        if plan.installments:
            args["arrangement"] = {
                "id": new_id(), "total_cents": sum(c for _, c in plan.installments),
                "frequency": str(entry.frequency),
                "installments": [{"id": new_id(), "due_on": d.isoformat(), "amount_cents": c}
                                 for d, c in plan.installments]}
        if plan.stops_collection:
            args["dispute"] = {"restriction_id": new_id(), "disputed_on": today.isoformat()}
        reads.apply_record_outcome(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="collections.outcome", entity_type="contact_attempt",
                     entity_id=attempt_id, customer_id=state.customer_id,
                     workstation=who.workstation, at=now,
                     after={"outcome": outcome.value, "collection_account_id": account_id,
                            "summary": plan.summary})
        outbox.enqueue(session, "record_collection_outcome", args)
    return OutcomeRecorded(attempt_id, outcome, plan.summary, state.customer_id,
                           outcome is rules.Outcome.PAYMENT_TAKEN,
                           Changes(customers=frozenset({state.customer_id})))


# --- the gentle reminder ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReminderSent:
    channels: tuple[str, ...]
    """"email" and/or "text", the ones queued."""
    skipped: tuple[str, ...]
    """Why a channel was not used, in words."""
    changes: Changes


_BLOCKS_ALL = {"cease_communication": "The customer asked in writing that we stop "
               "communicating.", "attorney": "The customer is represented by an attorney.",
               "dispute_pending": "The customer disputes this debt."}


def send_reminder(store: Store, who: AgentContext, account_id: str, *,
                  now: datetime | None = None,
                  local_zone: tzinfo | None = None) -> ReminderSent:
    """Queue the gentle reminder (email and text with a self-service payment link) for a
    debt, on the channels the customer allows: no_email / no_text restrictions and the
    contact point's consent are honoured; each message is a contact attempt on its
    channel (not a call). One transaction with the audit row and the
    ``send_collection_reminder`` mutation."""
    now = now or datetime.now(UTC)
    today = now.astimezone(agent_zone(local_zone)).date()
    with store.transaction() as session:
        conn = session.connection()
        state = _open_debt(conn, account_id, who, today, now)
        account = reads.OpenAccount(state.account_id, state.customer_id, "", "", today,
                                    state.placed_balance_cents, 0, 0, 0, state.disputed_on)
        restrictions = reads.call_context(store, [account], now)[account_id].restrictions
        kinds = {r.kind for r in restrictions}
        for kind, words in _BLOCKS_ALL.items():
            if kind in kinds or (kind == "dispute_pending" and state.disputed_on):
                raise UserFacingError(f"{words} No reminder is sent.")
        blocked = {kind: {str(v).lower() for r in restrictions if r.kind == kind
                          for v in r.detail.values()} | ({"*"} if any(
                              r.kind == kind and not r.detail for r in restrictions) else set())
                   for kind in ("no_email", "no_text")}
        skipped: list[str] = []
        email = text = None
        for contact in reads.contacts(conn, state.customer_id):
            value = contact.value.lower()
            if contact.kind == "email" and email is None:
                if not contact.consent_email:
                    skipped.append(f"No consent to email {contact.value}.")
                elif "*" in blocked["no_email"] or value in blocked["no_email"]:
                    skipped.append(f"The customer asked for no email to {contact.value}.")
                else:
                    email = contact
            if contact.kind == "phone" and text is None and contact.line_type == "mobile":
                if not contact.consent_text:
                    skipped.append(f"No consent to text {contact.value}.")
                elif "*" in blocked["no_text"] or value in blocked["no_text"]:
                    skipped.append(f"The customer asked for no texts to {contact.value}.")
                else:
                    text = contact
        if email is None and text is None:
            raise UserFacingError("The reminder cannot be sent: " + (
                " ".join(skipped) or "there is no email address or mobile number on file.")
                + " Call instead, within the calling rules.")
        message = rules.reminder_for(state.first_name, state.balance_cents,
                                     rules.payment_link(state.account_id))
        sent: list[dict[str, Any]] = []
        if email is not None:
            sent.append({"channel": "email", "destination": email.value,
                         "notification_id": new_id(), "attempt_id": new_id(),
                         "subject": message.subject, "body": message.email_body})
        if text is not None:
            sent.append({"channel": "text", "destination": text.value,
                         "notification_id": new_id(), "attempt_id": new_id(),
                         "subject": "", "body": message.text_body})
        args: dict[str, Any] = {"customer_id": state.customer_id,
                                "collection_account_id": account_id, "at": now.isoformat(),
                                "actor_id": who.agent_id, "sent": sent}
        reads.apply_send_reminder(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="collections.reminder", entity_type="collection_account",
                     entity_id=account_id, customer_id=state.customer_id,
                     workstation=who.workstation, at=now,
                     after={"channels": [s["channel"] for s in sent]})
        outbox.enqueue(session, "send_collection_reminder", args)
    return ReminderSent(tuple(s["channel"] for s in sent), tuple(skipped),
                        Changes(customers=frozenset({state.customer_id})))
