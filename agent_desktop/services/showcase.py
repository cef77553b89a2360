"""Picks a customer worth showing in screenshots and demos: past due, with open cases,
contacts and orders, so every section of the 360 has something in it."""

from __future__ import annotations

from agent_desktop.storage.customer_record import showcase_customer_row
from agent_desktop.storage.store import Store


def showcase_customer(store: Store) -> tuple[str, str]:
    """(customer_id, display name) of a customer with something in every section."""
    row = showcase_customer_row(store)
    if row is None:
        raise LookupError("the store has no customers")
    return row
