"""The case list at scale and what the case detail reads, on a real store: the saved
views by their ordered ids, the text filter, counts, pages of rows; the case sheet, who
can take a case, where a duplicate can go, articles by code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.storage.cases import WORKLIST_INDEX_SQL
from agent_desktop.storage.store import Store


def _who(store: Store, username: str = "agent") -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _customers(store: Store, n: int = 2) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [(str(r[0]), str(r[1])) for r in conn.exec_driver_sql(
            "SELECT id, display_name FROM customers WHERE kind = 'consumer' "
            "ORDER BY account_number LIMIT ? OFFSET 11", (n,))]


@pytest.mark.parametrize("worklist_index", [False, True])
def test_every_saved_view_holds_the_same_cases_as_the_full_read(
        store: Store, worklist_index: bool) -> None:
    if worklist_index:  # the index proposed for the case list (docs/PERFORMANCE.md)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(WORKLIST_INDEX_SQL)
    who = _who(store)
    (customer, _name), = _customers(store, 1)
    made = cases.create_case(store, who, customer, "inquiry", "high", "Late fee question",
                             category="billing")
    cases.assign(store, who, made.case_id, who.agent_id)
    now = datetime.now(UTC)
    reader = cases.CaseList(store, who)
    try:
        counts = reader.counts(now=now)
        for view in cases.VIEWS:
            full = [r.row.id for r in cases.load_view(store, who, view, now=now)]
            fast = reader.open(view, now=now)
            assert sorted(fast.ids) == sorted(full), view
            assert counts[view] == len(full), view
            assert [v.row.id for v in fast.first] == list(fast.ids[:cases.FIRST_PAGE])
        assert made.case_id in reader.open("mine", now=now).ids
    finally:
        reader.close()


def test_most_urgent_first_and_the_rows_of_any_page_in_order(store: Store) -> None:
    who = _who(store)
    reader = cases.CaseList(store, who)
    try:
        result = reader.open("all_open", first=5)
    finally:
        reader.close()
    assert len(result.ids) >= 8 and len(result.first) == 5
    rows = cases.view_rows(store, list(result.ids[5:8]))
    assert [v.row.id for v in rows] == list(result.ids[5:8])
    dues = [v.row.due_at for v in cases.view_rows(store, list(result.ids))]
    assert dues == sorted(dues, key=lambda d: (d is not None, d))


def test_the_filter_matches_number_subject_and_customer_in_any_case(store: Store) -> None:
    who = _who(store)
    (first, first_name), (second, _second_name) = _customers(store)
    one = cases.create_case(store, who, first, "complaint", "normal", "Rude reply in store")
    two = cases.create_case(store, who, second, "complaint", "normal", "Waited an hour")
    reader = cases.CaseList(store, who)
    try:
        assert reader.open("all_open", "RUDE REPLY").ids == (one.case_id,)
        assert reader.open("all_open", one.case_number.lower()).ids == (one.case_id,)
        by_name = reader.open("all_open", first_name.lower())
        assert one.case_id in by_name.ids and two.case_id not in by_name.ids
        assert reader.open("unassigned", "  waited   an  ").ids == (two.case_id,)
        assert reader.open("all_open", "nothing like this anywhere").ids == ()
        with pytest.raises(UserFacingError, match="too long"):
            reader.open("all_open", "x" * 300)
        with pytest.raises(UserFacingError, match="no case view"):
            reader.open("everything")
    finally:
        reader.close()


def test_a_new_case_shows_once_the_generation_moves_on(store: Store) -> None:
    who = _who(store)
    (customer, _name), = _customers(store, 1)
    reader = cases.CaseList(store, who)
    try:
        before = reader.open("all_open", generation=1)
        made = cases.create_case(store, who, customer, "inquiry", "low", "Paper bill")
        assert reader.open("all_open", generation=1).ids == before.ids  # kept: same data
        assert reader.open("all_open", "paper bill", generation=1).ids == ()
        assert made.case_id in reader.open("all_open", generation=2).ids
        assert reader.open("all_open", "paper bill", generation=2).ids == (made.case_id,)
    finally:
        reader.close()


def test_due_today_ends_at_midnight_in_the_contact_centers_zone() -> None:
    evening = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 18:30 in New York
    assert cases.end_of_day(evening) == datetime(2026, 11, 24, 4, 59, 59, tzinfo=UTC)


def test_the_case_sheet_has_links_words_and_macros_for_this_case(store: Store) -> None:
    who = _who(store)
    (customer, name), = _customers(store, 1)
    with store.engine.connect() as conn:
        invoice = conn.exec_driver_sql(
            "SELECT id, invoice_number, total_cents FROM invoices WHERE customer_id = ? "
            "ORDER BY issued_on DESC LIMIT 1", (customer,)).one()
    made = cases.create_case(store, who, customer, "dispute", "normal", "Late fee",
                             category="billing", links={"invoice_id": str(invoice[0])})
    sheet = cases.load_case_sheet(store, who, made.case_id)
    assert sheet.links["invoice"][:2] == (invoice[1], invoice[2])
    assert sheet.category == "Billing"
    assert sheet.sla.due_at is not None
    assert [m.key for m, _text in sheet.macros] == [f"Alt+{i}" for i in range(1, 6)]
    text = sheet.macros[0][1]
    assert text.startswith(f"Hi {name.split(' ')[0]},") and made.case_number in text
    assert who.agent_id in sheet.agents
    with pytest.raises(UserFacingError, match="not in the local store"):
        cases.load_case_sheet(store, who, "0" * 32)


def test_demo_cases_show_their_category_label(store: Store) -> None:
    with store.engine.connect() as conn:
        case_id = str(conn.exec_driver_sql(
            "SELECT id FROM cases WHERE category = 'TECH-INTERNET' LIMIT 1").scalar())
    assert cases.load_case_sheet(store, _who(store), case_id).category == "Internet trouble"


def test_only_agents_with_the_skill_are_offered_least_busy_first(store: Store) -> None:
    who = _who(store, "supervisor")
    (customer, _name), = _customers(store, 1)
    made = cases.create_case(store, who, customer, "trouble_ticket", "normal", "TV freezes",
                             category="technical", product_sku="TV-BASIC")
    choices = cases.assignable_agents(store, made.case_id)
    assert choices
    with store.engine.connect() as conn:
        skills = dict(conn.exec_driver_sql("SELECT id, skills FROM agents").fetchall())
    assert all("tech_tv" in skills[a.id] for a in choices)
    loads = [a.open_cases for a in choices]
    assert loads == sorted(loads)


def test_a_duplicate_can_go_only_into_the_same_customers_open_cases(store: Store) -> None:
    who = _who(store)
    (first, _a), (second, _b) = _customers(store)
    keep = cases.create_case(store, who, first, "complaint", "normal", "Missed visit")
    dup = cases.create_case(store, who, first, "complaint", "normal", "Nobody came")
    elsewhere = cases.create_case(store, who, second, "complaint", "normal", "Other person")
    done = cases.create_case(store, who, first, "inquiry", "normal", "Answered already")
    cases.change_status(store, who, done.case_id, "resolved")
    offered = {v.row.id for v in cases.merge_choices(store, dup.case_id)}
    assert keep.case_id in offered
    assert not offered & {dup.case_id, elsewhere.case_id, done.case_id}


def test_an_article_is_linked_by_its_code_once(store: Store) -> None:
    who = _who(store)
    (customer, _name), = _customers(store, 1)
    made = cases.create_case(store, who, customer, "inquiry", "normal", "First bill")
    with store.engine.connect() as conn:
        code = str(conn.exec_driver_sql(
            "SELECT code FROM knowledge_articles ORDER BY code LIMIT 1").scalar())
    cases.link_article_by_code(store, who, made.case_id, f" {code.lower()} ")
    assert [c for _id, c, _t in cases.load_case(store, made.case_id).articles] == [code]
    with pytest.raises(UserFacingError, match="already linked"):
        cases.link_article_by_code(store, who, made.case_id, code)
    with pytest.raises(UserFacingError, match="There is no article KB-99999"):
        cases.link_article_by_code(store, who, made.case_id, "kb-99999")
    with pytest.raises(UserFacingError, match="Type the article's code"):
        cases.link_article_by_code(store, who, made.case_id, "  ")


def test_typing_in_the_filter_reads_the_views_ids_once(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_desktop.storage.cases import CaseListQueries

    reads: list[str] = []
    original = CaseListQueries.view_ids

    def counted(self: CaseListQueries, view: str, *args: object) -> list[str]:
        reads.append(view)
        return original(self, view, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(CaseListQueries, "view_ids", counted)
    reader = cases.CaseList(store, _who(store))
    try:
        reader.open("all_open", generation=1, clock=1)
        reader.warm(1)  # read ahead after the list shows
        for typed in ("b", "bi", "bil", "bill"):
            reader.open("all_open", typed, generation=1, clock=1)
        assert reads == ["all_open"]
        reader.open("all_open", "bill", generation=1, clock=2)  # time moved on
        reader.open("all_open", "bill", generation=2, clock=2)  # cases changed
        assert reads == ["all_open"] * 3
    finally:
        reader.close()
