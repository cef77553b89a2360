"""The reference data that ships in resources/: catalog, codes and knowledge articles.

Plain pytest, no Qt: these files are loaded at start-up, so a typo here is a broken app.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
KNOWLEDGE = RESOURCES / "knowledge"

ARTICLE_PRODUCTS = {
    "internet",
    "tv",
    "phone",
    "mobile",
    "security",
    "equipment",
    "billing",
    "account",
    "general",
}
ARTICLE_HEADINGS = ("## What to say", "## Steps", "## Watch out for")
FRONT_MATTER_KEYS = ("id", "title", "product", "tags", "version", "updated")
PROMOTION_KINDS = {"amount_off", "percent_off", "buy_get", "tiered_spend", "months_free"}
UPPER_KEBAB = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")


# --- loading -------------------------------------------------------------------------


def _load_json(name: str) -> dict[str, Any]:
    with (RESOURCES / name).open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    return _load_json("catalog.json")


@pytest.fixture(scope="module")
def codes() -> dict[str, Any]:
    return _load_json("codes.json")


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a Markdown file into its ``key: value`` front matter and its body."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("no front matter: the file must start with ---")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ValueError("front matter is not closed with ---") from None
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"front matter line without a colon: {line!r}")
        meta[key.strip()] = value.strip()
    return meta, "\n".join(lines[end + 1 :])


@pytest.fixture(scope="module")
def articles() -> list[tuple[Path, dict[str, str], str]]:
    found = []
    for path in sorted(KNOWLEDGE.glob("*.md")):
        meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
        found.append((path, meta, body))
    return found


def _skus(catalog: dict[str, Any]) -> set[str]:
    return {p["sku"] for p in catalog["products"]}


def _product(catalog: dict[str, Any], sku: str) -> dict[str, Any]:
    return next(p for p in catalog["products"] if p["sku"] == sku)


def _duplicates(values: list[str]) -> set[str]:
    return {value for value, count in Counter(values).items() if count > 1}


# --- the front-matter parser itself ----------------------------------------------------


def test_front_matter_parser_splits_meta_and_body() -> None:
    meta, body = parse_front_matter("---\nid: KB-9999\ntags: a, b\n---\n\nHello: world\n")
    assert meta == {"id": "KB-9999", "tags": "a, b"}
    assert body.strip() == "Hello: world"


def test_front_matter_parser_rejects_a_file_without_front_matter() -> None:
    with pytest.raises(ValueError):
        parse_front_matter("# Just a heading\n")


# --- catalog -------------------------------------------------------------------------


def test_catalog_is_in_dollars(catalog: dict[str, Any]) -> None:
    assert catalog["currency"] == "USD"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("regions", "code"),
        ("families", "code"),
        ("products", "sku"),
        ("bundles", "code"),
        ("promotions", "code"),
    ],
)
def test_catalog_lists_have_unique_codes(catalog: dict[str, Any], section: str, key: str) -> None:
    values = [item[key] for item in catalog[section]]
    assert values, f"{section} is empty"
    assert not _duplicates(values), f"duplicate {key} in {section}: {_duplicates(values)}"


def test_regions_have_decimal_tax_rates_and_well_formed_fees(catalog: dict[str, Any]) -> None:
    families = {f["code"] for f in catalog["families"]}
    states: list[str] = []
    assert len(catalog["regions"]) >= 5
    for region in catalog["regions"]:
        assert isinstance(region["tax_rate"], str), "tax rates are strings, never floats"
        rate = Decimal(region["tax_rate"])
        assert Decimal("0") <= rate < Decimal("0.2"), region["code"]
        assert 0 <= len(region["fees"]) <= 2, region["code"]
        fee_codes = [fee["code"] for fee in region["fees"]]
        assert not _duplicates(fee_codes), region["code"]
        for fee in region["fees"]:
            assert isinstance(fee["amount_cents"], int) and fee["amount_cents"] > 0
            assert set(fee["applies_to"]) <= families, fee
        assert region["states"], region["code"]
        states.extend(region["states"])
    assert not _duplicates(states), f"a state in two regions: {_duplicates(states)}"


def test_regions_cover_the_four_mainland_time_zones(catalog: dict[str, Any]) -> None:
    states = {s for region in catalog["regions"] for s in region["states"]}
    assert {"NY", "IL", "CO", "CA"} <= states  # Eastern, Central, Mountain, Pacific


def test_every_product_has_a_real_family_and_real_regions(catalog: dict[str, Any]) -> None:
    families = {f["code"] for f in catalog["families"]}
    regions = {r["code"] for r in catalog["regions"]}
    for product in catalog["products"]:
        assert product["family"] in families, product["sku"]
        assert product["regions"], product["sku"]
        for region in product["regions"]:
            assert region == "*" or region in regions, (product["sku"], region)


def test_every_required_sku_exists(catalog: dict[str, Any]) -> None:
    skus = _skus(catalog)
    for product in catalog["products"]:
        for required in product["requires"]:
            assert required in skus, (product["sku"], required)
            assert required != product["sku"]


def test_product_kinds_follow_their_billing_rules(catalog: dict[str, Any]) -> None:
    for product in catalog["products"]:
        sku, kind = product["sku"], product["kind"]
        assert isinstance(product["price_cents"], int) and product["price_cents"] >= 0, sku
        assert product["tier"] is None or isinstance(product["tier"], int), sku
        inventory = product["inventory"]
        assert inventory is None or (isinstance(inventory, int) and inventory >= 0), sku
        if kind == "recurring":
            assert product["billing_period"] in {"monthly", "quarterly", "annual"}, sku
        elif kind == "one_time":
            assert product["billing_period"] is None, sku
        elif kind == "usage":
            assert product["billing_period"] == "monthly", sku
            assert product["usage_unit"], sku
            assert isinstance(product["usage_price_cents"], int), sku
            assert isinstance(product["included_units"], int), sku
        else:
            pytest.fail(f"{sku}: unknown kind {kind!r}")


def test_internet_starts_at_6_mbps_for_25_dollars_then_18_mbps_for_45(
    catalog: dict[str, Any],
) -> None:
    basic, plus = _product(catalog, "INT-6"), _product(catalog, "INT-18")
    assert basic["family"] == plus["family"] == "internet"
    assert basic["price_cents"] == 2500
    assert plus["price_cents"] == 4500
    assert plus["tier"] > basic["tier"], "18 Mbps must rank above 6 Mbps (an up-sell)"
    higher = [
        p
        for p in catalog["products"]
        if p["family"] == "internet" and p["tier"] is not None and p["tier"] > plus["tier"]
    ]
    assert len(higher) >= 3, "higher internet tiers above 18 Mbps"


def test_catalog_is_big_enough(catalog: dict[str, Any]) -> None:
    products = catalog["products"]
    assert len(products) >= 25
    assert len({p["family"] for p in products}) >= 5
    assert len(catalog["bundles"]) >= 4
    assert len(catalog["promotions"]) >= 5
    assert {f["code"] for f in catalog["families"]} >= {
        "internet",
        "tv",
        "phone",
        "mobile",
        "security",
        "equipment",
    }
    kinds = {p["kind"] for p in products}
    assert kinds == {"recurring", "one_time", "usage"}


def test_bundle_components_are_real_skus(catalog: dict[str, Any]) -> None:
    skus = _skus(catalog)
    regions = {r["code"] for r in catalog["regions"]}
    for bundle in catalog["bundles"]:
        assert len(bundle["components"]) >= 2, bundle["code"]
        assert set(bundle["components"]) <= skus, bundle["code"]
        assert isinstance(bundle["discount_cents"], int) and bundle["discount_cents"] > 0
        assert all(r == "*" or r in regions for r in bundle["regions"]), bundle["code"]


def test_bundle_components_bring_what_they_require(catalog: dict[str, Any]) -> None:
    for bundle in catalog["bundles"]:
        components = set(bundle["components"])
        for sku in components:
            missing = set(_product(catalog, sku)["requires"]) - components
            assert not missing, (bundle["code"], sku, missing)


def test_promotions_reference_real_skus(catalog: dict[str, Any]) -> None:
    skus = _skus(catalog)
    for promo in catalog["promotions"]:
        assert promo["applies_to"], promo["code"]
        assert set(promo["applies_to"]) <= skus, promo["code"]
        if promo["kind"] == "buy_get":
            assert promo["value"]["buy"] in skus, promo["code"]
            assert promo["value"]["get"] in skus, promo["code"]


def test_promotions_use_all_five_kinds_with_well_formed_values(catalog: dict[str, Any]) -> None:
    kinds = {p["kind"] for p in catalog["promotions"]}
    assert kinds == PROMOTION_KINDS
    for promo in catalog["promotions"]:
        value = promo["value"]
        if promo["kind"] == "amount_off":
            assert isinstance(value["amount_cents"], int) and value["amount_cents"] > 0
        elif promo["kind"] == "percent_off":
            assert isinstance(value["percent"], str)
            assert Decimal("0") < Decimal(value["percent"]) <= Decimal("100")
        elif promo["kind"] == "months_free":
            assert isinstance(value["months"], int) and value["months"] > 0
        elif promo["kind"] == "tiered_spend":
            tiers = value["tiers"]
            assert tiers
            floors = [t["min_monthly_cents"] for t in tiers]
            assert floors == sorted(floors) and len(set(floors)) == len(floors)
            assert all(isinstance(t["amount_off_cents"], int) for t in tiers)


def test_promotion_eligibility_and_dates(catalog: dict[str, Any]) -> None:
    regions = {r["code"] for r in catalog["regions"]}
    for promo in catalog["promotions"]:
        rules = promo["eligibility"]
        assert all(r == "*" or r in regions for r in rules["regions"]), promo["code"]
        assert set(rules["payment_methods"]) <= {"card", "ach", "check", "cash"}
        assert isinstance(rules["new_customers_only"], bool)
        assert isinstance(rules["autopay_required"], bool)
        assert isinstance(rules["min_tenure_months"], int)
        start = date.fromisoformat(promo["valid_from"])
        end = date.fromisoformat(promo["valid_to"])
        assert start <= end, promo["code"]


def test_promotion_eligibility_is_varied(catalog: dict[str, Any]) -> None:
    rules = [p["eligibility"] for p in catalog["promotions"]]
    assert any(r["regions"] != ["*"] for r in rules), "some promotions are regional"
    assert any(r["new_customers_only"] for r in rules), "some are for new customers"
    assert any(r["autopay_required"] for r in rules), "some need autopay"
    assert any(set(r["payment_methods"]) < {"card", "ach", "check"} for r in rules)


# --- codes ---------------------------------------------------------------------------

CODE_LISTS = {
    "contact_reasons": 20,
    "wrap_up_codes": 12,
    "adjustment_reasons": 12,
    "not_ready_reasons": 5,
    "cancellation_reasons": 8,
    "case_categories": 1,
}


@pytest.mark.parametrize(("name", "minimum"), sorted(CODE_LISTS.items()))
def test_code_lists_are_unique_upper_kebab_and_labelled(
    codes: dict[str, Any], name: str, minimum: int
) -> None:
    items = codes[name]
    assert len(items) >= minimum
    values = [item["code"] for item in items]
    assert not _duplicates(values), f"duplicate codes in {name}: {_duplicates(values)}"
    for item in items:
        assert UPPER_KEBAB.match(item["code"]), item["code"]
        assert len(item["code"]) <= 32, item["code"]
        assert item["label"].strip() and item["category"].strip(), item["code"]


def test_adjustment_reasons_have_a_direction(codes: dict[str, Any]) -> None:
    directions = {r["direction"] for r in codes["adjustment_reasons"]}
    assert directions <= {"credit", "debit", "either"}
    assert {"credit", "debit"} <= directions


def test_wrap_up_codes_say_whether_they_resolve_by_default(codes: dict[str, Any]) -> None:
    defaults = [w["resolved_default"] for w in codes["wrap_up_codes"]]
    assert all(isinstance(d, bool) for d in defaults)
    assert True in defaults and False in defaults


def test_not_ready_reasons_include_the_usual_ones(codes: dict[str, Any]) -> None:
    assert {"BREAK", "LUNCH", "MEETING", "TRAINING", "COACHING"} <= {
        r["code"] for r in codes["not_ready_reasons"]
    }


# --- knowledge -----------------------------------------------------------------------


def test_there_are_enough_articles_with_unique_ids(articles: list[Any]) -> None:
    assert len(articles) >= 60
    ids = [meta["id"] for _, meta, _ in articles]
    assert not _duplicates(ids), _duplicates(ids)
    titles = [meta["title"].lower() for _, meta, _ in articles]
    assert not _duplicates(titles), _duplicates(titles)


def test_every_article_has_complete_front_matter(articles: list[Any]) -> None:
    for path, meta, _ in articles:
        assert tuple(meta) == FRONT_MATTER_KEYS, path.name
        assert re.fullmatch(r"KB-\d{4}", meta["id"]), path.name
        assert path.name.startswith(meta["id"].lower() + "-"), path.name
        assert meta["title"], path.name
        assert meta["product"] in ARTICLE_PRODUCTS, (path.name, meta["product"])
        tags = [t.strip() for t in meta["tags"].split(",")]
        assert tags and all(tags), path.name
        assert all(t == t.lower() for t in tags), path.name
        assert int(meta["version"]) >= 1, path.name
        date.fromisoformat(meta["updated"])


def test_every_article_has_the_three_sections_in_order(articles: list[Any]) -> None:
    for path, _, body in articles:
        lines = [line.strip() for line in body.splitlines()]
        positions = []
        for heading in ARTICLE_HEADINGS:
            assert heading in lines, (path.name, heading)
            positions.append(lines.index(heading))
        assert positions == sorted(positions), path.name
        summary = "\n".join(lines[: positions[0]]).strip()
        assert summary, f"{path.name}: no summary before the first section"


def test_every_article_is_between_150_and_450_words(articles: list[Any]) -> None:
    for path, _, body in articles:
        words = len(body.split())
        assert 150 <= words <= 450, (path.name, words)


def test_articles_cite_only_existing_articles(articles: list[Any]) -> None:
    ids = {meta["id"] for _, meta, _ in articles}
    for path, meta, body in articles:
        for cited in set(re.findall(r"\bKB-\d{4}\b", body)):
            assert cited in ids, (path.name, cited)
            assert cited != meta["id"], path.name


def test_articles_cite_real_skus_and_codes(
    articles: list[Any], catalog: dict[str, Any], codes: dict[str, Any]
) -> None:
    known = _skus(catalog)
    known |= {b["code"] for b in catalog["bundles"]}
    known |= {p["code"] for p in catalog["promotions"]}
    known |= {c["code"] for items in codes.values() for c in items}
    sku_like = re.compile(r"\b(?:INT|TV|PH|MOB|SEC|EQ)-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
    bold_code = re.compile(r"\*\*([A-Z0-9]+(?:-[A-Z0-9]+)+)\*\*")
    for path, _, body in articles:
        for token in sku_like.findall(body):
            # "DUO-INT-TV" contains "INT-TV": only check tokens that stand alone.
            if re.search(r"[A-Z]-" + re.escape(token), body):
                continue
            assert token in known, (path.name, token)
        for token in bold_code.findall(body):
            assert token in known, (path.name, token)


def test_articles_never_show_a_card_number(articles: list[Any]) -> None:
    for path, _, body in articles:
        assert not re.search(r"\d{13,19}", body), path.name


def test_offer_rules_read_and_name_only_what_the_catalog_has(catalog: dict[str, Any]) -> None:
    from agent_desktop.domain.catalog import Catalog
    from agent_desktop.domain.offers import OfferRules

    rules = OfferRules.from_dict(_load_json("offers.json"))  # checks every template
    assert rules.problems(Catalog.from_dict(catalog)) == []
    assert {"360", "wizard", "after_card_update"} <= rules.moments
