"""Offers on the server: an offer shown to a customer and their answer (accepted,
declined, not now), pushed by the desk that showed it (``record_offer``).

The row is written once by its id, made on the desk: the same record pushed again
changes nothing; the same id with other content is refused. The agent is the pushing
user, whatever the args say. The offer's code is kept as the desk sent it (the rules in
resources/offers.json may be newer on one desk than another), but its shape, the kind,
the answer (the same rule as the desk's, domain.offers.check_response) and the times are
checked, and the customer must be on the server.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.offers import OfferKind, check_response
from agent_desktop.sync.protocol import MUTATIONS
from server_stub.mutations import (
    Actor,
    Applier,
    MutationRejected,
    hex_id,
    optional_hex_id,
    put_row,
)
from server_stub.store import SyncedRow

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
MAX_PITCH = 1000


def _when(args: dict[str, Any], key: str) -> str:
    """A time the desk wrote (its clock is checked on push), kept as it wrote it so the
    desk's row and the server's agree."""
    value = args.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        datetime.fromisoformat(value)
    except ValueError:
        raise MutationRejected(f"{key} must be an ISO 8601 date and time.") from None
    return value


def apply_record_offer(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    offer_id = hex_id(args, "id", "The offer record's id")
    customer_id = hex_id(args, "customer_id", "The customer id")
    interaction_id = optional_hex_id(args, "interaction_id", "The interaction id")
    code = args.get("offer_code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise MutationRejected("The offer code is up to 32 letters, digits, - or _.")
    kind = args.get("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in OfferKind}:
        raise MutationRejected("The offer's kind must be up_sell, cross_sell or bundle.")
    pitch = args.get("pitch", "")
    if not isinstance(pitch, str) or len(pitch) > MAX_PITCH:
        raise MutationRejected(f"The pitch is text of at most {MAX_PITCH} characters.")
    try:
        response = check_response(args.get("response"))
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None
    shown_at = _when(args, "shown_at")
    responded_at = _when(args, "responded_at") if response is not None else None
    created_at = _when(args, "created_at")
    if session.get(SyncedRow, ("customers", customer_id)) is None:
        raise MutationRejected("The customer is not on the server (merged or removed?).")
    data: dict[str, Any] = {
        "id": offer_id, "customer_id": customer_id, "interaction_id": interaction_id,
        "agent_id": actor.user_id, "offer_code": code, "kind": kind,
        "pitch": " ".join(pitch.split()), "shown_at": shown_at,
        "response": response.value if response is not None else None,
        "responded_at": responded_at, "created_at": created_at,
        "updated_at": responded_at or created_at, "version": 1,
    }
    table = MUTATIONS["record_offer"]
    existing = session.get(SyncedRow, (table, offer_id))
    if existing is not None:
        if existing.data == data:
            return None  # the same record again: already there
        raise MutationRejected(f"Offer record {offer_id} already exists with other content.")
    return put_row(session, table, offer_id, data, now)


APPLIERS: dict[str, Applier] = {"record_offer": apply_record_offer}
