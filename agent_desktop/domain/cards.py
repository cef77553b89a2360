"""Card and bank payment input, checked as the agent types (PCI DSS v4.0.1).

Every ``check_*`` function takes the raw text of one field and returns a `FieldCheck`:
a ``state`` and the exact words to show under the field.

- ``"empty"``: nothing typed yet; the message is a neutral prompt.
- ``"incomplete"``: not valid yet, but could still become valid as the agent keeps
  typing; show the message as a neutral hint, not a red error. On submit, treat it as
  blocking: the message still reads correctly then.
- ``"invalid"``: definitely wrong whatever is typed next; show the message as an error.
- ``"ok"``: valid; the message is a short confirmation ("Visa ending 4242").

Rules (docs in shared/DOMAIN.md, "Card and bank payments"): Luhn; brand by prefix (Visa
4; Mastercard 51-55 and 2221-2720; American Express 34/37 with 15 digits and a 4-digit
code; Discover 6011, 644-649 and 65); an expiry is good through the last day of the
printed month; US routing numbers have 9 digits, weights 3-7-1 with a sum divisible by
10, and a first two digits the Federal Reserve assigns (00-12, 21-32, 61-72, 80).

Declines: `decline_for` turns a gateway decline code into words for the agent and words
fit to say to the customer (never "lost" or "stolen": the customer hears "declined").

`mask_card_numbers` hides any 13-19 digit run that passes Luhn, including one written
with single spaces or dashes between digits and one next to other digit groups (a card
number followed by its expiry, "4242 4242 4242 4242 12 27"). The full number never
leaves this module in a repr: `CardNumberCheck.digits` is kept out of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

__all__ = [
    "DECLINE_CODES",
    "MAX_EXPIRY_YEARS_AHEAD",
    "MAX_HOLDER_NAME",
    "Brand",
    "CardNumberCheck",
    "CheckState",
    "Decline",
    "FieldCheck",
    "brand_of",
    "check_account_number",
    "check_card_number",
    "check_check_number",
    "check_cvc",
    "check_expiry",
    "check_holder_name",
    "check_routing_number",
    "decline_for",
    "digits_only",
    "format_card_number",
    "luhn_valid",
    "mask_card_numbers",
    "routing_prefix_valid",
]

CheckState = Literal["empty", "incomplete", "invalid", "ok"]

MAX_EXPIRY_YEARS_AHEAD = 20
_ASCII_DIGITS = frozenset("0123456789")
_CARD_SEPARATORS = frozenset(" -")


@dataclass(frozen=True)
class FieldCheck:
    """The verdict on one field: a state and the exact words to show under it."""

    state: CheckState
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


# --- Luhn and digits -------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` (ASCII digits only, at least one) passes the Luhn check."""
    if not digits or not set(digits) <= _ASCII_DIGITS:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def digits_only(text: str) -> str:
    """The ASCII digits 0-9 of ``text``, in order; everything else dropped."""
    return "".join(ch for ch in text if ch in _ASCII_DIGITS)


# --- Brands ----------------------------------------------------------------------------


