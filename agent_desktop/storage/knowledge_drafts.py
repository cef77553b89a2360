"""Draft articles written from solved cases, and publishing them, in the store.

The one place a draft or a publication is written on the desk: when the agent does it
and when a pull is rebased under a change the server has not answered yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.knowledge_drafts import check_draft
from agent_desktop.storage.models import Case, KnowledgeArticle


def _at(value: object) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def apply_draft_article(session: Session, args: dict[str, Any]) -> KnowledgeArticle:
    existing = session.get(KnowledgeArticle, args["id"])
    if existing is not None:
        return existing
    title, body, product, tags = check_draft(args.get("title"), args.get("body_md"),
                                             args.get("product"), args.get("tags"))
    case_id = args.get("source_case_id")
    if case_id is not None and session.get(Case, case_id) is None:
        raise UserFacingError("That case is not in the local store; search again.")
    at = _at(args["created_at"])
    article = KnowledgeArticle(
        id=args["id"], code=args["code"], title=title, product=product, tags=tags,
        body_md=body, article_version=1, status="draft", source_case_id=case_id,
        helpful_count=0, not_helpful_count=0, created_at=at, updated_at=at, version=1)
    session.add(article)
    session.flush()
    return article


def apply_publish_article(session: Session, args: dict[str, Any]) -> None:
    article = session.get(KnowledgeArticle, args.get("article_id"))
    if article is None:
        raise UserFacingError("That article is not in the local store.")
    if article.status == "published":
        raise UserFacingError("The article is already published.")
    article.status = "published"
    article.version += 1


LOCAL = {"draft_article": apply_draft_article, "publish_article": apply_publish_article}
