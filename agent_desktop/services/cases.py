"""Working cases: create from the 360, move through the life cycle, assign, escalate,
note, merge, link articles; and the saved views of the case list.

Each change is one transaction: the case and its timeline event (storage.cases, the same
code that re-applies it after a pull), an audit row and the outbox mutation the server
applies with the same rules. A refusal is a UserFacingError with words for the agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from agent_desktop.domain import cases as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, knowledge_drafts, outbox
from agent_desktop.storage.cases import (
    LOCAL,
    VIEWS,
    AgentChoice,
    CaseDetail,
    CaseEventRow,
    CaseListQueries,
    CaseListRow,
    agent_names,
    agent_skills,
    agents_with_skill,
    article_by_code,
    case_detail,
    end_of_day,
    link_descriptions,
    list_cases,
    merge_targets,
)
from agent_desktop.storage.contacts import update_channel
from agent_desktop.storage.models import Case, new_id
from agent_desktop.storage.reference import read_catalog, read_codes, resources_dir
from agent_desktop.storage.store import Store

__all__ = ["VIEWS", "AgentChoice", "CaseDetail", "CaseEventRow", "CaseList", "CaseListRow",
           "CaseSheet", "Macro", "ViewIds", "ViewRow", "end_of_day"]

# Queues an agent works, from their skills.
_QUEUE_OF_SKILL = {
    "billing": "billing", "payments": "billing", "adjustments": "billing",
    "tech_internet": "tech_support", "tech_tv": "tech_support", "tech_phone": "tech_support",
    "tech_mobile": "tech_support", "tech_security": "tech_support", "sales": "sales",
    "orders": "sales", "retention": "retention", "collections": "collections",
    "approvals": "approvals",
}
VIEW_LABELS = {
    "mine": "My cases", "my_queue": "My queues", "due_today": "Due today",
    "breached": "Breached", "unassigned": "Unassigned", "all_open": "All open",
}


@dataclass(frozen=True, slots=True)
class ViewRow:
    """A case list row with where it stands against its SLA now."""

    row: CaseListRow
    sla: rules.Sla


def _now() -> datetime:
    return datetime.now(UTC)


def queues_for(skills: list[str]) -> list[str]:
    return sorted({_QUEUE_OF_SKILL[s] for s in skills if s in _QUEUE_OF_SKILL} | {"general"})


def load_view(store: Store, who: AgentContext, view: str, text: str = "",
              now: datetime | None = None) -> list[ViewRow]:
    """The cases of a saved view, most urgent first, each with its SLA state."""
    if view not in VIEWS:
        raise UserFacingError(f"There is no case view {view!r}.")
    if len(text) > 200:
        raise UserFacingError("That filter is too long; type part of a case number, "
                              "subject or customer name.")
    at = now or _now()
    with store.reading() as session:
        queues = queues_for(agent_skills(session, who.agent_id))
        rows = list_cases(session.connection(), view, who.agent_id, queues, at, text)
    return [ViewRow(r, rules.sla(r.status, r.opened_at, r.type, r.priority,
                                 r.sla_paused_seconds, at)) for r in rows]


def load_case(store: Store, case_id: str, now: datetime | None = None) -> CaseDetail:
    with store.reading() as session:
        found = case_detail(session.connection(), case_id, now or _now())
    if found is None:
        raise UserFacingError("That case is not in the local store; search again.")
    return found


@dataclass(frozen=True)
class CaseChange:
    case_id: str
    case_number: str
    changes: Changes


def _change(store: Store, who: AgentContext, name: str, args: dict[str, Any],
            action: str, case_id: str) -> CaseChange:
    args = {**args, "actor_id": who.agent_id, "at": args.get("at") or _now().isoformat()}
    with store.transaction() as session:
        LOCAL[name](session, args)
        case = session.get(Case, case_id)
        assert case is not None
        audit.record(session, actor_id=who.agent_id, actor_role=who.role, action=action,
                     entity_type="case", entity_id=case_id, customer_id=case.customer_id,
                     after={k: v for k, v in args.items() if k not in ("actor_id",)},
                     workstation=who.workstation)
        outbox.enqueue(session, name, args)
        customers = frozenset({case.customer_id} if case.customer_id else set())
        return CaseChange(case_id, case.case_number, Changes(customers=customers, cases=True))


@lru_cache(maxsize=1)
def _families() -> dict[str, str]:
    catalog = read_catalog(resources_dir())
    return {str(p["sku"]): str(p.get("family", "")) for p in catalog.get("products", [])}


@lru_cache(maxsize=1)
def categories() -> tuple[tuple[str, str, str], ...]:
    """(code, label, category) of the case categories in resources/codes.json."""
    return tuple((c["code"], c["label"], c["category"])
                 for c in read_codes(resources_dir())["case_categories"])


def create_case(store: Store, who: AgentContext, customer_id: str | None, case_type: str,
                priority: str, subject: str, description: str = "", category: str = "",
                product_sku: str | None = None, links: Mapping[str, str | None] | None = None,
                parent_case_id: str | None = None) -> CaseChange:
    """Open a case (routed to its queue; due from type and priority)."""
    case_id = new_id()
    args: dict[str, Any] = {
        "id": case_id, "event_id": new_id(), "customer_id": customer_id, "type": case_type,
        "priority": priority, "subject": subject, "description": description,
        "category": category, "product_sku": product_sku,
        "product_family": _families().get(product_sku or "", ""),
        "parent_case_id": parent_case_id,
        **{k: (links or {}).get(k)
           for k in ("invoice_id", "invoice_line_id", "order_id", "payment_id")},
        # Opened during a call: the call's case.
        "interaction_id": who.call.for_customer(customer_id) if customer_id else None,
    }
    return _change(store, who, "create_case", args, "case.create", case_id)


def change_status(store: Store, who: AgentContext, case_id: str, status: str,
                  body: str = "", notify: bool = False) -> CaseChange:
    """Move the case on; ``notify`` also sends the customer an update (email, or a text)
    on a contact point they allow it on."""
    args: dict[str, Any] = {"case_id": case_id, "event_id": new_id(), "status": status,
                            "body": body, "notify": notify}
    if notify:
        with store.reading() as session:
            case = session.get(Case, case_id)
            contact = update_channel(session.connection(), case.customer_id) \
                if case is not None and case.customer_id else None
        if contact is None:
            raise UserFacingError("The customer allows no email or texts for updates; "
                                  "untick \"tell the customer\" or record their consent.")
        args |= {"notify_contact_id": contact, "notification_id": new_id()}
    return _change(store, who, "change_case_status", args, "case.status", case_id)


def set_priority(store: Store, who: AgentContext, case_id: str, priority: str,
                 escalate: bool = False, body: str = "") -> CaseChange:
    return _change(store, who, "set_case_priority", {
        "case_id": case_id, "event_id": new_id(), "priority": priority,
        "escalate": escalate, "body": body}, "case.priority", case_id)


def assign(store: Store, who: AgentContext, case_id: str,
           agent_id: str | None) -> CaseChange:
    return _change(store, who, "assign_case", {
        "case_id": case_id, "event_id": new_id(), "agent_id": agent_id},
        "case.assign", case_id)


def add_case_note(store: Store, who: AgentContext, case_id: str, body: str,
                  visibility: str = "internal", seconds_spent: int = 0) -> CaseChange:
    return _change(store, who, "add_case_note", {
        "case_id": case_id, "event_id": new_id(), "body": body, "visibility": visibility,
        "seconds_spent": seconds_spent}, "case.note", case_id)


def merge(store: Store, who: AgentContext, duplicate_id: str, into_id: str) -> CaseChange:
    """Fold a duplicate into the case that continues; nothing of either is lost."""
    return _change(store, who, "merge_cases", {
        "case_id": duplicate_id, "into_case_id": into_id, "event_id": new_id(),
        "target_event_id": new_id()}, "case.merge", duplicate_id)


def link_article(store: Store, who: AgentContext, case_id: str,
                 article_id: str) -> CaseChange:
    """Link a knowledge article to the case (once: a second link is refused, plainly)."""
    with store.reading() as session:
        conn = session.connection()
        linked = conn.exec_driver_sql(
            "SELECT a.code FROM case_articles ca JOIN knowledge_articles a"
            " ON a.id = ca.article_id WHERE ca.case_id = ? AND ca.article_id = ?",
            (case_id, article_id)).first()
    if linked is not None:
        raise UserFacingError(f"{linked[0]} is already linked to this case.")
    return _change(store, who, "link_article", {
        "case_id": case_id, "article_id": article_id, "event_id": new_id()},
        "case.link_article", case_id)


# --- macros: canned responses with variables ----------------------------------------------------

@dataclass(frozen=True)
class Macro:
    key: str  # the hotkey in the case note box, e.g. "Alt+1"
    title: str
    body: str  # with {first_name}, {case_number}, {agent_first_name}, {subject}

    def render(self, values: Mapping[str, str]) -> str:
        text = self.body
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text


@lru_cache(maxsize=1)
def macros() -> tuple[Macro, ...]:
    path = resources_dir() / "macros.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(Macro(m["key"], m["title"], m["body"]) for m in data["macros"])


def macro_values(detail: CaseDetail, who: AgentContext) -> dict[str, str]:
    first = detail.case.customer_name.split(" ")[0] if detail.case.customer_name else "there"
    return {"first_name": first, "case_number": detail.case.case_number,
            "subject": detail.case.subject,
            "agent_first_name": who.display_name.split(" ")[0]}


# --- the case list at scale ---------------------------------------------------------------------

FIRST_PAGE = 60  # rows read with a view's ids: the first screenful, and then some


def _with_sla(rows: list[CaseListRow], at: datetime) -> list[ViewRow]:
    return [ViewRow(r, rules.sla(r.status, r.opened_at, r.type, r.priority,
                                 r.sla_paused_seconds, at)) for r in rows]


@dataclass(frozen=True)
class ViewIds:
    """A saved view, filtered: every case id in order, and the first rows to show."""

    view: str
    text: str
    ids: tuple[str, ...]
    first: tuple[ViewRow, ...]
    at: datetime


class CaseList:
    """The case list's reads, for one worker thread (e.g. ui.tasks.LatestOnly's).

    ``open`` reads the ordered ids of a view (one indexed query) and the first screenful of
    rows; the other rows are read when scrolled to (``view_rows``). The text filter matches
    number, subject and customer name in memory, over search text read once per
    ``generation``; a view's ids are kept too, until the generation or the ``clock``
    changes. The caller bumps the generation when cases change and the clock as time
    passes, so typing costs no query but the first screenful.
    """

    def __init__(self, store: Store, who: AgentContext) -> None:
        self._store = store
        self._who = who
        self._queries: CaseListQueries | None = None
        self._queues: list[str] | None = None
        self._text: dict[str, str] | None = None
        self._ids: dict[str, list[str]] = {}  # view -> ids, for this generation and clock
        self._generation = -1
        self._clock = 0

    def _q(self) -> CaseListQueries:
        if self._queries is None:
            self._queries = CaseListQueries(self._store)
        return self._queries

    def _fresh(self, generation: int, clock: int = 0) -> None:
        if generation != self._generation:
            self._generation = generation
            self._text = None
            self._queues = None
            self._ids.clear()
        if clock != self._clock:  # time moved on: due today / breached change
            self._clock = clock
            self._ids.clear()
        if self._queues is None:
            with self._store.reading() as session:
                self._queues = queues_for(agent_skills(session, self._who.agent_id))

    def warm(self, generation: int = 0) -> None:
        """Read the filter's search text ahead (while the agent looks at the list)."""
        self._fresh(generation, self._clock)
        if self._text is None:
            self._text = self._q().search_text()

    def open(self, view: str, text: str = "", generation: int = 0, clock: int = 0,
             now: datetime | None = None, first: int = FIRST_PAGE) -> ViewIds:
        """A view's case ids, most urgent first, narrowed to those whose number, subject
        or customer name contains ``text``; with the first ``first`` rows. ``generation``
        changes when cases changed, ``clock`` when only time passed."""
        if view not in VIEWS:
            raise UserFacingError(f"There is no case view {view!r}.")
        if len(text) > 200:
            raise UserFacingError("That filter is too long; type part of a case number, "
                                  "subject or customer name.")
        at = now or _now()
        self._fresh(generation, clock)
        assert self._queues is not None
        ids = self._ids.get(view)
        if ids is None:
            ids = self._q().view_ids(view, self._who.agent_id, self._queues, at,
                                     end_of_day(at))
            self._ids[view] = ids
        needle = " ".join(text.split()).lower()
        if needle:
            self.warm(generation)
            assert self._text is not None
            hay = self._text
            ids = [i for i in ids if needle in hay.get(i, "")]
        rows = self._q().rows(ids[:first], at)
        return ViewIds(view, text, tuple(ids), tuple(_with_sla(rows, at)), at)

    def counts(self, generation: int = 0, now: datetime | None = None) -> dict[str, int]:
        """How many cases each saved view holds now."""
        at = now or _now()
        self._fresh(generation, self._clock)
        assert self._queues is not None
        return self._q().counts(self._who.agent_id, self._queues, at, end_of_day(at))

    def close(self) -> None:
        if self._queries is not None:
            self._queries.close()
            self._queries = None


