"""Knowledge on the server: votes, drafts written from solved cases, and publishing.

Votes are append-only rows (an agent who changes their mind adds a newer vote; the
latest per agent counts). Any agent may write a draft ("write once, reuse": a resolved
case seeds it); only a supervisor or an admin publishes one, and nobody publishes their
own draft. Articles are synced rows like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.knowledge_drafts import check_draft
from server_stub.mutations import (
    Actor,
    MutationRejected,
    hex_id,
    optional_hex_id,
    put_row,
)
from server_stub.store import SyncedRow


def _when(args: dict[str, Any], key: str, now: datetime) -> datetime:
    value = args.get(key)
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise MutationRejected(f"{key} must be an ISO 8601 date and time.")
    return min(parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed, now)


def apply_vote_article(session: Session, actor: Actor, args: dict[str, Any],
                       now: datetime) -> int | None:
    vote_id = hex_id(args, "id", "The vote id")
    article_id = hex_id(args, "article_id", "The article id")
    helpful = args.get("helpful")
    if not isinstance(helpful, bool):
        raise MutationRejected("A vote is helpful (true) or not helpful (false).")
    if session.get(SyncedRow, ("knowledge_articles", article_id)) is None:
        raise MutationRejected("That article is not on the server.")
    if session.get(SyncedRow, ("knowledge_votes", vote_id)) is not None:
        raise MutationRejected(f"Vote {vote_id} already exists; votes are never changed.")
    at = _when(args, "created_at", now).isoformat()
    return put_row(session, "knowledge_votes", vote_id, {
        "id": vote_id, "article_id": article_id, "agent_id": actor.user_id,
        "helpful": helpful, "created_at": at}, now)


def apply_draft_article(session: Session, actor: Actor, args: dict[str, Any],
                        now: datetime) -> int | None:
    article_id = hex_id(args, "id", "The article id")
    if session.get(SyncedRow, ("knowledge_articles", article_id)) is not None:
        raise MutationRejected("That article already exists.")
    try:
        title, body, product, tags = check_draft(
            args.get("title"), args.get("body_md"), args.get("product"), args.get("tags"))
    except UserFacingError as exc:
        raise MutationRejected(exc.message) from None
    case_id = optional_hex_id(args, "source_case_id", "The case id")
    if case_id is not None and session.get(SyncedRow, ("cases", case_id)) is None:
        raise MutationRejected("The case this draft comes from is not on the server.")
    code = args.get("code")
    if not isinstance(code, str) or not 3 <= len(code) <= 16:
        raise MutationRejected("The draft needs a code of 3 to 16 characters.")
    at = _when(args, "created_at", now).isoformat()
    return put_row(session, "knowledge_articles", article_id, {
        "id": article_id, "code": code, "title": title, "product": product, "tags": tags,
        "body_md": body, "article_version": 1, "status": "draft",
        "source_case_id": case_id, "helpful_count": 0, "not_helpful_count": 0,
        "author_id": actor.user_id, "created_at": at, "updated_at": at, "version": 1}, now)


def apply_publish_article(session: Session, actor: Actor, args: dict[str, Any],
                          now: datetime) -> int | None:
    article_id = hex_id(args, "article_id", "The article id")
    row = session.get(SyncedRow, ("knowledge_articles", article_id))
    if row is None:
        raise MutationRejected("That article is not on the server.")
    if row.data.get("status") == "published":
        raise MutationRejected("The article is already published.")
    if row.data.get("author_id") == actor.user_id:
        raise MutationRejected("Nobody publishes their own draft: ask another supervisor.",
                               "forbidden")
    version = row.data.get("version")
    return put_row(session, "knowledge_articles", article_id, {
        **row.data, "status": "published", "updated_at": now.isoformat(),
        "version": (version if isinstance(version, int) else 0) + 1}, now)


KnowledgeApplier = Callable[[Session, Actor, dict[str, Any], datetime], int | None]

APPLIERS: dict[str, KnowledgeApplier] = {
    "vote_article": apply_vote_article,
    "draft_article": apply_draft_article,
    "publish_article": apply_publish_article,
}
