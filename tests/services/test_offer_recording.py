"""Every offer shown is recorded with the customer's answer: the offers_shown row, its
audit row and the ``record_offer`` mutation in one transaction; the answer changes what
is offered next (declined: not again for a while; not now: quiet until tomorrow); the
server keeps the record for every desk, and refuses a malformed one, which then leaves
nothing behind on the desk."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.offers import OffersFor, offers_for, record_offer
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import audit, outbox, sync_store
from agent_desktop.storage.store import Store
from server_stub.embedded import EmbeddedServer

PASSWORD = "demo"
AS_OF = date(2026, 11, 15)  # the demo store's day (tests/conftest.py)


def _who(store: Store, username: str = "agent") -> AgentContext:
    who = agent_by_username(store, username)
    assert who is not None
    return who


def _up_sell_customer(store: Store, skip: int = 0) -> OffersFor:
    """A consumer whose best offer is an up-sell (the demo store has many)."""
    with store.engine.connect() as conn:
        ids = [str(r[0]) for r in conn.exec_driver_sql(
            "SELECT id FROM customers WHERE kind = 'consumer' AND status = 'active' "
            "ORDER BY account_number")]
    found = 0
    for customer_id in ids:
        result = offers_for(store, customer_id, "360", today=AS_OF)
        if result.top is not None and result.top.kind == "up_sell" and len(result.offers) > 1:
            if found == skip:
                return result
            found += 1
    raise AssertionError("no customer with an up-sell in the demo store")


def _rows(store: Store, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_an_answer_is_recorded_with_its_audit_row_and_mutation(store: Store) -> None:
    who = _who(store)
    shown = _up_sell_customer(store)
    offer = shown.top
    assert offer is not None and offer.pitch and offer.why and offer.cart
    before = _rows(store, "SELECT count(*) FROM offers_shown")[0][0]

    done = record_offer(store, who, shown.customer_id, offer, "accepted",
                        shown_at=shown.shown_at)
    assert done.response is not None and done.response.value == "accepted"
    assert done.changes.customers == frozenset({shown.customer_id})

    [row] = _rows(store, "SELECT customer_id, agent_id, offer_code, kind, pitch, response, "
                  "shown_at, responded_at, interaction_id FROM offers_shown WHERE id = ?",
                  done.id)
    assert row[:6] == (shown.customer_id, who.agent_id, offer.code, offer.kind, offer.pitch,
                       "accepted")
    assert row[6] is not None and row[7] is not None and str(row[6]) <= str(row[7])
    assert row[8] is None
    assert _rows(store, "SELECT count(*) FROM offers_shown")[0][0] == before + 1

    [(action, entity, customer, after)] = _rows(
        store, "SELECT action, entity_id, customer_id, after FROM audit_log")
    assert (action, entity, customer) == ("offer.record", done.id, shown.customer_id)
    assert json.loads(str(after)) == {"offer_code": offer.code, "kind": offer.kind,
                                      "response": "accepted", "moment": "360"}
    [(name, raw)] = _rows(store, "SELECT name, args FROM sync_outbox")
    args = json.loads(str(raw))
    assert name == "record_offer"
    assert args["id"] == done.id and args["offer_code"] == offer.code
    assert args["response"] == "accepted" and args["pitch"] == offer.pitch
    assert datetime.fromisoformat(args["shown_at"]) == shown.shown_at
    with store.reading() as session:
        assert audit.verify_chain(session) is None
    # Accepted: the order is on its way, so the same offer is not pitched again.
    again = offers_for(store, shown.customer_id, "360", today=date.today())
    assert offer.code not in [o.code for o in again.offers]


def test_declined_moves_to_the_next_offer_and_not_now_quiets_them(store: Store) -> None:
    who = _who(store)
    today = date.today()
    shown = offers_for(store, _up_sell_customer(store).customer_id, "360", today=today)
    first = shown.top
    assert first is not None and len(shown.offers) > 1
    record_offer(store, who, shown.customer_id, first, "declined")
    after = offers_for(store, shown.customer_id, "360", today=today)
    assert after.top is not None and after.top.code != first.code
    assert first.code not in [o.code for o in after.offers]

    record_offer(store, who, shown.customer_id, after.top, "not_now")
    quiet = offers_for(store, shown.customer_id, "360", today=today)
    assert quiet.offers == ()
    assert quiet.reason == ("They said 'not now' to an offer today: no more offers until "
                            "tomorrow.")
    responses = [r for (r,) in _rows(store, "SELECT response FROM offers_shown WHERE "
                                     "customer_id = ? AND agent_id = ? ORDER BY created_at",
                                     shown.customer_id, who.agent_id)]
    assert responses[-2:] == ["declined", "not_now"]


def test_an_unknown_answer_writes_nothing(store: Store) -> None:
    shown = _up_sell_customer(store)
    assert shown.top is not None
    with pytest.raises(UserFacingError, match="accepted, declined or not now"):
        record_offer(store, _who(store), shown.customer_id, shown.top, "maybe")
    assert _rows(store, "SELECT count(*) FROM sync_outbox")[0][0] == 0
    assert _rows(store, "SELECT count(*) FROM audit_log")[0][0] == 0


def test_the_facts_come_from_indexed_queries(store: Store) -> None:
    """Every query that reads a customer's offer facts uses an index (no table scan)."""
    shown = _up_sell_customer(store)
    statements: list[str] = []
    from sqlalchemy import event

    def remember(_conn: object, _cursor: object, statement: str, params: object,
                 _context: object, _many: bool) -> None:
        statements.append((statement, params))  # type: ignore[arg-type]

    event.listen(store.engine, "before_cursor_execute", remember)
    try:
        offers_for(store, shown.customer_id, "360", today=AS_OF)
    finally:
        event.remove(store.engine, "before_cursor_execute", remember)
    conn = sqlite3.connect(store.path)
    try:
        selects = [(q, p) for q, p in statements if q.lstrip().upper().startswith("SELECT")]
        for statement, params in selects:  # type: ignore[misc]
            plan = [str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {statement}",
                                                     params)]
            scans = [step for step in plan
                     if step.startswith("SCAN") and step != "SCAN CONSTANT ROW"]
            assert not scans, (statement, plan)
            assert any("USING INDEX" in step for step in plan), (statement, plan)
    finally:
        conn.close()
    assert len(selects) >= 10


