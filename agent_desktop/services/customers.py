"""Creating a customer and keeping one up to date: contact details, moving a service,
suspending, resuming and cancelling one (with the retention offer first).

Each change is ONE transaction: the rows (storage.customers, from the domain's plan), an
audit row per record changed, and the outbox mutation the server applies with the same
rules (server_stub.customers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from agent_desktop.domain import customers as rules
from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import format_account_number
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage import customers as local
from agent_desktop.storage.customers import (
    AccountFacts,
    AddressFacts,
    ContactFacts,
    ServiceFacts,
    Written,
)
from agent_desktop.storage.models import new_id
from agent_desktop.storage.store import Store

__all__ = [
    "AccountFacts",
    "AccountView",
    "AddressFacts",
    "ContactChange",
    "ContactFacts",
    "CustomerCreated",
    "ServiceFacts",
    "cancel_service",
    "cancellation_reasons",
    "change_contact",
    "check_draft",
    "create_customer",
    "find_duplicates",
    "load_account",
    "load_regions",
    "move_service",
    "resume_service",
    "suspend_service",
]


def _now() -> datetime:
    return datetime.now(UTC)


def check_draft(draft: rules.CustomerDraft) -> rules.CustomerCheck:
    """The draft checked field by field (pure; safe on any thread)."""
    return rules.validate_customer(draft, local.region_states())


def _valid(draft: rules.CustomerDraft) -> rules.NewCustomer:
    check = check_draft(draft)
    if check.customer is None:
        raise UserFacingError(rules.first_problem(check))
    return check.customer


def find_duplicates(store: Store, draft: rules.CustomerDraft) -> list[rules.DuplicateMatch]:
    """Customers already in the store who look like this draft, each with why."""
    new = _valid(draft)
    with store.reading() as session:
        candidates = local.duplicate_candidates(session.connection(), new)
    return rules.match_duplicates(new, candidates)


@dataclass(frozen=True, slots=True)
class CustomerCreated:
    customer_id: str
    account_number: str  # formatted for display: 1234-5678-9
    display_name: str
    changes: Changes


_ENTITY = {"customers": "customer", "contact_points": "contact_point", "addresses": "address",
           "services": "service", "offers_shown": "offer"}


def _audit(session: Any, who: AgentContext, action: str, customer_id: str,
           written: list[Written], reason: str = "", at: datetime | None = None) -> None:
    for row in written:
        audit.record(
            session, actor_id=who.agent_id, actor_role=who.role, action=action,
            entity_type=_ENTITY.get(row.table, row.table),
            entity_id=row.row_id, customer_id=customer_id, before=row.before,
            after=row.after, reason=reason, workstation=who.workstation, at=at)


def create_customer(store: Store, who: AgentContext, draft: rules.CustomerDraft
                    ) -> CustomerCreated:
    """A new customer with an account number made here (offline too), its addresses and
    contact points, the lookup's vocabulary updated, audited and queued for sync."""
    new = _valid(draft)
    customer_id = new_id()
    at = _now()
    args: dict[str, Any] = {
        "id": customer_id, **draft.as_args(), "phone_id": new_id(),
        "email_id": new_id() if new.email else None, "service_address_id": new_id(),
        "billing_address_id": new_id() if new.billing is not None else None,
        "at": at.isoformat(),
    }
    with store.transaction() as session:
        args["account_number"] = local.free_account_number(session.connection(), customer_id)
        written = local.apply_create_customer(session, args)
        _audit(session, who, "customer.create", customer_id, written, at=at)
        outbox.enqueue(session, "create_customer", args)
    return CustomerCreated(customer_id, format_account_number(args["account_number"]),
                           new.display_name, Changes(customers=frozenset({customer_id})))


# --- contact details -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContactChange:
    """One contact detail to change: ``kind`` phone, email or address; the row it changes
    (``target_id``: a contact point or address; None adds a phone or email); the new
    ``value`` (phone, email) with its ``label`` (phone), or the new ``address``.
    ``separate_billing`` on an address used for both: it stays the service address and
    ``address`` becomes the billing address."""

    kind: str
    target_id: str | None = None
    value: str = ""
    label: str = "mobile"
    address: rules.AddressInput | None = None
    separate_billing: bool = False


def change_contact(store: Store, who: AgentContext, customer_id: str,
                   change: ContactChange) -> Changes:
    at = _now()
    args: dict[str, Any] = {"customer_id": customer_id, "kind": change.kind,
                            "at": at.isoformat()}
    if change.kind in ("phone", "email"):
        args["value"] = change.value
        if change.kind == "phone":
            args["label"] = change.label
        if change.target_id is None:
            args["new_contact_id"] = new_id()
        else:
            args["contact_point_id"] = change.target_id
    elif change.kind == "address":
        if change.target_id is None or change.address is None:
            raise UserFacingError("Choose the address to change and type the new one.")
        args["address_id"] = change.target_id
        args["address"] = change.address.as_args()
        if change.separate_billing:
            args["new_address_id"] = new_id()
    else:
        raise UserFacingError("A contact change is to a phone number, an email or an "
                              "address.")
    with store.transaction() as session:
        written = local.apply_change_contact(session, args)
        _audit(session, who, f"contact.{change.kind}", customer_id, written, at=at)
        outbox.enqueue(session, "change_contact", args)
    return Changes(customers=frozenset({customer_id}))


