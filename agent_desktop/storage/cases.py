"""Cases in the store: the local effect of each case change, and the queries the screens use.

Each ``apply_*`` function is the one place a case change is written on the desk: when the
agent makes it (services.cases, in the same transaction as its audit row and outbox
mutation) and again when a pull is rebased under a change the server has not answered
yet (sync_store.REAPPLY). The rules come from domain.cases, the same ones the server
enforces; a change that no longer fits raises UserFacingError.

Every change is also an event on the case's timeline (who, what, when, before, after);
events are append-only, so a merge never moves them: the case that continues shows the
timelines of the cases merged into it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from agent_desktop.domain import cases as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.storage.models import Agent, Case, CaseArticle, CaseEvent, Customer
from agent_desktop.storage.store import Store


def _at(args: dict[str, Any]) -> datetime:
    value = args.get("at")
    if not isinstance(value, str):
        raise UserFacingError("The change has no time.")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _case(session: Session, case_id: object) -> Case:
    case = session.get(Case, case_id) if isinstance(case_id, str) else None
    if case is None:
        raise UserFacingError("That case is not in the local store; search again.")
    return case


def _facts(case: Case) -> rules.CaseFacts:
    return rules.CaseFacts(
        status=case.status, type=case.type, priority=case.priority, opened_at=case.opened_at,
        resolved_at=case.resolved_at, pending_since=case.pending_since,
        sla_paused_seconds=case.sla_paused_seconds, merged_into_id=case.merged_into_id,
        required_skill=case.required_skill)


def _event(session: Session, args: dict[str, Any], case_id: str, kind: str, *,
           body: str = "", visibility: str = "internal", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, seconds_spent: int = 0) -> None:
    if session.get(CaseEvent, args["event_id"]) is not None:
        return  # re-applied: the event is already on the timeline
    session.add(CaseEvent(
        id=args["event_id"], case_id=case_id, at=_at(args), created_at=_at(args),
        actor_id=args.get("actor_id"),
        kind=kind, visibility=visibility, body=body, before=before or {},
        after=after or {}, seconds_spent=seconds_spent))


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _set(case: Case, fields: dict[str, object]) -> tuple[dict[str, Any], dict[str, Any]]:
    before = {k: _plain(getattr(case, k)) for k in fields}
    for key, value in fields.items():
        setattr(case, key, value)
    case.version += 1
    return before, {k: _plain(v) for k, v in fields.items()}


# --- the local effect of each case mutation ---------------------------------------------------

def apply_create_case(session: Session, args: dict[str, Any]) -> Case:
    existing = session.get(Case, args["id"])
    if existing is not None:
        return existing  # re-applied
    subject, description = rules.check_new_case(
        str(args.get("type")), str(args.get("priority")), args.get("subject"),
        args.get("description", ""))
    customer_id = args.get("customer_id")
    if customer_id is not None and session.get(Customer, customer_id) is None:
        raise UserFacingError("This customer is no longer in the local store; search again.")
    opened = _at(args)
    routed = rules.route(str(args["type"]), str(args.get("category") or ""),
                         str(args.get("product_family") or ""))
    case = Case(
        id=args["id"], case_number=rules.case_number(args["id"]), customer_id=customer_id,
        type=args["type"], status="new", priority=args["priority"], subject=subject,
        description=description, category=str(args.get("category") or ""),
        product_sku=args.get("product_sku"), queue=routed.queue,
        required_skill=routed.skill, assigned_agent_id=args.get("assigned_agent_id"),
        parent_case_id=args.get("parent_case_id"), invoice_id=args.get("invoice_id"),
        invoice_line_id=args.get("invoice_line_id"),
        order_id=args.get("order_id"), payment_id=args.get("payment_id"),
        interaction_id=args.get("interaction_id"), opened_at=opened,
        due_at=rules.due_at(opened, str(args["type"]), str(args["priority"])),
        sla_paused_seconds=0, created_at=opened, updated_at=opened)
    session.add(case)
    session.flush()
    _event(session, args, case.id, "created", body=subject, after={
        "status": "new", "priority": case.priority, "queue": case.queue})
    return case


def apply_change_case_status(session: Session, args: dict[str, Any]) -> None:
    case = _case(session, args.get("case_id"))
    fields = rules.plan_status_change(_facts(case), str(args.get("status")), _at(args))
    before, after = _set(case, fields)
    body = str(args.get("body") or "")
    _event(session, args, case.id, "status_changed", body=body,
           visibility="customer" if args.get("notify") else "internal",
           before={"status": before["status"]}, after={"status": after["status"]})


def apply_set_case_priority(session: Session, args: dict[str, Any]) -> None:
    case = _case(session, args.get("case_id"))
    fields = rules.plan_priority_change(_facts(case), str(args.get("priority")))
    before, after = _set(case, fields)
    _event(session, args, case.id, "escalated" if args.get("escalate") else "priority",
           body=str(args.get("body") or ""), before={"priority": before["priority"]},
           after={"priority": after["priority"]})


def apply_assign_case(session: Session, args: dict[str, Any]) -> None:
    case = _case(session, args.get("case_id"))
    agent_id = args.get("agent_id")
    skills = None
    if agent_id is not None:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise UserFacingError("That agent is not known on this desk.")
        skills = list(agent.skills or [])
    rules.check_assignment(_facts(case), skills)
    if case.assigned_agent_id == agent_id:
        raise UserFacingError("The case is already assigned so.")
    before, after = _set(case, {"assigned_agent_id": agent_id})
    _event(session, args, case.id, "assigned", before=before, after=after)


def apply_add_case_note(session: Session, args: dict[str, Any]) -> None:
    case = _case(session, args.get("case_id"))
    body = rules.check_case_text(args.get("body"))
    seconds = args.get("seconds_spent", 0)
    if not isinstance(seconds, int) or not 0 <= seconds <= 24 * 3600:
        raise UserFacingError("Time spent must be between 0 and 24 hours.")
    visibility = args.get("visibility", "internal")
    if visibility not in ("internal", "customer"):
        raise UserFacingError("A case note is internal or a message to the customer.")
    _event(session, args, case.id, "comment", body=body, visibility=visibility,
           seconds_spent=seconds)


def apply_merge_cases(session: Session, args: dict[str, Any]) -> None:
    source = _case(session, args.get("case_id"))
    target = _case(session, args.get("into_case_id"))
    if source.merged_into_id == target.id:
        return  # re-applied
    rules.check_merge(_facts(source), _facts(target), source.id, target.id,
                      source.customer_id == target.customer_id)
    at = _at(args)
    before, after = _set(source, {"merged_into_id": target.id, "status": "closed",
                                  "closed_at": at, "pending_since": None})
    _event(session, args, source.id, "merged", body=f"Merged into {target.case_number}.",
           before=before, after=after)
    _event(session, {**args, "event_id": args["target_event_id"]}, target.id, "merged_in",
           body=f"{source.case_number} merged into this case.",
           after={"merged_case_id": source.id})


def apply_link_article(session: Session, args: dict[str, Any]) -> None:
    case = _case(session, args.get("case_id"))
    article_id = args.get("article_id")
    if session.get(CaseArticle, (case.id, article_id)) is not None:
        return
    session.add(CaseArticle(case_id=case.id, article_id=article_id, linked_at=_at(args),
                            linked_by=args.get("actor_id")))


LOCAL: dict[str, Callable[[Session, dict[str, Any]], object]] = {
    "create_case": apply_create_case,
    "change_case_status": apply_change_case_status,
    "set_case_priority": apply_set_case_priority,
    "assign_case": apply_assign_case,
    "add_case_note": apply_add_case_note,
    "merge_cases": apply_merge_cases,
    "link_article": apply_link_article,
}


def reapply(name: str) -> Callable[[Session, dict[str, Any]], None]:
    """For the rebase: re-apply a pending change; one that no longer fits the pulled
    state is left to the server to refuse (it will show in "needs attention")."""
    return reapply_with(LOCAL[name])


def reapply_with(apply: Callable[[Session, dict[str, Any]], object]
                 ) -> Callable[[Session, dict[str, Any]], None]:
    def run(session: Session, args: dict[str, Any]) -> None:
        try:
            with session.begin_nested():
                apply(session, args)
        except UserFacingError:
            pass
    return run


# --- what the screens read ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CaseListRow:
    id: str
    case_number: str
    subject: str
    customer_id: str | None
    customer_name: str
    type: str
    status: str
    priority: str
    queue: str
    assigned_agent_id: str | None
    assigned_name: str
    opened_at: datetime
    due_at: datetime | None
    pending_since: datetime | None
    sla_paused_seconds: int
    updated_at: datetime


VIEWS = ("mine", "my_queue", "due_today", "breached", "unassigned", "all_open")

_LIST = (
    "SELECT c.id, c.case_number, c.subject, c.customer_id, COALESCE(u.display_name, ''),"
    " c.type, c.status, c.priority, c.queue, c.assigned_agent_id,"
    " COALESCE(a.display_name, ''), c.opened_at, c.due_at, c.pending_since,"
    " c.sla_paused_seconds, c.updated_at"
    " FROM cases c LEFT JOIN customers u ON u.id = c.customer_id"
    " LEFT JOIN agents a ON a.id = c.assigned_agent_id"
)
_OPEN = "c.status IN ('new','open','pending_customer','pending_internal')"


def _ts(value: object) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def list_cases(conn: Connection, view: str, agent_id: str | None, queues: list[str],
               now: datetime, text: str = "", limit: int = 100_000) -> list[CaseListRow]:
    """The cases of a saved view, most urgent first. ``queues``: the agent's queues
    (from their skills); ``text`` filters on number, subject and customer name."""
    where = [_OPEN, "c.merged_into_id IS NULL"]
    params: list[Any] = []
    if view == "mine":
        where.append("c.assigned_agent_id = ?")
        params.append(agent_id)
    elif view == "my_queue":
        where.append(f"c.queue IN ({', '.join('?' for _ in queues) or 'NULL'})")
        params.extend(queues)
    elif view == "due_today":
        end = end_of_day(now)  # the contact center's day, not UTC's
        where.append("c.due_at <= ? AND c.status <> 'pending_customer'")
        params.append(end.astimezone(UTC).replace(tzinfo=None).isoformat(" "))
    elif view == "breached":
        where.append("c.due_at < ? AND c.status <> 'pending_customer'")
        params.append(now.astimezone(UTC).replace(tzinfo=None).isoformat(" "))
    elif view == "unassigned":
        where.append("c.assigned_agent_id IS NULL")
    elif view != "all_open":
        raise ValueError(f"unknown case view {view!r}")
    needle = " ".join(text.split()).lower()
    if needle:
        where.append("(lower(c.case_number) LIKE ? OR lower(c.subject) LIKE ? "
                     "OR lower(u.display_name) LIKE ?)")
        params.extend([f"%{needle}%"] * 3)
    sql = (f"{_LIST} WHERE {' AND '.join(where)} ORDER BY c.due_at IS NULL, c.due_at, "
           "c.opened_at LIMIT ?")
    params.append(limit)
    return [CaseListRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                        r[10], _ts(r[11]) or now, _ts(r[12]), _ts(r[13]), int(r[14] or 0),
                        _ts(r[15]) or now)
            for r in conn.exec_driver_sql(sql, tuple(params)).fetchall()]


@dataclass(frozen=True, slots=True)
class CaseEventRow:
    id: str
    case_id: str
    case_number: str
    at: datetime
    actor_name: str
    kind: str
    visibility: str
    body: str
    before: str
    after: str
    seconds_spent: int


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: CaseListRow
    description: str
    category: str
    product_sku: str | None
    required_skill: str
    resolved_at: datetime | None
    closed_at: datetime | None
    merged_into: str | None  # the continuing case's number
    parent_case_id: str | None
    invoice_id: str | None
    order_id: str | None
    payment_id: str | None
    events: tuple[CaseEventRow, ...]
    merged_in: tuple[str, ...]  # numbers of cases merged into this one
    children: tuple[tuple[str, str, str], ...]  # (id, number, subject)
    articles: tuple[tuple[str, str, str], ...]  # (id, code, title)
    seconds_spent: int


def case_detail(conn: Connection, case_id: str, now: datetime) -> CaseDetail | None:
    row = conn.exec_driver_sql(f"{_LIST} WHERE c.id = ?", (case_id,)).fetchone()
    if row is None:
        return None
    head = CaseListRow(str(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                       row[8], row[9], row[10], _ts(row[11]) or now, _ts(row[12]),
                       _ts(row[13]), int(row[14] or 0), _ts(row[15]) or now)
    more = conn.exec_driver_sql(
        "SELECT c.description, c.category, c.product_sku, c.required_skill, c.resolved_at,"
        " c.closed_at, m.case_number, c.parent_case_id, c.invoice_id, c.order_id,"
        " c.payment_id FROM cases c LEFT JOIN cases m ON m.id = c.merged_into_id"
        " WHERE c.id = ?", (case_id,)).one()
    merged = conn.exec_driver_sql(
        "SELECT id, case_number FROM cases WHERE merged_into_id = ?", (case_id,)).fetchall()
    ids = [case_id, *[m[0] for m in merged]]
    marks = ", ".join("?" for _ in ids)
    events = tuple(
        CaseEventRow(str(e[0]), str(e[1]), e[2], _ts(e[3]) or now, e[4] or "", e[5], e[6],
                     e[7], e[8] or "{}", e[9] or "{}", int(e[10] or 0))
        for e in conn.exec_driver_sql(
            "SELECT e.id, e.case_id, c.case_number, e.at, a.display_name, e.kind,"
            " e.visibility, e.body, e.before, e.after, e.seconds_spent"
            " FROM case_events e JOIN cases c ON c.id = e.case_id"
            " LEFT JOIN agents a ON a.id = e.actor_id"
            f" WHERE e.case_id IN ({marks}) ORDER BY e.at DESC, e.id", tuple(ids)))
    children = tuple((str(c[0]), c[1], c[2]) for c in conn.exec_driver_sql(
        "SELECT id, case_number, subject FROM cases WHERE parent_case_id = ? "
        "ORDER BY opened_at", (case_id,)))
    articles = tuple((str(a[0]), a[1], a[2]) for a in conn.exec_driver_sql(
        "SELECT k.id, k.code, k.title FROM case_articles l JOIN knowledge_articles k "
        "ON k.id = l.article_id WHERE l.case_id = ? ORDER BY l.linked_at", (case_id,)))
    return CaseDetail(
        head, more[0], more[1], more[2], more[3], _ts(more[4]), _ts(more[5]), more[6],
        more[7], more[8], more[9], more[10], events, tuple(m[1] for m in merged), children,
        articles, sum(e.seconds_spent for e in events))


def agent_skills(session: Session, agent_id: str | None) -> list[str]:
    if agent_id is None:
        return []
    skills = session.scalar(select(Agent.skills).where(Agent.id == agent_id))
    return [str(s) for s in skills or []]


# --- the case list at scale -----------------------------------------------------------------
#
# A saved view can hold tens of thousands of cases. The list reads only the ordered ids of
# the view, then the rows of the screenful the agent looks at (``CaseListQueries.rows``);
# the text filter runs in memory over one line of searchable text per working case.
#
# The queries are written for this index over the working cases (docs/PERFORMANCE.md, "Case
# list"): it gives every view its order without a sort and holds what the views filter on.
WORKLIST_INDEX = "ix_cases_worklist"
WORKLIST_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {WORKLIST_INDEX} ON cases (due_at, opened_at, status, queue,"
    " assigned_agent_id, id, customer_id, case_number, subject)"
    " WHERE status IN ('new','open','pending_customer','pending_internal')"
    " AND merged_into_id IS NULL")

WORKING = ("c.status IN ('new','open','pending_customer','pending_internal')"
           " AND c.merged_into_id IS NULL")
# Most urgent first. Without "due_at IS NULL" in front (list_cases has it) so that an
# index on (due_at, opened_at) over the working cases can give the order without a sort;
# a working case always has a due time.
_URGENT_FIRST = "ORDER BY c.due_at, c.opened_at"


def end_of_day(now: datetime, zone: str = rules.DEFAULT_CALENDAR.zone) -> datetime:
    """The last moment of today in the contact center's time zone ("due today")."""
    local = now.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date(), time(23, 59, 59), local.tzinfo).astimezone(UTC)


