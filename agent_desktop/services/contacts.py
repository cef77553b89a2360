"""What a customer allows us to use: consent per phone number and email address.

A revocation ("stop texting me") is recorded at once, audited, and queued for sync in one
transaction; the collections worklist of every desk honours it after its next pull.
"""

from __future__ import annotations

from collections.abc import Mapping

from agent_desktop.domain.consent import check_consent_change
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage.contacts import ConsentRow, consent_rows, write_consent
from agent_desktop.storage.store import Store

__all__ = ["ConsentRow", "load_consents", "set_consents"]


def load_consents(store: Store, customer_id: str) -> list[ConsentRow]:
    with store.reading() as session:
        return consent_rows(session.connection(), customer_id)


def set_consents(store: Store, who: AgentContext, customer_id: str,
                 changes: Mapping[str, Mapping[str, bool]]) -> Changes:
    """Apply ``{contact_point_id: {consent field: allowed}}`` (only what changed); one
    mutation per contact point, all in one transaction."""
    with store.transaction() as session:
        conn = session.connection()
        current = {row.id: row for row in consent_rows(conn, customer_id)}
        for contact_id, wanted in changes.items():
            row = current.get(contact_id)
            if row is None:
                raise UserFacingError("That phone number or email is no longer on this "
                                      "customer; reopen the customer and try again.")
            change = {f: v for f, v in check_consent_change(row.kind, wanted).items()
                      if row.consent[f] != v}
            if not change:
                continue
            write_consent(conn, contact_id, change)
            audit.record(
                session, actor_id=who.agent_id, actor_role=who.role,
                action="contact.consent", entity_type="contact_point", entity_id=contact_id,
                customer_id=customer_id,
                before={f: row.consent[f] for f in change}, after=change,
                workstation=who.workstation,
            )
            outbox.enqueue(session, "set_contact_consent",
                           {"contact_point_id": contact_id, **change})
    return Changes(customers=frozenset({customer_id}))
