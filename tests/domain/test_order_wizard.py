"""The order wizard's flow without a screen: what each step needs, going back and forth
without losing anything, drafts as JSON, keying an order from a saved quote
(swivel-chair), and the quote's problems where the agent is looking."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.order_wizard import (
    CHECK,
    NEW_CARD,
    STEPS,
    AddressChoice,
    CustomerFacts,
    MethodChoice,
    Offer,
    OfferResponse,
    OrderWizard,
    Step,
    install_dates,
)
from agent_desktop.domain.quote import CartLine

TODAY = date(2026, 11, 24)  # a Tuesday; Thursday the 26th is Thanksgiving
CATALOG_JSON = Path(__file__).resolve().parents[2] / "resources" / "catalog.json"
TEXAS = AddressChoice("a" * 32, "1 Congress Ave, Austin, TX 78701", "TX", "both")
FLORIDA = AddressChoice("b" * 32, "9 Ocean Dr, Miami, FL 33139", "FL", "service")
CARD = MethodChoice("c" * 32, "card", "Visa ending 4242", True)


def _data() -> dict[str, Any]:
    return json.loads(CATALOG_JSON.read_text("utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_dict(_data())


def _facts(**changes: Any) -> CustomerFacts:
    values: dict[str, Any] = dict(customer_id="d" * 32, display_name="Pat Doe",
                                  tenure_months=30, addresses=(TEXAS,), methods=(CARD,))
    values.update(changes)
    return CustomerFacts(**values)


def _at(wizard: OrderWizard, step: Step) -> None:
    while wizard.step != step:
        assert wizard.next(), (wizard.step, wizard.problems())


def _duo(catalog: Catalog, **facts: Any) -> OrderWizard:
    """An existing customer's Internet + TV Duo with the loyalty discount, at Review."""
    wizard = OrderWizard(catalog, TODAY, customer=_facts(**facts))
    _at(wizard, Step.PRODUCTS)
    wizard.add("bundle:DUO-INT-TV")
    _at(wizard, Step.CONFIGURE)
    wizard.set_promotion(0, "LOYAL15")
    _at(wizard, Step.REVIEW)
    return wizard


def test_the_steps_in_order_and_a_customer_first(catalog: Catalog) -> None:
    assert [s.value for s in STEPS] == ["customer", "address", "products", "configure",
                                        "offers", "review", "payment", "confirm"]
    wizard = OrderWizard(catalog, TODAY)
    assert wizard.problems() == ["Choose the customer (Ctrl+K finds them) or create a new "
                                 "one."]
    assert not wizard.next() and wizard.step == Step.CUSTOMER
    assert not wizard.go(Step.PRODUCTS)
    wizard.set_customer(_facts())
    assert wizard.address_id == TEXAS.id and wizard.payment_key == CARD.id
    assert wizard.next() and wizard.step == Step.ADDRESS


def test_an_address_outside_the_area_says_so_and_what_is_possible(catalog: Catalog) -> None:
    wizard = OrderWizard(catalog, TODAY, customer=_facts(addresses=(FLORIDA, TEXAS)))
    assert wizard.address_id == TEXAS.id  # the served one is chosen first
    wizard.choose_address(FLORIDA.id)
    _at(wizard, Step.ADDRESS)
    check = wizard.address_check()
    assert not check.ok and check.region is None
    assert "outside our service area" in check.message and "FL" in check.message
    assert TEXAS.label in check.possible and "draft" in check.possible
    assert not wizard.next() and wizard.step == Step.ADDRESS
    assert "outside our service area" in wizard.problems()[0]
    wizard.choose_address(TEXAS.id)
    assert wizard.address_check().ok and wizard.region_code == "CEN"
    assert wizard.next()
    with pytest.raises(UserFacingError):
        wizard.choose_address("e" * 32)  # not on file

    alone = OrderWizard(catalog, TODAY, customer=_facts(addresses=(FLORIDA,)))
    _at(alone, Step.ADDRESS)
    assert "We serve" in alone.problems()[0] and not alone.next()
    nowhere = OrderWizard(catalog, TODAY, customer=_facts(addresses=()))
    _at(nowhere, Step.ADDRESS)
    assert "no address on file" in nowhere.problems()[0]


