"""Picks a customer worth showing in screenshots and demos: past due now, with cases and
orders, so every section of the 360 has something in it."""

from __future__ import annotations

from agent_desktop.services.customer360 import load_360
from agent_desktop.storage.customer_record import showcase_candidates
from agent_desktop.storage.store import Store


def showcase_customer(store: Store) -> tuple[str, str]:
    """(customer_id, display name) of the best customer to show."""
    candidates = showcase_candidates(store)
    if not candidates:
        raise LookupError("the store has no customers")
    for customer_id, name in candidates:
        data = load_360(store, customer_id)
        if data.aging.past_due > 0 and data.cases and data.interactions:
            return customer_id, name
    return candidates[0]