def _naive(at: datetime) -> str:
    """A moment as the store writes it (naive UTC), for comparisons in SQL."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _view_filter(view: str, agent_id: str | None, queues: list[str], now: datetime,
                 day_end: datetime) -> tuple[str, list[Any]]:
    if view == "mine":
        return " AND c.assigned_agent_id = ?", [agent_id]
    if view == "my_queue":
        return f" AND c.queue IN ({', '.join('?' for _ in queues) or 'NULL'})", list(queues)
    if view == "due_today":
        return " AND c.due_at <= ? AND c.status <> 'pending_customer'", [_naive(day_end)]
    if view == "breached":
        return " AND c.due_at < ? AND c.status <> 'pending_customer'", [_naive(now)]
    if view == "unassigned":
        return " AND c.assigned_agent_id IS NULL", []
    if view == "all_open":
        return "", []
    raise ValueError(f"unknown case view {view!r}")


def _list_row(r: Any, now: datetime) -> CaseListRow:
    return CaseListRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                       r[10], _ts(r[11]) or now, _ts(r[12]), _ts(r[13]), int(r[14] or 0),
                       _ts(r[15]) or now)


class CaseListQueries:
    """The case list's reads on one pooled driver connection in autocommit, like the
    customer lookup (storage.lookup): each SELECT is its own short read. Open it on the
    thread that uses it."""

    def __init__(self, store: Store) -> None:
        self._pooled = store.engine.raw_connection()
        self._cursor = self._pooled.cursor()
        self._worklist = self._cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
            (WORKLIST_INDEX,)).fetchone() is not None

    def close(self) -> None:
        self._cursor.close()
        self._pooled.close()

    def view_ids(self, view: str, agent_id: str | None, queues: list[str], now: datetime,
                 day_end: datetime) -> list[str]:
        """The ids of a saved view's cases, most urgent first."""
        extra, params = _view_filter(view, agent_id, queues, now, day_end)
        if view == "unassigned" and self._worklist:
            # "+": not the assignee index. Unassigned cases are many; reading the working
            # cases in due order is cheaper than finding them there and sorting them.
            extra = extra.replace("c.assigned_agent_id", "+c.assigned_agent_id")
        sql = f"SELECT c.id FROM cases c WHERE {WORKING}{extra} {_URGENT_FIRST}"
        return [r[0] for r in self._cursor.execute(sql, params).fetchall()]

    def search_text(self) -> dict[str, str]:
        """Every working case's number, subject and customer name, lowercased: what the
        filter box matches."""
        # Ordered only so that the planner reads the working cases' index (when the store
        # has one) rather than every case with a working status's row.
        sql = ("SELECT c.id, lower(c.case_number || ' ' || c.subject || ' '"
               " || COALESCE(u.display_name, '')) FROM cases c"
               f" LEFT JOIN customers u ON u.id = c.customer_id WHERE {WORKING}"
               f" {_URGENT_FIRST}")
        return dict(self._cursor.execute(sql).fetchall())

    def counts(self, agent_id: str | None, queues: list[str], now: datetime,
               day_end: datetime) -> dict[str, int]:
        """How many cases each saved view holds, in one pass over the working cases."""
        sums = []
        params: list[Any] = []
        for view in VIEWS:
            extra, more = _view_filter(view, agent_id, queues, now, day_end)
            sums.append(f"COALESCE(SUM(CASE WHEN 1{extra} THEN 1 END), 0)")
            params.extend(more)
        # The inner query is ordered for the same reason as search_text's.
        row = self._cursor.execute(
            f"SELECT {', '.join(sums)} FROM (SELECT c.due_at, c.status, c.queue,"
            f" c.assigned_agent_id FROM cases c WHERE {WORKING} {_URGENT_FIRST}) c",
            params).fetchone()
        return {view: int(n) for view, n in zip(VIEWS, row, strict=True)}

    def rows(self, ids: list[str], now: datetime) -> list[CaseListRow]:
        """The list rows of ``ids``, in that order (ids no longer in the store are left
        out)."""
        found: dict[str, CaseListRow] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for r in self._cursor.execute(f"{_LIST} WHERE c.id IN ({marks})", chunk):
                found[str(r[0])] = _list_row(r, now)
        return [found[i] for i in ids if i in found]


