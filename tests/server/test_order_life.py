"""The server stub takes an order (priced again with the desk's engine) and walks it
through its life: a notice at every step, services started at completion, a follow-up
queued 7-10 days later and sent then; a changed price and a late cancel are refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_desktop.domain.orders import order_number
from server_stub.mutations import Actor, MutationRejected, apply_mutation
from server_stub.orders import advance_due, catalog
from server_stub.store import OrderProgress, SyncedRow

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
STEP = timedelta(minutes=2)
ORDER = "0a" * 16
AGENT = Actor("1" * 32, "agent", "Dana Reyes", "agent")


def _customer(template: Path) -> tuple[str, str, str]:
    conn = sqlite3.connect(template)
    try:
        row = conn.execute(
            "SELECT a.customer_id, a.id, c.id FROM addresses a JOIN contact_points c "
            "ON c.customer_id = a.customer_id AND c.kind = 'email' "
            "WHERE a.state = 'NY' ORDER BY a.customer_id LIMIT 1").fetchone()
        return str(row[0]), str(row[1]), str(row[2])
    finally:
        conn.close()


def _args(customer_id: str, address_id: str, contact_id: str, **more: Any) -> dict[str, Any]:
    return {
        "id": ORDER, "customer_id": customer_id, "service_address_id": address_id,
        "install_on": "2026-11-30", "notify_contact_id": contact_id,
        "lines": [{"id": "1b" * 16, "sku": "INT-18", "quantity": 1},
                  {"id": "2b" * 16, "sku": "TV-BASIC", "quantity": 1},
                  {"id": "3b" * 16, "sku": "EQ-EXT", "quantity": 1}],
        "payment_method_kind": "card", "is_new_customer": False,
        "at": NOW.isoformat(), **more,
    }


def _apply(sessions: Any, name: str, args: dict[str, Any], now: datetime) -> None:
    with sessions() as session, session.begin():
        session.info["order_step"] = STEP
        apply_mutation(session, AGENT, name, args, now)


def _row(sessions: Any, table: str, row_id: str) -> dict[str, Any]:
    with sessions() as session:
        row = session.get(SyncedRow, (table, row_id))
        assert row is not None, (table, row_id)
        return dict(row.data)


def _tick(sessions: Any, now: datetime) -> None:
    with sessions() as session, session.begin():
        session.info["order_step"] = STEP
        advance_due(session, now)


def _notices(sessions: Any) -> list[tuple[str, str, str]]:
    with sessions() as session:
        rows = [r.data for r in session.query(SyncedRow).filter(
            SyncedRow.table_name == "customer_notifications")
            if r.data.get("related_id") == ORDER]
    return sorted((r["template"], r["status"], r["destination"]) for r in rows)


def test_an_order_walks_its_life_and_tells_the_customer_at_every_step(
        sessions: Any, demo_store_template: Path) -> None:
    customer_id, address_id, contact_id = _customer(demo_store_template)
    _apply(sessions, "place_order", _args(customer_id, address_id, contact_id), NOW)
    order = _row(sessions, "orders", ORDER)
    assert order["status"] == "captured" and order["order_number"] == order_number(ORDER)
    assert order["monthly_total_cents"] > 0 and order["tax_cents"] > 0
    # The same order again (a retried push) changes nothing.
    _apply(sessions, "place_order", _args(customer_id, address_id, contact_id), NOW)

    seen, now = ["captured"], NOW
    _tick(sessions, now + STEP - timedelta(seconds=1))  # not yet
    assert _row(sessions, "orders", ORDER)["status"] == "captured"
    for _ in range(4):
        now += STEP
        _tick(sessions, now)
        seen.append(_row(sessions, "orders", ORDER)["status"])
    assert seen == ["captured", "submitted", "approved", "provisioning", "completed"]
    done = _row(sessions, "orders", ORDER)
    assert done["completed_at"] is not None
    # The recurring lines are the customer's services now.
    services = {_row(sessions, "services", line[:24] + "5e7a1ce0")["sku"]
                for line in ("1b" * 16, "2b" * 16)}
    assert services == {"INT-18", "TV-BASIC"}
    with sessions() as session:  # the extender is a device: no service for it
        assert session.get(SyncedRow, ("services", ("3b" * 16)[:24] + "5e7a1ce0")) is None
    email = _row(sessions, "contact_points", contact_id)["value"]
    assert ("order_follow_up", "queued", email) in _notices(sessions)
    assert {t for t, s, _ in _notices(sessions) if s == "sent"} == {
        "order_received", "order_submitted", "order_approved", "order_provisioning",
        "order_completed"}
    # A week or so later the follow-up goes.
    _tick(sessions, now + timedelta(days=10))
    assert ("order_follow_up", "sent", email) in _notices(sessions)
    with sessions() as session:
        assert session.get(OrderProgress, ORDER) is None
    # Too late to cancel now.
    with pytest.raises(MutationRejected, match="can no longer be cancelled"):
        _apply(sessions, "cancel_order", {"order_id": ORDER, "reason": "Changed mind"},
               now)


def test_a_changed_price_and_an_unsold_product_are_refused_with_the_reason(
        sessions: Any, demo_store_template: Path) -> None:
    customer_id, address_id, contact_id = _customer(demo_store_template)
    with pytest.raises(MutationRejected, match="price changed"):
        _apply(sessions, "place_order", _args(
            customer_id, address_id, contact_id,
            totals={"one_time_cents": 1, "monthly_cents": 2}), NOW)
    with pytest.raises(MutationRejected):
        _apply(sessions, "place_order", {**_args(customer_id, address_id, contact_id),
                                         "lines": [{"id": "4b" * 16, "sku": "NOPE"}]}, NOW)


def test_an_order_is_cancelled_before_it_is_provisioned(
        sessions: Any, demo_store_template: Path) -> None:
    customer_id, address_id, contact_id = _customer(demo_store_template)
    _apply(sessions, "place_order", _args(customer_id, address_id, contact_id), NOW)
    _tick(sessions, NOW + STEP)
    with pytest.raises(MutationRejected, match="Say why"):
        _apply(sessions, "cancel_order", {"order_id": ORDER, "reason": " "}, NOW + STEP)
    _apply(sessions, "cancel_order", {"order_id": ORDER, "reason": "Moving abroad"},
           NOW + STEP)
    assert _row(sessions, "orders", ORDER)["status"] == "cancelled"
    assert ("order_cancelled", "sent") in {(t, s) for t, s, _ in _notices(sessions)}
    _tick(sessions, NOW + 10 * STEP)  # nothing moves a cancelled order
    assert _row(sessions, "orders", ORDER)["status"] == "cancelled"


def test_an_up_sell_ends_the_service_it_replaces_when_it_completes(
        sessions: Any, demo_store_template: Path) -> None:
    conn = sqlite3.connect(demo_store_template)
    try:
        customer_id, service_id, address_id, price = conn.execute(
            "SELECT s.customer_id, s.id, a.id, s.price_cents FROM services s "
            "JOIN addresses a ON a.customer_id = s.customer_id AND a.state = 'NY' "
            "WHERE s.sku = 'INT-18' AND s.status = 'active' LIMIT 1").fetchone()
    finally:
        conn.close()
    args = {"id": ORDER, "customer_id": customer_id, "service_address_id": address_id,
            "lines": [{"id": "5b" * 16, "sku": "INT-100", "replaces": "INT-18",
                       "replaces_service_id": service_id}],
            "existing_skus": ["INT-18"], "existing_prices": {"INT-18": price},
            "is_new_customer": False, "at": NOW.isoformat()}
    _apply(sessions, "place_order", args, NOW)
    order = _row(sessions, "orders", ORDER)
    # The change to the bill: the new tier, less what the replaced one cost.
    assert order["monthly_total_cents"] == catalog().product("INT-100").price_cents - price
    assert _row(sessions, "order_lines", "5b" * 16)["action"] == "change"
    now = NOW
    for _ in range(4):
        now += STEP
        _tick(sessions, now)
    assert _row(sessions, "orders", ORDER)["status"] == "completed"
    old = _row(sessions, "services", service_id)
    assert old["status"] == "cancelled" and old["ended_on"] == now.date().isoformat()
    new = _row(sessions, "services", ("5b" * 16)[:24] + "5e7a1ce0")
    assert new["sku"] == "INT-100" and new["status"] == "active"
    # Somebody else's service cannot be named as the one replaced.
    with pytest.raises(MutationRejected, match="not this customer's"):
        _apply(sessions, "place_order", {**args, "id": "0c" * 16, "lines": [
            {**args["lines"][0], "id": "6b" * 16, "replaces_service_id": "7" * 32}]}, NOW)


def test_a_seeded_customer_bases_open_orders_are_taken_on_by_the_back_office(
        sessions: Any, demo_store_template: Path) -> None:
    conn = sqlite3.connect(demo_store_template)
    try:
        open_orders = {str(r[0]) for r in conn.execute(
            "SELECT id FROM orders WHERE status IN ('captured','submitted','approved',"
            "'provisioning','shipped')")}
    finally:
        conn.close()
    with sessions() as session:
        scheduled = {p.order_id for p in session.query(OrderProgress)}
    assert open_orders and scheduled == open_orders
