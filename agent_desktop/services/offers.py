"""Offers for the customer in front of the agent, and the record of what they said.

``offers_for`` reads the customer's facts (storage.offers, indexed queries) and ranks the
offers of resources/offers.json against the catalog (domain.offers): the best first, or
the reason there are none, for a natural moment ("360", "wizard", "after_card_update",
"after_payment"). ``record_offer`` writes the offer shown with the customer's answer
(accepted, declined, not now), its audit row and the ``record_offer`` mutation in one
transaction; the server keeps it as every desk's record (server_stub.offers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.offers import (
    CustomerFacts,
    Offer,
    OfferRules,
    Response,
    check_response,
    evaluate,
)
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.storage import audit, outbox
from agent_desktop.storage.models import new_id
from agent_desktop.storage.offers import apply_record_offer, read_facts
from agent_desktop.storage.reference import read_catalog, resources_dir
from agent_desktop.storage.store import Store

__all__ = ["OfferRecorded", "OffersFor", "load_facts", "offer_setup", "offers_for",
           "record_offer"]


@lru_cache(maxsize=1)
def offer_setup() -> tuple[Catalog, OfferRules]:
    """The catalog and the offer rules from resources/ (read once)."""
    resources = resources_dir()
    catalog = Catalog.from_dict(read_catalog(resources))
    rules = OfferRules.from_dict(json.loads((resources / "offers.json").read_text("utf-8")))
    return catalog, rules


@dataclass(frozen=True, slots=True)
class OffersFor:
    customer_id: str
    moment: str
    offers: tuple[Offer, ...]
    reason: str | None  # why nothing is offered, in words (None when something is)
    shown_at: datetime  # when they were ranked: the "shown" time recorded with the answer

    @property
    def top(self) -> Offer | None:
        return self.offers[0] if self.offers else None


def load_facts(store: Store, customer_id: str, today: date | None = None,
               setup: tuple[Catalog, OfferRules] | None = None) -> CustomerFacts:
    catalog, rules = setup or offer_setup()
    today = today or date.today()

    def region_of(state: str) -> str | None:
        region = catalog.region_of_state(state)
        return region.code if region is not None else None

    with store.reading() as session:
        return read_facts(
            session.connection(), customer_id, today, region_of_state=region_of,
            case_statuses=rules.suppression.case_statuses,
            history_months=rules.history_months, grace_days=rules.grace_days,
            responses_since_days=max(rules.suppression.declined_within_days,
                                     rules.suppression.accepted_within_days,
                                     rules.suppression.quiet_after_not_now_days))


def offers_for(store: Store, customer_id: str, moment: str = "360", *,
               today: date | None = None) -> OffersFor:
    """The offers for this customer at this moment, best first, or why there are none
    (call off the UI thread)."""
    catalog, rules = offer_setup()
    today = today or date.today()
    facts = load_facts(store, customer_id, today, (catalog, rules))
    ranking = evaluate(catalog, rules, facts, today, moment)
    return OffersFor(customer_id, moment, ranking.offers, ranking.reason, datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class OfferRecorded:
    id: str
    offer_code: str
    response: Response | None
    changes: Changes


def record_offer(store: Store, who: AgentContext, customer_id: str, offer: Offer,
                 response: str | None, interaction_id: str | None = None, *,
                 shown_at: datetime | None = None) -> OfferRecorded:
    """Record that ``offer`` was shown to the customer and what they answered (None: no
    answer); audited and queued for sync in one transaction."""
    answer = check_response(response)
    interaction_id = interaction_id or who.call.for_customer(customer_id)
    now = datetime.now(UTC)
    shown = shown_at or now
    row_id = new_id()
    args: dict[str, Any] = {
        "id": row_id, "customer_id": customer_id, "interaction_id": interaction_id,
        "agent_id": who.agent_id, "offer_code": offer.code, "kind": offer.kind,
        "pitch": offer.pitch, "shown_at": shown.isoformat(),
        "response": answer.value if answer is not None else None,
        "responded_at": now.isoformat() if answer is not None else None,
        "created_at": now.isoformat(),
    }
    with store.transaction() as session:
        apply_record_offer(session, args)
        audit.record(
            session, actor_id=who.agent_id, actor_role=who.role, action="offer.record",
            entity_type="offer_shown", entity_id=row_id, customer_id=customer_id,
            after={"offer_code": offer.code, "kind": offer.kind,
                   "response": args["response"], "moment": offer.moment},
            workstation=who.workstation,
        )
        outbox.enqueue(session, "record_offer", args)
    return OfferRecorded(row_id, offer.code, answer, Changes(customers=frozenset({customer_id})))
