"""Customer creation and maintenance rules (shared/DOMAIN.md, "Customer creation: garbage
in, garbage out: validate names, addresses, phone (E.164), email, and catch duplicates
before creating").

Pure: the desk (storage.customers) and the server (server_stub.customers) run the same
checks on the same mutation args, so a change made offline that no longer fits is refused
on sync with the words the desk would have shown. Reference data (the catalog's regions
and products, the cancellation reason codes) is passed in.

What is checked, and how:

- Names: a person has a first and a last name (1-50 characters: letters in any script,
  spaces, hyphens, apostrophes, periods; starting with a letter); a business has a name
  (2-120 characters, at least one letter) and may name a contact person.
- US addresses: a street line that starts with the house number (a service address is
  never a PO Box; a billing address may be), a city, a state code that exists (the 50
  states, DC and the inhabited territories), ZIP 5 or ZIP+4 whose first three digits
  belong to that state (USPS ZIP prefixes), so "NY 90210" is caught as a typo.
- Phone numbers are parsed by ``phonenumbers`` (US by default) into E.164, with one message
  per failure (too short, local only, no such area code, toll-free...).
- Email: one @, a local part of allowed characters, a domain with a dot and a final
  label of letters; a near miss of a common mail domain gets a "did you mean" note.
- Time zone from the address: the state's zone, except where a state is split and the
  ZIP prefix tells the side (``ZONE_BY_ZIP3``): El Paso (798, 799, 885) Mountain; the
  Florida panhandle (324, 325) Central; East Tennessee (373, 374, 376-379) Eastern;
  western Kentucky (420-424) Central; north-west and south-west Indiana (463, 464, 476,
  477) Central; Rapid City SD (577), Dickinson ND (586), the Nebraska panhandle (693)
  Mountain; north Idaho (835, 838) Pacific; Ontario OR (979) Mountain; the Navajo Nation
  in Arizona (865) observes daylight time (Denver). Splits a ZIP prefix cannot tell
  (Michigan's four Central counties, western Kansas, Alaska's Aleutians) take the
  state's main zone.
- Duplicates: existing customers with the same phone number, the same email, or a close
  name (rapidfuzz token-sort ratio >= 85: "Jon Smith" ~ "John Smith" 95, but "Jane Smith"
  vs "John Smith" 80 is a household member, not a duplicate) at the same normalized
  street and ZIP.
- Account numbers for new customers come from the new customer's id (serials from
  50,000,000 up; demo customers are numbered from 0), probing the next serial on a
  collision: two desks offline never need to agree on a counter.
- Services: suspend from active; resume from suspended; move and cancel from pending,
  active or suspended. A move needs the new address in a region whose states the catalog
  serves and where the product is sold. A cancellation needs a reason code from
  codes.json's ``cancellation_reasons`` (OTHER needs a note) and the customer's answer to
  a retention offer first: declined, the service is cancelled; accepted, it stays (with
  the offer applied).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from rapidfuzz import fuzz, process

from agent_desktop.domain.catalog import Catalog, CatalogError
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import (
    ACCOUNT_SERIAL_MAX,
    is_account_number,
    make_account_number,
    normalize_email,
    normalize_name,
    normalize_street,
)

__all__ = [
    "CANCELLABLE",
    "NEW_ACCOUNT_SERIAL_BASE",
    "PHONE_LABELS",
    "SUSPEND_REASONS",
    "US_STATES",
    "ZONE_BY_ZIP3",
    "AddressInput",
    "Candidate",
    "Checked",
    "CleanAddress",
    "CustomerCheck",
    "CustomerDraft",
    "DuplicateMatch",
    "MovePlan",
    "NewCustomer",
    "RetentionOffer",
    "account_number_for",
    "check_business_name",
    "check_cancellation",
    "check_email",
    "check_move",
    "check_person_name",
    "check_phone",
    "check_resume",
    "check_suspend",
    "draft_from_args",
    "first_problem",
    "match_duplicates",
    "retention_offer",
    "state_of_zip",
    "time_zone_for",
    "validate_address",
    "validate_customer",
]


@dataclass(frozen=True, slots=True)
class Checked:
    """The verdict on one field: the cleaned value, what is wrong (empty: nothing), and a
    neutral note to show under the field when it is fine (a time zone, a "did you mean")."""

    value: str
    problem: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def _bad(problem: str) -> Checked:
    return Checked("", problem)


# --- names ---------------------------------------------------------------------------------

NAME_MAX = 50
BUSINESS_MAX = 120
_SPACES = re.compile(r"\s+")
_NAME_PUNCT = frozenset(" -'.\u2019")
_BUSINESS_PUNCT = frozenset(" -'.\u2019&,/()#+!@:")


def _squeeze(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def check_person_name(text: str, what: str = "First name") -> Checked:
    """A first or last name: 1-50 characters, letters (any script), spaces, hyphens,
    apostrophes, periods; it starts with a letter."""
    value = _squeeze(text)
    if not value:
        return _bad(f"{what} is required.")
    if len(value) > NAME_MAX:
        return _bad(f"{what} is too long: at most {NAME_MAX} characters.")
    if any(ch.isdigit() for ch in value):
        return _bad(f"{what} has a digit in it: check what was typed.")
    if any(not (ch.isalpha() or ch in _NAME_PUNCT) for ch in value):
        return _bad(f"{what}: letters, spaces, hyphens, apostrophes and periods only.")
    if not value[0].isalpha():
        return _bad(f"{what} starts with a letter.")
    if re.search(r"[-'.\u2019]{2}", value):
        return _bad(f"{what} has two punctuation marks in a row.")
    return Checked(value)


def check_business_name(text: str) -> Checked:
    value = _squeeze(text)
    if not value:
        return _bad("Business name is required.")
    if len(value) < 2:
        return _bad("Business name is too short.")
    if len(value) > BUSINESS_MAX:
        return _bad(f"Business name is too long: at most {BUSINESS_MAX} characters.")
    if not any(ch.isalpha() for ch in value):
        return _bad("Business name needs at least one letter.")
    if any(not (ch.isalnum() or ch in _BUSINESS_PUNCT) for ch in value):
        return _bad("Business name: letters, digits, spaces and & . , ' - / ( ) # only.")
    return Checked(value)


# --- addresses -----------------------------------------------------------------------------

# The 50 states, DC and the inhabited territories, with their main IANA zone.
US_STATES: Mapping[str, tuple[str, str]] = {
    "AL": ("Alabama", "America/Chicago"), "AK": ("Alaska", "America/Anchorage"),
    "AZ": ("Arizona", "America/Phoenix"), "AR": ("Arkansas", "America/Chicago"),
    "CA": ("California", "America/Los_Angeles"), "CO": ("Colorado", "America/Denver"),
    "CT": ("Connecticut", "America/New_York"), "DE": ("Delaware", "America/New_York"),
    "DC": ("District of Columbia", "America/New_York"),
    "FL": ("Florida", "America/New_York"), "GA": ("Georgia", "America/New_York"),
    "HI": ("Hawaii", "Pacific/Honolulu"), "ID": ("Idaho", "America/Denver"),
    "IL": ("Illinois", "America/Chicago"), "IN": ("Indiana", "America/New_York"),
    "IA": ("Iowa", "America/Chicago"), "KS": ("Kansas", "America/Chicago"),
    "KY": ("Kentucky", "America/New_York"), "LA": ("Louisiana", "America/Chicago"),
    "ME": ("Maine", "America/New_York"), "MD": ("Maryland", "America/New_York"),
    "MA": ("Massachusetts", "America/New_York"), "MI": ("Michigan", "America/New_York"),
    "MN": ("Minnesota", "America/Chicago"), "MS": ("Mississippi", "America/Chicago"),
    "MO": ("Missouri", "America/Chicago"), "MT": ("Montana", "America/Denver"),
    "NE": ("Nebraska", "America/Chicago"), "NV": ("Nevada", "America/Los_Angeles"),
    "NH": ("New Hampshire", "America/New_York"), "NJ": ("New Jersey", "America/New_York"),
    "NM": ("New Mexico", "America/Denver"), "NY": ("New York", "America/New_York"),
    "NC": ("North Carolina", "America/New_York"), "ND": ("North Dakota", "America/Chicago"),
    "OH": ("Ohio", "America/New_York"), "OK": ("Oklahoma", "America/Chicago"),
    "OR": ("Oregon", "America/Los_Angeles"), "PA": ("Pennsylvania", "America/New_York"),
    "RI": ("Rhode Island", "America/New_York"), "SC": ("South Carolina", "America/New_York"),
    "SD": ("South Dakota", "America/Chicago"), "TN": ("Tennessee", "America/Chicago"),
    "TX": ("Texas", "America/Chicago"), "UT": ("Utah", "America/Denver"),
    "VT": ("Vermont", "America/New_York"), "VA": ("Virginia", "America/New_York"),
    "WA": ("Washington", "America/Los_Angeles"), "WV": ("West Virginia", "America/New_York"),
    "WI": ("Wisconsin", "America/Chicago"), "WY": ("Wyoming", "America/Denver"),
    "PR": ("Puerto Rico", "America/Puerto_Rico"),
    "VI": ("U.S. Virgin Islands", "America/St_Thomas"),
    "GU": ("Guam", "Pacific/Guam"), "MP": ("Northern Mariana Islands", "Pacific/Saipan"),
    "AS": ("American Samoa", "Pacific/Pago_Pago"),
}  # fmt: skip

# Split states, by the ZIP prefix that tells the side (see the module's docstring).
ZONE_BY_ZIP3: Mapping[str, str] = {
    **dict.fromkeys(("798", "799", "885"), "America/Denver"),  # TX: El Paso, Hudspeth
    **dict.fromkeys(("324", "325"), "America/Chicago"),  # FL: the panhandle
    **dict.fromkeys(("373", "374", "376", "377", "378", "379"),
                    "America/New_York"),  # TN: East Tennessee
    **dict.fromkeys(("420", "421", "422", "423", "424"), "America/Chicago"),  # KY: west
    **dict.fromkeys(("463", "464", "476", "477"), "America/Chicago"),  # IN: NW and SW
    "577": "America/Denver",  # SD: Rapid City, West River
    "586": "America/Denver",  # ND: Dickinson
    "693": "America/Denver",  # NE: the panhandle
    **dict.fromkeys(("835", "838"), "America/Los_Angeles"),  # ID: the north
    "979": "America/Denver",  # OR: Ontario (Malheur County)
    "865": "America/Denver",  # AZ: the Navajo Nation keeps daylight time
}

# USPS ZIP prefixes (first three digits) by state: inclusive ranges.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"),
    (30, 38, "NH"), (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"),
    (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"),
    (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"), (206, 219, "MD"),
    (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"),
    (300, 319, "GA"), (320, 339, "FL"), (341, 349, "FL"), (350, 369, "AL"),
    (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"),
    (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"),
    (530, 549, "WI"), (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"),
    (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"),
    (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"),
    (730, 731, "OK"), (733, 733, "TX"), (734, 749, "OK"), (750, 799, "TX"),
    (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"),
    (900, 961, "CA"), (967, 968, "HI"), (969, 969, "GU"), (970, 979, "OR"),
    (980, 994, "WA"), (995, 999, "AK"),
)
_ZIP = re.compile(r"([0-9]{5})(?:[ -]?([0-9]{4}))?")
_HOUSE_NUMBER = re.compile(r"[0-9]+[A-Za-z]?(?:[-/][0-9]+[A-Za-z]?)?\s+\S")
_PO_BOX = re.compile(r"(?:p\.?\s*o\.?\s*box|post\s+office\s+box)\s*\d+", re.IGNORECASE)
_CITY_PUNCT = frozenset(" -'.\u2019")


def state_of_zip(postal_code: str) -> tuple[str, ...]:
    """The states a ZIP code can belong to (empty: a prefix the USPS does not use)."""
    digits = postal_code.strip()[:5]
    if len(digits) != 5 or not (digits.isascii() and digits.isdigit()):
        return ()
    if digits == "96799":
        return ("AS",)
    prefix = int(digits[:3])
    for low, high, state in _ZIP3_RANGES:
        if low <= prefix <= high:
            return ("GU", "MP") if state == "GU" else (state,)
    return ()


def time_zone_for(state: str, postal_code: str = "") -> str:
    """The IANA zone of an address: the state's, or its ZIP prefix's where the state is
    split (``ZONE_BY_ZIP3``). ``UserFacingError`` for an unknown state."""
    code = state.strip().upper()
    if code not in US_STATES:
        raise UserFacingError(f"{state} is not a US state code.")
    zip3 = postal_code.strip()[:3]
    if zip3 in ZONE_BY_ZIP3 and code in state_of_zip(postal_code):
        return ZONE_BY_ZIP3[zip3]
    if postal_code.strip()[:5] == "96799":
        return "Pacific/Pago_Pago"
    return US_STATES[code][1]


def zone_label(zone: str, on: datetime | None = None) -> str:
    """"Central time (America/Chicago)": a zone as an agent says it."""
    names = {"America/New_York": "Eastern", "America/Chicago": "Central",
             "America/Denver": "Mountain", "America/Phoenix": "Mountain, no daylight saving",
             "America/Los_Angeles": "Pacific", "America/Anchorage": "Alaska",
             "Pacific/Honolulu": "Hawaii"}
    if zone in names:
        return f"{names[zone]} time ({zone})"
    when = on or datetime(2026, 1, 15)
    abbreviation = when.replace(tzinfo=ZoneInfo(zone)).tzname() or zone
    return f"{abbreviation} ({zone})"


@dataclass(frozen=True, slots=True)
class AddressInput:
    """An address as typed."""

    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""

    def as_args(self) -> dict[str, str]:
        return {"line1": self.line1, "line2": self.line2, "city": self.city,
                "state": self.state, "postal_code": self.postal_code}

    @classmethod
    def of(cls, data: object) -> AddressInput:
        if not isinstance(data, Mapping):
            raise UserFacingError("The address is missing.")
        values = {k: data.get(k, "") for k in ("line1", "line2", "city", "state",
                                                 "postal_code")}
        if any(not isinstance(v, str) for v in values.values()):
            raise UserFacingError("Every address field is text.")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CleanAddress:
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    time_zone: str
    region_code: str  # "" outside every region the catalog serves
    line1_norm: str

    @property
    def zip5(self) -> str:
        return self.postal_code[:5]

    def columns(self) -> dict[str, str]:
        """The address's columns in the store (and in a synced row)."""
        return {"line1": self.line1, "line2": self.line2, "city": self.city,
                "state": self.state, "postal_code": self.postal_code, "country": "US",
                "time_zone": self.time_zone, "region_code": self.region_code,
                "line1_norm": self.line1_norm}

    def one_line(self) -> str:
        street = f"{self.line1}, {self.line2}" if self.line2 else self.line1
        return f"{street}, {self.city}, {self.state} {self.postal_code}"