# --- services ------------------------------------------------------------------------------

def _service_args(store: Store, service_id: str) -> tuple[str, dict[str, Any]]:
    with store.reading() as session:
        row = session.connection().exec_driver_sql(
            "SELECT customer_id FROM services WHERE id = ?", (service_id,)).first()
    if row is None:
        raise UserFacingError("That service is not in the local store; reopen the customer.")
    return str(row[0]), {"customer_id": str(row[0]), "service_id": service_id,
                         "at": _now().isoformat()}


def _service_change(store: Store, who: AgentContext, name: str, action: str,
                    customer_id: str, args: dict[str, Any], reason: str = "") -> Changes:
    at = datetime.fromisoformat(args["at"])
    with store.transaction() as session:
        written = local.LOCAL[name](session, args)
        assert isinstance(written, list)
        _audit(session, who, action, customer_id, written, reason=reason, at=at)
        outbox.enqueue(session, name, args)
    return Changes(customers=frozenset({customer_id}))


def move_service(store: Store, who: AgentContext, service_id: str,
                 address: rules.AddressInput) -> Changes:
    """Move a service to a new address in a region where it is sold. When it is the only
    live service at its address the address itself changes (the household moved);
    otherwise this service gets a new service address."""
    customer_id, args = _service_args(store, service_id)
    with store.reading() as session:
        facts = local.account_facts(session.connection(), customer_id)
    service = next((s for s in facts.services if s.id == service_id), None)
    if service is None:
        raise UserFacingError("That service is not on this customer any more.")
    args["address"] = address.as_args()
    args["address_id"] = service.address_id
    if service.address_id is not None and service.others_at_address == 0:
        args["mode"] = "address"
    else:
        args["mode"] = "service"
        args["new_address_id"] = new_id()
    return _service_change(store, who, "move_service", "service.move", customer_id, args)


def suspend_service(store: Store, who: AgentContext, service_id: str, reason_code: str,
                    note: str = "") -> Changes:
    customer_id, args = _service_args(store, service_id)
    args.update(reason_code=reason_code, note=note)
    words = rules.SUSPEND_REASONS.get(reason_code, reason_code)
    return _service_change(store, who, "suspend_service", "service.suspend", customer_id,
                           args, reason=f"{reason_code}: {words}" + (f" \u2014 {note}"
                                                                     if note else ""))


def resume_service(store: Store, who: AgentContext, service_id: str, note: str = "") -> Changes:
    customer_id, args = _service_args(store, service_id)
    args["note"] = note
    return _service_change(store, who, "resume_service", "service.resume", customer_id, args,
                           reason=note)


def cancel_service(store: Store, who: AgentContext, service_id: str, reason_code: str,
                   offer_code: str, response: str, note: str = "") -> Changes:
    """Cancel a service after the retention offer (``offer_code``, the one
    ``load_account`` gave for it) was made and answered: declined, the service is
    cancelled; accepted, it stays with the offer applied. The reason is a cancellation
    reason code (OTHER needs a note)."""
    customer_id, args = _service_args(store, service_id)
    args.update(reason_code=reason_code, note=note, offer_code=offer_code,
                response=response, offer_id=new_id(), agent_id=who.agent_id)
    labels = dict(local.cancellation_reasons())
    action = "service.cancel" if response == "declined" else "service.retained"
    reason = f"{reason_code}: {labels.get(reason_code, reason_code)}; offer {offer_code} " \
             f"{response}" + (f" \u2014 {note}" if note else "")
    return _service_change(store, who, "cancel_service", action, customer_id, args,
                           reason=reason)


def cancellation_reasons() -> tuple[tuple[str, str], ...]:
    return local.cancellation_reasons()


# --- what the maintenance dialog shows -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class AccountView:
    facts: AccountFacts
    offers: dict[str, rules.RetentionOffer]  # service id -> its retention offer
    reasons: tuple[tuple[str, str], ...]  # cancellation reason codes and labels
    regions: dict[str, tuple[str, ...]]
    catalog: Catalog  # to check a move as the agent types

    @property
    def customer_id(self) -> str:
        return self.facts.customer_id


def load_account(store: Store, customer_id: str, today: date | None = None) -> AccountView:
    """The customer's services, contact points and addresses, with the retention offer
    each cancellable service qualifies for."""
    with store.reading() as session:
        facts = local.account_facts(session.connection(), customer_id)
    day = today or _now().date()
    cat = local.catalog()
    offers = {s.id: rules.offer_for_service(s.as_data(customer_id), facts.customer_since,
                                            day, cat)
              for s in facts.services if s.status in rules.CANCELLABLE}
    return AccountView(facts, offers, local.cancellation_reasons(), local.region_states(cat),
                       cat)


def load_regions() -> dict[str, tuple[str, ...]]:
    """Region code -> states the catalog serves (reads resources/: call off the UI
    thread), for checking addresses as the agent types."""
    return local.region_states()