def view_counts(store: Store, who: AgentContext, now: datetime | None = None) -> dict[str, int]:
    """How many cases each saved view holds now."""
    reader = CaseList(store, who)
    try:
        return reader.counts(now=now)
    finally:
        reader.close()


def view_rows(store: Store, ids: list[str], now: datetime | None = None) -> list[ViewRow]:
    """The list rows of ``ids`` (in that order) with their SLA, for the rows scrolled to."""
    at = now or _now()
    queries = CaseListQueries(store)
    try:
        return _with_sla(queries.rows(ids, at), at)
    finally:
        queries.close()


# --- the case detail -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _product_names() -> dict[str, str]:
    catalog = read_catalog(resources_dir())
    return {str(p["sku"]): str(p.get("name", p["sku"])) for p in catalog.get("products", [])}


def category_label(category: str) -> str:
    """Words for a case's category: the label of a category code, or the group's name."""
    labels = {code: label for code, label, _group in categories()}
    return labels.get(category) or category.replace("_", " ").capitalize()


@dataclass(frozen=True)
class CaseSheet:
    """Everything the case detail shows, read in one go off the UI thread."""

    detail: CaseDetail
    sla: rules.Sla
    links: Mapping[str, tuple[str, int, str]]  # invoice/order/payment: (number, cents, day)
    agents: Mapping[str, str]  # agent id -> name, for the timeline's assignments
    category: str  # in words
    product: str  # in words ("" when none)
    macros: tuple[tuple[Macro, str], ...]  # each with its text for this case and agent


