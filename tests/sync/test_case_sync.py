"""A case worked on two desks: changes that still fit apply, one that no longer fits is
refused with the reason and shown, nothing is lost, and both desks end up equal."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, open_store
from server_stub.__main__ import prepare, seed
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


@pytest.fixture
def desks(demo_store_template: Path, tmp_path: Path) -> Iterator[
        tuple[list[Store], list[SyncService]]]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seq = seed(url, str(demo_store_template), None)
    stores, services = [], []
    with EmbeddedServer(create_app(url)) as server:
        for name, user in (("a", "agent"), ("b", "supervisor")):
            path = tmp_path / f"desk-{name}.sqlite3"
            shutil.copyfile(demo_store_template, path)
            store = open_store(path)
            sync_store.start_afresh(store, seq)
            service = SyncService(store, server.url, user)
            service.login("demo")
            stores.append(store)
            services.append(service)
        try:
            yield stores, services
        finally:
            for service in services:
                service.close()
            for store in stores:
                store.close()


def _who(store: Store, username: str) -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _customer_with_email(store: Store) -> str:
    conn = sqlite3.connect(store.path)
    try:
        return str(conn.execute(
            "SELECT customer_id FROM contact_points WHERE kind = 'email' "
            "AND consent_email = 1 ORDER BY customer_id LIMIT 1").fetchone()[0])
    finally:
        conn.close()


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_case_changed_on_two_desks_offline(
        desks: tuple[list[Store], list[SyncService]]) -> None:
    (a, b), (sync_a, sync_b) = desks
    agent, supervisor = _who(a, "agent"), _who(b, "supervisor")
    made = cases.create_case(a, agent, _customer_with_email(a), "inquiry", "normal",
                             "Why did my bill go up?")
    for service in (sync_a, sync_b):
        status, _ = service.sync()
        assert status.online and status.pending == 0, status
    assert cases.load_case(b, made.case_id).case.subject == "Why did my bill go up?"

    # Both desks work the case without syncing.
    cases.change_status(a, agent, made.case_id, "resolved", "Promo ended; explained.",
                        notify=True)
    cases.add_case_note(b, supervisor, made.case_id, "Checked the promo history.",
                        seconds_spent=240)
    cases.change_status(b, supervisor, made.case_id, "pending_internal", "Asked billing.")

    status_a, _ = sync_a.sync()
    assert status_a.rejected == 0
    status_b, _ = sync_b.sync()
    assert status_b.pending == 0 and status_b.rejected == 1
    [refused] = sync_store.rejected(b)
    assert refused.name == "change_case_status"
    assert refused.reason == "A resolved case cannot become pending internal."
    sync_a.sync()

    for desk in (a, b):
        detail = cases.load_case(desk, made.case_id)
        assert detail.case.status == "resolved"
        bodies = [e.body for e in detail.events]
        assert "Checked the promo history." in bodies  # the note was not lost
        assert "Asked billing." not in bodies  # the refused change left nothing behind
        assert detail.seconds_spent == 240
    case_rows = f"SELECT * FROM cases WHERE id = '{made.case_id}'"
    events = f"SELECT * FROM case_events WHERE case_id = '{made.case_id}' ORDER BY id"
    assert _rows(a, case_rows) == _rows(b, case_rows)
    assert _rows(a, events) == _rows(b, events)
    sent = _rows(b, "SELECT channel, status, subject FROM customer_notifications "
                    f"WHERE related_id = '{made.case_id}'")
    assert sent == [("email", "sent", f"Your case {made.case_number}: Resolved")]


def test_a_solved_case_seeds_an_article_a_supervisor_publishes(
        desks: tuple[list[Store], list[SyncService]]) -> None:
    (a, b), (sync_a, sync_b) = desks
    agent, supervisor = _who(a, "agent"), _who(b, "supervisor")
    made = cases.create_case(a, agent, _customer_with_email(a), "trouble_ticket", "normal",
                             "Modem blinks orange", category="technical")
    with pytest.raises(UserFacingError, match="Resolve the case first"):
        cases.draft_from_case(a, agent, made.case_id, "t", "b" * 40, "internet")
    cases.add_case_note(a, agent, made.case_id, "Replaced the splitter; sync came back.")
    cases.change_status(a, agent, made.case_id, "resolved", "Working again.")
    title, body = cases.case_article_draft(cases.load_case(a, made.case_id))
    assert title == "Modem blinks orange" and "Replaced the splitter" in body
    draft = cases.draft_from_case(a, agent, made.case_id, title, body, "internet",
                                  ["modem"])
    with pytest.raises(UserFacingError, match="Only a supervisor"):
        cases.publish_article(a, agent, draft)
    for service in (sync_a, sync_b):
        status, _ = service.sync()
        assert status.online and status.rejected == 0, status
    cases.publish_article(b, supervisor, draft)
    for service in (sync_b, sync_a):
        status, _ = service.sync()
        assert status.online and status.pending == 0 and status.rejected == 0, status
    for desk in (a, b):
        [(status_, source)] = _rows(
            desk, f"SELECT status, source_case_id FROM knowledge_articles WHERE id = '{draft}'")
        assert (status_, source) == ("published", made.case_id)
