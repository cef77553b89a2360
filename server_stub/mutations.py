"""The mutations the server applies, and who may push each.

Each applier validates everything first and raises ``MutationRejected`` (with a reason an
agent can read) *before* it writes; the caller also rolls the transaction back on a
rejection, so a half-applied mutation can never be committed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from agent_desktop.domain.consent import check_consent_change
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.notes import clean_note_body
from agent_desktop.sync.protocol import MUTATIONS, REJECTION_CODES
from server_stub.store import ROLES, Role, SyncedRow, User, next_change_seq

_HEX_ID = re.compile(r"[0-9a-f]{32}")

# Prebuilt Core statements for the push hot path (one note per add_note): building ORM
# statements each time cost more than running them (docs/PERFORMANCE.md "Sync server").
_ROWS: Table = SyncedRow.__table__  # type: ignore[assignment]
_ROW_DATA = select(_ROWS.c.data).where(
    _ROWS.c.table == bindparam("b_table"), _ROWS.c.id == bindparam("b_id")
)
_INSERT_ROW = insert(_ROWS)


class MutationRejected(Exception):
    """A mutation the server will never apply; recorded, and the client is told why.

    ``code`` classes the refusal for programs (protocol.REJECTION_CODES): "forbidden" when
    the pushing user may not do this, "invalid" for bad args or a broken domain rule.
    """

    def __init__(self, reason: str, code: str = "invalid") -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class Actor:
    """The logged-in user pushing a mutation."""

    user_id: str
    username: str
    display_name: str
    role: Role


# Returns the change_seq it stamped on a changed row, or None when nothing changed (an
# idempotent re-apply).
Applier = Callable[[Session, Actor, dict[str, Any], datetime], int | None]


def hex_id(args: dict[str, Any], key: str, what: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise MutationRejected(f"{what} must be a UUID written as 32 lowercase hex characters.")
    return value


def client_at(args: dict[str, Any], now: datetime) -> datetime:
    """When the agent made the change (``at``, their clock is checked on push), never
    later than the server's now."""
    value = args.get("at")
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise MutationRejected("The change has no valid time (at).")
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return min(parsed, now)


def optional_hex_id(args: dict[str, Any], key: str, what: str) -> str | None:
    return None if args.get(key) is None else hex_id(args, key, what)


def put_row(session: Session, table: str, row_id: str, data: dict[str, Any],
            now: datetime) -> int:
    """Insert or replace a synced row, stamped with a new change_seq; returns it."""
    seq = next_change_seq(session)
    existing = session.get(SyncedRow, (table, row_id))
    if existing is None:
        session.add(SyncedRow(table_name=table, id=row_id, data=data, change_seq=seq,
                              updated_at=now))
    else:
        existing.data, existing.change_seq, existing.updated_at = data, seq, now
    session.flush()
    return seq


def update_row(session: Session, row: SyncedRow, changes: dict[str, Any],
               now: datetime) -> int:
    """Change some fields of a mutable row (plain fields: the last write applied wins):
    a new version, updated_at and change_seq."""
    version = row.data.get("version")
    data = {**row.data, **changes, "updated_at": now.isoformat(),
            "version": (version if isinstance(version, int) else 0) + 1}
    return put_row(session, row.table_name, row.id, data, now)


def apply_add_note(
    session: Session, actor: Actor, args: dict[str, Any], now: datetime
) -> int | None:
    """Append a note. Notes are append-only: inserted once by id, never overwritten.

    The author is the pushing user, whatever the args say: a client cannot write notes in
    someone else's name.
    """
    note_id = hex_id(args, "id", "The note's id")
    customer_id = hex_id(args, "customer_id", "The customer id")
    interaction_id = optional_hex_id(args, "interaction_id", "The interaction id")
    try:  # the same rule the desktop applied before queueing the note
        text = clean_note_body(args.get("body"))
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None
    created_at = args.get("created_at")
    try:
        if not isinstance(created_at, str):
            raise ValueError(created_at)
        datetime.fromisoformat(created_at)
    except ValueError:
        raise MutationRejected("The note's created_at must be an ISO 8601 date and time.") from None
    data: dict[str, Any] = {
        "id": note_id,
        "customer_id": customer_id,
        "body": text,
        "author_id": actor.user_id,
        "author_name": actor.display_name,
        "interaction_id": interaction_id,
        "case_id": None,
        # Kept as the client wrote it, so the client's own row and the server's agree.
        "created_at": created_at,
    }
    table = MUTATIONS["add_note"]
    connection = session.connection()
    existing = connection.execute(_ROW_DATA, {"b_table": table, "b_id": note_id}).first()
    if existing is not None:
        if existing.data == data:
            return None  # the same note again: already there, nothing to do
        raise MutationRejected(
            f"Note {note_id} already exists with different content; notes are never changed "
            "(add a new note instead)."
        )
    seq = next_change_seq(session)
    connection.execute(_INSERT_ROW, {
        "table": table, "id": note_id, "data": data, "change_seq": seq, "updated_at": now,
    })
    return seq


