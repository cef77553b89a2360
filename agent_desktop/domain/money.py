"""Money as integer minor units plus a currency code.

Every amount in the product is a `Money` (or a plain ``int`` of cents at a storage or
wire boundary). Rates (tax, discounts) are `Decimal` built from strings, never floats.
Rounding happens in one place, `round_cents`, under a `RoundingRule` the caller passes
in (tax rounding is a setting; customer-facing rounding is usually half-up).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
    InvalidOperation,
    localcontext,
)
from enum import StrEnum
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

from agent_desktop.domain.errors import UserFacingError

__all__ = [
    "MSG_BAD_COMMAS",
    "MSG_ENTER_AMOUNT",
    "MSG_TOO_MANY_DECIMALS",
    "Money",
    "RoundingRule",
    "round_cents",
    "sum_money",
]

MSG_ENTER_AMOUNT = "Enter an amount like 42.10"
MSG_TOO_MANY_DECIMALS = "Use at most two digits after the decimal point"
MSG_BAD_COMMAS = "Put commas only between groups of three digits, like 1,234.56"

_MINOR_DIGITS = 2

_AMOUNT_RE = re.compile(
    r"""
    (?P<sign>[-+]?)\s*
    (?P<symbol>\$?)\s*
    (?P<sign2>[-+]?)\s*
    (?P<whole>\d[\d,]*)?
    (?:\.(?P<frac>\d*))?
    """,
    re.VERBOSE,
)
_GROUPED_RE = re.compile(r"\d{1,3}(?:,\d{3})+")


class RoundingRule(StrEnum):
    """How a fraction of a cent is rounded; ties are what differ."""

    HALF_UP = "half_up"
    """Ties away from zero (2.5 -> 3, -2.5 -> -3): the usual rule on bills and taxes."""
    HALF_EVEN = "half_even"
    """Ties to the even neighbour (2.5 -> 2, 3.5 -> 4): banker's rounding."""


_DECIMAL_ROUNDING = {
    RoundingRule.HALF_UP: ROUND_HALF_UP,
    RoundingRule.HALF_EVEN: ROUND_HALF_EVEN,
}


