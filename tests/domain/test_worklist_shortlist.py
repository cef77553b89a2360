"""The worklist ranks every debt but reads the customer's value only for a shortlist;
the list must come out exactly as if every value had been read."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_desktop.domain.collections import WorklistAccount, prioritize, shortlist

TODAY = date(2026, 11, 17)

accounts = st.lists(st.builds(
    WorklistAccount,
    account_id=st.uuids().map(lambda u: u.hex),
    balance_cents=st.integers(-5_000, 600_000),
    past_due_since=st.integers(0, 400).map(lambda d: TODAY - timedelta(days=d)),
    risk=st.integers(0, 100),
    customer_value_cents=st.integers(0, 3_000_000),
    times_late_before=st.integers(0, 4),
), max_size=120, unique_by=lambda a: a.account_id)


@settings(max_examples=300, deadline=None)
@given(accounts, st.integers(0, 40))
def test_the_shortlist_keeps_every_account_that_can_make_the_list(
        every: list[WorklistAccount], limit: int) -> None:
    ids = set(shortlist(((a.account_id, a.balance_cents, a.past_due_since, a.risk)
                         for a in every), TODAY, limit))
    chosen = [a for a in every if a.account_id in ids]
    assert prioritize(chosen, TODAY, limit) == prioritize(every, TODAY, limit)


def test_a_long_list_is_cut_to_the_band_that_values_could_lift() -> None:
    # 1,000 debts 100 days past due: aging 40 points, balance 0-29, risk 0.
    every = [WorklistAccount(f"{i:032x}", 10_000 * (i % 30) + 100, TODAY - timedelta(days=100),
                             0, 0) for i in range(1000)]
    ids = shortlist(((a.account_id, a.balance_cents, a.past_due_since, a.risk)
                     for a in every), TODAY, 50)
    # 33 or 34 debts have each balance score 0-29: the 50th best has 28 points before
    # values, and anyone within 10 points of it may still overtake it.
    assert len(ids) == sum(1 for a in every if a.balance_cents // 10_000 >= 18)
    assert len(ids) < len(every)