# --- what the case detail and its actions need --------------------------------------------------

def link_descriptions(conn: Connection, invoice_id: str | None, order_id: str | None,
                      payment_id: str | None) -> dict[str, tuple[str, int, str]]:
    """{"invoice" | "order" | "payment": (number, amount in cents, when)} of a case's
    linked records that are in the store."""
    out: dict[str, tuple[str, int, str]] = {}
    if invoice_id:
        r = conn.exec_driver_sql(
            "SELECT invoice_number, total_cents, issued_on FROM invoices WHERE id = ?",
            (invoice_id,)).first()
        if r is not None:
            out["invoice"] = (str(r[0]), int(r[1]), str(r[2]))
    if order_id:
        r = conn.exec_driver_sql(
            "SELECT order_number, one_time_total_cents, COALESCE(placed_at, updated_at), status"
            " FROM orders WHERE id = ?", (order_id,)).first()
        if r is not None:
            out["order"] = (f"{r[0]} ({r[3]})", int(r[1]), str(r[2])[:10])
    if payment_id:
        r = conn.exec_driver_sql(
            "SELECT confirmation_number, amount_cents, received_at FROM payments WHERE id = ?",
            (payment_id,)).first()
        if r is not None:
            out["payment"] = (str(r[0]), int(r[1]), str(r[2])[:10])
    return out


