"""Quotes: promotions, eligibility, bundles, fees, taxes, proration, stock and the checks,
priced against resources/catalog.json (and a few variants of it)."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_desktop.domain.catalog import Catalog, CatalogError
from agent_desktop.domain.money import RoundingRule, round_cents
from agent_desktop.domain.quote import (
    BillingCycle,
    CartLine,
    Quote,
    QuoteContext,
    QuoteLine,
    price_quote,
)

DATA = json.loads((Path(__file__).parents[2] / "resources" / "catalog.json").read_text())
CATALOG = Catalog.from_dict(DATA)
TODAY = date(2026, 7, 15)  # every promotion runs except SPRING26 (ended May 31)


def ctx(**kw: Any) -> QuoteContext:
    """AKHI by default: no fees and 4.5% tax, so a test sees only what it is about."""
    base: dict[str, Any] = {"today": TODAY, "region_code": "AKHI", "payment_method": "card"}
    return QuoteContext(**{**base, **kw})


def quote(*cart: CartLine, catalog: Catalog = CATALOG, **kw: Any) -> Quote:
    q = price_quote(catalog, cart, ctx(**kw))
    check_invariants(q, catalog)
    return q


def line(q: Quote, sku: str, kind: str = "product") -> QuoteLine:
    return next(ln for ln in q.lines if ln.sku == sku and ln.kind == kind)


def codes(q: Quote) -> list[str]:
    return [p.code for p in q.problems]


def catalog_with(**changes: Any) -> Catalog:
    data = copy.deepcopy(DATA)
    for key, value in changes.items():
        data[key] = value(data[key]) if callable(value) else value
    return Catalog.from_dict(data)


def promotion(code: str, kind: str, value: dict[str, Any], applies_to: list[str],
              **eligibility: Any) -> dict[str, Any]:
    return {"code": code, "name": code, "kind": kind, "value": value,
            "applies_to": applies_to, "eligibility": eligibility,
            "valid_from": "2026-01-01", "valid_to": "2027-12-31"}


def check_invariants(q: Quote, catalog: Catalog = CATALOG) -> None:
    """Cents are never lost: every total is exactly the sum of its lines."""
    for ln in q.lines:
        assert ln.list_cents == ln.unit_cents * ln.quantity
        assert ln.net_cents == ln.list_cents - ln.discount_cents
        assert ln.discount_cents >= 0
        assert ln.kind in ("product", "bundle_discount", "fee", "proration")
    assert q.monthly_cents == sum(ln.net_cents for ln in q.lines if ln.recurring)
    assert q.one_time_cents == sum(ln.net_cents for ln in q.lines
                                   if not ln.recurring and ln.kind != "proration")
    assert q.fees_monthly_cents == sum(ln.net_cents for ln in q.lines if ln.kind == "fee")
    assert q.proration_cents == sum(ln.net_cents for ln in q.lines if ln.kind == "proration")
    assert all(ln.recurring for ln in q.lines if ln.kind in ("fee", "bundle_discount"))
    assert not any(ln.recurring for ln in q.lines if ln.kind == "proration")
    assert q.due_today_cents == q.one_time_cents + q.one_time_tax_cents
    assert q.ok == (not q.problems)
    products = [ln for ln in q.lines if ln.kind == "product"]
    assert q.first_months_cents == tuple(
        q.monthly_cents - sum(ln.net_cents for ln in products if ln.free_months >= m)
        for m in range(1, max((ln.free_months for ln in products), default=0) + 1))
    assert_no_float(q)


def assert_no_float(value: object) -> None:
    assert not isinstance(value, float), value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name.endswith("_cents") and not isinstance(v, tuple):
                assert type(v) is int, (f.name, v)
            assert_no_float(v)
    elif isinstance(value, tuple):
        for item in value:
            if isinstance(item, int | float):
                assert type(item) is int, item
            assert_no_float(item)


# --- plain prices, periods, taxes --------------------------------------------------------


def test_a_plain_cart_has_monthly_one_time_taxes_and_due_today() -> None:
    q = quote(CartLine("INT-6"), CartLine("INT-INSTALL"))
    assert q.ok and q.lines[0].recurring and not q.lines[1].recurring
    assert (q.monthly_cents, q.one_time_cents) == (2500, 10000)
    assert q.monthly_tax_cents == 113  # 2500 x 4.5% = 112.5, half-up
    assert q.one_time_tax_cents == 450
    assert q.due_today_cents == 10450
    assert q.monthly_total_cents == 2613
    assert q.fees_monthly_cents == q.proration_cents == 0 and q.first_months_cents == ()
    assert q.currency == "USD"


def test_quarterly_and_annual_prices_are_spread_per_month_and_say_so() -> None:
    q = quote(CartLine("TV-BASIC"), CartLine("TV-LATINO"), CartLine("SEC-MON-ANNUAL"),
              region_code="SE")
    latino = line(q, "TV-LATINO")
    assert latino.unit_cents == 800 and "billed $24.00 every quarter" in latino.why
    annual = line(q, "SEC-MON-ANNUAL")
    assert annual.unit_cents == 3150 and "billed $378.00 every year" in annual.why


def test_usage_products_quote_their_monthly_base_and_describe_the_use() -> None:
    q = quote(CartLine("MOB-BYG", 2), region_code="MTN")
    byg = line(q, "MOB-BYG")
    assert byg.recurring and byg.list_cents == 3000
    assert "plus $15.00 per GB over 1 included, billed by use" in byg.why


@pytest.mark.parametrize(("rule", "tax"), [(RoundingRule.HALF_UP, 413),
                                           (RoundingRule.HALF_EVEN, 412)])
def test_tax_is_rounded_once_on_the_total_by_the_rounding_setting(rule: RoundingRule,
                                                                  tax: int) -> None:
    # CEN 8.25%: TV-BASIC 3500 + TV-MOVIES 1500 = 5000 -> 412.5 cents exactly. Per line it
    # would be 288.75 + 123.75, rounded separately 289 + 124 = 413 under either rule.
    q = quote(CartLine("TV-BASIC"), CartLine("TV-MOVIES"), region_code="CEN", rounding=rule)
    assert q.monthly_tax_cents == tax
    assert q.fees_monthly_cents == 2250  # the broadcast fee is not taxed
    assert q.monthly_cents == 5000 + 2250


# --- promotions --------------------------------------------------------------------------


def test_amount_off_per_unit_per_month_and_never_more_than_the_line() -> None:
    q = quote(CartLine("INT-300", 2, promotion_code="AUTOPAY10"), autopay=True)
    ln = line(q, "INT-300")
    assert (ln.list_cents, ln.discount_cents, ln.net_cents) == (13000, 2000, 11000)
    assert ln.promotion_code == "AUTOPAY10" and "$20.00 off a month" in ln.why
    assert q.monthly_tax_cents == round_cents(Decimal(11000) * Decimal("0.045"))
    big = catalog_with(promotions=lambda ps: [*ps, promotion(
        "HUGE", "amount_off", {"amount_cents": 99999}, ["INT-6"])])
    assert line(quote(CartLine("INT-6", promotion_code="HUGE"), catalog=big),
                "INT-6").net_cents == 0


def test_percent_off() -> None:
    q = quote(CartLine("TV-BASIC"), CartLine("TV-PREF", promotion_code="TVNEW20"))
    assert line(q, "TV-PREF").discount_cents == 900
    assert "20% off ($9.00)" in line(q, "TV-PREF").why


@pytest.mark.parametrize("rule", list(RoundingRule))
def test_percent_off_rounds_half_up_whatever_the_tax_setting(rule: RoundingRule) -> None:
    cat = catalog_with(promotions=lambda ps: [*ps, promotion(
        "EIGHTH", "percent_off", {"percent": "12.5"}, ["INT-18"])])
    q = quote(CartLine("INT-18", promotion_code="EIGHTH"), catalog=cat, rounding=rule)
    assert line(q, "INT-18").discount_cents == 563  # 4500 x 12.5% = 562.5


def test_buy_a_kit_get_a_camera_free_one_per_kit() -> None:
    q = quote(CartLine("SEC-KIT", promotion_code="CAMFREE"), CartLine("SEC-CAM", 2))
    cam = line(q, "SEC-CAM")
    assert q.ok and (cam.discount_cents, cam.net_cents) == (14900, 14900)
    assert cam.promotion_code == "CAMFREE" and line(q, "SEC-KIT").discount_cents == 0
    assert q.one_time_cents == 24900 + 14900
    two = quote(CartLine("SEC-KIT", 2), CartLine("SEC-CAM", 3, promotion_code="CAMFREE"))
    assert line(two, "SEC-CAM").discount_cents == 2 * 14900


def test_buy_get_without_the_buy_or_the_get_says_what_to_add() -> None:
    no_kit = quote(CartLine("SEC-CAM", promotion_code="CAMFREE"))
    assert codes(no_kit) == ["promotion_ineligible"]
    assert no_kit.problems[0].suggestion == "Add SEC-KIT to get Outdoor HD camera free"
    assert line(no_kit, "SEC-CAM").discount_cents == 0
    assert line(no_kit, "SEC-CAM").promotion_code is None
    no_cam = quote(CartLine("SEC-KIT", promotion_code="CAMFREE"))
    assert no_cam.problems[0].suggestion == \
        "Add SEC-CAM: one is free with each Security starter kit"


@pytest.mark.parametrize(("lines", "free"), [(2, 1), (3, 1), (4, 2)])
def test_second_line_free_one_free_per_one_bought(lines: int, free: int) -> None:
    q = quote(CartLine("MOB-UNLTD", lines, promotion_code="LINE2FREE"), region_code="CEN",
              autopay=True)
    assert q.ok and line(q, "MOB-UNLTD").discount_cents == free * 4000


def test_second_line_free_needs_two_lines() -> None:
    q = quote(CartLine("MOB-UNLTD", promotion_code="LINE2FREE"), region_code="CEN",
              autopay=True)
    assert codes(q) == ["promotion_ineligible"]
    assert "second Mobile Unlimited" in q.problems[0].suggestion


@pytest.mark.parametrize(("spend", "off"), [
    (9999, None), (10000, 1000), (14999, 1000), (15000, 2000), (19999, 2000),
    (20000, 3000), (90000, 3000)])
def test_tiered_spend_takes_the_tier_reached_by_cart_plus_existing(spend: int,
                                                                   off: int | None) -> None:
    q = quote(CartLine("INT-300", promotion_code="SPEND-SAVE"),
              existing_monthly_cents=spend - 6500)
    ln = line(q, "INT-300")
    if off is None:
        assert codes(q) == ["promotion_ineligible"] and ln.discount_cents == 0
        assert q.problems[0].suggestion == "Add $0.01 a month to get $10.00 off"
    else:
        assert q.ok and ln.discount_cents == off


def test_tiered_spend_counts_bundle_discounts_and_is_taken_once_per_cart() -> None:
    # INT-300 6500 + SEC-MON 3500 - SAFE-HOME 1500 = 8500; +1500 existing = $100.00.
    q = quote(CartLine("INT-300", promotion_code="SPEND-SAVE"),
              CartLine("SEC-MON", promotion_code="SPEND-SAVE"), existing_monthly_cents=1500)
    assert line(q, "SAFE-HOME", "bundle_discount").net_cents == -1500
    assert line(q, "INT-300").discount_cents == 1000  # the largest line takes it
    assert line(q, "SEC-MON").discount_cents == 0
    short = quote(CartLine("INT-300", promotion_code="SPEND-SAVE"),
                  CartLine("SEC-MON"), existing_monthly_cents=1499)
    assert codes(short) == ["promotion_ineligible"]


def test_months_free_keeps_the_regular_monthly_and_lists_the_first_months() -> None:
    q = quote(CartLine("INT-100", promotion_code="FAST3FREE"),
              CartLine("SEC-MON", promotion_code="SECMON1FREE"), CartLine("EQ-GW"))
    fast = line(q, "INT-100")
    assert (fast.discount_cents, fast.net_cents, fast.free_months) == (0, 5500, 3)
    assert "Internet Fast: 3 months free (first 3 monthly charges credited)" in fast.why
    assert line(q, "SEC-MON").free_months == 1
    assert "first monthly charge credited" in line(q, "SEC-MON").why
    assert q.monthly_cents == 5500 + 3500 + 1500
    assert q.first_months_cents == (1500, 5000, 5000)
    # taxes bill on the regular price during the free months
    assert q.monthly_tax_cents == round_cents(Decimal(10500) * Decimal("0.045"))


# --- eligibility -------------------------------------------------------------------------


def test_region_eligibility() -> None:
    gig = CartLine("INT-1000", promotion_code="WESTGIG25")
    west = quote(gig, region_code="PAC", autopay=True)
    assert west.ok and line(west, "INT-1000").net_cents == 5500
    east = quote(gig, region_code="SE", autopay=True)
    assert codes(east) == ["promotion_ineligible"]
    assert "only for PAC and MTN" in east.problems[0].message
    assert line(east, "INT-1000").net_cents == 8000
    assert line(east, "INT-1000").promotion_code is None
    assert east.problems[0].suggestion == (
        "AUTOPAY10 or SPEND-SAVE apply to Internet Gig 1 Gbps instead")


def test_payment_method_refused_is_a_problem_and_not_chosen_is_a_note() -> None:
    by_check = quote(CartLine("INT-100", promotion_code="FAST3FREE"), payment_method="check")
    assert codes(by_check) == ["payment_method"]
    assert by_check.problems[0].suggestion == "Pay by card or ACH to get FAST3FREE"
    assert line(by_check, "INT-100").free_months == 0
    not_yet = quote(CartLine("INT-100", promotion_code="FAST3FREE"), payment_method=None)
    assert not_yet.ok and line(not_yet, "INT-100").free_months == 3
    assert "needs payment by card or ACH: not chosen yet" in line(not_yet, "INT-100").why
    anything = quote(CartLine("TV-BASIC"), CartLine("TV-PREF", promotion_code="TVNEW20"),
                     payment_method=None)
    assert "not chosen yet" not in line(anything, "TV-PREF").why


def test_new_customers_only() -> None:
    cart = (CartLine("TV-BASIC"), CartLine("TV-PREF", promotion_code="TVNEW20"))
    assert quote(*cart, is_new_customer=True).ok
    old = quote(*cart, is_new_customer=False, tenure_months=40)
    assert codes(old) == ["promotion_ineligible"]
    assert "new customers only" in old.problems[0].message
    assert old.problems[0].suggestion == "Price TV Preferred without a promotion"
    assert line(old, "TV-PREF").discount_cents == 0


@pytest.mark.parametrize(("tenure", "ok"), [(23, False), (24, True)])
def test_tenure(tenure: int, ok: bool) -> None:
    q = quote(CartLine("INT-100", promotion_code="LOYAL15"), tenure_months=tenure,
              is_new_customer=False)
    assert q.ok is ok
    assert line(q, "INT-100").discount_cents == (825 if ok else 0)
    if not ok:
        assert "needs 24 months with us (the customer has 23)" in q.problems[0].message
        assert q.problems[0].suggestion == "FAST3FREE applies to Internet Fast 100 Mbps instead"


def test_autopay_required() -> None:
    q = quote(CartLine("INT-300", promotion_code="AUTOPAY10"), autopay=False)
    assert codes(q) == ["promotion_ineligible"]
    assert q.problems[0].suggestion == "Turn on autopay to get AUTOPAY10"
    several = quote(CartLine("INT-300", promotion_code="AUTOPAY10"), autopay=False,
                    payment_method="check")
    assert several.problems[0].suggestion == \
        "Turn on autopay and pay by card or ACH to get AUTOPAY10"


@pytest.mark.parametrize(("today", "ok"), [(date(2026, 5, 31), True),
                                           (date(2026, 6, 1), False)])
def test_a_promotion_runs_through_its_last_day(today: date, ok: bool) -> None:
    q = quote(CartLine("TV-BASIC"), CartLine("TV-ELITE", promotion_code="SPRING26"),
              today=today, region_code="NE")
    assert q.ok is ok
    assert line(q, "TV-ELITE").discount_cents == (2000 if ok else 0)
    if ok:
        assert q.valid_until == date(2026, 5, 31)  # the price holds while the promo runs
    else:
        assert codes(q) == ["promotion_expired"]
        assert "ended on May 31, 2026" in q.problems[0].message


def test_a_promotion_not_started_and_unknown_or_misapplied_codes() -> None:
    early = quote(CartLine("MOB-UNLTD", 2, promotion_code="LINE2FREE"), region_code="CEN",
                  autopay=True, today=date(2026, 6, 30))
    assert codes(early) == ["promotion_expired"]
    assert "starts on July 1, 2026" in early.problems[0].message
    unknown = quote(CartLine("INT-6", promotion_code="NOPE"))
    assert codes(unknown) == ["promotion_ineligible"] and "NOPE" in unknown.problems[0].message
    wrong = quote(CartLine("INT-6", promotion_code="TVNEW20"))
    assert codes(wrong) == ["promotion_ineligible"]
    assert line(wrong, "INT-6").net_cents == 2500


# --- bundles -----------------------------------------------------------------------------


def test_a_bundle_is_a_negative_monthly_line_when_all_components_are_there() -> None:
    q = quote(CartLine("INT-18"), CartLine("TV-BASIC"))
    duo = line(q, "DUO-INT-TV", "bundle_discount")
    assert duo.recurring and duo.net_cents == -1500 and duo.taxable
    assert q.monthly_cents == 4500 + 3500 - 1500
    assert q.monthly_tax_cents == round_cents(Decimal(6500) * Decimal("0.045"))
    with_existing = quote(CartLine("TV-BASIC"), existing_skus=("INT-18",))
    assert with_existing.monthly_cents == 3500 - 1500
    all_existing = quote(CartLine("INT-6"), existing_skus=("INT-18", "TV-BASIC"))
    assert not any(ln.kind == "bundle_discount" for ln in all_existing.lines)
    half = quote(CartLine("INT-18"))
    assert not any(ln.kind == "bundle_discount" for ln in half.lines)


def test_a_product_counts_towards_one_bundle_the_named_one_first() -> None:
    cart = [CartLine("INT-1000"), CartLine("TV-BASIC"), CartLine("TV-PREF"),
            CartLine("PH-UNLTD"), CartLine("INT-100")]
    best = quote(*cart)
    assert [ln.sku for ln in best.lines if ln.kind == "bundle_discount"] == ["TRIO-GIG"]
    named = quote(*cart[:3], CartLine("PH-UNLTD", bundle_code="DUO-INT-PH"),
                  CartLine("INT-100", bundle_code="DUO-INT-PH"))
    assert [ln.sku for ln in named.lines if ln.kind == "bundle_discount"] == ["DUO-INT-PH"]


def test_a_named_bundle_that_cannot_apply_is_a_problem() -> None:
    q = quote(CartLine("INT-18", bundle_code="DUO-INT-TV"))
    assert codes(q) == ["requires"] and q.problems[0].suggestion == \
        "Add TV Basic to get $15.00 off a month"
    region = quote(CartLine("MOB-UNLTD", bundle_code="QUAD-ELITE"), region_code="AKHI")
    assert "not_sold_here" in codes(region)


# --- fees --------------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "fees"), [
    ("NE", {"REGFEE": 199, "BCASTFEE": 2450}), ("SE", {"REGFEE": 199}),
    ("CEN", {"BCASTFEE": 2250, "E911": 95}), ("MTN", {"E911": 125}),
    ("PAC", {"REGFEE": 199}), ("AKHI", {})])
def test_region_fees_once_each_for_the_families_in_the_cart(region: str,
                                                            fees: dict[str, int]) -> None:
    q = quote(CartLine("TV-BASIC"), CartLine("PH-LOCAL"), region_code=region)
    got = {ln.sku: ln.net_cents for ln in q.lines if ln.kind == "fee"}
    assert got == fees and q.fees_monthly_cents == sum(fees.values())
    assert all(ln.recurring and not ln.taxable for ln in q.lines if ln.kind == "fee")
    rate = CATALOG.regions[region].tax_rate
    assert q.monthly_tax_cents == round_cents(Decimal(5500) * rate)  # fees not taxed


def test_fees_only_for_services_and_not_again_for_a_family_already_billed() -> None:
    assert quote(CartLine("INT-1000"), CartLine("EQ-BATT"), region_code="NE") \
        .fees_monthly_cents == 0
    q = quote(CartLine("TV-BASIC"), region_code="NE", existing_skus=("PH-LOCAL",))
    assert [ln.sku for ln in q.lines if ln.kind == "fee"] == ["BCASTFEE"]


# --- proration ---------------------------------------------------------------------------


JUNE = (date(2026, 6, 1), date(2026, 7, 1))  # 30 days
JULY = (date(2026, 7, 1), date(2026, 8, 1))  # 31 days


@pytest.mark.parametrize(("cycle", "change", "cents"), [
    (JUNE, date(2026, 6, 1), 2500), (JUNE, date(2026, 6, 21), 833),
    (JUNE, date(2026, 6, 30), 83), (JULY, date(2026, 7, 1), 2500),
    (JULY, date(2026, 7, 22), 806), (JULY, date(2026, 7, 31), 81)])
def test_proration_by_days_remaining(cycle: tuple[date, date], change: date,
                                     cents: int) -> None:
    q = quote(CartLine("INT-6"), CartLine("INT-INSTALL"),
              cycle=BillingCycle(cycle[0], cycle[1], change))
    pro = line(q, "INT-6", "proration")
    assert q.proration_cents == pro.net_cents == cents
    assert not pro.recurring and pro.quantity == 1
    assert q.monthly_cents == 2500 and q.one_time_cents == 10000  # not in either total
    assert q.proration_tax_cents == round_cents(Decimal(cents) * Decimal("0.045"))


def test_proration_of_discounts_bundles_and_fees() -> None:
    q = quote(CartLine("INT-18"), CartLine("TV-BASIC"), region_code="SE",
              cycle=BillingCycle(*JUNE, date(2026, 6, 16)))  # 15 of 30 days
    assert {ln.sku: ln.net_cents for ln in q.lines if ln.kind == "proration"} == {
        "INT-18": 2250, "TV-BASIC": 1750, "DUO-INT-TV": -750, "REGFEE": 100}
    assert q.proration_tax_cents == round_cents(Decimal(3250) * Decimal("0.07"))
    off = quote(CartLine("INT-300", promotion_code="AUTOPAY10"), autopay=True,
                cycle=BillingCycle(*JUNE, date(2026, 6, 16)))
    pro = line(off, "INT-300", "proration")
    assert (pro.list_cents, pro.discount_cents, pro.net_cents) == (3250, 500, 2750)


def test_a_change_day_outside_the_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="not inside the cycle"):
        quote(CartLine("INT-6"), cycle=BillingCycle(*JUNE, date(2026, 7, 1)))


# --- checks ------------------------------------------------------------------------------


def test_out_of_stock_says_how_many_are_left() -> None:
    live = quote(CartLine("MOB-PHONE-B", 2), CartLine("MOB-PHONE-B"), region_code="CEN",
                 inventory={"MOB-PHONE-B": 2})
    assert codes(live) == ["out_of_stock"]
    assert live.problems[0].suggestion == "2 left in stock"
    assert line(live, "MOB-PHONE-B").list_cents == 2 * 99900  # still priced
    assert quote(CartLine("MOB-PHONE-B", 12), region_code="CEN").ok  # the catalog's 12
    assert codes(quote(CartLine("MOB-PHONE-B", 13), region_code="CEN")) == ["out_of_stock"]
    none = quote(CartLine("SEC-CAM"), inventory={"SEC-CAM": 0})
    assert none.problems[0].suggestion == "None left in stock"


def test_requires_a_product_in_the_cart_or_on_the_account() -> None:
    q = quote(CartLine("TV-PREF"))
    assert codes(q) == ["requires"] and q.problems[0].suggestion == "Add TV Basic first"
    assert quote(CartLine("TV-PREF"), CartLine("TV-BASIC")).ok
    assert quote(CartLine("TV-PREF"), existing_skus=("TV-BASIC",)).ok


def test_outside_the_area_names_the_regions_served() -> None:
    for region in (None, "ZZ"):
        q = quote(CartLine("INT-6"), CartLine("TV-BASIC"), region_code=region)
        assert codes(q) == ["outside_area"] and q.problems[0].sku is None
        assert q.problems[0].suggestion.startswith("We serve Northeast, Southeast")
        assert q.monthly_tax_cents == 0 and q.fees_monthly_cents == 0


def test_not_sold_here_suggests_the_nearest_tier_or_the_regions() -> None:
    fiber = quote(CartLine("INT-2000"), region_code="SE")
    assert codes(fiber) == ["not_sold_here"]
    assert fiber.problems[0].suggestion == "INT-1000 (Internet Gig 1 Gbps) is sold here"
    latino = quote(CartLine("TV-BASIC"), CartLine("TV-LATINO"), region_code="NE")
    assert latino.problems[0].suggestion == \
        "TV-LATINO is sold in Southeast, Central, Mountain and Pacific"


def test_unknown_products_and_impossible_quantities_are_not_priced() -> None:
    q = quote(CartLine("INT-10O"), CartLine("INT-6", 0), CartLine("INT-18", 100),
              CartLine("INT-100", 99))
    assert codes(q) == ["unknown_product", "quantity", "quantity"]
    assert "INT-100" in q.problems[0].suggestion
    assert q.problems[1].suggestion == "Order 1 to 99"
    assert [ln.sku for ln in q.lines] == ["INT-100"]


def test_valid_until_is_the_hold_or_the_end_of_a_promotion() -> None:
    assert quote(CartLine("INT-6")).valid_until == TODAY + timedelta(days=30)
    assert quote(CartLine("INT-6"), hold_days=7).valid_until == date(2026, 7, 22)
    late = quote(CartLine("INT-100", promotion_code="FAST3FREE"), today=date(2027, 6, 15))
    assert late.valid_until == date(2027, 6, 30)


def test_a_malformed_promotion_value_is_a_catalog_error() -> None:
    cat = catalog_with(promotions=lambda ps: [*ps, promotion(
        "BROKEN", "percent_off", {"pct": "5"}, ["INT-6"])])
    with pytest.raises(CatalogError, match="BROKEN"):
        price_quote(cat, [CartLine("INT-6", promotion_code="BROKEN")], ctx())


# --- properties --------------------------------------------------------------------------

SKUS = sorted(CATALOG.products)
PROMOS = sorted(CATALOG.promotions)
BUNDLES = sorted(CATALOG.bundles)

cart_lines = st.builds(
    CartLine,
    sku=st.sampled_from([*SKUS, "NOPE"]),
    quantity=st.one_of(st.integers(1, 3), st.integers(-1, 101)),
    promotion_code=st.one_of(st.none(), st.none(), st.sampled_from([*PROMOS, "BOGUS"])),
    bundle_code=st.one_of(st.none(), st.none(), st.none(), st.sampled_from(BUNDLES)),
)


@st.composite
def contexts(draw: st.DrawFn) -> QuoteContext:
    cycle = None
    if draw(st.booleans()):
        start = draw(st.dates(date(2026, 1, 1), date(2027, 12, 1)))
        length = draw(st.integers(28, 31))
        change = start + timedelta(days=draw(st.integers(0, length - 1)))
        cycle = BillingCycle(start, start + timedelta(days=length), change)
    inventory = draw(st.one_of(st.none(), st.dictionaries(
        st.sampled_from(SKUS), st.integers(-1, 50), max_size=5)))
    return QuoteContext(
        today=draw(st.dates(date(2025, 12, 1), date(2028, 1, 31))),
        region_code=draw(st.sampled_from([*CATALOG.regions, None])),
        is_new_customer=draw(st.booleans()),
        tenure_months=draw(st.integers(0, 60)),
        payment_method=draw(st.sampled_from([None, "card", "ach", "check"])),
        autopay=draw(st.booleans()),
        existing_skus=tuple(draw(st.lists(st.sampled_from(SKUS), max_size=4))),
        existing_monthly_cents=draw(st.integers(0, 30000)),
        inventory=inventory, cycle=cycle,
        rounding=draw(st.sampled_from(list(RoundingRule))),
        hold_days=draw(st.integers(0, 60)),
    )


@settings(max_examples=300, deadline=None)
@given(cart=st.lists(cart_lines, max_size=12), context=contexts())
def test_totals_always_equal_their_lines_and_are_all_ints(cart: list[CartLine],
                                                          context: QuoteContext) -> None:
    q = price_quote(CATALOG, cart, context)
    check_invariants(q)
    region = CATALOG.regions.get(context.region_code or "")
    rate = region.tax_rate if region else Decimal(0)

    def tax(lines: list[QuoteLine]) -> int:
        return round_cents(Decimal(sum(ln.net_cents for ln in lines if ln.taxable)) * rate,
                           context.rounding)

    assert q.monthly_tax_cents == tax([ln for ln in q.lines if ln.recurring])
    assert q.one_time_tax_cents == tax([ln for ln in q.lines
                                        if not ln.recurring and ln.kind != "proration"])
    assert q.proration_tax_cents == tax([ln for ln in q.lines if ln.kind == "proration"])
    assert context.today <= q.valid_until <= context.today + timedelta(days=context.hold_days)
    if context.cycle is None:
        assert q.proration_cents == 0


def totals(q: Quote) -> tuple[int, ...]:
    return (q.one_time_cents, q.monthly_cents, q.one_time_tax_cents, q.monthly_tax_cents,
            q.fees_monthly_cents, q.proration_cents, q.proration_tax_cents,
            q.valid_until.toordinal(), *q.first_months_cents)


@settings(max_examples=200, deadline=None)
@given(cart=st.lists(cart_lines, max_size=12), context=contexts(), data=st.data())
def test_the_order_of_cart_lines_does_not_change_the_totals(cart: list[CartLine],
                                                            context: QuoteContext,
                                                            data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(cart))
    a, b = price_quote(CATALOG, cart, context), price_quote(CATALOG, shuffled, context)
    assert totals(a) == totals(b)
    assert a.ok == b.ok and sorted(codes(a)) == sorted(codes(b))


def test_an_up_sell_replaces_the_service_the_customer_has() -> None:
    catalog = CATALOG
    ctx = QuoteContext(today=date(2026, 11, 24), region_code="NE", is_new_customer=False,
                       existing_skus=("INT-18", "TV-BASIC"),
                       existing_prices={"INT-18": 4200})
    quote = price_quote(catalog, [CartLine("INT-100", replaces="INT-18")], ctx)
    assert quote.ok
    replaced = [ln for ln in quote.lines if ln.kind == "replaced"]
    assert [(ln.sku, ln.net_cents, ln.recurring) for ln in replaced] == [
        ("INT-18", -4200, True)]
    new = catalog.product("INT-100").price_cents
    assert quote.monthly_cents == new - 4200
    # Nothing to replace: said, with what is possible instead.
    odd = price_quote(catalog, [CartLine("INT-100", replaces="INT-6")], ctx)
    assert [p.code for p in odd.problems] == ["requires"]
    assert "no Internet Basic 6 Mbps to replace" in odd.problems[0].message
