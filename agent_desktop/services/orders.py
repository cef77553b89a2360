"""Keying orders: what the order wizard starts from, drafts and saved quotes kept for
later, and placing the order.

``place_order`` prices the cart again right before it writes anything, with the catalog
and stock in the store at that moment, and refuses (``OrderRefused``, with the quote's
problem and what is possible instead) when the order can no longer be had at the price
the customer heard: a product ran out, a promotion ended, the price changed, or the
quote's hold passed. Otherwise it is one transaction: the order (status captured, its
number made here from its id: domain.orders.order_number), its lines, the audit row and
the ``place_order`` outbox mutation. The server prices it again and takes it from there
(server_stub.orders).

Drafts and saved quotes live in the orders table as status ``draft`` on this desk only
(storage.orders explains why); keeping one writes an audit row but queues nothing.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from agent_desktop.domain import billing
from agent_desktop.domain import orders as lifecycle
from agent_desktop.domain.catalog import Catalog, Product
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.order_wizard import (
    AddressChoice,
    CustomerFacts,
    MethodChoice,
    Offer,
    OrderWizard,
    Step,
    dollars,
)
from agent_desktop.domain.quote import CartLine, Quote, QuoteProblem, price_quote
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage import orders as local
from agent_desktop.storage.models import new_id
from agent_desktop.storage.store import Store

__all__ = [
    "DraftInfo",
    "DraftKept",
    "OrderPlaced",
    "OrderRefused",
    "OrderStart",
    "customer_facts",
    "discard_draft",
    "load_catalog",
    "place_order",
    "prepare_order",
    "record_offers",
    "resume_draft",
    "save_draft",
    "save_quote",
]


log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def load_catalog(store: Store) -> Catalog:
    """The catalog as the store holds it (with its stock), off the UI thread."""
    with store.reading() as session:
        return Catalog.from_dict(local.catalog_data(session))


def _method_label(kind: str, brand: str, last4: str) -> str:
    if kind == "card":
        return f"{(brand or 'card').title()} ending {last4}"
    return f"Bank account ending {last4}"


def _add_months(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def current_cycle(period: tuple[date, date] | None, today: date) -> tuple[date, date] | None:
    """The monthly bill cycle running on ``today`` (end excluded), rolled on from the
    latest bill's period; None without a bill (nothing to prorate against)."""
    if period is None:
        return None
    start, months = period[0], 0
    while _add_months(start, months + 1) <= today:
        months += 1
    return _add_months(start, months), _add_months(start, months + 1)


def _facts(rows: local.CustomerRows, today: date) -> CustomerFacts:
    cycle = current_cycle(rows.cycle, today)
    return CustomerFacts(
        customer_id=rows.id, display_name=rows.display_name,
        is_new=not rows.ever_served,
        tenure_months=billing.tenure_months(rows.customer_since, today),
        existing_skus=tuple(dict.fromkeys(sku for sku, _q, _p in rows.services)),
        existing_monthly_cents=sum(q * p for _s, q, p in rows.services),
        existing_prices=tuple((sku, q * p) for sku, q, p in rows.services),
        addresses=tuple(AddressChoice(*a) for a in rows.addresses),
        methods=tuple(MethodChoice(i, k, _method_label(k, b, last4), d)
                      for i, k, b, last4, d in rows.methods),
        account_number=rows.account_number,
        cycle_start=cycle[0] if cycle else None,
        cycle_end=cycle[1] if cycle else None)


def customer_facts(store: Store, customer_id: str, today: date) -> CustomerFacts:
    """What the wizard needs to know about the customer: new or not (no service and no
    order ever), tenure, active services, addresses, payment methods, the bill cycle."""
    with store.reading() as session:
        return _facts(local.customer_rows(session, customer_id, today), today)


@dataclass(frozen=True, slots=True)
class DraftInfo:
    id: str
    kind: str  # draft | saved_quote | server
    kept_at: datetime
    monthly_cents: int
    one_time_cents: int
    valid_until: date | None
    summary: str  # "Internet + TV Duo, 2 lines"


@dataclass(frozen=True, slots=True)
class OrderStart:
    """Everything the wizard opens with, read in one go off the UI thread."""

    catalog: Catalog
    customer: CustomerFacts | None
    drafts: tuple[DraftInfo, ...]
    today: date
    # The offer engine's offers for the wizard's moment (services.offers), as the wizard
    # takes them, with the engine's own offer by code (to record the answers), or why
    # there are none (an open outage, collections...). None: the engine did not answer,
    # and the wizard suggests its own.
    offers: tuple[Offer, ...] | None = None
    engine_offers: Mapping[str, Any] = field(default_factory=dict)
    offers_reason: str | None = None