def load_case_sheet(store: Store, who: AgentContext, case_id: str,
                    now: datetime | None = None) -> CaseSheet:
    """The case, its timeline and links, and the macros filled in for it."""
    at = now or _now()
    with store.reading() as session:
        conn = session.connection()
        detail = case_detail(conn, case_id, at)
        if detail is None:
            raise UserFacingError("That case is not in the local store; search again.")
        links = link_descriptions(conn, detail.invoice_id, detail.order_id, detail.payment_id)
        names = agent_names(conn)
    c = detail.case
    values = macro_values(detail, who)
    sku = detail.product_sku or ""
    return CaseSheet(
        detail, rules.sla(c.status, c.opened_at, c.type, c.priority, c.sla_paused_seconds, at),
        links, names, category_label(detail.category), _product_names().get(sku, sku),
        tuple((m, m.render(values)) for m in macros()))


def assignable_agents(store: Store, case_id: str) -> list[AgentChoice]:
    """Who may take the case: active agents with the skill it needs, least busy first."""
    with store.reading() as session:
        conn = session.connection()
        skill = conn.exec_driver_sql(
            "SELECT required_skill FROM cases WHERE id = ?", (case_id,)).scalar()
        if skill is None:
            raise UserFacingError("That case is not in the local store; search again.")
        choices = agents_with_skill(conn, str(skill))
    return sorted(choices, key=lambda a: (a.open_cases, a.display_name))


