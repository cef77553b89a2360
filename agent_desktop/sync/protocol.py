"""The sync wire protocol, shared by the client (agent_desktop.sync) and server_stub.

Push/pull, server authoritative (shared/ARCHITECTURE.md "Sync protocol"):
- every local change queues a mutation ``{mutation_id, id, name, args}``; mutation_id grows
  by one per client; the server applies each once, in order, and remembers the last one;
- pull returns every row changed since the client's cursor (the server's change_seq), or a
  paged full snapshot when the cursor is unknown (``reset``).
Pydantic models; both sides validate, and the server answers bad input with a 4xx and a
reason (never a 500).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_desktop.domain.synced import SYNCED_TABLES

__all__ = ["SYNCED_TABLES"]  # re-exported: the wire names these tables

PROTOCOL_VERSION = 1
MAX_MUTATIONS_PER_PUSH = 500
MAX_PULL_PAGE = 5000


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Wire):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    client_id: str = Field(min_length=8, max_length=64)


class LoginResponse(_Wire):
    token: str
    expires_at: str  # ISO 8601 UTC
    agent_id: str
    username: str
    display_name: str
    role: Literal["agent", "supervisor", "admin"]


class Mutation(_Wire):
    mutation_id: int = Field(ge=1)
    id: str = Field(min_length=32, max_length=36)  # the mutation's own UUID
    name: str = Field(min_length=1, max_length=48)
    args: dict[str, Any]


MAX_CLOCK_SKEW_SECONDS = 300


class PushRequest(_Wire):
    protocol_version: int
    client_id: str = Field(min_length=8, max_length=64)
    mutations: list[Mutation] = Field(max_length=MAX_MUTATIONS_PER_PUSH)
    # The desk's clock when it sent this (aware UTC). A desk whose clock is more than
    # MAX_CLOCK_SKEW_SECONDS off is refused (400 clock_skew) before anything is applied:
    # its timestamps would misorder notes and case events for everyone. It keeps its queue.
    sent_at: datetime | None = None


# Why the server rejected a mutation, as a class a program can act on (``reason`` is the
# words for the agent): the pushing user's role may not push it (the 403 of a mutation);
# bad args or a domain rule; a name the server does not know; a mutation id the client
# already used for other content.
REJECTION_CODES: tuple[str, ...] = ("forbidden", "invalid", "unknown_mutation", "reused_id")


class MutationResult(_Wire):
    mutation_id: int
    status: Literal["applied", "rejected", "duplicate"]
    reason: str = ""
    code: str = ""  # one of REJECTION_CODES for a rejected mutation, else ""


class PushResponse(_Wire):
    last_mutation_id: int
    results: list[MutationResult]


class PullRequest(_Wire):
    protocol_version: int
    client_id: str = Field(min_length=8, max_length=64)
    cursor: int | None = None  # the last change_seq the client has; None = never synced
    limit: int = Field(default=MAX_PULL_PAGE, ge=1, le=MAX_PULL_PAGE)


class Change(_Wire):
    table: str
    id: str
    row: dict[str, Any]  # every column, JSON-ready (dates as ISO text)


class PullResponse(_Wire):
    cursor: int  # pass back on the next pull
    last_mutation_id: int  # the client's mutations the server has applied or rejected
    changes: list[Change]
    reset: bool = False  # the client must replace what it has with this snapshot
    more: bool = False  # another page is waiting: pull again now
    latest: int = 0  # the server's newest change_seq (for a progress bar while paging)


class SnapshotInfo(_Wire):
    """A prebuilt store the server offers a new client instead of a paged full pull.

    The file is a client store (same schema, revision ``schema_revision``) holding every
    synced row as of ``change_seq``; the client copies its tables in, sets its cursor to
    ``change_seq`` and pulls what changed since.
    """

    change_seq: int
    size: int  # bytes
    sha256: str
    schema_revision: str
    customers: int


class Problem(_Wire):
    """Every 4xx body: what went wrong, in words the client can show."""

    detail: str
    code: str = ""


# Mutations the server knows, and the tables their rows live in. Later issues add theirs.
MUTATIONS: dict[str, str] = {
    "add_note": "notes",
    "set_agent_limits": "agents",  # supervisors and admins only
    "set_contact_consent": "contact_points",
    "create_case": "cases",
    "change_case_status": "cases",
    "set_case_priority": "cases",
    "assign_case": "cases",
    "add_case_note": "case_events",
    "merge_cases": "cases",
    "link_article": "case_articles",
    "vote_article": "knowledge_votes",
    "draft_article": "knowledge_articles",
    "publish_article": "knowledge_articles",  # supervisors and admins only
    "take_payment": "payments",  # charged through the gateway; the id is the idempotency key
    "void_payment": "payments",
    "refund_payment": "payments",  # above the agent's refund limit: supervisors only
    "save_payment_method": "payment_methods",
    "update_payment_method": "payment_methods",
    "request_adjustment": "adjustments",
    "decide_adjustment": "adjustments",  # supervisors and admins only; never one's own
    "record_offer": "offers_shown",  # an offer shown and the answer; server_stub.offers
    "cancel_order": "orders",  # until it is provisioned; server_stub.orders
    "place_order": "orders",  # priced again by the server; args: services.orders.place_order
    "create_customer": "customers",  # with its addresses and contact points
    "change_contact": "contact_points",  # or "addresses" (kind address)
    "move_service": "services",
    "suspend_service": "services",
    "resume_service": "services",
    "cancel_service": "services",  # after the retention offer; server_stub.customers
    # A collections call's outcome (the attempt, and the promise, arrangement, callback
    # or dispute it brings); server_stub.collections checks the same rules.
    "record_collection_outcome": "contact_attempts",
    "send_collection_reminder": "customer_notifications",  # email + text with a pay link
}