class Brand(StrEnum):
    """A card brand we take, with its valid lengths and security-code length."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"

    @property
    def label(self) -> str:
        """The name to show: "Visa", "Mastercard", "American Express", "Discover"."""
        return _LABELS[self]

    @property
    def lengths(self) -> tuple[int, ...]:
        """The numbers of digits a card number of this brand can have, ascending."""
        return _LENGTHS[self]

    @property
    def cvc_length(self) -> int:
        """Digits in the security code: 4 for American Express (front), else 3 (back)."""
        return 4 if self is Brand.AMEX else 3


_LABELS: dict[Brand, str] = {
    Brand.VISA: "Visa",
    Brand.MASTERCARD: "Mastercard",
    Brand.AMEX: "American Express",
    Brand.DISCOVER: "Discover",
}
_LENGTHS: dict[Brand, tuple[int, ...]] = {
    Brand.VISA: (13, 16, 19),
    Brand.MASTERCARD: (16,),
    Brand.AMEX: (15,),
    Brand.DISCOVER: (16, 17, 18, 19),
}
# (brand, number of leading digits, lowest, highest), both ends inclusive.
_PREFIX_RANGES: tuple[tuple[Brand, int, int, int], ...] = (
    (Brand.VISA, 1, 4, 4),
    (Brand.MASTERCARD, 2, 51, 55),
    (Brand.MASTERCARD, 4, 2221, 2720),
    (Brand.AMEX, 2, 34, 34),
    (Brand.AMEX, 2, 37, 37),
    (Brand.DISCOVER, 4, 6011, 6011),
    (Brand.DISCOVER, 3, 644, 649),
    (Brand.DISCOVER, 2, 65, 65),
)
_PREFIX_RULE_BY_FIRST_DIGIT: dict[str, str] = {
    "2": "Mastercard numbers starting 2 are 2221 to 2720",
    "3": "Card numbers starting 3 are American Express (34 or 37)",
    "5": "Mastercard numbers starting 5 are 51 to 55",
    "6": "Discover numbers start 6011, 644 to 649 or 65",
}


def _completions(prefix: str, width: int) -> tuple[int, int]:
    """The lowest and highest ``width``-digit numbers that start with ``prefix``."""
    if len(prefix) >= width:
        value = int(prefix[:width])
        return value, value
    pad = 10 ** (width - len(prefix))
    base = int(prefix) * pad if prefix else 0
    return base, base + pad - 1


def _brand_fits(prefix: str, *, all_completions: bool) -> list[Brand]:
    """Brands whose ranges hold all (or at least one) of the completions of ``prefix``."""
    found: list[Brand] = []
    for brand, width, lo, hi in _PREFIX_RANGES:
        first, last = _completions(prefix, width)
        fits = lo <= first and last <= hi if all_completions else first <= hi and lo <= last
        if fits and brand not in found:
            found.append(brand)
    return found


def brand_of(digits: str) -> Brand | None:
    """The brand the leading digits settle, or None if they don't (yet).

    Works on partial input: "4" is Visa, "2221" Mastercard, but "22" and "3" are None
    because what follows decides ("2220" is no brand, "34" is American Express).
    Anything but ASCII digits is ignored.
    """
    prefix = digits_only(digits)[:4]
    if not prefix:
        return None
    settled = _brand_fits(prefix, all_completions=True)
    return settled[0] if settled else None


def _impossible_prefix(digits: str) -> str | None:
    """The shortest leading part of ``digits`` no brand we take starts with, if any."""
    for k in range(1, min(len(digits), 4) + 1):
        if not _brand_fits(digits[:k], all_completions=False):
            return digits[:k]
    return None


def _article(label: str) -> str:
    return "An" if label[:1] in "AEIOU" else "A"


def _spoken_list(numbers: tuple[int, ...]) -> str:
    """(16,) -> "16"; (13, 16, 19) -> "13, 16 or 19"; (16, 17, 18, 19) -> "16 to 19"."""
    if len(numbers) == 1:
        return str(numbers[0])
    if len(numbers) > 2 and numbers == tuple(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]} to {numbers[-1]}"
    return ", ".join(str(n) for n in numbers[:-1]) + f" or {numbers[-1]}"


def format_card_number(text: str) -> str:
    """The digits of ``text`` grouped as printed on the card, for the field as typed.

    American Express is 4-6-5 ("3782 822463 10005"); every other number goes in fours
    ("4242 4242 4242 4242", a 19-digit one ends in a group of 3). No digit is dropped, so
    ``digits_only(format_card_number(t)) == digits_only(t)``.
    """
    digits = digits_only(text)
    sizes: tuple[int, ...] = (4, 6, 5) if brand_of(digits) is Brand.AMEX else ()
    groups: list[str] = []
    at = 0
    for size in sizes:
        if at >= len(digits):
            break
        groups.append(digits[at : at + size])
        at += size
    while at < len(digits):
        groups.append(digits[at : at + 4])
        at += 4
    return " ".join(groups)


# --- Card number -----------------------------------------------------------------------


@dataclass(frozen=True)
class CardNumberCheck(FieldCheck):
    """A `FieldCheck` on a card number, with what the number tells.

    ``brand`` is set as soon as the leading digits settle it; ``digits`` are the digits
    typed (kept out of the repr: it is the full card number); ``last4`` is set only once
    the number is ok.
    """

    brand: Brand | None = None
    digits: str = field(default="", repr=False)
    last4: str = ""


def check_card_number(text: str) -> CardNumberCheck:
    """Check a card number as typed (digits, optionally grouped with spaces or dashes)."""
    stripped = text.strip()
    if not stripped:
        return CardNumberCheck("empty", "Enter the card number")
    if not set(stripped) <= _ASCII_DIGITS | _CARD_SEPARATORS:
        return CardNumberCheck("invalid", "A card number has only digits")
    digits = digits_only(stripped)
    if not digits:
        return CardNumberCheck("invalid", "A card number has only digits")

    bad = _impossible_prefix(digits)
    if bad is not None:
        rule = _PREFIX_RULE_BY_FIRST_DIGIT.get(bad[0])
        if rule is None:
            message = (
                "We take Visa, Mastercard, American Express and Discover, which start "
                f"2 to 6; this number starts {bad}"
            )
        else:
            message = f"{rule}; this one starts {bad}"
        return CardNumberCheck("invalid", message, digits=digits)

    brand = brand_of(digits)
    if brand is None:
        return CardNumberCheck("incomplete", "Keep typing the card number", digits=digits)

    n = len(digits)
    lengths = brand.lengths
    label = brand.label
    rule = f"{_article(label)} {label} number has {_spoken_list(lengths)} digits"
    if n > lengths[-1]:
        return CardNumberCheck("invalid", f"{rule}; this one has {n}", brand, digits)
    if n < lengths[0]:
        return CardNumberCheck("incomplete", f"{rule}; this one has {n} so far", brand, digits)
    if n not in lengths:
        return CardNumberCheck("incomplete", f"{rule}; this one has {n}", brand, digits)
    if luhn_valid(digits):
        return CardNumberCheck("ok", f"{label} ending {digits[-4:]}", brand, digits, digits[-4:])
    longer = tuple(length for length in lengths if length > n)
    if longer:
        message = (
            f"{n} digits fail the check digit: a typo? (or {_spoken_list(longer)} "
            "digits on the card)"
        )
        return CardNumberCheck("incomplete", message, brand, digits)
    return CardNumberCheck(
        "invalid", "The card number has a typo: it fails the check digit", brand, digits
    )


# --- Expiry ----------------------------------------------------------------------------

_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_COMBINED_WITH_SEPARATOR = re.compile(r"([0-9]{1,2})\s*[/\- ]\s*([0-9]{0,4})")
_EXPIRY_FORMAT_HINT = "Type the expiry as MM/YY, like 08/29"


def _last_day(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


def _two_digit_year(yy: int, today: date) -> int:
    """20YY in this century, unless that is more than 50 years ago."""
    year = today.year // 100 * 100 + yy
    return year + 100 if year < today.year - 50 else year


def _expiry_verdict(month: int, year: int, today: date) -> Literal["expired", "far", "ok"]:
    """Good through the last day of the printed month; at most 20 years ahead."""
    months_ahead = (year * 12 + month) - (today.year * 12 + today.month)
    if months_ahead < 0:
        return "expired"
    if months_ahead > MAX_EXPIRY_YEARS_AHEAD * 12:
        return "far"
    return "ok"


def _split_combined(text: str) -> tuple[str, bool, str] | None:
    """The "MM/YY" text as (month, month finished, year), or None if it isn't that shape."""
    if not text:
        return "", False, ""
    if set(text) <= _ASCII_DIGITS:
        if len(text) > 6:
            return None
        cut = 1 if text[0] in "23456789" else 2
        month, year = text[:cut], text[cut:]
        return month, len(month) == 2 or cut == 1 or bool(year), year
    match = _COMBINED_WITH_SEPARATOR.fullmatch(text)
    if match is None:
        return None
    return match.group(1), True, match.group(2)


