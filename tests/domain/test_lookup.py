"""The one search box: whatever the agent types finds the customer."""

from __future__ import annotations

import pytest
from faker.providers.person.de_DE import Provider as GermanNames
from faker.providers.person.en_US import Provider as UsNames
from faker.providers.person.es_MX import Provider as MexicanNames
from hypothesis import given
from hypothesis import strategies as st

from agent_desktop.domain.lookup import (
    ACCOUNT_SERIAL_MAX,
    LookupKind,
    LookupQuery,
    account_serial,
    best_name_matches,
    classify,
    format_account_number,
    is_account_number,
    make_account_number,
    name_tokens,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_street,
)

# -- phone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "(415) 555-0132",
        "415.555.0132",
        "+1 415 555 0132",
        "1-415-555-0132",
        "4155550132",
        "415-555-0132",
        " 415 555 0132 ",
        "+14155550132",
    ],
)
def test_every_way_of_writing_a_us_number_gives_the_same_e164(typed: str) -> None:
    assert normalize_phone(typed) == "+14155550132"


@pytest.mark.parametrize("typed", ["555-0132", "12345", "", "call me", "415555013212345"])
def test_something_that_cannot_be_a_full_number_is_not_a_phone(typed: str) -> None:
    assert normalize_phone(typed) is None


def test_a_number_from_abroad_keeps_its_country_code() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_strict_mode_refuses_numbers_no_one_can_have() -> None:
    assert normalize_phone("(123) 456-7890") == "+11234567890"
    assert normalize_phone("(123) 456-7890", strict=True) is None
    assert normalize_phone("(415) 555-0132", strict=True) == "+14155550132"


# -- account numbers --------------------------------------------------------------------


@pytest.mark.parametrize("serial", [0, 1, 2_345_678, 12_345_678, ACCOUNT_SERIAL_MAX])
def test_account_number_round_trip(serial: int) -> None:
    number = make_account_number(serial)
    assert len(number) == 9
    assert number.isdigit()
    assert number[0] != "0"
    assert is_account_number(number)
    assert account_serial(number) == serial


@given(st.integers(min_value=0, max_value=ACCOUNT_SERIAL_MAX))
def test_every_serial_makes_a_valid_account_number(serial: int) -> None:
    number = make_account_number(serial)
    assert is_account_number(format_account_number(number))
    assert account_serial(number) == serial


def test_the_account_mapping_is_documented() -> None:
    assert make_account_number(0) == "100000009"
    assert make_account_number(12_345_678 - 10_000_000) == "123456782"


@pytest.mark.parametrize("serial", [-1, ACCOUNT_SERIAL_MAX + 1])
def test_serials_out_of_range_are_refused(serial: int) -> None:
    with pytest.raises(ValueError):
        make_account_number(serial)


def test_a_one_digit_typo_in_an_account_number_is_caught() -> None:
    number = make_account_number(4_242_424)
    typos = [
        number[:i] + d + number[i + 1 :]
        for i in range(len(number))
        for d in "0123456789"
        if d != number[i]
    ]
    assert len(typos) == 81
    assert not any(is_account_number(t) for t in typos)


def test_account_numbers_display_in_groups_and_read_back() -> None:
    assert format_account_number("123456782") == "1234-5678-2"
    assert is_account_number("1234-5678-2")
    assert is_account_number("1234 5678 2")
    assert not is_account_number("12345678")
    assert not is_account_number("023456789")
    assert not is_account_number("12345678a")
    with pytest.raises(ValueError):
        format_account_number("1234")
    with pytest.raises(ValueError):
        account_serial("123456783")


# -- classify ---------------------------------------------------------------------------


def test_a_phone_number_is_recognized() -> None:
    query = classify(" (415) 555-0132 ")
    assert query == LookupQuery(
        LookupKind.PHONE, "(415) 555-0132", phone_e164="+14155550132", digits="4155550132"
    )


def test_an_account_number_is_recognized_with_or_without_dashes() -> None:
    for typed in ("123456782", "1234-5678-2", "1234 5678 2"):
        query = classify(typed)
        assert query.kind is LookupKind.ACCOUNT
        assert query.account_number == "123456782"


def test_a_short_run_of_digits_is_a_partial_account_number() -> None:
    query = classify("555-0132")
    assert query.kind is LookupKind.ACCOUNT
    assert query.account_number == "5550132"
    assert query.phone_e164 is None


def test_nine_digits_with_a_wrong_check_digit_are_still_an_account_search() -> None:
    query = classify("123456783")
    assert query.kind is LookupKind.ACCOUNT
    assert query.account_number == "123456783"


def test_a_long_number_that_is_not_a_phone_is_searched_by_digits() -> None:
    query = classify("415555013212345")
    assert query.kind is LookupKind.PHONE
    assert query.phone_e164 is None
    assert query.digits == "415555013212345"


