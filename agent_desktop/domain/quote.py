"""Pricing a cart: one-time and monthly totals, promotions, bundles, fees, taxes,
proration for a mid-cycle change and how long the price holds (shared/DOMAIN.md,
"Catalog, orders, up-sell and cross-sell"; "Money").

``price_quote(catalog, cart, ctx)`` is pure: no I/O, no clock (``ctx.today`` is the day),
integer cents everywhere, rates as ``Decimal`` built from strings. It never raises for the
agent's mistakes: an unknown product, a promotion that cannot apply, a product out of
stock... each becomes a `QuoteProblem` (what is wrong and what is possible instead) and
``Quote.ok`` is False. It raises ``ValueError`` only for a caller's error (a billing
cycle whose change day is outside it, a negative hold) and `CatalogError` for a
promotion whose ``value`` has the wrong shape.

The rules, each a choice written down:

Lines and totals
    * Lines come out in this order: the cart's product lines (cart order), bundle
      discounts, fees, then proration lines.
    * ``monthly_cents`` is the sum of ``net_cents`` of every ``recurring`` line: products,
      bundle discounts (negative) and fees. ``fees_monthly_cents`` is the fee part of it.
      ``one_time_cents`` is the sum of the non-recurring product lines;
      ``proration_cents`` the sum of the proration lines. So every total is exactly the
      sum of its lines; nothing is allocated or rounded after the lines are made.
    * The quote is the *change* the cart makes to the bill. A bundle completed with
      services the customer already has can make ``monthly_cents`` (and its tax)
      negative: the customer's bill goes down.
    * Every known product with a valid quantity is priced, problems or not (out of stock,
      not sold here, a missing required product): the agent sees what it would cost, and
      ``ok`` says whether it can be ordered. An unknown sku or a quantity outside 1..99
      is not priced (there is nothing sensible to price).

Unit price (``unit_cents``)
    * One-time: the catalog price. Recurring: the price per month. A quarterly or annual
      price is spread evenly over its months and rounded half-up to the cent (the
      catalog's prices divide exactly: TV-LATINO $24.00 a quarter is $8.00 a month); the
      bill itself charges the period price, which the line's ``why`` states.
    * Usage products (INT-DATA, MOB-BYG...) are recurring lines at their monthly base
      price (0 for pure pay-per-use); the use itself is billed later at the rate the
      ``why`` states and is not in the quote.

Promotions (only the one the agent chose on a line; none is applied on its own)
    * A promotion applies only if it exists, lists the line's sku in ``applies_to``, is
      running on ``ctx.today`` (``valid_from <= today <= valid_to``, both days included)
      and the customer is eligible: region, new customers only, tenure, autopay, payment
      method. Otherwise it is one problem per line whose message gives every reason and
      whose code is the first reason's, in that order: "promotion_expired" (ended, or
      not started yet), "promotion_ineligible" (region, new only, tenure, autopay; also
      an unknown code or a sku the promotion is not for), "payment_method" (the chosen
      method is not accepted); the line is priced without it. The suggestion names the
      fix (turn on autopay, pay by card or ACH) when every reason can be fixed, otherwise
      the promotions for that sku the customer can have, otherwise "price it without a
      promotion".
    * ``payment_method=None`` means "not chosen yet": no problem, the promotion applies,
      and the line's ``why`` says which methods it needs.
    * One promotion per line. amount_off: ``amount_cents`` per unit (per month for a
      recurring line), at most the line's price. percent_off: the line's price times
      ``percent`` / 100, rounded half-up (customer-facing rounding, `round_cents`'s
      default; ``ctx.rounding`` is for tax only).
    * buy_get: chosen on the "buy" or the "get" line, it makes one "get" unit free per
      "buy" unit in the cart (existing services do not count); when buy and get are the
      same sku, one of every two is free. The free units go on the "get" lines that have
      no other promotion, in cart order. No "buy" in the cart, or no "get" to make free,
      is a problem with a suggestion ("add Security starter kit...").
    * tiered_spend: the cart's monthly spend (recurring product lines at list price,
      after bundle discounts, before promotions, taxes and fees) plus
      ``existing_monthly_cents`` picks the highest tier whose ``min_monthly_cents`` it
      reaches (the minimum itself qualifies). The tier's amount is taken once per cart,
      from the lines that chose it, largest line first, never more than a line's price.
      A spend below the lowest tier is a problem saying how much more is needed.
    * months_free: the line keeps its regular price (``discount_cents`` 0, so
      ``monthly_cents`` is the regular monthly charge); the line's ``free_months`` and
      ``why`` say how many monthly charges are credited, and ``Quote.first_months_cents``
      lists the monthly charge (before tax) for each month while a credit runs, month 1
      first. Tax bills on the regular price during those months (as the catalog's terms
      say: "taxes, fees and equipment still bill"), so month m costs
      ``first_months_cents[m-1] + monthly_tax_cents``. The part cycle of a mid-cycle
      change is not one of the free monthly charges: it is prorated as usual.
    * ``valid_until`` is ``today + hold_days``, but no later than the last day of any
      promotion the quote applies.

Bundles
    * A bundle applies when all of its components are in the cart or among
      ``existing_skus``, at least one is in the cart (a bundle made only of existing
      services is already on the bill), and it is sold in the region. It is a negative
      monthly line of ``discount_cents``, once per bundle whatever the quantities.
    * A product counts towards one bundle only: bundles the agent named on a line
      (``bundle_code``) are taken first, then the largest discount, then by code. A named
      bundle that is unknown, not sold here, or missing a component is a problem.

Fees
    * A region fee applies once when a service line in the cart (recurring, or usage
      with a monthly base price) is in one of the fee's families, unless the customer
      already has a service in one of those families (the fee is already on the bill).
      Fees are monthly, not taxed (they are themselves regulatory recoveries) and not
      discounted.

Taxes
    * The region's rate on the product and bundle-discount lines after discounts, fees
      excluded; computed once on the monthly total and once on the one-time total (and
      once on the taxable proration), not per line, rounded with ``ctx.rounding``
      (half-up by default). Outside the service area there is no rate: tax 0.

Proration (``ctx.cycle``)
    * For each recurring line with a charge: its monthly list and net amounts times
      (days from ``change_on`` to ``end``, ``change_on`` included, ``end`` excluded) over
      the days of the cycle, each rounded half-up, as a "proration" line of quantity 1
      (``recurring`` False, not in ``monthly_cents``, not due today: charged on the next
      bill). A change on the cycle's first day prorates the whole cycle; on its last day,
      one day. Fees and bundle discounts are prorated too; ``proration_tax_cents`` is the
      tax on the taxable proration lines.

Checks
    * Outside the area (``region_code`` None or unknown): one problem naming the regions
      served. A product not sold in the region: a problem naming the nearest tier of the
      same family sold here, or the regions that sell it. Quantities of one sku add up
      across lines against the stock (``ctx.inventory`` by sku, else the catalog's;
      None is a service, not stocked). A required sku neither in the cart nor existing,
      an unknown sku (with close matches), a quantity outside 1..99: problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from agent_desktop.domain.catalog import (
    ALL_REGIONS,
    Bundle,
    Catalog,
    CatalogError,
    Product,
    ProductKind,
    Promotion,
    PromotionKind,
    Region,
)
from agent_desktop.domain.money import RoundingRule, round_cents

__all__ = [
    "MAX_QUANTITY",
    "MIN_QUANTITY",
    "BillingCycle",
    "CartLine",
    "Quote",
    "QuoteContext",
    "QuoteLine",
    "QuoteProblem",
    "price_quote",
]

MIN_QUANTITY = 1
MAX_QUANTITY = 99

_ALL_METHODS = ("card", "ach", "check")
_METHOD_WORDS = {"card": "card", "ach": "ACH", "check": "check"}
_PERIOD_WORDS = {"quarterly": "every quarter", "annual": "every year"}


# --- the public values -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int = 1
    promotion_code: str | None = None  # a promotion the agent chose for this line
    bundle_code: str | None = None  # the line is part of this bundle
    # An up-sell: the sku of a service the customer has that this line takes the place of
    # (its charge comes off the bill; the quote is the change to the bill).
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class BillingCycle:
    """A billing cycle and the day of a mid-cycle change: proration by days."""

    start: date
    end: date  # exclusive
    change_on: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def days_remaining(self) -> int:
        """From the change day (included) to the end (excluded)."""
        return (self.end - self.change_on).days


@dataclass(frozen=True, slots=True)
class QuoteContext:
    today: date
    region_code: str | None  # None: the address is outside the service area
    is_new_customer: bool = True
    tenure_months: int = 0
    payment_method: str | None = None  # "card" | "ach" | "check" | None (not chosen yet)
    autopay: bool = False
    existing_skus: tuple[str, ...] = ()  # services the customer already has
    existing_monthly_cents: int = 0
    inventory: Mapping[str, int] | None = None  # live stock by sku; default the catalog's
    cycle: BillingCycle | None = None
    rounding: RoundingRule = RoundingRule.HALF_UP  # tax rounding: a setting
    hold_days: int = 30  # how long the quoted price holds
    # What the customer pays a month for a service now, by sku (a replaced service comes
    # off the bill at that price); default the catalog's price.
    existing_prices: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class QuoteLine:
    kind: str  # "product" | "replaced" | "bundle_discount" | "fee" | "proration"
    sku: str  # the product (or the bundle/fee code)
    name: str
    quantity: int
    recurring: bool  # counts in the monthly total (else one-time; proration lines: neither)
    unit_cents: int  # list price per unit (per month for recurring: quarterly/annual
    #                  spread evenly over their months, rounded half-up)
    list_cents: int  # unit_cents * quantity (signed: discounts/credits negative)
    discount_cents: int  # >= 0, what the promotion takes off this line
    net_cents: int  # list_cents - discount_cents
    promotion_code: str | None = None
    why: str = ""  # in words: "Internet Fast: 3 months free (first 3 monthly charges credited)"
    taxable: bool = True  # the region's tax applies (products, bundle discounts)
    free_months: int = 0  # months_free: this many monthly charges are credited


@dataclass(frozen=True, slots=True)
class QuoteProblem:
    # "outside_area" | "not_sold_here" | "promotion_expired" | "promotion_ineligible" |
    # "payment_method" | "out_of_stock" | "requires" | "unknown_product" | "quantity"
    code: str
    sku: str | None
    message: str  # what is wrong, for the agent
    # what is possible instead ("INT-1000 is sold here", "2 left in stock", "add TV Basic first")
    suggestion: str


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    problems: tuple[QuoteProblem, ...]
    one_time_cents: int
    monthly_cents: int
    one_time_tax_cents: int
    monthly_tax_cents: int
    fees_monthly_cents: int
    proration_cents: int  # charged (or credited, negative) on the next bill
    valid_until: date
    proration_tax_cents: int = 0
    # Monthly charge before tax for month 1, 2... while a months_free credit runs.
    first_months_cents: tuple[int, ...] = ()
    currency: str = "USD"

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def due_today_cents(self) -> int:
        return self.one_time_cents + self.one_time_tax_cents

    @property
    def monthly_total_cents(self) -> int:
        """The regular monthly charge with its tax (fees included)."""
        return self.monthly_cents + self.monthly_tax_cents


# --- working state -----------------------------------------------------------------------


@dataclass(slots=True)
class _Work:
    index: int
    cart: CartLine
    product: Product
    quantity: int
    unit: int
    recurring: bool
    discount: int = 0
    promo: Promotion | None = None
    free_months: int = 0
    why: list[str] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def list_cents(self) -> int:
        return self.unit * self.quantity


class _Problems:
    def __init__(self) -> None:
        self.items: list[QuoteProblem] = []
        self._seen: set[tuple[str, str | None, str]] = set()

    def add(self, code: str, sku: str | None, message: str, suggestion: str) -> None:
        key = (code, sku, message)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(QuoteProblem(code, sku, message, suggestion))


def _fmt(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    c = abs(cents)
    return f"{sign}${c // 100:,}.{c % 100:02d}"


def _sold(regions: Iterable[str], region: Region | None) -> bool:
    regions = tuple(regions)
    return ALL_REGIONS in regions or (region is not None and region.code in regions)


def _words(items: Sequence[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _monthly_unit(product: Product) -> int:
    if product.kind == ProductKind.ONE_TIME:
        return product.price_cents
    months = product.period_months
    if months == 1:
        return product.price_cents
    return round_cents(Decimal(product.price_cents) / months)


# --- the quote ---------------------------------------------------------------------------


def price_quote(catalog: Catalog, cart: Sequence[CartLine], ctx: QuoteContext) -> Quote:
    """Price ``cart`` for the customer described by ``ctx`` (see the module's rules)."""
    if ctx.hold_days < 0:
        raise ValueError("hold_days must not be negative")
    if ctx.cycle is not None:
        c = ctx.cycle
        if not c.start < c.end or not c.start <= c.change_on < c.end:
            raise ValueError(f"the change day {c.change_on} is not inside the cycle "
                             f"{c.start} .. {c.end} (end excluded)")
    problems = _Problems()
    region = catalog.regions.get(ctx.region_code) if ctx.region_code else None
    if region is None:
        served = _words([r.name for r in catalog.regions.values()])
        where = (f"Region {ctx.region_code!r} is not one we serve" if ctx.region_code
                 else "The service address is outside the service area")
        problems.add("outside_area", None, where,
                     f"We serve {served}: check the service address")

    works = _read_cart(catalog, cart, region, problems)
    _check_stock(works, ctx, problems)
    cart_skus = {w.sku for w in works}
    replaced_lines = _replaced(catalog, cart, ctx, problems)
    existing = set(ctx.existing_skus) - {ln.sku for ln in replaced_lines}
    _check_requires(catalog, works, cart_skus | existing, problems)
    bundle_lines = _bundles(catalog, cart, works, cart_skus, existing, region, problems)
    applied = _promotions(catalog, works, bundle_lines, ctx, region, problems)
    fee_lines = _fees(catalog, works, existing, region)

    product_lines = [_product_line(w) for w in works]
    recurring_lines = [*product_lines, *replaced_lines, *bundle_lines, *fee_lines]
    proration_lines = _proration(recurring_lines, ctx.cycle)
    lines = (*product_lines, *replaced_lines, *bundle_lines, *fee_lines, *proration_lines)

    monthly = sum(ln.net_cents for ln in lines if ln.recurring)
    one_time = sum(ln.net_cents for ln in lines
                   if not ln.recurring and ln.kind != "proration")
    proration = sum(ln.net_cents for ln in proration_lines)
    fees = sum(ln.net_cents for ln in fee_lines)
    rate = region.tax_rate if region is not None else Decimal(0)

    def tax(selected: Iterable[QuoteLine]) -> int:
        base = sum(ln.net_cents for ln in selected if ln.taxable)
        return round_cents(Decimal(base) * rate, ctx.rounding) if base else 0

    monthly_tax = tax(ln for ln in lines if ln.recurring)
    one_time_tax = tax(ln for ln in lines if not ln.recurring and ln.kind != "proration")
    proration_tax = tax(proration_lines)

    longest = max((ln.free_months for ln in product_lines), default=0)
    first_months = tuple(
        monthly - sum(ln.net_cents for ln in product_lines if ln.free_months >= m)
        for m in range(1, longest + 1))

    valid_until = ctx.today + timedelta(days=ctx.hold_days)
    for promo in applied:
        valid_until = min(valid_until, promo.valid_to)

    return Quote(
        lines=lines, problems=tuple(problems.items), one_time_cents=one_time,
        monthly_cents=monthly, one_time_tax_cents=one_time_tax,
        monthly_tax_cents=monthly_tax, fees_monthly_cents=fees, proration_cents=proration,
        valid_until=valid_until, proration_tax_cents=proration_tax,
        first_months_cents=first_months, currency=catalog.currency)


# --- products and checks -----------------------------------------------------------------


def _read_cart(catalog: Catalog, cart: Sequence[CartLine], region: Region | None,
               problems: _Problems) -> list[_Work]:
    works: list[_Work] = []
    for index, item in enumerate(cart):
        product = catalog.products.get(item.sku)
        if product is None:
            close = difflib.get_close_matches(item.sku.strip().upper(), list(catalog.products),
                                              n=3, cutoff=0.6)
            problems.add("unknown_product", item.sku,
                         f"There is no product {item.sku!r} in the catalog",
                         f"Did you mean {_words(close, 'or')}?" if close
                         else "Pick a product from the catalog")
            continue
        quantity = item.quantity
        if type(quantity) is not int or not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
            problems.add("quantity", product.sku,
                         f"{product.name}: a quantity of {quantity} is not possible",
                         f"Order {MIN_QUANTITY} to {MAX_QUANTITY}")
            continue
        if region is not None and not product.sold_in(region.code):
            problems.add("not_sold_here", product.sku,
                         f"{product.name} ({product.sku}) is not sold in {region.name}",
                         _sold_here_instead(catalog, product, region))
        work = _Work(index, item, product, quantity, _monthly_unit(product),
                     product.kind != ProductKind.ONE_TIME)
        if product.recurring and product.period_months > 1:
            work.why.append(f"{_fmt(work.unit)} a month, billed {_fmt(product.price_cents)} "
                            f"{_PERIOD_WORDS.get(product.billing_period or '', '')}".rstrip())
        if product.kind == ProductKind.USAGE and product.usage_price_cents:
            included = (f" over {product.included_units:,} included"
                        if product.included_units else "")
            work.why.append(f"plus {_fmt(product.usage_price_cents)} per "
                            f"{product.usage_unit or 'unit'}{included}, billed by use")
        works.append(work)
    return works


def _sold_here_instead(catalog: Catalog, product: Product, region: Region) -> str:
    if product.tier is not None:
        tiers = [p for p in catalog.family_tiers(product.family)
                 if p.sold_in(region.code) and p.kind == product.kind and p.sku != product.sku]
        if tiers:
            tier = product.tier
            best = min(tiers, key=lambda p: (abs((p.tier or 0) - tier), p.tier or 0))
            return f"{best.sku} ({best.name}) is sold here"
    names = [catalog.regions[c].name for c in product.regions if c in catalog.regions]
    return f"{product.sku} is sold in {_words(names)}" if names else "Not sold anywhere now"


def _check_stock(works: Sequence[_Work], ctx: QuoteContext, problems: _Problems) -> None:
    wanted: dict[str, int] = {}
    products: dict[str, Product] = {}
    for w in works:
        if w.product.inventory is not None or (ctx.inventory and w.sku in ctx.inventory):
            wanted[w.sku] = wanted.get(w.sku, 0) + w.quantity
            products[w.sku] = w.product
    for sku, quantity in wanted.items():
        live = ctx.inventory.get(sku) if ctx.inventory is not None else None
        stock = max(0, live if live is not None else (products[sku].inventory or 0))
        if quantity > stock:
            problems.add("out_of_stock", sku,
                         f"{products[sku].name}: {quantity} ordered, {stock} in stock",
                         f"{stock} left in stock" if stock else "None left in stock")


def _check_requires(catalog: Catalog, works: Sequence[_Work], have: set[str],
                    problems: _Problems) -> None:
    for w in works:
        for required in w.product.requires:
            if required not in have:
                needed = catalog.products.get(required)
                name = needed.name if needed is not None else required
                problems.add("requires", w.sku,
                             f"{w.product.name} needs {name} ({required}) on the account",
                             f"Add {name} first")


# --- bundles -----------------------------------------------------------------------------


def _bundles(catalog: Catalog, cart: Sequence[CartLine], works: Sequence[_Work],
             cart_skus: set[str], existing: set[str], region: Region | None,
             problems: _Problems) -> list[QuoteLine]:
    have = cart_skus | existing
    named: dict[str, list[str]] = {}
    for item in cart:
        if item.bundle_code:
            named.setdefault(item.bundle_code, []).append(item.sku)
    for code, skus in named.items():
        bundle = catalog.bundles.get(code)
        if bundle is None:
            problems.add("unknown_product", code, f"There is no bundle {code!r}",
                         "Pick a bundle from the catalog")
            continue
        if not _sold(bundle.regions, region) and region is not None:
            problems.add("not_sold_here", code, f"{bundle.name} is not sold in {region.name}",
                         "Price the services without the bundle")
        for sku in skus:
            if sku not in bundle.components:
                problems.add("requires", sku, f"{sku} is not part of {bundle.name}",
                             f"{bundle.name} is {_words(list(bundle.components))}")
        missing = [s for s in bundle.components if s not in have]
        if missing:
            names = [catalog.products[s].name for s in missing]
            problems.add("requires", code,
                         f"{bundle.name} needs {_words(missing)} too",
                         f"Add {_words(names)} to get {_fmt(bundle.discount_cents)} off a month")

    candidates = [b for b in catalog.bundles.values()
                  if set(b.components) <= have and cart_skus.intersection(b.components)
                  and _sold(b.regions, region)]
    candidates.sort(key=lambda b: (b.code not in named, -b.discount_cents, b.code))
    used: set[str] = set()
    lines: list[QuoteLine] = []
    for b in candidates:
        if used.intersection(b.components):
            continue
        used.update(b.components)
        lines.append(_bundle_line(b))
    return lines


def _bundle_line(bundle: Bundle) -> QuoteLine:
    amount = -bundle.discount_cents
    return QuoteLine(
        kind="bundle_discount", sku=bundle.code, name=bundle.name, quantity=1,
        recurring=True, unit_cents=amount, list_cents=amount, discount_cents=0,
        net_cents=amount,
        why=f"{bundle.name}: {_fmt(bundle.discount_cents)} off a month while "
            f"{_words(list(bundle.components))} stay on the account")


# --- promotions --------------------------------------------------------------------------


def _reasons(promo: Promotion, ctx: QuoteContext,
             region: Region | None) -> list[tuple[str, str, str]]:
    """Why ``promo`` cannot apply for this customer today: (code, reason, fix or "")."""
    out: list[tuple[str, str, str]] = []
    if ctx.today < promo.valid_from:
        out.append(("promotion_expired", f"it starts on {_day(promo.valid_from)}", ""))
    elif ctx.today > promo.valid_to:
        out.append(("promotion_expired", f"it ended on {_day(promo.valid_to)}", ""))
    el = promo.eligibility
    if not _sold(el.regions, region):
        out.append(("promotion_ineligible", f"it is only for {_words(list(el.regions))}",
                    ""))
    if el.new_customers_only and not ctx.is_new_customer:
        out.append(("promotion_ineligible", "it is for new customers only", ""))
    if ctx.tenure_months < el.min_tenure_months:
        out.append(("promotion_ineligible",
                    f"it needs {el.min_tenure_months} months with us "
                    f"(the customer has {ctx.tenure_months})", ""))
    if el.autopay_required and not ctx.autopay:
        out.append(("promotion_ineligible", "it needs autopay", "turn on autopay"))
    if ctx.payment_method is not None and ctx.payment_method not in el.payment_methods:
        methods = _words([_METHOD_WORDS.get(m, m) for m in el.payment_methods], "or")
        out.append(("payment_method",
                    f"it needs payment by {methods}, not "
                    f"{_METHOD_WORDS.get(ctx.payment_method, ctx.payment_method)}",
                    f"pay by {methods}"))
    return out


def _alternatives(catalog: Catalog, sku: str, ctx: QuoteContext, region: Region | None,
                  exclude: str) -> str:
    codes = [p.code for p in catalog.promotions_for(sku)
             if p.code != exclude and not _reasons(p, ctx, region)]
    name = catalog.products[sku].name if sku in catalog.products else sku
    if codes:
        return f"{_words(codes, 'or')} {'applies' if len(codes) == 1 else 'apply'} " \
               f"to {name} instead"
    return f"Price {name} without a promotion"


def _day(day: date) -> str:
    """As an agent reads it out: "May 31, 2026"."""
    return f"{day:%B} {day.day}, {day.year}"


def _method_note(promo: Promotion, ctx: QuoteContext) -> str:
    methods = promo.eligibility.payment_methods
    if ctx.payment_method is None and not set(_ALL_METHODS) <= set(methods):
        words = _words([_METHOD_WORDS.get(m, m) for m in methods], "or")
        return f" (needs payment by {words}: not chosen yet)"
    return ""


def _promotions(catalog: Catalog, works: Sequence[_Work], bundle_lines: Sequence[QuoteLine],
                ctx: QuoteContext, region: Region | None,
                problems: _Problems) -> list[Promotion]:
    """Apply the chosen promotions to ``works``; return the promotions applied."""
    by_code: dict[str, list[_Work]] = {}
    for w in works:
        code = w.cart.promotion_code
        if not code:
            continue
        promo = catalog.promotions.get(code)
        if promo is None:
            problems.add("promotion_ineligible", w.sku, f"There is no promotion {code!r}",
                         _alternatives(catalog, w.sku, ctx, region, code))
            w.why.append(f"{code} not applied: unknown promotion")
            continue
        if w.sku not in promo.applies_to:
            problems.add("promotion_ineligible", w.sku,
                         f"{promo.code} ({promo.name}) does not apply to {w.product.name}",
                         _alternatives(catalog, w.sku, ctx, region, code))
            w.why.append(f"{code} not applied: not for {w.sku}")
            continue
        reasons = _reasons(promo, ctx, region)
        if reasons:
            fixes = [fix for _, _, fix in reasons]
            suggestion = (_cap(f"{_words(fixes)} to get {promo.code}") if all(fixes)
                          else _alternatives(catalog, w.sku, ctx, region, code))
            problems.add(reasons[0][0], w.sku,
                         f"{promo.code} ({promo.name}) cannot apply: "
                         + "; ".join(r for _, r, _ in reasons),
                         suggestion)
            w.why.append(f"{code} not applied: {reasons[0][1]}")
            continue
        by_code.setdefault(code, []).append(w)

    applied: list[Promotion] = []
    for code, chosen in by_code.items():
        promo = catalog.promotions[code]
        try:
            ok = _apply(promo, chosen, works, bundle_lines, ctx, problems)
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise CatalogError(f"promotion {code} has a malformed value: {exc!r}") from exc
        if ok:
            applied.append(promo)
    return applied


def _value_int(value: Mapping[str, Any], key: str) -> int:
    raw = value[key]
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise TypeError(f"{key} must be a whole number of cents")
    return int(raw)


def _apply(promo: Promotion, chosen: list[_Work], works: Sequence[_Work],
           bundle_lines: Sequence[QuoteLine], ctx: QuoteContext,
           problems: _Problems) -> bool:
    value = promo.value
    note = _method_note(promo, ctx)
    kind = promo.kind
    if kind == PromotionKind.AMOUNT_OFF:
        amount = _value_int(value, "amount_cents")
        for w in chosen:
            w.promo = promo
            w.discount = min(w.list_cents, amount * w.quantity)
            each = " a month" if w.recurring else ""
            w.why.append(f"{promo.code}: {_fmt(w.discount)} off{each}{note}")
        return True
    if kind == PromotionKind.PERCENT_OFF:
        percent = Decimal(str(value["percent"]))
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise ValueError(f"percent {percent} is not 0..100")
        for w in chosen:
            w.promo = promo
            w.discount = min(w.list_cents,
                             round_cents(Decimal(w.list_cents) * percent / 100))
            w.why.append(f"{promo.code}: {percent.normalize():f}% off "
                         f"({_fmt(w.discount)}){note}")
        return True
    if kind == PromotionKind.MONTHS_FREE:
        months = _value_int(value, "months")
        for w in chosen:
            w.promo = promo
            if w.recurring and months > 0:
                w.free_months = months
                charges = "charge" if months == 1 else f"{months} monthly charges"
                first = "first monthly" if months == 1 else "first"
                w.why.append(f"{promo.name} ({first} {charges} credited){note}")
            else:
                w.why.append(f"{promo.code}: no monthly charge to credit")
        return True
    if kind == PromotionKind.BUY_GET:
        return _apply_buy_get(promo, chosen, works, note, problems)
    if kind == PromotionKind.TIERED_SPEND:
        return _apply_tiered(promo, chosen, works, bundle_lines, ctx, note, problems)
    raise ValueError(f"unknown promotion kind {kind}")


def _apply_buy_get(promo: Promotion, chosen: list[_Work], works: Sequence[_Work], note: str,
                   problems: _Problems) -> bool:
    buy, get = str(promo.value["buy"]), str(promo.value["get"])
    first = min(chosen, key=lambda w: w.index)
    bought = sum(w.quantity for w in works if w.sku == buy)
    get_lines = [w for w in works if w.sku == get and w.promo is None
                 and w.cart.promotion_code in (None, promo.code)]
    takers = sum(w.quantity for w in get_lines)
    free = min(takers, bought // 2 if buy == get else bought)
    buy_name = next((w.product.name for w in works if w.sku == buy), buy)
    get_name = next((w.product.name for w in works if w.sku == get), get)
    if free == 0:
        if not bought:
            message = f"{promo.code} needs {buy} in the order"
            suggestion = f"Add {buy_name} to get {get_name} free"
        elif buy == get:
            message = f"{promo.code} needs two {get}: one free per one bought"
            suggestion = f"Add a second {get_name}: it is free"
        else:
            message = f"{promo.code} makes {get} free: there is none to make free"
            suggestion = f"Add {get_name}: one is free with each {buy_name}"
        problems.add("promotion_ineligible", first.sku, message, suggestion)
        for w in chosen:
            w.why.append(f"{promo.code} not applied: {message[len(promo.code) + 1:]}")
        return False
    left = free
    for w in sorted(get_lines, key=lambda w: w.index):
        n = min(left, w.quantity)
        if n == 0 and w.cart.promotion_code is None:
            continue  # neither chose the promotion nor gets a free unit
        left -= n
        w.promo = promo
        w.discount = min(w.list_cents, n * w.unit)
        if n:
            w.why.append(f"{promo.code}: {n} free with {buy_name}{note}")
        else:
            w.why.append(f"{promo.code}: no free unit left (one per {buy} bought)")
    for w in chosen:
        if w.promo is None:
            w.promo = promo
            w.why.append(f"{promo.code}: {get} free with each {buy}{note}")
    return True


def _apply_tiered(promo: Promotion, chosen: list[_Work], works: Sequence[_Work],
                  bundle_lines: Sequence[QuoteLine], ctx: QuoteContext, note: str,
                  problems: _Problems) -> bool:
    tiers = sorted(((_value_int(t, "min_monthly_cents"), _value_int(t, "amount_off_cents"))
                    for t in promo.value["tiers"]), reverse=True)
    if not tiers:
        raise ValueError("no tiers")
    spend = (sum(w.list_cents for w in works if w.recurring)
             + sum(b.net_cents for b in bundle_lines) + ctx.existing_monthly_cents)
    reached = next(((low, off) for low, off in tiers if spend >= low), None)
    if reached is None:
        low, off = tiers[-1]
        first = min(chosen, key=lambda w: w.index)
        problems.add("promotion_ineligible", first.sku,
                     f"{promo.code} needs {_fmt(low)} a month; the order comes to "
                     f"{_fmt(spend)}",
                     f"Add {_fmt(low - spend)} a month to get {_fmt(off)} off")
        for w in chosen:
            w.why.append(f"{promo.code} not applied: spend {_fmt(spend)} below {_fmt(low)}")
        return False
    low, off = reached
    left = off
    for w in sorted(chosen, key=lambda w: (-w.list_cents, w.sku, w.index)):
        take = min(left, w.list_cents)
        left -= take
        w.promo = promo
        w.discount = take
        w.why.append(f"{promo.code}: {_fmt(take)} of {_fmt(off)} off a month at "
                     f"{_fmt(low)}+ spend ({_fmt(spend)} a month){note}")
    return True


# --- fees, lines, proration --------------------------------------------------------------


def _is_service(product: Product) -> bool:
    return product.recurring or (product.kind == ProductKind.USAGE and product.price_cents > 0)


def _fees(catalog: Catalog, works: Sequence[_Work], existing: set[str],
          region: Region | None) -> list[QuoteLine]:
    if region is None or not region.fees:
        return []
    ordered = {w.product.family for w in works if _is_service(w.product)}
    have = {p.family for s in existing if (p := catalog.products.get(s)) is not None
            and _is_service(p)}
    lines: list[QuoteLine] = []
    for fee in region.fees:
        families = set(fee.applies_to)
        if families & ordered and not families & have:
            names = [catalog.families.get(f, f) for f in fee.applies_to]
            lines.append(QuoteLine(
                kind="fee", sku=fee.code, name=fee.name, quantity=1, recurring=True,
                unit_cents=fee.amount_cents, list_cents=fee.amount_cents, discount_cents=0,
                net_cents=fee.amount_cents, taxable=False,
                why=f"{region.name}: {_fmt(fee.amount_cents)} a month with "
                    f"{_words(names, 'or')} service"))
    return lines


def _replaced(catalog: Catalog, cart: Sequence[CartLine], ctx: QuoteContext,
              problems: _Problems) -> list[QuoteLine]:
    """The services an up-sell takes the place of: their monthly charge comes off."""
    out: list[QuoteLine] = []
    for line in cart:
        old = line.replaces
        if old is None or old in {ln.sku for ln in out}:
            continue
        product = catalog.products.get(old)
        if product is None or old not in ctx.existing_skus:
            problems.add("requires", old,
                         f"The customer has no {product.name if product else old} to "
                         "replace", "Add the new service without replacing anything")
            continue
        price = (ctx.existing_prices or {}).get(old, _monthly_unit(product))
        new = catalog.products.get(line.sku)
        out.append(QuoteLine(
            kind="replaced", sku=old, name=f"Replaces {product.name}", quantity=1,
            recurring=True, unit_cents=-price, list_cents=-price, discount_cents=0,
            net_cents=-price, why=f"{product.name} ({_fmt(price)} a month) ends when "
            f"{new.name if new else line.sku} starts"))
    return out


def _product_line(w: _Work) -> QuoteLine:
    list_cents = w.list_cents
    return QuoteLine(
        kind="product", sku=w.sku, name=w.product.name, quantity=w.quantity,
        recurring=w.recurring, unit_cents=w.unit, list_cents=list_cents,
        discount_cents=w.discount, net_cents=list_cents - w.discount,
        promotion_code=w.promo.code if w.promo is not None else None,
        why="; ".join(w.why), free_months=w.free_months)


def _proration(lines: Sequence[QuoteLine], cycle: BillingCycle | None) -> list[QuoteLine]:
    if cycle is None:
        return []
    days, total = cycle.days_remaining, cycle.days
    last = cycle.end - timedelta(days=1)
    span = f"{days} of {total} days, {cycle.change_on.isoformat()} to {last.isoformat()}"
    out: list[QuoteLine] = []
    for ln in lines:
        if not ln.recurring or (ln.list_cents == 0 and ln.net_cents == 0):
            continue
        list_part = round_cents(Decimal(ln.list_cents * days) / total)
        net_part = round_cents(Decimal(ln.net_cents * days) / total)
        why = f"{ln.name}: {span}"
        if ln.free_months:
            why += " (the part cycle is not one of the free months)"
        out.append(QuoteLine(
            kind="proration", sku=ln.sku, name=f"{ln.name} (part cycle)", quantity=1,
            recurring=False, unit_cents=list_part, list_cents=list_part,
            discount_cents=list_part - net_part, net_cents=net_part,
            promotion_code=ln.promotion_code, why=why, taxable=ln.taxable))
    return out
