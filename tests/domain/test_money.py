"""Money as the agent types it, adds it up, taxes it and splits it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.money import (
    MSG_BAD_COMMAS,
    MSG_ENTER_AMOUNT,
    MSG_TOO_MANY_DECIMALS,
    Money,
    RoundingRule,
    round_cents,
    sum_money,
)

cents_values = st.integers(min_value=-(10**12), max_value=10**12)


# -- typing an amount -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("$1,234.56", 123456),
        ("1234.5", 123450),
        ("-12", -1200),
        ("(12.00)", -1200),
        (" 12.30 ", 1230),
        ("-$5.00", -500),
        ("$-5.00", -500),
        ("$ 42.10", 4210),
        ("+7", 700),
        (".5", 50),
        ("12.", 1200),
        ("0", 0),
        ("-0.00", 0),
        ("1,000,000", 100_000_000),
    ],
)
def test_agent_types_an_amount_the_way_customers_say_it(typed: str, cents: int) -> None:
    assert Money.parse(typed) == Money(cents)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", MSG_ENTER_AMOUNT),
        ("   ", MSG_ENTER_AMOUNT),
        ("abc", MSG_ENTER_AMOUNT),
        ("12a", MSG_ENTER_AMOUNT),
        ("twelve", MSG_ENTER_AMOUNT),
        ("$", MSG_ENTER_AMOUNT),
        (".", MSG_ENTER_AMOUNT),
        ("1.2.3", MSG_ENTER_AMOUNT),
        ("--5", MSG_ENTER_AMOUNT),
        ("(-5)", MSG_ENTER_AMOUNT),
        ("1e3", MSG_ENTER_AMOUNT),
        ("NaN", MSG_ENTER_AMOUNT),
        ("12.345", MSG_TOO_MANY_DECIMALS),
        ("$1,234.567", MSG_TOO_MANY_DECIMALS),
        ("0.001", MSG_TOO_MANY_DECIMALS),
        ("12,34", MSG_BAD_COMMAS),
        ("1,2345.00", MSG_BAD_COMMAS),
    ],
)
def test_agent_is_told_exactly_what_is_wrong_with_an_amount(typed: str, message: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        Money.parse(typed)
    assert str(caught.value) == message


def test_the_messages_read_as_plain_instructions() -> None:
    assert MSG_ENTER_AMOUNT == "Enter an amount like 42.10"
    assert MSG_TOO_MANY_DECIMALS == "Use at most two digits after the decimal point"


@given(cents_values)
def test_what_the_screen_shows_can_be_typed_back(cents: int) -> None:
    assert Money.parse(Money(cents).format()) == Money(cents)


# -- building and comparing -------------------------------------------------------------


@pytest.mark.parametrize("bad", [1.5, True, Decimal(1), "100", None])
def test_money_refuses_anything_but_whole_cents(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "US", "DOLLAR", "JPY"])
def test_money_refuses_unknown_or_non_cent_currencies(currency: str) -> None:
    with pytest.raises(ValueError):
        Money(100, currency)


def test_adding_and_subtracting_amounts() -> None:
    assert Money(1050) + Money(250) == Money(1300)
    assert Money(1050) - Money(2000) == Money(-950)
    assert -Money(500) == Money(-500)
    assert abs(Money(-500)) == Money(500)
    assert Money.zero() == Money(0)
    assert Money.zero("CAD") == Money(0, "CAD")


def test_amounts_compare_like_numbers() -> None:
    assert Money(100) < Money(101)
    assert Money(100) <= Money(100)
    assert Money(200) > Money(-300)
    assert Money(-1) >= Money(-1)
    assert sorted([Money(3), Money(-1), Money(2)]) == [Money(-1), Money(2), Money(3)]
    assert max(Money(5), Money(9)) == Money(9)


def test_zero_and_negative_checks() -> None:
    assert Money(0).is_zero()
    assert not Money(1).is_zero()
    assert Money(-1).is_negative()
    assert not Money(0).is_negative()
    assert Money(1).is_positive()


def test_dollars_and_euros_never_mix() -> None:
    usd, eur = Money(100), Money(100, "EUR")
    with pytest.raises(ValueError):
        _ = usd + eur
    with pytest.raises(ValueError):
        _ = usd - eur
    with pytest.raises(ValueError):
        _ = usd < eur
    with pytest.raises(ValueError):
        sum_money([usd, eur])
    assert usd != eur


def test_summing_a_list_of_amounts() -> None:
    assert sum_money([Money(100), Money(250), Money(-50)]) == Money(300)
    assert sum_money([]) == Money(0)
    assert sum_money([], "CAD") == Money(0, "CAD")


def test_money_is_a_hashable_value() -> None:
    assert len({Money(100), Money(100), Money(100, "EUR")}) == 2
    assert Money(123).amount == Decimal("1.23")


# -- tax and rounding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "rate", "half_up", "half_even"),
    [
        (1000, "0.0825", 83, 82),  # 82.5 cents: the tie the rule decides
        (1100, "0.0825", 91, 91),  # 90.75 cents: not a tie, both agree
        (1, "0.5", 1, 0),
        (3, "0.5", 2, 2),
        (-1000, "0.0825", -83, -82),  # a refund's tax mirrors the charge's
        (1500, Decimal("0.0825"), 124, 124),
        (999, 2, 1998, 1998),
    ],
)
def test_tax_is_rounded_by_the_configured_rule(
    cents: int, rate: str | Decimal | int, half_up: int, half_even: int
) -> None:
    assert Money(cents).mul(rate, RoundingRule.HALF_UP) == Money(half_up)
    assert Money(cents).mul(rate, RoundingRule.HALF_EVEN) == Money(half_even)


def test_tax_rounds_half_up_unless_told_otherwise() -> None:
    assert Money(1000).mul("0.0825") == Money(83)


def test_rates_never_come_from_floats() -> None:
    with pytest.raises(TypeError):
        Money(1000).mul(0.0825)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1000).mul("eight percent")
    with pytest.raises(ValueError):
        Money(1000).mul("Infinity")


def test_round_cents_is_the_one_rounding_rule() -> None:
    assert round_cents(Decimal("2.5"), RoundingRule.HALF_UP) == 3
    assert round_cents(Decimal("2.5"), RoundingRule.HALF_EVEN) == 2
    assert round_cents(Decimal("3.5"), RoundingRule.HALF_EVEN) == 4
    assert round_cents(Decimal("-2.5"), RoundingRule.HALF_UP) == -3
    assert round_cents(Decimal("2.4999"), RoundingRule.HALF_UP) == 2


# -- splitting --------------------------------------------------------------------------


def test_agent_splits_100_cents_three_ways_without_losing_a_cent() -> None:
    assert Money(100).split(3) == [Money(34), Money(33), Money(33)]


def test_allocation_follows_the_ratios() -> None:
    assert Money(100).allocate([70, 30]) == [Money(70), Money(30)]
    assert Money(5).allocate([1, 1]) == [Money(3), Money(2)]
    assert Money(-5).allocate([1, 1]) == [Money(-3), Money(-2)]
    assert Money(5).allocate([0, 1, 1]) == [Money(0), Money(3), Money(2)]
    assert Money(0).split(2) == [Money(0), Money(0)]
    assert Money(100, "EUR").split(2) == [Money(50, "EUR"), Money(50, "EUR")]


@pytest.mark.parametrize("ratios", [[], [0, 0], [-1, 2]])
def test_allocation_refuses_meaningless_ratios(ratios: list[int]) -> None:
    with pytest.raises(ValueError):
        Money(100).allocate(ratios)


def test_split_needs_at_least_one_part() -> None:
    with pytest.raises(ValueError):
        Money(100).split(0)


@given(cents_values, st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12))
def test_allocated_parts_always_sum_to_the_whole(cents: int, ratios: list[int]) -> None:
    assume(sum(ratios) > 0)
    parts = Money(cents).allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum_money(parts) == Money(cents)
    for part, ratio in zip(parts, ratios, strict=True):
        assert part.cents * cents >= 0  # never the opposite sign of the whole
        if ratio == 0:
            assert part.is_zero()


@given(cents_values, st.integers(min_value=1, max_value=50))
def test_equal_shares_differ_by_at_most_a_cent(cents: int, n: int) -> None:
    amounts = [p.cents for p in Money(cents).split(n)]
    assert sum(amounts) == cents
    assert max(amounts) - min(amounts) <= 1


@given(cents_values, st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12))
def test_negative_amounts_allocate_as_the_mirror_image(cents: int, ratios: list[int]) -> None:
    assume(sum(ratios) > 0)
    assert Money(-cents).allocate(ratios) == [-p for p in Money(cents).allocate(ratios)]


# -- display ----------------------------------------------------------------------------


def test_amounts_display_as_us_dollars() -> None:
    assert Money(123456).format() == "$1,234.56"
    assert Money(-500).format() == "-$5.00"
    assert Money(0).format() == "$0.00"
    assert str(Money(4210)) == "$42.10"


def test_amounts_display_in_another_locale() -> None:
    assert "234,56" in Money(123456).format("fr_CA")