def test_products_by_typing_and_what_needs_what(catalog: Catalog) -> None:
    wizard = OrderWizard(catalog, TODAY, customer=_facts())
    _at(wizard, Step.PRODUCTS)
    assert wizard.problems() == ["Add at least one product or bundle: type to find it, "
                                 "Enter adds it."]
    found = wizard.items("tv duo")
    assert found[0].key == "bundle:DUO-INT-TV" and found[0].sold_here
    assert [i.code for i in wizard.items("tv preferred")] == ["TV-PREF", "TRIO-GIG"]
    assert not any(i.code == "INT-DATA" for i in wizard.items("data"))  # a meter, not sold
    notes = wizard.add("product:TV-PREF")
    assert [c.sku for c in wizard.cart] == ["TV-BASIC", "TV-PREF"]
    assert notes[0].startswith("Added TV Basic too")
    wizard.add("product:EQ-TVBOX")
    wizard.add("product:EQ-TVBOX")
    assert wizard.cart[-1] == CartLine("EQ-TVBOX", 2)
    assert wizard.problems() == [] and wizard.next()

    hawaii = OrderWizard(catalog, TODAY, customer=_facts(addresses=(
        AddressChoice("f" * 32, "1 Kalakaua Ave, Honolulu, HI 96815", "HI"),)))
    phone = next(i for i in hawaii.items("smartphone"))
    assert not phone.sold_here and phone.why_not


def test_a_bundle_broken_up_loses_its_discount(catalog: Catalog) -> None:
    wizard = OrderWizard(catalog, TODAY, customer=_facts())
    wizard.add_bundle("DUO-INT-TV")
    assert all(c.bundle_code == "DUO-INT-TV" for c in wizard.cart)
    notes = wizard.remove_line(1)
    assert wizard.cart == [CartLine("INT-18")]
    assert "Internet + TV Duo discount no longer applies" in notes[-1]


def test_configure_quantities_promotions_and_the_installation_day(catalog: Catalog) -> None:
    dates = install_dates(TODAY)
    assert dates[0] == date(2026, 11, 25) and date(2026, 11, 26) not in dates  # holiday
    assert all(d.weekday() < 5 for d in dates) and dates[-1] <= TODAY + timedelta(days=60)

    wizard = OrderWizard(catalog, TODAY, customer=_facts(), cart=[CartLine("INT-100")])
    _at(wizard, Step.CONFIGURE)
    assert wizard.install_on == date(2026, 11, 25)  # the first day offered
    for day, why in ((date(2026, 11, 26), "not a business day"),
                     (date(2026, 11, 28), "not a business day"),
                     (TODAY, "has passed"), (TODAY + timedelta(days=61), "too far ahead")):
        wizard.set_install_on(day)
        assert why in wizard.problems()[0] and not wizard.next()
    wizard.set_install_on(None)
    assert wizard.problems() == ["Choose the installation date with the customer."]
    wizard.set_install_on(date(2026, 12, 1))
    wizard.set_quantity(0, 0)
    assert "quantity is 1 to 10" in wizard.problems()[0]
    wizard.set_quantity(0, 1)
    wizard.set_promotion(0, "TVNEW20")
    assert "TVNEW20 does not apply" in wizard.problems()[0]
    assert [code for code, _ in wizard.promotion_options(0)] == [
        "FAST3FREE", "AUTOPAY10", "LOYAL15"]
    wizard.set_promotion(0, "FAST3FREE")
    assert wizard.problems() == [] and wizard.next()

    devices = OrderWizard(catalog, TODAY, customer=_facts(), cart=[CartLine("SEC-CAM")])
    _at(devices, Step.CONFIGURE)
    assert not devices.needs_install() and devices.install_on is None
    assert devices.next()


