"""Collections on the server: the outcome of a call on a debt (``record_collection_outcome``),
the gentle reminder by email and text (``send_collection_reminder``), and the back office's
promise follow-up (``follow_promises``).

The server runs the desk's own rules (domain.collections.plan_outcome): a promise above
what is left to collect, a date past the horizon, installments that do not add up, a
callback at a time the calling rules refuse, any outcome on a debt that was paid or closed
meanwhile: each is refused with the words the desk would have shown. The rows are written
once by the ids the desk made; the same outcome pushed again changes nothing.

Promise follow-up: every few seconds (the order ticker, server_stub.service.Sync) the new
payment rows since the last look (by change_seq, indexed) are matched to the customer's
open promises and open debts. A promise is kept once settled or authorized payments made
since it was recorded reach its amount by the promised date (a day of grace,
domain.collections.PROMISE_GRACE_DAYS); broken once that day has passed without it (the
debt then shows on the worklists again). A debt whose payments reach its placed balance is
marked paid, so every desk's worklist drops it. What each promise and debt has counted is
kept on its row (``paid_cents``, ``counted_payment_ids``: fields desks ignore), so a
payment is never counted twice, also across restarts.
"""

from __future__ import annotations

import weakref
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.domain import collections as rules
from agent_desktop.domain.errors import UserFacingError
from server_stub.mutations import (
    Actor,
    Applier,
    MutationRejected,
    client_at,
    hex_id,
    optional_hex_id,
    put_row,
    update_row,
)
from server_stub.store import SyncedRow, current_change_seq

MAX_NOTE = 4000
BATCH = 20_000
"""Changes looked at per pass at most (a restart catches up over a few ticks)."""
_PAID = ("settled", "authorized")


def _get(session: Session, table: str, row_id: str) -> SyncedRow | None:
    return session.get(SyncedRow, (table, row_id))


def _rows_where(session: Session, table: str, **equal: str) -> list[dict[str, Any]]:
    query = select(SyncedRow.data).where(SyncedRow.table_name == table)
    for key, value in equal.items():
        query = query.where(SyncedRow.data[key].as_string() == value)
    return [dict(d) for d in session.scalars(query)]


