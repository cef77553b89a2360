"""The local store's tables, for the whole mission.

Later capabilities add behaviour, not tables. Conventions:
- Rows an agent or the server creates have a UUID primary key made where the row is born
  (stored as 32 hex characters on SQLite, native UUID on PostgreSQL).
- Reference data that ships in resources/ (catalog, regions) is keyed by its code.
- Money is integer minor units (``*_cents``) plus a currency code; never a float.
- Timestamps are UTC (``UTCDateTime``); calendar dates (due dates, service start) are dates.
- ``version`` counts changes of a mutable row; sync uses it.
- Ledger rows (payments, adjustments), notes and the audit log are append-only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    """A new primary key: a random UUID as 32 lowercase hex characters."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC datetimes; refuses naive input."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class UUIDHex(TypeDecorator[str]):
    """A UUID kept as 32 lowercase hex characters everywhere: in the file, in Python and on
    the wire, so a raw query and the ORM agree. Accepts the dashed form on input."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return uuid.UUID(value).hex


PK = UUIDHex()


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class _Row:
    """Columns every synced row has."""

    id: Mapped[str] = mapped_column(PK, primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _Mutable(_Row):
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Mapped[Any]:
    return mapped_column(PK, ForeignKey(target), nullable=nullable, index=index)


# --- people -----------------------------------------------------------------------------


class Agent(_Mutable, Base):
    """Someone who logs in: an agent, a supervisor or an admin."""

    __tablename__ = "agents"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64), default="")
    skills: Mapped[list[Any]] = mapped_column(default=list)
    adjustment_limit_cents: Mapped[int] = mapped_column(Integer, default=5000)
    daily_adjustment_limit_cents: Mapped[int] = mapped_column(Integer, default=20000)
    refund_limit_cents: Mapped[int] = mapped_column(Integer, default=10000)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (CheckConstraint("role IN ('agent','supervisor','admin')", name="role"),)


class Customer(_Mutable, Base):
    __tablename__ = "customers"
    account_number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="consumer")
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    business_name: Mapped[str] = mapped_column(String(160), default="")
    display_name: Mapped[str] = mapped_column(String(200))
    # Normalized (lowercase, no accents) copies used by the lookup indexes.
    first_norm: Mapped[str] = mapped_column(String(80), default="")
    last_norm: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    customer_since: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8), default="en")
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    credit_class: Mapped[str] = mapped_column(String(8), default="B")
    __table_args__ = (
        CheckConstraint("kind IN ('consumer','business')", name="kind"),
        CheckConstraint(
            "status IN ('prospect','active','suspended','closed')", name="customer_status"
        ),
        Index("ix_customers_last_first", "last_norm", "first_norm"),
        Index("ix_customers_first", "first_norm"),
    )


class ContactPoint(_Mutable, Base):
    """A phone number (E.164) or an email address, with the consent that goes with it."""

    __tablename__ = "contact_points"
    customer_id: Mapped[str] = _fk("customers.id")
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254), index=True)
    label: Mapped[str] = mapped_column(String(16), default="home")
    line_type: Mapped[str] = mapped_column(String(12), default="unknown")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_autodial: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_text: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_email: Mapped[bool] = mapped_column(Boolean, default=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        CheckConstraint("kind IN ('phone','email')", name="contact_kind"),
        CheckConstraint(
            "line_type IN ('mobile','landline','voip','unknown')", name="line_type"
        ),
        CheckConstraint("kind <> 'phone' OR value LIKE '+%'", name="phone_e164"),
    )


class Address(_Mutable, Base):
    __tablename__ = "addresses"
    customer_id: Mapped[str] = _fk("customers.id")
    kind: Mapped[str] = mapped_column(String(8), default="service")
    line1: Mapped[str] = mapped_column(String(120))
    line2: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2), default="US")
    time_zone: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(8), default="")
    line1_norm: Mapped[str] = mapped_column(String(120), index=True)
    __table_args__ = (
        CheckConstraint("kind IN ('service','billing','both')", name="address_kind"),
    )


# --- catalog (reference data from resources/catalog.json) ------------------------------


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    states: Mapped[list[Any]] = mapped_column(default=list)
    tax_rate: Mapped[str] = mapped_column(String(16))  # a Decimal as text, never a float
    fees: Mapped[list[Any]] = mapped_column(default=list)


class ProductFamily(Base):
    __tablename__ = "product_families"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Product(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(24), primary_key=True)
    family_code: Mapped[str] = mapped_column(ForeignKey("product_families.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(12))
    billing_period: Mapped[str | None] = mapped_column(String(12))
    price_cents: Mapped[int] = mapped_column(Integer)
    tier: Mapped[int | None] = mapped_column(Integer)
    usage_unit: Mapped[str | None] = mapped_column(String(16))
    usage_price_cents: Mapped[int | None] = mapped_column(Integer)
    included_units: Mapped[int | None] = mapped_column(Integer)
    inventory: Mapped[int | None] = mapped_column(Integer)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    requires: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        CheckConstraint("kind IN ('recurring','one_time','usage')", name="product_kind"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )


class Bundle(Base):
    __tablename__ = "bundles"
    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    discount_cents: Mapped[int] = mapped_column(Integer)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")


class BundleComponent(Base):
    __tablename__ = "bundle_components"
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundles.code"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)


class Promotion(Base):
    __tablename__ = "promotions"
    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    applies_to: Mapped[list[Any]] = mapped_column(default=list)
    eligibility: Mapped[dict[str, Any]] = mapped_column(default=dict)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        CheckConstraint(
            "kind IN ('amount_off','percent_off','buy_get','tiered_spend','months_free')",
            name="promotion_kind",
        ),
    )


# --- services and orders ---------------------------------------------------------------


class Service(_Mutable, Base):
    """A subscription: one product at one service address."""

    __tablename__ = "services"
    customer_id: Mapped[str] = _fk("customers.id")
    address_id: Mapped[str | None] = _fk("addresses.id", nullable=True, index=False)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    status: Mapped[str] = mapped_column(String(12), default="active")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price_cents: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    bundle_code: Mapped[str | None] = mapped_column(String(24))
    promotion_code: Mapped[str | None] = mapped_column(String(24))
    promotion_ends_on: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','active','suspended','cancelled')", name="service_status"
        ),
    )


class Order(_Mutable, Base):
    __tablename__ = "orders"
    customer_id: Mapped[str] = _fk("customers.id")
    order_number: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    agent_id: Mapped[str | None] = _fk("agents.id", nullable=True, index=False)
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    service_address_id: Mapped[str | None] = _fk("addresses.id", nullable=True, index=False)
    quote: Mapped[dict[str, Any]] = mapped_column(default=dict)
    one_time_total_cents: Mapped[int] = mapped_column(Integer, default=0)
    monthly_total_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    placed_at: Mapped[datetime | None] = mapped_column()
    install_on: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft','captured','submitted','approved','provisioning','shipped',"
            "'completed','cancelled')",
            name="order_status",
        ),
    )


class OrderLine(_Row, Base):
    __tablename__ = "order_lines"
    order_id: Mapped[str] = _fk("orders.id")
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    description: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(8), default="add")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    promotion_code: Mapped[str | None] = mapped_column(String(24))
    recurring: Mapped[bool] = mapped_column(Boolean, default=True)
    service_id: Mapped[str | None] = _fk("services.id", nullable=True, index=False)


# --- billing -----------------------------------------------------------------------------


class Invoice(_Row, Base):
    __tablename__ = "invoices"
    customer_id: Mapped[str] = mapped_column(PK, ForeignKey("customers.id"))
    invoice_number: Mapped[str] = mapped_column(String(20), unique=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    __table_args__ = (
        Index("ix_invoices_customer_issued", "customer_id", "issued_on"),
        CheckConstraint("total_cents = subtotal_cents + tax_cents", name="invoice_total"),
    )


class InvoiceLine(_Row, Base):
    __tablename__ = "invoice_lines"
    invoice_id: Mapped[str] = _fk("invoices.id")
    service_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    sku: Mapped[str | None] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(12), default="recurring")
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount_cents: Mapped[int] = mapped_column(Integer)


class PaymentMethod(_Mutable, Base):
    """A way to pay kept on file: a gateway token and what is safe to show. Never a full
    card number, never a CVV, never a full bank account number."""

    __tablename__ = "payment_methods"
    customer_id: Mapped[str] = _fk("customers.id")
    kind: Mapped[str] = mapped_column(String(8))
    token: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(16), default="")
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer)
    exp_year: Mapped[int | None] = mapped_column(Integer)
    holder_name: Mapped[str] = mapped_column(String(120), default="")
    bank_name: Mapped[str] = mapped_column(String(80), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="active")
    __table_args__ = (
        CheckConstraint("kind IN ('card','ach')", name="method_kind"),
        CheckConstraint("length(last4) = 4", name="last4_only"),
    )


class Payment(_Row, Base):
    """A ledger entry: a payment, or a void or refund of one. The id is the idempotency key."""

    __tablename__ = "payments"
    customer_id: Mapped[str] = mapped_column(PK, ForeignKey("customers.id"))
    entry: Mapped[str] = mapped_column(String(8), default="payment")
    reverses_payment_id: Mapped[str | None] = _fk("payments.id", nullable=True, index=False)
    payment_method_id: Mapped[str | None] = _fk("payment_methods.id", nullable=True, index=False)
    method_kind: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(12), default="settled")
    confirmation_number: Mapped[str] = mapped_column(String(24), default="")
    gateway_charge_id: Mapped[str] = mapped_column(String(64), default="")
    decline_code: Mapped[str] = mapped_column(String(32), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    agent_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    invoice_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    __table_args__ = (
        Index("ix_payments_customer_received", "customer_id", "received_at"),
        CheckConstraint("amount_cents > 0", name="payment_positive"),
        CheckConstraint("entry IN ('payment','void','refund')", name="payment_entry"),
        CheckConstraint("method_kind IN ('card','ach','check','cash')", name="payment_kind"),
        CheckConstraint(
            "status IN ('pending','authorized','settled','declined','failed')",
            name="payment_status",
        ),
    )


class Adjustment(_Row, Base):
    __tablename__ = "adjustments"
    customer_id: Mapped[str] = _fk("customers.id")
    invoice_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    invoice_line_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    case_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    direction: Mapped[str] = mapped_column(String(6))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    reason_code: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="posted")
    requested_by: Mapped[str | None] = mapped_column(PK, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(PK, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    posted_on: Mapped[date] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint("direction IN ('credit','debit')", name="adjustment_direction"),
        CheckConstraint("amount_cents > 0", name="adjustment_positive"),
        CheckConstraint(
            "status IN ('posted','pending_approval','rejected')", name="adjustment_status"
        ),
    )


# --- cases and knowledge ---------------------------------------------------------------


class Case(_Mutable, Base):
    __tablename__ = "cases"
    case_number: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[str | None] = _fk("customers.id", nullable=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    product_sku: Mapped[str | None] = mapped_column(String(24))
    queue: Mapped[str] = mapped_column(String(32), default="general")
    required_skill: Mapped[str] = mapped_column(String(32), default="")
    assigned_agent_id: Mapped[str | None] = _fk("agents.id", nullable=True)
    parent_case_id: Mapped[str | None] = _fk("cases.id", nullable=True, index=False)
    merged_into_id: Mapped[str | None] = _fk("cases.id", nullable=True, index=False)
    invoice_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    invoice_line_id: Mapped[str | None] = mapped_column(PK, nullable=True)  # a dispute's
    order_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    payment_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)  # opened on a call
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    pending_since: Mapped[datetime | None] = mapped_column()  # waiting on the customer
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        CheckConstraint(
            "type IN ('inquiry','trouble_ticket','dispute','approval_request','complaint')",
            name="case_type",
        ),
        CheckConstraint(
            "status IN ('new','open','pending_customer','pending_internal','resolved',"
            "'closed')",
            name="case_status",
        ),
        Index("ix_cases_status_queue", "status", "queue"),
    )


class CaseEvent(_Row, Base):
    """One thing that happened to a case: who, what, when, before and after."""

    __tablename__ = "case_events"
    case_id: Mapped[str] = _fk("cases.id")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    visibility: Mapped[str] = mapped_column(String(10), default="internal")
    body: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seconds_spent: Mapped[int] = mapped_column(Integer, default=0)


class KnowledgeArticle(_Mutable, Base):
    __tablename__ = "knowledge_articles"
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    body_md: Mapped[str] = mapped_column(Text)
    article_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10), default="published")
    source_case_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful_count: Mapped[int] = mapped_column(Integer, default=0)


class CaseArticle(Base):
    __tablename__ = "case_articles"
    case_id: Mapped[str] = mapped_column(PK, ForeignKey("cases.id"), primary_key=True)
    article_id: Mapped[str] = mapped_column(
        PK, ForeignKey("knowledge_articles.id"), primary_key=True
    )
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    linked_by: Mapped[str | None] = mapped_column(PK, nullable=True)


class KnowledgeVote(_Row, Base):
    __tablename__ = "knowledge_votes"
    article_id: Mapped[str] = _fk("knowledge_articles.id")
    agent_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    helpful: Mapped[bool] = mapped_column(Boolean)


# --- contacts ----------------------------------------------------------------------------


class Interaction(_Mutable, Base):
    """A call, chat or email, with its times and the seconds that make handle time."""

    __tablename__ = "interactions"
    customer_id: Mapped[str | None] = mapped_column(PK, ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(8), default="call")
    direction: Mapped[str] = mapped_column(String(8), default="inbound")
    queue: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(PK, ForeignKey("agents.id"))
    caller_id: Mapped[str] = mapped_column(String(20), default="")
    offered_at: Mapped[datetime] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    wait_seconds: Mapped[int] = mapped_column(Integer, default=0)
    dial_seconds: Mapped[int] = mapped_column(Integer, default=0)
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)
    hold_seconds: Mapped[int] = mapped_column(Integer, default=0)
    acw_seconds: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    reason_code: Mapped[str] = mapped_column(String(32), default="")
    wrap_up_code: Mapped[str] = mapped_column(String(32), default="")
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        Index("ix_interactions_customer_offered", "customer_id", "offered_at"),
        Index("ix_interactions_agent_offered", "agent_id", "offered_at"),
        Index("ix_interactions_offered", "offered_at"),
        CheckConstraint("channel IN ('call','chat','email')", name="channel"),
        CheckConstraint("direction IN ('inbound','outbound')", name="direction"),
        CheckConstraint("csat IS NULL OR csat BETWEEN 1 AND 5", name="csat_range"),
        CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="nps_range"),
    )


class AgentStateInterval(_Mutable, Base):
    """One finished stretch of an agent in one phone state (the contact center records it
    when it ends): what occupancy is measured against."""

    __tablename__ = "agent_states"
    agent_id: Mapped[str] = mapped_column(PK, ForeignKey("agents.id"))
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime] = mapped_column()
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        Index("ix_agent_states_agent_started", "agent_id", "started_at"),
        Index("ix_agent_states_started", "started_at"),
        CheckConstraint("seconds >= 0", name="state_seconds"),
    )


class OfferShown(_Mutable, Base):
    __tablename__ = "offers_shown"
    customer_id: Mapped[str] = _fk("customers.id")
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    agent_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    offer_code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(12))
    pitch: Mapped[str] = mapped_column(Text, default="")
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)
    response: Mapped[str | None] = mapped_column(String(12))
    responded_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        CheckConstraint(
            "response IS NULL OR response IN ('accepted','declined','not_now')",
            name="offer_response",
        ),
    )


class CustomerNotification(_Mutable, Base):
    """An email or text queued for the customer (receipts, case and order updates)."""

    __tablename__ = "customer_notifications"
    customer_id: Mapped[str] = _fk("customers.id")
    channel: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    send_after: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    related_type: Mapped[str] = mapped_column(String(16), default="")
    related_id: Mapped[str | None] = mapped_column(PK, nullable=True)


# --- collections -------------------------------------------------------------------------


class CollectionAccount(_Mutable, Base):
    """A past-due debt being worked by collections (the unit Regulation F counts per)."""

    __tablename__ = "collection_accounts"
    customer_id: Mapped[str] = _fk("customers.id")
    opened_on: Mapped[date] = mapped_column(Date)
    placed_balance_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    treatment: Mapped[str] = mapped_column(String(16), default="standard")
    validation_notice_sent_on: Mapped[date | None] = mapped_column(Date)
    disputed_on: Mapped[date | None] = mapped_column(Date)


class ContactAttempt(_Row, Base):
    __tablename__ = "contact_attempts"
    customer_id: Mapped[str] = _fk("customers.id")
    collection_account_id: Mapped[str | None] = _fk("collection_accounts.id", nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(8), default="call")
    destination: Mapped[str] = mapped_column(String(254), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    conversation: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # The time the customer asked to be called back (outcome callback_requested; 0006).
    callback_at: Mapped[datetime | None] = mapped_column()


class PromiseToPay(_Mutable, Base):
    __tablename__ = "promises_to_pay"
    customer_id: Mapped[str] = _fk("customers.id")
    collection_account_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    promised_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    agent_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    payment_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="promise_positive"),
        CheckConstraint("status IN ('open','kept','broken','cancelled')", name="promise_status"),
    )


class PaymentArrangement(_Mutable, Base):
    __tablename__ = "payment_arrangements"
    customer_id: Mapped[str] = _fk("customers.id")
    collection_account_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    total_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="active")
    agent_id: Mapped[str | None] = mapped_column(PK, nullable=True)


class ArrangementInstallment(_Mutable, Base):
    __tablename__ = "arrangement_installments"
    arrangement_id: Mapped[str] = _fk("payment_arrangements.id")
    due_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    payment_id: Mapped[str | None] = mapped_column(PK, nullable=True)


class ContactRestriction(_Mutable, Base):
    """A flag that limits how the customer may be contacted. Checks fail closed."""

    __tablename__ = "contact_restrictions"
    customer_id: Mapped[str] = _fk("customers.id")
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="agent")
    __table_args__ = (
        CheckConstraint(
            "kind IN ('cease_communication','stop_calling','no_email','no_text','attorney',"
            "'no_calls_at_work','inconvenient_time','dispute_pending','do_not_call')",
            name="restriction_kind",
        ),
    )


# --- notes, audit, sync -----------------------------------------------------------------


class Note(_Row, Base):
    """An agent's note on a customer (append-only; a correction is another note)."""

    __tablename__ = "notes"
    customer_id: Mapped[str] = _fk("customers.id")
    case_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    interaction_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    author_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    author_name: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text)
    __table_args__ = (CheckConstraint("length(trim(body)) > 0", name="note_not_blank"),)


class AuditEntry(Base):
    """Who did what to which entity, when, before and after. Append-only, hash-chained."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(PK, unique=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    actor_role: Mapped[str] = mapped_column(String(16), default="")
    workstation: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(48))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    customer_id: Mapped[str | None] = mapped_column(PK, nullable=True, index=True)
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    approver_id: Mapped[str | None] = mapped_column(PK, nullable=True)
    result: Mapped[str] = mapped_column(String(16), default="ok")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMutation(Base):
    """A local change waiting to be pushed, written in the same transaction as the change."""

    __tablename__ = "sync_outbox"
    mutation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(PK, unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(48))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','sent','applied','rejected')", name="outbox_status"
        ),
    )


class SyncState(Base):
    __tablename__ = "sync_state"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class NameToken(Base):
    """Distinct normalized first and last names, with counts: the vocabulary the fuzzy
    name lookup matches typos against (a few thousand rows even for millions of customers).
    """

    __tablename__ = "name_tokens"
    token: Mapped[str] = mapped_column(String(80), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer, default=0)
