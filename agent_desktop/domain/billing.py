"""The customer's ledger as pure functions: balance, aging, monthly history, value.

A balance is never stored as the only truth: it is derived here from immutable ledger
entries. Every amount is an ``int`` of cents, signed as it affects the balance (what the
customer owes): invoices and debits raise it, payments and credits lower it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from agent_desktop.domain.money import RoundingRule, round_cents

__all__ = [
    "DEFAULT_TIER_THRESHOLDS",
    "Aging",
    "EntryKind",
    "LedgerEntry",
    "MonthPoint",
    "TierThresholds",
    "ValueTier",
    "aging",
    "average_monthly_billed_cents",
    "balance_cents",
    "lifetime_value_cents",
    "monthly_series",
    "running_balance",
    "signed_cents",
    "sort_entries",
    "tenure_months",
    "value_tier",
]


class EntryKind(StrEnum):
    """What a ledger entry is. Declaration order is the order within one day."""

    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_ADJUSTMENT = "credit_adjustment"
    DEBIT_ADJUSTMENT = "debit_adjustment"
    REFUND = "refund"
    PAYMENT_VOID = "payment_void"


_KIND_ORDER = {kind: i for i, kind in enumerate(EntryKind)}

# +1: the entry raises what the customer owes; -1: it lowers it.
_KIND_SIGN = {
    EntryKind.INVOICE: 1,
    EntryKind.PAYMENT: -1,
    EntryKind.CREDIT_ADJUSTMENT: -1,
    EntryKind.DEBIT_ADJUSTMENT: 1,
    EntryKind.REFUND: 1,
    EntryKind.PAYMENT_VOID: 1,
}

_CREDITS = frozenset({EntryKind.PAYMENT, EntryKind.CREDIT_ADJUSTMENT})
_CREDIT_REVERSALS = frozenset({EntryKind.REFUND, EntryKind.PAYMENT_VOID})
_CHARGES = frozenset({EntryKind.INVOICE, EntryKind.DEBIT_ADJUSTMENT})


def signed_cents(kind: EntryKind, magnitude_cents: int) -> int:
    """Turn a positive amount (as the agent sees it) into the signed ledger amount.

    ``signed_cents(EntryKind.PAYMENT, 5000) == -5000``.
    """
    if type(magnitude_cents) is not int or magnitude_cents < 0:
        raise ValueError("magnitude_cents must be an int >= 0")
    return _KIND_SIGN[EntryKind(kind)] * magnitude_cents


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One immutable line of the customer's ledger.

    ``amount_cents`` is signed as it affects the balance: invoice +, payment -,
    credit adjustment -, debit adjustment +, refund +, payment void +. A mistake is fixed
    by a correcting entry, never by editing one. ``due_on`` is set on invoices;
    ``reference`` holds the invoice or confirmation number.
    """

    entry_id: str
    kind: EntryKind
    posted_on: date
    amount_cents: int
    description: str = ""
    due_on: date | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EntryKind):
            # Rows from storage or the wire may carry the plain string value.
            object.__setattr__(self, "kind", EntryKind(self.kind))
        if type(self.amount_cents) is not int:
            raise TypeError("amount_cents must be an int")
        if self.amount_cents * _KIND_SIGN[EntryKind(self.kind)] < 0:
            raise ValueError(
                f"{self.kind} amount has the wrong sign: {self.amount_cents} "
                "(use signed_cents to build it)"
            )

    @property
    def effective_due_on(self) -> date:
        """The day this entry is due: ``due_on``, or the day it was posted."""
        return self.due_on if self.due_on is not None else self.posted_on


def _sort_key(entry: LedgerEntry) -> tuple[date, int, str]:
    return (entry.posted_on, _KIND_ORDER[entry.kind], entry.entry_id)


