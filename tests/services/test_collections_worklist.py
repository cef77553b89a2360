"""The collections worklist on a real store: the domain's priority order, every debt
checked against the calling rules, refusals in words with when a call becomes possible."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from agent_desktop.domain import collections as rules
from agent_desktop.services.collections import WorkItem, worklist
from agent_desktop.storage import collections as reads
from agent_desktop.storage.models import ContactAttempt, ContactRestriction
from agent_desktop.storage.store import Store

# Monday, 3 PM in New York, noon in Los Angeles, 10 AM in Honolulu: inside calling hours.
NOW = datetime(2026, 11, 16, 20, 0, tzinfo=UTC)
AGENT_ZONE = ZoneInfo("America/New_York")


def _items(store: Store) -> list[WorkItem]:
    return worklist(store, NOW, local_zone=AGENT_ZONE)


def _callable(store: Store) -> WorkItem:
    item = next((i for i in _items(store) if i.callable_now), None)
    assert item is not None, "the demo store has a debt callable now"
    return item


def test_the_worklist_is_in_the_domains_priority_order(store: Store) -> None:
    items = _items(store)
    assert items, "the demo store has open collection accounts"
    today = NOW.astimezone(AGENT_ZONE).date()
    accounts = reads.open_accounts(store, today)
    expected = rules.prioritize(
        (rules.WorklistAccount(a.account_id, a.balance_cents, a.past_due_since, a.risk,
                               a.customer_value_cents, a.times_late_before)
         for a in accounts), today)
    assert [i.account_id for i in items] == [e.account.account_id for e in expected]
    assert [i.rank for i in items] == list(range(1, len(items) + 1))
    order = [b.value for b in rules.AgingBucket]
    buckets = [order.index(i.bucket) for i in items]
    assert buckets == sorted(buckets, reverse=True)  # oldest bucket first
    for item in items:
        assert item.customer_name and item.account_number and item.balance_cents > 0
        assert item.treatment in {t.value for t in rules.Treatment}
        assert item.callable_now == (not item.reasons)
        if item.callable_now:
            assert item.number.startswith("+") and item.status_words == "Call now"
        else:
            assert item.status_words.startswith("Not now (")
    assert len(worklist(store, NOW, limit=3, local_zone=AGENT_ZONE)) == min(3, len(items))


def test_a_debt_with_a_cease_flag_is_never_callable_and_says_why(store: Store) -> None:
    target = _callable(store)
    with Session(store.engine) as session, session.begin():
        session.add(ContactRestriction(
            customer_id=target.customer_id, kind="cease_communication", detail={},
            active=True, effective_at=NOW - timedelta(days=1), source="letter"))
    item = next(i for i in _items(store) if i.account_id == target.account_id)
    assert not item.callable_now
    assert any("stop communicating" in r for r in item.reasons)
    assert item.next_allowed_at is None and item.next_allowed_words == ""
    assert "stop communicating" in item.status_words
    # Not a day later, nor a week later either.
    for days in (1, 7, 13):
        later = worklist(store, NOW + timedelta(days=days), local_zone=AGENT_ZONE)
        again = next(i for i in later if i.account_id == target.account_id)
        assert not again.callable_now and again.next_allowed_at is None


def test_seven_calls_in_seven_days_says_when_the_debt_can_be_called(store: Store) -> None:
    target = _callable(store)
    times = [NOW - timedelta(days=6, hours=-1)] + [
        NOW - timedelta(days=d, hours=1) for d in range(5, 0, -1)] + [
        NOW - timedelta(hours=2)]
    assert len(times) == 7
    with Session(store.engine) as session, session.begin():
        for at in times:
            session.add(ContactAttempt(
                customer_id=target.customer_id, collection_account_id=target.account_id,
                at=at, channel="call", destination=target.number, outcome="no_answer",
                connected=True, conversation=False))
    item = next(i for i in _items(store) if i.account_id == target.account_id)
    assert not item.callable_now
    assert item.attempts_7_days >= 7
    assert any("7 calls already placed" in r for r in item.reasons)
    assert item.next_allowed_at is not None and item.next_allowed_at > NOW
    assert item.next_allowed_at <= NOW + timedelta(days=2)  # the oldest call ages out
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2}:\d{2} (AM|PM)",
                        item.next_allowed_words), item.next_allowed_words
    assert f"(next {item.next_allowed_words})" in item.status_words
    # At that moment the debt is callable again.
    later = worklist(store, item.next_allowed_at, local_zone=AGENT_ZONE)
    assert next(i for i in later if i.account_id == target.account_id).callable_now
