"""Knowledge articles and votes in the store, and keeping the search index in step.

The ``knowledge_articles`` table is the truth (articles from resources/knowledge and any
added to the store); the tantivy index beside the store (``knowledge_index``) is brought
up to date from it by ``bring_index_up_to_date``, which rewrites only the articles whose
row changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from agent_desktop.domain.knowledge import Vote, plain_text, tally
from agent_desktop.storage import outbox
from agent_desktop.storage.knowledge_index import IndexedArticle, KnowledgeIndex, new_marker
from agent_desktop.storage.models import KnowledgeArticle, KnowledgeVote, Product, new_id
from agent_desktop.storage.store import Store

__all__ = [
    "ArticleRow",
    "VoteWritten",
    "article",
    "bring_index_up_to_date",
    "families_of",
    "filter_choices",
    "index_folder",
    "write_vote",
]


def index_folder(store_path: Path) -> Path:
    """Where the search index of the store at ``store_path`` lives: a folder beside it."""
    return store_path.with_name(store_path.name + ".knowledge-index")


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """One article as the reader shows it."""

    id: str
    code: str
    title: str
    product: str
    tags: tuple[str, ...]
    body_md: str
    article_version: int
    updated: date
    status: str
    helpful: int
    not_helpful: int
    my_vote: bool | None  # this agent's latest vote, if any


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    if not isinstance(value, list):
        return ()
    return tuple(str(t) for t in value if str(t).strip())


# Read as the driver returns them (text, not datetimes): at 100,000 articles SQLAlchemy's
# type processing would be most of the cost of checking the index is current.
_PUBLISHED = ("SELECT id, code, title, product, tags, body_md, article_version, updated_at, "
              "version, status FROM knowledge_articles WHERE status = 'published'")


def _published(conn: Connection, ids: Sequence[str] | None = None) -> list[Any]:
    if ids is None:
        return list(conn.exec_driver_sql(_PUBLISHED).fetchall())
    out: list[Any] = []
    wanted = list(ids)
    for at in range(0, len(wanted), 500):
        chunk = wanted[at:at + 500]
        out += conn.exec_driver_sql(
            _PUBLISHED + f" AND id IN ({','.join('?' * len(chunk))})", tuple(chunk)).fetchall()
    return out


def _markers(conn: Connection) -> dict[str, str]:
    rows = conn.exec_driver_sql(
        "SELECT id, version, updated_at, status FROM knowledge_articles "
        "WHERE status = 'published'").fetchall()
    return {str(r[0]): new_marker(r[1], r[2], r[3]) for r in rows}


def _indexed(row: Any) -> IndexedArticle:
    aid, code, title, product, tags, body_md, article_version, updated_at, version, status = row
    return IndexedArticle(
        id=str(aid),
        code=str(code),
        title=str(title),
        product=str(product),
        tags=_tags(tags),
        text=plain_text(str(body_md or "")),
        updated=str(updated_at or "")[:10],
        article_version=int(article_version or 1),
        marker=new_marker(version, updated_at, status),
    )


def bring_index_up_to_date(store: Store, index: KnowledgeIndex) -> int:
    """Write into ``index`` every published article whose row changed since it was
    indexed, and drop those no longer published. Returns how many articles changed."""
    with store.reading() as session:
        conn = session.connection()
        current = _markers(conn)
        known = index.markers
        changed = {aid for aid, marker in current.items() if known.get(aid) != marker}
        removed = [aid for aid in known if aid not in current]
        if not changed and not removed:
            return 0
        rebuild = len(changed) > len(current) // 2
        rows = _published(conn) if rebuild else _published(conn, sorted(changed))
    articles = [_indexed(r) for r in rows]
    index.update(articles, removed, replace_all=rebuild)
    return len(articles) + len(removed)


def article(conn: Connection, article_id: str, agent_id: str | None) -> ArticleRow | None:
    """The article with ``article_id`` and its helpful counts, or None."""
    t = KnowledgeArticle.__table__.c
    row = conn.execute(
        select(t.id, t.code, t.title, t.product, t.tags, t.body_md, t.article_version,
               t.updated_at, t.status).where(t.id == article_id)
    ).first()
    if row is None:
        return None
    votes = _votes(conn, article_id)
    helpful, not_helpful = tally(votes)
    mine = max((v for v in votes if agent_id and v.agent_id == agent_id),
               key=lambda v: v.at_order, default=None)
    updated: datetime = row.updated_at
    return ArticleRow(
        id=str(row.id), code=str(row.code), title=str(row.title), product=str(row.product),
        tags=_tags(row.tags), body_md=str(row.body_md or ""),
        article_version=int(row.article_version or 1),
        updated=updated.date() if updated else date(1970, 1, 1),
        status=str(row.status), helpful=helpful, not_helpful=not_helpful,
        my_vote=None if mine is None else mine.helpful,
    )


def _votes(conn: Connection, article_id: str) -> list[Vote]:
    v = KnowledgeVote.__table__.c
    rows = conn.execute(
        select(v.id, v.agent_id, v.helpful, v.created_at).where(v.article_id == article_id)
    ).all()
    # A vote with no agent (made where nobody was signed in) counts on its own.
    return [Vote(str(r.agent_id or f"anonymous:{r.id}"), bool(r.helpful),
                 (r.created_at.isoformat(), str(r.id))) for r in rows]


@dataclass(frozen=True, slots=True)
class VoteWritten:
    vote_id: str
    article_id: str
    helpful: bool
    mutation_id: int


def write_vote(session: Session, article_id: str, agent_id: str | None,
               helpful: bool) -> VoteWritten | None:
    """Append a vote and queue its ``vote_article`` mutation in the caller's transaction.
    None when the article is not in the store."""
    if session.get(KnowledgeArticle, article_id) is None:
        return None
    now = datetime.now(UTC)
    vote = KnowledgeVote(id=new_id(), article_id=article_id, agent_id=agent_id,
                         helpful=bool(helpful), created_at=now)
    session.add(vote)
    mutation = outbox.enqueue(session, "vote_article", {
        "id": vote.id, "article_id": article_id, "helpful": bool(helpful),
        "created_at": now.isoformat(),
    })
    session.flush()
    return VoteWritten(vote.id, article_id, bool(helpful), mutation.mutation_id)


def families_of(conn: Connection, skus: Sequence[str]) -> list[str]:
    """The catalog families of these SKUs (unknown SKUs are skipped), in SKU order."""
    wanted = [s for s in dict.fromkeys(skus) if s]
    if not wanted:
        return []
    p = Product.__table__.c
    found = dict(conn.execute(select(p.sku, p.family_code).where(p.sku.in_(wanted))).all())
    return list(dict.fromkeys(str(found[s]) for s in wanted if s in found))


def filter_choices(conn: Connection) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The products and the tags of published articles, each sorted (for the filters)."""
    t = KnowledgeArticle.__table__.c
    rows = conn.execute(select(t.product, t.tags).where(t.status == "published")).all()
    products = sorted({str(r.product) for r in rows if r.product})
    tags = sorted({tag.lower() for r in rows for tag in _tags(r.tags)})
    return tuple(products), tuple(tags)