def _region_of(state: str, regions: Mapping[str, Sequence[str]]) -> str:
    return next((code for code, states in regions.items() if state in states), "")


def validate_address(address: AddressInput, *, service: bool,
                     regions: Mapping[str, Sequence[str]] | None = None,
                     prefix: str = "") -> tuple[dict[str, str], dict[str, str],
                                                CleanAddress | None]:
    """(problems, notes, the clean address or None) with keys ``prefix + field``.

    ``regions`` (region code -> states) fills in the region; a service address outside
    every region gets a note, not a problem (a customer may exist before any service).
    """
    problems: dict[str, str] = {}
    notes: dict[str, str] = {}
    line1 = _squeeze(address.line1)
    if not line1:
        problems["line1"] = "Street address is required."
    elif len(line1) > 100:
        problems["line1"] = "Street address is too long: at most 100 characters."
    elif _PO_BOX.match(line1):
        if service:
            problems["line1"] = ("Service goes to a street address, not a PO Box: use the "
                                 "PO Box as the billing address.")
    elif not _HOUSE_NUMBER.match(line1):
        problems["line1"] = "Start with the house number, like 123 Main St."
    line2 = _squeeze(address.line2)
    if len(line2) > 60:
        problems["line2"] = "Apartment or suite is too long: at most 60 characters."
    city = _squeeze(address.city)
    if not city:
        problems["city"] = "City is required."
    elif len(city) > 50:
        problems["city"] = "City is too long: at most 50 characters."
    elif any(ch.isdigit() for ch in city) or any(
            not (ch.isalpha() or ch in _CITY_PUNCT) for ch in city) or not city[0].isalpha():
        problems["city"] = "City: letters, spaces, hyphens, apostrophes and periods only."
    state = address.state.strip().upper()
    if not state:
        problems["state"] = "State is required: the two-letter code, like NY."
    elif len(state) != 2 or not state.isalpha():
        problems["state"] = "Use the two-letter state code, like NY or CA."
    elif state not in US_STATES:
        problems["state"] = f"{state} is not a US state code."
    postal = address.postal_code.strip()
    found = _ZIP.fullmatch(postal)
    if not postal:
        problems["postal_code"] = "ZIP code is required."
    elif found is None:
        problems["postal_code"] = "A ZIP code is 5 digits, or ZIP+4 like 12345-6789."
    else:
        postal = found.group(1) + (f"-{found.group(2)}" if found.group(2) else "")
        owners = state_of_zip(postal)
        if not owners:
            problems["postal_code"] = f"No US ZIP code starts with {postal[:3]}."
        elif "state" not in problems and state not in owners:
            problems["postal_code"] = (f"ZIP {postal[:5]} is in {' or '.join(owners)}, not "
                                       f"{state}: check the state or the ZIP.")
    clean: CleanAddress | None = None
    if not problems:
        zone = time_zone_for(state, postal)
        region = _region_of(state, regions) if regions is not None else ""
        notes["postal_code"] = f"Time zone: {zone_label(zone)}"
        if service and regions is not None and not region:
            notes["state"] = (f"We do not serve {US_STATES[state][0]} yet: no service can "
                              "be sold at this address.")
        clean = CleanAddress(line1, line2, city, state, postal, zone, region,
                             normalize_street(line1))
    return ({prefix + k: v for k, v in problems.items()},
            {prefix + k: v for k, v in notes.items()}, clean)


