"""Orders on a real store: placing one writes the order, its lines, the audit row and the
outbox mutation in one transaction; a draft is kept and resumed; a saved quote is keyed
later; and pricing again right before placing refuses an order whose quote changed."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from typing import Any

import pytest

from agent_desktop.domain import orders as lifecycle
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.order_wizard import NEW_CARD, OrderWizard, Step
from agent_desktop.domain.quote import CartLine
from agent_desktop.services import orders as service
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.customer360 import load_360
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store

TODAY = date(2026, 11, 24)


def _agent(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _customer(store: Store) -> str:
    """A consumer with a card on file and neither internet nor TV yet."""
    conn = sqlite3.connect(store.path)
    row = conn.execute(
        "SELECT c.id FROM customers c JOIN payment_methods m ON m.customer_id = c.id "
        "AND m.is_default = 1 AND m.kind = 'card' AND m.status = 'active' "
        "WHERE c.kind = 'consumer' AND c.status = 'active' AND c.customer_since < '2024-06-01'"
        " AND NOT EXISTS (SELECT 1 FROM services s WHERE s.customer_id = c.id AND "
        "s.status = 'active' AND (s.sku LIKE 'TV-%' OR s.sku LIKE 'INT-%'))"
        " ORDER BY c.account_number LIMIT 1").fetchone()
    conn.close()
    return str(row[0])


def _sql(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(store.path)
    try:
        rows = conn.execute(sql, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _wizard(store: Store, cart: list[CartLine], to: Step = Step.CONFIRM) -> OrderWizard:
    start = service.prepare_order(store, _customer(store), TODAY)
    assert start.customer is not None and not start.customer.is_new
    wizard = OrderWizard(start.catalog, TODAY, customer=start.customer, cart=cart)
    while wizard.step != to:
        if wizard.step == Step.PAYMENT:
            wizard.set_terms_accepted(True)
        assert wizard.next(), (wizard.step, wizard.problems())
    return wizard


DUO = [CartLine("INT-18", 1, "LOYAL15", "DUO-INT-TV"), CartLine("TV-BASIC", 1, None,
                                                                 "DUO-INT-TV")]


def test_placing_writes_the_order_lines_audit_and_outbox_at_once(store: Store) -> None:
    who = _agent(store)
    wizard = _wizard(store, [*DUO, CartLine("EQ-TVBOX", 2)])
    quote = wizard.quote()
    placed = service.place_order(store, who, wizard)
    number = lifecycle.order_number(wizard.order_id)
    assert (placed.order_id, placed.order_number) == (wizard.order_id, number)
    assert placed.monthly_cents == quote.monthly_cents and placed.changes.customers
    assert number in placed.summary

    [order] = _sql(store, "SELECT status, order_number, customer_id, monthly_total_cents, "
                          "one_time_total_cents, install_on, service_address_id, placed_at "
                          "FROM orders WHERE id = ?", wizard.order_id)
    assert order[:5] == ("captured", number, wizard.customer.customer_id,  # type: ignore[union-attr]
                         quote.monthly_cents, quote.one_time_cents)
    assert order[5] == wizard.install_on.isoformat()  # type: ignore[union-attr]
    assert order[6] == wizard.address_id and order[7]
    lines = _sql(store, "SELECT sku, quantity, promotion_code, unit_price_cents, "
                        "discount_cents, recurring FROM order_lines WHERE order_id = ? "
                        "ORDER BY sku", wizard.order_id)
    assert lines == [("EQ-TVBOX", 2, None, 1000, 0, 1), ("INT-18", 1, "LOYAL15", 4500, 675, 1),
                     ("TV-BASIC", 1, None, 3500, 0, 1)]
    [(action, entity)] = _sql(store, "SELECT action, entity_id FROM audit_log "
                                     "WHERE action LIKE 'order.%'")
    assert (action, entity) == ("order.place", wizard.order_id)
    [(name, raw)] = _sql(store, "SELECT name, args FROM sync_outbox")
    args = json.loads(raw)
    assert name == "place_order"
    assert {"id", "order_number", "customer_id", "interaction_id", "service_address_id",
            "install_on", "lines", "payment_method_kind", "payment_method_id", "autopay",
            "terms_accepted", "is_new_customer", "tenure_months", "existing_skus",
            "existing_monthly_cents", "existing_prices", "totals", "quote_lines", "offers",
            "at", "actor_id", "summary"} == set(args)
    assert [(line["sku"], line["quantity"], line["promotion_code"], line["bundle_code"])
            for line in args["lines"]] == [("INT-18", 1, "LOYAL15", "DUO-INT-TV"),
                                           ("TV-BASIC", 1, None, "DUO-INT-TV"),
                                           ("EQ-TVBOX", 2, None, None)]
    assert all(len(line["id"]) == 32 for line in args["lines"])
    assert args["payment_method_kind"] == "card" and args["payment_method_id"]
    assert args["totals"]["monthly_cents"] == quote.monthly_cents
    assert args["totals"]["due_today_cents"] == quote.due_today_cents
    assert args["is_new_customer"] is False and args["tenure_months"] >= 24

    # The 360's Orders tab shows it.
    data = load_360(store, placed.customer_id, as_of=TODAY)
    assert data.orders[0].order_number == number and data.orders[0].status == "captured"
    assert data.orders[0].lines == 3

    # A second Enter: the same order, nothing more queued.
    again = service.place_order(store, who, wizard)
    assert again.order_number == number and not again.changes.customers
    assert _sql(store, "SELECT count(*) FROM sync_outbox") == [(1,)]


def test_a_draft_is_kept_resumed_and_placed_as_the_same_order(store: Store) -> None:
    who = _agent(store)
    wizard = _wizard(store, DUO, to=Step.CONFIGURE)
    kept = service.save_draft(store, who, wizard)
    assert kept.kind == "draft" and "Ctrl+Shift+O" in kept.summary
    assert _sql(store, "SELECT count(*) FROM sync_outbox") == [(0,)]  # this desk's only
    [(status,)] = _sql(store, "SELECT status FROM orders WHERE id = ?", wizard.order_id)
    assert status == "draft"

    assert wizard.customer is not None
    start = service.prepare_order(store, wizard.customer.customer_id, TODAY)
    assert start.drafts[0].id == wizard.order_id
    assert start.drafts[0].summary == "Internet Plus 18 Mbps, TV Basic"
    assert load_360(store, kept.customer_id, as_of=TODAY).orders[0].status == "draft"

    resumed = service.resume_draft(store, wizard.order_id, TODAY)
    assert (resumed.order_id, resumed.step, resumed.cart) == (wizard.order_id,
                                                              Step.CONFIGURE, wizard.cart)
    kept_again = service.save_draft(store, who, resumed)  # kept again: still one row
    assert kept_again.order_id == wizard.order_id
    while resumed.step != Step.CONFIRM:
        if resumed.step == Step.PAYMENT:
            resumed.choose_payment(NEW_CARD)
            resumed.set_terms_accepted(True)
        assert resumed.next(), resumed.problems()
    placed = service.place_order(store, who, resumed)
    assert placed.order_id == wizard.order_id and "Ctrl+P" not in placed.pay_now
    assert _sql(store, "SELECT status FROM orders WHERE id = ?", wizard.order_id) == [
        ("captured",)]
    assert all(d.id != wizard.order_id
               for d in service.prepare_order(store, placed.customer_id, TODAY).drafts)
    with pytest.raises(UserFacingError, match="placed or discarded"):
        service.resume_draft(store, wizard.order_id, TODAY)
    actions = [a for (a,) in _sql(store, "SELECT action FROM audit_log WHERE entity_id = ? "
                                         "ORDER BY seq", wizard.order_id)]
    assert actions == ["order.keep_draft", "order.keep_draft", "order.place"]


def test_a_draft_needs_a_customer_and_can_be_discarded(store: Store) -> None:
    who = _agent(store)
    start = service.prepare_order(store, None, TODAY)
    with pytest.raises(UserFacingError, match="nothing to keep"):
        service.save_draft(store, who, OrderWizard(start.catalog, TODAY))
    wizard = _wizard(store, [CartLine("SEC-CAM")], to=Step.PRODUCTS)
    service.save_draft(store, who, wizard)
    changes = service.discard_draft(store, who, wizard.order_id)
    assert changes.customers == frozenset({wizard.customer.customer_id})  # type: ignore[union-attr]
    assert _sql(store, "SELECT count(*) FROM orders WHERE id = ?", wizard.order_id) == [(0,)]
    assert service.discard_draft(store, who, wizard.order_id).customers == frozenset()


def test_a_saved_quote_is_keyed_later_without_the_customer(store: Store) -> None:
    who = _agent(store)
    wizard = _wizard(store, DUO, to=Step.REVIEW)
    kept = service.save_quote(store, who, wizard)
    assert kept.kind == "saved_quote" and "price held until Dec 24" in kept.summary
    start = service.prepare_order(store, kept.customer_id, TODAY)
    assert start.drafts[0].kind == "saved_quote"
    assert start.drafts[0].valid_until == date(2026, 12, 24)

    later = service.resume_draft(store, wizard.order_id, TODAY + timedelta(days=2))
    assert later.swivel_chair and later.cart == wizard.cart
    missing = later.missing()
    assert any("Installation on Wed Nov 25 has passed" in m for m in missing)
    assert any("only the customer can give it" in m for m in missing)
    with pytest.raises(UserFacingError):
        service.place_order(store, who, later)  # not complete: nothing is written
    assert _sql(store, "SELECT count(*) FROM sync_outbox") == [(0,)]


def test_pricing_again_refuses_an_order_whose_quote_changed(store: Store) -> None:
    who = _agent(store)
    # A product ran out while the quote was open: say so and what is possible.
    phone = _wizard(store, [CartLine("MOB-UNLTD"), CartLine("MOB-PHONE-B")])
    _sql(store, "UPDATE products SET inventory = 0 WHERE sku = 'MOB-PHONE-B'")
    with pytest.raises(service.OrderRefused) as refused:
        service.place_order(store, who, phone)
    message = refused.value.message
    assert "Smartphone B Pro 256 GB ran out while the quote was open" in message
    assert "In stock instead: Smartphone A 128 GB" in message
    assert refused.value.step == Step.REVIEW and refused.value.catalog is not None
    assert refused.value.catalog.products["MOB-PHONE-B"].inventory == 0

    # The price changed since the customer heard it.
    duo = _wizard(store, DUO)
    _sql(store, "UPDATE products SET price_cents = 4700 WHERE sku = 'INT-18'")
    with pytest.raises(service.OrderRefused, match="the price changed since the customer "
                                                   "heard it") as changed:
        service.place_order(store, who, duo)

    # The quote's price no longer holds (a camera ships: no installation day to pass).
    camera = _wizard(store, [CartLine("SEC-CAM")])
    with pytest.raises(service.OrderRefused, match="the price held until Dec 24"):
        service.place_order(store, who, camera, today=TODAY + timedelta(days=31))
    assert _sql(store, "SELECT count(*) FROM sync_outbox") == [(0,)]
    assert _sql(store, "SELECT count(*) FROM orders WHERE status = 'captured' AND "
                       "placed_at >= '2026-11-20'") == [(0,)]

    # Priced again with the catalog as it is now and read back: it goes through.
    assert changed.value.catalog is not None
    duo.catalog = changed.value.catalog
    assert duo.go(Step.REVIEW) and duo.next() and duo.go(Step.CONFIRM)
    placed = service.place_order(store, who, duo)
    assert placed.monthly_cents == duo.quote().monthly_cents == changed.value.quote.monthly_cents  # type: ignore[union-attr]


def test_a_refused_order_leaves_nothing_behind_and_a_pull_keeps_a_pending_one(
        store: Store) -> None:
    who = _agent(store)
    wizard = _wizard(store, DUO)
    service.place_order(store, who, wizard)
    sync_store.apply_changes(store, [], 1, "2026-11-24T12:00:00+00:00")  # rebase: kept
    assert _sql(store, "SELECT status FROM orders WHERE id = ?", wizard.order_id) == [
        ("captured",)]
    [pending] = sync_store.pending(store, 10)
    sync_store.mark_sent(store, [pending.mutation_id])
    sync_store.record_results(store, [(pending.mutation_id, "rejected", "No such address")],
                              pending.mutation_id)
    assert _sql(store, "SELECT count(*) FROM orders WHERE id = ?", wizard.order_id) == [(0,)]
    assert _sql(store, "SELECT count(*) FROM order_lines WHERE order_id = ?",
                wizard.order_id) == [(0,)]
    [refused] = sync_store.rejected(store)
    assert refused.name == "place_order" and refused.text.startswith("Order ORD-")