def check_expiry(month_text: str, year_text: str | None = None, *, today: date) -> FieldCheck:
    """Check a card's expiry: a month and a year field, or one "MM/YY" field.

    Without ``year_text``, ``month_text`` is the whole expiry: "08/29", "8/29", "08/2029",
    "0829", "08-29" or "08 29". Years have 2 or 4 digits; a card is good through the last
    day of the printed month, and an expiry more than 20 years ahead is a typo.
    """
    if year_text is None:
        split = _split_combined(month_text.strip())
        if split is None:
            return FieldCheck("invalid", _EXPIRY_FORMAT_HINT)
        month, month_done, year = split
        if not month and not year:
            return FieldCheck("empty", "Enter the expiry date as MM/YY")
    else:
        month, year = month_text.strip(), year_text.strip()
        if not month and not year:
            return FieldCheck("empty", "Enter the expiry month and year")
        if not set(month) <= _ASCII_DIGITS or len(month) > 2:
            return FieldCheck("invalid", "The month is a number from 01 to 12")
        if not set(year) <= _ASCII_DIGITS or len(year) > 4:
            return FieldCheck("invalid", "The year is 2 or 4 digits, like 29 or 2029")
        month_done = len(month) == 2 or bool(year) or month not in ("0", "1")

    # The month ("1" alone may be January or the start of 10-12).
    if not month:
        return FieldCheck("incomplete", "Add the month (01 to 12)")
    month_value = int(month)
    if month_value > 12 or (month_done and month_value == 0):
        return FieldCheck("invalid", f"The month is 01 to 12; this one is {month}")
    if not month_done and year_text is None:
        return FieldCheck("incomplete", "Keep typing: MM/YY")
    if not month_done and month_value == 0:
        return FieldCheck("incomplete", "Keep typing the month (01 to 12)")
    if not year:
        return FieldCheck("incomplete", "Add the year (YY)")

    # The year: settled at 2 or 4 digits; 1 or 3 digits are on the way to one of those.
    candidates: list[int] = []
    if len(year) < 2:
        candidates += [_two_digit_year(yy, today) for yy in range(*_span(year, 2))]
    if len(year) < 4:
        candidates += list(range(*_span(year, 4)))
    verdicts = {_expiry_verdict(month_value, y, today) for y in candidates}
    shown = f"{month_value:02d}/{year}"
    if len(year) in (2, 4):
        full_year = _two_digit_year(int(year), today) if len(year) == 2 else int(year)
        verdict = _expiry_verdict(month_value, full_year, today)
        if verdict == "ok":
            last = _last_day(full_year, month_value)
            return FieldCheck(
                "ok", f"Good through {last} {_MONTH_NAMES[month_value - 1]} {full_year}"
            )
        if "ok" in verdicts:  # "20" can still become 2029
            return FieldCheck(
                "incomplete",
                f"{shown} reads as {month_value:02d}/{full_year}, which has passed; "
                "keep typing if the year has 4 digits",
            )
        if verdict == "expired":
            return FieldCheck("invalid", f"This card has expired: it was good through {shown}")
        return FieldCheck(
            "invalid",
            f"{shown} is more than {MAX_EXPIRY_YEARS_AHEAD} years away; check the year",
        )
    if "ok" in verdicts:
        return FieldCheck("incomplete", "Keep typing the year (YY or YYYY)")
    if verdicts == {"expired"}:
        return FieldCheck("invalid", "That year has passed: check the expiry date")
    if verdicts == {"far"}:
        return FieldCheck(
            "invalid", f"That year is more than {MAX_EXPIRY_YEARS_AHEAD} years away: check it"
        )
    return FieldCheck("invalid", "Check the year")