def _engine_offers(store: Store, customer_id: str, today: date
                   ) -> tuple[tuple[Offer, ...] | None, dict[str, Any], str | None]:
    try:
        from agent_desktop.services import offers as engine

        found = engine.offers_for(store, customer_id, "wizard", today=today)
    except Exception:  # an optional enrichment: the order is keyed without it
        log.exception("the offer engine did not answer for the order wizard")
        return None, {}, None
    taken = tuple(
        Offer(o.code, "up_sell" if o.kind == "up_sell" else "cross_sell", o.name, o.pitch,
              tuple(o.cart))
        for o in found.offers)
    return taken, {o.code: o for o in found.offers}, found.reason


def _info(row: local.DraftRow, catalog: Catalog) -> DraftInfo:
    if row.wizard is not None:
        skus = [str(c["sku"]) for c in row.wizard.get("cart") or ()]
    else:
        skus = list(row.skus)
    names = [catalog.products[s].name if s in catalog.products else s for s in skus]
    summary = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return DraftInfo(row.id, row.kind, row.kept_at, row.monthly_cents, row.one_time_cents,
                     row.valid_until, summary or "nothing in the cart yet")


def prepare_order(store: Store, customer_id: str | None, today: date) -> OrderStart:
    with store.reading() as session:
        catalog = Catalog.from_dict(local.catalog_data(session))
        if customer_id is None:
            return OrderStart(catalog, None, (), today)
        facts = _facts(local.customer_rows(session, customer_id, today), today)
        drafts = tuple(_info(r, catalog) for r in local.drafts_for(session, customer_id))
    offers, engine_offers, reason = _engine_offers(store, customer_id, today)
    return OrderStart(catalog, facts, drafts, today, offers, engine_offers, reason)


def record_offers(store: Store, who: AgentContext, customer_id: str,
                  answers: Sequence[tuple[Any, str]]) -> int:
    """Record each offer the engine gave that the customer heard in the wizard, with the
    answer (services.offers.record_offer: offers_shown, audited, synced)."""
    from agent_desktop.services import offers as engine

    for offer, response in answers:
        engine.record_offer(store, who, customer_id, offer, response)
    return len(answers)


def resume_draft(store: Store, draft_id: str, today: date) -> OrderWizard:
    """A kept draft as it was left, with fresh facts about the customer; a saved quote
    keyed without the customer on the line (``OrderWizard.from_saved_quote``); a draft the
    server sent (no wizard) as a new order with its lines in the cart."""
    with store.reading() as session:
        row = local.draft(session, draft_id)
        if row is None:
            raise UserFacingError("That draft is gone: it was placed or discarded.")
        catalog = Catalog.from_dict(local.catalog_data(session))
        facts = _facts(local.customer_rows(session, row.customer_id, today), today)
    if row.wizard is None:
        return OrderWizard(catalog, today, customer=facts,
                           cart=[CartLine(s) for s in row.skus if s in catalog.products])
    if row.kind == "saved_quote":
        return OrderWizard.from_saved_quote(catalog, row.wizard, today, facts)
    return OrderWizard.from_draft(catalog, row.wizard, today, facts)


@dataclass(frozen=True, slots=True)
class DraftKept:
    order_id: str
    kind: str
    customer_id: str
    summary: str
    changes: Changes


def _keep(store: Store, who: AgentContext, wizard: OrderWizard, kind: str,
          data: dict[str, Any], quote: Quote | None) -> DraftKept:
    facts = wizard.customer
    if facts is None:
        raise UserFacingError("There is no customer yet, so there is nothing to keep: a "
                              "draft belongs to a customer.")
    holds = wizard.accepted.valid_until if kind == "saved_quote" and wizard.accepted \
        else None
    with store.transaction() as session:
        local.keep_draft(
            session, order_id=wizard.order_id,
            order_number=lifecycle.order_number(wizard.order_id),
            customer_id=facts.customer_id, agent_id=who.agent_id,
            address_id=wizard.address_id, kind=kind, wizard=data,
            one_time_cents=quote.one_time_cents if quote else 0,
            monthly_cents=quote.monthly_cents if quote else 0,
            tax_cents=(quote.one_time_tax_cents + quote.monthly_tax_cents) if quote else 0,
            valid_until=holds,
            install_on=wizard.install_on, interaction_id=wizard.interaction_id)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="order.keep_quote" if kind == "saved_quote" else "order.keep_draft",
                     entity_type="order", entity_id=wizard.order_id,
                     customer_id=facts.customer_id, workstation=who.workstation,
                     after={"step": wizard.step.value, "cart": [c.sku for c in wizard.cart],
                            "monthly_cents": quote.monthly_cents if quote else None})
    what = "Quote saved" if kind == "saved_quote" else "Draft kept"
    held = f", price held until {holds:%b} {holds.day}" if holds else ""
    return DraftKept(wizard.order_id, kind, facts.customer_id,
                     f"{what} for {facts.display_name}{held}: resume it with Ctrl+Shift+O "
                     "on their 360.", Changes(customers=frozenset({facts.customer_id})))


