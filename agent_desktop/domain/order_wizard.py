"""The order entry wizard as an object: the steps an agent walks with a caller, what each
step needs before the next, and the state that survives going back and forth, leaving
half-way (a draft) and keying an order later from a saved quote (swivel-chair).

Steps (shared/DOMAIN.md, "Catalog, orders, up-sell and cross-sell"):

CUSTOMER   the caller (an existing customer, or one just created for this order)
ADDRESS    the service address; a region must serve its state, and outside the service
           area the wizard says so and what is possible instead
PRODUCTS   products and bundles into the cart
CONFIGURE  quantities, promotions, the installation date (a business day from tomorrow,
           within 60 days) when something is installed
OFFERS     up-sell and cross-sell offers accepted into the cart or declined (may be skipped)
REVIEW     the quote; its problems block, each with its suggestion
PAYMENT    how the due-today total is paid (a method on file, a new card taken with Ctrl+P
           after the order, or a check), autopay, and the customer's agreement to the terms
CONFIRM    the final price read back; placing the order happens in services.orders

Pure: no Qt, no storage. The screens are thin pages over this object; the services layer
fills ``CustomerFacts`` from the store and places the order. Everything the agent chose is
kept in plain attributes, so going back never loses input, and ``to_draft`` /
``from_draft`` turn it into JSON and back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from agent_desktop.domain.cases import US_HOLIDAYS
from agent_desktop.domain.catalog import ALL_REGIONS, Catalog, Product, ProductKind, Region
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.quote import (
    BillingCycle,
    CartLine,
    Quote,
    QuoteContext,
    QuoteProblem,
    price_quote,
)

__all__ = [
    "CHECK",
    "DRAFT_VERSION",
    "INSTALL_WINDOW_DAYS",
    "MAX_QUANTITY",
    "NEW_CARD",
    "STEPS",
    "STEP_TITLES",
    "TERMS",
    "AcceptedQuote",
    "AddressCheck",
    "AddressChoice",
    "CustomerFacts",
    "ItemChoice",
    "MethodChoice",
    "Offer",
    "OfferResponse",
    "OrderWizard",
    "PaymentOption",
    "Step",
    "dollars",
    "install_dates",
    "suggest_offers",
]

DRAFT_VERSION = 1
MAX_QUANTITY = 10  # of one product on one order line
INSTALL_WINDOW_DAYS = 60
# Families a technician (or the customer, with a kit) sets up on a date agreed on the call;
# devices alone ship and mobile lines activate with their SIM.
INSTALLED_FAMILIES = frozenset({"internet", "tv", "phone", "security"})
NEW_CARD = "new_card"  # taken with Ctrl+P after the order: no card numbers in the wizard
# What the agent reads before the customer agrees (PAYMENT).
TERMS = ("Monthly services bill from the day they start, a month ahead; one-time charges are "
         "due today. Promotions last as stated and end on their own. Rented equipment is "
         "returned when a service ends. You can cancel before installation at no charge.")
CHECK = "check"


class Step(StrEnum):
    CUSTOMER = "customer"
    ADDRESS = "address"
    PRODUCTS = "products"
    CONFIGURE = "configure"
    OFFERS = "offers"
    REVIEW = "review"
    PAYMENT = "payment"
    CONFIRM = "confirm"


STEPS: tuple[Step, ...] = tuple(Step)
STEP_TITLES: Mapping[Step, str] = {
    Step.CUSTOMER: "Customer", Step.ADDRESS: "Service address", Step.PRODUCTS: "Products",
    Step.CONFIGURE: "Configure", Step.OFFERS: "Offers", Step.REVIEW: "Review the quote",
    Step.PAYMENT: "Payment and terms", Step.CONFIRM: "Confirm",
}


def dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


# --- what the store tells the wizard about the customer -----------------------------------


@dataclass(frozen=True, slots=True)
class AddressChoice:
    id: str
    label: str  # "12 Main St, Springfield, IL 62701"
    state: str
    kind: str = "service"  # service | billing | both


@dataclass(frozen=True, slots=True)
class MethodChoice:
    """A payment method on file: what is safe to show, never a number."""

    id: str
    kind: str  # card | ach
    label: str  # "Visa ending 4242"
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    customer_id: str
    display_name: str
    is_new: bool = False  # created for this order: new-customer promotions apply
    tenure_months: int = 0
    existing_skus: tuple[str, ...] = ()  # active services
    existing_monthly_cents: int = 0
    # What the customer pays a month for each active service (an up-sell's replaced
    # service comes off the bill at that price).
    existing_prices: tuple[tuple[str, int], ...] = ()
    addresses: tuple[AddressChoice, ...] = ()
    methods: tuple[MethodChoice, ...] = ()
    account_number: str = ""
    # The billing cycle running now (end excluded): a change inside it is prorated.
    cycle_start: date | None = None
    cycle_end: date | None = None

    def address(self, address_id: str | None) -> AddressChoice | None:
        return next((a for a in self.addresses if a.id == address_id), None)

    def method(self, method_id: str | None) -> MethodChoice | None:
        return next((m for m in self.methods if m.id == method_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id, "display_name": self.display_name,
            "is_new": self.is_new, "tenure_months": self.tenure_months,
            "existing_skus": list(self.existing_skus),
            "existing_monthly_cents": self.existing_monthly_cents,
            "existing_prices": [list(p) for p in self.existing_prices],
            "addresses": [[a.id, a.label, a.state, a.kind] for a in self.addresses],
            "methods": [[m.id, m.kind, m.label, m.is_default] for m in self.methods],
            "account_number": self.account_number,
            "cycle": [self.cycle_start.isoformat(), self.cycle_end.isoformat()]
            if self.cycle_start and self.cycle_end else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomerFacts:
        cycle = data.get("cycle")
        return cls(
            customer_id=str(data["customer_id"]), display_name=str(data["display_name"]),
            is_new=bool(data.get("is_new", False)),
            tenure_months=int(data.get("tenure_months") or 0),
            existing_skus=tuple(str(s) for s in data.get("existing_skus") or ()),
            existing_monthly_cents=int(data.get("existing_monthly_cents") or 0),
            existing_prices=tuple((str(p[0]), int(p[1]))
                                  for p in data.get("existing_prices") or ()),
            addresses=tuple(AddressChoice(str(a[0]), str(a[1]), str(a[2]), str(a[3]))
                            for a in data.get("addresses") or ()),
            methods=tuple(MethodChoice(str(m[0]), str(m[1]), str(m[2]), bool(m[3]))
                          for m in data.get("methods") or ()),
            account_number=str(data.get("account_number") or ""),
            cycle_start=date.fromisoformat(cycle[0]) if cycle else None,
            cycle_end=date.fromisoformat(cycle[1]) if cycle else None,
        )


# --- offers -----------------------------------------------------------------------------


class OfferResponse(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NOT_NOW = "not_now"


@dataclass(frozen=True, slots=True)
class Offer:
    """An up-sell or cross-sell put to the customer; accepting it changes the cart."""

    code: str
    kind: str  # up_sell | cross_sell
    title: str
    pitch: str  # what the agent says
    add: tuple[CartLine, ...] = ()
    bundle_code: str | None = None  # accepting makes the cart this bundle
    replaces: Mapping[str, str] = field(default_factory=dict)  # old sku -> new sku

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "title": self.title,
                "pitch": self.pitch, "add": [_line_json(c) for c in self.add],
                "bundle_code": self.bundle_code, "replaces": dict(self.replaces)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Offer:
        return cls(str(data["code"]), str(data["kind"]), str(data["title"]),
                   str(data.get("pitch") or ""),
                   tuple(_line_from(c) for c in data.get("add") or ()),
                   data.get("bundle_code"), dict(data.get("replaces") or {}))


def suggest_offers(catalog: Catalog, cart: Sequence[CartLine], region_code: str | None,
                   existing_skus: Iterable[str] = (), limit: int = 3) -> tuple[Offer, ...]:
    """Offers that fit this cart, best first: a bundle the cart is one product away from
    (cross-sell), the next tier of a product in the cart (up-sell), and the battery backup
    every home phone customer must be offered. A stand-in the offer engine may replace
    (``OrderWizard.set_offers``)."""
    if region_code is None or not cart:
        return ()
    have = {line.sku for line in cart}
    owned = set(existing_skus)
    offers: list[Offer] = []
    for bundle in sorted(catalog.bundles.values(), key=lambda b: -b.discount_cents):
        if not bundle.sold_in(region_code):
            continue
        missing = [s for s in bundle.components if s not in have | owned]
        if len(missing) != 1 or not have & set(bundle.components) \
                or any(line.bundle_code == bundle.code for line in cart):
            continue
        extra = catalog.products[missing[0]]
        if not extra.sold_in(region_code):
            continue
        offers.append(Offer(
            f"BUNDLE-{bundle.code}", "cross_sell", f"Add {extra.name}: {bundle.name}",
            f"With {extra.name} ({dollars(extra.price_cents)} a month) this becomes the "
            f"{bundle.name}, {dollars(bundle.discount_cents)} off every month.",
            (CartLine(extra.sku, 1, None, bundle.code),), bundle.code))
    for line in cart:
        product = catalog.products.get(line.sku)
        if product is None or product.tier is None or not product.recurring \
                or line.bundle_code:
            continue
        ladder = [p for p in catalog.family_tiers(product.family)
                  if (p.tier or 0) > (product.tier or 0) and p.sold_in(region_code)
                  and p.billing_period == product.billing_period]
        if not ladder:
            continue
        up = ladder[0]
        more = up.price_cents - product.price_cents
        offers.append(Offer(
            f"UP-{product.sku}-{up.sku}", "up_sell", f"Upgrade to {up.name}",
            f"For {dollars(more)} more a month: {up.description or up.name}",
            replaces={product.sku: up.sku}))
    phone = any(catalog.products[s].family == "phone" for s in have if s in catalog.products)
    battery = catalog.products.get("EQ-BATT")
    if phone and battery is not None and "EQ-BATT" not in have | owned:
        offers.insert(0, Offer(
            "ADD-EQ-BATT", "cross_sell", f"Add {battery.name}",
            f"Keeps the home phone working for 911 calls during a power cut: "
            f"{dollars(battery.price_cents)} once.", (CartLine("EQ-BATT"),)))
    return tuple(offers[:limit])


# --- choices shown to the agent -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressCheck:
    ok: bool
    region: Region | None
    message: str  # what the agent reads
    possible: str = ""  # what can be done instead (outside the area)


@dataclass(frozen=True, slots=True)
class ItemChoice:
    """A product or bundle the agent can put in the cart."""

    key: str  # "bundle:CODE" or "product:SKU"
    code: str
    name: str
    price_text: str
    detail: str
    sold_here: bool
    why_not: str = ""  # when not sold here

    @property
    def is_bundle(self) -> bool:
        return self.key.startswith("bundle:")


@dataclass(frozen=True, slots=True)
class PaymentOption:
    key: str  # a method id on file, NEW_CARD or CHECK
    kind: str  # card | ach | check
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class AcceptedQuote:
    """The price the customer heard: what placing the order is checked against."""

    one_time_cents: int
    monthly_cents: int
    due_today_cents: int
    valid_until: date
    priced_on: date

    def to_json(self) -> dict[str, Any]:
        return {"one_time_cents": self.one_time_cents, "monthly_cents": self.monthly_cents,
                "due_today_cents": self.due_today_cents,
                "valid_until": self.valid_until.isoformat(),
                "priced_on": self.priced_on.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AcceptedQuote:
        return cls(int(data["one_time_cents"]), int(data["monthly_cents"]),
                   int(data["due_today_cents"]), date.fromisoformat(data["valid_until"]),
                   date.fromisoformat(data["priced_on"]))

    @classmethod
    def of(cls, quote: Quote, today: date) -> AcceptedQuote:
        return cls(quote.one_time_cents, quote.monthly_cents, quote.due_today_cents,
                   quote.valid_until, today)

    def same_price(self, quote: Quote) -> bool:
        return (self.one_time_cents, self.monthly_cents, self.due_today_cents) == (
            quote.one_time_cents, quote.monthly_cents, quote.due_today_cents)


def _line_json(line: CartLine) -> dict[str, Any]:
    return {"sku": line.sku, "quantity": line.quantity,
            "promotion_code": line.promotion_code, "bundle_code": line.bundle_code,
            "replaces": line.replaces}


def _line_from(data: Mapping[str, Any]) -> CartLine:
    return CartLine(str(data["sku"]), int(data.get("quantity") or 1),
                    data.get("promotion_code"), data.get("bundle_code"),
                    data.get("replaces"))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in US_HOLIDAYS


def install_dates(today: date, window_days: int = INSTALL_WINDOW_DAYS) -> list[date]:
    """Business days from tomorrow up to ``window_days`` ahead."""
    days = (today + timedelta(days=n) for n in range(1, window_days + 1))
    return [d for d in days if is_business_day(d)]


def _words(day: date) -> str:
    return f"{day:%a %b} {day.day}"


# --- the wizard ---------------------------------------------------------------------------


class OrderWizard:
    """One order being keyed. Mutable; the UI holds one, and hands the services a copy."""

    def __init__(self, catalog: Catalog, today: date, *, customer: CustomerFacts | None = None,
                 cart: Iterable[CartLine] = (), order_id: str | None = None,
                 interaction_id: str | None = None, hold_days: int = 30) -> None:
        self._catalog = catalog
        self.today = today
        self.order_id = order_id or uuid.uuid4().hex
        self.interaction_id = interaction_id
        self.hold_days = hold_days
        self.step = Step.CUSTOMER
        self.visited: set[Step] = {Step.CUSTOMER}
        self.customer: CustomerFacts | None = None
        self.address_id: str | None = None
        self.cart: list[CartLine] = []
        self.install_on: date | None = None
        self.offers: tuple[Offer, ...] = ()
        self.responses: dict[str, OfferResponse] = {}
        self._offer_changes: dict[str, tuple[list[CartLine], list[CartLine]]] = {}
        self.offers_from_engine = False
        self.offers_reason: str | None = None  # why the engine offers nothing
        self._offer_pool: tuple[Offer, ...] = ()
        self.payment_key: str | None = None
        self.autopay = False
        self.terms_accepted = False
        self.accepted: AcceptedQuote | None = None
        self.origin = "new"  # new | draft | saved_quote
        self.saved_on: date | None = None
        self.swivel_chair = False  # keyed from a saved quote, the customer not on the line
        self.notes: list[str] = []  # what the last change did besides the obvious
        self._quote: tuple[str, Quote] | None = None
        if customer is not None:
            self.set_customer(customer)
        for line in cart:
            self._add_line(line)

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:
        """The catalog as it is now (prices, stock): every quote is priced again."""
        self._catalog = catalog
        self._quote = None

    # --- customer and address ---------------------------------------------------------
    def set_customer(self, facts: CustomerFacts) -> None:
        """The caller (or fresher facts about the same one): choices that still fit stay."""
        same = self.customer is not None and self.customer.customer_id == facts.customer_id
        self.customer = facts
        if not same or facts.address(self.address_id) is None:
            self.address_id = self._default_address(facts)
        if not same or (self.payment_key not in (None, NEW_CARD, CHECK)
                        and facts.method(self.payment_key) is None):
            default = next((m for m in facts.methods if m.is_default),
                           facts.methods[0] if facts.methods else None)
            self.payment_key = default.id if default is not None else None
        if not same:
            self.terms_accepted = False

    def _default_address(self, facts: CustomerFacts) -> str | None:
        service = [a for a in facts.addresses if a.kind in ("service", "both")] \
            or list(facts.addresses)
        served = [a for a in service if self.catalog.region_of_state(a.state) is not None]
        chosen = served or service
        return chosen[0].id if chosen else None

    def choose_address(self, address_id: str) -> None:
        if self.customer is None or self.customer.address(address_id) is None:
            raise UserFacingError("That address is not on file for this customer.")
        self.address_id = address_id

    @property
    def address(self) -> AddressChoice | None:
        return self.customer.address(self.address_id) if self.customer else None

    def region(self) -> Region | None:
        address = self.address
        return self.catalog.region_of_state(address.state) if address else None

    @property
    def region_code(self) -> str | None:
        region = self.region()
        return region.code if region else None

    def address_check(self, address_id: str | None = None) -> AddressCheck:
        """Whether a region serves the address, in words, with what is possible if not."""
        facts = self.customer
        chosen = facts.address(address_id or self.address_id) if facts else None
        if chosen is None:
            return AddressCheck(False, None, "Choose the service address: where the "
                                "services are installed.")
        region = self.catalog.region_of_state(chosen.state)
        if region is not None:
            limited = sorted(p.name for p in self.catalog.products.values()
                             if not p.sold_in(region.code) and _orderable(p))
            extra = f" Not sold here: {', '.join(limited)}." if limited else ""
            return AddressCheck(True, region, f"{chosen.label} is served by the "
                                f"{region.name} region.{extra}")
        others = [a for a in (facts.addresses if facts else ())
                  if a.id != chosen.id and self.catalog.region_of_state(a.state)]
        states = sorted({s for r in self.catalog.regions.values() for s in r.states})
        possible = (f"Another address on file is served: {others[0].label}. "
                    if others else "")
        possible += ("Nothing can be installed or shipped to this address. We serve "
                     f"{', '.join(states)}. If the customer is moving into the area, "
                     "order for the new address once it is on file; or keep the order as "
                     "a draft and note their interest.")
        return AddressCheck(False, None, f"{chosen.label} is outside our service area: no "
                            f"region serves {chosen.state}.", possible)

    # --- products ---------------------------------------------------------------------
    def items(self, text: str = "") -> list[ItemChoice]:
        """Products and bundles matching every word typed, sold here first: bundles named
        by the words, then products (by family and tier), then bundles that only contain
        a product the words name."""
        region = self.region_code
        words = text.lower().split()
        families = list(self.catalog.families)
        ranked: list[tuple[tuple[bool, int, int, int, str], ItemChoice]] = []
        for bundle in self.catalog.bundles.values():
            names = [self.catalog.products[s].name for s in bundle.components]
            own = f"{bundle.code} {bundle.name}".lower()
            hay = " ".join([own, *names, *bundle.components]).lower()
            if not all(w in hay for w in words):
                continue
            sold = region is not None and bundle.sold_in(region) and all(
                self.catalog.products[s].sold_in(region) for s in bundle.components)
            named = all(w in own for w in words)
            ranked.append(((not sold, 0 if named else 2, 0, 0, bundle.name), ItemChoice(
                f"bundle:{bundle.code}", bundle.code, bundle.name,
                f"{dollars(bundle.discount_cents)} off a month", " + ".join(names),
                sold, "" if sold else "Not sold at this address.")))
        for product in self.catalog.products.values():
            if not _orderable(product):
                continue
            family = self.catalog.families.get(product.family, product.family)
            hay = f"{product.sku} {product.name} {family}".lower()
            if not all(w in hay for w in words):
                continue
            sold = region is not None and product.sold_in(region)
            rank = families.index(product.family) if product.family in families \
                else len(families)
            ranked.append(((not sold, 1, rank, product.tier or 99, product.name), ItemChoice(
                f"product:{product.sku}", product.sku, product.name, _price_text(product),
                family, sold, "" if sold else "Not sold at this address.")))
        ranked.sort(key=lambda pair: pair[0])
        return [item for _rank, item in ranked]

    def add(self, key: str) -> list[str]:
        """Put a product or bundle (an ``ItemChoice.key``) into the cart; returns notes."""
        kind, _, code = key.partition(":")
        if kind == "bundle":
            return self.add_bundle(code)
        return self.add_product(code)

    def add_product(self, sku: str, quantity: int = 1,
                    promotion_code: str | None = None) -> list[str]:
        product = self.catalog.products.get(sku)
        if product is None:
            raise UserFacingError(f"There is no product {sku} in the catalog.")
        notes = self._add_required(product)
        self._add_line(CartLine(sku, quantity, promotion_code, None))
        self.notes = [*notes, f"{product.name} added."]
        return self.notes

    def add_bundle(self, code: str) -> list[str]:
        bundle = self.catalog.bundles.get(code)
        if bundle is None:
            raise UserFacingError(f"There is no bundle {code} in the catalog.")
        owned = set(self.customer.existing_skus) if self.customer else set()
        plan: list[CartLine | None] = []
        notes: list[str] = []
        for sku in bundle.components:
            product = self.catalog.products[sku]
            same = [self.catalog.products[o] for o in owned if o in self.catalog.products
                    and o != sku and self.catalog.products[o].family == product.family
                    and self.catalog.products[o].tier is not None]
            if sku in owned and self._index_of(sku) is None:
                plan.append(None)  # they have it: the bundle counts it, nothing to add
                continue
            higher = [o for o in same if (o.tier or 0) > (product.tier or 0)]
            if product.tier is not None and higher:
                raise UserFacingError(
                    f"{bundle.name} includes {product.name}, and the customer already has "
                    f"{higher[0].name}: a bundle would step them down. Add the other parts "
                    "on their own instead.")
            lower = [o for o in same if (o.tier or 0) < (product.tier or 0)]
            plan.append(CartLine(sku, 1, None, code, lower[0].sku if lower else None))
            if lower:
                notes.append(f"{product.name} replaces their {lower[0].name}.")
        if all(line is None for line in plan):
            raise UserFacingError(f"The customer already has every part of {bundle.name}.")
        for line in plan:
            if line is None:
                continue
            index = self._index_of(line.sku)
            if index is None:
                self.cart.append(line)
            else:
                self.cart[index] = replace(self.cart[index], bundle_code=code)
        for sku in bundle.components:
            notes += self._add_required(self.catalog.products[sku])
        self.notes = [*notes, f"{bundle.name} added: {dollars(bundle.discount_cents)} off a "
                      "month while every part stays on."]
        return self.notes

    def _add_required(self, product: Product) -> list[str]:
        notes = []
        owned = set(self.customer.existing_skus) if self.customer else set()
        for required in product.requires:
            if self._index_of(required) is None and required not in owned \
                    and required in self.catalog.products:
                self.cart.append(CartLine(required))
                notes.append(f"Added {self.catalog.products[required].name} too: "
                             f"{product.name} needs it.")
        return notes

    def _add_line(self, line: CartLine) -> None:
        index = self._index_of(line.sku)
        if index is not None and line.bundle_code is None:
            current = self.cart[index]
            self.cart[index] = replace(current, quantity=current.quantity + line.quantity,
                                       promotion_code=current.promotion_code
                                       or line.promotion_code)
        else:
            self.cart.append(line)

    def _index_of(self, sku: str) -> int | None:
        return next((i for i, line in enumerate(self.cart) if line.sku == sku), None)

    def remove_line(self, index: int) -> list[str]:
        line = self.cart.pop(index)
        notes = []
        if line.bundle_code:
            bundle = self.catalog.bundles.get(line.bundle_code)
            for i, other in enumerate(self.cart):
                if other.bundle_code == line.bundle_code:
                    self.cart[i] = replace(other, bundle_code=None)
            if bundle is not None:
                notes.append(f"The {bundle.name} discount no longer applies.")
        name = self.catalog.products[line.sku].name if line.sku in self.catalog.products \
            else line.sku
        self.notes = [f"{name} removed.", *notes]
        return self.notes

    def line_name(self, line: CartLine) -> str:
        product = self.catalog.products.get(line.sku)
        return product.name if product else line.sku

    # --- configure --------------------------------------------------------------------
    def set_quantity(self, index: int, quantity: int) -> None:
        self.cart[index] = replace(self.cart[index], quantity=quantity)

    def set_promotion(self, index: int, code: str | None) -> None:
        self.cart[index] = replace(self.cart[index], promotion_code=code or None)

    def promotion_options(self, index: int) -> list[tuple[str, str]]:
        """(code, words) for the promotions on a line's product: running ones, and the
        one already chosen even if it no longer runs (so the quote can say why)."""
        line = self.cart[index]
        options = []
        for promo in self.catalog.promotions_for(line.sku):
            if promo.running_on(self.today) or promo.code == line.promotion_code:
                ends = "" if promo.running_on(self.today) else " (ended)"
                options.append((promo.code, f"{promo.code} \u2014 {promo.name}{ends}"))
        return options

    def needs_install(self) -> bool:
        return any(self.catalog.products[line.sku].recurring
                   and self.catalog.products[line.sku].family in INSTALLED_FAMILIES
                   for line in self.cart if line.sku in self.catalog.products)

    def install_dates(self) -> list[date]:
        return install_dates(self.today)

    def set_install_on(self, day: date | None) -> None:
        self.install_on = day

    # --- offers -----------------------------------------------------------------------
    def set_offers(self, offers: Sequence[Offer], reason: str | None = None) -> None:
        """The offer engine's offers for this customer, ranked (or none, and why: an open
        outage, collections...). They replace the wizard's own suggestions."""
        self._offer_pool = tuple(offers)
        self.offers = tuple(offers)
        self.offers_from_engine = True
        self.offers_reason = reason

    def refresh_offers(self) -> None:
        """The offers that fit the cart as it is: the engine's (less those the cart
        already holds), else the wizard's own suggestions; answered ones stay listed."""
        answered = [o for o in self.offers if o.code in self.responses]
        codes = {o.code for o in answered}
        if self.offers_from_engine:
            have = {line.sku for line in self.cart}
            fresh: Iterable[Offer] = [o for o in self._offer_pool
                                      if not o.add or not {c.sku for c in o.add} <= have]
        else:
            fresh = suggest_offers(self.catalog, self.cart, self.region_code,
                                   self.customer.existing_skus if self.customer else ())
        self.offers = (*answered, *(o for o in fresh if o.code not in codes))

    def respond(self, code: str, response: OfferResponse | str) -> list[str]:
        """Accept (into the cart), decline or 'not now'; changing an acceptance takes its
        products back out."""
        offer = next((o for o in self.offers if o.code == code), None)
        if offer is None:
            raise UserFacingError("That offer is no longer on the list.")
        answer = OfferResponse(response)
        was = self.responses.get(code)
        self.responses[code] = answer
        if answer == was:
            return []
        if answer == OfferResponse.ACCEPTED:
            before = list(self.cart)
            if offer.bundle_code:
                self.add_bundle(offer.bundle_code)
            for line in offer.add:
                if offer.bundle_code is None or self._index_of(line.sku) is None:
                    self._add_line(line)
            for old, new in offer.replaces.items():
                index = self._index_of(old)
                if index is not None:
                    self.cart[index] = replace(self.cart[index], sku=new, promotion_code=None)
            self._offer_changes[code] = (before, list(self.cart))
            self.notes = [f"{offer.title}: in the order."]
        elif was == OfferResponse.ACCEPTED:
            before, after = self._offer_changes.pop(code, (list(self.cart), list(self.cart)))
            if self.cart == after:
                self.cart = before
            else:  # changed since: take out what the offer added, undo what it replaced
                added = {line.sku for line in offer.add}
                self.cart = [line for line in self.cart if line.sku not in added]
                for old, new in offer.replaces.items():
                    index = self._index_of(new)
                    if index is not None:
                        self.cart[index] = replace(self.cart[index], sku=old)
            self.notes = [f"{offer.title}: taken back out."]
        else:
            self.notes = []
        return self.notes

    # --- payment ----------------------------------------------------------------------
    def payment_options(self) -> list[PaymentOption]:
        options = []
        for m in self.customer.methods if self.customer else ():
            options.append(PaymentOption(m.id, m.kind, m.label + (" \u2014 default"
                                                                  if m.is_default else "")))
        options.append(PaymentOption(
            NEW_CARD, "card", "New card",
            "No card numbers here: take the payment with Ctrl+P after the order."))
        options.append(PaymentOption(CHECK, "check", "Check by phone",
                                     "Read from the check with Ctrl+P after the order."))
        return options

    def choose_payment(self, key: str) -> None:
        if key not in (NEW_CARD, CHECK) and (self.customer is None
                                             or self.customer.method(key) is None):
            raise UserFacingError("That payment method is not on file for this customer.")
        self.payment_key = key

    @property
    def payment_kind(self) -> str | None:
        key = self.payment_key
        if key is None:
            return None
        if key == NEW_CARD:
            return "card"
        if key == CHECK:
            return "check"
        method = self.customer.method(key) if self.customer else None
        return method.kind if method else None

    @property
    def payment_method_id(self) -> str | None:
        return None if self.payment_key in (None, NEW_CARD, CHECK) else self.payment_key

    def set_autopay(self, on: bool) -> None:
        self.autopay = on

    def set_terms_accepted(self, on: bool) -> None:
        self.terms_accepted = on

    # --- the quote --------------------------------------------------------------------
    def quote_context(self, inventory: Mapping[str, int] | None = None) -> QuoteContext:
        facts = self.customer
        return QuoteContext(
            today=self.today, region_code=self.region_code,
            is_new_customer=facts.is_new if facts else True,
            tenure_months=facts.tenure_months if facts else 0,
            payment_method=self.payment_kind, autopay=self.autopay,
            existing_skus=tuple(facts.existing_skus) if facts else (),
            existing_monthly_cents=facts.existing_monthly_cents if facts else 0,
            existing_prices=dict(facts.existing_prices) if facts else None,
            inventory=inventory, cycle=self.cycle(), hold_days=self.hold_days)

    def cycle(self) -> BillingCycle | None:
        """The customer's current billing cycle, with the day the change starts (the
        installation, else today), when that day falls inside it: proration."""
        facts = self.customer
        if facts is None or facts.cycle_start is None or facts.cycle_end is None:
            return None
        change = self.install_on or self.today
        if not facts.cycle_start <= change < facts.cycle_end:
            return None
        return BillingCycle(facts.cycle_start, facts.cycle_end, change)

    def quote_key(self) -> str:
        """Everything the price depends on, as text: a quote computed for another key is
        stale."""
        ctx = self.quote_context()
        cycle = ctx.cycle
        return json.dumps([id(self._catalog), [_line_json(c) for c in self.cart],
                           self.today.isoformat(),
                           str(cycle) if cycle else None, ctx.region_code,
                           ctx.is_new_customer, ctx.tenure_months,
                           ctx.payment_method, ctx.autopay, list(ctx.existing_skus),
                           ctx.existing_monthly_cents], sort_keys=True)

    def price(self) -> tuple[str, Quote]:
        """Price the cart now (pure; the UI calls this off its thread)."""
        return self.quote_key(), price_quote(self.catalog, list(self.cart),
                                             self.quote_context())

    def remember_quote(self, key: str, quote: Quote) -> bool:
        """Keep a quote priced elsewhere (off the UI thread) if it is still current."""
        if key != self.quote_key():
            return False
        self._quote = (key, quote)
        return True

    def quote(self) -> Quote:
        key = self.quote_key()
        if self._quote is None or self._quote[0] != key:
            self._quote = self.price()
        return self._quote[1]

    def cached_quote(self) -> Quote | None:
        """The current quote if it is already priced, else None (never prices)."""
        if self._quote is not None and self._quote[0] == self.quote_key():
            return self._quote[1]
        return None

    def _payment_problem(self, problem: QuoteProblem) -> bool:
        """A quote problem the payment step fixes: the method, or autopay, when nothing
        else stands in the promotion's way."""
        if problem.code == "payment_method":
            return True
        if problem.code != "promotion_ineligible":
            return False
        line = next((c for c in self.cart if c.sku == problem.sku), None)
        promo = self.catalog.promotions.get(line.promotion_code or "") if line else None
        if promo is None or not promo.eligibility.autopay_required or self.autopay:
            return False
        rules = promo.eligibility
        facts = self.customer
        region = self.region_code
        return (promo.running_on(self.today) and problem.sku in promo.applies_to
                and (ALL_REGIONS in rules.regions or region in rules.regions)
                and not (rules.new_customers_only and facts is not None and not facts.is_new)
                and (facts.tenure_months if facts else 0) >= rules.min_tenure_months)

    @staticmethod
    def problem_text(problem: QuoteProblem) -> str:
        """The problem and what is possible instead, as sentences."""
        def sentence(text: str) -> str:
            text = text.strip()
            return text if not text or text[-1] in ".!?:" else text + "."
        return f"{sentence(problem.message)} {sentence(problem.suggestion)}".strip()

    # --- steps ------------------------------------------------------------------------
    def problems(self, step: Step | None = None) -> list[str]:
        """Why ``step`` (default: the current one) is not complete yet; [] when it is."""
        step = step or self.step
        check = {
            Step.CUSTOMER: self._customer_problems, Step.ADDRESS: self._address_problems,
            Step.PRODUCTS: self._product_problems, Step.CONFIGURE: self._configure_problems,
            Step.OFFERS: list, Step.REVIEW: self._review_problems,
            Step.PAYMENT: self._payment_problems, Step.CONFIRM: self._confirm_problems,
        }[step]
        return check()

    def _customer_problems(self) -> list[str]:
        if self.customer is None:
            return ["Choose the customer (Ctrl+K finds them) or create a new one."]
        return []

    def _address_problems(self) -> list[str]:
        if self.customer is None:
            return ["Choose the customer first."]
        if not self.customer.addresses:
            return ["The customer has no address on file: add the service address to "
                    "their record first."]
        check = self.address_check()
        return [] if check.ok else [f"{check.message} {check.possible}".strip()]

    def _product_problems(self) -> list[str]:
        if not self.cart:
            return ["Add at least one product or bundle: type to find it, Enter adds it."]
        unknown = [line.sku for line in self.cart if line.sku not in self.catalog.products]
        if unknown:
            return [f"{', '.join(unknown)} is not in the catalog any more: remove it."]
        return []

    def _configure_problems(self) -> list[str]:
        problems = []
        for line in self.cart:
            if not 1 <= line.quantity <= MAX_QUANTITY:
                problems.append(f"{self.line_name(line)}: the quantity is 1 to "
                                f"{MAX_QUANTITY}.")
            if line.promotion_code and line.promotion_code not in [
                    p.code for p in self.catalog.promotions_for(line.sku)]:
                problems.append(f"{line.promotion_code} does not apply to "
                                f"{self.line_name(line)}: choose another promotion or none.")
        if self.needs_install():
            dates = self.install_dates()
            if self.install_on is None:
                problems.append("Choose the installation date with the customer.")
            elif self.install_on not in dates:
                why = ("has passed" if self.install_on <= self.today else
                       "is too far ahead" if self.install_on > dates[-1] else
                       "is not a business day")
                problems.append(
                    f"Installation on {_words(self.install_on)} {why}: technicians come "
                    f"on business days from {_words(dates[0])} to {_words(dates[-1])}.")
        return problems

    def _review_problems(self) -> list[str]:
        if self._product_problems() or self.region_code is None:
            return ["Complete the earlier steps first."]
        return [self.problem_text(p) for p in self.quote().problems
                if not self._payment_problem(p)]

    def _payment_problems(self) -> list[str]:
        problems = []
        kind = self.payment_kind
        if kind is None:
            problems.append("Choose how the customer pays: a method on file, a new card "
                            "(taken with Ctrl+P after the order) or a check.")
        if self.autopay and kind == "check":
            problems.append("Autopay needs a card or a bank account, not a check.")
        if self.cart and self.region_code is not None:
            problems += [self.problem_text(p) for p in self.quote().problems
                         if self._payment_problem(p)]
        if not self.terms_accepted:
            problems.append("Read the terms to the customer and tick that they agree.")
        return problems

    def _confirm_problems(self) -> list[str]:
        problems = []
        for step in STEPS[:STEPS.index(Step.CONFIRM)]:
            found = self.problems(step)
            if found:
                problems.append(f"{STEP_TITLES[step]}: {found[0]}")
        if not problems and self.accepted is not None and self.accepted.valid_until \
                < self.today:
            problems.append(f"The price held until {_words(self.accepted.valid_until)}: "
                            "review the quote with the customer again.")
        return problems

    def first_incomplete(self) -> Step:
        return next((s for s in STEPS[:-1] if self.problems(s)), Step.CONFIRM)

    def done(self, step: Step) -> bool:
        """Visited, complete, and not where the agent is now (the step list's tick)."""
        return step != self.step and step in self.visited and not self.problems(step)

    def can_go(self, step: Step) -> bool:
        """Back to anything; forward only over complete steps."""
        target = STEPS.index(step)
        if target <= STEPS.index(self.step):
            return True
        return all(not self.problems(s) for s in STEPS[:target])

    def go(self, step: Step) -> bool:
        if not self.can_go(step):
            return False
        if STEPS.index(step) > STEPS.index(self.step):
            for passed in STEPS[STEPS.index(self.step):STEPS.index(step)]:
                self._leaving(passed)
                self.visited.add(passed)
        self._enter(step)
        return True

    def next(self) -> bool:
        """To the next step if this one is complete; False (and nothing moves) if not."""
        if self.step == Step.CONFIRM or self.problems():
            return False
        self._leaving(self.step)
        self._enter(STEPS[STEPS.index(self.step) + 1])
        return True

    def back(self) -> bool:
        index = STEPS.index(self.step)
        if index == 0:
            return False
        self._enter(STEPS[index - 1])
        return True

    def _leaving(self, step: Step) -> None:
        if step in (Step.REVIEW, Step.PAYMENT):
            self.accepted = AcceptedQuote.of(self.quote(), self.today)

    def _enter(self, step: Step) -> None:
        self.step = step
        self.visited.add(step)
        if step == Step.CONFIGURE and self.needs_install() and self.install_on is None:
            dates = self.install_dates()
            self.install_on = dates[0] if dates else None
        if step == Step.OFFERS:
            self.refresh_offers()

    # --- what placing the order sends -------------------------------------------------
    def offers_shown(self) -> list[dict[str, str]]:
        """Every offer put to the customer, with the answer (unanswered: not now)."""
        if Step.OFFERS not in self.visited:
            return []
        return [{"code": o.code, "kind": o.kind,
                 "response": self.responses.get(o.code, OfferResponse.NOT_NOW).value}
                for o in self.offers]

    def missing(self) -> list[str]:
        """What is still missing before the order can be placed (swivel-chair: keying
        an order from a saved quote without the customer on the line)."""
        found = [f"{STEP_TITLES[s]}: {p[0]}" for s in STEPS[:-1]
                 if s != Step.OFFERS and (p := self.problems(s))]
        if self.swivel_chair and not self.terms_accepted:
            found = [m for m in found if "terms" not in m]
            found.append("Payment and terms: the customer's agreement to the terms was not "
                         "recorded with the quote; only the customer can give it: call "
                         "them back.")
        if self.accepted is not None and self.accepted.valid_until < self.today:
            found.append(f"The quote held its price until {_words(self.accepted.valid_until)}"
                         ": price it again and tell the customer the new price.")
        return found

    # --- drafts -----------------------------------------------------------------------
    def to_draft(self) -> dict[str, Any]:
        """Everything keyed so far, JSON-able."""
        return {
            "version": DRAFT_VERSION, "order_id": self.order_id, "step": self.step.value,
            "visited": sorted(s.value for s in self.visited),
            "customer": self.customer.to_json() if self.customer else None,
            "address_id": self.address_id, "cart": [_line_json(c) for c in self.cart],
            "install_on": self.install_on.isoformat() if self.install_on else None,
            "offers": [o.to_json() for o in self.offers],
            "offers_from_engine": self.offers_from_engine,
            "offer_pool": [o.to_json() for o in self._offer_pool],
            "offers_reason": self.offers_reason,
            "responses": {k: v.value for k, v in self.responses.items()},
            "payment_key": self.payment_key, "autopay": self.autopay,
            "terms_accepted": self.terms_accepted,
            "accepted": self.accepted.to_json() if self.accepted else None,
            "origin": self.origin, "interaction_id": self.interaction_id,
            "saved_on": self.saved_on.isoformat() if self.saved_on else None,
            "kept_on": self.today.isoformat(),
        }

    @classmethod
    def _load(cls, catalog: Catalog, data: Mapping[str, Any], today: date) -> OrderWizard:
        """The state as written, nothing checked or moved."""
        if int(data.get("version") or 0) != DRAFT_VERSION:
            raise UserFacingError("This draft was kept by another version of the desk and "
                                  "cannot be resumed; start the order again.")
        wizard = cls(catalog, today, order_id=str(data["order_id"]),
                     interaction_id=data.get("interaction_id"))
        kept = data.get("customer")
        if kept:
            wizard.customer = CustomerFacts.from_json(kept)
        wizard.address_id = data.get("address_id")
        wizard.payment_key = data.get("payment_key")
        wizard.cart = [_line_from(c) for c in data.get("cart") or ()]
        install = data.get("install_on")
        wizard.install_on = date.fromisoformat(install) if install else None
        wizard.offers = tuple(Offer.from_json(o) for o in data.get("offers") or ())
        wizard.offers_from_engine = bool(data.get("offers_from_engine"))
        wizard._offer_pool = tuple(Offer.from_json(o) for o in data.get("offer_pool") or ())
        wizard.offers_reason = data.get("offers_reason")
        wizard.responses = {k: OfferResponse(v) for k, v in
                            (data.get("responses") or {}).items()}
        wizard.autopay = bool(data.get("autopay"))
        wizard.terms_accepted = bool(data.get("terms_accepted"))
        accepted = data.get("accepted")
        wizard.accepted = AcceptedQuote.from_json(accepted) if accepted else None
        wizard.origin = str(data.get("origin") or "draft")
        saved = data.get("saved_on")
        wizard.saved_on = date.fromisoformat(saved) if saved else None
        wizard.visited = {Step(v) for v in data.get("visited") or ()} | {Step.CUSTOMER}
        wizard.step = Step(data.get("step") or Step.CUSTOMER)
        return wizard

    @classmethod
    def from_draft(cls, catalog: Catalog, data: Mapping[str, Any], today: date,
                   customer: CustomerFacts | None = None) -> OrderWizard:
        """A draft back as it was left, on ``today``; ``customer`` (fresh from the store)
        replaces the facts kept with it, keeping the choices that still fit. It opens
        where it was left, or on the first step that needs something now."""
        wizard = cls._load(catalog, data, today)
        if customer is not None:  # the same customer keeps the choices that still fit
            wizard.set_customer(customer)
        first_open = wizard.first_incomplete()
        if STEPS.index(wizard.step) > STEPS.index(first_open):
            wizard.step = first_open
        wizard.visited.add(wizard.step)
        if wizard.origin == "new":
            wizard.origin = "draft"
        return wizard

    def saved_quote(self) -> dict[str, Any]:
        """The quote as it stands, kept for later (swivel-chair): the draft plus the
        price the customer heard and how long it holds."""
        before = [p for s in (Step.CUSTOMER, Step.ADDRESS, Step.PRODUCTS, Step.CONFIGURE,
                              Step.REVIEW) for p in self.problems(s)]
        if before:
            raise UserFacingError(f"The quote cannot be saved yet: {before[0]}")
        self.accepted = AcceptedQuote.of(self.quote(), self.today)
        self.saved_on = self.today
        return {**self.to_draft(), "origin": "saved_quote",
                "saved_on": self.today.isoformat()}

    @classmethod
    def from_saved_quote(cls, catalog: Catalog, data: Mapping[str, Any], today: date,
                         customer: CustomerFacts | None = None) -> OrderWizard:
        """Key an order from a saved quote without the customer on the line: everything
        kept with the quote comes back, ``missing()`` says what is still needed, and the
        wizard opens on the first step that needs something."""
        wizard = cls.from_draft(catalog, data, today, customer)
        wizard.origin = "saved_quote"
        wizard.swivel_chair = True
        wizard.visited = set(STEPS[:STEPS.index(wizard.first_incomplete()) + 1])
        wizard.step = wizard.first_incomplete()
        return wizard

    def copy(self) -> OrderWizard:
        """An independent copy (to hand to a worker thread); nothing is priced."""
        twin = OrderWizard._load(self._catalog, self.to_draft(), self.today)
        twin.origin, twin.swivel_chair = self.origin, self.swivel_chair
        twin.notes = list(self.notes)
        twin._quote = self._quote
        twin._offer_changes = {k: (list(a), list(b))
                               for k, (a, b) in self._offer_changes.items()}
        return twin


def _orderable(product: Product) -> bool:
    """Usage meters with no price of their own (data, rentals, minutes) start with the
    service, they are not ordered."""
    return not (product.kind == ProductKind.USAGE and product.price_cents == 0)


def _price_text(product: Product) -> str:
    if product.kind == ProductKind.ONE_TIME:
        return f"{dollars(product.price_cents)} once"
    period = {"quarterly": "a quarter", "annual": "a year"}.get(
        product.billing_period or "monthly", "a month")
    return f"{dollars(product.price_cents)} {period}"