def test_offers_accepted_into_the_cart_declined_or_skipped(catalog: Catalog) -> None:
    wizard = OrderWizard(catalog, TODAY, customer=_facts(), cart=[CartLine("INT-6")])
    _at(wizard, Step.OFFERS)
    codes = [o.code for o in wizard.offers]
    assert "BUNDLE-STARTER-DUO" in codes and "UP-INT-6-INT-18" in codes
    assert wizard.problems() == []  # offers may be skipped
    wizard.respond("BUNDLE-STARTER-DUO", OfferResponse.ACCEPTED)
    assert wizard.cart == [CartLine("INT-6", 1, None, "STARTER-DUO"),
                           CartLine("PH-LOCAL", 1, None, "STARTER-DUO")]
    assert any(line.sku == "STARTER-DUO" for line in wizard.quote().lines)
    wizard.respond("BUNDLE-STARTER-DUO", "declined")  # changed their mind
    assert wizard.cart == [CartLine("INT-6")]
    wizard.respond("UP-INT-6-INT-18", "accepted")
    assert wizard.cart == [CartLine("INT-18")]
    assert wizard.next() and wizard.step == Step.REVIEW
    shown = {o["code"]: o["response"] for o in wizard.offers_shown()}
    assert shown["BUNDLE-STARTER-DUO"] == "declined"
    assert shown["UP-INT-6-INT-18"] == "accepted"
    assert set(shown.values()) <= {"accepted", "declined", "not_now"}

    phone = OrderWizard(catalog, TODAY, customer=_facts(), cart=[CartLine("PH-UNLTD")])
    _at(phone, Step.OFFERS)
    assert phone.offers[0].code == "ADD-EQ-BATT"  # every home phone customer hears it
    assert phone.next()  # skipped: nothing answered
    assert all(o["response"] == "not_now" for o in phone.offers_shown())


def test_review_shows_the_quote_and_blocks_on_its_problems(catalog: Catalog) -> None:
    wizard = _duo(catalog)
    quote = wizard.quote()
    assert quote.ok and wizard.problems() == []
    assert quote.monthly_cents == 3825 + 3500 - 1500 + 2250  # LOYAL15, Duo, broadcast fee
    assert quote.due_today_cents == 0
    assert wizard.next() and wizard.accepted is not None
    assert wizard.accepted.monthly_cents == quote.monthly_cents

    expired = OrderWizard(catalog, TODAY, customer=_facts(),
                          cart=[CartLine("TV-BASIC"), CartLine("TV-ELITE", 1, "SPRING26")])
    _at(expired, Step.REVIEW)
    assert not expired.next() and expired.step == Step.REVIEW
    [problem] = expired.problems()
    assert "SPRING26" in problem and "ended on May 31, 2026" in problem
    assert "Price TV Elite without a promotion" in problem or "instead" in problem

    data = _data()
    for product in data["products"]:
        if product["sku"] == "MOB-PHONE-B":
            product["inventory"] = 0
    sold_out = OrderWizard(Catalog.from_dict(data), TODAY, customer=_facts(),
                           cart=[CartLine("MOB-UNLTD"), CartLine("MOB-PHONE-B")])
    _at(sold_out, Step.REVIEW)
    [problem] = sold_out.problems()
    assert "Smartphone B Pro 256 GB: 1 ordered, 0 in stock" in problem
    assert "None left in stock" in problem
    assert not sold_out.go(Step.PAYMENT)


def test_payment_terms_autopay_and_methods(catalog: Catalog) -> None:
    wizard = OrderWizard(catalog, TODAY, customer=_facts(),
                         cart=[CartLine("INT-100", 1, "AUTOPAY10")])
    _at(wizard, Step.REVIEW)
    assert wizard.problems() == []  # autopay is turned on at the next step
    assert not wizard.quote().ok
    assert wizard.next() and wizard.step == Step.PAYMENT
    problems = wizard.problems()
    assert any("needs autopay" in p for p in problems)
    assert any("terms" in p for p in problems)
    wizard.set_autopay(True)
    wizard.set_terms_accepted(True)
    assert wizard.problems() == []
    wizard.choose_payment(CHECK)
    assert "Autopay needs a card" in wizard.problems()[0]
    assert any("payment by card or ACH" in p for p in wizard.problems())
    wizard.choose_payment(NEW_CARD)
    assert wizard.payment_kind == "card" and wizard.payment_method_id is None
    assert "Ctrl+P" in next(o.note for o in wizard.payment_options() if o.key == NEW_CARD)
    assert wizard.problems() == []
    with pytest.raises(UserFacingError):
        wizard.choose_payment("9" * 32)
    assert wizard.next() and wizard.step == Step.CONFIRM
    assert wizard.accepted is not None and wizard.accepted.monthly_cents == 5500 - 1000
    assert wizard.problems() == [] and not wizard.next()  # placing is the service's job

    no_method = OrderWizard(catalog, TODAY, customer=_facts(methods=()),
                            cart=[CartLine("SEC-CAM")])
    _at(no_method, Step.PAYMENT)
    assert no_method.problems()[0].startswith("Choose how the customer pays")


