"""Offers ranked for the customer in front of the agent, by the rules in
resources/offers.json over the catalog: the ranking follows the weights, every
suppression says why in words, the pitch fills its variables, eligibility follows the
region, and accepting puts the right lines in the order wizard's cart."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_desktop.domain.billing import EntryKind, LedgerEntry
from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.offers import (
    CaseFact,
    CustomerFacts,
    OfferRules,
    OfferRulesError,
    PastResponse,
    ServiceFact,
    evaluate,
    late_bills,
    rank_offers,
    suppressed_because,
)
from agent_desktop.domain.quote import CartLine

RESOURCES = Path(__file__).parents[2] / "resources"
CATALOG = Catalog.from_dict(json.loads((RESOURCES / "catalog.json").read_text()))
RULES_DATA: dict[str, Any] = json.loads((RESOURCES / "offers.json").read_text())
RULES = OfferRules.from_dict(RULES_DATA)
TODAY = date(2026, 11, 24)

INT_18 = ServiceFact("INT-18", "internet", 2, "active", 4500)
INT_300 = ServiceFact("INT-300", "internet", 4, "active", 6500)
INT_1000 = ServiceFact("INT-1000", "internet", 5, "active", 8000)
TV_BASIC = ServiceFact("TV-BASIC", "tv", 1, "active", 3500)
GATEWAY = ServiceFact("EQ-GW", "equipment", None, "active", 1500)


def facts(*services: ServiceFact, **changes: Any) -> CustomerFacts:
    base: dict[str, Any] = {
        "customer_id": "c" * 32, "first_name": "Maria", "services": services or (INT_18,),
        "region": "NE", "tenure_months": 40, "payment_method_kinds": frozenset({"card"}),
    }
    return CustomerFacts(**{**base, **changes})


def rules_with(change: dict[str, Any]) -> OfferRules:
    data = copy.deepcopy(RULES_DATA)
    for path, value in change.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return OfferRules.from_dict(data)


def codes(f: CustomerFacts, moment: str = "360", rules: OfferRules = RULES) -> list[str]:
    return [o.code for o in rank_offers(CATALOG, rules, f, TODAY, moment)]


# --- the rules file ---------------------------------------------------------------------


def test_the_shipped_rules_read_and_match_the_catalog() -> None:
    assert RULES.problems(CATALOG) == []
    assert {"360", "wizard", "after_card_update", "after_payment"} <= RULES.moments
    assert all(o.moments <= RULES.moments for o in RULES.offers)


@pytest.mark.parametrize(("change", "message"), [
    ({"offers": [{"code": "X", "kind": "up_sell", "sku": "INT-100",
                  "pitch": "Hi {nickname}"}]}, "unknown variables nickname"),
    ({"offers": [{"code": "X", "kind": "up_sell", "sku": "INT-100", "pitch": "Hi",
                  "moments": ["lunch"]}]}, "unknown moments lunch"),
    ({"offers": [{"code": "X", "kind": "bundle", "pitch": "Hi"}]}, "names its bundle"),
    ({"offers": [{"code": "X", "kind": "gift", "sku": "INT-100", "pitch": "Hi"}]}, "kind"),
    ({"offers": [{"code": "X", "kind": "up_sell", "sku": "INT-100", "pitch": "A"},
                 {"code": "X", "kind": "up_sell", "sku": "INT-300", "pitch": "B"}]},
     "used twice"),
    ({"suppression.open_case.words": "Case {case_id} open"}, "unknown variables case_id"),
    ({"suppression.open_case.scope": "planet"}, "scope"),
])
def test_broken_rules_are_refused_with_what_is_wrong(change: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(OfferRulesError, match=message):
        rules_with(change)


def test_rules_that_name_what_the_catalog_lacks_are_reported() -> None:
    rules = rules_with({"offers": [
        {"code": "A", "kind": "up_sell", "sku": "INT-9000", "pitch": "x"},
        {"code": "B", "kind": "bundle", "bundle": "NOPE", "pitch": "x"},
        {"code": "C", "kind": "up_sell", "sku": "INT-UNLTD", "promotion": "GONE",
         "pitch": "x"},
    ]})
    problems = rules.problems(CATALOG)
    assert "A: unknown product INT-9000" in problems
    assert "B: unknown bundle NOPE" in problems
    assert "C: unknown promotion GONE" in problems
    assert any("C: an up-sell needs a tiered product" in p for p in problems)


# --- ranking -----------------------------------------------------------------------------


def test_an_internet_customer_is_offered_the_next_tiers_best_first() -> None:
    offers = rank_offers(CATALOG, RULES, facts(INT_18, GATEWAY), TODAY, "360")
    assert [o.code for o in offers] == ["INT-UP-100", "INT-UP-300", "INT-UP-GIG"]
    assert [o.score for o in offers] == sorted((o.score for o in offers), reverse=True)
    top = offers[0]
    assert top.kind == "up_sell" and top.sku == "INT-100"
    assert top.promotion_code == "FAST3FREE"
    assert top.adds_cents == 5500 - 4500
    assert top.cart == (CartLine("INT-100", 1, "FAST3FREE", None, replaces="INT-18"),)
    assert top.why.startswith("Up-sell from Internet Plus 18 Mbps: +$10.00 a month, "
                              "3 months free")
    assert "pays on time" in top.why and "customer 3 yr 4 mo" in top.why


def test_the_weights_in_the_rules_change_the_order_without_code() -> None:
    before = codes(facts(INT_18), rules=rules_with({"max_offers": 20}))
    assert before.index("INT-UP-100") < before.index("SEC-ADD-MON")
    cross_first = rules_with({"max_offers": 20, "weights.kind.cross_sell": 100})
    after = codes(facts(INT_18), rules=cross_first)
    assert after.index("SEC-ADD-MON") < after.index("INT-UP-100")
    assert after[0] in {"SEC-ADD-MON", "MOB-ADD-LINE2", "TV-ADD-BASIC", "PH-ADD-LOCAL"}


def test_late_payments_and_a_big_stretch_rank_lower() -> None:
    rules = rules_with({"max_offers": 20})
    on_time = {o.code: o.score for o in rank_offers(CATALOG, rules, facts(INT_18), TODAY,
                                                     "360")}
    late = {o.code: o.score for o in rank_offers(
        CATALOG, rules, facts(INT_18, late_payments_12m=2), TODAY, "360")}
    assert all(late[c] < on_time[c] for c in late)
    # The bigger the step, the more two late payments cost it: Gig drops out.
    assert on_time["INT-UP-300"] - late["INT-UP-300"] > \
        on_time["INT-UP-100"] - late["INT-UP-100"]
    assert "INT-UP-GIG" in on_time and "INT-UP-GIG" not in late
    # The same step stretches a small bill more than a big one.
    small = rank_offers(CATALOG, rules, facts(INT_18, monthly_spend_cents=4500), TODAY, "360")
    big = rank_offers(CATALOG, rules, facts(INT_18, monthly_spend_cents=30000), TODAY, "360")
    gig = {o.code: o.score for o in small}["INT-UP-GIG"]
    assert {o.code: o.score for o in big}["INT-UP-GIG"] > gig
    long_tenure = rank_offers(CATALOG, rules, facts(INT_18, tenure_months=120), TODAY, "360")
    assert long_tenure[0].score > max(on_time.values())


def test_below_the_minimum_score_nothing_is_offered_and_it_says_why() -> None:
    rules = rules_with({"weights.min_score": 1000})
    ranking = evaluate(CATALOG, rules, facts(INT_18, late_payments_12m=2), TODAY, "360")
    assert ranking.offers == ()
    assert ranking.reason == "No offer ranks high enough: 2 late payments in the last 12 months."


# --- the pitch -----------------------------------------------------------------------------


def test_the_pitch_fills_its_variables_in_one_line() -> None:
    top = rank_offers(CATALOG, RULES, facts(INT_18), TODAY, "360")[0]
    assert top.pitch == ("Did you know faster internet is now available at your address, "
                         "Maria? 100 Mbps for $10.00 more a month, with 3 months free.")
    for offer in rank_offers(CATALOG, rules_with({"max_offers": 50}),
                             facts(INT_18), TODAY, "360"):
        assert "{" not in offer.pitch and "\n" not in offer.pitch and "  " not in offer.pitch


def test_after_a_card_update_the_pitch_opens_with_thanks_and_names_them_once() -> None:
    top = rank_offers(CATALOG, RULES, facts(INT_18), TODAY, "after_card_update")[0]
    assert top.pitch == ("Thanks for updating your card, Maria. Did you know faster "
                         "internet is now available at your address? 100 Mbps for $10.00 "
                         "more a month, with 3 months free.")
    assert top.moment == "after_card_update"


def test_no_first_name_leaves_no_dangling_comma() -> None:
    rules = rules_with({"max_offers": 50})
    for offer in rank_offers(CATALOG, rules, facts(INT_18, first_name=""), TODAY,
                             "after_card_update"):
        assert ", ?" not in offer.pitch and ", ." not in offer.pitch
        assert not offer.pitch.startswith((",", " "))
        assert ". ," not in offer.pitch
    sec = next(o for o in rank_offers(CATALOG, rules, facts(INT_18, first_name=""), TODAY,
                                      "360") if o.code == "SEC-ADD-MON")
    assert sec.pitch.startswith("We can protect your home too")


def test_offers_show_only_at_their_moments() -> None:
    phone = ServiceFact("PH-LOCAL", "phone", 1, "active", 2000)
    rules = rules_with({"max_offers": 50})
    assert "PH-UP-UNLTD" in codes(facts(INT_300, phone), "360", rules)
    assert "PH-UP-UNLTD" not in codes(facts(INT_300, phone), "after_card_update", rules)
    with pytest.raises(ValueError, match="unknown moment"):
        rank_offers(CATALOG, RULES, facts(), TODAY, "lunch")


# --- suppressions ----------------------------------------------------------------------


def test_no_pitch_while_an_outage_case_is_open() -> None:
    outage = CaseFact("CS-7QKX2M4A", "trouble_ticket", "open", "TECH-INTERNET", None)
    f = facts(INT_18, open_cases=(outage,))
    ranking = evaluate(CATALOG, RULES, f, TODAY, "360")
    assert ranking.offers == ()
    assert ranking.reason == ("No offers while the internet outage case CS-7QKX2M4A is "
                              "open: fix it first.")
    assert suppressed_because(CATALOG, RULES, f, TODAY, "360") == ranking.reason
    # Waiting on the customer is still open; a resolved one is not; a billing inquiry
    # is not an outage.
    pending = CaseFact("CS-1", "trouble_ticket", "pending_customer", "TECH-TV", "tv")
    assert "TV outage case CS-1" in str(suppressed_because(
        CATALOG, RULES, facts(INT_18, open_cases=(pending,)), TODAY, "360"))
    resolved = CaseFact("CS-2", "trouble_ticket", "resolved", "TECH-INTERNET", "internet")
    inquiry = CaseFact("CS-3", "inquiry", "open", "BILLING-INQUIRY", None)
    assert codes(facts(INT_18, open_cases=(resolved, inquiry)))[0] == "INT-UP-100"


def test_an_outage_can_be_scoped_to_its_family_by_the_rules() -> None:
    rules = rules_with({"suppression.open_case.scope": "family", "max_offers": 50})
    tv = CaseFact("CS-9", "trouble_ticket", "open", "TECH-TV", None)
    found = codes(facts(INT_18, TV_BASIC, open_cases=(tv,)), rules=rules)
    assert "INT-UP-100" in found and "TV-UP-PREF" not in found
    internet = CaseFact("CS-8", "trouble_ticket", "open", "", "internet")
    only_internet = facts(INT_18, open_cases=(internet,), payment_method_kinds=frozenset(),
                          region="AKHI")
    reason = suppressed_because(CATALOG, rules_with({
        "suppression.open_case.scope": "family",
        "offers": [o for o in RULES_DATA["offers"] if o["code"] == "INT-UP-GIG"]}),
        only_internet, TODAY, "360")
    assert reason == "No offers while the internet outage case CS-8 is open: fix it first."


def test_none_to_a_customer_in_collections_or_long_past_due() -> None:
    assert suppressed_because(CATALOG, RULES, facts(in_collections=True), TODAY, "360") == \
        "No offers while the account is in collections."
    assert suppressed_because(CATALOG, RULES, facts(days_past_due=31), TODAY, "360") == \
        "No offers while a bill is 31 days past due."
    assert codes(facts(days_past_due=30))  # the rule says over 30
    assert suppressed_because(CATALOG, RULES, facts(late_payments_12m=4), TODAY, "360") == \
        "No offers: 4 late payments in the last 12 months."
    assert suppressed_because(CATALOG, RULES, facts(status="suspended"), TODAY, "360") == \
        "No offers: the account is suspended."
    lenient = rules_with({"suppression.collections.enabled": False,
                          "suppression.past_due.days_over": None})
    assert codes(facts(in_collections=True, days_past_due=60), rules=lenient)


def test_an_offer_declined_recently_is_not_pitched_again() -> None:
    declined = PastResponse("INT-UP-100", "declined", TODAY - timedelta(days=10))
    assert codes(facts(INT_18, responses=(declined,)))[0] == "INT-UP-300"
    old = PastResponse("INT-UP-100", "declined", TODAY - timedelta(days=90))
    assert codes(facts(INT_18, responses=(old,)))[0] == "INT-UP-100"
    # Older records name the product instead of the offer.
    by_sku = PastResponse("INT-100", "declined", TODAY - timedelta(days=3))
    assert "INT-UP-100" not in codes(facts(INT_18, responses=(by_sku,)))
    # When it was the only one: the words say so.
    only = rules_with({"offers": [o for o in RULES_DATA["offers"]
                                  if o["code"] == "INT-UP-100"]})
    reason = suppressed_because(CATALOG, only, facts(INT_18, responses=(declined,)),
                                TODAY, "360")
    assert reason == ("Declined Internet Fast 100 Mbps, 3 months free on Nov 14; it is not "
                      "offered again for 90 days. Nothing else fits now.")


def test_not_now_quiets_every_offer_until_tomorrow_and_accepted_is_not_repeated() -> None:
    not_now = PastResponse("INT-UP-100", "not_now", TODAY)
    assert suppressed_because(CATALOG, RULES, facts(responses=(not_now,)), TODAY, "360") == \
        "They said 'not now' to an offer today: no more offers until tomorrow."
    yesterday = PastResponse("INT-UP-100", "not_now", TODAY - timedelta(days=1))
    assert codes(facts(INT_18, responses=(yesterday,)))[0] == "INT-UP-100"
    accepted = PastResponse("INT-UP-100", "accepted", TODAY - timedelta(days=2))
    assert "INT-UP-100" not in codes(facts(INT_18, responses=(accepted,)))


def test_nothing_is_offered_for_what_they_have_or_better() -> None:
    found = codes(facts(INT_1000, region="SE"), rules=rules_with({"max_offers": 50}))
    assert not any(c.startswith("INT-UP") for c in found)
    assert "SAFE-HOME" not in found  # its INT-300 would be a downgrade
    assert "INT-UP-GIG" not in codes(facts(INT_1000, region="NE"))
    has_all = facts(
        ServiceFact("INT-2000", "internet", 6, "active", 11000),
        ServiceFact("TV-ELITE", "tv", 3, "active", 7500), TV_BASIC,
        ServiceFact("PH-UNLTD", "phone", 2, "active", 3000),
        ServiceFact("MOB-PREM", "mobile", 3, "active", 5500),
        ServiceFact("SEC-MON-PLUS", "security", 3, "active", 4500))
    ranking = evaluate(CATALOG, RULES, has_all, TODAY, "360")
    assert ranking.offers == ()
    assert ranking.reason == "They already have everything offered here, or better."
    # A cancelled service is not "has it".
    cancelled = ServiceFact("INT-100", "internet", 3, "cancelled", 5500)
    assert codes(facts(INT_18, cancelled))[0] == "INT-UP-100"


# --- eligibility by region, payment method, tiers that build on each other ---------------


def test_fiber_is_offered_only_where_it_is_sold() -> None:
    assert codes(facts(INT_300, region="NE"))[0] == "INT-UP-FIBER"
    assert "INT-UP-FIBER" not in codes(facts(INT_300, region="SE"),
                                       rules=rules_with({"max_offers": 50}))
    unknown = codes(facts(INT_300, region=""), rules=rules_with({"max_offers": 50}))
    assert "INT-UP-FIBER" not in unknown and "INT-UP-GIG" in unknown


def test_a_promotion_limits_its_offer_to_its_regions_and_payment_methods() -> None:
    rules = rules_with({"max_offers": 50})
    assert "MOB-ADD-LINE2" in codes(facts(INT_18, region="SE"), rules=rules)
    assert "MOB-ADD-LINE2" not in codes(facts(INT_18, region="NE"), rules=rules)
    no_card = facts(INT_18, region="SE", payment_method_kinds=frozenset())
    found = codes(no_card, rules=rules)
    assert "MOB-ADD-LINE2" not in found  # autopay needs a card or bank account on file
    assert "INT-UP-100" not in found and "INT-UP-300" not in found  # card / ACH promos
    assert "INT-UP-GIG" in found
    line2 = next(o for o in rank_offers(CATALOG, rules, facts(INT_18, region="SE"), TODAY,
                                        "360") if o.code == "MOB-ADD-LINE2")
    assert line2.cart == (CartLine("MOB-UNLTD", 2, "LINE2FREE", None),)
    after_promo = [o.code for o in rank_offers(CATALOG, rules, facts(INT_18),
                                               date(2027, 7, 1), "360")]
    assert "INT-UP-100" not in after_promo  # FAST3FREE ends on 2027-06-30


def test_a_tier_that_builds_on_the_one_they_have_adds_its_whole_price() -> None:
    offer = next(o for o in rank_offers(CATALOG, rules_with({"max_offers": 50}),
                                        facts(INT_300, TV_BASIC), TODAY, "360")
                 if o.code == "TV-UP-PREF")
    assert offer.adds_cents == 4500  # TV Preferred goes on top of TV Basic, which stays
    assert offer.cart == (CartLine("TV-PREF", 1, None, None),)


def test_a_cross_sell_brings_what_it_requires_and_a_bundle_its_missing_pieces() -> None:
    rules = rules_with({"max_offers": 50})
    offers = {o.code: o for o in rank_offers(CATALOG, rules, facts(INT_18), TODAY, "360")}
    assert offers["SEC-ADD-MON"].cart == (CartLine("SEC-MON", 1, "SECMON1FREE", None),
                                          CartLine("SEC-KIT", 1, None, None))
    assert offers["SEC-ADD-MON"].adds_cents == 3500  # the kit is one-time
    duo = offers["DUO-INT-TV"]
    assert duo.kind == "bundle" and duo.bundle_code == "DUO-INT-TV"
    assert duo.cart == (CartLine("TV-BASIC", 1, None, "DUO-INT-TV"),)
    assert duo.adds_cents == 3500 - 1500
    assert "$15.00" in duo.pitch
    # From Internet Basic the bundle steps internet up too.
    basic = ServiceFact("INT-6", "internet", 1, "active", 2500)
    duo_up = next(o for o in rank_offers(CATALOG, rules,
                                         facts(basic, monthly_spend_cents=12000), TODAY,
                                         "360") if o.code == "DUO-INT-TV")
    assert [line.sku for line in duo_up.cart] == ["INT-18", "TV-BASIC"]
    assert duo_up.adds_cents == (4500 - 2500) + 3500 - 1500


# --- payment history ----------------------------------------------------------------------


def _bill(n: int, due: date, cents: int = 5000) -> LedgerEntry:
    return LedgerEntry(f"i{n}", EntryKind.INVOICE, due - timedelta(days=21), cents,
                       due_on=due)


def _paid(n: int, on: date, cents: int = 5000) -> LedgerEntry:
    return LedgerEntry(f"p{n}", EntryKind.PAYMENT, on, -cents)


def test_late_bills_counts_bills_not_covered_by_their_due_day() -> None:
    since, as_of = date(2025, 11, 24), TODAY
    dues = [date(2026, m, 14) for m in range(1, 11)]
    on_time = [e for i, d in enumerate(dues) for e in (_bill(i, d), _paid(i, d))]
    assert late_bills(on_time, since, as_of) == 0
    one_late = [e for i, d in enumerate(dues)
                for e in (_bill(i, d), _paid(i, d + timedelta(days=10 if i == 4 else 0)))]
    assert late_bills(one_late, since, as_of) == 1
    assert late_bills(one_late, since, as_of, grace_days=10) == 0
    # Always one bill behind: every bill is late (money pays the oldest first).
    behind = [e for i, d in enumerate(dues)
              for e in (_bill(i, d), *([_paid(i, d)] if i else []))]
    assert late_bills(behind, since, as_of) == len(dues)
    # A credit balance carried in pays the first bill; a bill not yet due is not late.
    credit = LedgerEntry("open", EntryKind.CREDIT_ADJUSTMENT, date(2025, 12, 1), -5000)
    assert late_bills([credit, _bill(1, dues[0])], since, as_of) == 0
    assert late_bills([_bill(1, as_of + timedelta(days=5))], since, as_of) == 0