# --- through the server ---------------------------------------------------------------------


def test_a_declined_offer_reaches_every_desk_and_a_malformed_one_is_refused(
        desks: tuple[EmbeddedServer, list[Store]]) -> None:
    server, (a, b) = desks
    sync_a = SyncService(a, server.url, "agent")
    sync_b = SyncService(b, server.url, "supervisor")
    try:
        sync_a.login(PASSWORD)
        sync_b.login(PASSWORD)
        today = date.today()
        shown = offers_for(a, _up_sell_customer(a).customer_id, "360", today=today)
        assert shown.top is not None
        done = record_offer(a, _who(a), shown.customer_id, shown.top, "declined")
        sync_a.sync()
        assert sync_store.pending_count(a) == 0 and sync_store.rejected(a) == []
        sync_b.sync()
        [(agent_id, response)] = _rows(
            b, "SELECT agent_id, response FROM offers_shown WHERE id = ?", done.id)
        assert (agent_id, response) == (_who(a).agent_id, "declined")
        # Desk B does not pitch what the customer declined on desk A.
        on_b = offers_for(b, shown.customer_id, "360", today=today)
        assert shown.top.code not in [o.code for o in on_b.offers]

        # A record the server cannot take (here: a made-up kind) is refused with the
        # reason, and the desk's own copy goes.
        with a.transaction() as session:
            from agent_desktop.storage.offers import apply_record_offer

            now = datetime.now(UTC).isoformat()
            bad = {"id": "f" * 32, "customer_id": shown.customer_id, "interaction_id": None,
                   "agent_id": _who(a).agent_id, "offer_code": "X-1", "kind": "gift",
                   "pitch": "x", "shown_at": now, "response": "declined",
                   "responded_at": now, "created_at": now}
            apply_record_offer(session, bad)
            outbox.enqueue(session, "record_offer", bad)
        sync_a.sync()
        [refused] = sync_store.rejected(a)
        assert refused.name == "record_offer"
        assert "kind must be up_sell, cross_sell or bundle" in refused.reason
        assert _rows(a, "SELECT count(*) FROM offers_shown WHERE id = ?", "f" * 32) == [(0,)]
    finally:
        sync_a.close()
        sync_b.close()