def _rules(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None


def _date(value: object, what: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise MutationRejected(f"{what} must be a date (YYYY-MM-DD).") from None


def _when(value: object, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise MutationRejected(f"{what} must be an ISO 8601 date and time.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MutationRejected(f"{what} must be a whole number.")
    return value


def _open_debt(session: Session, args: dict[str, Any]) -> tuple[SyncedRow, str]:
    account_id = hex_id(args, "collection_account_id", "The collection account id")
    customer_id = hex_id(args, "customer_id", "The customer id")
    account = _get(session, "collection_accounts", account_id)
    if account is None or account.data.get("customer_id") != customer_id:
        raise MutationRejected("This debt is not on the server (or not this customer's).")
    status = str(account.data.get("status") or "open")
    if status != "open":
        raise MutationRejected(f"This debt is {status.replace('_', ' ')} now: nothing left "
                               "to collect.")
    if left_to_collect(account.data) <= 0:
        raise MutationRejected("Paid in full: nothing left to collect.")
    return account, customer_id


def left_to_collect(account: dict[str, Any]) -> int:
    """The placed balance less what the server has counted as paid since."""
    return int(account.get("placed_balance_cents") or 0) - int(account.get("paid_cents") or 0)


def _disputed(session: Session, account: SyncedRow) -> bool:
    if account.data.get("disputed_on"):
        return True
    return any(r.get("kind") == "dispute_pending" and r.get("active")
               for r in _rows_where(session, "contact_restrictions",
                                    customer_id=str(account.data["customer_id"])))


def _call_facts(session: Session, account: SyncedRow, number: str) -> rules.CallFacts:
    """The calling rules' facts for a call on this debt to ``number``, from the rows the
    server holds (the desk builds the same from its store)."""
    customer_id = str(account.data["customer_id"])
    zones = sorted({str(a["time_zone"]) for a in _rows_where(
        session, "addresses", customer_id=customer_id) if a.get("time_zone")})
    phones = [c for c in _rows_where(session, "contact_points", customer_id=customer_id)
              if c.get("kind") == "phone"]
    digits = "".join(ch for ch in number if ch.isdigit())[-10:]
    phone = next((p for p in phones if "".join(
        ch for ch in str(p.get("value")) if ch.isdigit())[-10:] == digits), None)
    line_type = None
    if phone is not None:
        line_type = (rules.LineType.WORK if phone.get("label") == "work" else {
            "mobile": rules.LineType.MOBILE, "voip": rules.LineType.MOBILE,
            "landline": rules.LineType.LANDLINE}.get(str(phone.get("line_type"))))
    active = [r for r in _rows_where(session, "contact_restrictions", customer_id=customer_id)
              if r.get("active") and not r.get("ended_at")]
    kinds = {str(r.get("kind")) for r in active}
    inconvenient: list[rules.InconvenientTime] = []
    for r in active:
        if r.get("kind") == "inconvenient_time" and isinstance(r.get("detail"), dict):
            inconvenient.extend(rules.inconvenient_from_detail(r["detail"]))
    work = tuple(str(p.get("value")) for p in phones if p.get("label") == "work")
    return rules.CallFacts(
        debt_id=account.id, time_zones=tuple(zones), number=number, line_type=line_type,
        dial_mode=rules.DialMode.MANUAL,
        cease_communication="cease_communication" in kinds,
        stop_calling=bool(kinds & {"stop_calling", "do_not_call"}),
        attorney_represented="attorney" in kinds,
        dispute_open="dispute_pending" in kinds or bool(account.data.get("disputed_on")),
        no_calls_at_work="no_calls_at_work" in kinds, work_numbers=work,
        inconvenient=tuple(inconvenient))


def _entry(args: dict[str, Any], outcome: rules.Outcome) -> rules.OutcomeInput:
    promise = args.get("promise") if isinstance(args.get("promise"), dict) else None
    arrangement = args.get("arrangement") if isinstance(args.get("arrangement"), dict) \
        else None
    if (promise is not None) != (outcome is rules.Outcome.PROMISE_TO_PAY):
        raise MutationRejected("A promise goes with the outcome promise_to_pay, and only "
                               "with it.")
    if (arrangement is not None) != (outcome is rules.Outcome.ARRANGEMENT):
        raise MutationRejected("An arrangement goes with the outcome arrangement, and only "
                               "with it.")
    entry = rules.OutcomeInput(outcome)
    if promise is not None:
        entry = rules.OutcomeInput(
            outcome, amount_cents=_int(promise.get("amount_cents"), "The promised amount"),
            promised_on=_date(promise.get("promised_on"), "The promised date"))
    if arrangement is not None:
        parts = arrangement.get("installments")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, dict)
                                                               for p in parts):
            raise MutationRejected("An arrangement lists its installments.")
        try:
            frequency = rules.Frequency(arrangement.get("frequency"))
        except ValueError:
            raise MutationRejected("The arrangement's frequency is weekly, biweekly or "
                                   "monthly.") from None
        entry = rules.OutcomeInput(
            outcome, total_cents=_int(arrangement.get("total_cents"), "The arranged total"),
            installments=len(parts), first_due=_date(parts[0].get("due_on"), "A due date"),
            frequency=frequency)
    if outcome is rules.Outcome.CALLBACK_REQUESTED:
        if not args.get("callback_at"):
            raise MutationRejected("A callback needs the time the customer asked for.")
        entry = rules.OutcomeInput(outcome, callback_at=_when(args["callback_at"],
                                                              "The callback time"))
    return entry


def apply_record_collection_outcome(session: Session, actor: Actor, args: dict[str, Any],
                                    now: datetime) -> int | None:
    attempt_id = hex_id(args, "id", "The call attempt's id")
    interaction_id = optional_hex_id(args, "interaction_id", "The interaction id")
    try:
        outcome = rules.Outcome(str(args.get("outcome")))
    except ValueError:
        raise MutationRejected("Unknown outcome; see domain.collections.Outcome.") from None
    existing = _get(session, "contact_attempts", attempt_id)
    if existing is not None:
        if existing.data.get("outcome") == outcome.value and existing.data.get(
                "collection_account_id") == args.get("collection_account_id"):
            return None  # the same outcome again: already recorded
        raise MutationRejected(f"Call attempt {attempt_id} was already recorded with other "
                               "content.", "reused_id")
    account, customer_id = _open_debt(session, args)
    at = client_at(args, now)
    today = _date(args.get("today"), "today")
    if abs((today - at.date()).days) > 1:
        raise MutationRejected("The desk's day does not match the time of the change.")
    note = args.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise MutationRejected(f"The note is text of at most {MAX_NOTE} characters.")
    destination = args.get("destination") or ""
    if not isinstance(destination, str) or len(destination) > 254:
        raise MutationRejected("The number dialed is text of at most 254 characters.")
    entry = _entry(args, outcome)
    if _disputed(session, account) and outcome in (
            rules.Outcome.PROMISE_TO_PAY, rules.Outcome.ARRANGEMENT,
            rules.Outcome.CALLBACK_REQUESTED, rules.Outcome.PAYMENT_TAKEN):
        raise MutationRejected("The customer disputes this debt; collection stops until it "
                               "is verified.")
    facts = _call_facts(session, account, destination) \
        if outcome is rules.Outcome.CALLBACK_REQUESTED else None
    plan = _rules(rules.plan_outcome, entry, today=today, now=at,
                  balance_cents=left_to_collect(account.data), facts=facts)
    arrangement = args.get("arrangement")
    if plan.installments:
        assert isinstance(arrangement, dict)
        sent = [(_date(p.get("due_on"), "A due date"), _int(p.get("amount_cents"), "An amount"))
                for p in arrangement["installments"]]
        if sent != list(plan.installments):
            raise MutationRejected("The installments do not match the plan for this total: "
                                   "they must add up exactly, in the rules' order.")
    stamp = now.isoformat()
    created = str(args.get("at"))
    top = put_row(session, "contact_attempts", attempt_id, {
        "id": attempt_id, "customer_id": customer_id, "collection_account_id": account.id,
        "at": created, "channel": "call", "destination": destination,
        "outcome": outcome.value, "connected": plan.connected,
        "conversation": plan.conversation, "agent_id": actor.user_id,
        "interaction_id": interaction_id, "note": note,
        "callback_at": plan.callback_at.isoformat() if plan.callback_at else None,
        "created_at": created}, now)
    promise = args.get("promise")
    if plan.promise is not None and isinstance(promise, dict):
        promise_id = hex_id(promise, "id", "The promise's id")
        top = max(top, put_row(session, "promises_to_pay", promise_id, {
            "id": promise_id, "customer_id": customer_id, "collection_account_id": account.id,
            "amount_cents": plan.promise.amount_cents,
            "promised_on": plan.promise.promised_on.isoformat(), "status": "open",
            "agent_id": actor.user_id, "interaction_id": interaction_id, "payment_id": None,
            "created_at": created, "updated_at": stamp, "version": 1,
            "paid_cents": 0, "counted_payment_ids": []}, now))
    if plan.installments and isinstance(arrangement, dict):
        arrangement_id = hex_id(arrangement, "id", "The arrangement's id")
        top = max(top, put_row(session, "payment_arrangements", arrangement_id, {
            "id": arrangement_id, "customer_id": customer_id,
            "collection_account_id": account.id,
            "total_cents": sum(c for _, c in plan.installments), "status": "active",
            "agent_id": actor.user_id, "created_at": created, "updated_at": stamp,
            "version": 1}, now))
        for part, (due, cents) in zip(arrangement["installments"], plan.installments,
                                      strict=True):
            part_id = hex_id(part, "id", "An installment's id")
            top = max(top, put_row(session, "arrangement_installments", part_id, {
                "id": part_id, "arrangement_id": arrangement_id, "due_on": due.isoformat(),
                "amount_cents": cents, "status": "scheduled", "payment_id": None,
                "created_at": created, "updated_at": stamp, "version": 1}, now))
    dispute = args.get("dispute")
    if plan.stops_collection:
        if not isinstance(dispute, dict):
            raise MutationRejected("A dispute names its restriction's id.")
        restriction_id = hex_id(dispute, "restriction_id", "The restriction's id")
        if not account.data.get("disputed_on"):
            top = max(top, update_row(session, account, {"disputed_on": today.isoformat()},
                                      now))
        top = max(top, put_row(session, "contact_restrictions", restriction_id, {
            "id": restriction_id, "customer_id": customer_id, "kind": "dispute_pending",
            "detail": {"collection_account_id": account.id,
                       "reason": "disputed on a call"},
            "active": True, "effective_at": created, "ended_at": None, "source": "agent",
            "created_at": created, "updated_at": stamp, "version": 1}, now))
    return top


def apply_send_collection_reminder(session: Session, actor: Actor, args: dict[str, Any],
                                   now: datetime) -> int | None:
    account, customer_id = _open_debt(session, args)
    sent = args.get("sent")
    if not isinstance(sent, list) or not 1 <= len(sent) <= 2 or not all(
            isinstance(s, dict) for s in sent):
        raise MutationRejected("A reminder is one email and/or one text.")
    if len({s.get("channel") for s in sent}) != len(sent):
        raise MutationRejected("A reminder is one email and/or one text.")
    restrictions = [r for r in _rows_where(session, "contact_restrictions",
                                           customer_id=customer_id)
                    if r.get("active") and not r.get("ended_at")]
    kinds = {str(r.get("kind")) for r in restrictions}
    if kinds & {"cease_communication", "attorney", "dispute_pending"} \
            or account.data.get("disputed_on"):
        raise MutationRejected("The customer may not be contacted about this debt (cease, "
                               "attorney or dispute): no reminder is sent.")
    contacts = _rows_where(session, "contact_points", customer_id=customer_id)
    at = str(client_at(args, now).isoformat()) if args.get("at") else now.isoformat()
    written: list[tuple[str, str, dict[str, Any]]] = []
    for s in sent:
        channel, destination = s.get("channel"), str(s.get("destination") or "")
        if channel not in ("email", "text"):
            raise MutationRejected("A reminder goes by email or text.")
        kind = "email" if channel == "email" else "phone"
        contact = next((c for c in contacts if c.get("kind") == kind
                        and str(c.get("value")).lower() == destination.lower()), None)
        if contact is None:
            raise MutationRejected(f"{destination} is not one of the customer's "
                                   f"{'email addresses' if kind == 'email' else 'numbers'}.")
        consent = contact.get("consent_email") if kind == "email" \
            else contact.get("consent_text")
        blocked = "no_email" if kind == "email" else "no_text"
        if not consent or any(r.get("kind") == blocked and (
                not r.get("detail") or destination.lower() in {
                    str(v).lower() for v in dict(r.get("detail") or {}).values()})
                for r in restrictions):
            raise MutationRejected(f"The customer does not allow {channel}s to {destination}.")
        body = s.get("body")
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_NOTE:
            raise MutationRejected("Each message has a text of at most 4000 characters.")
        notification_id = hex_id(s, "notification_id", "The message's id")
        attempt_id = hex_id(s, "attempt_id", "The attempt's id")
        written.append((notification_id, attempt_id, {**s, "channel": channel,
                                                      "destination": destination}))
    top: int | None = None
    for notification_id, attempt_id, s in written:
        if _get(session, "customer_notifications", notification_id) is not None:
            continue  # the same reminder again
        seq = put_row(session, "customer_notifications", notification_id, {
            "id": notification_id, "customer_id": customer_id, "channel": s["channel"],
            "destination": s["destination"], "template": "collections_reminder",
            "subject": str(s.get("subject") or "")[:200], "body": s["body"],
            "status": "sent", "send_after": None, "sent_at": now.isoformat(),
            "related_type": "collection", "related_id": account.id,
            "created_at": at, "updated_at": now.isoformat(), "version": 1}, now)
        seq = put_row(session, "contact_attempts", attempt_id, {
            "id": attempt_id, "customer_id": customer_id, "collection_account_id": account.id,
            "at": at, "channel": s["channel"], "destination": s["destination"],
            "outcome": "sent", "connected": False, "conversation": False,
            "agent_id": actor.user_id, "interaction_id": None,
            "note": "Reminder with a self-service payment link.", "callback_at": None,
            "created_at": at}, now)
        top = seq if top is None else max(top, seq)
    return top


APPLIERS: dict[str, Applier] = {
    "record_collection_outcome": apply_record_collection_outcome,
    "send_collection_reminder": apply_send_collection_reminder,
}
TOUCHES: dict[str, tuple[tuple[str, str], ...]] = {
    "record_collection_outcome": (("collection_accounts", "collection_account_id"),),
}


# --- promise follow-up ------------------------------------------------------------------------

# The highest change_seq already looked at, per database (engine) in this process. Only an
# optimisation: what was counted is kept on the rows, so a restart looks again from the
# oldest open promise and counts nothing twice.
_SEEN: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def _received(data: dict[str, Any]) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(data.get("received_at")))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# When each active arrangement's dates were last looked at (in this process): without a new
# payment, an installment can only become missed as days pass, so once an hour is enough.
ARRANGEMENT_RECHECK = timedelta(hours=1)
_ARRANGEMENT_LOOKED: weakref.WeakKeyDictionary[Any, dict[str, datetime]] = \
    weakref.WeakKeyDictionary()


def _follow_arrangements(session: Session, by_customer: dict[str, list[SyncedRow]],
                         now: datetime, drained: bool, wrote: Any) -> None:
    """Active payment arrangements: the customer's payments since it was made pay its
    installments in due order (``paid``); an installment still unpaid a day of grace after
    its date is ``missed`` and breaks the arrangement (the debt is worked again); all paid,
    it is ``completed``. What was counted is kept on the arrangement."""
    today = now.date()
    looked_at = _ARRANGEMENT_LOOKED.setdefault(session.get_bind(), {})
    for arrangement in session.scalars(select(SyncedRow).where(
            SyncedRow.table_name == "payment_arrangements",
            SyncedRow.data["status"].as_string() == "active")):
        data = dict(arrangement.data)
        fresh = any(r.id not in (data.get("counted_payment_ids") or ())
                    for r in by_customer.get(str(data.get("customer_id")), ()))
        looked = looked_at.get(arrangement.id)
        if not fresh and looked is not None and \
                timedelta(0) <= now - looked < ARRANGEMENT_RECHECK:
            continue  # no new payment, and its dates were looked at less than an hour ago
        looked_at[arrangement.id] = now
        try:
            made = datetime.fromisoformat(str(data.get("created_at")))
        except ValueError:
            continue
        made = made.replace(tzinfo=UTC) if made.tzinfo is None else made
        counted = list(data.get("counted_payment_ids") or [])
        paid = int(data.get("paid_cents") or 0)
        for row in by_customer.get(str(data.get("customer_id")), ()):
            received = _received(row.data)
            if row.id in counted or received is None or received < made - timedelta(
                    minutes=5):
                continue
            counted.append(row.id)
            paid += int(row.data.get("amount_cents") or 0)
        installments = sorted(session.scalars(select(SyncedRow).where(
            SyncedRow.table_name == "arrangement_installments",
            SyncedRow.data["arrangement_id"].as_string() == arrangement.id)),
            key=lambda r: (str(r.data.get("due_on")), r.id))
        credit = paid - sum(int(r.data.get("amount_cents") or 0) for r in installments
                            if r.data.get("status") == "paid")
        status = "active"
        for row in installments:
            if row.data.get("status") == "paid":
                continue
            amount = int(row.data.get("amount_cents") or 0)
            try:
                due = date.fromisoformat(str(row.data.get("due_on")))
            except ValueError:
                continue
            if credit >= amount:
                credit -= amount
                wrote(update_row(session, row, {"status": "paid", "payment_id": (
                    counted[-1] if counted else None)}, now))
            elif drained and due + timedelta(days=rules.PROMISE_GRACE_DAYS) < today:
                wrote(update_row(session, row, {"status": "missed"}, now))
                status = "broken"
                break
            else:
                break
        else:
            status = "completed" if installments else "active"
        if status != "active" or paid != int(data.get("paid_cents") or 0):
            wrote(update_row(session, arrangement, {"status": status, "paid_cents": paid,
                                                    "counted_payment_ids": counted}, now))


def follow_promises(session: Session, now: datetime) -> int | None:
    """Mark open promises kept (payments reached the amount by the promised date) or
    broken (the date passed without it), and debts paid once their payments reach the
    placed balance; returns the highest change_seq written, or None."""
    promises = [row for row in session.scalars(select(SyncedRow).where(
        SyncedRow.table_name == "promises_to_pay",
        SyncedRow.data["status"].as_string() == "open"))]
    bind = session.get_bind()
    seen = _SEEN.get(bind)
    if seen is None:
        floor = min((row.change_seq for row in promises), default=None)
        seen = current_change_seq(session) if floor is None else floor
    # What changed since the last look, by the change_seq index (the table is filtered
    # here: a filter on it in SQL makes SQLite walk every payment by the primary key).
    changed = session.execute(select(SyncedRow.change_seq, SyncedRow.table_name,
                                     SyncedRow.id)
                              .where(SyncedRow.change_seq > seen)
                              .order_by(SyncedRow.change_seq).limit(BATCH)).all()
    drained = len(changed) < BATCH
    last_seq = changed[-1][0] if changed else seen
    by_customer: dict[str, list[SyncedRow]] = {}
    for _seq, table, row_id in changed:
        if table != "payments":
            continue
        row = _get(session, "payments", row_id)
        data = row.data if row is not None else {}
        if row is not None and data.get("entry") == "payment" and data.get("status") in _PAID \
                and not data.get("voided") and not data.get("refunded_cents"):
            by_customer.setdefault(str(data.get("customer_id")), []).append(row)
    top: int | None = None

    def wrote(seq: int) -> None:
        nonlocal top
        top = seq if top is None else max(top, seq)

    for promise in promises:
        data = dict(promise.data)
        counted = list(data.get("counted_payment_ids") or [])
        paid = int(data.get("paid_cents") or 0)
        try:
            promised_on = date.fromisoformat(str(data.get("promised_on")))
            made = datetime.fromisoformat(str(data.get("created_at")))
        except ValueError:
            continue
        made = made.replace(tzinfo=UTC) if made.tzinfo is None else made
        last_day = promised_on + timedelta(days=rules.PROMISE_GRACE_DAYS)
        payment_id = data.get("payment_id")
        for row in by_customer.get(str(data.get("customer_id")), ()):
            received = _received(row.data)
            if row.id in counted or received is None or received < made - timedelta(
                    minutes=5) or received.date() > last_day:
                continue
            counted.append(row.id)
            paid += int(row.data.get("amount_cents") or 0)
            payment_id = row.id
        status = rules.promise_status(
            rules.Promise(int(data.get("amount_cents") or 0), promised_on),
            [(last_day, paid)], now.date(), rules.PROMISE_GRACE_DAYS)
        if status is rules.PromiseStatus.BROKEN and not drained:
            continue  # payments are still to be looked at: not broken yet
        if status is rules.PromiseStatus.OPEN and paid == int(data.get("paid_cents") or 0):
            continue
        wrote(update_row(session, promise, {"status": status.value, "paid_cents": paid,
                                            "counted_payment_ids": counted,
                                            "payment_id": payment_id}, now))
    _follow_arrangements(session, by_customer, now, drained, wrote)
    if by_customer:
        for account in session.scalars(select(SyncedRow).where(
                SyncedRow.table_name == "collection_accounts",
                SyncedRow.data["status"].as_string() == "open")):
            rows = by_customer.get(str(account.data.get("customer_id")), [])
            counted = list(account.data.get("counted_payment_ids") or [])
            fresh = [r for r in rows if r.id not in counted]
            if not fresh:
                continue
            paid = int(account.data.get("paid_cents") or 0) + sum(
                int(r.data.get("amount_cents") or 0) for r in fresh)
            changes: dict[str, Any] = {"paid_cents": paid,
                                       "counted_payment_ids": counted + [r.id for r in fresh]}
            if paid >= int(account.data.get("placed_balance_cents") or 0):
                changes["status"] = "paid"
            wrote(update_row(session, account, changes, now))
    _SEEN[bind] = last_seq  # the rows this pass wrote come next time, and are skipped
    return top
