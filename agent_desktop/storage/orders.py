"""Orders in the store: the local effect of placing an order, the drafts and saved quotes
kept on this desk, and what the order wizard reads (the catalog as the store holds it,
live stock, the customer's addresses, services and payment methods).

Drafts and saved quotes are rows of ``orders`` with status ``draft``: the order's own id
(made when the wizard opened) is the draft's, so placing a draft turns that very row into
the order, and the 360's Orders tab lists it as a draft. Its ``quote`` JSON holds
``{"kind": "draft" | "saved_quote", "wizard": OrderWizard.to_draft(), ...totals}``. They
belong to this desk: no outbox mutation is queued for them, the server never hears of
them, and a pull never overwrites them (the server has no such row to send). An order
needs a customer (``orders.customer_id`` is required), so a wizard left before a customer
was chosen has no draft to keep. Draft rows that came from the server (the demo's, with
no ``wizard``) are read as a cart to start from, never turned into an order in place: the
server already holds that id.

``apply_place_order`` is the one place a placed order is written on the desk: by
services.orders, in the same transaction as the audit row and the outbox mutation, and
again under a pull (sync_store.REAPPLY) until the server answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.storage.models import (
    Address,
    Bundle,
    BundleComponent,
    Customer,
    Invoice,
    Order,
    OrderLine,
    PaymentMethod,
    Product,
    ProductFamily,
    Promotion,
    Region,
    Service,
)

__all__ = [
    "LOCAL",
    "WROTE",
    "CustomerRows",
    "DraftRow",
    "PlacedRow",
    "apply_place_order",
    "catalog_data",
    "customer_rows",
    "delete_draft",
    "draft",
    "drafts_for",
    "keep_draft",
    "number_taken",
    "order_row",
]

DRAFT_KINDS = ("draft", "saved_quote")


def _at(args: dict[str, Any]) -> datetime:
    value = args.get("at")
    if not isinstance(value, str):
        raise UserFacingError("The change has no time.")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- what the wizard reads ------------------------------------------------------------------


def catalog_data(session: Session) -> dict[str, Any]:
    """The catalog in the store, in resources/catalog.json's shape (Catalog.from_dict),
    with the store's stock: products no longer sold (inactive) are left out."""
    components: dict[str, list[str]] = {}
    for code, sku in session.execute(select(BundleComponent.bundle_code,
                                            BundleComponent.sku)):
        components.setdefault(code, []).append(sku)
    return {
        "currency": "USD",
        "regions": [{"code": r.code, "name": r.name, "states": list(r.states),
                     "tax_rate": r.tax_rate, "fees": list(r.fees)}
                    for r in session.scalars(select(Region).order_by(Region.code))],
        "families": [{"code": f.code, "name": f.name}
                     for f in session.scalars(select(ProductFamily))],
        "products": [{"sku": p.sku, "name": p.name, "family": p.family_code, "kind": p.kind,
                      "billing_period": p.billing_period, "price_cents": p.price_cents,
                      "tier": p.tier, "regions": list(p.regions),
                      "requires": list(p.requires), "inventory": p.inventory,
                      "usage_unit": p.usage_unit, "usage_price_cents": p.usage_price_cents,
                      "included_units": p.included_units, "description": p.description}
                     for p in session.scalars(select(Product).where(Product.active.is_(True))
                                              .order_by(Product.sku))],
        "bundles": [{"code": b.code, "name": b.name, "discount_cents": b.discount_cents,
                     "regions": list(b.regions), "description": b.description,
                     "components": components.get(b.code, [])}
                    for b in session.scalars(select(Bundle).order_by(Bundle.code))],
        "promotions": [{"code": p.code, "name": p.name, "kind": p.kind, "value": dict(p.value),
                        "applies_to": list(p.applies_to), "eligibility": dict(p.eligibility),
                        "valid_from": p.valid_from.isoformat(),
                        "valid_to": p.valid_to.isoformat(), "description": p.description}
                       for p in session.scalars(select(Promotion).order_by(Promotion.code))],
    }


@dataclass(frozen=True, slots=True)
class CustomerRows:
    id: str
    display_name: str
    account_number: str
    customer_since: date
    addresses: tuple[tuple[str, str, str, str], ...]  # id, label, state, kind
    methods: tuple[tuple[str, str, str, str, bool], ...]  # id, kind, brand, last4, default
    services: tuple[tuple[str, int, int], ...]  # active: sku, quantity, price_cents
    ever_served: bool  # any service or placed order, in any state
    cycle: tuple[date, date] | None  # the latest bill's period up to ``today`` (end included)