# --- phone and email -----------------------------------------------------------------------

PHONE_LABELS: Mapping[str, str] = {"mobile": "mobile", "home": "landline", "work": "unknown"}
_PARSE_PROBLEMS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        "Unknown country code: type a US number, or + and the country code.",
    phonenumbers.NumberParseException.NOT_A_NUMBER:
        "That is not a phone number: use digits, like (415) 555-0132.",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD:
        "Too short after the international prefix.",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "Too short to be a phone number.",
    phonenumbers.NumberParseException.TOO_LONG: "Too long to be a phone number.",
}
_NOT_A_LINE = {
    phonenumbers.PhoneNumberType.TOLL_FREE:
        "A toll-free number does not reach the customer: ask for their own number.",
    phonenumbers.PhoneNumberType.PREMIUM_RATE:
        "A premium-rate number cannot be a customer's number.",
    phonenumbers.PhoneNumberType.SHARED_COST:
        "A shared-cost number cannot be a customer's number.",
}


def check_phone(text: str, default_region: str = "US") -> Checked:
    """The number in E.164 (``value``), or the reason it cannot be one."""
    raw = text.strip()
    if not raw:
        return _bad("Phone number is required, with its area code.")
    if any(ch.isalpha() for ch in raw):
        return _bad("A phone number has digits only (and + ( ) - . spaces).")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        return _bad(_PARSE_PROBLEMS.get(exc.error_type, "That is not a phone number."))
    reason = phonenumbers.is_possible_number_with_reason(number)
    nanp = number.country_code == 1
    digits = str(number.national_number)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return _bad("Add the area code: that is a local number only.")
    if reason == phonenumbers.ValidationResult.TOO_SHORT:
        return _bad(f"Too short: a US number has 10 digits, you typed {len(digits)}."
                    if nanp else "Too short for a number in that country.")
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        return _bad(f"Too long: a US number has 10 digits, you typed {len(digits)}."
                    if nanp else "Too long for a number in that country.")
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return _bad(_PARSE_PROBLEMS[phonenumbers.NumberParseException.INVALID_COUNTRY_CODE])
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return _bad("Wrong number of digits for a number in that country.")
    if not phonenumbers.is_valid_number(number):
        if nanp and len(digits) == 10:
            if digits[0] in "01":
                return _bad(f"Area codes never start with {digits[0]}: check the first "
                            "digit.")
            if digits[3] in "01":
                return _bad(f"The three digits after the area code never start with "
                            f"{digits[3]}.")
            return _bad(f"Area code {digits[:3]} is not in use: check the digits.")
        return _bad("That number is not assigned in its country's plan: check the digits.")
    problem = _NOT_A_LINE.get(phonenumbers.number_type(number))
    if problem:
        return _bad(problem)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    shown = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL if nanp
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return Checked(e164, note=f"{shown} \u2713")