def _span(prefix: str, width: int) -> tuple[int, int]:
    """range() arguments over the ``width``-digit numbers starting with ``prefix``."""
    first, last = _completions(prefix, width)
    return first, last + 1


# --- Security code ---------------------------------------------------------------------


def check_cvc(text: str, brand: Brand | None) -> FieldCheck:
    """Check a security code: 4 digits on the front for Amex, else 3 on the back.

    With no brand yet (the card number isn't settled) 3 or 4 digits are ok; check again
    when the brand is known.
    """
    code = text.strip()
    wanted: tuple[int, ...]
    if brand is None:
        where, wanted = "the card", (3, 4)
        ask = "Enter the security code from the card"
    elif brand is Brand.AMEX:
        where, wanted = "the front of the card", (4,)
        ask = "Enter the 4-digit security code from the front of the card"
    else:
        where, wanted = "the back of the card", (3,)
        ask = "Enter the 3-digit security code from the back of the card"
    if not code:
        return FieldCheck("empty", ask)
    if not set(code) <= _ASCII_DIGITS:
        return FieldCheck("invalid", "A security code has only digits")
    n = len(code)
    owner = f"{_article(brand.label)} {brand.label}" if brand else "A"
    rule = f"{owner} security code has {_spoken_list(wanted)} digits, on {where}"
    if n in wanted:
        return FieldCheck("ok", "Security code entered")
    if n < wanted[0]:
        return FieldCheck("incomplete", f"{rule}; this one has {n} so far")
    return FieldCheck("invalid", f"{rule}; this one has {n}")


