"""The case mutations on the server: the same rules as the desk (domain.cases), applied to
the server's rows, so a change made offline that no longer fits (a case another agent
resolved meanwhile, a merge into a case that was itself merged) is refused with the
reason the agent sees in "needs attention", never silently overwritten.

Timeline events are append-only rows; the pushing user is the actor whatever the args
say. A status change sent "to the customer" records the email or text the customer gets
(the stub's stand-in for a mail/SMS gateway: recorded as sent).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent_desktop.domain import cases as rules
from agent_desktop.domain.errors import UserFacingError
from server_stub.mutations import (
    Actor,
    MutationRejected,
    hex_id,
    optional_hex_id,
    put_row,
)
from server_stub.mutations import (
    client_at as _at,
)
from server_stub.store import SyncedRow


def _get(session: Session, table: str, row_id: str) -> SyncedRow | None:
    return session.get(SyncedRow, (table, row_id))


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value




def _case(session: Session, args: dict[str, Any], key: str = "case_id") -> SyncedRow:
    case_id = hex_id(args, key, "The case id")
    row = _get(session, "cases", case_id)
    if row is None:
        raise MutationRejected(f"There is no case {case_id} on the server.")
    return row


def _facts(row: SyncedRow) -> rules.CaseFacts:
    try:
        return rules.CaseFacts.of(row.data)
    except (UserFacingError, ValueError) as exc:
        raise MutationRejected(f"The case's stored data is unreadable ({exc}).") from None


def _event(session: Session, args: dict[str, Any], actor: Actor, case_id: str, at: datetime,
           kind: str, now: datetime, *, key: str = "event_id", body: str = "",
           visibility: str = "internal", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, seconds_spent: int = 0) -> int:
    event_id = hex_id(args, key, "The event id")
    if _get(session, "case_events", event_id) is not None:
        raise MutationRejected(f"Event {event_id} already exists; events are never changed.")
    return put_row(session, "case_events", event_id, {
        "id": event_id, "case_id": case_id, "at": at.isoformat(), "actor_id": actor.user_id,
        "kind": kind, "visibility": visibility, "body": body, "before": before or {},
        "after": after or {}, "seconds_spent": seconds_spent,
        "created_at": at.isoformat()}, now)


def _change(row: SyncedRow, fields: dict[str, object], at: datetime,
            session: Session) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    before = {k: row.data.get(k) for k in fields}
    after = {k: _iso(v) for k, v in fields.items()}
    version = row.data.get("version")
    data = {**row.data, **after, "updated_at": at.isoformat(),
            "version": (version if isinstance(version, int) else 0) + 1}
    return before, after, data


def _rules(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None


def _invoice_line(session: Session, args: dict[str, Any]) -> str | None:
    """A dispute's invoice line: it must be a line of the case's invoice."""
    line_id = optional_hex_id(args, "invoice_line_id", "The invoice line id")
    if line_id is None:
        return None
    line = _get(session, "invoice_lines", line_id)
    if line is None or line.data.get("invoice_id") != args.get("invoice_id"):
        raise MutationRejected("The disputed line is not a line of that invoice.")
    return line_id


def apply_create_case(session: Session, actor: Actor, args: dict[str, Any],
                      now: datetime) -> int | None:
    case_id = hex_id(args, "id", "The case id")
    if _get(session, "cases", case_id) is not None:
        raise MutationRejected(f"Case {case_id} already exists.")
    subject, description = _rules(rules.check_new_case, str(args.get("type")),
                                  str(args.get("priority")), args.get("subject"),
                                  args.get("description", ""))
    customer_id = optional_hex_id(args, "customer_id", "The customer id")
    if customer_id is not None and _get(session, "customers", customer_id) is None:
        raise MutationRejected("The customer is not on the server (merged or removed?); "
                               "open the case on the customer it was merged into.")
    parent = optional_hex_id(args, "parent_case_id", "The parent case id")
    if parent is not None and _get(session, "cases", parent) is None:
        raise MutationRejected("The parent case is not on the server.")
    at = _at(args, now)
    routed = rules.route(str(args["type"]), str(args.get("category") or ""),
                         str(args.get("product_family") or ""))
    data = {
        "id": case_id, "case_number": rules.case_number(case_id), "customer_id": customer_id,
        "type": args["type"], "status": "new", "priority": args["priority"],
        "subject": subject, "description": description,
        "category": str(args.get("category") or ""), "product_sku": args.get("product_sku"),
        "queue": routed.queue, "required_skill": routed.skill, "assigned_agent_id": None,
        "parent_case_id": parent, "merged_into_id": None,
        "invoice_id": optional_hex_id(args, "invoice_id", "The invoice id"),
        "invoice_line_id": _invoice_line(session, args),
        "order_id": optional_hex_id(args, "order_id", "The order id"),
        "payment_id": optional_hex_id(args, "payment_id", "The payment id"),
        "interaction_id": optional_hex_id(args, "interaction_id", "The interaction id"),
        "opened_at": at.isoformat(),
        "due_at": _rules(rules.due_at, at, str(args["type"]), str(args["priority"])
                         ).isoformat(),
        "sla_paused_seconds": 0, "pending_since": None, "resolved_at": None,
        "closed_at": None, "created_at": at.isoformat(), "updated_at": at.isoformat(),
        "version": 1,
    }
    put_row(session, "cases", case_id, data, now)
    return _event(session, args, actor, case_id, at, "created", now, body=subject,
                  after={"status": "new", "priority": data["priority"],
                         "queue": data["queue"]})


def apply_change_case_status(session: Session, actor: Actor, args: dict[str, Any],
                             now: datetime) -> int | None:
    row = _case(session, args)
    at = _at(args, now)
    fields = _rules(rules.plan_status_change, _facts(row), str(args.get("status")), at)
    before, after, data = _change(row, fields, at, session)
    put_row(session, "cases", row.id, data, now)
    notify = bool(args.get("notify"))
    body = str(args.get("body") or "")[: rules.MAX_CASE_TEXT]
    seq = _event(session, args, actor, row.id, at, "status_changed", now, body=body,
                 visibility="customer" if notify else "internal",
                 before={"status": before["status"]}, after={"status": after["status"]})
    if notify:
        seq = _notify(session, args, row.data, after["status"], body, at, now) or seq
    return seq


def _notify(session: Session, args: dict[str, Any], case: dict[str, Any], status: str,
            body: str, at: datetime, now: datetime) -> int | None:
    """Record the update the customer gets, on a contact point that allows it."""
    contact_id = optional_hex_id(args, "notify_contact_id", "The contact point id")
    notification_id = optional_hex_id(args, "notification_id", "The notification id")
    if contact_id is None or notification_id is None:
        return None
    contact = _get(session, "contact_points", contact_id)
    if contact is None or contact.data.get("customer_id") != case.get("customer_id"):
        raise MutationRejected("That phone number or email is not the case customer's.")
    kind = contact.data.get("kind")
    allowed = contact.data.get("consent_email") if kind == "email" else \
        contact.data.get("consent_text")
    if not allowed:
        raise MutationRejected("The customer has not agreed to updates on that "
                               f"{'email address' if kind == 'email' else 'number'}.")
    label = rules.STATUS_LABELS.get(status, status)
    return put_row(session, "customer_notifications", notification_id, {
        "id": notification_id, "customer_id": case.get("customer_id"),
        "channel": "email" if kind == "email" else "sms",
        "destination": contact.data.get("value"), "template": "case_status",
        "subject": f"Your case {case.get('case_number')}: {label}", "body": body,
        "status": "sent", "send_after": None, "sent_at": now.isoformat(),
        "related_type": "case", "related_id": case.get("id"),
        "created_at": at.isoformat(), "updated_at": now.isoformat(), "version": 1}, now)


def apply_set_case_priority(session: Session, actor: Actor, args: dict[str, Any],
                            now: datetime) -> int | None:
    row = _case(session, args)
    at = _at(args, now)
    fields = _rules(rules.plan_priority_change, _facts(row), str(args.get("priority")))
    before, after, data = _change(row, fields, at, session)
    put_row(session, "cases", row.id, data, now)
    return _event(session, args, actor, row.id, at,
                  "escalated" if args.get("escalate") else "priority", now,
                  body=str(args.get("body") or "")[: rules.MAX_CASE_TEXT],
                  before={"priority": before["priority"]},
                  after={"priority": after["priority"]})


def apply_assign_case(session: Session, actor: Actor, args: dict[str, Any],
                      now: datetime) -> int | None:
    row = _case(session, args)
    at = _at(args, now)
    agent_id = optional_hex_id(args, "agent_id", "The agent id")
    skills: list[str] | None = None
    if agent_id is not None:
        agent = _get(session, "agents", agent_id)
        if agent is None:
            raise MutationRejected("That agent is not on the server.")
        skills = [str(s) for s in agent.data.get("skills") or []]
    _rules(rules.check_assignment, _facts(row), skills)
    if row.data.get("assigned_agent_id") == agent_id:
        raise MutationRejected("The case is already assigned so.")
    before, after, data = _change(row, {"assigned_agent_id": agent_id}, at, session)
    put_row(session, "cases", row.id, data, now)
    return _event(session, args, actor, row.id, at, "assigned", now, before=before,
                  after=after)


def apply_add_case_note(session: Session, actor: Actor, args: dict[str, Any],
                        now: datetime) -> int | None:
    row = _case(session, args)
    body = _rules(rules.check_case_text, args.get("body"))
    seconds = args.get("seconds_spent", 0)
    if not isinstance(seconds, int) or isinstance(seconds, bool) or \
            not 0 <= seconds <= 24 * 3600:
        raise MutationRejected("Time spent must be between 0 and 24 hours (in seconds).")
    visibility = args.get("visibility", "internal")
    if visibility not in ("internal", "customer"):
        raise MutationRejected("A case note is internal or a message to the customer.")
    return _event(session, args, actor, row.id, _at(args, now), "comment", now,
                  body=body, visibility=str(visibility), seconds_spent=seconds)


def apply_merge_cases(session: Session, actor: Actor, args: dict[str, Any],
                      now: datetime) -> int | None:
    source = _case(session, args)
    target = _case(session, args, "into_case_id")
    at = _at(args, now)
    _rules(rules.check_merge, _facts(source), _facts(target), source.id, target.id,
           source.data.get("customer_id") == target.data.get("customer_id"))
    before, after, data = _change(source, {"merged_into_id": target.id, "status": "closed",
                                           "closed_at": at, "pending_since": None},
                                  at, session)
    put_row(session, "cases", source.id, data, now)
    _event(session, args, actor, source.id, at, "merged", now,
           body=f"Merged into {target.data.get('case_number')}.", before=before, after=after)
    return _event(session, args, actor, target.id, at, "merged_in", now,
                  key="target_event_id",
                  body=f"{source.data.get('case_number')} merged into this case.",
                  after={"merged_case_id": source.id})


def apply_link_article(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    row = _case(session, args)
    article_id = hex_id(args, "article_id", "The article id")
    key = f"{row.id}/{article_id}"
    if _get(session, "case_articles", key) is not None:
        return None  # already linked
    at = _at(args, now)
    return put_row(session, "case_articles", key, {
        "case_id": row.id, "article_id": article_id, "linked_at": at.isoformat(),
        "linked_by": actor.user_id}, now)


CaseApplier = Callable[[Session, Actor, dict[str, Any], datetime], int | None]

APPLIERS: dict[str, CaseApplier] = {
    "create_case": apply_create_case,
    "change_case_status": apply_change_case_status,
    "set_case_priority": apply_set_case_priority,
    "assign_case": apply_assign_case,
    "add_case_note": apply_add_case_note,
    "merge_cases": apply_merge_cases,
    "link_article": apply_link_article,
}