# --- agents' limits -----------------------------------------------------------------------

LIMIT_FIELDS = ("adjustment_limit_cents", "daily_adjustment_limit_cents", "refund_limit_cents")
MAX_LIMIT_CENTS = 100_000_000  # one million in major units: far above any real limit
MAX_SKILLS = 32
_SKILL = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _cents(args: dict[str, Any], key: str) -> int:
    value = args[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise MutationRejected(f"{key} must be a whole number of cents.")
    if not 0 <= value <= MAX_LIMIT_CENTS:
        raise MutationRejected(f"{key} must be between 0 and {MAX_LIMIT_CENTS:,} cents.")
    return value


def _skills(value: object) -> list[str]:
    if not isinstance(value, list):
        raise MutationRejected("skills must be a list of skill names.")
    if len(value) > MAX_SKILLS:
        raise MutationRejected(f"An agent has at most {MAX_SKILLS} skills.")
    skills: list[str] = []
    for skill in value:
        if not isinstance(skill, str) or not _SKILL.fullmatch(skill):
            raise MutationRejected(
                "Each skill is a short name: up to 32 lowercase letters, digits, _ or -."
            )
        if skill in skills:
            raise MutationRejected(f"The skill {skill} is listed twice.")
        skills.append(skill)
    return skills


def apply_set_agent_limits(
    session: Session, actor: Actor, args: dict[str, Any], now: datetime
) -> int | None:
    """Change an agent's adjustment and refund limits and skills (supervisors, admins).

    Only the fields given change, on the agent's row the server already holds (seeded
    from a store: the same id as the user's; a user without one is refused rather than
    given a made-up profile). Nobody changes their own limits (nobody approves their
    own), and only an admin changes an admin's.
    """
    agent_id = hex_id(args, "agent_id", "The agent id")
    unknown = sorted(set(args) - {"agent_id", "skills", *LIMIT_FIELDS})
    if unknown:
        raise MutationRejected(f"set_agent_limits does not take {', '.join(unknown)}.")
    changes: dict[str, Any] = {k: _cents(args, k) for k in LIMIT_FIELDS if k in args}
    if "skills" in args:
        changes["skills"] = _skills(args["skills"])
    if not changes:
        raise MutationRejected(
            "Say what to change: adjustment_limit_cents, daily_adjustment_limit_cents, "
            "refund_limit_cents or skills."
        )
    if agent_id == actor.user_id:
        raise MutationRejected(
            "Nobody changes their own limits: ask another supervisor.", "forbidden"
        )
    table = MUTATIONS["set_agent_limits"]
    existing = session.get(SyncedRow, (table, agent_id))
    if existing is None:
        raise MutationRejected(f"There is no agent {agent_id} on the server.")
    before = dict(existing.data)
    user = session.get(User, agent_id)  # the login's role is the one that counts
    role = user.role if user is not None else before.get("role")
    if role == "admin" and actor.role != "admin":
        raise MutationRejected("Only an admin changes an admin's limits.", "forbidden")
    if all(before.get(k) == v for k, v in changes.items()):
        return None  # already so: nothing changes, nobody needs a poke
    return update_row(session, existing, changes, now)


def apply_set_contact_consent(
    session: Session, actor: Actor, args: dict[str, Any], now: datetime
) -> int | None:
    """Record what a customer allows on one phone number or email address: automated
    calls, texts, email. Plain fields: the last change applied wins (a revocation made on
    one desk reaches the collections dialer of every other desk on its next pull)."""
    contact_id = hex_id(args, "contact_point_id", "The contact point id")
    table = MUTATIONS["set_contact_consent"]
    existing = session.get(SyncedRow, (table, contact_id))
    if existing is None:
        raise MutationRejected(f"There is no contact point {contact_id} on the server.")
    before = dict(existing.data)
    try:  # the same rule the desktop applied before queueing the change
        changes = check_consent_change(
            str(before.get("kind", "")), {k: v for k, v in args.items() if k != "contact_point_id"})
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None
    if all(bool(before.get(k)) == v for k, v in changes.items()):
        return None  # already so
    return update_row(session, existing, changes, now)


ALL_ROLES: frozenset[Role] = frozenset(ROLES)
SUPERVISORS: frozenset[Role] = frozenset({"supervisor", "admin"})

# Who may push each mutation, enforced here on the server whatever the UI shows.
ROLES_ALLOWED: dict[str, frozenset[Role]] = {
    "add_note": ALL_ROLES,
    "set_agent_limits": SUPERVISORS,
    "set_contact_consent": ALL_ROLES,
}

APPLIERS: dict[str, Applier] = {
    "add_note": apply_add_note,
    "set_agent_limits": apply_set_agent_limits,
    "set_contact_consent": apply_set_contact_consent,
}

# The case mutations live in server_stub/cases.py (which uses the helpers above).
from server_stub.cases import APPLIERS as _CASE_APPLIERS  # noqa: E402
from server_stub.knowledge import APPLIERS as _KNOWLEDGE_APPLIERS  # noqa: E402

APPLIERS.update(_CASE_APPLIERS)
ROLES_ALLOWED.update(dict.fromkeys(_CASE_APPLIERS, ALL_ROLES))
APPLIERS.update(_KNOWLEDGE_APPLIERS)
ROLES_ALLOWED.update({"vote_article": ALL_ROLES, "draft_article": ALL_ROLES,
                      "publish_article": SUPERVISORS})
from server_stub.payments import APPLIERS as _MONEY_APPLIERS  # noqa: E402

APPLIERS.update(_MONEY_APPLIERS)
ROLES_ALLOWED.update(dict.fromkeys(_MONEY_APPLIERS, ALL_ROLES))
ROLES_ALLOWED["decide_adjustment"] = SUPERVISORS
from server_stub.offers import APPLIERS as _OFFER_APPLIERS  # noqa: E402

APPLIERS.update(_OFFER_APPLIERS)
ROLES_ALLOWED.update(dict.fromkeys(_OFFER_APPLIERS, ALL_ROLES))
from server_stub.orders import APPLIERS as _ORDER_APPLIERS  # noqa: E402

APPLIERS.update(_ORDER_APPLIERS)
ROLES_ALLOWED.update(dict.fromkeys(_ORDER_APPLIERS, ALL_ROLES))
from server_stub.customers import APPLIERS as _CUSTOMER_APPLIERS  # noqa: E402
from server_stub.customers import TOUCHES as _CUSTOMER_TOUCHES  # noqa: E402

APPLIERS.update(_CUSTOMER_APPLIERS)
ROLES_ALLOWED.update(dict.fromkeys(_CUSTOMER_APPLIERS, ALL_ROLES))
from server_stub.collections import APPLIERS as _COLLECTION_APPLIERS  # noqa: E402
from server_stub.collections import TOUCHES as _COLLECTION_TOUCHES  # noqa: E402

APPLIERS.update(_COLLECTION_APPLIERS)
ROLES_ALLOWED.update(dict.fromkeys(_COLLECTION_APPLIERS, ALL_ROLES))

# Every mutation the server applies must name its table in the wire protocol and say who
# may push it; failing at import beats a mutation that silently nobody may apply.
if set(APPLIERS) != set(ROLES_ALLOWED) or not set(APPLIERS) <= set(MUTATIONS):
    raise RuntimeError("server_stub.mutations: APPLIERS, ROLES_ALLOWED and MUTATIONS disagree")


# The rows a mutation changes in place, by the args that name them. When it is refused,
# those rows get a fresh change_seq (content unchanged) so the desk that made the change
# pulls the server's version back over its own: a refused change leaves nothing behind.
TOUCHES: dict[str, tuple[tuple[str, str], ...]] = {
    "set_contact_consent": (("contact_points", "contact_point_id"),),
    "set_agent_limits": (("agents", "agent_id"),),
    **dict.fromkeys(("change_case_status", "set_case_priority", "assign_case",
                     "add_case_note", "link_article"), (("cases", "case_id"),)),
    "merge_cases": (("cases", "case_id"), ("cases", "into_case_id")),
    "publish_article": (("knowledge_articles", "article_id"),),
    "decide_adjustment": (("adjustments", "adjustment_id"),),
    "cancel_order": (("orders", "order_id"),),
    "update_payment_method": (("payment_methods", "payment_method_id"),),
    **dict.fromkeys(("void_payment", "refund_payment"), (("payments", "payment_id"),)),
    **_CUSTOMER_TOUCHES,
    **_COLLECTION_TOUCHES,
}


def restamp_refused(session: Session, name: str, args: dict[str, Any]) -> int | None:
    """Re-stamp the rows a refused mutation named; returns the highest change_seq."""
    top = None
    for table, key in TOUCHES.get(name, ()):
        row_id = args.get(key)
        if not isinstance(row_id, str) or not _HEX_ID.fullmatch(row_id):
            continue
        row = session.get(SyncedRow, (table, row_id))
        if row is not None:
            row.change_seq = top = next_change_seq(session)
            session.flush()
    return top


def _needs(allowed: frozenset[Role]) -> str:
    if "supervisor" in allowed:
        return "needs a supervisor"
    if "admin" in allowed:
        return "needs an admin"
    return "is not allowed for anyone"


def apply_mutation(
    session: Session, actor: Actor, name: str, args: dict[str, Any], now: datetime
) -> int | None:
    """Apply one mutation in the caller's transaction, or raise ``MutationRejected``."""
    applier = APPLIERS.get(name)
    if applier is None:
        raise MutationRejected(f"unknown mutation {name}", "unknown_mutation")
    allowed = ROLES_ALLOWED[name]
    if actor.role not in allowed:
        raise MutationRejected(_needs(allowed), "forbidden")
    return applier(session, actor, args, now)