# --- Bank: routing, account, check numbers ---------------------------------------------

_ROUTING_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)


def routing_prefix_valid(first_two: str) -> bool:
    """True if a routing number may start with these two digits (Federal Reserve rule).

    00 is the US Government, 01-12 the twelve Federal Reserve districts, 21-32 the same
    districts for thrifts, 61-72 for electronic transactions, 80 traveler's checks.
    """
    if len(first_two) != 2 or not set(first_two) <= _ASCII_DIGITS:
        return False
    value = int(first_two)
    return value <= 12 or 21 <= value <= 32 or 61 <= value <= 72 or value == 80


def _digits_with_spacing(text: str) -> str | None:
    """The digits of ``text`` if it has only digits, spaces and dashes, else None."""
    stripped = text.strip()
    if not set(stripped) <= _ASCII_DIGITS | _CARD_SEPARATORS:
        return None
    return digits_only(stripped)


def check_routing_number(text: str) -> FieldCheck:
    """Check a US (ABA) routing number: 9 digits, a Federal Reserve prefix, 3-7-1 sum."""
    if not text.strip():
        return FieldCheck("empty", "Enter the 9-digit routing number")
    digits = _digits_with_spacing(text)
    if not digits:
        return FieldCheck("invalid", "A routing number has only digits")
    n = len(digits)
    if n >= 2 and not routing_prefix_valid(digits[:2]):
        return FieldCheck(
            "invalid",
            "A US routing number starts 00 to 12, 21 to 32, 61 to 72 or 80; "
            f"this one starts {digits[:2]}",
        )
    if n > 9:
        return FieldCheck("invalid", f"A routing number has 9 digits; this one has {n}")
    if n < 9:
        return FieldCheck("incomplete", f"A routing number has 9 digits; this one has {n} so far")
    if digits == "000000000":
        return FieldCheck("invalid", "000000000 is not a routing number")
    total = sum(w * (ord(ch) - 48) for w, ch in zip(_ROUTING_WEIGHTS, digits, strict=True))
    if total % 10:
        return FieldCheck("invalid", "The routing number has a typo: it fails the check digit")
    return FieldCheck("ok", "Routing number checks out")


def check_account_number(text: str) -> FieldCheck:
    """Check a US bank account number: 4 to 17 digits (spaces and dashes ignored)."""
    if not text.strip():
        return FieldCheck("empty", "Enter the account number")
    digits = _digits_with_spacing(text)
    if not digits:
        return FieldCheck("invalid", "An account number has only digits")
    n = len(digits)
    if n > 17:
        return FieldCheck("invalid", f"An account number has 4 to 17 digits; this one has {n}")
    if n < 4:
        return FieldCheck(
            "incomplete", f"An account number has 4 to 17 digits; this one has {n} so far"
        )
    if set(digits) == {"0"}:
        return FieldCheck("invalid", "An account number can't be all zeros")
    return FieldCheck("ok", f"Account ending {digits[-4:]}")