def save_draft(store: Store, who: AgentContext, wizard: OrderWizard) -> DraftKept:
    """Keep the order as it is (any step) to finish later on this desk; a saved quote
    stays a saved quote (its price holds as saved)."""
    quote = wizard.cached_quote()
    kind = "saved_quote" if wizard.saved_on is not None else "draft"
    return _keep(store, who, wizard, kind, wizard.to_draft(), quote)


def save_quote(store: Store, who: AgentContext, wizard: OrderWizard) -> DraftKept:
    """Keep the priced quote for later (swivel-chair: the order can be keyed from it
    without the customer on the line, while its price holds)."""
    data = wizard.saved_quote()  # refuses a quote with problems
    return _keep(store, who, wizard, "saved_quote", data, wizard.quote())


def discard_draft(store: Store, who: AgentContext, order_id: str) -> Changes:
    with store.transaction() as session:
        row = local.draft(session, order_id)
        if row is None or not local.delete_draft(session, order_id):
            return Changes()
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="order.discard_draft", entity_type="order", entity_id=order_id,
                     customer_id=row.customer_id, workstation=who.workstation)
    return Changes(customers=frozenset({row.customer_id}))


# --- placing -------------------------------------------------------------------------------


class OrderRefused(UserFacingError):
    """The order cannot be placed as quoted; ``message`` says why and what is possible.
    ``catalog`` is the catalog as it is now (stock included), ``quote`` the new price."""

    def __init__(self, message: str, *, step: Step = Step.REVIEW,
                 problems: tuple[QuoteProblem, ...] = (), catalog: Catalog | None = None,
                 quote: Quote | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.problems = problems
        self.catalog = catalog
        self.quote = quote


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: str
    order_number: str
    customer_id: str
    one_time_cents: int
    monthly_cents: int
    due_today_cents: int
    summary: str  # the notice: "Order ORD-... placed for ..."
    pay_now: str  # "" or what to do about the due-today total
    changes: Changes


def _in_stock_instead(catalog: Catalog, product: Product, region: str | None,
                      inventory: dict[str, int]) -> list[Product]:
    return [p for p in catalog.products.values()
            if p.family == product.family and p.kind == product.kind and p.sku != product.sku
            and p.inventory is not None and inventory.get(p.sku, p.inventory) > 0
            and (region is None or p.sold_in(region))]


def _refusal(catalog: Catalog, wizard: OrderWizard, quote: Quote) -> OrderRefused:
    first = quote.problems[0]
    text = OrderWizard.problem_text(first)
    product = catalog.products.get(first.sku or "")
    if first.code == "out_of_stock" and product is not None:
        stock = {s: p.inventory for s, p in catalog.products.items() if p.inventory is not None}
        others = _in_stock_instead(catalog, product, wizard.region_code,
                                   {k: v for k, v in stock.items() if v is not None})
        text = (f"{product.name} ran out while the quote was open: {first.message}. "
                + (f"In stock instead: {', '.join(o.name for o in others)}. " if others
                   else "")
                + "Change the order with the customer (Alt+B back to Products), or keep it "
                "as a draft until stock returns.")
    step = Step.PAYMENT if first.code == "payment_method" else Step.REVIEW
    return OrderRefused(f"The order was not placed. {text}", step=step,
                        problems=quote.problems, catalog=catalog, quote=quote)


def _lines(wizard: OrderWizard, quote: Quote,
           services: dict[str, str]) -> list[dict[str, Any]]:
    """The order's lines; an up-sell's line names the service it takes the place of
    (``replaces``: its sku, ``replaces_service_id``: the service, ended at completion)."""
    products = [q for q in quote.lines if q.kind == "product"]
    out = []
    for cart_line, priced in zip(wizard.cart, products, strict=True):
        out.append({"id": new_id(), "sku": cart_line.sku, "quantity": cart_line.quantity,
                    "promotion_code": cart_line.promotion_code,
                    "bundle_code": cart_line.bundle_code, "description": priced.name,
                    "unit_price_cents": priced.unit_cents,
                    "discount_cents": priced.discount_cents, "recurring": priced.recurring,
                    "replaces": cart_line.replaces,
                    "replaces_service_id": services.get(cart_line.replaces or "")})
    return out


def _quote_lines(quote: Quote) -> list[dict[str, Any]]:
    return [{"kind": q.kind, "sku": q.sku, "name": q.name, "quantity": q.quantity,
             "recurring": q.recurring, "net_cents": q.net_cents,
             "discount_cents": q.discount_cents, "promotion_code": q.promotion_code,
             "why": q.why} for q in quote.lines]


def place_order(store: Store, who: AgentContext, wizard: OrderWizard, *,
                today: date | None = None) -> OrderPlaced:
    """Place the order the wizard holds (the CONFIRM step): priced again now and refused
    if anything changed since the customer heard the price; then the order, its lines,
    the audit row and the ``place_order`` mutation in one transaction. The same order
    again (a double Enter) returns the order already placed.

    The ``place_order`` mutation's args (what server_stub.orders applies):

    - ``id``: the order's id (32 hex), made when the wizard opened; also the idempotency
      key. ``order_number``: ``domain.orders.order_number(id)``.
    - ``customer_id``; ``interaction_id`` (or None); ``service_address_id`` (an address
      of the customer, or None); ``install_on``: "YYYY-MM-DD" or None (nothing installed).
    - ``lines``: one per cart line, in cart order: ``id`` (32 hex, made here), ``sku``,
      ``quantity``, ``promotion_code`` (or None), ``bundle_code`` (or None), and as priced
      here: ``description``, ``unit_price_cents``, ``discount_cents``, ``recurring``.
    - ``payment_method_kind``: "card" | "ach" | "check"; ``payment_method_id``: the
      method on file (or None: a new card or a check, taken with Ctrl+P after the order);
      ``autopay`` (bool); ``terms_accepted`` (always true here).
    - What the price depends on: ``is_new_customer``, ``tenure_months``,
      ``existing_skus`` (active services), ``existing_monthly_cents``.
    - ``totals``: the client's computed quote: ``one_time_cents``, ``monthly_cents``,
      ``one_time_tax_cents``, ``monthly_tax_cents``, ``fees_monthly_cents``,
      ``proration_cents``, ``due_today_cents``, ``valid_until`` ("YYYY-MM-DD").
    - ``quote_lines``: every priced line (kind, sku, name, quantity, recurring,
      net_cents, discount_cents, promotion_code, why), for the order's quote JSON.
    - ``offers``: the offers put to the customer: ``code``, ``kind``, ``response``
      (accepted | declined | not_now).
    - ``at`` (ISO 8601 UTC), ``actor_id``, ``summary`` (words for "needs attention").
    """
    today = today or wizard.today
    if wizard.customer is None:
        raise UserFacingError("Choose the customer first.")
    if wizard.interaction_id is None:  # placed during a call: the call's order
        wizard.interaction_id = who.call.for_customer(wizard.customer.customer_id)
    with store.transaction() as session:
        existing = local.draft(session, wizard.order_id)
        placed = local.order_row(session, wizard.order_id)
        if placed is not None and (existing is None or existing.kind == "server"):
            if placed.status == "draft":
                raise UserFacingError("This order id belongs to another draft; start the "
                                      "order again.")
            return OrderPlaced(
                placed.id, placed.order_number, placed.customer_id, placed.one_time_cents,
                placed.monthly_cents, placed.one_time_cents,
                f"Order {placed.order_number} is already placed.", "", Changes())
        catalog = Catalog.from_dict(local.catalog_data(session))
        facts = _facts(local.customer_rows(session, wizard.customer.customer_id, today),
                       today)
        if wizard.customer.is_new:  # created for this order: still new while it is keyed
            facts = replace(facts, is_new=True)
        fresh = OrderWizard.from_draft(catalog, wizard.to_draft(), today, facts)
        fresh.step = Step.CONFIRM
        ctx = fresh.quote_context()
        quote = price_quote(catalog, list(fresh.cart), ctx)
        if quote.problems:
            raise _refusal(catalog, fresh, quote)
        open_steps = [s for s in (Step.CUSTOMER, Step.ADDRESS, Step.PRODUCTS, Step.CONFIGURE,
                                  Step.PAYMENT) if fresh.problems(s)]
        if open_steps:
            step = open_steps[0]
            raise OrderRefused(f"The order was not placed: {fresh.problems(step)[0]}",
                               step=step, catalog=catalog, quote=quote)
        accepted = wizard.accepted
        if accepted is None:
            raise OrderRefused("Read the quote to the customer first (Review).",
                               catalog=catalog, quote=quote)
        if accepted.valid_until < today:
            raise OrderRefused(
                f"The order was not placed: the price held until "
                f"{accepted.valid_until:%b} {accepted.valid_until.day}. The quote today is "
                f"{dollars(quote.monthly_cents)} a month and {dollars(quote.due_today_cents)} "
                "due today: read it to the customer and confirm again.",
                catalog=catalog, quote=quote)
        if not accepted.same_price(quote):
            raise OrderRefused(
                "The order was not placed: the price changed since the customer heard it. "
                f"It is now {dollars(quote.monthly_cents)} a month and "
                f"{dollars(quote.due_today_cents)} due today (it was "
                f"{dollars(accepted.monthly_cents)} and "
                f"{dollars(accepted.due_today_cents)}): read the new quote and confirm "
                "again.", catalog=catalog, quote=quote)
        number = lifecycle.order_number(wizard.order_id)
        if local.number_taken(session, number, wizard.order_id):
            raise UserFacingError("This order's number is taken on this desk; start the "
                                  "order again (it gets a new number).")
        summary = (f"Order {number} for {facts.display_name}: "
                   f"{', '.join(fresh.line_name(c) for c in fresh.cart)}")
        args: dict[str, Any] = {
            "id": wizard.order_id, "order_number": number,
            "customer_id": facts.customer_id, "interaction_id": wizard.interaction_id,
            "service_address_id": fresh.address_id,
            "install_on": fresh.install_on.isoformat()
            if fresh.install_on and fresh.needs_install() else None,
            "lines": _lines(fresh, quote, local.service_ids(session, facts.customer_id)),
            "existing_prices": dict(ctx.existing_prices or {}),
            "payment_method_kind": fresh.payment_kind,
            "payment_method_id": fresh.payment_method_id,
            "autopay": fresh.autopay, "terms_accepted": True,
            "is_new_customer": ctx.is_new_customer, "tenure_months": ctx.tenure_months,
            "existing_skus": list(ctx.existing_skus),
            "existing_monthly_cents": ctx.existing_monthly_cents,
            "totals": {"one_time_cents": quote.one_time_cents,
                       "monthly_cents": quote.monthly_cents,
                       "one_time_tax_cents": quote.one_time_tax_cents,
                       "monthly_tax_cents": quote.monthly_tax_cents,
                       "fees_monthly_cents": quote.fees_monthly_cents,
                       "proration_cents": quote.proration_cents,
                       "due_today_cents": quote.due_today_cents,
                       "valid_until": quote.valid_until.isoformat()},
            "quote_lines": _quote_lines(quote),
            "offers": fresh.offers_shown(),
            "at": _now().isoformat(), "actor_id": who.agent_id, "summary": summary,
        }
        local.apply_place_order(session, args)
        audit.record(session, actor_id=who.agent_id, actor_role=who.role,
                     action="order.place", entity_type="order", entity_id=wizard.order_id,
                     customer_id=facts.customer_id, workstation=who.workstation,
                     before={"status": "draft"} if existing is not None else {},
                     after={"status": "captured", "order_number": number,
                            "lines": [c.sku for c in fresh.cart],
                            "one_time_cents": quote.one_time_cents,
                            "monthly_cents": quote.monthly_cents})
        outbox.enqueue(session, "place_order", args)
    due = quote.due_today_cents
    method = next((m.label for m in facts.methods if m.id == fresh.payment_method_id), "")
    pay_now = "" if due <= 0 else (
        f"{dollars(due)} is due today: take it with Ctrl+P"
        + (f" on {method}." if method else " (a new card or the check is taken there)."))
    return OrderPlaced(
        wizard.order_id, number, facts.customer_id, quote.one_time_cents,
        quote.monthly_cents, due,
        f"Order {number} placed for {facts.display_name}: {dollars(quote.monthly_cents)} a "
        f"month" + (f", {dollars(due)} due today" if due else "") + ".", pay_now,
        Changes(customers=frozenset({facts.customer_id})))

