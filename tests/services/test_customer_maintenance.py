"""Creating and maintaining customers on a real SQLite store: each change writes its rows,
an audit row and its outbox mutation in one transaction; duplicates are found before a
customer is created; a change that does not fit writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_desktop.domain import customers as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import is_account_number
from agent_desktop.services import customers as svc
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer_search import CustomerSearch
from agent_desktop.storage.store import Store


def _who(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _one(store: Store, sql: str, *params: object) -> Any:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(sql, params).first()


def _all(store: Store, sql: str, *params: object) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.exec_driver_sql(sql, params).fetchall())


def _outbox(store: Store) -> list[tuple[str, dict[str, Any]]]:
    return [(str(n), json.loads(a)) for n, a in _all(
        store, "SELECT name, args FROM sync_outbox ORDER BY mutation_id")]


def _audit(store: Store, entity_id: str) -> list[str]:
    return [str(r[0]) for r in _all(store, "SELECT action FROM audit_log WHERE entity_id = ? "
                                    "ORDER BY seq", entity_id)]


def _draft(**changes: Any) -> rules.CustomerDraft:
    fields: dict[str, Any] = {
        "first_name": "Zebulon", "last_name": "Quistgaard", "phone": "(303) 555-0147",
        "phone_label": "mobile", "email": "Zeb.Q@Example.com",
        "service": rules.AddressInput("4410 Larkspur Lane", "", "Denver", "co", "80202")}
    fields.update(changes)
    return rules.CustomerDraft(**fields)


# --- creating ------------------------------------------------------------------------------

def test_create_customer_writes_rows_audit_and_outbox_and_is_found_by_the_lookup(
        store: Store) -> None:
    created = svc.create_customer(store, _who(store), _draft())
    cid = created.customer_id
    row = _one(store, "SELECT account_number, display_name, first_norm, last_norm, status, "
               "kind FROM customers WHERE id = ?", cid)
    assert tuple(row[1:]) == ("Zebulon Quistgaard", "zebulon", "quistgaard", "active",
                              "consumer")
    assert is_account_number(row[0]) and rules.is_new_account_number(row[0])
    assert created.account_number.replace("-", "") == row[0]
    [address] = _all(store, "SELECT kind, line1_norm, state, time_zone, region_code "
                     "FROM addresses WHERE customer_id = ?", cid)
    assert tuple(address) == ("both", "4410 larkspur ln", "CO", "America/Denver", "MTN")
    points = _all(store, "SELECT kind, value, is_primary, consent_autodial, consent_text "
                  "FROM contact_points WHERE customer_id = ? ORDER BY kind", cid)
    assert [tuple(p) for p in points] == [("email", "zeb.q@example.com", 1, 0, 0),
                                          ("phone", "+13035550147", 1, 0, 0)]
    assert _one(store, "SELECT customers FROM name_tokens WHERE token = 'quistgaard'")[0] == 1
    assert _audit(store, cid) == ["customer.create"]
    [(name, args)] = _outbox(store)
    assert name == "create_customer" and args["id"] == cid
    assert args["account_number"] == row[0] and args["phone"] == "(303) 555-0147"

    search = CustomerSearch(store)
    try:
        for text in ("Zebulon Quistgaard", "quistgard", "303-555-0147", row[0],
                     "zeb.q@example.com", "4410 Larkspur"):
            assert cid in [h.customer_id for h in search.search(text).hits], text
    finally:
        search.close()


def test_business_with_po_box_billing(store: Store) -> None:
    created = svc.create_customer(store, _who(store), _draft(
        kind="business", first_name="", last_name="", business_name="Larkspur Bakery LLC",
        email="", phone_label="work",
        billing=rules.AddressInput("PO Box 771", "", "Denver", "CO", "80201-0771")))
    kinds = _all(store, "SELECT kind, line1 FROM addresses WHERE customer_id = ? ORDER BY kind",
                 created.customer_id)
    assert [tuple(k) for k in kinds] == [("billing", "PO Box 771"),
                                         ("service", "4410 Larkspur Lane")]
    assert _one(store, "SELECT COUNT(*) FROM contact_points WHERE customer_id = ?",
                created.customer_id)[0] == 1
    assert created.display_name == "Larkspur Bakery LLC"


def test_an_invalid_draft_writes_nothing(store: Store) -> None:
    with pytest.raises(UserFacingError, match="Phone: Add the area code"):
        svc.create_customer(store, _who(store), _draft(phone="555-0147"))
    assert _outbox(store) == []


def test_account_numbers_do_not_collide(store: Store) -> None:
    numbers = {svc.create_customer(store, _who(store), _draft(
        phone=f"(303) 555-01{i:02d}", email="")).account_number for i in range(5)}
    assert len(numbers) == 5


# --- duplicates ----------------------------------------------------------------------------

def _existing(store: Store) -> Any:
    return _one(store, """
        SELECT c.id, c.first_name, c.last_name, p.value, p.label, e.value, a.line1, a.city,
               a.state, a.postal_code
        FROM customers c
        JOIN contact_points p ON p.customer_id = c.id AND p.kind = 'phone' AND p.is_primary
        JOIN contact_points e ON e.customer_id = c.id AND e.kind = 'email'
        JOIN addresses a ON a.customer_id = c.id AND a.kind = 'both'
        WHERE c.kind = 'consumer' AND length(c.first_name) > 3 ORDER BY c.account_number
        LIMIT 1""")


def test_duplicates_are_found_with_why(store: Store) -> None:
    cid, first, last, phone, label, email, line1, city, state, postal = _existing(store)
    words = {"mobile": "mobile number", "home": "home phone number", "work": "work number"}
    by_phone = svc.find_duplicates(store, _draft(phone=phone, email=""))
    assert [(m.customer_id, m.reasons) for m in by_phone] == [
        (cid, (f"same {words.get(label, 'phone number')}",))]
    by_email = svc.find_duplicates(store, _draft(email=email.upper()))
    assert [(m.customer_id, m.reasons) for m in by_email] == [(cid, ("same email",))]
    typo = first[:-1]  # "John" -> "Joh": one slip
    near = svc.find_duplicates(store, _draft(
        first_name=typo, last_name=last, email="",
        service=rules.AddressInput(line1, "", city, state, postal)))
    assert near and near[0].customer_id == cid
    assert near[0].reasons == (
        f"close name at the same address: {typo} {last} vs {first} {last}",)
    assert svc.find_duplicates(store, _draft()) == []


# --- contact details -----------------------------------------------------------------------

def _customer_with_services(store: Store, alone: bool) -> Any:
    """A customer with an active internet or TV service; ``alone``: the only live service
    at its address."""
    having = "= 1" if alone else "> 1"
    return _one(store, f"""
        SELECT s.id, s.customer_id, s.address_id, s.sku FROM services s
        WHERE s.status = 'active' AND s.sku IN ('INT-100', 'INT-300', 'TV-BASIC')
        AND (SELECT COUNT(*) FROM services o WHERE o.address_id = s.address_id
             AND o.status <> 'cancelled') {having}
        ORDER BY s.id LIMIT 1""")


def test_change_phone_resets_consent_and_is_audited_and_queued(store: Store) -> None:
    cid, phone_id = _one(store, "SELECT customer_id, id FROM contact_points WHERE "
                         "kind = 'phone' AND consent_text = 1 ORDER BY id LIMIT 1")
    svc.change_contact(store, _who(store), cid, svc.ContactChange(
        "phone", phone_id, "(720) 555-0199", "mobile"))
    row = _one(store, "SELECT value, consent_text, consent_autodial, version FROM "
               "contact_points WHERE id = ?", phone_id)
    assert tuple(row[:3]) == ("+17205550199", 0, 0) and row[3] >= 2
    assert _audit(store, phone_id) == ["contact.phone"]
    [(name, args)] = _outbox(store)
    assert name == "change_contact" and args["contact_point_id"] == phone_id
    with pytest.raises(UserFacingError, match="already on file"):
        svc.change_contact(store, _who(store), cid, svc.ContactChange(
            "phone", phone_id, "720.555.0199", "mobile"))
    assert len(_outbox(store)) == 1


def test_add_an_email_and_correct_an_address(store: Store) -> None:
    cid, address_id, state, city, postal = _one(
        store, "SELECT customer_id, id, state, city, postal_code FROM addresses WHERE "
        "kind = 'both' ORDER BY id LIMIT 1")
    svc.change_contact(store, _who(store), cid, svc.ContactChange("email", None,
                                                                  "new.one@example.net"))
    assert _one(store, "SELECT COUNT(*) FROM contact_points WHERE customer_id = ? AND "
                "value = 'new.one@example.net'", cid)[0] == 1
    svc.change_contact(store, _who(store), cid, svc.ContactChange(
        "address", address_id, address=rules.AddressInput("77 Juniper Court", "Unit 2",
                                                          city, state, postal)))
    assert tuple(_one(store, "SELECT line1, line1_norm, line2 FROM addresses WHERE id = ?",
                      address_id)) == ("77 Juniper Court", "77 juniper ct", "Unit 2")
    assert _audit(store, address_id) == ["contact.address"]
    svc.change_contact(store, _who(store), cid, svc.ContactChange(
        "address", address_id, address=rules.AddressInput("PO Box 5", "", city, state, postal),
        separate_billing=True))
    kinds = dict(_all(store, "SELECT line1, kind FROM addresses WHERE customer_id = ?", cid))
    assert kinds == {"77 Juniper Court": "service", "PO Box 5": "billing"}
    assert [n for n, _ in _outbox(store)] == ["change_contact"] * 3


# --- moving, suspending, resuming, cancelling ----------------------------------------------

def test_move_the_only_service_moves_its_address(store: Store) -> None:
    service_id, _cid, address_id, _sku = _customer_with_services(store, alone=True)
    svc.move_service(store, _who(store), service_id,
                     rules.AddressInput("12 Summit Rd", "", "Boulder", "CO", "80302"))
    assert tuple(_one(store, "SELECT address_id FROM services WHERE id = ?", service_id)) == (
        address_id,)
    assert tuple(_one(store, "SELECT city, state, time_zone, region_code FROM addresses "
                      "WHERE id = ?", address_id)) == ("Boulder", "CO", "America/Denver", "MTN")
    assert _audit(store, address_id) == ["service.move"]
    [(name, args)] = _outbox(store)
    assert name == "move_service" and args["mode"] == "address"


def test_move_one_of_several_services_gives_it_a_new_address(store: Store) -> None:
    service_id, cid, address_id, _sku = _customer_with_services(store, alone=False)
    svc.move_service(store, _who(store), service_id,
                     rules.AddressInput("12 Summit Rd", "", "Boulder", "CO", "80302"))
    new_address = _one(store, "SELECT address_id FROM services WHERE id = ?", service_id)[0]
    assert new_address != address_id
    assert tuple(_one(store, "SELECT kind, customer_id, time_zone FROM addresses WHERE id = ?",
                      new_address)) == ("service", cid, "America/Denver")
    assert _audit(store, service_id) == ["service.move"]
    with pytest.raises(UserFacingError, match="We do not serve Florida"):
        svc.move_service(store, _who(store), service_id,
                         rules.AddressInput("1 Bay St", "", "Miami", "FL", "33101"))
    assert len(_outbox(store)) == 1


def test_suspend_then_resume(store: Store) -> None:
    service_id, _cid, _a, _sku = _customer_with_services(store, alone=False)
    with pytest.raises(UserFacingError, match="Only a suspended service"):
        svc.resume_service(store, _who(store), service_id)
    svc.suspend_service(store, _who(store), service_id, "VACATION", "Back in March")
    assert _one(store, "SELECT status FROM services WHERE id = ?", service_id)[0] == "suspended"
    with pytest.raises(UserFacingError, match="Only an active service"):
        svc.suspend_service(store, _who(store), service_id, "VACATION")
    svc.resume_service(store, _who(store), service_id)
    assert _one(store, "SELECT status FROM services WHERE id = ?", service_id)[0] == "active"
    assert _audit(store, service_id) == ["service.suspend", "service.resume"]
    reason = _one(store, "SELECT reason FROM audit_log WHERE action = 'service.suspend'")[0]
    assert reason == "VACATION: Seasonal or vacation hold \u2014 Back in March"
    assert [n for n, _ in _outbox(store)] == ["suspend_service", "resume_service"]


def test_cancel_needs_the_retention_offer_answered_and_a_reason(store: Store) -> None:
    service_id, cid, _a, _sku = _customer_with_services(store, alone=False)
    view = svc.load_account(store, cid)
    offer = view.offers[service_id]
    assert "CUSTOMER-SERVICE" in dict(view.reasons)
    with pytest.raises(UserFacingError, match="retention offer first"):
        svc.cancel_service(store, _who(store), service_id, "PRICE-TOO-HIGH", offer.code, "")
    with pytest.raises(UserFacingError, match="note saying why"):
        svc.cancel_service(store, _who(store), service_id, "OTHER", offer.code, "declined")
    assert _outbox(store) == []
    svc.cancel_service(store, _who(store), service_id, "PRICE-TOO-HIGH", offer.code,
                       "declined")
    status, ended = _one(store, "SELECT status, ended_on FROM services WHERE id = ?",
                         service_id)
    assert status == "cancelled" and ended is not None
    [offer_row] = _all(store, "SELECT offer_code, kind, response, agent_id FROM offers_shown "
                       "WHERE customer_id = ? AND kind = 'retention'", cid)
    assert tuple(offer_row) == (offer.code, "retention", "declined", _who(store).agent_id)
    assert _audit(store, service_id) == ["service.cancel"]
    reason = _one(store, "SELECT reason FROM audit_log WHERE action = 'service.cancel'")[0]
    assert reason == f"PRICE-TOO-HIGH: Price too high; offer {offer.code} declined"
    [(name, args)] = _outbox(store)
    assert name == "cancel_service" and args["response"] == "declined"
    with pytest.raises(UserFacingError, match="already cancelled"):
        svc.cancel_service(store, _who(store), service_id, "PRICE-TOO-HIGH", offer.code,
                           "declined")


def test_an_accepted_offer_keeps_the_service(store: Store) -> None:
    service_id, cid, _a, _sku = _customer_with_services(store, alone=False)
    offer = svc.load_account(store, cid).offers[service_id]
    svc.cancel_service(store, _who(store), service_id, "NOT-USING", offer.code, "accepted")
    status, promo = _one(store, "SELECT status, promotion_code FROM services WHERE id = ?",
                         service_id)
    if offer.promotion_code:
        assert (status, promo) == ("active", offer.promotion_code)
    else:
        assert offer.suspend and status == "suspended"
    assert _audit(store, service_id)[-1] == "service.retained"