def check_check_number(text: str) -> FieldCheck:
    """Check the number of a check taken by phone: 1 to 10 digits, not all zeros."""
    number = text.strip()
    if not number:
        return FieldCheck("empty", "Enter the check number (top right of the check)")
    if not set(number) <= _ASCII_DIGITS:
        return FieldCheck("invalid", "A check number has only digits")
    if len(number) > 10:
        return FieldCheck(
            "invalid", f"A check number has 1 to 10 digits; this one has {len(number)}"
        )
    if set(number) == {"0"}:
        return FieldCheck("invalid", "A check number can't be 0")
    return FieldCheck("ok", f"Check number {number}")


# --- Name on the card ------------------------------------------------------------------

MAX_HOLDER_NAME = 100
_NAME_PUNCTUATION = frozenset(" -'’.,")


def check_holder_name(text: str) -> FieldCheck:
    """Check the cardholder's (or account holder's) name: letters in any script, with
    spaces, hyphens, apostrophes, periods and commas; at least two letters."""
    name = unicodedata.normalize("NFC", " ".join(text.split()))
    if not name:
        return FieldCheck("empty", "Enter the name as printed on the card")
    if any(ch.isdigit() or unicodedata.category(ch) == "Nd" for ch in name):
        return FieldCheck("invalid", "A name has letters, not digits")
    for ch in name:
        if not (ch.isalpha() or ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] == "M"):
            return FieldCheck(
                "invalid",
                "A name has only letters, spaces, hyphens, apostrophes and periods",
            )
    if len(name) > MAX_HOLDER_NAME:
        return FieldCheck(
            "invalid", f"A name has at most {MAX_HOLDER_NAME} characters; this one has {len(name)}"
        )
    if sum(ch.isalpha() for ch in name) < 2:
        return FieldCheck("incomplete", "Keep typing the name as printed on the card")
    return FieldCheck("ok", "")


# --- Declines --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decline:
    """What a gateway decline code means for the agent and the customer.

    ``code`` is the gateway's code as returned. ``say_to_customer`` is fit to read out
    word for word (it never says "lost" or "stolen"). ``retryable`` is True when trying
    the same card or account again can succeed, after correcting what was typed or
    waiting a moment; False means move on to another card or payment method.
    """

    code: str
    agent_text: str
    say_to_customer: str
    next_step: str
    retryable: bool


