"""The search box's service on a real demo store: every way an agent types a key."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from agent_desktop.domain.lookup import LookupKind, format_account_number
from agent_desktop.services.customer_search import CustomerSearch
from agent_desktop.storage.store import Store


@pytest.fixture
def search(store: Store) -> Iterator[CustomerSearch]:
    s = CustomerSearch(store)
    yield s
    s.close()


@pytest.fixture
def someone(store: Store) -> dict[str, str]:
    conn = sqlite3.connect(store.path)
    row = conn.execute(
        "SELECT c.id, c.account_number, c.first_name, c.last_name, p.value, e.value,"
        " a.line1 FROM customers c"
        " JOIN contact_points p ON p.customer_id = c.id AND p.kind = 'phone'"
        " JOIN contact_points e ON e.customer_id = c.id AND e.kind = 'email'"
        " JOIN addresses a ON a.customer_id = c.id"
        " WHERE c.kind = 'consumer' AND length(c.first_norm) >= 5 AND length(c.last_norm) >= 5"
        " ORDER BY c.account_number LIMIT 1 OFFSET 3").fetchone()
    conn.close()
    keys = ("id", "account", "first", "last", "phone", "email", "street")
    return dict(zip(keys, row, strict=True))


@pytest.mark.parametrize("shape", [
    "({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "1-{a}-{b}-{c}", "{a}{b}{c}",
    "  {a} {b} {c}  ",
])
def test_a_phone_number_in_any_format_finds_the_customer(
        search: CustomerSearch, someone: dict[str, str], shape: str) -> None:
    d = someone["phone"][2:]
    result = search.search(shape.format(a=d[:3], b=d[3:6], c=d[6:]))
    assert result.kind is LookupKind.PHONE
    assert result.hits[0].customer_id == someone["id"]
    assert result.hits[0].matched_on == "Phone"


def test_an_account_number_with_or_without_dashes_finds_exactly_one(
        search: CustomerSearch, someone: dict[str, str]) -> None:
    for typed in (someone["account"], format_account_number(someone["account"])):
        result = search.search(typed)
        assert [h.customer_id for h in result.hits] == [someone["id"]]


def test_an_account_number_with_a_wrong_digit_finds_nobody_and_says_why(
        search: CustomerSearch, someone: dict[str, str]) -> None:
    acct = someone["account"]
    wrong = acct[:-1] + str((int(acct[-1]) + 1) % 10)
    result = search.search(wrong)
    assert someone["id"] not in [h.customer_id for h in result.hits]
    assert result.hint


def test_a_name_prefix_finds_the_customer_as_the_agent_types(
        search: CustomerSearch, someone: dict[str, str]) -> None:
    result = search.search(f"{someone['first']} {someone['last'][:3]}")
    assert someone["id"] in [h.customer_id for h in result.hits]


def test_typos_in_both_names_still_find_the_customer_first_or_near_it(
        search: CustomerSearch, someone: dict[str, str]) -> None:
    first, last = someone["first"], someone["last"]
    typo = f"{first[0]}{first[2]}{first[1]}{first[3:]} {last[:2]}{last[3]}{last[2]}{last[4:]}"
    result = search.search(typo)
    ids = [h.customer_id for h in result.hits]
    assert someone["id"] in ids[:5]
    assert result.hits[ids.index(someone["id"])].matched_on == "Similar name"


def test_the_exact_name_ranks_above_similar_names(
        search: CustomerSearch, someone: dict[str, str]) -> None:
    result = search.search(f"{someone['first']} {someone['last']}")
    assert result.hits[0].matched_on == "Name"
    exact = [h for h in result.hits if h.matched_on == "Name"]
    assert someone["id"] in [h.customer_id for h in exact]


def test_email_and_street_find_the_customer(
        search: CustomerSearch, someone: dict[str, str]) -> None:
    by_email = search.search(someone["email"].upper())
    assert by_email.kind is LookupKind.EMAIL
    assert [h.customer_id for h in by_email.hits] == [someone["id"]]
    by_street = search.search(someone["street"])
    assert by_street.kind is LookupKind.ADDRESS
    assert someone["id"] in [h.customer_id for h in by_street.hits]


@pytest.mark.parametrize("typed", ["Qxzvbn Wplkjh", "nobody@nowhere.invalid", "(212) 000-0000",
                                   "99999 Nonexistent Rd"])
def test_no_results_say_so(search: CustomerSearch, typed: str) -> None:
    result = search.search(typed)
    assert result.hits == ()
    assert result.hint


def test_blank_input_is_not_an_error(search: CustomerSearch) -> None:
    result = search.search("   ")
    assert result.kind is LookupKind.EMPTY
    assert result.hits == ()


def test_a_customer_with_a_name_nobody_had_is_found_by_the_same_search_session(
        store: Store) -> None:
    from agent_desktop.domain.customers import AddressInput, CustomerDraft
    from agent_desktop.services.context import agent_by_username
    from agent_desktop.services.customers import create_customer

    search = CustomerSearch(store)
    try:
        assert search.search("Zephyrine Quixote").hits == ()  # the vocabulary is read now
        who = agent_by_username(store, "agent")
        assert who is not None
        draft = CustomerDraft(first_name="Zephyrine", last_name="Quixote",
                              phone="(212) 555-0147", email="zq@example.com",
                              service=AddressInput("12 Elm Street", "", "Albany", "NY",
                                                   "12207"))
        created = create_customer(store, who, draft)
        found = search.search("Zephyrine Quixote")
        assert [h.customer_id for h in found.hits][:1] == [created.customer_id]
    finally:
        search.close()
