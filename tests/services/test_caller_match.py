"""Who is calling: the caller id matched to customers for the screen pop."""

from __future__ import annotations

import sqlite3
import uuid

from agent_desktop.services.calls import match_caller
from agent_desktop.storage.store import Store


def _phones(store: Store) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(
            "SELECT p.value, c.id, c.display_name FROM contact_points p JOIN customers c "
            "ON c.id = p.customer_id WHERE p.kind = 'phone' AND p.value IN ("
            " SELECT value FROM contact_points WHERE kind = 'phone' GROUP BY value"
            " HAVING count(*) = 1) ORDER BY p.value LIMIT 2").fetchall()
    finally:
        conn.close()


def test_one_customer_with_the_number_is_the_caller(store: Store) -> None:
    number, customer_id, name = _phones(store)[0]
    match = match_caller(store, number)
    assert match.single is not None
    assert (match.single.customer_id, match.single.display_name) == (customer_id, name)
    assert match.words == name


def test_a_number_written_another_way_still_matches(store: Store) -> None:
    number, customer_id, _name = _phones(store)[0]
    digits = number[2:]  # +1 and ten digits
    for written in (digits, f"1{digits}", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"):
        match = match_caller(store, written.replace(" ", "").replace("(", "")
                             .replace(")", "").replace("-", ""))
        assert match.single is not None and match.single.customer_id == customer_id


def test_several_customers_sharing_a_number_are_all_offered(store: Store) -> None:
    (number, first_id, _n), (_other, second_id, _m) = _phones(store)
    conn = sqlite3.connect(store.path)
    try:
        row = conn.execute("SELECT * FROM contact_points WHERE customer_id = ? AND kind = "
                           "'phone' LIMIT 1", (second_id,)).fetchone()
        columns = [c[1] for c in conn.execute("PRAGMA table_info(contact_points)")]
        copy = dict(zip(columns, row, strict=True))
        copy.update(id=uuid.uuid4().hex, value=number, is_primary=0)
        conn.execute(f"INSERT INTO contact_points ({', '.join(copy)}) VALUES "
                     f"({', '.join('?' * len(copy))})", tuple(copy.values()))
        conn.commit()
    finally:
        conn.close()
    match = match_caller(store, number)
    assert {hit.customer_id for hit in match.hits} == {first_id, second_id}
    assert match.single is None
    assert match.words == "2 customers share this number: ask which account"


def test_an_unknown_number_matches_nobody(store: Store) -> None:
    match = match_caller(store, "+15550000000")
    assert match.hits == ()
    assert match.phone == "+15550000000"
    assert match.words == "No customer has this number: a new caller?"


def test_a_withheld_number_is_not_looked_up(store: Store) -> None:
    for caller_id in ("withheld", ""):
        match = match_caller(store, caller_id)
        assert (match.phone, match.hits) == (None, ())
        assert match.words == "Number withheld: ask for the account number or name"
    assert match_caller(store, "abc").words == \
        "Unknown number: ask for the account number or name"
