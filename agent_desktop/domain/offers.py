"""Offers: which up-sell, cross-sell or bundle to pitch to the customer in front of the
agent, in one line to read aloud, and why it ranks (shared/DOMAIN.md, "Catalog, orders,
up-sell and cross-sell": prompts).

The business owns the rules as data (resources/offers.json, read by
``OfferRules.from_dict``): the offers and their pitch templates, the weights that rank
them, the suppressions that keep a pitch away from a customer who should not hear one
(an open outage case, collections, a bill long past due, too many late payments, an
offer declined recently, a service they already have or better), and the natural moments
each may show at ("360", "wizard", "after_card_update", "after_payment"). Prices, tiers,
regions and promotions come from the catalog (``domain.catalog``).

``rank_offers`` is pure: the facts about one customer come in (``CustomerFacts``, read by
storage.offers with indexed queries), the eligible offers come out best first, each with
its pitch, the reason it ranks and the cart that accepting it puts in the order wizard;
``suppressed_because`` says in words why nothing is offered. ``evaluate`` gives both.

Tiers: a higher tier of a family the customer has is an up-sell; a family they do not
have is a cross-sell; a bundle adds the components they lack. The score is not money (a
plain float); every amount in cents stays an ``int``.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from itertools import accumulate
from typing import Any

from agent_desktop.domain.billing import EntryKind, LedgerEntry
from agent_desktop.domain.catalog import (
    PERIOD_MONTHS,
    Catalog,
    Product,
    ProductKind,
    Promotion,
    PromotionKind,
)
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.quote import CartLine

__all__ = [
    "PITCH_VARIABLES",
    "CartLine",
    "CaseFact",
    "CustomerFacts",
    "Offer",
    "OfferDef",
    "OfferKind",
    "OfferRules",
    "OfferRulesError",
    "PastResponse",
    "Ranking",
    "Response",
    "ServiceFact",
    "check_response",
    "evaluate",
    "late_bills",
    "monthly_cents",
    "promotion_words",
    "rank_offers",
    "suppressed_because",
]


class OfferRulesError(ValueError):
    """resources/offers.json is malformed (a data error, not the agent's)."""


class OfferKind(StrEnum):
    UP_SELL = "up_sell"
    CROSS_SELL = "cross_sell"
    BUNDLE = "bundle"


class Response(StrEnum):
    """What the customer said to an offer (offers_shown.response)."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    NOT_NOW = "not_now"


def check_response(value: object) -> Response | None:
    """The customer's answer as a ``Response`` (None: shown, no answer yet); the same
    rule on the desk and the server."""
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Response(value)
    except ValueError:
        raise UserFacingError(
            "The customer's answer must be accepted, declined or not now.") from None


# Services that count as "has it" (an order in flight, or a suspended line, still does).
HELD_STATUSES = frozenset({"active", "pending", "suspended"})

# The variables every pitch may use; an offer may add its own under "vars".
PITCH_VARIABLES = frozenset({
    "first_name", "product", "current", "family", "price", "adds", "promo", "bundle",
    "savings",
})
_WORD_VARIABLES: dict[str, frozenset[str]] = {
    "account_status_words": frozenset({"status"}),
    "open_case": frozenset({"family", "case_number"}),
    "past_due": frozenset({"days"}),
    "late_payments": frozenset({"count"}),
    "declined_words": frozenset({"offer", "date", "days"}),
    "accepted_words": frozenset({"offer", "date"}),
    "not_now_words": frozenset(),
    "collections": frozenset(),
    "opening": frozenset({"first_name"}),
}


# --- facts about the customer -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceFact:
    """One of the customer's services: what it is in the catalog and what they pay."""

    sku: str
    family: str
    tier: int | None
    status: str
    monthly_cents: int  # what the customer pays a month for it (price x quantity / period)
    quantity: int = 1

    @property
    def held(self) -> bool:
        return self.status in HELD_STATUSES


@dataclass(frozen=True, slots=True)
class CaseFact:
    case_number: str
    type: str
    status: str
    category: str = ""
    family: str | None = None  # the product family it is about, when the case names one


@dataclass(frozen=True, slots=True)
class PastResponse:
    """An answer the customer gave to an offer (matched by offer code, or by the sku or
    bundle it was for: older records name the product)."""

    offer_code: str
    response: str
    on: date


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the offer rules look at, for one customer (read by storage.offers)."""

    customer_id: str
    first_name: str = ""
    status: str = "active"
    services: tuple[ServiceFact, ...] = ()
    region: str = ""  # the sales region of the service address ("" when not known)
    monthly_spend_cents: int | None = None  # None: the sum of active services
    tenure_months: int = 0
    late_payments_12m: int = 0
    days_past_due: int = 0  # of the oldest unpaid bill
    in_collections: bool = False
    open_cases: tuple[CaseFact, ...] = ()
    responses: tuple[PastResponse, ...] = ()  # recent answers (accepted, declined, not now)
    payment_method_kinds: frozenset[str] = frozenset()  # "card", "ach" on file

    @property
    def spend_cents(self) -> int:
        if self.monthly_spend_cents is not None:
            return self.monthly_spend_cents
        return sum(s.monthly_cents for s in self.services if s.status == "active")


# --- the rules (resources/offers.json) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferDef:
    code: str
    name: str
    kind: OfferKind
    pitch: str
    sku: str | None = None  # up-sell and cross-sell: the product offered
    bundle_code: str | None = None  # bundle: the catalog bundle offered
    promotion_code: str | None = None
    moments: frozenset[str] = frozenset()
    priority: float = 0.0  # the business's nudge, added to the score
    variables: Mapping[str, str] = field(default_factory=dict)
    also: tuple[str, ...] = ()  # more skus the cart gets (a kit with monitoring)
    requires_families: tuple[str, ...] = ()  # the customer must have one of these
    from_skus: tuple[str, ...] = ()  # up-sell: only from these current products
    quantity: int = 1  # of the product offered (2: "a second line free")


@dataclass(frozen=True, slots=True)
class Weights:
    kind: Mapping[str, float]
    promotion: float = 10.0
    adds_per_10_dollars: float = 2.0
    stretch: float = 20.0
    stretch_floor_cents: int = 2000
    spend_per_100_dollars: float = 5.0
    tenure_per_year: float = 2.0
    tenure_years_cap: float = 10.0
    late_payment: float = 6.0
    late_payment_per_10_dollars: float = 2.0
    min_score: float = 15.0


@dataclass(frozen=True, slots=True)
class Suppression:
    account_statuses_allowed: frozenset[str] = frozenset({"active"})
    account_status_words: str = "No offers: the account is {status}."
    case_types: frozenset[str] = frozenset({"trouble_ticket"})
    case_statuses: frozenset[str] = frozenset(
        {"new", "open", "pending_customer", "pending_internal"})
    case_scope: str = "all"  # "all": no pitch at all; "family": none for that family
    case_words: str = "No offers while the {family} outage case {case_number} is open."
    collections: bool = True
    collections_words: str = "No offers while the account is in collections."
    past_due_days_over: int | None = 30
    past_due_words: str = "No offers while a bill is {days} days past due."
    late_payments_over: int | None = 3
    late_payments_words: str = "No offers: {count} late payments in the last 12 months."
    declined_within_days: int = 90
    declined_words: str = "Declined {offer} on {date}; it is not offered again for {days} days."
    accepted_within_days: int = 30
    accepted_words: str = "Accepted {offer} on {date}: the order is on its way."
    quiet_after_not_now_days: int = 1
    not_now_words: str = "They said 'not now' to an offer today: no more offers until tomorrow."
    case_category_families: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OfferRules:
    offers: tuple[OfferDef, ...]
    weights: Weights
    suppression: Suppression
    openings: Mapping[str, str]  # moment -> the words before the pitch
    moment_names: Mapping[str, str]
    max_offers: int = 3
    history_months: int = 12
    grace_days: int = 3

    @property
    def moments(self) -> frozenset[str]:
        return frozenset(self.openings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OfferRules:
        """From the shape of resources/offers.json; every template is checked here."""
        try:
            moments = data["moments"]
            openings = {str(k): str(v.get("opening", "")) for k, v in moments.items()}
            names = {str(k): str(v.get("name", k)) for k, v in moments.items()}
            weights = _weights(data.get("weights") or {})
            for kind in OfferKind:
                if kind.value not in weights.kind:
                    raise OfferRulesError(f"weights.kind has no weight for {kind.value}")
            suppression = _suppression(data.get("suppression") or {})
            history = data.get("payment_history") or {}
            offers = tuple(_offer(o, frozenset(openings)) for o in data["offers"])
            max_offers = int(data.get("max_offers", 3))
        except OfferRulesError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise OfferRulesError(f"malformed offer rules: {exc!r}") from exc
        codes = [o.code for o in offers]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise OfferRulesError(f"offer codes used twice: {', '.join(dupes)}")
        for moment, opening in openings.items():
            _check_template(opening, _WORD_VARIABLES["opening"], f"moment {moment}")
        return cls(offers, weights, suppression, openings, names, max_offers,
                   int(history.get("window_months", 12)), int(history.get("grace_days", 3)))

    def problems(self, catalog: Catalog) -> list[str]:
        """What in the rules does not match the catalog (unknown skus, bundles,
        promotions; an up-sell to an untiered product); empty when all is well."""
        found: list[str] = []
        for o in self.offers:
            skus = [*([o.sku] if o.sku else []), *o.also, *o.from_skus]
            found += [f"{o.code}: unknown product {s}" for s in skus if s not in catalog.products]
            if o.bundle_code and o.bundle_code not in catalog.bundles:
                found.append(f"{o.code}: unknown bundle {o.bundle_code}")
            if o.promotion_code and o.promotion_code not in catalog.promotions:
                found.append(f"{o.code}: unknown promotion {o.promotion_code}")
            target = catalog.products.get(o.sku or "")
            if o.kind == OfferKind.UP_SELL and target is not None and target.tier is None:
                found.append(f"{o.code}: an up-sell needs a tiered product ({o.sku} has none)")
            found += [f"{o.code}: unknown family {f}" for f in o.requires_families
                      if f not in catalog.families]
        return found


def _weights(w: Mapping[str, Any]) -> Weights:
    d = Weights(kind={})

    def number(key: str, default: float) -> float:
        return float(w.get(key, default))

    return Weights(
        kind={str(k): float(v) for k, v in (w.get("kind") or {}).items()},
        promotion=number("promotion", d.promotion),
        adds_per_10_dollars=number("adds_per_10_dollars", d.adds_per_10_dollars),
        stretch=number("stretch", d.stretch),
        stretch_floor_cents=int(w.get("stretch_floor_cents", d.stretch_floor_cents)),
        spend_per_100_dollars=number("spend_per_100_dollars", d.spend_per_100_dollars),
        tenure_per_year=number("tenure_per_year", d.tenure_per_year),
        tenure_years_cap=number("tenure_years_cap", d.tenure_years_cap),
        late_payment=number("late_payment", d.late_payment),
        late_payment_per_10_dollars=number("late_payment_per_10_dollars",
                                           d.late_payment_per_10_dollars),
        min_score=number("min_score", d.min_score),
    )


def _kind_needs(kind: OfferKind, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    sku, bundle = data.get("sku"), data.get("bundle")
    if kind == OfferKind.BUNDLE and not bundle:
        raise OfferRulesError(f"offer {data.get('code')}: a bundle offer names its bundle")
    if kind != OfferKind.BUNDLE and not sku:
        raise OfferRulesError(f"offer {data.get('code')}: an {kind.value} names its sku")
    return (str(sku) if sku else None), (str(bundle) if bundle else None)


def _offer(data: Mapping[str, Any], known_moments: frozenset[str]) -> OfferDef:
    code = str(data["code"])
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", code):
        raise OfferRulesError(f"offer code {code!r}: up to 32 letters, digits, - or _")
    try:
        kind = OfferKind(data["kind"])
    except ValueError:
        raise OfferRulesError(f"offer {code}: kind must be up_sell, cross_sell or "
                              "bundle") from None
    sku, bundle = _kind_needs(kind, data)
    variables = {str(k): str(v) for k, v in (data.get("vars") or {}).items()}
    pitch = str(data["pitch"])
    _check_template(pitch, PITCH_VARIABLES | frozenset(variables), f"offer {code}")
    moments = frozenset(str(m) for m in data.get("moments") or known_moments)
    unknown = sorted(moments - known_moments)
    if unknown:
        raise OfferRulesError(f"offer {code}: unknown moments {', '.join(unknown)}")
    return OfferDef(
        code=code, name=str(data.get("name") or code), kind=kind, pitch=pitch, sku=sku,
        bundle_code=bundle, promotion_code=data.get("promotion") or None, moments=moments,
        priority=float(data.get("priority", 0)), variables=variables,
        also=tuple(str(s) for s in data.get("also") or ()),
        requires_families=tuple(str(f) for f in data.get("requires_families") or ()),
        from_skus=tuple(str(s) for s in data.get("from_skus") or ()),
        quantity=int(data.get("quantity", 1)),
    )


def _suppression(data: Mapping[str, Any]) -> Suppression:
    case = data.get("open_case") or {}
    collections = data.get("collections") or {}
    past_due = data.get("past_due") or {}
    late = data.get("late_payments") or {}
    defaults = Suppression()
    scope = str(case.get("scope", "all"))
    if scope not in ("all", "family"):
        raise OfferRulesError("suppression.open_case.scope must be 'all' or 'family'")
    s = Suppression(
        account_statuses_allowed=frozenset(
            data.get("account_statuses_allowed") or defaults.account_statuses_allowed),
        account_status_words=str(data.get("account_status_words")
                                 or defaults.account_status_words),
        case_types=frozenset(case.get("types") or defaults.case_types),
        case_statuses=frozenset(case.get("statuses") or defaults.case_statuses),
        case_scope=scope,
        case_words=str(case.get("words") or defaults.case_words),
        collections=bool(collections.get("enabled", True)),
        collections_words=str(collections.get("words") or defaults.collections_words),
        past_due_days_over=(int(past_due["days_over"]) if past_due.get("days_over")
                            is not None else None),
        past_due_words=str(past_due.get("words") or defaults.past_due_words),
        late_payments_over=int(late["over"]) if late.get("over") is not None else None,
        late_payments_words=str(late.get("words") or defaults.late_payments_words),
        declined_within_days=int(data.get("declined_within_days",
                                          defaults.declined_within_days)),
        declined_words=str(data.get("declined_words") or defaults.declined_words),
        accepted_within_days=int(data.get("accepted_within_days",
                                          defaults.accepted_within_days)),
        accepted_words=str(data.get("accepted_words") or defaults.accepted_words),
        quiet_after_not_now_days=int(data.get("quiet_after_not_now_days",
                                              defaults.quiet_after_not_now_days)),
        not_now_words=str(data.get("not_now_words") or defaults.not_now_words),
        case_category_families={str(k): str(v) for k, v in
                                (data.get("case_category_families") or {}).items()},
    )
    for key, words in (("account_status_words", s.account_status_words),
                       ("open_case", s.case_words), ("collections", s.collections_words),
                       ("past_due", s.past_due_words),
                       ("late_payments", s.late_payments_words),
                       ("declined_words", s.declined_words),
                       ("accepted_words", s.accepted_words),
                       ("not_now_words", s.not_now_words)):
        _check_template(words, _WORD_VARIABLES[key], f"suppression {key}")
    return s


def _check_template(text: str, allowed: frozenset[str], where: str) -> None:
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise OfferRulesError(f"{where}: broken template {text!r} ({exc})") from None
    bad = sorted({f for f in fields if f not in allowed})
    if bad:
        raise OfferRulesError(f"{where}: unknown variables {', '.join(bad)} in {text!r}")


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """One offer for this customer, ready to read aloud."""

    code: str
    name: str
    kind: str  # OfferKind value
    sku: str | None
    bundle_code: str | None
    promotion_code: str | None
    pitch: str  # one line to read aloud
    why: str  # why it ranks, for the agent
    score: float
    cart: tuple[CartLine, ...]  # what accepting puts in the order wizard's cart
    adds_cents: int  # what it adds to the monthly bill (after a bundle's discount)
    moment: str


@dataclass(frozen=True, slots=True)
class Ranking:
    offers: tuple[Offer, ...]
    reason: str | None  # why nothing is offered (None when there are offers)


# --- ranking -----------------------------------------------------------------------------

# Why an offer was left out, most telling first (for the words when nothing is left).
_SKIP_ORDER = ("trouble", "accepted", "declined", "low_score", "region", "promotion",
               "already_has", "not_applicable")


@dataclass(frozen=True, slots=True)
class _Skip:
    why: str
    words: str = ""


def rank_offers(catalog: Catalog, rules: OfferRules, facts: CustomerFacts, today: date,
                moment: str) -> tuple[Offer, ...]:
    """The eligible offers for this customer at this moment, best first (at most
    ``rules.max_offers``)."""
    return evaluate(catalog, rules, facts, today, moment).offers


def suppressed_because(catalog: Catalog, rules: OfferRules, facts: CustomerFacts,
                       today: date, moment: str) -> str | None:
    """Why nothing is offered, in words for the agent (None when something is)."""
    return evaluate(catalog, rules, facts, today, moment).reason


def evaluate(catalog: Catalog, rules: OfferRules, facts: CustomerFacts, today: date,
             moment: str) -> Ranking:
    """The offers and, when there are none, the reason."""
    if moment not in rules.openings:
        raise ValueError(f"unknown moment {moment!r}")
    stop = _stopped(catalog, rules, facts, today)
    if stop is not None:
        return Ranking((), stop)
    ctx = _Context(catalog, rules, facts, today, moment)
    offers: list[Offer] = []
    skipped: list[_Skip] = []
    for definition in rules.offers:
        if moment not in definition.moments:
            continue
        result = ctx.consider(definition)
        if isinstance(result, _Skip):
            skipped.append(result)
        else:
            offers.append(result)
    offers.sort(key=lambda o: (-o.score, o.code))
    if offers:
        return Ranking(tuple(offers[:rules.max_offers]), None)
    return Ranking((), _explain(skipped, facts, catalog))


def monthly_cents(kind: str, price_cents: int, billing_period: str | None,
                  quantity: int = 1) -> int:
    """What a product costs a month: a recurring price over its period's months, a usage
    product's base price; a one-time charge adds nothing to the monthly bill."""
    if kind == ProductKind.ONE_TIME:
        return 0
    return price_cents * quantity // PERIOD_MONTHS.get(billing_period or "monthly", 1)


def _family_words(catalog: Catalog, family: str | None) -> str:
    if not family:
        return "service"
    name = catalog.families.get(family, family)
    return name if name.isupper() else name.lower()


def _stopped(catalog: Catalog, rules: OfferRules, facts: CustomerFacts,
             today: date) -> str | None:
    """A reason no offer at all may be made to this customer now."""
    s = rules.suppression
    if facts.status not in s.account_statuses_allowed:
        return s.account_status_words.format(status=facts.status)
    if s.collections and facts.in_collections:
        return s.collections_words
    if s.case_scope == "all":
        case = next(iter(_trouble_cases(rules, facts)), None)
        if case is not None:
            return s.case_words.format(family=_family_words(catalog, _case_family(rules, case)),
                                       case_number=case.case_number)
    if s.past_due_days_over is not None and facts.days_past_due > s.past_due_days_over:
        return s.past_due_words.format(days=facts.days_past_due)
    if s.late_payments_over is not None and facts.late_payments_12m > s.late_payments_over:
        return s.late_payments_words.format(count=facts.late_payments_12m)
    if s.quiet_after_not_now_days > 0 and any(
            r.response == Response.NOT_NOW and 0 <= (today - r.on).days
            < s.quiet_after_not_now_days for r in facts.responses):
        return s.not_now_words
    return None


def _trouble_cases(rules: OfferRules, facts: CustomerFacts) -> list[CaseFact]:
    s = rules.suppression
    return [c for c in facts.open_cases if c.type in s.case_types and c.status in s.case_statuses]


def _case_family(rules: OfferRules, case: CaseFact) -> str | None:
    return case.family or rules.suppression.case_category_families.get(case.category)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{rest:02d}"


def promotion_words(promotion: Promotion, catalog: Catalog) -> str:
    """A promotion in the words of a pitch: '3 months free', '$10.00 off a month'."""
    v = promotion.value
    if promotion.kind == PromotionKind.MONTHS_FREE:
        months = int(v.get("months", 1))
        return "the first month free" if months == 1 else f"{months} months free"
    if promotion.kind == PromotionKind.AMOUNT_OFF:
        return f"{_money(int(v.get('amount_cents', 0)))} off a month"
    if promotion.kind == PromotionKind.PERCENT_OFF:
        return f"{v.get('percent', '')}% off"
    if promotion.kind == PromotionKind.BUY_GET:
        get = str(v.get("get", ""))
        if get and get == v.get("buy"):
            return "a second line free"
        product = catalog.products.get(get)
        return f"a free {product.name if product else get}"
    tiers = v.get("tiers") or []
    top = max((int(t.get("amount_off_cents", 0)) for t in tiers), default=0)
    return f"up to {_money(top)} off a month"


def _tenure_words(months: int) -> str:
    years, rest = divmod(months, 12)
    if years:
        return f"customer {years} yr" + (f" {rest} mo" if rest else "")
    return f"customer {rest} mo"


class _Context:
    """One customer's facts, prepared once for every offer considered."""

    def __init__(self, catalog: Catalog, rules: OfferRules, facts: CustomerFacts,
                 today: date, moment: str) -> None:
        self.catalog, self.rules, self.facts = catalog, rules, facts
        self.today, self.moment = today, moment
        self.held = {s.sku: s for s in facts.services if s.held}
        self.families = {s.family for s in self.held.values()}
        # The highest tier held in each family, with the service at that tier.
        self.top: dict[str, ServiceFact] = {}
        for s in self.held.values():
            if s.tier is not None:
                best = self.top.get(s.family)
                if best is None or (best.tier or 0) < s.tier:
                    self.top[s.family] = s
        self.trouble: dict[str, CaseFact] = {}
        if rules.suppression.case_scope == "family":
            self.trouble = {(_case_family(rules, c) or ""): c
                            for c in _trouble_cases(rules, facts)}
        self.trouble_families = set(self.trouble)
        self.spend = facts.spend_cents
        opening = rules.openings.get(moment, "")
        self.opening = opening.format(first_name=facts.first_name) if opening else ""
        # Once the opening has said their name, the pitch does not say it again.
        self.name_in_pitch = "" if "{first_name}" in opening else facts.first_name

    # -- eligibility ------------------------------------------------------------------------
    def consider(self, d: OfferDef) -> Offer | _Skip:
        catalog = self.catalog
        if d.requires_families and not self.families & set(d.requires_families):
            return _Skip("not_applicable")
        if d.kind == OfferKind.BUNDLE:
            planned = self._bundle(d)
        else:
            target = catalog.products.get(d.sku or "")
            if target is None:
                return _Skip("not_applicable")  # rules and catalog disagree (see problems())
            planned = self._up_sell(d, target) if d.kind == OfferKind.UP_SELL \
                else self._cross_sell(d, target)
        if isinstance(planned, _Skip):
            return planned
        skus, replaced, current = planned
        promotion = catalog.promotions.get(d.promotion_code or "")
        if d.promotion_code and (promotion is None or not self._promotion_ok(promotion)):
            return _Skip("promotion")
        region = self.facts.region
        for sku in skus:
            if not catalog.products[sku].sold_in(region):
                return _Skip("region", region)
        bundle = catalog.bundles.get(d.bundle_code or "")
        if bundle is not None and not bundle.sold_in(region):
            return _Skip("region", region)
        touched = {catalog.products[s].family for s in skus}
        hit = touched & self.trouble_families
        if hit:
            case = self.trouble[sorted(hit)[0]]
            return _Skip("trouble", self.rules.suppression.case_words.format(
                family=_family_words(catalog, _case_family(self.rules, case)),
                case_number=case.case_number))
        declined = self._declined(d)
        if declined is not None:
            return declined
        return self._offer(d, skus, replaced, current, promotion)

    def _up_sell(self, d: OfferDef, target: Product
                 ) -> tuple[list[str], list[ServiceFact], ServiceFact | None] | _Skip:
        current = self.top.get(target.family)
        if current is None:
            return _Skip("not_applicable")  # nothing in the family to step up from
        if (current.tier or 0) >= (target.tier or 0) or target.sku in self.held:
            return _Skip("already_has")
        if d.from_skus and current.sku not in d.from_skus:
            return _Skip("not_applicable")
        # A tier that builds on the one they have (TV Preferred on TV Basic) keeps it.
        replaced = [] if current.sku in target.requires else [current]
        return self._with_requirements([target.sku, *d.also]), replaced, current

    def _cross_sell(self, d: OfferDef, target: Product
                    ) -> tuple[list[str], list[ServiceFact], ServiceFact | None] | _Skip:
        if target.sku in self.held or (target.tier is not None and target.family in self.top):
            return _Skip("already_has")
        return self._with_requirements([target.sku, *d.also]), [], None

    def _bundle(self, d: OfferDef
                ) -> tuple[list[str], list[ServiceFact], ServiceFact | None] | _Skip:
        bundle = self.catalog.bundles.get(d.bundle_code or "")
        if bundle is None:
            return _Skip("not_applicable")
        missing = [s for s in bundle.components if s not in self.held]
        if not missing:
            return _Skip("already_has")
        if not any(self.catalog.products[s].family in self.families
                   for s in bundle.components):
            return _Skip("not_applicable")  # pitched to someone with a piece (or its family)
        replaced: list[ServiceFact] = []
        for sku in missing:
            product = self.catalog.products[sku]
            current = self.top.get(product.family)
            if product.tier is None or current is None:
                continue
            if (current.tier or 0) > product.tier:
                return _Skip("already_has")  # they have better: the bundle would downgrade
            if current.sku not in product.requires and current.sku not in bundle.components \
                    and current not in replaced:
                replaced.append(current)
        return self._with_requirements([*missing, *d.also]), replaced, None

    def _with_requirements(self, skus: list[str]) -> list[str]:
        """The skus plus what they require that the customer does not have yet."""
        out: list[str] = []
        for sku in skus:
            product = self.catalog.products.get(sku)
            if product is None:
                continue
            for needed in product.requires:
                if needed not in self.held and needed not in out and needed not in skus:
                    out.append(needed)
            if sku not in out:
                out.append(sku)
        return out

    def _promotion_ok(self, p: Promotion) -> bool:
        e = p.eligibility
        f = self.facts
        if not p.running_on(self.today):
            return False
        if "*" not in e.regions and f.region not in e.regions:
            return False
        if not set(e.payment_methods) & f.payment_method_kinds and "check" not in \
                e.payment_methods:
            return False
        if e.autopay_required and not f.payment_method_kinds & {"card", "ach"}:
            return False
        if e.new_customers_only and f.tenure_months > 0:
            return False
        return f.tenure_months >= e.min_tenure_months

    def _declined(self, d: OfferDef) -> _Skip | None:
        """Declined recently (not again for a while), or accepted recently (the order is
        on its way)."""
        s = self.rules.suppression
        names = {d.code, *(x for x in (d.sku, d.bundle_code) if x)}
        for r in sorted(self.facts.responses, key=lambda r: r.on, reverse=True):
            if r.offer_code not in names:
                continue
            age = (self.today - r.on).days
            on = f"{r.on:%b} {r.on.day}"
            if r.response == Response.DECLINED and 0 <= age < s.declined_within_days:
                return _Skip("declined", s.declined_words.format(
                    offer=d.name, date=on, days=s.declined_within_days))
            if r.response == Response.ACCEPTED and 0 <= age < s.accepted_within_days:
                return _Skip("accepted", s.accepted_words.format(offer=d.name, date=on))
        return None

    # -- the offer ------------------------------------------------------------------------
    def _monthly(self, product: Product) -> int:
        return monthly_cents(product.kind, product.price_cents, product.billing_period)

    def _offer(self, d: OfferDef, skus: list[str], replaced: list[ServiceFact],
               current: ServiceFact | None, promotion: Promotion | None) -> Offer | _Skip:
        catalog, rules, f = self.catalog, self.rules, self.facts
        bundle = catalog.bundles.get(d.bundle_code or "")
        discount = bundle.discount_cents if bundle is not None else 0
        monthly_new = sum(self._monthly(catalog.products[s]) * (d.quantity if s == d.sku else 1)
                          for s in skus)
        adds = monthly_new - sum(s.monthly_cents for s in replaced) - discount
        w = rules.weights
        late = f.late_payments_12m
        adds_tens = max(adds, 0) / 1000
        score = (d.priority + w.kind[d.kind.value]
                 + (w.promotion if promotion is not None else 0)
                 + w.adds_per_10_dollars * adds / 1000
                 - w.stretch * max(adds, 0) / max(self.spend, w.stretch_floor_cents)
                 + w.spend_per_100_dollars * self.spend / 10000
                 + w.tenure_per_year * min(f.tenure_months / 12, w.tenure_years_cap)
                 - w.late_payment * late
                 - w.late_payment_per_10_dollars * late * adds_tens)
        score = round(score, 1)
        if score < w.min_score:
            return _Skip("low_score")
        target = catalog.products.get(d.sku or "")
        promo = promotion_words(promotion, catalog) if promotion is not None else ""
        price = monthly_new - discount if bundle is not None else \
            (self._monthly(target) if target is not None else monthly_new)
        current_product = catalog.products.get(current.sku) if current is not None else None
        values = {
            "first_name": self.name_in_pitch,
            "product": target.name if target is not None else (bundle.name if bundle else ""),
            "current": current_product.name if current_product is not None else "",
            "family": _family_words(catalog, target.family if target is not None else None),
            "price": _money(price),
            "adds": _money(adds),
            "promo": promo,
            "bundle": bundle.name if bundle is not None else "",
            "savings": _money(discount),
            **d.variables,
        }
        pitch = _tidy(" ".join(p for p in (self.opening, d.pitch.format_map(values)) if p))
        # An up-sell takes the place of the service it steps up from: its line says so,
        # and the quote takes that charge off (the change to the bill).
        by_family = {catalog.products[r.sku].family: r.sku for r in replaced
                     if r.sku in catalog.products}
        cart = tuple(replace(_cart_line(sku, d.quantity if sku == d.sku else 1, promotion,
                                        d.bundle_code if bundle is not None and
                                        sku in bundle.components else None),
                             replaces=by_family.pop(catalog.products[sku].family, None))
                     for sku in skus)
        return Offer(
            code=d.code, name=d.name, kind=d.kind.value, sku=d.sku,
            bundle_code=d.bundle_code, promotion_code=promotion.code if promotion else None,
            pitch=pitch, why=self._why(d, current_product, adds, promo, skus), score=score,
            cart=cart, adds_cents=adds, moment=self.moment)

    def _why(self, d: OfferDef, current: Product | None, adds: int, promo: str,
             skus: Sequence[str]) -> str:
        f = self.facts
        if d.kind == OfferKind.UP_SELL and current is not None:
            what = f"Up-sell from {current.name}"
        elif d.kind == OfferKind.CROSS_SELL:
            target = self.catalog.products[d.sku or skus[0]]
            what = f"Cross-sell: no {_family_words(self.catalog, target.family)} yet"
        else:
            names = ", ".join(self.catalog.products[s].name for s in skus)
            bundle = self.catalog.bundles[d.bundle_code or ""]
            what = (f"Bundle {bundle.name} adds {names} and takes "
                    f"{_money(bundle.discount_cents)} off")
        money = f"{'+' if adds >= 0 else ''}{_money(adds)} a month"
        late = f.late_payments_12m
        history = "pays on time" if late == 0 else \
            f"{late} late payment{'s' if late > 1 else ''} this year"
        parts = [f"{what}: {money}" + (f", {promo}" if promo else ""),
                 f"spends {_money(self.spend)} a month", _tenure_words(f.tenure_months),
                 history]
        return " \u00b7 ".join(parts)


def _cart_line(sku: str, quantity: int, promotion: Promotion | None,
               bundle_code: str | None) -> CartLine:
    promo = promotion.code if promotion is not None and sku in promotion.applies_to else None
    return CartLine(sku, quantity, promo, bundle_code)


def _tidy(text: str) -> str:
    """One line: no doubled spaces, and no dangling comma where a variable was empty
    (a business customer has no first name)."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*,\s*(?=[?.!:;,])", "", text)
    text = re.sub(r"(^|[.?!])\s*,\s*", lambda m: m.group(1) + (" " if m.group(1) else ""),
                  text)
    text = re.sub(r"(^|[.?!]\s)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text


def _explain(skipped: Sequence[_Skip], facts: CustomerFacts, catalog: Catalog) -> str:
    by_why: dict[str, _Skip] = {}
    for skip in skipped:
        by_why.setdefault(skip.why, skip)
    for why in _SKIP_ORDER:
        found = by_why.get(why)
        if found is None:
            continue
        skip = found
        if why in ("trouble", "accepted"):
            return skip.words
        if why == "declined":
            return f"{skip.words} Nothing else fits now."
        if why == "low_score":
            if facts.late_payments_12m:
                return ("No offer ranks high enough: "
                        f"{facts.late_payments_12m} late payment"
                        f"{'s' if facts.late_payments_12m > 1 else ''} in the last 12 months.")
            return "No offer fits this customer well enough right now."
        if why in ("region", "promotion"):
            region = catalog.regions.get(facts.region)
            where = f" ({region.name})" if region is not None else ""
            return f"Nothing we could offer is available at their address{where} now."
        if why == "already_has":
            return "They already have everything offered here, or better."
    return "No offer applies to their services."


# --- payment history ---------------------------------------------------------------------


def late_bills(entries: Iterable[LedgerEntry], since: date, as_of: date,
               grace_days: int = 0) -> int:
    """How many bills due on or after ``since`` were not covered by payments and credits
    made by their due day (plus ``grace_days``), counting only deadlines before ``as_of``.

    Money in pays the oldest charge first (as ``billing.aging`` does): a bill is late when
    the credits posted by its deadline fall short of every charge up to and including it.
    Refunds and voids take money back out; an opening balance is a charge (or a credit)
    dated before the window."""
    charges: list[LedgerEntry] = []
    money: list[tuple[date, int]] = []
    for e in entries:
        if e.kind in (EntryKind.INVOICE, EntryKind.DEBIT_ADJUSTMENT) and e.amount_cents > 0:
            charges.append(e)
        else:
            money.append((e.posted_on, -e.amount_cents))  # payments and credits count +
    charges.sort(key=lambda e: (e.effective_due_on, e.posted_on, e.entry_id))
    money.sort()
    days = [d for d, _ in money]
    paid = list(accumulate(m for _, m in money))
    late = 0
    owed = 0
    grace = timedelta(days=grace_days)
    for charge in charges:
        owed += charge.amount_cents
        due = charge.effective_due_on
        deadline = due + grace
        if charge.kind != EntryKind.INVOICE or due < since or deadline >= as_of:
            continue
        count = bisect_right(days, deadline)
        if (paid[count - 1] if count else 0) < owed:
            late += 1
    return late