def merge_choices(store: Store, case_id: str, now: datetime | None = None) -> list[ViewRow]:
    """The customer's other open cases: where this one can be merged as a duplicate."""
    at = now or _now()
    with store.reading() as session:
        rows = merge_targets(session.connection(), case_id, at)
    return _with_sla(rows, at)


def link_article_by_code(store: Store, who: AgentContext, case_id: str,
                         code: str) -> CaseChange:
    """Link the knowledge article with ``code`` (e.g. KB-0012) to the case."""
    if not code.strip():
        raise UserFacingError("Type the article's code, e.g. KB-0012.")
    with store.reading() as session:
        conn = session.connection()
        found = article_by_code(conn, code)
        if found is None:
            raise UserFacingError(f"There is no article {code.strip().upper()}; check the "
                                  "code in Knowledge (Ctrl+3).")
    return link_article(store, who, case_id, found[0])


# --- write once, reuse: a solved case seeds a knowledge article ---------------------------------

def draft_from_case(store: Store, who: AgentContext, case_id: str, title: str,
                    body_md: str, product: str, tags: list[str] | None = None) -> str:
    """Write a draft article from a resolved or closed case; a supervisor publishes it.
    Returns the draft's id."""
    detail = load_case(store, case_id)
    if rules.is_open(detail.case.status):
        raise UserFacingError("Resolve the case first: an article records what solved it.")
    article_id = new_id()
    args = {"id": article_id, "code": "KB-D-" + article_id[:6].upper(), "title": title,
            "body_md": body_md, "product": product, "tags": list(tags or []),
            "source_case_id": case_id, "created_at": _now().isoformat()}
    with store.transaction() as session:
        knowledge_drafts.apply_draft_article(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="knowledge.draft", entity_type="knowledge_article",
                     entity_id=article_id, customer_id=detail.case.customer_id,
                     after={"title": title, "source_case_id": case_id},
                     workstation=who.workstation)
        outbox.enqueue(session, "draft_article", args)
    return article_id


