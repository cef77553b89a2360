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
from agent_desktop.storage import audit, outbox
from agent_desktop.storage.cases import (
    LOCAL,
    VIEWS,
    CaseDetail,
    CaseEventRow,
    CaseListRow,
    agent_skills,
    case_detail,
    list_cases,
)
from agent_desktop.storage.contacts import update_channel
from agent_desktop.storage.models import Case, new_id
from agent_desktop.storage.reference import read_catalog, read_codes, resources_dir
from agent_desktop.storage.store import Store

__all__ = ["VIEWS", "CaseDetail", "CaseEventRow", "CaseListRow", "Macro", "ViewRow"]

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
        **{k: (links or {}).get(k) for k in ("invoice_id", "order_id", "payment_id")},
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
