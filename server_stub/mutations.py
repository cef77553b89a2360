"""The mutations the server applies, and who may push each.

Each applier validates everything first and raises ``MutationRejected`` (with a reason an
agent can read) *before* it writes; the caller also rolls the transaction back on a
rejection, so a half-applied mutation can never be committed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.notes import clean_note_body
from agent_desktop.sync.protocol import MUTATIONS
from server_stub.store import ROLES, Role, SyncedRow, next_change_seq

_HEX_ID = re.compile(r"[0-9a-f]{32}")


class MutationRejected(Exception):
    """A mutation the server will never apply; recorded, and the client is told why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _hex_id(args: dict[str, Any], key: str, what: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise MutationRejected(f"{what} must be a UUID written as 32 lowercase hex characters.")
    return value


def _optional_hex_id(args: dict[str, Any], key: str, what: str) -> str | None:
    return None if args.get(key) is None else _hex_id(args, key, what)


def apply_add_note(
    session: Session, actor: Actor, args: dict[str, Any], now: datetime
) -> int | None:
    """Append a note. Notes are append-only: inserted once by id, never overwritten.

    The author is the pushing user, whatever the args say: a client cannot write notes in
    someone else's name.
    """
    note_id = _hex_id(args, "id", "The note's id")
    customer_id = _hex_id(args, "customer_id", "The customer id")
    interaction_id = _optional_hex_id(args, "interaction_id", "The interaction id")
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
    existing = session.get(SyncedRow, (table, note_id))
    if existing is not None:
        if existing.data == data:
            return None  # the same note again: already there, nothing to do
        raise MutationRejected(
            f"Note {note_id} already exists with different content; notes are never changed "
            "(add a new note instead)."
        )
    seq = next_change_seq(session)
    session.add(SyncedRow(table_name=table, id=note_id, data=data, change_seq=seq, updated_at=now))
    session.flush()
    return seq


ALL_ROLES: frozenset[Role] = frozenset(ROLES)

# Who may push each mutation, enforced here on the server whatever the UI shows.
ROLES_ALLOWED: dict[str, frozenset[Role]] = {
    "add_note": ALL_ROLES,
}

APPLIERS: dict[str, Applier] = {
    "add_note": apply_add_note,
}

# Every mutation the server applies must name its table in the wire protocol and say who
# may push it; failing at import beats a mutation that silently nobody may apply.
if set(APPLIERS) != set(ROLES_ALLOWED) or not set(APPLIERS) <= set(MUTATIONS):
    raise RuntimeError("server_stub.mutations: APPLIERS, ROLES_ALLOWED and MUTATIONS disagree")


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
        raise MutationRejected(f"unknown mutation {name}")
    allowed = ROLES_ALLOWED[name]
    if actor.role not in allowed:
        raise MutationRejected(_needs(allowed))
    return applier(session, actor, args, now)
