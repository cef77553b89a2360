"""Card and bank payment input: Luhn, brands, expiry, codes, routing, declines, masking."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import luhn as stdnum_luhn
from stdnum.us import rtn as stdnum_rtn

from agent_desktop.domain.cards import (
    DECLINE_CODES,
    Brand,
    CardNumberCheck,
    CheckState,
    Decline,
    FieldCheck,
    brand_of,
    check_account_number,
    check_card_number,
    check_check_number,
    check_cvc,
    check_expiry,
    check_holder_name,
    check_routing_number,
    decline_for,
    digits_only,
    format_card_number,
    luhn_valid,
    mask_card_numbers,
    routing_prefix_valid,
)
from agent_desktop.platform.logs import mask_card_numbers as platform_mask

PROPS = settings(database=None, deadline=None)
DIGITS = "0123456789"
TODAY = date(2026, 11, 15)

# The brand table, written out independently of the module: (brand, first, last) over
# the leading four digits.
REFERENCE_RANGES: tuple[tuple[Brand, int, int], ...] = (
    (Brand.VISA, 4000, 4999),
    (Brand.MASTERCARD, 5100, 5599),
    (Brand.MASTERCARD, 2221, 2720),
    (Brand.AMEX, 3400, 3499),
    (Brand.AMEX, 3700, 3799),
    (Brand.DISCOVER, 6011, 6011),
    (Brand.DISCOVER, 6440, 6499),
    (Brand.DISCOVER, 6500, 6599),
)


def reference_brand4(first_four: str) -> Brand | None:
    value = int(first_four)
    for brand, lo, hi in REFERENCE_RANGES:
        if lo <= value <= hi:
            return brand
    return None


def with_check_digit(body: str) -> str:
    return body + stdnum_luhn.calc_check_digit(body)


# --- Public test cards -------------------------------------------------------------------

PUBLIC_TEST_CARDS = [
    ("4242424242424242", Brand.VISA),
    ("4000000000000002", Brand.VISA),
    ("4000000000009995", Brand.VISA),
    ("4000000000000069", Brand.VISA),
    ("4000000000000127", Brand.VISA),
    ("4000000000000119", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("378282246310005", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
]


@pytest.mark.parametrize(("number", "brand"), PUBLIC_TEST_CARDS)
def test_public_test_cards_pass_with_their_brand(number: str, brand: Brand) -> None:
    assert luhn_valid(number)
    assert brand_of(number) is brand
    check = check_card_number(number)
    assert check == CardNumberCheck(
        "ok", f"{brand.label} ending {number[-4:]}", brand, number, number[-4:]
    )
    assert check.ok
    assert check_card_number(format_card_number(number)).ok
    assert check_card_number("  " + "-".join(re.findall(".{1,4}", number)) + " ").ok


# --- Luhn ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "79927398713",
        "4111111111111111",
        "5105105105105100",
        "371449635398431",
        "30569309025904",
        "6011000990139424",
        "4012888888881881",
        "0",
        "00",
        "18",
    ],
)
def test_luhn_accepts_known_good_numbers(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "79927398710",
        "79927398711",
        "4111111111111112",
        "4242424242424241",
        "1234567812345678",
        "378282246310006",
        "1",
        "",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",  # Arabic-Indic digits are not ASCII digits
        "４２４２４２４２４２４２４２４２",  # nor are fullwidth ones
    ],
)
def test_luhn_rejects_bad_numbers_and_non_digits(number: str) -> None:
    assert not luhn_valid(number)


@PROPS
@given(st.text(alphabet=DIGITS, min_size=1, max_size=40))
def test_luhn_agrees_with_python_stdnum_and_the_log_filter(digits: str) -> None:
    assert luhn_valid(digits) == stdnum_luhn.is_valid(digits)


@PROPS
@given(
    st.text(alphabet=DIGITS, min_size=12, max_size=18),
    st.data(),
)
def test_changing_one_digit_of_a_valid_number_fails_luhn(body: str, data: st.DataObject) -> None:
    number = with_check_digit(body)
    assert luhn_valid(number)
    at = data.draw(st.integers(min_value=0, max_value=len(number) - 1))
    new = data.draw(st.sampled_from([d for d in DIGITS if d != number[at]]))
    changed = number[:at] + new + number[at + 1 :]
    assert not luhn_valid(changed)
    assert check_card_number(changed).state != "ok"


# --- Brands ----------------------------------------------------------------------------


def test_brand_values_labels_lengths_and_codes() -> None:
    assert [b.value for b in Brand] == ["visa", "mastercard", "amex", "discover"]
    assert Brand("amex") is Brand.AMEX
    assert {b: b.label for b in Brand} == {
        Brand.VISA: "Visa",
        Brand.MASTERCARD: "Mastercard",
        Brand.AMEX: "American Express",
        Brand.DISCOVER: "Discover",
    }
    assert Brand.VISA.lengths == (13, 16, 19)
    assert Brand.MASTERCARD.lengths == (16,)
    assert Brand.AMEX.lengths == (15,)
    assert Brand.DISCOVER.lengths == (16, 17, 18, 19)
    assert {b: b.cvc_length for b in Brand} == {
        Brand.VISA: 3,
        Brand.MASTERCARD: 3,
        Brand.AMEX: 4,
        Brand.DISCOVER: 3,
    }


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("", None),
        ("4", Brand.VISA),
        ("49", Brand.VISA),
        ("5", None),
        ("50", None),
        ("51", Brand.MASTERCARD),
        ("55", Brand.MASTERCARD),
        ("56", None),
        ("2", None),
        ("22", None),
        ("222", None),
        ("2220", None),
        ("2221", Brand.MASTERCARD),
        ("2229", Brand.MASTERCARD),
        ("223", Brand.MASTERCARD),
        ("23", Brand.MASTERCARD),
        ("26", Brand.MASTERCARD),
        ("27", None),
        ("271", Brand.MASTERCARD),
        ("272", None),
        ("2720", Brand.MASTERCARD),
        ("2721", None),
        ("28", None),
        ("3", None),
        ("34", Brand.AMEX),
        ("35", None),
        ("36", None),
        ("37", Brand.AMEX),
        ("6", None),
        ("60", None),
        ("601", None),
        ("6011", Brand.DISCOVER),
        ("6010", None),
        ("6012", None),
        ("64", None),
        ("643", None),
        ("644", Brand.DISCOVER),
        ("649", Brand.DISCOVER),
        ("65", Brand.DISCOVER),
        ("650", Brand.DISCOVER),
        ("66", None),
        ("62", None),
        ("1", None),
        ("9", None),
        ("4242 4242", Brand.VISA),
        ("2221-00", Brand.MASTERCARD),
    ],
)
def test_brand_of_prefixes_including_partial_input(prefix: str, brand: Brand | None) -> None:
    assert brand_of(prefix) is brand


def test_brand_of_every_four_digit_prefix_matches_the_table() -> None:
    for value in range(10_000):
        prefix = f"{value:04d}"
        assert brand_of(prefix) is reference_brand4(prefix), prefix
        assert brand_of(prefix + "123456789012") is reference_brand4(prefix), prefix


def test_brand_of_a_short_prefix_is_set_only_when_every_continuation_agrees() -> None:
    for width in (1, 2, 3):
        for value in range(10**width):
            prefix = f"{value:0{width}d}"
            continuations = {
                reference_brand4(prefix + f"{rest:0{4 - width}d}")
                for rest in range(10 ** (4 - width))
            }
            settled = next(iter(continuations)) if len(continuations) == 1 else None
            assert brand_of(prefix) is settled, prefix


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (with_check_digit("222100000000000"), Brand.MASTERCARD),
        (with_check_digit("272099999999999"), Brand.MASTERCARD),
        (with_check_digit("510000000000000"), Brand.MASTERCARD),
        (with_check_digit("559999999999999"), Brand.MASTERCARD),
        (with_check_digit("34000000000000"), Brand.AMEX),
        (with_check_digit("601100000000000"), Brand.DISCOVER),
        (with_check_digit("644000000000000"), Brand.DISCOVER),
        (with_check_digit("649999999999999"), Brand.DISCOVER),
        (with_check_digit("650000000000000"), Brand.DISCOVER),
        (with_check_digit("659999999999999999"), Brand.DISCOVER),  # 19 digits
        (with_check_digit("601100000000000000"), Brand.DISCOVER),  # 19 digits
        (with_check_digit("6440000000000000"), Brand.DISCOVER),  # 17 digits
        (with_check_digit("422222222222"), Brand.VISA),  # 13 digits
        (with_check_digit("424242424242424242"), Brand.VISA),  # 19 digits
    ],
)
def test_range_edges_and_lengths_validate(number: str, brand: Brand) -> None:
    check = check_card_number(number)
    assert check.state == "ok", check.message
    assert check.brand is brand


@pytest.mark.parametrize(
    ("number", "starts"),
    [
        (with_check_digit("222099999999999"), "2220"),
        (with_check_digit("272100000000000"), "2721"),
        (with_check_digit("500000000000000"), "50"),
        (with_check_digit("560000000000000"), "56"),
    ],
)
def test_just_outside_the_mastercard_ranges_is_no_card(number: str, starts: str) -> None:
    assert brand_of(number) is None
    check = check_card_number(number)
    assert check.state == "invalid"
    assert check.brand is None
    assert check.message.endswith(f"this one starts {starts}")


# --- Card number messages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "state", "message"),
    [
        ("", "empty", "Enter the card number"),
        ("   ", "empty", "Enter the card number"),
        ("4242 4242 abcd", "invalid", "A card number has only digits"),
        ("4242.4242", "invalid", "A card number has only digits"),
        ("--", "invalid", "A card number has only digits"),
        ("４２４２", "invalid", "A card number has only digits"),
        ("3", "incomplete", "Keep typing the card number"),
        ("22", "incomplete", "Keep typing the card number"),
        ("60", "incomplete", "Keep typing the card number"),
        (
            "30",
            "invalid",
            "Card numbers starting 3 are American Express (34 or 37); this one starts 30",
        ),
        (
            "3530111333300000",
            "invalid",
            "Card numbers starting 3 are American Express (34 or 37); this one starts 35",
        ),
        ("2220", "invalid", "Mastercard numbers starting 2 are 2221 to 2720; this one starts 2220"),
        ("2721", "invalid", "Mastercard numbers starting 2 are 2221 to 2720; this one starts 2721"),
        ("20", "invalid", "Mastercard numbers starting 2 are 2221 to 2720; this one starts 20"),
        ("56", "invalid", "Mastercard numbers starting 5 are 51 to 55; this one starts 56"),
        ("62", "invalid", "Discover numbers start 6011, 644 to 649 or 65; this one starts 62"),
        ("6012", "invalid", "Discover numbers start 6011, 644 to 649 or 65; this one starts 6012"),
        (
            "1234",
            "invalid",
            "We take Visa, Mastercard, American Express and Discover, which start 2 to 6; "
            "this number starts 1",
        ),
        ("4", "incomplete", "A Visa number has 13, 16 or 19 digits; this one has 1 so far"),
        (
            "4242 4242 42",
            "incomplete",
            "A Visa number has 13, 16 or 19 digits; this one has 10 so far",
        ),
        ("42424242424242", "incomplete", "A Visa number has 13, 16 or 19 digits; this one has 14"),
        (
            "42424242424242424",
            "incomplete",
            "A Visa number has 13, 16 or 19 digits; this one has 17",
        ),
        (
            "42424242424242424242",
            "invalid",
            "A Visa number has 13, 16 or 19 digits; this one has 20",
        ),
        (
            "4242424242424241",
            "incomplete",
            "16 digits fail the check digit: a typo? (or 19 digits on the card)",
        ),
        (
            "4222222222223",
            "incomplete",
            "13 digits fail the check digit: a typo? (or 16 or 19 digits on the card)",
        ),
        ("4242424242424242421", "invalid", "The card number has a typo: it fails the check digit"),
        ("5555555555554443", "invalid", "The card number has a typo: it fails the check digit"),
        ("55555555555544445", "invalid", "A Mastercard number has 16 digits; this one has 17"),
        ("555555555555", "incomplete", "A Mastercard number has 16 digits; this one has 12 so far"),
        ("378282246310006", "invalid", "The card number has a typo: it fails the check digit"),
        (
            "3782822463100050",
            "invalid",
            "An American Express number has 15 digits; this one has 16",
        ),
        (
            "37828224631000",
            "incomplete",
            "An American Express number has 15 digits; this one has 14 so far",
        ),
        (
            "6011111111111118",
            "incomplete",
            "16 digits fail the check digit: a typo? (or 17 to 19 digits on the card)",
        ),
        (
            "60111111111111111111",
            "invalid",
            "A Discover number has 16 to 19 digits; this one has 20",
        ),
        ("6011 1111 1111 1117", "ok", "Discover ending 1117"),
    ],
)
def test_card_number_states_and_messages(text: str, state: CheckState, message: str) -> None:
    check = check_card_number(text)
    assert (check.state, check.message) == (state, message)


def test_card_number_check_keeps_the_number_out_of_its_repr_and_last4_until_ok() -> None:
    check = check_card_number("4242 4242 4242 4242")
    assert check.digits == "4242424242424242"
    assert check.last4 == "4242"
    assert "4242424242424242" not in repr(check)
    partial = check_card_number("4242 4242 4242")
    assert partial.brand is Brand.VISA
    assert partial.digits == "424242424242"
    assert partial.last4 == ""
    assert "424242424242" not in repr(partial)
    assert isinstance(check, FieldCheck)
    assert not partial.ok


@st.composite
def valid_card_numbers(draw: st.DrawFn, brand: Brand | None = None) -> str:
    chosen = brand or draw(st.sampled_from(list(Brand)))
    lo, hi = draw(st.sampled_from([(lo, hi) for b, lo, hi in REFERENCE_RANGES if b is chosen]))
    prefix = f"{draw(st.integers(min_value=lo, max_value=hi)):04d}"
    length = draw(st.sampled_from(chosen.lengths))
    rest = draw(st.text(alphabet=DIGITS, min_size=length - 5, max_size=length - 5))
    return with_check_digit(prefix + rest)


@PROPS
@given(valid_card_numbers())
def test_typing_a_valid_number_never_shows_an_error_on_the_way(number: str) -> None:
    for k in range(1, len(number)):
        check = check_card_number(number[:k])
        assert check.state in ("incomplete", "ok"), (number[:k], check.message)
    final = check_card_number(number)
    assert final.ok
    assert final.brand is reference_brand4(number[:4])
    assert check_card_number(format_card_number(number)) == final


@PROPS
@given(st.text(alphabet=DIGITS, min_size=1, max_size=19), st.text(alphabet=DIGITS, max_size=6))
def test_an_invalid_number_stays_invalid_whatever_is_typed_next(start: str, more: str) -> None:
    assume(check_card_number(start).state == "invalid")
    assert check_card_number(start + more).state == "invalid"


def _complete(prefix: str) -> str | None:
    """Some valid card number starting with ``prefix``, if there is one."""
    candidates = [prefix]
    if len(prefix) < 4:
        width = 4 - len(prefix)
        candidates = [prefix + f"{rest:0{width}d}" for rest in range(10**width)]
    for start in candidates:
        brand = reference_brand4(start[:4])
        if brand is None:
            continue
        for length in brand.lengths:
            if length > len(start):
                number = with_check_digit(start.ljust(length - 1, "0"))
                if check_card_number(number).ok:
                    return number
    return None


@PROPS
@given(st.text(alphabet=DIGITS, min_size=1, max_size=19))
def test_an_incomplete_number_can_still_become_valid(start: str) -> None:
    check = check_card_number(start)
    if check.state == "incomplete":
        completed = _complete(start)
        assert completed is not None, start
        assert completed.startswith(start)
    elif check.state == "ok":
        assert check.brand is reference_brand4(start[:4])
    else:
        assert check.state == "invalid"


# --- Formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("", ""),
        ("4", "4"),
        ("4242", "4242"),
        ("42424", "4242 4"),
        ("4242424242424242", "4242 4242 4242 4242"),
        ("4242-4242-4242-4242", "4242 4242 4242 4242"),
        (" 4242 42424242 4242 ", "4242 4242 4242 4242"),
        ("4242424242424242424", "4242 4242 4242 4242 424"),
        ("3", "3"),
        ("37828", "3782 8"),
        ("3782822", "3782 822"),
        ("3782822463", "3782 822463"),
        ("37828224631", "3782 822463 1"),
        ("378282246310005", "3782 822463 10005"),
        ("3782822463100051", "3782 822463 10005 1"),
        ("3400 0000 0000 009", "3400 000000 00009"),
        ("5555555555554444", "5555 5555 5555 4444"),
        ("6011111111111117", "6011 1111 1111 1117"),
    ],
)
def test_format_card_number_groups_as_typed(text: str, formatted: str) -> None:
    assert format_card_number(text) == formatted


def test_digits_only_keeps_ascii_digits() -> None:
    assert digits_only("4242-4242 4242.4242") == "4242424242424242"
    assert digits_only("abc") == ""
    assert digits_only("٤٢ ４２ 42") == "42"


@PROPS
@given(st.text(alphabet=DIGITS + " -abc٤", max_size=30))
def test_format_and_digits_only_round_trip(text: str) -> None:
    digits = digits_only(text)
    formatted = format_card_number(text)
    assert digits_only(formatted) == digits
    assert format_card_number(formatted) == formatted
    assert format_card_number(digits) == formatted
    assert set(formatted) <= set(DIGITS + " ")
    assert "  " not in formatted
    assert formatted == formatted.strip()
    sizes = [len(group) for group in formatted.split(" ")] if formatted else []
    pattern = [4, 6, 5] if brand_of(digits) is Brand.AMEX else [4, 4, 4]
    expected = pattern + [4] * len(sizes)
    if sizes:
        assert sizes[:-1] == expected[: len(sizes) - 1]
        assert 1 <= sizes[-1] <= expected[len(sizes) - 1]


# --- Expiry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "today", "state"),
    [
        # Good through the last day of the printed month, not a day more.
        ("11/26", date(2026, 11, 30), "ok"),
        ("11/26", date(2026, 12, 1), "invalid"),
        ("06/27", date(2027, 6, 30), "ok"),
        ("06/27", date(2027, 7, 1), "invalid"),
        # December rolls over into the next year.
        ("12/26", date(2026, 12, 31), "ok"),
        ("12/26", date(2027, 1, 1), "invalid"),
        ("12/2026", date(2026, 12, 31), "ok"),
        ("12/2026", date(2027, 1, 1), "invalid"),
        # A leap February runs to the 29th, a common one to the 28th.
        ("02/28", date(2028, 2, 29), "ok"),
        ("02/28", date(2028, 3, 1), "invalid"),
        ("02/27", date(2027, 2, 28), "ok"),
        ("02/27", date(2027, 3, 1), "invalid"),
        # Earlier in the same month, and the first day of the month.
        ("11/26", date(2026, 11, 1), "ok"),
        ("10/26", TODAY, "invalid"),
        ("01/27", TODAY, "ok"),
        # 20 years ahead, counted in months.
        ("11/46", TODAY, "ok"),
        ("11/2046", TODAY, "ok"),
        ("12/46", TODAY, "invalid"),
        ("01/2047", TODAY, "invalid"),
        ("12/99", TODAY, "invalid"),
    ],
)
def test_expiry_edges(text: str, today: date, state: CheckState) -> None:
    assert check_expiry(text, today=today).state == state
    month, year = text.split("/")
    assert check_expiry(month, year, today=today).state == state


@pytest.mark.parametrize(
    ("text", "today", "message"),
    [
        ("02/28", date(2028, 2, 1), "Good through 29 February 2028"),
        ("02/27", date(2027, 2, 1), "Good through 28 February 2027"),
        ("12/26", TODAY, "Good through 31 December 2026"),
        ("4/30", TODAY, "Good through 30 April 2030"),
    ],
)
def test_expiry_ok_message_names_the_last_good_day(text: str, today: date, message: str) -> None:
    assert check_expiry(text, today=today) == FieldCheck("ok", message)


@pytest.mark.parametrize(
    "text",
    ["08/29", "8/29", "08/2029", "0829", "082029", "08-29", "08 29", " 08 / 29 ", "8-2029", "829"],
)
def test_expiry_accepts_the_usual_ways_of_writing_it(text: str) -> None:
    assert check_expiry(text, today=TODAY) == FieldCheck("ok", "Good through 31 August 2029")


def test_two_and_four_digit_years_agree() -> None:
    for year in range(2020, 2050):
        for month in range(1, 13):
            short = check_expiry(f"{month:02d}", f"{year % 100:02d}", today=TODAY)
            long = check_expiry(f"{month:02d}", str(year), today=TODAY)
            if year != 2020:  # "20" could still become 2029, see below
                assert short.state == long.state, (month, year)
            assert long.state == short.state or short.state == "incomplete"


@pytest.mark.parametrize(
    ("month", "year", "state", "message"),
    [
        ("", "", "empty", "Enter the expiry month and year"),
        ("1", "", "incomplete", "Add the year (YY)"),
        ("0", "", "incomplete", "Keep typing the month (01 to 12)"),
        ("12", "", "incomplete", "Add the year (YY)"),
        ("", "29", "incomplete", "Add the month (01 to 12)"),
        ("13", "29", "invalid", "The month is 01 to 12; this one is 13"),
        ("00", "29", "invalid", "The month is 01 to 12; this one is 00"),
        ("0", "29", "invalid", "The month is 01 to 12; this one is 0"),
        ("ab", "29", "invalid", "The month is a number from 01 to 12"),
        ("123", "29", "invalid", "The month is a number from 01 to 12"),
        ("12", "2a", "invalid", "The year is 2 or 4 digits, like 29 or 2029"),
        ("12", "20291", "invalid", "The year is 2 or 4 digits, like 29 or 2029"),
        ("12", "2", "incomplete", "Keep typing the year (YY or YYYY)"),
        ("12", "202", "incomplete", "Keep typing the year (YY or YYYY)"),
        (
            "12",
            "20",
            "incomplete",
            "12/20 reads as 12/2020, which has passed; keep typing if the year has 4 digits",
        ),
        ("12", "25", "invalid", "This card has expired: it was good through 12/25"),
        ("10", "2026", "invalid", "This card has expired: it was good through 10/2026"),
        ("12", "1", "invalid", "That year has passed: check the expiry date"),
        ("12", "199", "invalid", "That year has passed: check the expiry date"),
        ("12", "9", "invalid", "That year is more than 20 years away: check it"),
        ("12", "205", "invalid", "That year is more than 20 years away: check it"),
        ("12", "2050", "invalid", "12/2050 is more than 20 years away; check the year"),
        ("1", "29", "ok", "Good through 31 January 2029"),
    ],
)
def test_expiry_fields_states_and_messages(
    month: str, year: str, state: CheckState, message: str
) -> None:
    assert check_expiry(month, year, today=TODAY) == FieldCheck(state, message)


@pytest.mark.parametrize(
    ("text", "state", "message"),
    [
        ("", "empty", "Enter the expiry date as MM/YY"),
        ("  ", "empty", "Enter the expiry date as MM/YY"),
        ("0", "incomplete", "Keep typing: MM/YY"),
        ("1", "incomplete", "Keep typing: MM/YY"),
        ("12", "incomplete", "Add the year (YY)"),
        ("12/", "incomplete", "Add the year (YY)"),
        ("1/", "incomplete", "Add the year (YY)"),
        ("9", "incomplete", "Add the year (YY)"),
        ("13", "invalid", "The month is 01 to 12; this one is 13"),
        ("00", "invalid", "The month is 01 to 12; this one is 00"),
        ("0/29", "invalid", "The month is 01 to 12; this one is 0"),
        ("12/20", "incomplete", "12/20 reads as 12/2020, which has passed; keep typing if the "
         "year has 4 digits"),
        ("12/2029x", "invalid", "Type the expiry as MM/YY, like 08/29"),
        ("1229999", "invalid", "Type the expiry as MM/YY, like 08/29"),
        ("12//29", "invalid", "Type the expiry as MM/YY, like 08/29"),
        ("Dec 29", "invalid", "Type the expiry as MM/YY, like 08/29"),
    ],
)  # fmt: skip
def test_expiry_combined_states_and_messages(text: str, state: CheckState, message: str) -> None:
    assert check_expiry(text, today=TODAY) == FieldCheck(state, message)


@PROPS
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=-3, max_value=22),
)
def test_expiry_is_good_exactly_through_the_printed_month(
    today: date, month: int, years_ahead: int
) -> None:
    year = today.year + years_ahead
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    last_day = first_of_next - timedelta(days=1)
    months_ahead = (year - today.year) * 12 + month - today.month
    expected = "ok" if today <= last_day and months_ahead <= 240 else "invalid"
    assert check_expiry(f"{month:02d}/{year}", today=today).state == expected
    assert check_expiry(str(month), str(year), today=today).state == expected


@PROPS
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31)),
    st.integers(min_value=0, max_value=239),
    st.booleans(),
    st.booleans(),
)
def test_typing_a_valid_expiry_never_shows_an_error_on_the_way(
    today: date, months_ahead: int, four_digit_year: bool, slash: bool
) -> None:
    index = today.year * 12 + today.month - 1 + months_ahead
    year, month = divmod(index, 12)
    text = f"{month + 1:02d}{'/' if slash else ''}{year if four_digit_year else year % 100:02d}"
    for k in range(1, len(text)):
        assert check_expiry(text[:k], today=today).state in ("incomplete", "ok"), text[:k]
    assert check_expiry(text, today=today).ok


# --- Security code ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "brand", "state", "message"),
    [
        ("", Brand.VISA, "empty", "Enter the 3-digit security code from the back of the card"),
        ("", Brand.AMEX, "empty", "Enter the 4-digit security code from the front of the card"),
        ("", None, "empty", "Enter the security code from the card"),
        ("123", Brand.VISA, "ok", "Security code entered"),
        ("000", Brand.MASTERCARD, "ok", "Security code entered"),
        ("123", Brand.DISCOVER, "ok", "Security code entered"),
        ("1234", Brand.AMEX, "ok", "Security code entered"),
        (" 1234 ", Brand.AMEX, "ok", "Security code entered"),
        (
            "123",
            Brand.AMEX,
            "incomplete",
            "An American Express security code has 4 digits, on the front of the card; "
            "this one has 3 so far",
        ),
        (
            "12345",
            Brand.AMEX,
            "invalid",
            "An American Express security code has 4 digits, on the front of the card; "
            "this one has 5",
        ),
        (
            "12",
            Brand.VISA,
            "incomplete",
            "A Visa security code has 3 digits, on the back of the card; this one has 2 so far",
        ),
        (
            "1234",
            Brand.VISA,
            "invalid",
            "A Visa security code has 3 digits, on the back of the card; this one has 4",
        ),
        (
            "1234",
            Brand.MASTERCARD,
            "invalid",
            "A Mastercard security code has 3 digits, on the back of the card; this one has 4",
        ),
        ("12a", Brand.VISA, "invalid", "A security code has only digits"),
        ("1 23", Brand.VISA, "invalid", "A security code has only digits"),
        ("123", None, "ok", "Security code entered"),
        ("1234", None, "ok", "Security code entered"),
        (
            "12",
            None,
            "incomplete",
            "A security code has 3 or 4 digits, on the card; this one has 2 so far",
        ),
        (
            "12345",
            None,
            "invalid",
            "A security code has 3 or 4 digits, on the card; this one has 5",
        ),
    ],
)
def test_cvc(text: str, brand: Brand | None, state: CheckState, message: str) -> None:
    assert check_cvc(text, brand) == FieldCheck(state, message)


def test_amex_has_15_digits_and_a_4_digit_code() -> None:
    number = check_card_number("3782 822463 10005")
    assert number.ok
    assert number.brand is Brand.AMEX
    assert len(number.digits) == 15
    assert check_cvc("1234", number.brand).ok
    assert not check_cvc("123", number.brand).ok
    visa = check_card_number("4242 4242 4242 4242")
    assert check_cvc("123", visa.brand).ok
    assert check_cvc("1234", visa.brand).state == "invalid"


@PROPS
@given(st.sampled_from([*Brand, None]), st.text(alphabet=DIGITS, min_size=1, max_size=6))
def test_cvc_ok_exactly_at_the_brand_length(brand: Brand | None, code: str) -> None:
    wanted = {3, 4} if brand is None else {brand.cvc_length}
    assert check_cvc(code, brand).ok == (len(code) in wanted)
    if len(code) > max(wanted):
        assert check_cvc(code, brand).state == "invalid"


# --- Routing, account and check numbers ------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "021000021",
        "011000015",
        "121000358",
        "111000025",
        "0210 0002 1",
        "021-000-021",
        "322271627",
        "061000104",
    ],
)
def test_routing_numbers_that_check_out(number: str) -> None:
    assert check_routing_number(number) == FieldCheck("ok", "Routing number checks out")


@pytest.mark.parametrize(
    ("text", "state", "message"),
    [
        ("", "empty", "Enter the 9-digit routing number"),
        ("123456789", "invalid", "The routing number has a typo: it fails the check digit"),
        ("021000022", "invalid", "The routing number has a typo: it fails the check digit"),
        ("0210", "incomplete", "A routing number has 9 digits; this one has 4 so far"),
        ("0", "incomplete", "A routing number has 9 digits; this one has 1 so far"),
        ("02100002", "incomplete", "A routing number has 9 digits; this one has 8 so far"),
        ("0210000210", "invalid", "A routing number has 9 digits; this one has 10"),
        ("02100002a", "invalid", "A routing number has only digits"),
        ("abc", "invalid", "A routing number has only digits"),
        ("--", "invalid", "A routing number has only digits"),
        ("000000000", "invalid", "000000000 is not a routing number"),
        (
            "13",
            "invalid",
            "A US routing number starts 00 to 12, 21 to 32, 61 to 72 or 80; this one starts 13",
        ),
        (
            "200000000",
            "invalid",
            "A US routing number starts 00 to 12, 21 to 32, 61 to 72 or 80; this one starts 20",
        ),
    ],
)
def test_routing_number_states_and_messages(text: str, state: CheckState, message: str) -> None:
    assert check_routing_number(text) == FieldCheck(state, message)


def test_routing_prefixes_follow_the_federal_reserve_ranges() -> None:
    allowed = {f"{n:02d}" for n in [*range(0, 13), *range(21, 33), *range(61, 73), 80]}
    for n in range(100):
        prefix = f"{n:02d}"
        assert routing_prefix_valid(prefix) == (prefix in allowed), prefix
    assert not routing_prefix_valid("1")
    assert not routing_prefix_valid("012")
    assert not routing_prefix_valid("a1")


@PROPS
@given(st.text(alphabet=DIGITS, min_size=9, max_size=9))
def test_routing_number_agrees_with_python_stdnum_plus_the_prefix_rule(number: str) -> None:
    expected = (
        stdnum_rtn.is_valid(number) and routing_prefix_valid(number[:2]) and number != "000000000"
    )
    assert check_routing_number(number).ok == expected


@PROPS
@given(st.text(alphabet=DIGITS, min_size=6, max_size=6), st.sampled_from(["02", "12", "21", "80"]))
def test_a_routing_number_with_one_digit_changed_fails(body: str, prefix: str) -> None:
    number = prefix + body + stdnum_rtn.calc_check_digit(prefix + body)
    assert check_routing_number(number).ok
    for at in range(2, 9):
        for digit in DIGITS:
            if digit != number[at]:
                changed = number[:at] + digit + number[at + 1 :]
                assert not check_routing_number(changed).ok


@pytest.mark.parametrize(
    ("text", "state", "message"),
    [
        ("", "empty", "Enter the account number"),
        ("123", "incomplete", "An account number has 4 to 17 digits; this one has 3 so far"),
        ("1234", "ok", "Account ending 1234"),
        ("12345678901234567", "ok", "Account ending 4567"),
        ("1234-5678 9012", "ok", "Account ending 9012"),
        ("123456789012345678", "invalid", "An account number has 4 to 17 digits; this one has 18"),
        ("1234abcd", "invalid", "An account number has only digits"),
        ("0000", "invalid", "An account number can't be all zeros"),
    ],
)
def test_account_number(text: str, state: CheckState, message: str) -> None:
    assert check_account_number(text) == FieldCheck(state, message)


@pytest.mark.parametrize(
    ("text", "state", "message"),
    [
        ("", "empty", "Enter the check number (top right of the check)"),
        ("1", "ok", "Check number 1"),
        (" 1042 ", "ok", "Check number 1042"),
        ("1234567890", "ok", "Check number 1234567890"),
        ("12345678901", "invalid", "A check number has 1 to 10 digits; this one has 11"),
        ("0", "invalid", "A check number can't be 0"),
        ("000", "invalid", "A check number can't be 0"),
        ("12a", "invalid", "A check number has only digits"),
        ("#1042", "invalid", "A check number has only digits"),
    ],
)
def test_check_number(text: str, state: CheckState, message: str) -> None:
    assert check_check_number(text) == FieldCheck(state, message)


# --- Name on the card ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Jane Doe",
        "  Jane   Doe ",
        "José O'Brien-Smith Jr.",
        "Zoë d’Arcy",
        "Jose\u0301 Garci\u0301a",
        "李小龙",
        "Ng",
        "Doe, Jane",
    ],
)
def test_holder_names_that_are_ok(name: str) -> None:
    assert check_holder_name(name) == FieldCheck("ok", "")


@pytest.mark.parametrize(
    ("text", "state", "message"),
    [
        ("", "empty", "Enter the name as printed on the card"),
        ("   ", "empty", "Enter the name as printed on the card"),
        ("J", "incomplete", "Keep typing the name as printed on the card"),
        ("Jane Doe 2", "invalid", "A name has letters, not digits"),
        ("4242 4242 4242 4242", "invalid", "A name has letters, not digits"),
        ("Jane٣", "invalid", "A name has letters, not digits"),
        (
            "Jane@Doe",
            "invalid",
            "A name has only letters, spaces, hyphens, apostrophes and periods",
        ),
        ("A" * 101, "invalid", "A name has at most 100 characters; this one has 101"),
    ],
)
def test_holder_name_problems(text: str, state: CheckState, message: str) -> None:
    assert check_holder_name(text) == FieldCheck(state, message)


# --- Declines --------------------------------------------------------------------------

ALL_CODES = [
    "card_declined",
    "insufficient_funds",
    "expired_card",
    "incorrect_cvc",
    "processing_error",
    "lost_card",
    "stolen_card",
    "do_not_honor",
    "invalid_account",
    "unknown",
]


def test_every_decline_code_is_mapped() -> None:
    assert sorted(DECLINE_CODES) == sorted(ALL_CODES)
    for code, decline in DECLINE_CODES.items():
        assert decline.code == code
        assert decline_for(code) is decline
        assert decline.agent_text and decline.say_to_customer and decline.next_step


@pytest.mark.parametrize("code", ALL_CODES)
def test_customer_never_hears_lost_stolen_or_fraud(code: str) -> None:
    said = decline_for(code).say_to_customer.lower()
    for word in ("lost", "stolen", "steal", "fraud", "pick up", "insufficient"):
        assert word not in said, (code, word)


def test_lost_and_stolen_cards_are_a_plain_decline_to_the_customer() -> None:
    plain = decline_for("card_declined").say_to_customer
    assert "declined" in plain
    for code in ("lost_card", "stolen_card", "do_not_honor"):
        decline = decline_for(code)
        assert decline.say_to_customer == plain
        assert not decline.retryable
    for code in ("lost_card", "stolen_card"):
        assert decline_for(code).next_step.startswith("Don't retry this card.")
    assert "lost" in decline_for("lost_card").agent_text
    assert "stolen" in decline_for("stolen_card").agent_text


def test_retryable_declines() -> None:
    assert {code for code in ALL_CODES if decline_for(code).retryable} == {
        "expired_card",
        "incorrect_cvc",
        "processing_error",
        "invalid_account",
    }


@pytest.mark.parametrize("code", ["", "pickup_card", "fraudulent", "CARD_velocity_exceeded"])
def test_unknown_decline_codes_get_safe_words_and_keep_the_code(code: str) -> None:
    decline = decline_for(code)
    unknown = DECLINE_CODES["unknown"]
    assert decline == dataclasses.replace(unknown, code=code)
    assert not decline.retryable


def test_decline_codes_are_read_in_any_case_and_cannot_be_changed() -> None:
    assert decline_for(" Insufficient_Funds ") is DECLINE_CODES["insufficient_funds"]
    with pytest.raises(TypeError):
        DECLINE_CODES["unknown"] = DECLINE_CODES["card_declined"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DECLINE_CODES["unknown"].retryable = True  # type: ignore[misc]
    assert isinstance(DECLINE_CODES["unknown"], Decline)


# --- Masking ---------------------------------------------------------------------------


def _decimal(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


def luhn_runs(text: str) -> list[str]:
    """Every 13-19 digit span in ``text`` that passes Luhn, found by brute force.

    A span starts at a digit with no digit before it and ends at a digit with no digit
    after it; between its digits there is at most one space or dash.
    """
    found: list[str] = []
    for i, ch in enumerate(text):
        if not _decimal(ch) or (i and _decimal(text[i - 1])):
            continue
        digits = ""
        j = i
        while j < len(text) and len(digits) <= 19:
            if _decimal(text[j]):
                digits += str(unicodedata.decimal(text[j]))
                at_end = j + 1 == len(text) or not _decimal(text[j + 1])
                if at_end and 13 <= len(digits) <= 19 and luhn_valid(digits):
                    found.append(digits)
                j += 1
            elif text[j] in " -" and j + 1 < len(text) and _decimal(text[j + 1]):
                j += 1
            else:
                break
    return found


AGREED_SAMPLES = [
    "",
    "no digits here",
    "card 4242424242424242 ok",
    "card 4242 4242 4242 4242 ok",
    "card 4242-4242-4242-4242 ok",
    "Amex 3782 822463 10005 and Amex 378282246310005",
    "two: 5555555555554444, 6011111111111117.",
    "x4000000000000002y",
    "not Luhn 4242424242424241",
    "too short 424242424242",
    "too long 42424242424242424242",
    "13 digits 4222222222222 and 19 digits 4242424242424242428",
    "phone 555-123-4567, order 12345",
    "2026-11-15 12:00:00 charge ch_123 for 42.10",
    "4242 4242 4242 4242",
    "4242  4242 4242 4242",
]


@pytest.mark.parametrize("text", AGREED_SAMPLES)
def test_domain_and_log_filter_masks_agree(text: str) -> None:
    assert mask_card_numbers(text) == platform_mask(text)
    assert luhn_runs(mask_card_numbers(text)) == []


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("card 4242424242424242 ok", "card [card ****4242] ok"),
        ("card 4242 4242 4242 4242 ok", "card [card ****4242] ok"),
        ("card 4242-4242-4242-4242", "card [card ****4242]"),
        ("3782 822463 10005", "[card ****0005]"),
        ("4242 4242 4242 4242 4242", "[card ****4242]"),
        ("4242424242424242 4242424242424242", "[card ****4242] [card ****4242]"),
        ("4242  4242 4242 4242", "4242  4242 4242 4242"),
        ("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "[card ****4242]"),
    ],
)
def test_mask_examples(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


NEXT_TO_OTHER_DIGITS = [
    ("ref 12 4242 4242 4242 4242", "ref 12 [card ****4242]"),
    ("Card 4242 4242 4242 4242 12 27", "Card [card ****4242] 12 27"),
    ("5555-5555-5555-4444-123", "[card ****4444]-123"),
    ("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9", "1 2 [card ****6789]"),
]


@pytest.mark.parametrize(("text", "masked"), NEXT_TO_OTHER_DIGITS)
def test_mask_finds_a_card_number_next_to_other_digit_groups(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked
    assert luhn_runs(mask_card_numbers(text)) == []


@pytest.mark.parametrize("text", [t for t, _ in NEXT_TO_OTHER_DIGITS[:2]])
def test_log_filter_also_finds_a_card_number_next_to_other_digit_groups(text: str) -> None:
    assert platform_mask(text) == mask_card_numbers(text)


mask_alphabet = st.sampled_from([*DIGITS, " ", "-", "a", ",", "  "])


@st.composite
def texts_with_card_numbers(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        parts.append("".join(draw(st.lists(mask_alphabet, max_size=12))))
        number = draw(valid_card_numbers())
        style = draw(st.sampled_from(["plain", "formatted", "dashed"]))
        if style == "formatted":
            number = format_card_number(number)
        elif style == "dashed":
            number = format_card_number(number).replace(" ", "-")
        parts.append(number)
    parts.append("".join(draw(st.lists(mask_alphabet, max_size=12))))
    return "".join(parts)


@PROPS
@given(st.one_of(texts_with_card_numbers(), st.text(alphabet=DIGITS + " -a٤", max_size=60)))
def test_mask_never_leaves_a_luhn_valid_run(text: str) -> None:
    masked = mask_card_numbers(text)
    assert luhn_runs(masked) == []
    assert mask_card_numbers(masked) == masked
    if not luhn_runs(text):
        assert masked == text


@PROPS
@given(valid_card_numbers(), st.sampled_from(["plain", "formatted", "dashed"]))
def test_a_card_number_between_words_is_masked_to_its_last_four(number: str, style: str) -> None:
    shown = format_card_number(number) if style != "plain" else number
    if style == "dashed":
        shown = shown.replace(" ", "-")
    masked = mask_card_numbers(f"paid with {shown}, thanks")
    assert masked == f"paid with [card ****{number[-4:]}], thanks"


@st.composite
def log_lines(draw: st.DrawFn) -> str:
    """Words and single card-like numbers, each on its own between words."""
    pieces: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        kind = draw(st.sampled_from(["word", "valid", "random", "long"]))
        if kind == "word":
            pieces.append(draw(st.sampled_from(["card", "ref", "ok", "x", "charge"])))
            continue
        if kind == "valid":
            number = draw(valid_card_numbers())
        elif kind == "random":
            number = draw(st.text(alphabet=DIGITS, min_size=1, max_size=19))
        else:
            number = draw(st.text(alphabet=DIGITS, min_size=20, max_size=24))
        style = draw(st.sampled_from(["plain", "formatted", "dashed"]))
        if style != "plain" and len(number) <= 16:
            number = format_card_number(number)
            if style == "dashed":
                number = number.replace(" ", "-")
        pieces.append(number)
    return " and ".join(pieces)


@PROPS
@given(log_lines())
def test_domain_and_log_filter_masks_agree_on_log_lines(text: str) -> None:
    assert mask_card_numbers(text) == platform_mask(text)