def test_back_and_forth_never_loses_input(catalog: Catalog) -> None:
    wizard = _duo(catalog)
    assert wizard.next()
    wizard.choose_payment(NEW_CARD)
    wizard.set_terms_accepted(True)
    wizard.set_autopay(True)
    install = wizard.install_on
    for _ in range(4):
        assert wizard.back()
    assert wizard.step == Step.PRODUCTS
    assert [c.sku for c in wizard.cart] == ["INT-18", "TV-BASIC"]
    assert wizard.cart[0].promotion_code == "LOYAL15"
    assert wizard.go(Step.PAYMENT)  # forward over complete steps at once
    assert (wizard.payment_key, wizard.terms_accepted, wizard.autopay,
            wizard.install_on) == (NEW_CARD, True, True, install)
    assert all(wizard.done(s) for s in STEPS[:STEPS.index(Step.PAYMENT)])
    assert not wizard.done(Step.PAYMENT)  # where the agent is
    wizard.go(Step.CONFIGURE)
    wizard.set_install_on(None)
    assert not wizard.can_go(Step.REVIEW) and wizard.can_go(Step.CUSTOMER)
    assert not wizard.go(Step.CONFIRM) and wizard.step == Step.CONFIGURE
    assert "Configure: Choose the installation date" in wizard.problems(Step.CONFIRM)[0]


def test_a_draft_round_trips_through_json(catalog: Catalog) -> None:
    wizard = _duo(catalog, addresses=(TEXAS, FLORIDA))
    wizard.go(Step.PAYMENT)
    wizard.choose_payment(CARD.id)
    wizard.set_terms_accepted(True)
    data = json.loads(json.dumps(wizard.to_draft()))
    back = OrderWizard.from_draft(catalog, data, TODAY)
    assert back.to_draft() == {**wizard.to_draft(), "origin": "draft"}
    assert back.step == Step.PAYMENT and back.cart == wizard.cart
    assert back.order_id == wizard.order_id and back.accepted == wizard.accepted
    assert back.visited == wizard.visited and back.customer == wizard.customer

    # Resumed with fresh facts: the choices that still fit stay.
    fresh = _facts(addresses=(TEXAS,), tenure_months=31)
    resumed = OrderWizard.from_draft(catalog, data, TODAY + timedelta(days=1), fresh)
    assert resumed.customer is fresh and resumed.address_id == TEXAS.id
    assert resumed.payment_key == CARD.id and resumed.terms_accepted
    # Another customer's facts keep nothing personal.
    other = OrderWizard.from_draft(catalog, data, TODAY, _facts(customer_id="9" * 32))
    assert not other.terms_accepted and other.cart == wizard.cart

    # A draft left before the installation day it named: back on Configure.
    late = OrderWizard.from_draft(catalog, data, date(2026, 12, 2))
    assert late.install_on == date(2026, 11, 25) and late.step == Step.CONFIGURE
    with pytest.raises(UserFacingError):
        OrderWizard.from_draft(catalog, {**data, "version": 99}, TODAY)


def test_swivel_chair_keys_an_order_from_a_saved_quote(catalog: Catalog) -> None:
    wizard = _duo(catalog)
    saved = json.loads(json.dumps(wizard.saved_quote()))
    assert saved["origin"] == "saved_quote" and saved["accepted"]["valid_until"] == "2026-12-24"

    later = OrderWizard.from_saved_quote(catalog, saved, TODAY + timedelta(days=3))
    assert later.swivel_chair and later.cart == wizard.cart
    missing = later.missing()
    assert len(missing) == 2, missing  # the installation day passed; no agreement
    assert missing[0].startswith("Configure: Installation on Wed Nov 25 has passed")
    assert "only the customer can give it" in missing[1]
    assert later.step == Step.CONFIGURE  # the first step that needs something

    later.set_install_on(date(2026, 12, 1))
    assert later.step == Step.CONFIGURE and later.go(Step.PAYMENT)
    later.set_terms_accepted(True)  # the customer called back
    assert later.missing() == [] and later.go(Step.CONFIRM)

    expired = OrderWizard.from_saved_quote(catalog, {**saved, "terms_accepted": True},
                                           date(2027, 1, 5))
    assert any("held its price until Thu Dec 24" in m for m in expired.missing())

    empty = OrderWizard(catalog, TODAY, customer=_facts())
    with pytest.raises(UserFacingError, match="cannot be saved yet"):
        empty.saved_quote()


