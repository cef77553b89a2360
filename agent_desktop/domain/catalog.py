"""The product catalog as frozen values: products, families and tiers, bundles, promotions,
regions with their tax rate and fees (shared/DOMAIN.md, "Catalog, orders, up-sell and
cross-sell").

Built from the catalog's JSON (resources/catalog.json, or the same shape from the store's
reference tables) by ``Catalog.from_dict``; everything else in the domain (quotes, offers,
the order wizard) reads this, never the JSON. Money is integer cents; rates are Decimal
built from strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "ALL_REGIONS",
    "Bundle",
    "Catalog",
    "CatalogError",
    "Eligibility",
    "Fee",
    "Product",
    "ProductKind",
    "Promotion",
    "PromotionKind",
    "Region",
]

ALL_REGIONS = "*"


class CatalogError(ValueError):
    """The catalog data is malformed (a programming or data error, not the agent's)."""


class ProductKind(StrEnum):
    RECURRING = "recurring"
    ONE_TIME = "one_time"
    USAGE = "usage"


class PromotionKind(StrEnum):
    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"
    BUY_GET = "buy_get"
    TIERED_SPEND = "tiered_spend"
    MONTHS_FREE = "months_free"


# Months in one billing period, to compare recurring prices per month.
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


@dataclass(frozen=True, slots=True)
class Fee:
    code: str
    name: str
    amount_cents: int
    applies_to: tuple[str, ...]  # product families


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    states: tuple[str, ...]
    tax_rate: Decimal
    fees: tuple[Fee, ...]


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    family: str
    kind: ProductKind
    price_cents: int
    billing_period: str | None = None  # monthly | quarterly | annual (recurring)
    tier: int | None = None  # rank within the family: a higher tier is an up-sell
    regions: tuple[str, ...] = (ALL_REGIONS,)
    requires: tuple[str, ...] = ()  # skus the customer must have (or order) too
    inventory: int | None = None  # None: not stocked (a service)
    usage_unit: str | None = None
    usage_price_cents: int | None = None
    included_units: int | None = None
    description: str = ""

    @property
    def recurring(self) -> bool:
        return self.kind == ProductKind.RECURRING

    @property
    def period_months(self) -> int:
        return PERIOD_MONTHS.get(self.billing_period or "monthly", 1)

    def sold_in(self, region: str) -> bool:
        return ALL_REGIONS in self.regions or region in self.regions


@dataclass(frozen=True, slots=True)
class Bundle:
    code: str
    name: str
    components: tuple[str, ...]
    discount_cents: int  # off the monthly total while every component stays on
    regions: tuple[str, ...] = (ALL_REGIONS,)
    description: str = ""

    def sold_in(self, region: str) -> bool:
        return ALL_REGIONS in self.regions or region in self.regions


@dataclass(frozen=True, slots=True)
class Eligibility:
    regions: tuple[str, ...] = (ALL_REGIONS,)
    payment_methods: tuple[str, ...] = ("card", "ach", "check")
    new_customers_only: bool = False
    min_tenure_months: int = 0
    autopay_required: bool = False


@dataclass(frozen=True, slots=True)
class Promotion:
    code: str
    name: str
    kind: PromotionKind
    value: Mapping[str, Any]
    applies_to: tuple[str, ...]
    eligibility: Eligibility
    valid_from: date
    valid_to: date
    description: str = ""

    def running_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Catalog:
    currency: str
    regions: Mapping[str, Region]
    families: Mapping[str, str]  # code -> name
    products: Mapping[str, Product]
    bundles: Mapping[str, Bundle]
    promotions: Mapping[str, Promotion]
    _by_state: Mapping[str, str] = field(default_factory=dict, repr=False)

    # --- lookups -----------------------------------------------------------------------
    def product(self, sku: str) -> Product:
        try:
            return self.products[sku]
        except KeyError:
            raise CatalogError(f"unknown product {sku!r}") from None

    def region_of_state(self, state: str) -> Region | None:
        """The sales region that serves a US state (None: outside the service area)."""
        code = self._by_state.get(state.strip().upper())
        return self.regions.get(code) if code else None

    def family_tiers(self, family: str) -> list[Product]:
        """The tiered products of a family, lowest tier first (the up-sell ladder)."""
        return sorted((p for p in self.products.values()
                       if p.family == family and p.tier is not None),
                      key=lambda p: (p.tier or 0, p.price_cents))

    def promotions_for(self, sku: str) -> list[Promotion]:
        return [p for p in self.promotions.values() if sku in p.applies_to]

    def bundles_with(self, skus: Iterable[str]) -> list[Bundle]:
        """Bundles whose every component is among ``skus``."""
        have = set(skus)
        return [b for b in self.bundles.values() if set(b.components) <= have]

    # --- building ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        """From the catalog's JSON shape (resources/catalog.json)."""
        try:
            regions = {
                r["code"]: Region(
                    r["code"], r["name"], tuple(r["states"]), Decimal(str(r["tax_rate"])),
                    tuple(Fee(f["code"], f["name"], int(f["amount_cents"]),
                              tuple(f.get("applies_to", ()))) for f in r.get("fees", ())))
                for r in data["regions"]
            }
            products = {
                p["sku"]: Product(
                    sku=p["sku"], name=p["name"], family=p["family"],
                    kind=ProductKind(p["kind"]), price_cents=int(p["price_cents"]),
                    billing_period=p.get("billing_period"), tier=p.get("tier"),
                    regions=tuple(p.get("regions") or (ALL_REGIONS,)),
                    requires=tuple(p.get("requires") or ()), inventory=p.get("inventory"),
                    usage_unit=p.get("usage_unit"),
                    usage_price_cents=p.get("usage_price_cents"),
                    included_units=p.get("included_units"),
                    description=p.get("description", ""))
                for p in data["products"]
            }
            bundles = {
                b["code"]: Bundle(b["code"], b["name"], tuple(b["components"]),
                                  int(b["discount_cents"]),
                                  tuple(b.get("regions") or (ALL_REGIONS,)),
                                  b.get("description", ""))
                for b in data.get("bundles", ())
            }
            promotions = {
                p["code"]: Promotion(
                    code=p["code"], name=p["name"], kind=PromotionKind(p["kind"]),
                    value=dict(p.get("value") or {}), applies_to=tuple(p["applies_to"]),
                    eligibility=_eligibility(p.get("eligibility") or {}),
                    valid_from=date.fromisoformat(p["valid_from"]),
                    valid_to=date.fromisoformat(p["valid_to"]),
                    description=p.get("description", ""))
                for p in data.get("promotions", ())
            }
            families = {f["code"]: f["name"] for f in data.get("families", ())}
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"malformed catalog: {exc}") from exc
        for bundle in bundles.values():
            missing = [s for s in bundle.components if s not in products]
            if missing:
                raise CatalogError(f"bundle {bundle.code} names unknown products {missing}")
        by_state = {state: r.code for r in regions.values() for state in r.states}
        return cls(str(data.get("currency", "USD")), regions, families, products, bundles,
                   promotions, by_state)


def _eligibility(data: Mapping[str, Any]) -> Eligibility:
    return Eligibility(
        regions=tuple(data.get("regions") or (ALL_REGIONS,)),
        payment_methods=tuple(data.get("payment_methods") or ("card", "ach", "check")),
        new_customers_only=bool(data.get("new_customers_only", False)),
        min_tenure_months=int(data.get("min_tenure_months", 0)),
        autopay_required=bool(data.get("autopay_required", False)),
    )
