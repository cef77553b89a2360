"""Which tables a desk and the server keep in step (the sync protocol names them)."""

from __future__ import annotations

# The tables that sync, parents before children (a snapshot or a page is applied in this
# order, so foreign keys hold). Reference data (catalog, codes) ships in resources/ on
# both sides and does not sync (knowledge articles ship there too, and sync: agents write
# drafts and supervisors publish them); sync bookkeeping and the audit chain stay
# per installation.
SYNCED_TABLES: tuple[str, ...] = (
    "agents",
    "knowledge_articles",
    "customers",
    "contact_points",
    "addresses",
    "payment_methods",
    "services",
    "orders",
    "order_lines",
    "invoices",
    "invoice_lines",
    "payments",
    "adjustments",
    "interactions",
    "agent_states",
    "cases",
    "case_events",
    "case_articles",
    "knowledge_votes",
    "offers_shown",
    "customer_notifications",
    "collection_accounts",
    "contact_attempts",
    "promises_to_pay",
    "payment_arrangements",
    "arrangement_installments",
    "contact_restrictions",
    "notes",
)
