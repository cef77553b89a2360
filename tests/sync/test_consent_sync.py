"""Consent is a plain field: the last change the server applies wins, and a desk that
pulls while its own change is still waiting keeps showing its own change (the rebase)."""

from __future__ import annotations

import sqlite3

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.contacts import load_consents, set_consents
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import outbox, sync_store
from agent_desktop.storage.store import Store
from server_stub.embedded import EmbeddedServer

PASSWORD = "demo"


def _phone_owner(store: Store) -> tuple[str, str]:
    conn = sqlite3.connect(store.path)
    try:
        row = conn.execute(
            "SELECT customer_id, id FROM contact_points WHERE kind = 'phone' "
            "AND consent_text = 1 AND consent_autodial = 1 ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    return str(row[0]), str(row[1])


def _who(store: Store, username: str) -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _consent(store: Store, customer_id: str, contact_id: str) -> dict[str, bool]:
    [row] = [r for r in load_consents(store, customer_id) if r.id == contact_id]
    return row.consent


def test_a_pending_change_survives_a_pull_and_the_last_write_wins(
        desks: tuple[EmbeddedServer, list[Store]]) -> None:
    server, (a, b) = desks
    cid, phone = _phone_owner(a)
    sync_a = SyncService(a, server.url, "agent")
    sync_b = SyncService(b, server.url, "supervisor")
    try:
        sync_a.login(PASSWORD)
        sync_b.login(PASSWORD)
        # Desk A: the customer says "stop texting me" (not sent yet).
        set_consents(a, _who(a, "agent"), cid, {phone: {"consent_text": False}})
        # Desk B, meanwhile: no more autodialed calls; sent at once.
        set_consents(b, _who(b, "supervisor"), cid, {phone: {"consent_autodial": False}})
        status, _ = sync_b.sync()
        assert status.online and status.pending == 0

        # A pulls before it pushes: B's row arrives (texts still allowed on the server),
        # and A's waiting change is re-applied on top.
        sync_a.engine.pull()
        assert _consent(a, cid, phone) == {
            "consent_autodial": False, "consent_text": False, "consent_email": True}
        assert sync_store.pending_count(a) == 1

        for service in (sync_a, sync_b):
            status, _ = service.sync()
            assert status.online and status.pending == 0 and status.rejected == 0
        for desk in (a, b):
            assert _consent(desk, cid, phone) == {
                "consent_autodial": False, "consent_text": False, "consent_email": True}
    finally:
        sync_a.close()
        sync_b.close()


def test_the_server_refuses_consent_that_does_not_fit_and_says_why(
        desks: tuple[EmbeddedServer, list[Store]]) -> None:
    server, (a, _b) = desks
    cid, phone = _phone_owner(a)
    with pytest.raises(UserFacingError, match="does not apply to a phone number"):
        set_consents(a, _who(a, "agent"), cid, {phone: {"consent_email": False}})
    with a.transaction() as session:  # as an older or broken desk might send it
        outbox.enqueue(session, "set_contact_consent",
                       {"contact_point_id": phone, "consent_email": False})
        outbox.enqueue(session, "set_contact_consent",
                       {"contact_point_id": "0" * 32, "consent_text": False})
    service = SyncService(a, server.url, "agent")
    try:
        service.login(PASSWORD)
        status, _ = service.sync()
    finally:
        service.close()
    assert status.online and status.pending == 0 and status.rejected == 2
    reasons = [r.reason for r in sync_store.rejected(a)]
    assert "Email consent does not apply to a phone number." in reasons
    assert any("There is no contact point" in r for r in reasons)