def service_ids(session: Session, customer_id: str) -> dict[str, str]:
    """The customer's active services by sku (an up-sell names the one it replaces)."""
    return {sku: sid for sid, sku in session.execute(
        select(Service.id, Service.sku).where(Service.customer_id == customer_id,
                                              Service.status == "active"))}


def customer_rows(session: Session, customer_id: str, today: date) -> CustomerRows:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UserFacingError("This customer is not in the local store; search again.")
    addresses = tuple(
        (a.id, ", ".join(x for x in (a.line1, a.line2, a.city) if x)
         + f", {a.state} {a.postal_code}", a.state, a.kind)
        for a in session.scalars(select(Address).where(Address.customer_id == customer_id)
                                 .order_by(Address.kind.desc(), Address.created_at)))
    methods = tuple(
        (m.id, m.kind, m.brand, m.last4, m.is_default)
        for m in session.scalars(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active")
            .order_by(PaymentMethod.is_default.desc(), PaymentMethod.created_at)))
    services = session.scalars(select(Service).where(Service.customer_id == customer_id)).all()
    active = tuple((s.sku, s.quantity, s.price_cents) for s in services if s.status == "active")
    ordered = session.scalar(select(Order.id).where(
        Order.customer_id == customer_id, Order.status != "draft").limit(1))
    invoice = session.scalars(select(Invoice).where(
        Invoice.customer_id == customer_id, Invoice.period_start <= today)
        .order_by(Invoice.period_start.desc()).limit(1)).first()
    return CustomerRows(
        customer.id, customer.display_name, customer.account_number,
        customer.customer_since, addresses, methods, active,
        bool(services) or ordered is not None,
        (invoice.period_start, invoice.period_end) if invoice is not None else None)


# --- drafts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftRow:
    id: str
    customer_id: str
    order_number: str
    kind: str  # draft | saved_quote | server (a draft the server sent: no wizard)
    kept_at: datetime
    monthly_cents: int
    one_time_cents: int
    valid_until: date | None
    wizard: dict[str, Any] | None
    skus: tuple[str, ...]  # a server draft's lines


def _draft_row(order: Order, skus: tuple[str, ...] = ()) -> DraftRow:
    quote = dict(order.quote or {})
    wizard = quote.get("wizard") if quote.get("kind") in DRAFT_KINDS else None
    until = quote.get("valid_until")
    return DraftRow(order.id, order.customer_id, order.order_number,
                    str(quote["kind"]) if wizard else "server", order.updated_at,
                    order.monthly_total_cents, order.one_time_total_cents,
                    date.fromisoformat(until) if isinstance(until, str) else None,
                    dict(wizard) if isinstance(wizard, dict) else None, skus)


def drafts_for(session: Session, customer_id: str) -> list[DraftRow]:
    """The customer's drafts and saved quotes, the most recently kept first."""
    rows = session.scalars(select(Order).where(
        Order.customer_id == customer_id, Order.status == "draft")
        .order_by(Order.updated_at.desc())).all()
    return [_draft_row(o, _skus(session, o.id)) for o in rows]


def _skus(session: Session, order_id: str) -> tuple[str, ...]:
    return tuple(session.scalars(select(OrderLine.sku).where(OrderLine.order_id == order_id)
                                 .order_by(OrderLine.created_at)))


def draft(session: Session, order_id: str) -> DraftRow | None:
    order = session.get(Order, order_id)
    if order is None or order.status != "draft":
        return None
    return _draft_row(order, _skus(session, order_id))


