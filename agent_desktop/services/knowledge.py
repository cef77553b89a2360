"""Knowledge: find the article that answers the caller, read it, say whether it helped.

``KnowledgeBase`` searches the articles as the agent types (typos corrected against the
index's own vocabulary, the unfinished last word completed), suggests articles for the
customer in front of the agent, and reads one article with its helpful counts. The index
is tantivy's, in a folder beside the store (storage.knowledge_index); ``refresh`` brings
it up to date with the store's ``knowledge_articles`` table. Safe to share between
threads: searches run beside a refresh.

``vote`` records "helpful / not helpful": one vote row plus its outbox mutation, in one
transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent_desktop.domain import knowledge as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext
from agent_desktop.services.customer360 import Customer360
from agent_desktop.storage import knowledge as articles
from agent_desktop.storage.knowledge import ArticleRow
from agent_desktop.storage.knowledge_index import Candidate, IndexHit, KnowledgeIndex
from agent_desktop.storage.store import Store

__all__ = [
    "ArticleHit",
    "ArticleRow",
    "CallContext",
    "KnowledgeBase",
    "KnowledgeResult",
    "Suggestions",
    "VoteResult",
    "call_context",
    "vote",
]

Segments = tuple[tuple[str, bool], ...]

# How much a match counts when it is not the word typed.
_COMPLETION_WEIGHT = 0.9
_TYPO_WEIGHT = 0.75
_COMPLETIONS = 6
_CORRECTIONS = 3


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """One result row: the article, its title and a snippet with the matched words marked."""

    article_id: str
    code: str
    title: str
    product: str
    tags: tuple[str, ...]
    updated: str
    score: float
    title_segments: Segments
    snippet_segments: Segments

    @property
    def snippet(self) -> str:
        return "".join(piece for piece, _ in self.snippet_segments)


@dataclass(frozen=True, slots=True)
class KnowledgeResult:
    """What a search found. ``hint`` is a sentence for the agent (why nothing was found,
    what a typo was read as); ``searched`` says whether a search ran at all."""

    text: str
    product: str | None
    tag: str | None
    hits: tuple[ArticleHit, ...]
    hint: str
    searched: bool
    corrections: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestions:
    """Articles for the call in front of the agent, best first, and the words they came
    from."""

    hits: tuple[ArticleHit, ...]
    terms: tuple[str, ...]
    products: tuple[str, ...]


def _hit(h: IndexHit) -> ArticleHit:
    return ArticleHit(
        article_id=h.article_id, code=h.code, title=h.title, product=h.product, tags=h.tags,
        updated=h.updated, score=h.score,
        title_segments=rules.marked_segments(h.title, h.title_marks),
        snippet_segments=rules.marked_segments(h.snippet, h.snippet_marks),
    )


def _quoted(words: Sequence[str]) -> str:
    return " ".join(words)


class KnowledgeBase:
    """The knowledge articles of one store, searchable. Opens (and if needed builds) the
    index on first use; call it off the UI thread."""

    def __init__(self, store: Store, folder: Path | None = None, limit: int = 20) -> None:
        self.store = store
        self.folder = folder or articles.index_folder(store.path)
        self.limit = limit
        self._index: KnowledgeIndex | None = None
        self._lock = threading.Lock()

    @property
    def index(self) -> KnowledgeIndex:
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    opened = KnowledgeIndex(self.folder)
                    articles.bring_index_up_to_date(self.store, opened)
                    self._index = opened
                index = self._index
        return index

    def refresh(self) -> int:
        """Bring the index up to date with the store's articles; returns how many changed."""
        with self._lock:
            if self._index is not None:
                return articles.bring_index_up_to_date(self.store, self._index)
            # Published only once built: a search on another thread waits on the lock
            # rather than finding a half-built, empty index.
            opened = KnowledgeIndex(self.folder)
            changed = articles.bring_index_up_to_date(self.store, opened)
            self._index = opened
            return changed

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None

    # --- searching ---------------------------------------------------------------------
    def _corrections(self, word: str, limit: int) -> list[tuple[str, int]]:
        """The likeliest words meant by ``word``: those as close as the closest (a swap
        beats a dropped letter: "modme" is "modem", not also "mode")."""
        vocabulary, counts = self.index.vocabulary()
        close = rules.close_words(word, vocabulary, limit, counts)
        if not close:
            return close

        def tier(item: tuple[str, int]) -> tuple[int, int]:
            return item[1], abs(len(item[0]) - len(word))

        return [c for c in close if tier(c) == tier(close[0])]

    def plan(self, query: rules.KnowledgeQuery
             ) -> tuple[list[tuple[str, list[Candidate]]], list[tuple[str, str]], list[str]]:
        """Per significant word: the words of the index it may stand for (the word itself,
        completions of an unfinished last word, corrections of a typo); then the
        corrections made and the words nothing stands for."""
        index = self.index
        significant = query.significant
        last = significant[-1] if significant and query.typing \
            and query.words[-1] == significant[-1] else None
        slots: list[tuple[str, list[Candidate]]] = []
        corrections: list[tuple[str, str]] = []
        unknown: list[str] = []
        for word in significant:
            typing = word == last
            cands: list[Candidate] = []
            if index.frequency(word):
                cands.append(Candidate(word))
            if typing and len(word) >= 2:
                cands += [Candidate(w, _COMPLETION_WEIGHT) for w, _ in index.completions(
                    word, _COMPLETIONS, skip=rules.STOPWORDS) if w != word]
            if not cands:
                close = self._corrections(word, _CORRECTIONS)
                cands = [Candidate(w, _TYPO_WEIGHT / (1 + i)) for i, (w, _) in enumerate(close)]
                if close:
                    corrections.append((word, close[0][0]))
            if cands:
                slots.append((word, cands))
            elif not (typing and len(word) < 2):
                unknown.append(word)
        return slots, corrections, unknown

    def search(self, text: str, product: str | None = None,
               tag: str | None = None) -> KnowledgeResult:
        """Articles matching ``text`` (every word, else some of them), best first, within
        the product and tag filters. Never raises for odd input: the hint says what to do.
        With filters and no text, lists the articles of that product or tag."""
        query = rules.parse_query(text)
        product = product or None
        tag = tag or None
        if query.problem and not (query.text == "" and (product or tag)):
            return KnowledgeResult(query.text, product, tag, (), query.problem, False)
        if query.typing and len(query.words) == 1 and len(query.words[0]) < 2:
            return KnowledgeResult(query.text, product, tag, (),
                                   "Keep typing: one letter is not enough to search.", False)
        index = self.index
        code = rules.article_code(query.text)
        if code is not None:
            found = index.search(index.code_query(code), 1)
            if found:
                return KnowledgeResult(query.text, product, tag, (_hit(found[0]),), "", True)
        if not query.words:  # filters only
            q = index.build_query([], product=product, tag=tag)
            listed = tuple(_hit(h) for h in index.search(q, self.limit))
            return KnowledgeResult("", product, tag, listed, "" if listed else
                                   "No article has that product and tag.", True)
        planned, corrections, unknown = self.plan(query)
        slots = [cands for _, cands in planned]
        if not slots:
            return KnowledgeResult(
                query.text, product, tag, (),
                f"No article mentions \u201c{_quoted(unknown or query.words)}\u201d. Check "
                "the spelling or try another word for it.", True)
        marked = [c.word for cands in slots for c in cands]
        q = index.build_query(slots, product=product, tag=tag)
        hits = index.search(q, self.limit, marked)
        notes: list[str] = []
        if not hits and len(slots) > 1:
            q = index.build_query(slots, all_words=False, product=product, tag=tag)
            hits = index.search(q, self.limit, marked)
            if hits:
                notes.append("No article has all of these words; these have some of them.")
        if corrections:
            read = " ".join(dict(corrections).get(w, w) for w in query.significant)
            notes.insert(0, f"Showing results for \u201c{read}\u201d.")
        if unknown:
            notes.append(f"No article mentions \u201c{_quoted(unknown)}\u201d.")
        if not hits:
            where = " with these filters" if product or tag else ""
            notes.append(f"No article matches \u201c{query.text}\u201d{where}. Try fewer or "
                         "other words" + (", or clear the filters." if where else "."))
        return KnowledgeResult(query.text, product, tag, tuple(_hit(h) for h in hits),
                               " ".join(notes), True, tuple(corrections))

    def suggest(self, text: str, skus: Sequence[str] = (), limit: int = 5) -> Suggestions:
        """Articles for the call in front of the agent: from ``text`` (a case's subject and
        description, the agent's note) and the customer's products (``skus``), ranked;
        articles for the customer's products first among equals."""
        with self.store.reading() as session:
            families = articles.families_of(session.connection(), list(skus))
        products = rules.article_products(families)
        terms = rules.key_terms(text)
        index = self.index
        slots: list[list[Candidate]] = []
        used: list[str] = []
        for word in terms:
            # Written text, not typed in a hurry: words the articles do not use are skipped
            # rather than "corrected" into something else.
            if index.frequency(word):
                slots.append([Candidate(word)])
                used.append(word)
        if not slots and not products:
            return Suggestions((), (), ())
        if slots:
            q = index.build_query(slots, all_words=False, boost_products=products)
        else:
            q = index.build_query([], boost_products=products)
        hits = tuple(_hit(h) for h in index.search(q, limit, used))
        return Suggestions(hits, tuple(used), products)

    def filters(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(products, tags) of the published articles, for the filter lists."""
        with self.store.reading() as session:
            return articles.filter_choices(session.connection())

    def article(self, article_id: str, who: AgentContext | None = None) -> ArticleRow:
        """One article to read, with its helpful counts and this agent's own vote."""
        with self.store.reading() as session:
            row = articles.article(session.connection(), article_id,
                                   who.agent_id if who else None)
        if row is None:
            raise UserFacingError("That article is no longer in the knowledge base. Search "
                                  "again for the newest version.")
        return row


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the suggestions for the customer in front of the agent are made from."""

    customer_id: str
    customer_name: str
    text: str
    skus: tuple[str, ...]
    because: str  # in the agent's words: which case and products


_OPEN_CASE = frozenset({"new", "open", "pending_customer", "pending_internal"})


def call_context(customer: Customer360) -> CallContext:
    """The text and products to suggest articles from, for an open customer: their open
    cases' subjects (else their latest note) and their active services."""
    open_cases = [c for c in customer.cases if c.status in _OPEN_CASE]
    if open_cases:
        text = ". ".join(c.subject for c in open_cases)
        first = open_cases[0].subject
        more = f" and {len(open_cases) - 1} more" if len(open_cases) > 1 else ""
        source = f"their open case \u201c{first}\u201d{more}"
    elif customer.notes:
        note = max(customer.notes, key=lambda n: n.created_at)
        text, source = note.body, "their latest note"
    else:
        text, source = "", ""
    active = [s for s in customer.services if s.status == "active"]
    skus = tuple(dict.fromkeys(s.sku for s in active))
    families = list(dict.fromkeys(s.family for s in active))
    names = {"tv": "TV", "internet": "Internet", "phone": "Home Phone", "mobile": "Mobile",
             "security": "Home Security", "equipment": "Equipment"}
    products = ", ".join(names.get(f, f.title()) for f in families)
    parts = [p for p in (source, f"their {products} services" if products else "") if p]
    return CallContext(customer.customer_id, customer.display_name, text, skus,
                       " and ".join(parts))


@dataclass(frozen=True, slots=True)
class VoteResult:
    vote_id: str
    article: ArticleRow


def vote(store: Store, who: AgentContext, article_id: str, helpful: bool) -> VoteResult:
    """Record that the article helped (or not): a knowledge_votes row and a
    ``vote_article`` outbox mutation in one transaction. Each agent counts once per
    article; voting again replaces the earlier vote in the counts."""
    if not who.agent_id:
        raise UserFacingError("Votes count once per agent, and this desk does not know who "
                              "you are yet. Sign in to the sync server, then vote again.")
    with store.transaction() as session:
        written = articles.write_vote(session, article_id, who.agent_id, helpful)
        if written is None:
            raise UserFacingError("That article is no longer in the knowledge base; "
                                  "your vote was not recorded.")
        row = articles.article(session.connection(), article_id, who.agent_id)
    assert row is not None
    return VoteResult(written.vote_id, row)