_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[^\W_](?:[^\W_]|-){0,62}(?<!-)")
COMMON_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
    "comcast.net", "att.net", "verizon.net", "protonmail.com", "live.com", "msn.com",
    "me.com", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "ymail.com",
)


def check_email(text: str, *, required: bool = False) -> Checked:
    """An email address, lower-cased as the lookup stores it (``value``), or the reason."""
    raw = text.strip()
    if not raw:
        return _bad("Email is required.") if required else Checked("")
    if any(ch.isspace() for ch in raw):
        return _bad("An email address has no spaces.")
    if raw.count("@") != 1:
        return _bad("An email address has exactly one @, like name@example.com.")
    local, domain = raw.split("@")
    if not local:
        return _bad("Type the part before the @.")
    if not domain:
        return _bad("Type the domain after the @, like example.com.")
    if len(raw) > 254 or len(local) > 64:
        return _bad("That email address is too long.")
    if ".." in local or local.startswith(".") or local.endswith("."):
        return _bad("A dot cannot start or end the name before the @, or follow another.")
    if not _LOCAL.fullmatch(local):
        return _bad("The part before the @ has a character email does not allow.")
    domain = domain.lower().rstrip(".")
    if "." not in domain:
        return _bad(f"The domain needs a dot, like {domain or 'example'}.com.")
    labels = domain.split(".")
    if any(not _LABEL.fullmatch(label) for label in labels):
        return _bad("The domain after the @ is not valid: letters, digits and hyphens "
                    "between dots.")
    tld = labels[-1]
    if not (tld.isalpha() and len(tld) >= 2) and not tld.startswith("xn--"):
        return _bad("The domain must end in two or more letters, like .com or .org.")
    value = normalize_email(f"{local}@{domain}")
    note = ""
    if domain not in COMMON_MAIL_DOMAINS:
        near = process.extractOne(domain, COMMON_MAIL_DOMAINS, scorer=fuzz.ratio,
                                  score_cutoff=84)
        if near is not None:
            note = f"Did you mean {local}@{near[0]}? Read it back to the customer."
    return Checked(value, note=note)


