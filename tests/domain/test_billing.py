"""The customer's ledger: balance, aging for collections, history chart, value."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest

from agent_desktop.domain.billing import (
    Aging,
    EntryKind,
    LedgerEntry,
    MonthPoint,
    TierThresholds,
    ValueTier,
    aging,
    average_monthly_billed_cents,
    balance_cents,
    lifetime_value_cents,
    monthly_series,
    running_balance,
    signed_cents,
    tenure_months,
    value_tier,
)

AS_OF = date(2024, 6, 30)
_ids = count(1)


def entry(
    kind: EntryKind,
    dollars: int,
    posted_on: date,
    due_on: date | None = None,
    entry_id: str | None = None,
) -> LedgerEntry:
    """A ledger entry from the positive amount the agent sees."""
    return LedgerEntry(
        entry_id=entry_id or f"e{next(_ids):04d}",
        kind=kind,
        posted_on=posted_on,
        amount_cents=signed_cents(kind, dollars * 100),
        description=str(kind),
        due_on=due_on,
    )


def invoice_due(days_past_due: int, dollars: int) -> LedgerEntry:
    """An invoice posted 20 days before it is due, ``days_past_due`` before AS_OF."""
    due = AS_OF - timedelta(days=days_past_due)
    return entry(EntryKind.INVOICE, dollars, due - timedelta(days=20), due_on=due)


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


# -- entries and balance ----------------------------------------------------------------


def test_entry_amounts_are_signed_by_how_they_move_the_balance() -> None:
    assert signed_cents(EntryKind.INVOICE, 500) == 500
    assert signed_cents(EntryKind.PAYMENT, 500) == -500
    assert signed_cents(EntryKind.CREDIT_ADJUSTMENT, 500) == -500
    assert signed_cents(EntryKind.DEBIT_ADJUSTMENT, 500) == 500
    assert signed_cents(EntryKind.REFUND, 500) == 500
    assert signed_cents(EntryKind.PAYMENT_VOID, 500) == 500


def test_a_payment_with_a_positive_amount_is_refused() -> None:
    with pytest.raises(ValueError):
        LedgerEntry("p1", EntryKind.PAYMENT, AS_OF, 500, "payment")
    with pytest.raises(ValueError):
        LedgerEntry("i1", EntryKind.INVOICE, AS_OF, -500, "invoice")
    with pytest.raises(ValueError):
        signed_cents(EntryKind.PAYMENT, -500)


def test_an_entry_read_back_from_storage_gets_its_kind_as_an_enum() -> None:
    stored = LedgerEntry("i1", "invoice", AS_OF, 500)  # type: ignore[arg-type]
    assert stored.kind is EntryKind.INVOICE


def test_running_balance_lists_the_ledger_in_order_with_the_balance_after_each() -> None:
    day1, day2 = date(2024, 1, 1), date(2024, 1, 15)
    invoice = entry(EntryKind.INVOICE, 80, day1, due_on=date(2024, 1, 21), entry_id="z-inv")
    same_day_payment = entry(EntryKind.PAYMENT, 30, day1, entry_id="a-pay")
    credit = entry(EntryKind.CREDIT_ADJUSTMENT, 10, day2, entry_id="c1")
    fee = entry(EntryKind.DEBIT_ADJUSTMENT, 25, day2, entry_id="d1")

    rows = running_balance([fee, credit, same_day_payment, invoice])

    # Invoices come first within a day, so the balance never dips below zero by accident.
    assert [(e.entry_id, bal) for e, bal in rows] == [
        ("z-inv", 8000),
        ("a-pay", 5000),
        ("c1", 4000),
        ("d1", 6500),
    ]
    assert balance_cents([fee, credit, same_day_payment, invoice]) == 6500


def test_an_empty_ledger_owes_nothing() -> None:
    assert running_balance([]) == []
    assert balance_cents([]) == 0
    assert aging([], AS_OF) == Aging()


# -- aging ------------------------------------------------------------------------------


def test_payments_clear_the_oldest_invoices_first_and_the_rest_ages() -> None:
    entries = [
        invoice_due(120, 100),  # fully paid by the payment
        invoice_due(75, 40),  # 20 from the payment + 10 credit: 10 left, 61-90
        invoice_due(45, 80),  # untouched: 31-60
        invoice_due(10, 60),  # 1-30
        invoice_due(-5, 50),  # due in five days: current
        entry(EntryKind.PAYMENT, 120, days_ago(30)),
        entry(EntryKind.CREDIT_ADJUSTMENT, 10, days_ago(3)),
    ]

    result = aging(entries, AS_OF)

    assert result == Aging(
        current=5000,
        days_1_30=6000,
        days_31_60=8000,
        days_61_90=1000,
        days_90_plus=0,
        oldest_days_past_due=75,
    )
    assert result.past_due == 15000
    assert result.total == 20000 == balance_cents(entries)


def test_an_unpaid_invoice_ages_into_90_plus() -> None:
    result = aging([invoice_due(91, 100), invoice_due(90, 50)], AS_OF)
    assert result.days_90_plus == 10000
    assert result.days_61_90 == 5000
    assert result.oldest_days_past_due == 91


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-1, "current"),
        (0, "current"),
        (1, "days_1_30"),
        (30, "days_1_30"),
        (31, "days_31_60"),
        (60, "days_31_60"),
        (61, "days_61_90"),
        (90, "days_61_90"),
        (91, "days_90_plus"),
        (400, "days_90_plus"),
    ],
)
def test_aging_bucket_edges(days_past_due: int, bucket: str) -> None:
    result = aging([invoice_due(days_past_due, 10)], AS_OF)
    assert getattr(result, bucket) == 1000
    assert result.total == 1000


def test_a_partial_payment_leaves_the_rest_of_the_invoice_past_due() -> None:
    entries = [invoice_due(40, 100), entry(EntryKind.PAYMENT, 35, days_ago(20))]
    result = aging(entries, AS_OF)
    assert result == Aging(days_31_60=6500, oldest_days_past_due=40)


def test_a_customer_in_credit_has_nothing_to_age() -> None:
    entries = [invoice_due(45, 50), entry(EntryKind.PAYMENT, 80, days_ago(50))]
    assert balance_cents(entries) == -3000
    result = aging(entries, AS_OF)
    assert result == Aging()
    assert result.total == 0


def test_a_prepayment_counts_against_a_later_invoice() -> None:
    entries = [entry(EntryKind.PAYMENT, 30, days_ago(60)), invoice_due(5, 100)]
    assert aging(entries, AS_OF) == Aging(days_1_30=7000, oldest_days_past_due=5)


def test_a_fee_without_a_due_date_is_due_the_day_it_posted() -> None:
    unreturned_modem = entry(EntryKind.DEBIT_ADJUSTMENT, 120, days_ago(35))
    assert aging([unreturned_modem], AS_OF) == Aging(days_31_60=12000, oldest_days_past_due=35)


def test_a_bounced_payment_reopens_the_invoice_at_its_own_age() -> None:
    entries = [
        invoice_due(40, 100),
        entry(EntryKind.PAYMENT, 100, days_ago(35)),
        entry(EntryKind.PAYMENT_VOID, 100, days_ago(5)),
    ]
    assert aging(entries, AS_OF) == Aging(days_31_60=10000, oldest_days_past_due=40)


def test_a_refund_beyond_the_credit_ages_from_the_refund_day() -> None:
    entries = [
        entry(EntryKind.CREDIT_ADJUSTMENT, 20, days_ago(50)),
        entry(EntryKind.REFUND, 30, days_ago(3)),
    ]
    assert aging(entries, AS_OF) == Aging(days_1_30=1000, oldest_days_past_due=3)


def test_aging_ignores_entries_posted_after_the_day_asked_about() -> None:
    entries = [invoice_due(10, 100), entry(EntryKind.PAYMENT, 100, AS_OF + timedelta(days=1))]
    assert aging(entries, AS_OF).days_1_30 == 10000


# -- monthly history --------------------------------------------------------------------


def test_history_shows_24_months_ending_this_month_even_when_quiet() -> None:
    as_of = date(2024, 3, 15)
    entries = [
        entry(EntryKind.INVOICE, 50, date(2021, 5, 1)),  # before the window: opening
        entry(EntryKind.PAYMENT, 50, date(2021, 6, 1)),
        entry(EntryKind.INVOICE, 100, date(2023, 12, 1), due_on=date(2023, 12, 21)),
        entry(EntryKind.PAYMENT, 60, date(2024, 1, 10)),
        entry(EntryKind.PAYMENT, 40, date(2024, 1, 20)),
        entry(EntryKind.PAYMENT_VOID, 40, date(2024, 3, 2)),
        entry(EntryKind.INVOICE, 70, date(2024, 3, 20)),  # after as_of: ignored
    ]

    series = monthly_series(entries, as_of)

    assert len(series) == 24
    assert (series[0].year, series[0].month) == (2022, 4)
    assert (series[-1].year, series[-1].month) == (2024, 3)
    by_month = {(p.year, p.month): p for p in series}
    assert by_month[(2022, 4)] == MonthPoint(2022, 4, 0, 0, 0)
    assert by_month[(2023, 12)] == MonthPoint(2023, 12, 10000, 0, 10000)
    assert by_month[(2024, 1)] == MonthPoint(2024, 1, 0, 10000, 0)
    assert by_month[(2024, 2)] == MonthPoint(2024, 2, 0, 0, 0)
    assert by_month[(2024, 3)] == MonthPoint(2024, 3, 0, -4000, 4000)


def test_history_carries_an_old_balance_into_the_window() -> None:
    entries = [entry(EntryKind.INVOICE, 25, date(2020, 1, 1))]
    series = monthly_series(entries, date(2024, 1, 31), months=3)
    assert [(p.year, p.month, p.balance_end_cents) for p in series] == [
        (2023, 11, 2500),
        (2023, 12, 2500),
        (2024, 1, 2500),
    ]


def test_history_needs_at_least_one_month() -> None:
    with pytest.raises(ValueError):
        monthly_series([], AS_OF, months=0)


def test_average_monthly_bill_of_a_new_customer_is_not_diluted() -> None:
    entries = [
        entry(EntryKind.INVOICE, 100, date(2024, 4, 1)),
        entry(EntryKind.INVOICE, 200, date(2024, 5, 1)),
        entry(EntryKind.INVOICE, 300, date(2024, 6, 1)),
    ]
    assert average_monthly_billed_cents(entries, AS_OF) == 20000
    assert average_monthly_billed_cents([], AS_OF) == 0


def test_average_monthly_bill_looks_at_the_last_twelve_months() -> None:
    old = [entry(EntryKind.INVOICE, 1000, date(2022, m, 1)) for m in range(1, 13)]
    last_twelve = [date(2023, m, 1) for m in range(7, 13)] + [date(2024, m, 1) for m in range(1, 7)]
    recent = [entry(EntryKind.INVOICE, 100, day) for day in last_twelve]
    assert average_monthly_billed_cents(old + recent, AS_OF) == 10000


def test_lifetime_value_is_what_they_paid_less_refunds_and_bounces() -> None:
    entries = [
        entry(EntryKind.INVOICE, 300, date(2024, 1, 1)),
        entry(EntryKind.PAYMENT, 100, date(2024, 1, 5)),
        entry(EntryKind.PAYMENT, 50, date(2024, 2, 5)),
        entry(EntryKind.PAYMENT_VOID, 50, date(2024, 2, 9)),
        entry(EntryKind.REFUND, 10, date(2024, 3, 1)),
        entry(EntryKind.CREDIT_ADJUSTMENT, 25, date(2024, 3, 1)),
    ]
    assert lifetime_value_cents(entries) == 9000


# -- value and tenure -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("avg_cents", "months", "tier"),
    [
        (20_000, 24, ValueTier.PLATINUM),
        (50_000, 120, ValueTier.PLATINUM),
        (19_999, 24, ValueTier.GOLD),
        (20_000, 23, ValueTier.GOLD),
        (12_000, 12, ValueTier.GOLD),
        (11_999, 100, ValueTier.SILVER),
        (12_000, 11, ValueTier.SILVER),
        (6_000, 6, ValueTier.SILVER),
        (5_999, 100, ValueTier.BRONZE),
        (100_000, 5, ValueTier.BRONZE),
        (0, 0, ValueTier.BRONZE),
    ],
)
def test_value_tier_boundaries(avg_cents: int, months: int, tier: ValueTier) -> None:
    assert value_tier(avg_cents, months) is tier


def test_value_tier_thresholds_are_a_setting() -> None:
    generous = TierThresholds(platinum_cents=10_000, platinum_months=1)
    assert value_tier(10_000, 1, generous) is ValueTier.PLATINUM


@pytest.mark.parametrize(
    ("since", "as_of", "months"),
    [
        (date(2024, 1, 15), date(2024, 2, 14), 0),
        (date(2024, 1, 15), date(2024, 2, 15), 1),
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2023, 1, 31), date(2023, 2, 28), 1),
        (date(2023, 1, 31), date(2023, 2, 27), 0),
        (date(2020, 3, 1), date(2024, 3, 1), 48),
        (date(2023, 11, 20), date(2024, 1, 19), 1),
        (date(2024, 5, 1), date(2024, 5, 1), 0),
        (date(2024, 5, 1), date(2024, 4, 1), 0),
    ],
)
def test_tenure_counts_whole_months(since: date, as_of: date, months: int) -> None:
    assert tenure_months(since, as_of) == months
