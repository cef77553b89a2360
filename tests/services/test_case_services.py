"""Working cases on a real store: every change is the case, its timeline event, an audit
row and an outbox mutation, in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agent_desktop.domain.cases import SlaState
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.storage.store import Store


def _who(store: Store, username: str = "agent") -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _customer(store: Store) -> str:
    with store.engine.connect() as conn:
        return str(conn.exec_driver_sql(
            "SELECT id FROM customers ORDER BY account_number LIMIT 1 OFFSET 3").scalar())


def _outbox(store: Store) -> list[tuple[str, dict[str, object]]]:
    with store.engine.connect() as conn:
        return [(r[0], json.loads(r[1])) for r in conn.exec_driver_sql(
            "SELECT name, args FROM sync_outbox ORDER BY mutation_id")]


def test_a_case_is_created_routed_due_and_queued(store: Store) -> None:
    who = _who(store)
    made = cases.create_case(store, who, _customer(store), "trouble_ticket", "high",
                             "  No   internet since the storm ", "Modem lights off.",
                             "technical", "INT-6")
    detail = cases.load_case(store, made.case_id)
    assert detail.case.subject == "No internet since the storm"
    assert detail.case.queue == "tech_support" and detail.required_skill == "tech_internet"
    assert detail.case.status == "new" and detail.case.due_at is not None
    assert detail.case.case_number == made.case_number and made.case_number.startswith("CS-")
    assert [e.kind for e in detail.events] == ["created"]
    [(name, args)] = _outbox(store)
    assert name == "create_case" and args["product_family"] == "internet"
    assert args["actor_id"] == who.agent_id


def test_the_life_cycle_and_its_refusals(store: Store) -> None:
    who = _who(store)
    cid = cases.create_case(store, who, _customer(store), "inquiry", "normal",
                            "Question about the bill").case_id
    cases.change_status(store, who, cid, "pending_customer", "Asked for the bill copy.")
    with pytest.raises(UserFacingError, match="already pending customer"):
        cases.change_status(store, who, cid, "pending_customer")
    cases.change_status(store, who, cid, "resolved", "Explained the charges.", notify=True)
    with pytest.raises(UserFacingError, match="cannot become pending internal"):
        cases.change_status(store, who, cid, "pending_internal")
    detail = cases.load_case(store, cid)
    assert detail.case.status == "resolved" and detail.resolved_at is not None
    kinds = [(e.kind, e.visibility) for e in detail.events]
    assert kinds[0] == ("status_changed", "customer") and ("created", "internal") in kinds
    assert [n for n, _ in _outbox(store)] == ["create_case", "change_case_status",
                                             "change_case_status"]


def test_assignment_needs_the_skill(store: Store) -> None:
    who = _who(store, "supervisor")
    cid = cases.create_case(store, who, _customer(store), "trouble_ticket", "normal",
                            "TV pixelates", category="technical", product_sku="TV-BASIC").case_id
    with store.engine.connect() as conn:
        skilled = conn.exec_driver_sql(
            "SELECT id FROM agents WHERE skills LIKE '%tech_tv%' LIMIT 1").scalar()
        unskilled = conn.exec_driver_sql(
            "SELECT id FROM agents WHERE skills NOT LIKE '%tech%' AND role = 'agent' "
            "LIMIT 1").scalar()
    with pytest.raises(UserFacingError, match="lacks the tech tv skill"):
        cases.assign(store, who, cid, str(unskilled))
    cases.assign(store, who, cid, str(skilled))
    assert cases.load_case(store, cid).case.assigned_agent_id == skilled


def test_merging_keeps_every_event_note_and_minute(store: Store) -> None:
    who = _who(store)
    customer = _customer(store)
    keep = cases.create_case(store, who, customer, "complaint", "normal", "Rude technician")
    dup = cases.create_case(store, who, customer, "complaint", "normal", "Technician visit")
    cases.add_case_note(store, who, dup.case_id, "Customer called again.", seconds_spent=300)
    cases.add_case_note(store, who, keep.case_id, "Apologised.", seconds_spent=120)
    cases.merge(store, who, dup.case_id, keep.case_id)
    detail = cases.load_case(store, keep.case_id)
    assert detail.merged_in == (dup.case_number,)
    assert detail.seconds_spent == 420
    bodies = {e.body for e in detail.events}
    assert {"Customer called again.", "Apologised."} <= bodies
    gone = cases.load_case(store, dup.case_id)
    assert gone.case.status == "closed" and gone.merged_into == keep.case_number
    with pytest.raises(UserFacingError, match="merged into another"):
        cases.change_status(store, who, dup.case_id, "open")
    with pytest.raises(UserFacingError, match="into itself"):
        cases.merge(store, who, keep.case_id, keep.case_id)


def test_saved_views_and_sla_colours(store: Store) -> None:
    who = _who(store)
    customer = _customer(store)
    mine = cases.create_case(store, who, customer, "approval_request", "urgent",
                             "Credit over limit").case_id
    now = datetime.now(UTC)
    assert all(r.row.id != mine for r in cases.load_view(store, who, "mine", now=now))
    unassigned = {r.row.id for r in cases.load_view(store, who, "unassigned", now=now)}
    assert mine in unassigned
    later = now + timedelta(days=7)
    breached = {r.row.id: r.sla for r in cases.load_view(store, who, "breached", now=later)}
    assert breached[mine].state is SlaState.RED
    found = cases.load_view(store, who, "all_open", text="credit over", now=now)
    assert [r.row.id for r in found] == [mine]
    with pytest.raises(UserFacingError, match="too long"):
        cases.load_view(store, who, "all_open", text="x" * 500)


def test_macros_fill_in_the_customer_and_case(store: Store) -> None:
    who = _who(store)
    made = cases.create_case(store, who, _customer(store), "inquiry", "normal", "Bill copy")
    detail = cases.load_case(store, made.case_id)
    [first, *_] = cases.macros()
    text = first.render(cases.macro_values(detail, who))
    assert made.case_number in text and "{" not in text
    assert text.startswith("Hi " + detail.case.customer_name.split(" ")[0])
