"""Customer creation and maintenance rules (domain.customers): validation vectors, E.164,
time zones, duplicate matching, and the service rules (suspend, resume, move, cancel with
the retention offer first)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agent_desktop.domain import customers as rules
from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import account_serial, is_account_number

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
CATALOG = Catalog.from_dict(json.loads((RESOURCES / "catalog.json").read_text("utf-8")))
REGIONS = {code: r.states for code, r in CATALOG.regions.items()}
REASONS = [r["code"] for r in json.loads((RESOURCES / "codes.json").read_text("utf-8"))
           ["cancellation_reasons"]]
AT = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _draft(**changes: object) -> rules.CustomerDraft:
    base = rules.CustomerDraft(
        first_name="John", last_name="Smith", phone="(415) 555-0132",
        email="john.smith@example.com",
        service=rules.AddressInput("123 Main Street", "Apt 4", "San Francisco", "ca",
                                   "94110"))
    return replace(base, **changes)  # type: ignore[arg-type]


# --- names --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "ok"), [
    ("John", True), ("  Mary   Ann ", True), ("O'Brien", True), ("Núñez-García", True),
    ("J.", True), ("Zoë", True), ("李", True), ("D\u2019Angelo", True),
    ("", False), ("J0hn", False), ("John!", False), ("-John", False), ("Jo--hn", False),
    ("x" * 51, False),
])
def test_person_names(text: str, ok: bool) -> None:
    assert rules.check_person_name(text).ok is ok


def test_person_name_is_cleaned_and_messages_name_the_field() -> None:
    assert rules.check_person_name("  Mary   Ann ").value == "Mary Ann"
    assert rules.check_person_name("", "Last name").problem == "Last name is required."
    assert "digit" in rules.check_person_name("J0hn").problem


@pytest.mark.parametrize(("text", "ok"), [
    ("Smith Plumbing LLC", True), ("A&B Co.", True), ("7-Eleven #42", True),
    ("", False), ("X", False), ("1234", False), ("Shop <script>", False),
])
def test_business_names(text: str, ok: bool) -> None:
    assert rules.check_business_name(text).ok is ok


# --- phone: E.164 and a message per failure --------------------------------------------------

@pytest.mark.parametrize(("text", "e164"), [
    ("(415) 555-0132", "+14155550132"), ("415.555.0132", "+14155550132"),
    ("+1 415 555 0132", "+14155550132"), ("1-415-555-0132", "+14155550132"),
    ("4155550132", "+14155550132"), ("+44 20 7946 0958", "+442079460958"),
])
def test_phone_numbers_become_e164(text: str, e164: str) -> None:
    checked = rules.check_phone(text)
    assert checked.ok and checked.value == e164


@pytest.mark.parametrize(("text", "words"), [
    ("", "required"),
    ("415 555 013", "Too short: a US number has 10 digits, you typed 9"),
    ("41555501322", "Too long: a US number has 10 digits, you typed 11"),
    ("555-0132", "Add the area code"),
    ("(123) 456-7890", "Area codes never start with 1"),
    ("(415) 055-0132", "after the area code never start with 0"),
    ("(999) 555-1234", "Area code 999 is not in use"),
    ("1-800-555-0199", "toll-free"),
    ("call me", "digits only"),
    ("+999 1234", "Unknown country code"),
])
def test_each_phone_failure_has_its_own_message(text: str, words: str) -> None:
    checked = rules.check_phone(text)
    assert not checked.ok
    assert words in checked.problem


# --- email ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("john@example.com", "john@example.com"), ("John.Smith+tv@Example.CO.UK",
                                               "john.smith+tv@example.co.uk"),
    ("", ""),
])
def test_emails_that_pass(text: str, value: str) -> None:
    checked = rules.check_email(text)
    assert checked.ok and checked.value == value


@pytest.mark.parametrize(("text", "words"), [
    ("john.example.com", "exactly one @"), ("john@@x.com", "exactly one @"),
    ("@example.com", "before the @"), ("john@", "after the @"),
    ("john@example", "needs a dot"), ("john@example.c", "two or more letters"),
    ("jo hn@example.com", "no spaces"), ("john..smith@x.com", "dot"),
    ("john@-x.com", "not valid"), ("jo(hn@x.com", "character"),
])
def test_emails_that_fail_say_why(text: str, words: str) -> None:
    checked = rules.check_email(text)
    assert not checked.ok and words in checked.problem


def test_a_near_miss_of_a_mail_domain_gets_a_did_you_mean() -> None:
    checked = rules.check_email("john@gmial.com")
    assert checked.ok and "Did you mean john@gmail.com?" in checked.note
    assert rules.check_email("john@gmail.com").note == ""


# --- addresses and time zones --------------------------------------------------------------

@pytest.mark.parametrize(("state", "postal", "zone"), [
    ("NY", "10001", "America/New_York"), ("CA", "94110", "America/Los_Angeles"),
    ("AZ", "85001", "America/Phoenix"), ("HI", "96813", "Pacific/Honolulu"),
    ("TX", "75201", "America/Chicago"), ("TX", "79901", "America/Denver"),
    ("FL", "33101", "America/New_York"), ("FL", "32501", "America/Chicago"),
    ("TN", "37201", "America/Chicago"), ("TN", "37902", "America/New_York"),
    ("KY", "40202", "America/New_York"), ("KY", "42001", "America/Chicago"),
    ("IN", "46204", "America/New_York"), ("IN", "47708", "America/Chicago"),
    ("ID", "83702", "America/Denver"), ("ID", "83814", "America/Los_Angeles"),
    ("OR", "97401", "America/Los_Angeles"), ("OR", "97914", "America/Denver"),
    ("SD", "57701", "America/Denver"), ("ND", "58501", "America/Chicago"),
    ("PR", "00901", "America/Puerto_Rico"), ("AS", "96799", "Pacific/Pago_Pago"),
])
def test_time_zone_from_state_and_zip_prefix(state: str, postal: str, zone: str) -> None:
    assert rules.time_zone_for(state, postal) == zone


def test_every_demo_city_zip_prefix_belongs_to_its_state_and_zone() -> None:
    from agent_desktop.storage.demo_data import _GEO

    for state, (_pop, zone, cities) in _GEO.items():
        for city, zip3, _codes, override in cities:
            assert state in rules.state_of_zip(f"{zip3}01"), (state, city)
            assert rules.time_zone_for(state, f"{zip3}01") == (override or zone), city


def test_address_checks() -> None:
    def problems(**fields: str) -> dict[str, str]:
        address = replace(rules.AddressInput("123 Main St", "", "Austin", "TX", "78701"),
                          **fields)
        return rules.validate_address(address, service=True, regions=REGIONS)[0]

    assert problems() == {}
    assert "house number" in problems(line1="Main Street")["line1"]
    assert "PO Box" in problems(line1="PO Box 12")["line1"]
    assert "is not a US state code" in problems(state="XX")["state"]
    assert "two-letter" in problems(state="Texas")["state"]
    assert "ZIP+4" in problems(postal_code="7870")["postal_code"]
    assert problems(postal_code="78701-1234") == {}
    assert problems(postal_code="78701 1234") == {}
    assert problems(postal_code="10001")["postal_code"] == (
        "ZIP 10001 is in NY, not TX: check the state or the ZIP.")
    assert "City" in problems(city="Austin 2")["city"]
    billing = rules.AddressInput("PO Box 12", "", "Austin", "TX", "78701")
    assert rules.validate_address(billing, service=False, regions=REGIONS)[0] == {}


def test_a_clean_address_carries_its_zone_region_and_normalized_street() -> None:
    _p, notes, clean = rules.validate_address(
        rules.AddressInput(" 500  North Oak Avenue ", "", "El Paso", "tx", "79901-1234"),
        service=True, regions=REGIONS)
    assert clean is not None
    assert (clean.line1, clean.state, clean.postal_code) == (
        "500 North Oak Avenue", "TX", "79901-1234")
    assert clean.line1_norm == "500 n oak ave"
    assert (clean.time_zone, clean.region_code) == ("America/Denver", "CEN")
    assert notes["postal_code"] == "Time zone: Mountain time (America/Denver)"
    _p, notes, outside = rules.validate_address(
        rules.AddressInput("1 Bay St", "", "Miami", "FL", "33101"), service=True,
        regions=REGIONS)
    assert outside is not None and outside.region_code == ""
    assert "We do not serve Florida" in notes["state"]


# --- the whole draft -----------------------------------------------------------------------

def test_a_good_draft_becomes_a_new_customer() -> None:
    check = rules.validate_customer(_draft(first_name=" José ", last_name="Núñez"), REGIONS)
    assert check.ok and check.customer is not None
    new = check.customer
    assert (new.display_name, new.first_norm, new.last_norm) == ("José Núñez", "jose", "nunez")
    assert new.phone == "+14155550132" and new.line_type == "mobile"
    assert new.service.time_zone == "America/Los_Angeles"
    assert new.service.region_code == "PAC" and new.billing is None


def test_every_problem_is_keyed_by_its_field() -> None:
    check = rules.validate_customer(_draft(
        first_name="", phone="555-0132", email="x@y",
        service=rules.AddressInput("Main", "", "", "ZZ", "1"),
        billing=rules.AddressInput("PO Box 9", "", "Austin", "TX", "10001")), REGIONS)
    assert not check.ok
    assert set(check.problems) == {
        "first_name", "phone", "email", "service.line1", "service.city", "service.state",
        "service.postal_code", "billing.postal_code"}
    assert rules.first_problem(check) == "First name: First name is required."


def test_a_business_needs_its_name_and_may_name_a_contact() -> None:
    check = rules.validate_customer(_draft(kind="business", first_name="", last_name="",
                                           business_name="Smith Plumbing LLC"), REGIONS)
    assert check.customer is not None
    assert check.customer.display_name == "Smith Plumbing LLC"
    assert check.customer.last_norm == ""
    half = rules.validate_customer(_draft(kind="business", first_name="", last_name="Smith",
                                          business_name="Smith Plumbing"), REGIONS)
    assert "first_name" in half.problems
    assert "business_name" in rules.validate_customer(
        _draft(kind="business", business_name=""), REGIONS).problems


def test_draft_round_trips_through_mutation_args() -> None:
    draft = _draft(billing=rules.AddressInput("PO Box 9", "", "San Francisco", "CA",
                                              "94110"))
    assert rules.draft_from_args(draft.as_args()) == draft
    with pytest.raises(UserFacingError, match="must be text"):
        rules.draft_from_args({**draft.as_args(), "phone": 4155550132})


# --- account numbers -----------------------------------------------------------------------

def test_new_account_numbers_come_from_the_id_above_the_demo_serials() -> None:
    customer_id = "0123456789abcdef0123456789abcdef"
    first = rules.account_number_for(customer_id)
    assert is_account_number(first) and rules.is_new_account_number(first)
    assert account_serial(first) >= rules.NEW_ACCOUNT_SERIAL_BASE
    assert rules.account_number_for(customer_id) == first  # the same id, the same number
    second = rules.account_number_for(customer_id, 1)
    assert account_serial(second) == account_serial(first) + 1
    assert not rules.is_new_account_number("100000009")  # serial 0: a demo customer


# --- duplicates ----------------------------------------------------------------------------

def _new(**changes: object) -> rules.NewCustomer:
    check = rules.validate_customer(_draft(**changes), REGIONS)
    assert check.customer is not None
    return check.customer


def _candidate(**changes: object) -> rules.Candidate:
    base = rules.Candidate(
        customer_id="c1", display_name="John Smith", account_number="100000009",
        kind="consumer", first_norm="john", last_norm="smith", business_name="",
        status="active", phones=(("+12125550100", "home"),), emails=("js@example.org",),
        streets=(("9 elm st", "10001"),))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_same_mobile_number_and_same_email_are_duplicates() -> None:
    new = _new()
    [match] = rules.match_duplicates(new, [_candidate(
        phones=(("+14155550132", "mobile"),), emails=("john.smith@example.com",))])
    assert match.reasons == ("same mobile number", "same email")
    assert match.why == "same mobile number; same email"


def test_a_close_name_at_the_same_street_and_zip_is_a_duplicate() -> None:
    new = _new(first_name="Jon", service=rules.AddressInput(
        "123 Main Street", "", "San Francisco", "CA", "94110-2201"))
    same_street = _candidate(streets=(("123 main st", "94110"),))
    [match] = rules.match_duplicates(new, [same_street])
    assert match.reasons == ("close name at the same address: Jon Smith vs John Smith",)
    # A household member is not a duplicate; neither is the same street in another ZIP.
    assert rules.match_duplicates(_new(first_name="Jane"), [same_street]) == []
    assert rules.match_duplicates(new, [_candidate(streets=(("123 main st", "10001"),))]) == []


def test_matches_are_ranked_by_how_many_reasons() -> None:
    new = _new()
    one = _candidate(customer_id="a", display_name="A", phones=(("+14155550132", "home"),))
    two = _candidate(customer_id="b", display_name="B", phones=(("+14155550132", "work"),),
                     emails=("john.smith@example.com",))
    found = rules.match_duplicates(new, [one, two])
    assert [m.customer_id for m in found] == ["b", "a"]
    assert found[1].reasons == ("same home phone number",)
    assert rules.match_duplicates(new, [_candidate()]) == []


# --- suspend, resume, move -----------------------------------------------------------------

@pytest.mark.parametrize(("status", "allowed"), [
    ("active", True), ("pending", False), ("suspended", False), ("cancelled", False)])
def test_only_an_active_service_is_suspended(status: str, allowed: bool) -> None:
    if allowed:
        assert rules.check_suspend(status, "VACATION") == {"status": "suspended"}
    else:
        with pytest.raises(UserFacingError, match="Only an active service"):
            rules.check_suspend(status, "VACATION")
    with pytest.raises(UserFacingError, match="why"):
        rules.check_suspend("active", "BORED")


@pytest.mark.parametrize("status", ["active", "pending", "cancelled"])
def test_only_a_suspended_service_is_resumed(status: str) -> None:
    assert rules.check_resume("suspended") == {"status": "active"}
    with pytest.raises(UserFacingError, match="Only a suspended service"):
        rules.check_resume(status)


def test_a_move_needs_a_served_region_where_the_product_is_sold() -> None:
    plan = rules.check_move("active", "INT-100",
                            rules.AddressInput("9 Pine Rd", "", "Denver", "CO", "80202"),
                            CATALOG)
    assert plan.address.region_code == "MTN" and plan.address.time_zone == "America/Denver"
    with pytest.raises(UserFacingError, match="We do not serve Florida"):
        rules.check_move("active", "INT-100",
                         rules.AddressInput("1 Bay St", "", "Miami", "FL", "33101"), CATALOG)
    with pytest.raises(UserFacingError, match="is not sold in Mountain"):
        rules.check_move("active", "INT-2000",
                         rules.AddressInput("9 Pine Rd", "", "Denver", "CO", "80202"),
                         CATALOG)
    with pytest.raises(UserFacingError, match="cancelled service cannot move"):
        rules.check_move("cancelled", "INT-100",
                         rules.AddressInput("9 Pine Rd", "", "Denver", "CO", "80202"),
                         CATALOG)


# --- cancellation: the retention offer first, a reason code --------------------------------

def test_the_retention_offer_depends_on_tenure_product_and_status() -> None:
    long_ago, lately = date(2020, 1, 1), date(2026, 6, 1)
    today = AT.date()
    loyal = rules.retention_offer("INT-100", "active", "", long_ago, today, CATALOG)
    assert loyal.code == "LOYAL15" and loyal.promotion_code == "LOYAL15"
    assert rules.retention_offer("INT-100", "active", "", lately, today, CATALOG).code == \
        rules.PAUSE_OFFER
    assert rules.retention_offer("TV-BASIC", "active", "", long_ago, today, CATALOG).code == \
        rules.PAUSE_OFFER
    assert rules.retention_offer("INT-100", "active", "FAST3FREE", long_ago, today,
                                 CATALOG).code == rules.PAUSE_OFFER
    assert rules.retention_offer("INT-100", "suspended", "", lately, today, CATALOG).code == \
        rules.REVIEW_OFFER


def _cancel(response: object = "declined", reason: str = "PRICE-TOO-HIGH", note: str = "",
            offered: object = rules.PAUSE_OFFER, status: str = "active"
            ) -> rules.CancellationPlan:
    offer = rules.retention_offer("TV-BASIC", status, "", date(2026, 6, 1), AT.date(), CATALOG)
    return rules.check_cancellation(status, reason, note, offer, offered, response, REASONS,
                                    AT.date())


def test_a_declined_offer_and_a_reason_cancel_the_service() -> None:
    plan = _cancel()
    assert plan.outcome == "cancelled"
    assert plan.service_fields == {"status": "cancelled", "ended_on": AT.date()}


def test_an_accepted_offer_keeps_the_service() -> None:
    plan = _cancel(response="accepted")
    assert plan.outcome == "retained" and plan.service_fields == {"status": "suspended"}
    offer = rules.retention_offer("INT-100", "active", "", date(2020, 1, 1), AT.date(), CATALOG)
    kept = rules.check_cancellation("active", "COMPETITOR-OFFER", "", offer, "LOYAL15",
                                    "accepted", REASONS, AT.date())
    assert kept.service_fields == {"promotion_code": "LOYAL15",
                                   "promotion_ends_on": date(2027, 11, 20)}


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"response": None}, "retention offer first"),
    ({"offered": ""}, "retention offer first"),
    ({"offered": "LOYAL15"}, "is PAUSE-INSTEAD, not LOYAL15"),
    ({"response": "maybe"}, "accepted or declined"),
    ({"reason": ""}, "Choose why"),
    ({"reason": "BORED"}, "not a cancellation reason"),
    ({"reason": "OTHER"}, "A note saying why is required"),
    ({"status": "cancelled"}, "already cancelled"),
])
def test_a_cancellation_needs_the_offer_answered_and_a_reason(
        kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(UserFacingError, match=words):
        _cancel(**kwargs)  # type: ignore[arg-type]
    assert _cancel(reason="OTHER", note="Moving abroad").note == "Moving abroad"


# --- contact detail changes ----------------------------------------------------------------

def _contact_args(**changes: object) -> dict[str, object]:
    return {"customer_id": "c" * 32, "kind": "phone", "contact_point_id": "a" * 32,
            "value": "(212) 555-0100", "label": "mobile", "at": AT.isoformat(), **changes}


def test_a_new_number_starts_without_automated_call_or_text_consent() -> None:
    target = {"customer_id": "c" * 32, "kind": "phone", "value": "+14155550132",
              "label": "mobile"}
    [change] = rules.plan_contact_change(_contact_args(), target, has_primary=True,
                                         live_services=0, regions=REGIONS, at=AT)
    assert change.fields == {"value": "+12125550100", "label": "mobile",
                             "line_type": "mobile", "consent_autodial": False,
                             "consent_text": False, "verified": False}
    with pytest.raises(UserFacingError, match="already on file"):
        rules.plan_contact_change(_contact_args(value="415 555 0132"), target,
                                  has_primary=True, live_services=0, regions=REGIONS, at=AT)
    [relabel] = rules.plan_contact_change(_contact_args(value="415 555 0132", label="home"),
                                          target, has_primary=True, live_services=0,
                                          regions=REGIONS, at=AT)
    assert relabel.fields == {"label": "home", "line_type": "landline"}


def test_an_added_email_is_primary_only_if_none_is() -> None:
    args = _contact_args(kind="email", contact_point_id=None, new_contact_id="b" * 32,
                         value="New@Example.com")
    [add] = rules.plan_contact_change(args, None, has_primary=False, live_services=0,
                                      regions=REGIONS, at=AT)
    assert add.insert and add.fields["value"] == "new@example.com"
    assert add.fields["is_primary"] is True
    [second] = rules.plan_contact_change(args, None, has_primary=True, live_services=0,
                                         regions=REGIONS, at=AT)
    assert second.fields["is_primary"] is False


def test_a_service_address_with_services_keeps_its_state() -> None:
    target = {"customer_id": "c" * 32, "kind": "both", "state": "CA", "line1": "1 A St",
              "line2": "", "city": "San Francisco", "postal_code": "94110"}
    args = {"customer_id": "c" * 32, "kind": "address", "address_id": "d" * 32,
            "at": AT.isoformat(),
            "address": {"line1": "1 A St", "line2": "", "city": "Reno", "state": "NV",
                        "postal_code": "89501"}}
    with pytest.raises(UserFacingError, match="use Move service"):
        rules.plan_contact_change(args, target, has_primary=True, live_services=1,
                                  regions=REGIONS, at=AT)
    [fix] = rules.plan_contact_change(args, target, has_primary=True, live_services=0,
                                      regions=REGIONS, at=AT)
    assert fix.fields["state"] == "NV" and fix.fields["time_zone"] == "America/Los_Angeles"


def test_only_ascii_digits_make_a_zip_and_times_must_be_plausible() -> None:
    problems = rules.validate_address(
        rules.AddressInput("1 Main St", "", "New York", "NY", "\u0661\u0660\u0660\u0660\u0661"),
        service=True)[0]
    assert "ZIP+4" in problems["postal_code"]
    for at in ("0001-01-01T00:00:00+05:00", "not a time", "1999-12-31T00:00:00Z", None):
        with pytest.raises(UserFacingError, match="no valid time"):
            rules.at_arg({"at": at})
    assert rules.at_arg({"at": "2026-11-20T10:30:00-05:00"}) == AT.replace(hour=15)