def keep_draft(session: Session, *, order_id: str, order_number: str, customer_id: str,
               agent_id: str | None, address_id: str | None, kind: str,
               wizard: dict[str, Any], one_time_cents: int, monthly_cents: int,
               tax_cents: int, valid_until: date | None, install_on: date | None,
               interaction_id: str | None) -> Order:
    """Insert or update this desk's draft (or saved quote) row; never a placed order."""
    if kind not in DRAFT_KINDS:
        raise ValueError(f"unknown draft kind {kind!r}")
    order = session.get(Order, order_id)
    if order is not None and (order.status != "draft"
                              or (order.quote or {}).get("kind") not in DRAFT_KINDS):
        raise UserFacingError("This order was already placed; it is no longer a draft.")
    if order is None:
        order = Order(id=order_id, order_number=order_number, customer_id=customer_id,
                      status="draft")
        session.add(order)
    order.customer_id = customer_id
    order.agent_id = agent_id
    order.interaction_id = interaction_id
    order.service_address_id = address_id
    order.quote = {"kind": kind, "wizard": wizard, "one_time_cents": one_time_cents,
                   "monthly_cents": monthly_cents, "tax_cents": tax_cents,
                   "valid_until": valid_until.isoformat() if valid_until else None}
    order.one_time_total_cents = one_time_cents
    order.monthly_total_cents = monthly_cents
    order.tax_cents = tax_cents
    order.install_on = install_on
    order.updated_at = datetime.now(UTC)
    session.flush()
    return order


def delete_draft(session: Session, order_id: str) -> bool:
    """Forget one of this desk's drafts; a placed order or a server's row stays."""
    order = session.get(Order, order_id)
    if order is None or order.status != "draft" \
            or (order.quote or {}).get("kind") not in DRAFT_KINDS:
        return False
    session.execute(delete(OrderLine).where(OrderLine.order_id == order_id))
    session.delete(order)
    session.flush()
    return True


# --- placing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlacedRow:
    id: str
    order_number: str
    customer_id: str
    status: str
    one_time_cents: int
    monthly_cents: int


def order_row(session: Session, order_id: str) -> PlacedRow | None:
    order = session.get(Order, order_id)
    if order is None:
        return None
    return PlacedRow(order.id, order.order_number, order.customer_id, order.status,
                     order.one_time_total_cents, order.monthly_total_cents)


def number_taken(session: Session, order_number: str, order_id: str) -> bool:
    """Another order on this desk has this number already."""
    return session.scalar(select(Order.id).where(
        Order.order_number == order_number, Order.id != order_id).limit(1)) is not None


def apply_place_order(session: Session, args: dict[str, Any]) -> None:
    """The order as captured on this desk (the server's copy replaces it on the next
    pull). A draft kept here under the same id becomes the order; anything else already
    under that id means the order is here already."""
    order = session.get(Order, args["id"])
    if order is not None and (order.status != "draft"
                              or (order.quote or {}).get("kind") not in DRAFT_KINDS):
        return
    at = _at(args)
    totals = dict(args.get("totals") or {})
    if order is None:
        order = Order(id=args["id"], customer_id=args["customer_id"],
                      order_number=args["order_number"])
        session.add(order)
    install = args.get("install_on")
    order.customer_id = args["customer_id"]
    order.order_number = args["order_number"]
    order.status = "captured"
    order.agent_id = args.get("actor_id")
    order.interaction_id = args.get("interaction_id")
    order.service_address_id = args.get("service_address_id")
    order.quote = {"kind": "order", "lines": list(args.get("quote_lines") or ()),
                   "valid_until": totals.get("valid_until")}
    order.one_time_total_cents = int(totals.get("one_time_cents") or 0)
    order.monthly_total_cents = int(totals.get("monthly_cents") or 0)
    order.tax_cents = int(totals.get("one_time_tax_cents") or 0) + int(
        totals.get("monthly_tax_cents") or 0)
    order.placed_at = at
    order.install_on = date.fromisoformat(install) if isinstance(install, str) else None
    order.created_at = order.created_at or at
    session.flush()
    for line in args.get("lines") or ():
        if session.get(OrderLine, line["id"]) is not None:
            continue
        session.add(OrderLine(
            id=line["id"], order_id=order.id, sku=line["sku"],
            description=str(line.get("description") or line["sku"])[:200],
            action="change" if line.get("replaces") else "add",
            quantity=int(line.get("quantity") or 1),
            unit_price_cents=int(line.get("unit_price_cents") or 0),
            discount_cents=int(line.get("discount_cents") or 0),
            promotion_code=line.get("promotion_code"),
            recurring=bool(line.get("recurring")), created_at=at))
    session.flush()


LOCAL: dict[str, Callable[[Session, dict[str, Any]], object]] = {
    "place_order": apply_place_order,
}

# The rows a refused order wrote here, taken back (sync_store._discard removes the order's
# lines with it).
WROTE: dict[str, tuple[tuple[str, str], ...]] = {
    "place_order": (("orders", "id"),),
}
