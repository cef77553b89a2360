"""Payment methods on file and what a payment allows: ``save_method`` keeps a tokenized
card on file (the default if asked) with its audit row and outbox mutation in one
transaction; ``reversal_options`` says void, refund or neither."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import payments as service
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.storage.store import Store


def _agent(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _customer_with_default_card(store: Store) -> tuple[str, str]:
    conn = sqlite3.connect(store.path)
    row = conn.execute(
        "SELECT customer_id, id FROM payment_methods WHERE kind = 'card' AND is_default = 1"
        " AND status = 'active' ORDER BY customer_id LIMIT 1").fetchone()
    conn.close()
    return str(row[0]), str(row[1])


def _card(**changes: object) -> service.NewMethod:
    values: dict[str, object] = dict(kind="card", token="tok_" + "a1" * 12, last4="4444",
                                     brand="mastercard", exp_month=12, exp_year=2030,
                                     holder_name="Pat Doe", make_default=True,
                                     id=service.new_payment_id())
    values.update(changes)
    return service.NewMethod(**values)  # type: ignore[arg-type]


def test_a_saved_card_becomes_the_default_in_one_audited_transaction(store: Store) -> None:
    who = _agent(store)
    customer_id, old_default = _customer_with_default_card(store)
    card = _card()
    changes = service.save_method(store, who, customer_id, card)
    assert changes.customers == frozenset({customer_id})

    methods = service.methods_on_file(store, customer_id)
    assert methods[0].id == card.id and methods[0].is_default and methods[0].last4 == "4444"
    assert not any(m.is_default for m in methods[1:])
    assert any(m.id == old_default for m in methods)

    conn = sqlite3.connect(store.path)
    name, raw = conn.execute("SELECT name, args FROM sync_outbox").fetchone()
    audit = conn.execute("SELECT action, entity_id FROM audit_log").fetchall()
    conn.close()
    args = json.loads(raw)
    assert name == "save_payment_method"
    assert args["new_method_id"] == card.id and args["new_method"]["id"] == card.id
    assert args["new_method"]["save"] is True and args["make_default"] is True
    assert args["previous_default_ids"] == [old_default]
    assert audit == [("payment_method.add", card.id)]

    # The same method again (a double Enter) changes nothing.
    again = service.save_method(store, who, customer_id, card)
    assert again.customers == frozenset()
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == 1
    conn.close()


def test_an_expired_or_untokenized_card_is_not_kept(store: Store) -> None:
    who = _agent(store)
    customer_id, _ = _customer_with_default_card(store)
    with pytest.raises(UserFacingError, match="expired"):
        service.save_method(store, who, customer_id, _card(exp_year=2020))
    with pytest.raises(UserFacingError, match="gateway"):
        service.save_method(store, who, customer_id, _card(token=""))
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == 0
    conn.close()


def test_reversal_options_void_today_refund_later_neither_when_pending(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    who = _agent(store)
    customer_id, method_id = _customer_with_default_card(store)
    queued = service.take_payment(store, who, customer_id, 5000, "card",
                                  payment_id=service.new_payment_id(),
                                  payment_method_id=method_id)
    pending = service.reversal_options(store, who, queued.payment_id)
    assert not pending.voidable and pending.refundable_cents == 0
    assert "pending" in pending.why_not

    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE payments SET status = 'settled' WHERE id = ?", (queued.payment_id,))
    conn.commit()
    conn.close()
    today = service.reversal_options(store, who, queued.payment_id)
    assert today.voidable and today.refundable_cents == 5000 and not today.why_not
    with monkeypatch.context() as m:
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        m.setattr(service, "_now", lambda: tomorrow)
        next_day = service.reversal_options(store, who, queued.payment_id)
        assert not next_day.voidable and next_day.refundable_cents == 5000

    service.refund_payment(store, who, queued.payment_id, 1500, "outage")
    later = service.reversal_options(store, who, queued.payment_id)
    assert not later.voidable  # part of it was refunded: only refunds from now on
    assert later.refundable_cents == 3500
    assert later.refund_limit_cents > 0 and not later.supervisor

    service.refund_payment(store, who, queued.payment_id, 3500, "the rest")
    done = service.reversal_options(store, who, queued.payment_id)
    assert done.refundable_cents == 0 and "refunded in full" in done.why_not
