"""What a recorded outcome does to the worklist on a real store: a callback holds the debt
until the time the customer chose and then offers it despite the quiet days; a wrong
number is not dialed again; an open promise is waited for and a broken one comes back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_desktop.domain import collections as rules
from agent_desktop.services.collections import WorkItem, record_collection_outcome, worklist
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.storage.store import Store

NOW = datetime(2026, 11, 16, 20, 0, tzinfo=UTC)  # Monday 3 PM in New York
ZONE = ZoneInfo("America/New_York")


def _who(store: Store) -> AgentContext:
    who = agent_by_username(store, "agent")
    assert who is not None
    return who


def _item(store: Store, account_id: str, now: datetime = NOW) -> WorkItem:
    return next(i for i in worklist(store, now, local_zone=ZONE) if i.account_id == account_id)


def _callable(store: Store) -> WorkItem:
    return next(i for i in worklist(store, NOW, local_zone=ZONE)
                if i.callable_now and not i.promise_words)


def test_a_callback_holds_the_debt_until_the_time_asked_for(store: Store) -> None:
    item = _callable(store)
    at = datetime(2026, 11, 17, 19, 0, tzinfo=UTC)  # Tue 2 PM NY, 11 AM LA, 9 AM Honolulu
    done = record_collection_outcome(
        store, _who(store), item.account_id,
        rules.OutcomeInput(rules.Outcome.CALLBACK_REQUESTED, callback_at=at),
        number=item.number, now=NOW, local_zone=ZONE)
    assert done.summary.startswith("Callback requested for Tue Nov 17, ")
    waiting = _item(store, item.account_id)
    assert not waiting.callable_now and waiting.callback_at == at
    assert waiting.reasons[0] == "The customer asked to be called back Tue 2:00 PM."
    assert waiting.next_allowed_at == at
    # At that time it is offered, though the conversation was yesterday.
    then = _item(store, item.account_id, at)
    assert then.callable_now and then.last_conversation_at is not None


def test_a_callback_at_night_is_refused_with_the_first_time_that_fits(store: Store) -> None:
    item = _callable(store)
    with pytest.raises(rules.OutcomeError, match="Outside calling hours") as refused:
        record_collection_outcome(
            store, _who(store), item.account_id,
            rules.OutcomeInput(rules.Outcome.CALLBACK_REQUESTED,
                               callback_at=datetime(2026, 11, 17, 5, 0, tzinfo=UTC)),
            number=item.number, now=NOW, local_zone=ZONE)
    assert refused.value.suggestion is not None
    assert refused.value.suggestion > datetime(2026, 11, 17, 5, 0, tzinfo=UTC)


def test_a_wrong_number_is_not_dialed_again(store: Store) -> None:
    item = _callable(store)
    record_collection_outcome(store, _who(store), item.account_id,
                              rules.OutcomeInput(rules.Outcome.WRONG_NUMBER),
                              number=item.number, now=NOW, local_zone=ZONE)
    later = _item(store, item.account_id, NOW + timedelta(hours=1))
    if later.callable_now:
        assert later.number != item.number  # another number of the customer's
    else:
        assert later.number != item.number or any("wrong number" in r for r in later.reasons)


def test_an_open_promise_is_waited_for_and_a_broken_one_comes_back(store: Store) -> None:
    item = _callable(store)
    record_collection_outcome(
        store, _who(store), item.account_id,
        rules.OutcomeInput(rules.Outcome.PROMISE_TO_PAY, amount_cents=1000,
                           promised_on=date(2026, 11, 20)),
        number=item.number, now=NOW, local_zone=ZONE)
    waiting = _item(store, item.account_id, NOW + timedelta(days=2))
    assert not waiting.callable_now
    assert waiting.reasons[0] == "Promised $10.00 by Nov 20: wait until then."
    # The date and the day of grace passed without the payment: back on the list.
    after = _item(store, item.account_id, NOW + timedelta(days=7))
    assert after.promise_words == "Broke a promise of $10.00 due Nov 20"
    assert not any(r.startswith("Promised") for r in after.reasons)