def test_an_email_is_recognized_and_lowercased() -> None:
    query = classify("  Jane.Doe@Example.COM ")
    assert query.kind is LookupKind.EMAIL
    assert query.email == "jane.doe@example.com"
    assert query.text == "Jane.Doe@Example.COM"


def test_an_address_is_recognized() -> None:
    query = classify("123 North Main Street")
    assert query.kind is LookupKind.ADDRESS
    assert query.address_text == "123 n main st"
    assert classify("PO Box 77").kind is LookupKind.ADDRESS


def test_a_name_is_recognized() -> None:
    query = classify("José Núñez")
    assert query.kind is LookupKind.NAME
    assert query.name_tokens == ("jose", "nunez")


@pytest.mark.parametrize("typed", ["", "   ", "--", "()"])
def test_nothing_to_search_for(typed: str) -> None:
    assert classify(typed).kind is LookupKind.EMPTY


# -- names, email, street ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("José Núñez", "jose nunez"),
        ("  JOSÉ   núñez ", "jose nunez"),
        ("O'Brien", "obrien"),
        ("D\u2019Angelo", "dangelo"),
        ("Mary-Ann Smith", "mary ann smith"),
        ("Straße", "strasse"),
        ("Zoë Brontë", "zoe bronte"),
        ("John Smith III", "john smith iii"),
    ],
)
def test_names_are_normalized_for_matching(typed: str, normalized: str) -> None:
    assert normalize_name(typed) == normalized


def test_name_tokens() -> None:
    assert name_tokens("José Núñez") == ("jose", "nunez")
    assert name_tokens("   ") == ()


def test_emails_are_normalized() -> None:
    assert normalize_email("  Jane@Example.com\n") == "jane@example.com"


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("123 North Main Street", "123 n main st"),
        ("456 Elm Avenue, Apt. 7", "456 elm ave apt 7"),
        ("789  Sunset Blvd.", "789 sunset blvd"),
        ("12 Oak Road SW", "12 oak rd sw"),
        ("1600 Pennsylvania Avenue Northwest", "1600 pennsylvania ave nw"),
        ("5 Lakeview Drive, Suite #200", "5 lakeview dr ste 200"),
        ("9 Cherry Lane", "9 cherry ln"),
        ("10 Ocean Boulevard", "10 ocean blvd"),
        ("11 Kings Court", "11 kings ct"),
        ("12 Elm Place", "12 elm pl"),
        ("13 Vista Terrace", "13 vista ter"),
        ("14 Garden State Parkway", "14 garden state pkwy"),
        ("15 Maple Circle", "15 maple cir"),
        ("16 Pacific Coast Highway", "16 pacific coast hwy"),
        ("17 South West Street", "17 s w st"),
        ("18 East O'Neil Road", "18 e oneil rd"),
    ],
)
def test_streets_are_normalized_to_usps_abbreviations(typed: str, normalized: str) -> None:
    assert normalize_street(typed) == normalized


# -- fuzzy names ------------------------------------------------------------------------


def _names() -> list[str]:
    tokens: dict[str, None] = {}
    for provider in (UsNames, MexicanNames, GermanNames):
        for name in [*provider.first_names, *provider.last_names]:
            for token in name_tokens(name):
                tokens.setdefault(token)
    return sorted(tokens)


VOCABULARY = _names()


def test_the_vocabulary_is_a_few_thousand_names() -> None:
    assert len(VOCABULARY) > 2000
    assert "john" in VOCABULARY
    assert "smith" in VOCABULARY


def test_a_swapped_letter_still_finds_john() -> None:
    matches = dict(best_name_matches(["Jonh"], VOCABULARY))
    assert "john" in matches
    assert matches["john"] >= 75


def test_a_swapped_letter_still_finds_smith() -> None:
    matches = best_name_matches(["Smiht"], VOCABULARY)
    assert matches[0][0] == "smith"


def test_an_exact_match_scores_100_and_comes_first() -> None:
    matches = best_name_matches(["Smith"], VOCABULARY)
    assert matches[0] == ("smith", 100.0)
    assert all(score < 100 for _, score in matches[1:])


def test_each_query_word_is_matched_and_names_appear_once() -> None:
    matches = best_name_matches(["john", "smiht"], VOCABULARY, limit=20)
    names = [name for name, _ in matches]
    assert names[0] == "john"
    assert "smith" in names
    assert len(names) == len(set(names))
    scores = [score for _, score in matches]
    assert scores == sorted(scores, reverse=True)


def test_fuzzy_matching_respects_limit_and_cutoff() -> None:
    assert len(best_name_matches(["maria"], VOCABULARY, limit=3)) <= 3
    assert best_name_matches(["qqqqzzz"], VOCABULARY) == []
    assert best_name_matches([], VOCABULARY) == []
    assert best_name_matches(["  "], VOCABULARY) == []