# --- the new customer ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CustomerDraft:
    """What the agent typed in the New customer dialog."""

    kind: str = "consumer"
    first_name: str = ""
    last_name: str = ""
    business_name: str = ""
    phone: str = ""
    phone_label: str = "mobile"
    email: str = ""
    service: AddressInput = field(default_factory=AddressInput)
    billing: AddressInput | None = None  # None: billed at the service address
    language: str = "en"

    def as_args(self) -> dict[str, Any]:
        """The draft as the ``create_customer`` mutation carries it (as typed; the server
        checks it again with ``validate_customer``)."""
        return {"kind": self.kind, "first_name": self.first_name,
                "last_name": self.last_name, "business_name": self.business_name,
                "phone": self.phone, "phone_label": self.phone_label, "email": self.email,
                "service_address": self.service.as_args(),
                "billing_address": self.billing.as_args() if self.billing else None,
                "language": self.language}


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A draft that passed every check: clean, normalized values."""

    kind: str
    first_name: str
    last_name: str
    business_name: str
    display_name: str
    first_norm: str
    last_norm: str
    phone: str  # E.164
    phone_label: str
    line_type: str
    email: str  # lower-cased; "" when none given
    service: CleanAddress
    billing: CleanAddress | None
    language: str


@dataclass(frozen=True, slots=True)
class CustomerCheck:
    problems: Mapping[str, str]  # field -> what is wrong
    notes: Mapping[str, str]  # field -> a neutral note (time zone, "did you mean")
    customer: NewCustomer | None  # set when there are no problems

    @property
    def ok(self) -> bool:
        return self.customer is not None


LANGUAGES: Mapping[str, str] = {"en": "English", "es": "Spanish"}


def validate_customer(draft: CustomerDraft,
                      regions: Mapping[str, Sequence[str]] | None = None) -> CustomerCheck:
    """Every field of a new customer, checked; each problem keyed by its field
    ("first_name", "phone", "service.postal_code", "billing.line1"...)."""
    problems: dict[str, str] = {}
    notes: dict[str, str] = {}
    kind = draft.kind if draft.kind in ("consumer", "business") else ""
    if not kind:
        problems["kind"] = "A customer is a consumer or a business."
    names: dict[str, Checked] = {}
    business = Checked("")
    if kind == "business":
        business = check_business_name(draft.business_name)
        if not business.ok:
            problems["business_name"] = business.problem
        # The contact person is optional for a business, but both names or neither.
        if draft.first_name.strip() or draft.last_name.strip():
            names["first_name"] = check_person_name(draft.first_name, "First name")
            names["last_name"] = check_person_name(draft.last_name, "Last name")
    else:
        names["first_name"] = check_person_name(draft.first_name, "First name")
        names["last_name"] = check_person_name(draft.last_name, "Last name")
    for key, check in names.items():
        if not check.ok:
            problems[key] = check.problem
    phone = check_phone(draft.phone)
    if phone.ok:
        notes["phone"] = phone.note
    else:
        problems["phone"] = phone.problem
    if draft.phone_label not in PHONE_LABELS:
        problems["phone_label"] = "The number is a mobile, home or work number."
    email = check_email(draft.email)
    if email.ok:
        if email.note:
            notes["email"] = email.note
    else:
        problems["email"] = email.problem
    if draft.language not in LANGUAGES:
        problems["language"] = "Language is English or Spanish."
    p, n, service = validate_address(draft.service, service=True, regions=regions,
                                     prefix="service.")
    problems.update(p)
    notes.update(n)
    billing: CleanAddress | None = None
    if draft.billing is not None:
        p, n, billing = validate_address(draft.billing, service=False, regions=regions,
                                         prefix="billing.")
        problems.update(p)
        notes.update({k: v for k, v in n.items() if not k.endswith(".state")})
    if problems or service is None:
        return CustomerCheck(problems, notes, None)
    first = names["first_name"].value if names else ""
    last = names["last_name"].value if names else ""
    display = business.value if kind == "business" else f"{first} {last}"
    customer = NewCustomer(
        kind=kind, first_name=first, last_name=last, business_name=business.value,
        display_name=display, first_norm=normalize_name(first), last_norm=normalize_name(last),
        phone=phone.value, phone_label=draft.phone_label,
        line_type=PHONE_LABELS[draft.phone_label], email=email.value, service=service,
        billing=billing, language=draft.language)
    return CustomerCheck(problems, notes, customer)


def draft_from_args(args: Mapping[str, Any]) -> CustomerDraft:
    """A ``create_customer`` mutation's args as a draft (``UserFacingError`` if their shape
    is wrong), to check with ``validate_customer``."""
    text = {k: args.get(k, "") for k in ("kind", "first_name", "last_name", "business_name",
                                         "phone", "phone_label", "email", "language")}
    for key, value in text.items():
        if not isinstance(value, str):
            raise UserFacingError(f"{key} must be text.")
    billing = args.get("billing_address")
    return CustomerDraft(
        kind=text["kind"], first_name=text["first_name"], last_name=text["last_name"],
        business_name=text["business_name"], phone=text["phone"],
        phone_label=text["phone_label"] or "mobile", email=text["email"],
        service=AddressInput.of(args.get("service_address")),
        billing=None if billing is None else AddressInput.of(billing),
        language=text["language"] or "en")


FIELD_LABELS: Mapping[str, str] = {
    "kind": "Kind", "first_name": "First name", "last_name": "Last name",
    "business_name": "Business name", "phone": "Phone", "phone_label": "Phone type",
    "email": "Email", "language": "Language", "line1": "street", "line2": "apartment",
    "city": "city", "state": "state", "postal_code": "ZIP",
}


def first_problem(check: CustomerCheck) -> str:
    """The first problem in words, for a refusal: "Phone: Too short: ..."."""
    key, problem = next(iter(check.problems.items()))
    where, _, name = key.rpartition(".")
    label = FIELD_LABELS.get(name, name)
    label = f"{where.title()} address, {label}" if where else label
    return f"{label}: {problem}"


# --- account numbers -----------------------------------------------------------------------

NEW_ACCOUNT_SERIAL_BASE = 50_000_000
_NEW_SPAN = ACCOUNT_SERIAL_MAX - NEW_ACCOUNT_SERIAL_BASE + 1


def account_number_for(customer_id: str, attempt: int = 0) -> str:
    """The account number a new customer gets, made from its id (32 hex characters):
    serial 50,000,000 + (the id's first 60 bits + attempt) mod 40,000,000, Luhn check
    digit last. ``attempt`` 1, 2... are the next serials, tried when one is taken."""
    if len(customer_id) != 32:
        raise ValueError("a customer id is 32 hex characters")
    serial = NEW_ACCOUNT_SERIAL_BASE + (int(customer_id[:15], 16) + attempt) % _NEW_SPAN
    return make_account_number(serial)


def is_new_account_number(number: str) -> bool:
    return is_account_number(number) and int(number[:8]) - 10_000_000 >= NEW_ACCOUNT_SERIAL_BASE


# --- duplicates ----------------------------------------------------------------------------

NAME_CLOSE = 85.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """An existing customer found by an indexed lookup (same phone, email or street)."""

    customer_id: str
    display_name: str
    account_number: str
    kind: str
    first_norm: str
    last_norm: str
    business_name: str
    status: str
    phones: tuple[tuple[str, str], ...] = ()  # (E.164, label)
    emails: tuple[str, ...] = ()
    streets: tuple[tuple[str, str], ...] = ()  # (line1_norm, ZIP 5)


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    customer_id: str
    display_name: str
    account_number: str
    status: str
    reasons: tuple[str, ...]  # "same mobile number", "same email", "close name at..."

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def _phone_words(label: str) -> str:
    return {"mobile": "mobile number", "home": "home phone number",
            "work": "work number"}.get(label, "phone number")


def match_duplicates(new: NewCustomer, candidates: Sequence[Candidate]) -> list[DuplicateMatch]:
    """The candidates that look like the customer being created, each with why, the most
    reasons first."""
    streets = {(new.service.line1_norm, new.service.zip5)}
    if new.billing is not None:
        streets.add((new.billing.line1_norm, new.billing.zip5))
    new_name = f"{new.first_norm} {new.last_norm}".strip()
    new_business = normalize_name(new.business_name)
    out: list[DuplicateMatch] = []
    for c in candidates:
        reasons: list[str] = []
        for value, label in c.phones:
            if value == new.phone:
                reasons.append(f"same {_phone_words(label)}")
                break
        if new.email and new.email in c.emails:
            reasons.append("same email")
        if streets & set(c.streets):
            if new_business and c.business_name:
                theirs = normalize_name(c.business_name)
                score = fuzz.token_sort_ratio(new_business, theirs)
                if score >= NAME_CLOSE:
                    what = "same" if score == 100 else "close"
                    reasons.append(f"{what} business name at the same address: "
                                   f"{new.business_name} vs {c.business_name}")
            if new_name and (c.first_norm or c.last_norm):
                theirs = f"{c.first_norm} {c.last_norm}".strip()
                score = fuzz.token_sort_ratio(new_name, theirs)
                if score >= NAME_CLOSE:
                    typed = f"{new.first_name} {new.last_name}"
                    if score == 100:
                        reasons.append(f"same name at the same address: {typed}")
                    else:
                        reasons.append(f"close name at the same address: {typed} vs "
                                       f"{c.display_name if c.kind != 'business' else theirs}")
        if reasons:
            out.append(DuplicateMatch(c.customer_id, c.display_name, c.account_number,
                                      c.status, tuple(reasons)))
    out.sort(key=lambda m: (-len(m.reasons), m.display_name, m.account_number))
    return out


# --- services: suspend, resume, move, cancel -----------------------------------------------

SERVICE_STATUSES = ("pending", "active", "suspended", "cancelled")
SUSPENDABLE = frozenset({"active"})
RESUMABLE = frozenset({"suspended"})
MOVABLE = frozenset({"pending", "active", "suspended"})
CANCELLABLE = frozenset({"pending", "active", "suspended"})
SUSPEND_REASONS: Mapping[str, str] = {
    "VACATION": "Seasonal or vacation hold",
    "CUSTOMER-REQUEST": "The customer asked to pause it",
    "EQUIPMENT": "Equipment problem: paused until it is replaced",
    "NON-PAYMENT": "Past due: suspended for non-payment",
}
NOTE_MAX = 500
_STATUS_WORDS = {"pending": "waiting to be installed", "active": "active",
                 "suspended": "suspended", "cancelled": "cancelled"}


def _status(status: str) -> str:
    return _STATUS_WORDS.get(status, status)


def check_suspend(status: str, reason_code: str) -> dict[str, str]:
    """The service's new fields, or why it cannot be suspended."""
    if status not in SUSPENDABLE:
        raise UserFacingError(f"Only an active service can be suspended; this one is "
                              f"{_status(status)}.")
    if reason_code not in SUSPEND_REASONS:
        raise UserFacingError("Choose why the service is suspended.")
    return {"status": "suspended"}


def check_resume(status: str) -> dict[str, str]:
    if status not in RESUMABLE:
        raise UserFacingError(f"Only a suspended service can be resumed; this one is "
                              f"{_status(status)}.")
    return {"status": "active"}


def clean_note(note: object, *, required: bool = False, what: str = "A note") -> str:
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise UserFacingError(f"{what} must be text.")
    text = note.strip()
    if required and not text:
        raise UserFacingError(f"{what} is required.")
    if len(text) > NOTE_MAX:
        raise UserFacingError(f"{what} is too long: at most {NOTE_MAX} characters.")
    return text


@dataclass(frozen=True, slots=True)
class MovePlan:
    address: CleanAddress
    region_name: str


def check_move(status: str, sku: str, address: AddressInput, catalog: Catalog) -> MovePlan:
    """Whether a service can move to ``address``: a valid service address in a region the
    catalog serves, where the product is sold."""
    if status not in MOVABLE:
        raise UserFacingError(f"A {_status(status)} service cannot move.")
    regions = {code: r.states for code, r in catalog.regions.items()}
    problems, _notes, clean = validate_address(address, service=True, regions=regions)
    if clean is None:
        raise UserFacingError(next(iter(problems.values())))
    region = catalog.regions.get(clean.region_code)
    if region is None:
        raise UserFacingError(f"We do not serve {US_STATES[clean.state][0]}: the service "
                              "cannot move there (cancel it instead, reason "
                              "MOVING-NO-SERVICE).")
    try:
        product = catalog.product(sku)
    except CatalogError:
        raise UserFacingError(f"{sku} is not in the catalog any more.") from None
    if not product.sold_in(region.code):
        raise UserFacingError(f"{product.name} is not sold in {region.name} "
                              f"({clean.state}): choose another plan there.")
    return MovePlan(clean, region.name)


# --- cancellation and the retention offer --------------------------------------------------

RETENTION_PROMOTIONS: tuple[str, ...] = ("LOYAL15",)  # catalog promotions used to retain
PAUSE_OFFER = "PAUSE-INSTEAD"
REVIEW_OFFER = "PLAN-REVIEW"
OFFER_RESPONSES = ("accepted", "declined")


@dataclass(frozen=True, slots=True)
class RetentionOffer:
    code: str
    pitch: str  # what the agent says
    promotion_code: str = ""  # accepted: this promotion goes on the service
    promotion_months: int = 0
    suspend: bool = False  # accepted: the service is suspended instead


def _months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def retention_offer(sku: str, status: str, promotion_code: str, customer_since: date,
                    today: date, catalog: Catalog,
                    codes: Sequence[str] = RETENTION_PROMOTIONS) -> RetentionOffer:
    """The offer to make before a service is cancelled: a retention promotion the
    customer qualifies for (tenure, product, dates, no promotion on it yet); else, for an
    active service, suspending it instead; else a plan review."""
    tenure = _months_between(customer_since, today)
    for code in codes:
        promo = catalog.promotions.get(code)
        if (promo is None or sku not in promo.applies_to or not promo.running_on(today)
                or tenure < promo.eligibility.min_tenure_months or promotion_code):
            continue
        months = 12
        return RetentionOffer(code, f"Before you go: stay and get {promo.name} for "
                              f"{months} months.", code, months)
    if status == "active":
        return RetentionOffer(PAUSE_OFFER, "Instead of cancelling, the service can be "
                              "suspended: the plan and its settings are kept and it resumes "
                              "with one call.", suspend=True)
    return RetentionOffer(REVIEW_OFFER, "Before you go: a plan review may find a lower "
                          "tier or a bundle that fits; a specialist calls back within two "
                          "days.")


@dataclass(frozen=True, slots=True)
class CancellationPlan:
    outcome: Literal["cancelled", "retained"]
    service_fields: Mapping[str, Any]  # the service's new fields (empty: unchanged)
    offer: RetentionOffer
    response: str
    reason_code: str
    note: str


def check_cancellation(status: str, reason_code: str, note: object, offer: RetentionOffer,
                       offered_code: object, response: object, reasons: Sequence[str],
                       today: date) -> CancellationPlan:
    """A cancellation: the retention offer was made (``offered_code`` is the offer this
    service qualifies for) and answered, the reason is a cancellation reason code (OTHER
    needs a note). Declined: cancelled today; accepted: the service stays, with the
    offer applied."""
    if status == "cancelled":
        raise UserFacingError("This service is already cancelled.")
    if status not in CANCELLABLE:
        raise UserFacingError(f"A {_status(status)} service cannot be cancelled.")
    if not offered_code or response is None or response == "":
        raise UserFacingError("Make the retention offer first and record the customer's "
                              "answer (accepted or declined).")
    if offered_code != offer.code:
        raise UserFacingError(f"The retention offer for this service is {offer.code}, not "
                              f"{offered_code}: make that offer and record the answer.")
    if response not in OFFER_RESPONSES:
        raise UserFacingError("The customer's answer to the offer is accepted or declined.")
    if not reason_code:
        raise UserFacingError("Choose why the customer wants to cancel.")
    if reason_code not in reasons:
        raise UserFacingError(f"{reason_code} is not a cancellation reason.")
    text = clean_note(note, required=reason_code == "OTHER",
                      what="A note saying why" if reason_code == "OTHER" else "The note")
    fields: dict[str, Any] = {}
    if response == "declined":
        fields = {"status": "cancelled", "ended_on": today}
        return CancellationPlan("cancelled", fields, offer, "declined", reason_code, text)
    if offer.promotion_code:
        fields = {"promotion_code": offer.promotion_code,
                  "promotion_ends_on": _add_months(today, offer.promotion_months)}
    elif offer.suspend:
        fields = check_suspend(status, "CUSTOMER-REQUEST")
    return CancellationPlan("retained", fields, offer, "accepted", reason_code, text)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


# --- contact detail changes ----------------------------------------------------------------

def check_phone_change(current: str | None, raw: str, label: str) -> tuple[str, str]:
    """(E.164, line type) for a phone number change; a new number starts without
    automated-call or text consent (consent is per number)."""
    checked = check_phone(raw)
    if not checked.ok:
        raise UserFacingError(checked.problem)
    if label not in PHONE_LABELS:
        raise UserFacingError("The number is a mobile, home or work number.")
    if current is not None and checked.value == current:
        raise UserFacingError("That is the number already on file.")
    return checked.value, PHONE_LABELS[label]


def check_email_change(current: str | None, raw: str) -> str:
    checked = check_email(raw, required=True)
    if not checked.ok:
        raise UserFacingError(checked.problem)
    if current is not None and checked.value == current:
        raise UserFacingError("That is the email already on file.")
    return checked.value


def check_address_change(kind: str, current_state: str, live_services: int,
                         address: AddressInput,
                         regions: Mapping[str, Sequence[str]]) -> CleanAddress:
    """A correction of an address on file. A service address that carries live services
    keeps its state: moving to another state is a move (Move service checks the region)."""
    service = kind in ("service", "both")
    problems, _notes, clean = validate_address(address, service=service, regions=regions)
    if clean is None:
        raise UserFacingError(next(iter(problems.values())))
    if service and live_services and clean.state != current_state:
        raise UserFacingError(f"The service address moves from {current_state} to "
                              f"{clean.state}: use Move service, which checks the new "
                              "region.")
    return clean


@dataclass(frozen=True, slots=True)
class RowChange:
    """One row a change writes: inserted whole, or these fields updated."""

    table: str
    row_id: str
    fields: Mapping[str, Any]
    insert: bool = False


_HEX = re.compile(r"[0-9a-f]{32}")


def hex_arg(args: Mapping[str, Any], key: str, what: str, *, required: bool = True
            ) -> str | None:
    """An id in a mutation's args (32 lowercase hex characters)."""
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise UserFacingError(f"{what} must be a UUID written as 32 lowercase hex "
                              "characters.")
    return value


def at_arg(args: Mapping[str, Any]) -> datetime:
    """When the agent made the change (aware UTC)."""
    value = args.get("at")
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is not None:
            parsed = (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None
                      else parsed.astimezone(UTC))
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None or not 2000 <= parsed.year <= 2999:
        raise UserFacingError("The change has no valid time (at).")
    return parsed


@dataclass(frozen=True, slots=True)
class NewIds:
    customer_id: str
    phone_id: str
    email_id: str | None
    service_address_id: str
    billing_address_id: str | None

    @classmethod
    def of(cls, args: Mapping[str, Any]) -> NewIds:
        ids = cls(
            str(hex_arg(args, "id", "The customer id")),
            str(hex_arg(args, "phone_id", "The phone's id")),
            hex_arg(args, "email_id", "The email's id", required=False),
            str(hex_arg(args, "service_address_id", "The service address id")),
            hex_arg(args, "billing_address_id", "The billing address id", required=False))
        every = [i for i in (ids.customer_id, ids.phone_id, ids.email_id,
                             ids.service_address_id, ids.billing_address_id) if i]
        if len(set(every)) != len(every):
            raise UserFacingError("The new customer's rows need different ids.")
        return ids


def new_customer_rows(new: NewCustomer, ids: NewIds, account_number: str, at: datetime
                      ) -> list[RowChange]:
    """Every row a new customer is made of, parents first, with every column the store
    holds (the desk inserts them; the server keeps them as the JSON it sends)."""
    if (new.email == "") != (ids.email_id is None):
        raise UserFacingError("An email needs its row id, and a row id needs an email.")
    if (new.billing is None) != (ids.billing_address_id is None):
        raise UserFacingError("A separate billing address needs its row id.")
    if not is_account_number(account_number):
        raise UserFacingError(f"{account_number} is not a valid account number.")
    stamp = {"created_at": at, "updated_at": at, "version": 1}
    since = at.astimezone(ZoneInfo(new.service.time_zone)).date()
    cid = ids.customer_id
    rows = [RowChange("customers", cid, {
        "id": cid, "account_number": account_number, "kind": new.kind,
        "first_name": new.first_name, "last_name": new.last_name,
        "business_name": new.business_name, "display_name": new.display_name,
        "first_norm": new.first_norm, "last_norm": new.last_norm, "status": "active",
        "customer_since": since, "language": new.language, "risk_score": 0,
        "credit_class": "B", **stamp}, insert=True)]
    rows.append(RowChange("contact_points", ids.phone_id, {
        "id": ids.phone_id, "customer_id": cid, "kind": "phone", "value": new.phone,
        "label": new.phone_label, "line_type": new.line_type, "is_primary": True,
        "consent_autodial": False, "consent_text": False, "consent_email": True,
        "verified": False, **stamp}, insert=True))
    if ids.email_id is not None:
        rows.append(RowChange("contact_points", ids.email_id, {
            "id": ids.email_id, "customer_id": cid, "kind": "email", "value": new.email,
            "label": "work" if new.kind == "business" else "home", "line_type": "unknown",
            "is_primary": True, "consent_autodial": False, "consent_text": False,
            "consent_email": True, "verified": False, **stamp}, insert=True))
    rows.append(RowChange("addresses", ids.service_address_id, {
        "id": ids.service_address_id, "customer_id": cid,
        "kind": "service" if new.billing is not None else "both",
        **new.service.columns(), **stamp}, insert=True))
    if new.billing is not None and ids.billing_address_id is not None:
        rows.append(RowChange("addresses", ids.billing_address_id, {
            "id": ids.billing_address_id, "customer_id": cid, "kind": "billing",
            **new.billing.columns(), **stamp}, insert=True))
    return rows


def plan_contact_change(args: Mapping[str, Any], target: Mapping[str, Any] | None,
                        *, has_primary: bool, live_services: int,
                        regions: Mapping[str, Sequence[str]], at: datetime
                        ) -> list[RowChange]:
    """The rows a ``change_contact`` mutation writes, from its args and the row it names
    (``target``: the contact point or address as stored, None when adding one).

    - phone / email with ``contact_point_id``: the number or address changes (a new number
      starts without automated-call or text consent); the same number with another label
      changes the label only.
    - phone / email with ``new_contact_id``: another one is added (primary if the customer
      has none of that kind).
    - address with ``address_id``: a correction (a service address with live services keeps
      its state); with ``new_address_id`` too, the address (kind both) stays the service
      address and a separate billing address is added.
    """
    kind = args.get("kind")
    customer_id = str(hex_arg(args, "customer_id", "The customer id"))
    stamp = {"created_at": at, "updated_at": at, "version": 1}
    if kind in ("phone", "email"):
        existing = hex_arg(args, "contact_point_id", "The contact point id", required=False)
        new_id = hex_arg(args, "new_contact_id", "The new contact point id",
                         required=existing is None)
        raw = args.get("value")
        if not isinstance(raw, str):
            raise UserFacingError("Type the new phone number or email.")
        if existing is not None:
            if target is None or target.get("customer_id") != customer_id \
                    or target.get("kind") != kind:
                raise UserFacingError(f"That {kind} is no longer on this customer; reopen "
                                      "the customer and try again.")
            current = str(target.get("value", ""))
        else:
            current = None
        if kind == "phone":
            label = args.get("label", "mobile")
            if label not in PHONE_LABELS:
                raise UserFacingError("The number is a mobile, home or work number.")
            checked = check_phone(raw)
            if checked.ok and current == checked.value:
                if target is not None and target.get("label") == label:
                    raise UserFacingError("That is the number already on file.")
                return [RowChange("contact_points", str(existing), {
                    "label": label, "line_type": PHONE_LABELS[label]})]
            value, line_type = check_phone_change(current, raw, label)
            fields: dict[str, Any] = {"value": value, "label": label, "line_type": line_type,
                                      "consent_autodial": False, "consent_text": False,
                                      "verified": False}
        else:
            value = check_email_change(current, raw)
            fields = {"value": value, "verified": False, "consent_email": True}
            label = "home"
        if existing is not None:
            return [RowChange("contact_points", existing, fields)]
        assert new_id is not None
        return [RowChange("contact_points", new_id, {
            "id": new_id, "customer_id": customer_id, "kind": kind, "label": label,
            "line_type": "unknown", "is_primary": not has_primary, "consent_autodial": False,
            "consent_text": False, "consent_email": True, **fields, **stamp}, insert=True)]
    if kind != "address":
        raise UserFacingError("A contact change is to a phone number, an email or an "
                              "address.")
    address_id = str(hex_arg(args, "address_id", "The address id"))
    new_address = hex_arg(args, "new_address_id", "The new address id", required=False)
    if target is None or target.get("customer_id") != customer_id:
        raise UserFacingError("That address is no longer on this customer; reopen the "
                              "customer and try again.")
    address = AddressInput.of(args.get("address"))
    if new_address is not None:
        if target.get("kind") != "both":
            raise UserFacingError("The customer already has a separate billing address: "
                                  "change that one.")
        problems, _notes, clean = validate_address(address, service=False, regions=regions)
        if clean is None:
            raise UserFacingError(next(iter(problems.values())))
        return [RowChange("addresses", address_id, {"kind": "service"}),
                RowChange("addresses", new_address, {
                    "id": new_address, "customer_id": customer_id, "kind": "billing",
                    **clean.columns(), **stamp}, insert=True)]
    clean = check_address_change(str(target.get("kind", "")), str(target.get("state", "")),
                                 live_services, address, regions)
    changed = {k: v for k, v in clean.columns().items() if target.get(k) != v}
    if not changed:
        raise UserFacingError("That is the address already on file.")
    return [RowChange("addresses", address_id, changed)]


def _service_id(args: Mapping[str, Any], service: Mapping[str, Any] | None) -> str:
    service_id = str(hex_arg(args, "service_id", "The service id"))
    customer_id = hex_arg(args, "customer_id", "The customer id")
    if service is None or service.get("customer_id") != customer_id:
        raise UserFacingError("That service is no longer on this customer; reopen the "
                              "customer and try again.")
    return service_id


def plan_move(args: Mapping[str, Any], service: Mapping[str, Any] | None,
              old_address: Mapping[str, Any] | None, others_at_old: int, catalog: Catalog,
              at: datetime) -> list[RowChange]:
    """The rows a ``move_service`` mutation writes. ``mode`` "address": the service was
    the only live one at its address, so the address itself changes (a household moving:
    the audit keeps the old one); "service": a new service address for this service."""
    service_id = _service_id(args, service)
    assert service is not None
    plan = check_move(str(service.get("status")), str(service.get("sku")),
                      AddressInput.of(args.get("address")), catalog)
    mode = args.get("mode")
    if mode == "address":
        address_id = hex_arg(args, "address_id", "The address id")
        if service.get("address_id") != address_id or old_address is None:
            raise UserFacingError("The service is no longer at that address; reopen the "
                                  "customer and try again.")
        if others_at_old:
            raise UserFacingError("Another service is at the old address now: move this "
                                  "one on its own (reopen the customer).")
        changed = {k: v for k, v in plan.address.columns().items()
                   if old_address.get(k) != v}
        if not changed:
            raise UserFacingError("The service is already at that address.")
        return [RowChange("addresses", str(address_id), changed)]
    if mode != "service":
        raise UserFacingError("A move is of the address or of this service alone.")
    new_id = str(hex_arg(args, "new_address_id", "The new address id"))
    if service.get("address_id") == new_id:
        raise UserFacingError("The service is already at that address.")
    return [RowChange("addresses", new_id, {
                "id": new_id, "customer_id": service["customer_id"], "kind": "service",
                **plan.address.columns(), "created_at": at, "updated_at": at, "version": 1},
                insert=True),
            RowChange("services", service_id, {"address_id": new_id})]


def plan_suspend(args: Mapping[str, Any], service: Mapping[str, Any] | None) -> list[RowChange]:
    service_id = _service_id(args, service)
    assert service is not None
    clean_note(args.get("note"))
    reason = args.get("reason_code")
    fields = check_suspend(str(service.get("status")), reason if isinstance(reason, str) else "")
    return [RowChange("services", service_id, fields)]


def plan_resume(args: Mapping[str, Any], service: Mapping[str, Any] | None) -> list[RowChange]:
    service_id = _service_id(args, service)
    assert service is not None
    clean_note(args.get("note"))
    return [RowChange("services", service_id, check_resume(str(service.get("status"))))]


def offer_for_service(service: Mapping[str, Any], customer_since: date, today: date,
                      catalog: Catalog) -> RetentionOffer:
    return retention_offer(str(service.get("sku")), str(service.get("status")),
                           str(service.get("promotion_code") or ""), customer_since, today,
                           catalog)


def plan_cancel(args: Mapping[str, Any], service: Mapping[str, Any] | None,
                customer_since: date, catalog: Catalog, reasons: Sequence[str],
                agent_id: str | None, at: datetime) -> tuple[CancellationPlan, list[RowChange]]:
    """The rows a ``cancel_service`` mutation writes: the retention offer shown with the
    customer's answer (offers_shown), and the service cancelled (declined) or kept with
    the offer applied (accepted)."""
    service_id = _service_id(args, service)
    assert service is not None
    offer_id = str(hex_arg(args, "offer_id", "The offer's id"))
    today = at.date()
    offer = offer_for_service(service, customer_since, today, catalog)
    reason = args.get("reason_code")
    plan = check_cancellation(str(service.get("status")), reason if isinstance(reason, str)
                              else "", args.get("note"), offer, args.get("offer_code"),
                              args.get("response"), reasons, today)
    rows = [RowChange("offers_shown", offer_id, {
        "id": offer_id, "customer_id": service["customer_id"], "interaction_id": None,
        "agent_id": agent_id, "offer_code": offer.code, "kind": "retention",
        "pitch": offer.pitch, "shown_at": at, "response": plan.response,
        "responded_at": at, "created_at": at, "updated_at": at, "version": 1}, insert=True)]
    if plan.service_fields:
        rows.append(RowChange("services", service_id, dict(plan.service_fields)))
    return plan, rows
