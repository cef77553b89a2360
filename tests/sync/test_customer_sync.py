"""Customers across desks through a real server: one created on desk A is found by the
lookup on desk B after sync (normalized names, street and the name vocabulary came with
it); a maintenance change made on one desk reaches the other; an invalid customer forged
past the desk, and a change that no longer fits, are refused by the server with a reason
and leave nothing behind; account numbers stay unique across desks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agent_desktop.domain import customers as rules
from agent_desktop.services import customers as svc
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer_search import CustomerSearch
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import outbox, sync_store
from agent_desktop.storage.models import new_id
from agent_desktop.storage.store import Store
from server_stub.embedded import EmbeddedServer

PASSWORD = "demo"


@pytest.fixture
def services(desks: tuple[EmbeddedServer, list[Store]]) -> Iterator[list[SyncService]]:
    server, (a, b) = desks
    out = [SyncService(a, server.url, "agent"), SyncService(b, server.url, "supervisor")]
    try:
        for service in out:
            service.login(PASSWORD)
        yield out
    finally:
        for service in out:
            service.close()


def _who(store: Store, username: str = "agent") -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _one(store: Store, sql: str, *params: object) -> Any:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def _draft(**changes: Any) -> rules.CustomerDraft:
    fields: dict[str, Any] = {
        "first_name": "Philippa", "last_name": "Vandersloot", "phone": "(206) 555-0163",
        "email": "pippa@vandersloot.org",
        "service": rules.AddressInput("88 Alder Street", "Apt 3", "Seattle", "WA", "98101")}
    fields.update(changes)
    return rules.CustomerDraft(**fields)


def _synced(service: SyncService) -> None:
    status, _ = service.sync()
    assert status.online and status.pending == 0


def _found(store: Store, text: str) -> list[str]:
    search = CustomerSearch(store)
    try:
        return [h.customer_id for h in search.search(text).hits]
    finally:
        search.close()


def test_created_on_desk_a_is_found_on_desk_b(
        desks: tuple[EmbeddedServer, list[Store]], services: list[SyncService]) -> None:
    _server, (a, b) = desks
    sync_a, sync_b = services
    created = svc.create_customer(a, _who(a), _draft())
    _synced(sync_a)
    assert sync_store.rejected(a) == []
    _synced(sync_b)
    for text in ("Philippa Vandersloot", "vandersloot", "vandersloat", "(206) 555-0163",
                 created.account_number, "pippa@vandersloot.org", "88 Alder St"):
        assert _found(b, text) == [created.customer_id], text
    # The same rows on both desks, normalized columns and vocabulary included.
    columns = ("SELECT account_number, display_name, first_norm, last_norm, customer_since "
               "FROM customers WHERE id = ?")
    assert _one(a, columns, created.customer_id) == _one(b, columns, created.customer_id)
    address = ("SELECT line1_norm, time_zone, region_code, kind FROM addresses WHERE "
               "customer_id = ?")
    assert _one(b, address, created.customer_id) == (
        "88 alder st", "America/Los_Angeles", "PAC", "both")
    assert _one(b, "SELECT customers FROM name_tokens WHERE token = 'vandersloot'") == (1,)
    phone = "SELECT value, consent_text FROM contact_points WHERE customer_id = ? AND kind = ?"
    assert _one(b, phone, created.customer_id, "phone") == ("+12065550163", 0)


def test_a_maintenance_change_reaches_the_other_desk(
        desks: tuple[EmbeddedServer, list[Store]], services: list[SyncService]) -> None:
    _server, (a, b) = desks
    sync_a, sync_b = services
    created = svc.create_customer(a, _who(a), _draft())
    [phone] = [c for c in svc.load_account(a, created.customer_id).facts.contacts
               if c.kind == "phone"]
    svc.change_contact(a, _who(a), created.customer_id,
                       svc.ContactChange("phone", phone.id, "(425) 555-0188", "home"))
    _synced(sync_a)
    _synced(sync_b)
    assert _one(b, "SELECT value, label, line_type FROM contact_points WHERE id = ?",
                phone.id) == ("+14255550188", "home", "landline")
    assert _found(b, "425 555 0188") == [created.customer_id]


def test_an_invalid_customer_forged_past_the_desk_is_refused_with_a_reason(
        desks: tuple[EmbeddedServer, list[Store]], services: list[SyncService]) -> None:
    _server, (a, b) = desks
    sync_a, sync_b = services
    created = svc.create_customer(a, _who(a), _draft())
    with a.transaction() as session:  # as a broken or hostile desk might send it
        args = {
            **_draft(phone="555-0100").as_args(), "id": new_id(), "phone_id": new_id(),
            "email_id": new_id(), "service_address_id": new_id(), "billing_address_id": None,
            "account_number": rules.account_number_for(created.customer_id, 7),
            "at": datetime.now(UTC).isoformat()}
        outbox.enqueue(session, "create_customer", args)
        outbox.enqueue(session, "create_customer", {
            **args, "id": new_id(), "phone": "(206) 555-0199",
            "service_address": {**args["service_address"], "state": "OR"}})
    status, _ = sync_a.sync()
    assert status.online and status.pending == 0 and status.rejected == 2
    reasons = [r.reason for r in sync_store.rejected(a)]
    assert reasons == [
        "Phone: Add the area code: that is a local number only.",
        "Service address, ZIP: ZIP 98101 is in WA, not OR: check the state or the ZIP."]
    _synced(sync_b)
    assert _one(b, "SELECT COUNT(*) FROM customers WHERE id = ?", args["id"]) == (0,)
    assert _found(b, "Vandersloot") == [created.customer_id]  # the valid one arrived


def test_a_refused_new_customer_leaves_nothing_on_the_desk(
        desks: tuple[EmbeddedServer, list[Store]], services: list[SyncService]) -> None:
    _server, (a, _b) = desks
    sync_a, _sync_b = services
    created = svc.create_customer(a, _who(a), _draft())
    with a.transaction() as session:  # the queued args broken after the desk checked them
        session.connection().exec_driver_sql(
            "UPDATE sync_outbox SET args = json_set(args, '$.email', 'no-at-sign')")
    status, _ = sync_a.sync()
    assert status.rejected == 1
    assert [r.reason for r in sync_store.rejected(a)] == [
        "Email: An email address has exactly one @, like name@example.com."]
    assert _one(a, "SELECT COUNT(*) FROM customers WHERE id = ?", created.customer_id) == (0,)
    assert _one(a, "SELECT COUNT(*) FROM addresses WHERE customer_id = ?",
                created.customer_id) == (0,)
    assert _one(a, "SELECT customers FROM name_tokens WHERE token = 'vandersloot'") == (0,)


def test_a_change_that_no_longer_fits_is_refused_and_the_server_copy_comes_back(
        desks: tuple[EmbeddedServer, list[Store]], services: list[SyncService]) -> None:
    _server, (a, b) = desks
    sync_a, sync_b = services
    service_id, customer_id = _one(
        a, "SELECT id, customer_id FROM services WHERE status = 'active' AND sku IN "
        "('INT-100', 'INT-300', 'TV-BASIC') ORDER BY id LIMIT 1")
    offer = svc.load_account(b, customer_id).offers[service_id]
    # Desk B cancels the service (the customer declined the offer) and syncs...
    svc.cancel_service(b, _who(b, "supervisor"), service_id, "COMPETITOR-OFFER", offer.code,
                       "declined")
    _synced(sync_b)
    # ...while desk A, offline, suspended it for a vacation.
    svc.suspend_service(a, _who(a), service_id, "VACATION")
    status, _ = sync_a.sync()
    assert status.rejected == 1
    assert [r.reason for r in sync_store.rejected(a)] == [
        "Only an active service can be suspended; this one is cancelled."]
    _synced(sync_a)
    for desk in (a, b):
        assert _one(desk, "SELECT status FROM services WHERE id = ?", service_id) == (
            "cancelled",)
    assert _one(a, "SELECT response, offer_code FROM offers_shown WHERE customer_id = ? "
                "AND kind = 'retention'", customer_id) == ("declined", offer.code)


def test_account_numbers_stay_unique_across_desks(
        desks: tuple[EmbeddedServer, list[Store]], services: list[SyncService]) -> None:
    _server, (a, b) = desks
    sync_a, sync_b = services
    first = svc.create_customer(a, _who(a), _draft())
    _synced(sync_a)
    # Desk B, offline, gives its new customer the same number (an unlucky id).
    second = svc.create_customer(b, _who(b, "supervisor"), _draft(
        first_name="Ottoline", phone="(206) 555-0177", email=""))
    number = first.account_number.replace("-", "")
    with b.transaction() as session:
        conn = session.connection()
        conn.exec_driver_sql("UPDATE customers SET account_number = ? WHERE id = ?",
                             (number, second.customer_id))
        conn.exec_driver_sql("UPDATE sync_outbox SET args = json_set(args, "
                             "'$.account_number', ?)", (number,))
    _synced(sync_b)
    assert sync_store.rejected(b) == []
    _synced(sync_a)
    numbers = {(cid, _one(desk, "SELECT account_number FROM customers WHERE id = ?", cid)[0])
               for desk in (a, b) for cid in (first.customer_id, second.customer_id)}
    # The same number for each customer on both desks; the second one renumbered.
    assert numbers == {(first.customer_id, number),
                       (second.customer_id, rules.account_number_for(second.customer_id, 1))}