def publish_article(store: Store, who: AgentContext, article_id: str) -> None:
    """Supervisors publish drafts (the server checks the role, and that nobody publishes
    their own)."""
    if who.role not in ("supervisor", "admin"):
        raise UserFacingError("Only a supervisor publishes an article.")
    with store.transaction() as session:
        knowledge_drafts.apply_publish_article(session, {"article_id": article_id})
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="knowledge.publish", entity_type="knowledge_article",
                     entity_id=article_id, workstation=who.workstation)
        outbox.enqueue(session, "publish_article", {"article_id": article_id})


def case_article_draft(detail: CaseDetail) -> tuple[str, str]:
    """A first title and body for an article from a solved case: its subject, and the
    notes and status messages that say what was done, oldest first."""
    steps = [e.body for e in reversed(detail.events)
             if e.body and e.kind in ("comment", "status_changed")]
    body = "\n".join(f"{i}. {text}" for i, text in enumerate(steps, start=1))
    intro = detail.description or detail.case.subject
    return detail.case.subject, f"{intro}\n\n## What solved it\n\n{body}\n"


@dataclass(frozen=True, slots=True)
class DraftRow:
    id: str
    code: str
    title: str
    product: str
    case_number: str
    written_at: datetime


def list_drafts(store: Store) -> list[DraftRow]:
    """Draft articles waiting for a supervisor, oldest first."""
    with store.reading() as session:
        rows = session.connection().exec_driver_sql(
            "SELECT k.id, k.code, k.title, k.product, COALESCE(c.case_number, ''), "
            "k.created_at FROM knowledge_articles k LEFT JOIN cases c "
            "ON c.id = k.source_case_id WHERE k.status = 'draft' ORDER BY k.created_at"
        ).fetchall()
    return [DraftRow(str(r[0]), r[1], r[2], r[3], r[4],
                     datetime.fromisoformat(str(r[5])).replace(tzinfo=UTC)) for r in rows]