def test_a_new_customer_gets_new_customer_promotions(catalog: Catalog) -> None:
    facts = _facts(is_new=True, tenure_months=0)
    wizard = OrderWizard(catalog, TODAY, customer=facts,
                         cart=[CartLine("INT-18", 1, None, "DUO-INT-TV"),
                               CartLine("TV-BASIC", 1, None, "DUO-INT-TV"),
                               CartLine("TV-PREF", 1, "TVNEW20")])
    _at(wizard, Step.REVIEW)
    quote = wizard.quote()
    assert quote.ok
    pref = next(line for line in quote.lines if line.sku == "TV-PREF")
    assert pref.discount_cents == 900 and pref.promotion_code == "TVNEW20"

    existing = OrderWizard(catalog, TODAY, customer=_facts(), cart=wizard.cart)
    _at(existing, Step.REVIEW)
    assert "new customers only" in existing.problems()[0]


def test_a_mid_cycle_change_is_prorated(catalog: Catalog) -> None:
    facts = _facts(cycle_start=date(2026, 11, 15), cycle_end=date(2026, 12, 15))
    wizard = OrderWizard(catalog, TODAY, customer=facts, cart=[CartLine("INT-100")])
    _at(wizard, Step.REVIEW)
    quote = wizard.quote()
    assert wizard.install_on == date(2026, 11, 25)
    assert quote.proration_cents == round(5500 * 20 / 30)  # Nov 25 .. Dec 14
    data = json.loads(json.dumps(wizard.to_draft()))
    assert OrderWizard.from_draft(catalog, data, TODAY).customer == facts


def test_the_offer_engines_offers_replace_the_wizards_own(catalog: Catalog) -> None:
    phone = Offer("PH-UP-UNLTD", "up_sell", "Home Phone Unlimited", "No more counting.",
                  (CartLine("PH-UNLTD"),))
    tv = Offer("TV-X", "cross_sell", "TV Basic", "Local channels.", (CartLine("TV-BASIC"),))
    wizard = OrderWizard(catalog, TODAY, customer=_facts(), cart=[CartLine("INT-6")])
    wizard.set_offers([phone, tv])
    wizard.add_product("TV-BASIC")  # already in the order: not offered again
    _at(wizard, Step.OFFERS)
    assert [o.code for o in wizard.offers] == ["PH-UP-UNLTD"]
    wizard.respond("PH-UP-UNLTD", "accepted")
    assert [c.sku for c in wizard.cart] == ["INT-6", "TV-BASIC", "PH-UNLTD"]
    back = OrderWizard.from_draft(catalog, json.loads(json.dumps(wizard.to_draft())), TODAY)
    assert back.offers_from_engine and back.offers == wizard.offers
    back.refresh_offers()  # answered offers stay listed
    assert [o.code for o in back.offers] == ["PH-UP-UNLTD"]

    quiet = OrderWizard(catalog, TODAY, customer=_facts(), cart=[CartLine("INT-6")])
    quiet.set_offers([], "the customer has an open outage case")
    _at(quiet, Step.OFFERS)
    assert quiet.offers == () and quiet.offers_reason == "the customer has an open outage case"
    assert quiet.next()  # nothing to put to them; no suggestions of our own either


def test_a_bundle_counts_what_the_customer_has_and_never_steps_them_down(
        catalog: Catalog) -> None:
    from agent_desktop.domain.errors import UserFacingError

    has_tv = OrderWizard(catalog, TODAY, customer=_facts(existing_skus=("TV-BASIC",)))
    has_tv.add_bundle("DUO-INT-TV")
    assert [(c.sku, c.replaces) for c in has_tv.cart] == [("INT-18", None)]
    has_basic = OrderWizard(catalog, TODAY, customer=_facts(existing_skus=("INT-6",)))
    notes = has_basic.add_bundle("DUO-INT-TV")
    assert ("INT-18", "INT-6") in [(c.sku, c.replaces) for c in has_basic.cart]
    assert any("replaces their Internet Basic 6 Mbps" in n for n in notes)
    has_both = OrderWizard(catalog, TODAY,
                           customer=_facts(existing_skus=("INT-18", "TV-BASIC")))
    with pytest.raises(UserFacingError, match="already has every part"):
        has_both.add_bundle("DUO-INT-TV")
    has_gig = OrderWizard(catalog, TODAY, customer=_facts(existing_skus=("INT-2000",)))
    with pytest.raises(UserFacingError, match="step them down"):
        has_gig.add_bundle("DUO-INT-TV")
    assert has_gig.cart == []