_SAY_DECLINED = (
    "I'm sorry, your bank declined this payment. Would you like to try another card "
    "or a different way to pay?"
)
_DECLINES: tuple[Decline, ...] = (
    Decline(
        "card_declined",
        "The bank declined the card and gave no reason.",
        _SAY_DECLINED,
        "Offer another card or payment method. The customer can call the number on the "
        "back of the card to ask the bank why.",
        False,
    ),
    Decline(
        "insufficient_funds",
        "The bank declined the payment for insufficient funds.",
        "I'm sorry, your bank declined this payment. Would you like to try a smaller "
        "amount, another card, or a different way to pay?",
        "Offer a smaller amount, another card or payment method, or a payment "
        'arrangement. Don\'t say "insufficient funds" unless the customer does.',
        False,
    ),
    Decline(
        "expired_card",
        "The bank says the card has expired.",
        "Your bank says this card has expired. Could you check the expiry date on the "
        "card, or do you have a newer card?",
        "Read the expiry date back to the customer and correct it, or enter their new card.",
        True,
    ),
    Decline(
        "incorrect_cvc",
        "The bank says the security code is wrong.",
        "The bank couldn't confirm the security code. Could you read it to me again?",
        "Ask for the security code again (4 digits on the front for American Express, "
        "3 on the back for others) and retry once.",
        True,
    ),
    Decline(
        "processing_error",
        "The payment failed because of an error at the bank or the gateway, not the card.",
        "Something went wrong processing the payment; it wasn't charged. Let me try that again.",
        "Try once more in a minute. If it fails again, offer another payment method or "
        "to take the payment later.",
        True,
    ),
    Decline(
        "lost_card",
        "The bank reports this card as lost. Don't retry it, and don't tell the customer why.",
        _SAY_DECLINED,
        "Don't retry this card. Offer another card or payment method; if the customer "
        "asks why, they can call the number on the back of the card.",
        False,
    ),
    Decline(
        "stolen_card",
        "The bank reports this card as stolen. Don't retry it, and don't tell the customer why.",
        _SAY_DECLINED,
        "Don't retry this card. Offer another card or payment method; if the customer "
        "asks why, they can call the number on the back of the card.",
        False,
    ),
    Decline(
        "do_not_honor",
        'The bank declined the card ("do not honor") and gave no reason.',
        _SAY_DECLINED,
        "Offer another card or payment method. The customer can call the number on the "
        "back of the card to ask the bank why.",
        False,
    ),
    Decline(
        "invalid_account",
        "The bank says the card or account number doesn't exist.",
        "The bank couldn't find that account. Could you read me the number again?",
        "Read the number back to the customer and re-enter it. If it fails again, offer "
        "another card or payment method.",
        True,
    ),
    Decline(
        "unknown",
        "The payment didn't go through and the gateway gave no reason we know.",
        "I'm sorry, the payment didn't go through. Would you like to try another card "
        "or a different way to pay?",
        "Don't retry the same details. Offer another card or payment method, and note "
        "the decline code on the interaction.",
        False,
    ),
)
DECLINE_CODES: Mapping[str, Decline] = MappingProxyType({d.code: d for d in _DECLINES})


def decline_for(code: str) -> Decline:
    """The `Decline` for a gateway decline code (trimmed, any case).

    An unknown code gets the safe "unknown" wording, with ``code`` kept as returned so
    it can be recorded.
    """
    known = DECLINE_CODES.get(code.strip().lower())
    if known is not None:
        return known
    return replace(DECLINE_CODES["unknown"], code=code)


# --- Masking ---------------------------------------------------------------------------

# Digit groups joined by single spaces or dashes ("4242 4242-4242 4242 12 27").
_GROUPED_DIGITS = re.compile(r"\d+(?:[ -]\d+)*")
_GROUP = re.compile(r"\d+")


def mask_card_numbers(text: str) -> str:
    """Replace every card number in ``text`` with "[card ****1234]".

    A card number is 13-19 digits that pass Luhn, written together or with single spaces
    or dashes between digits, and not part of a longer unbroken digit string. Every
    such span is found, including one inside a longer run of groups (a reference number
    before it, an expiry after it), so the result never holds a Luhn-valid 13-19 digit
    run. Any Unicode decimal digit counts, as in the log filter.
    """
    out: list[str] = []
    done = 0
    for run in _GROUPED_DIGITS.finditer(text):
        groups = [(g.start(), g.end(), _ascii(g.group())) for g in _GROUP.finditer(run.group())]
        spans: list[list[int]] = []  # [start, end) within the run, merged when they overlap
        for i in range(len(groups)):
            joined = ""
            for j in range(i, len(groups)):
                joined += groups[j][2]
                if len(joined) > 19:
                    break
                if len(joined) >= 13 and luhn_valid(joined):
                    start, end = groups[i][0], groups[j][1]
                    if spans and start < spans[-1][1]:
                        spans[-1][1] = max(spans[-1][1], end)
                    else:
                        spans.append([start, end])
        for start, end in spans:
            last4 = digits_only(_ascii(run.group()[start:end]))[-4:]
            out.append(text[done : run.start() + start])
            out.append(f"[card ****{last4}]")
            done = run.start() + end
    out.append(text[done:])
    return "".join(out)


def _ascii(digits: str) -> str:
    """Unicode decimal digits as ASCII ("٤٢" -> "42"); other characters unchanged."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in digits)