def sort_entries(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Entries in ledger order: by posting day, invoices first within a day, then id."""
    return sorted(entries, key=_sort_key)


def running_balance(entries: Iterable[LedgerEntry]) -> list[tuple[LedgerEntry, int]]:
    """Each entry in ledger order with the balance (cents) right after it."""
    balance = 0
    out: list[tuple[LedgerEntry, int]] = []
    for entry in sort_entries(entries):
        balance += entry.amount_cents
        out.append((entry, balance))
    return out


def balance_cents(entries: Iterable[LedgerEntry]) -> int:
    """What the customer owes now, in cents; negative means the customer has a credit."""
    return sum(e.amount_cents for e in entries)


# -- aging ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Aging:
    """The open balance split by how long it has been past due (cents)."""

    current: int = 0
    days_1_30: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    days_90_plus: int = 0
    oldest_days_past_due: int = 0

    @property
    def past_due(self) -> int:
        """Everything at least one day past due."""
        return self.days_1_30 + self.days_31_60 + self.days_61_90 + self.days_90_plus

    @property
    def total(self) -> int:
        """The whole open balance: current plus past due."""
        return self.current + self.past_due


def aging(entries: Iterable[LedgerEntry], as_of: date) -> Aging:
    """Age the open balance as of a day (entries posted after ``as_of`` are ignored).

    All credits (payments, credit adjustments) are applied to the oldest open debits
    first (FIFO by due day), then each debit's unpaid remainder is bucketed by days past
    its due day (a debit without ``due_on`` is due the day it posted); not yet due is
    current. A net credit balance gives all-zero buckets.

    Refunds and payment voids hand back money that a credit had applied, so they shrink
    the pool of credits instead of aging as new debits: a bounced payment re-opens the
    original invoices at their own age rather than restarting the clock. Only if they
    exceed all credits does the excess age as a debit, from the latest one's posting day.
    """
    debits: list[LedgerEntry] = []
    pool = 0
    latest_reversal: date | None = None
    for e in entries:
        if e.posted_on > as_of:
            continue
        if e.kind in _CREDITS:
            pool -= e.amount_cents
        elif e.kind in _CREDIT_REVERSALS:
            pool -= e.amount_cents
            if latest_reversal is None or e.posted_on > latest_reversal:
                latest_reversal = e.posted_on
        else:
            debits.append(e)

    open_items: list[tuple[date, int]] = []
    if pool < 0 and latest_reversal is not None:
        open_items.append((latest_reversal, -pool))
        pool = 0
    debits.sort(key=lambda d: (d.effective_due_on, *_sort_key(d)))
    for d in debits:
        applied = min(pool, d.amount_cents)
        pool -= applied
        if d.amount_cents > applied:
            open_items.append((d.effective_due_on, d.amount_cents - applied))

    buckets = [0, 0, 0, 0, 0]
    oldest = 0
    for due, cents in open_items:
        days = (as_of - due).days
        if days <= 0:
            buckets[0] += cents
            continue
        oldest = max(oldest, days)
        if days <= 30:
            buckets[1] += cents
        elif days <= 60:
            buckets[2] += cents
        elif days <= 90:
            buckets[3] += cents
        else:
            buckets[4] += cents
    return Aging(
        current=buckets[0],
        days_1_30=buckets[1],
        days_31_60=buckets[2],
        days_61_90=buckets[3],
        days_90_plus=buckets[4],
        oldest_days_past_due=oldest,
    )


# -- monthly history --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthPoint:
    """One calendar month of the customer's history (cents).

    ``billed_cents``: invoices posted in the month. ``paid_cents``: payments posted in
    the month minus payment voids (positive means money came in). ``balance_end_cents``:
    the balance at the end of the month (at ``as_of`` for the current month).
    """

    year: int
    month: int
    billed_cents: int
    paid_cents: int
    balance_end_cents: int


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def monthly_series(
    entries: Iterable[LedgerEntry], as_of: date, months: int = 24
) -> list[MonthPoint]:
    """The last ``months`` calendar months ending with ``as_of``'s month, oldest first.

    Months with no activity still appear (zeros, balance carried). Entries posted after
    ``as_of`` are ignored; older ones count in the opening balance.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    last = _month_index(as_of)
    first = last - months + 1
    billed = [0] * months
    paid = [0] * months
    net = [0] * months
    opening = 0
    for e in entries:
        if e.posted_on > as_of:
            continue
        i = _month_index(e.posted_on) - first
        if i < 0:
            opening += e.amount_cents
            continue
        net[i] += e.amount_cents
        if e.kind is EntryKind.INVOICE:
            billed[i] += e.amount_cents
        elif e.kind in (EntryKind.PAYMENT, EntryKind.PAYMENT_VOID):
            paid[i] -= e.amount_cents
    points: list[MonthPoint] = []
    balance = opening
    for i in range(months):
        balance += net[i]
        year, month0 = divmod(first + i, 12)
        points.append(MonthPoint(year, month0 + 1, billed[i], paid[i], balance))
    return points


def average_monthly_billed_cents(
    entries: Sequence[LedgerEntry], as_of: date, months: int = 12
) -> int:
    """Average invoiced per month over the last ``months`` months (half-up to a cent).

    Months before the first invoice are left out, so a new customer is not diluted.
    """
    invoices = [e for e in entries if e.kind is EntryKind.INVOICE and e.posted_on <= as_of]
    if not invoices:
        return 0
    since_first = _month_index(as_of) - _month_index(min(e.posted_on for e in invoices)) + 1
    window = max(1, min(months, since_first))
    total = sum(p.billed_cents for p in monthly_series(invoices, as_of, window))
    return round_cents(Decimal(total) / window, RoundingRule.HALF_UP)


def lifetime_value_cents(entries: Iterable[LedgerEntry]) -> int:
    """Total the customer has paid, net of voided payments, minus refunds (cents)."""
    total = 0
    for e in entries:
        if e.kind in (EntryKind.PAYMENT, EntryKind.PAYMENT_VOID, EntryKind.REFUND):
            total -= e.amount_cents
    return total


# -- value and tenure -------------------------------------------------------------------


class ValueTier(StrEnum):
    """How valuable a customer is to the business, for offers and collections paths."""

    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"


@dataclass(frozen=True, slots=True)
class TierThresholds:
    """Minimum average monthly billing (cents) and tenure (months) for each tier.

    A business choice: the defaults are a starting point meant to be a setting.
    """

    platinum_cents: int = 20_000
    platinum_months: int = 24
    gold_cents: int = 12_000
    gold_months: int = 12
    silver_cents: int = 6_000
    silver_months: int = 6


DEFAULT_TIER_THRESHOLDS = TierThresholds()


def value_tier(
    avg_monthly_billed_cents: int,
    tenure_months: int,
    thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS,
) -> ValueTier:
    """The customer's value tier; both minimums of a tier must be met (inclusive).

    Defaults: PLATINUM >= $200/month and >= 24 months; GOLD >= $120/month and >= 12
    months; SILVER >= $60/month and >= 6 months; everyone else BRONZE.
    """
    t = thresholds
    if avg_monthly_billed_cents >= t.platinum_cents and tenure_months >= t.platinum_months:
        return ValueTier.PLATINUM
    if avg_monthly_billed_cents >= t.gold_cents and tenure_months >= t.gold_months:
        return ValueTier.GOLD
    if avg_monthly_billed_cents >= t.silver_cents and tenure_months >= t.silver_months:
        return ValueTier.SILVER
    return ValueTier.BRONZE


def tenure_months(since: date, as_of: date) -> int:
    """Whole calendar months from ``since`` to ``as_of`` (0 if ``as_of`` is earlier).

    Jan 15 -> Feb 14 is 0, Jan 15 -> Feb 15 is 1. A customer since the 31st completes a
    month on the last day of a shorter month (Jan 31 -> Feb 28 is 1).
    """
    if as_of <= since:
        return 0
    months = (as_of.year - since.year) * 12 + as_of.month - since.month
    last_day = calendar.monthrange(as_of.year, as_of.month)[1]
    if as_of.day < since.day and as_of.day != last_day:
        months -= 1
    return max(months, 0)