def agent_names(conn: Connection) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in conn.exec_driver_sql(
        "SELECT id, display_name FROM agents")}


@dataclass(frozen=True, slots=True)
class AgentChoice:
    id: str
    display_name: str
    team: str
    open_cases: int  # working cases assigned to them now


def agents_with_skill(conn: Connection, skill: str) -> list[AgentChoice]:
    """Active agents and supervisors who may take a case needing ``skill`` ("" = anyone),
    with how many working cases each already holds."""
    load: dict[str, int] = dict(conn.exec_driver_sql(
        f"SELECT c.assigned_agent_id, COUNT(*) FROM cases c WHERE {WORKING}"
        " AND c.assigned_agent_id IS NOT NULL GROUP BY c.assigned_agent_id").fetchall())
    out = []
    for r in conn.exec_driver_sql(
            "SELECT id, display_name, team, skills FROM agents WHERE active = 1"
            " AND role IN ('agent', 'supervisor') ORDER BY display_name"):
        skills = r[3] if isinstance(r[3], list) else json.loads(r[3] or "[]")
        if rules.can_take(skills, skill):
            out.append(AgentChoice(str(r[0]), str(r[1]), str(r[2] or ""),
                                   int(load.get(r[0], 0))))
    return out


def merge_targets(conn: Connection, case_id: str, now: datetime) -> list[CaseListRow]:
    """The same customer's other cases still being worked: where a duplicate can go."""
    return [_list_row(r, now) for r in conn.exec_driver_sql(
        f"{_LIST} WHERE {WORKING} AND c.id <> ? AND c.customer_id ="
        " (SELECT customer_id FROM cases WHERE id = ?) ORDER BY c.opened_at DESC",
        (case_id, case_id))]


def article_by_code(conn: Connection, code: str) -> tuple[str, str, str] | None:
    """(id, code, title) of the knowledge article with ``code`` (any case), or None."""
    r = conn.exec_driver_sql(
        "SELECT id, code, title FROM knowledge_articles WHERE upper(code) = upper(?)",
        (code.strip(),)).first()
    return None if r is None else (str(r[0]), str(r[1]), str(r[2]))