def round_cents(value: Decimal, rule: RoundingRule = RoundingRule.HALF_UP) -> int:
    """Round an amount expressed in cents (possibly fractional) to whole cents.

    >>> round_cents(Decimal("12.5"), RoundingRule.HALF_UP)
    13
    >>> round_cents(Decimal("12.5"), RoundingRule.HALF_EVEN)
    12
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"round_cents needs a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"cannot round {value} to cents")
    # Enough precision that quantize never fails for any realistic amount times a rate.
    with localcontext(prec=80):
        return int(value.quantize(Decimal(1), rounding=_DECIMAL_ROUNDING[RoundingRule(rule)]))


@lru_cache(maxsize=64)
def _check_currency(currency: str) -> None:
    if not (
        len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()
    ):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    if get_currency_precision(currency) != _MINOR_DIGITS:
        raise ValueError(f"{currency} does not have two minor digits; Money does not support it")


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: whole cents plus an ISO 4217 currency with two minor digits.

    Arithmetic and comparisons work only between amounts of the same currency; mixing
    currencies raises ``ValueError``.
    """

    cents: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        # type() rather than isinstance(): bool is an int subclass and must be refused.
        if type(self.cents) is not int:
            raise TypeError(f"Money.cents must be an int, got {type(self.cents).__name__}")
        if not isinstance(self.currency, str):
            raise TypeError("Money.currency must be a str")
        _check_currency(self.currency)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        """Return no money in ``currency``."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str = "USD") -> Money:
        """Read an amount an agent typed.

        Accepts "$1,234.56", "1234.5", "-12", "-$5.00", "(12.00)" (negative) and
        surrounding spaces. Raises `UserFacingError` with a message that says what is
        wrong: letters or nothing at all, more than two decimals, misplaced commas.
        """
        s = text.strip()
        negative = False
        if s.startswith("(") and s.endswith(")"):
            negative = True
            s = s[1:-1].strip()
        match = _AMOUNT_RE.fullmatch(s)
        if match is None:
            raise UserFacingError(MSG_ENTER_AMOUNT)
        whole = match["whole"] or ""
        frac = match["frac"] or ""
        signs = match["sign"] + match["sign2"]
        if not (whole or frac) or len(signs) > 1 or (negative and signs):
            raise UserFacingError(MSG_ENTER_AMOUNT)
        if len(frac) > _MINOR_DIGITS:
            raise UserFacingError(MSG_TOO_MANY_DECIMALS)
        if "," in whole:
            if not _GROUPED_RE.fullmatch(whole):
                raise UserFacingError(MSG_BAD_COMMAS)
            whole = whole.replace(",", "")
        cents = int(whole or "0") * 10**_MINOR_DIGITS + int(frac.ljust(_MINOR_DIGITS, "0"))
        if negative or signs == "-":
            cents = -cents
        return cls(cents, currency)

    # -- queries -----------------------------------------------------------------------

    @property
    def amount(self) -> Decimal:
        """The amount in major units, exactly (``Money(123).amount == Decimal("1.23")``)."""
        return Decimal(self.cents).scaleb(-_MINOR_DIGITS)

    def is_zero(self) -> bool:
        """True if the amount is exactly zero."""
        return self.cents == 0

    def is_negative(self) -> bool:
        """True if the amount is below zero."""
        return self.cents < 0

    def is_positive(self) -> bool:
        """True if the amount is above zero."""
        return self.cents > 0

    # -- arithmetic --------------------------------------------------------------------

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.cents - other.cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.cents), self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.cents < other.cents

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.cents <= other.cents

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.cents > other.cents

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.cents >= other.cents

    def mul(self, rate: Decimal | str | int, rule: RoundingRule = RoundingRule.HALF_UP) -> Money:
        """Multiply by a rate (tax, discount, proration) and round to whole cents.

        ``rate`` is a Decimal, an int or a decimal string such as "0.0825"; floats are
        refused because they cannot hold most decimal rates exactly.
        """
        factor = _to_decimal(rate)
        with localcontext(prec=80):
            product = Decimal(self.cents) * factor
        return Money(round_cents(product, rule), self.currency)

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split into parts proportional to ``ratios`` without losing a cent.

        Fowler's allocation: each part gets its share rounded toward zero, then the
        cents left over go one each to the first parts with a nonzero ratio. Parts always
        sum to the whole; a negative amount allocates as the mirror of the positive one.
        Ratios must be ints, all >= 0, with a positive sum; otherwise ``ValueError``.
        """
        for r in ratios:
            if type(r) is not int:
                raise TypeError(f"ratios must be ints, got {type(r).__name__}")
            if r < 0:
                raise ValueError("ratios must not be negative")
        total = sum(ratios)
        if total <= 0:
            raise ValueError("ratios must have a positive sum")
        magnitude = abs(self.cents)
        shares = [magnitude * r // total for r in ratios]
        remainder = magnitude - sum(shares)
        for i, r in enumerate(ratios):
            if remainder == 0:
                break
            if r > 0:
                shares[i] += 1
                remainder -= 1
        sign = -1 if self.cents < 0 else 1
        return [Money(sign * s, self.currency) for s in shares]

    def split(self, n: int) -> list[Money]:
        """Split into ``n`` near-equal parts, the larger ones first.

        ``Money(100).split(3) == [Money(34), Money(33), Money(33)]``.
        """
        if type(n) is not int or n < 1:
            raise ValueError("split needs a whole number of parts, at least 1")
        return self.allocate([1] * n)

    # -- display -----------------------------------------------------------------------

    def format(self, locale: str = "en_US") -> str:
        """Format for display in ``locale``, e.g. "$1,234.56" or "-$5.00" in en_US."""
        return str(format_currency(self.amount, self.currency, locale=locale))

    def __str__(self) -> str:
        return self.format()


def _to_decimal(rate: Decimal | str | int) -> Decimal:
    if isinstance(rate, bool) or not isinstance(rate, Decimal | str | int):
        raise TypeError(f"rate must be a Decimal, str or int, got {type(rate).__name__}")
    try:
        value = rate if isinstance(rate, Decimal) else Decimal(rate)
    except InvalidOperation:
        raise ValueError(f"not a decimal rate: {rate!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite rate: {rate!r}")
    return value


def sum_money(items: Iterable[Money], currency: str = "USD") -> Money:
    """Add up amounts of one currency; an empty iterable gives zero in ``currency``."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
