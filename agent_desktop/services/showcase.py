"""Picks a customer worth showing in screenshots and demos: past due, with open cases,
contacts and orders, so every section of the 360 has something in it."""

from __future__ import annotations

from sqlalchemy import text

from agent_desktop.storage.store import Store

_SQL = text(
    """
    SELECT c.id, c.display_name FROM customers c
    WHERE c.id IN (SELECT customer_id FROM cases WHERE status IN ('open','pending_customer'))
      AND c.id IN (SELECT customer_id FROM collection_accounts)
      AND c.id IN (SELECT customer_id FROM orders)
    ORDER BY c.account_number LIMIT 1
    """
)
_FALLBACK = text(
    "SELECT c.id, c.display_name FROM customers c WHERE c.id IN "
    "(SELECT customer_id FROM cases) ORDER BY c.account_number LIMIT 1"
)


def showcase_customer(store: Store) -> tuple[str, str]:
    with store.engine.connect() as conn:
        row = conn.execute(_SQL).first() or conn.execute(_FALLBACK).first()
        if row is None:
            row = conn.execute(text("SELECT id, display_name FROM customers LIMIT 1")).first()
    if row is None:
        raise LookupError("the store has no customers")
    return str(row[0]), str(row[1])
