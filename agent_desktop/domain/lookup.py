"""What the agent typed in the one search box, and the normalizations behind it.

Stored customer fields and search input go through the same functions here, so a match
is an equality (or a fuzzy score) between two normalized strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler
from stdnum import luhn

__all__ = [
    "ACCOUNT_SERIAL_MAX",
    "LookupKind",
    "LookupQuery",
    "account_serial",
    "best_name_matches",
    "classify",
    "compact_account_number",
    "format_account_number",
    "is_account_number",
    "make_account_number",
    "name_tokens",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_street",
]


class LookupKind(StrEnum):
    """What the search text looks like."""

    PHONE = "phone"
    ACCOUNT = "account"
    EMAIL = "email"
    ADDRESS = "address"
    NAME = "name"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """The search box text, classified, with the normalized key for its kind.

    ``digits`` holds every digit typed when the text was digits and punctuation only
    (useful for partial account or phone-suffix searches), else None.
    """

    kind: LookupKind
    text: str
    phone_e164: str | None = None
    account_number: str | None = None
    email: str | None = None
    name_tokens: tuple[str, ...] = ()
    address_text: str | None = None
    digits: str | None = None


# -- phone ------------------------------------------------------------------------------


def normalize_phone(text: str, default_region: str = "US", *, strict: bool = False) -> str | None:
    """The number in E.164 ("+14155550132"), or None if it cannot be a full number.

    Takes any common US format: "(415) 555-0132", "415.555.0132", "+1 415 555 0132",
    "1-415-555-0132", "4155550132". A number without an area code (local only) is None.
    With ``strict`` the number must also be assigned in the numbering plan
    (``phonenumbers.is_valid_number``), as for a new customer's contact details.
    """
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    if strict and not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- account numbers --------------------------------------------------------------------

# Account number = str(serial + 10_000_000) (8 digits, never a leading zero) + Luhn digit.
_ACCOUNT_OFFSET = 10_000_000
ACCOUNT_SERIAL_MAX = 99_999_999 - _ACCOUNT_OFFSET
_SEPARATORS_RE = re.compile(r"[\s\-]+")


def make_account_number(serial: int) -> str:
    """The 9-digit account number for a serial (0 .. 89,999,999).

    The first 8 digits are ``serial + 10_000_000`` so the number never starts with a
    zero; the 9th is the Luhn check digit, which catches any one mistyped digit and most
    swaps of neighbouring digits. ``make_account_number(0) == "100000009"``.
    """
    if type(serial) is not int or not 0 <= serial <= ACCOUNT_SERIAL_MAX:
        raise ValueError(f"account serial must be an int in 0..{ACCOUNT_SERIAL_MAX}")
    body = str(serial + _ACCOUNT_OFFSET)
    return body + luhn.calc_check_digit(body)


def compact_account_number(text: str) -> str:
    """The text without spaces and dashes ("1234-5678-2" -> "123456782")."""
    return _SEPARATORS_RE.sub("", text.strip())


def is_account_number(text: str) -> bool:
    """True if the text (spaces and dashes allowed) is a well-formed account number."""
    digits = compact_account_number(text)
    return (
        len(digits) == 9
        and digits.isascii()
        and digits.isdigit()
        and digits[0] != "0"
        and luhn.is_valid(digits)
    )


def account_serial(text: str) -> int:
    """The serial an account number was made from; ``ValueError`` if it is not one."""
    if not is_account_number(text):
        raise ValueError(f"not an account number: {text!r}")
    return int(compact_account_number(text)[:8]) - _ACCOUNT_OFFSET


def format_account_number(text: str) -> str:
    """Group an account number for display: "123456782" -> "1234-5678-2"."""
    digits = compact_account_number(text)
    if len(digits) != 9 or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"an account number has 9 digits: {text!r}")
    return f"{digits[:4]}-{digits[4:8]}-{digits[8]}"


# -- names, email, street ---------------------------------------------------------------

_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018\u02bc`")
_SPACES_RE = re.compile(r"\s+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_name(text: str) -> str:
    """A person's name folded for matching: "  José  Núñez-O'Brien " -> "jose nunez obrien".

    Casefolds, strips accents, removes apostrophes, turns any other character that is
    not a letter or digit into a space and collapses spaces.
    """
    folded = _strip_accents(text.casefold()).translate(_APOSTROPHES)
    kept = "".join(ch if ch.isalnum() else " " for ch in folded)
    return " ".join(kept.split())


def name_tokens(text: str) -> tuple[str, ...]:
    """The normalized words of a name: "José Núñez" -> ("jose", "nunez")."""
    return tuple(normalize_name(text).split())


def normalize_email(text: str) -> str:
    """An email address for matching: surrounding spaces removed, lower case."""
    return text.strip().lower()


# USPS Publication 28, Appendix C1 (street suffixes) and B (directionals), C2 (units).
_STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "parkway": "pkwy",
    "circle": "cir",
    "highway": "hwy",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "apartment": "apt",
    "suite": "ste",
    "building": "bldg",
    "floor": "fl",
}
_STREET_DROP = str.maketrans("", "", ".'\u2019")


def normalize_street(text: str) -> str:
    """A street line for matching: "123 North Main Street, Apt. 4" -> "123 n main st apt 4".

    Lowercases, drops periods and apostrophes, turns other punctuation into spaces,
    collapses whitespace and abbreviates USPS street suffixes, directionals and unit
    words. Every word is abbreviated, wherever it stands ("Court Street" -> "ct st"),
    which is fine because stored and searched text go through the same function.
    """
    lowered = text.lower().translate(_STREET_DROP)
    kept = "".join(ch if ch.isalnum() else " " for ch in lowered)
    return " ".join(_STREET_WORDS.get(word, word) for word in kept.split())


# -- classify ---------------------------------------------------------------------------

_PHONE_PUNCT_RE = re.compile(r"[\d\s\-.()+/]+")
_PO_BOX_RE = re.compile(r"p\.?\s*o\.?\s*box\b", re.IGNORECASE)


def classify(text: str) -> LookupQuery:
    """Decide what the agent typed and normalize it for the search.

    - blank, or nothing but punctuation -> EMPTY
    - contains "@" -> EMAIL
    - digits and phone punctuation only:
        - 9 digits that pass the account check -> ACCOUNT
        - a number that normalizes to E.164 -> PHONE
        - otherwise 10 or more digits -> PHONE with ``phone_e164`` None (search by digits)
        - otherwise (up to 9 digits) -> ACCOUNT with those digits, which the search may
          treat as a partial or mistyped account number
    - starts with a digit and has letters, or starts with "PO Box" -> ADDRESS
    - anything else with letters -> NAME
    """
    stripped = text.strip()
    if "@" in stripped:
        return LookupQuery(LookupKind.EMAIL, stripped, email=normalize_email(stripped))
    if _PHONE_PUNCT_RE.fullmatch(stripped):
        digits = "".join(ch for ch in stripped if ch.isdigit())
        if not digits:
            return LookupQuery(LookupKind.EMPTY, stripped)
        if len(digits) == 9 and is_account_number(digits):
            return LookupQuery(LookupKind.ACCOUNT, stripped, account_number=digits, digits=digits)
        phone = normalize_phone(stripped)
        if phone is not None or len(digits) >= 10:
            return LookupQuery(LookupKind.PHONE, stripped, phone_e164=phone, digits=digits)
        return LookupQuery(LookupKind.ACCOUNT, stripped, account_number=digits, digits=digits)
    if not any(ch.isalpha() for ch in stripped):
        return LookupQuery(LookupKind.EMPTY, stripped)
    if stripped[0].isdigit() or _PO_BOX_RE.match(stripped):
        return LookupQuery(LookupKind.ADDRESS, stripped, address_text=normalize_street(stripped))
    return LookupQuery(LookupKind.NAME, stripped, name_tokens=name_tokens(stripped))


# -- fuzzy names ------------------------------------------------------------------------


def best_name_matches(
    query_tokens: Sequence[str],
    vocabulary: Sequence[str],
    limit: int = 8,
    score_cutoff: float = 75,
) -> list[tuple[str, float]]:
    """Names in ``vocabulary`` closest to any of the query tokens, best first.

    The score is rapidfuzz's ``fuzz.ratio`` (normalized Indel similarity, 0-100): one
    slip in a short name still scores >= 75 ("jonh" -> "john" 75, "smiht" -> "smith"
    80), while unlike partial-match scorers a mere prefix does not score high. Only an
    exact match scores 100. Equal scores are ordered by Jaro-Winkler similarity, which
    favours swapped letters and a shared start (so "jonh" puts "john" before "joan"),
    then by vocabulary order. Query tokens are normalized with `normalize_name`; the
    vocabulary must hold normalized tokens already (as `name_tokens` makes them). Each
    name appears once, with its best score over the query tokens.
    """
    best: dict[str, tuple[float, float, int]] = {}
    for raw in query_tokens:
        token = normalize_name(raw)
        if not token:
            continue
        # limit=None: ties at the cutoff are re-ranked below, so none may be cut here.
        for name, score, index in process.extract(
            token, vocabulary, scorer=fuzz.ratio, limit=None, score_cutoff=score_cutoff
        ):
            key = (float(score), JaroWinkler.normalized_similarity(token, name), index)
            previous = best.get(name)
            if previous is None or key[:2] > previous[:2]:
                best[name] = key
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], -item[1][1], item[1][2]))
    return [(name, score) for name, (score, _, _) in ranked[:limit]]
