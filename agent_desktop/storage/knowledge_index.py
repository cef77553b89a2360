"""The knowledge search index: tantivy (tantivy-py), in a folder beside the store.

Why tantivy and not SQLite FTS5: at 100,000 articles FTS5 ranks every article that holds
a common word before it can return the best ten (bm25 over all matches), so "the internet
bill" takes hundreds of milliseconds; tantivy skips whole blocks that cannot reach the
top ten (block-max WAND) and answers in a few. Figures: docs/PERFORMANCE.md, Knowledge.

The store's ``knowledge_articles`` table stays the truth; this folder is a cache of it
that can be deleted at any time. ``manifest.json`` records which version of each article
the index holds, so bringing it up to date touches only what changed, and a damaged or
older-format folder is simply rebuilt.

One ``KnowledgeIndex`` per folder and process: tantivy allows one writer per index, so
writes are serialized by a lock here; searches run on any thread beside them.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from agent_desktop.domain.knowledge import highlighter, snippet

log = logging.getLogger(__name__)

# Bump when the schema or what goes into a field changes: the folder is then rebuilt.
INDEX_FORMAT = 3
_MANIFEST = "manifest.json"
_WRITER_HEAP = 64_000_000

# "text" holds an article's title, tags and body, so each word searched is one posting
# list to walk (not one per field: half the time at 100,000 articles); a word also in the
# title adds this much more, from the title's own short list.
TITLE_BOOST = 2.0


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    """What the index keeps of one article. ``marker`` changes whenever the row changes
    (its sync version and update time)."""

    id: str
    code: str
    title: str
    product: str
    tags: tuple[str, ...]
    text: str  # the body as plain text
    updated: str  # ISO date
    article_version: int
    marker: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """One word the search looks for, with how much a match on it counts (a typo's
    correction or a completion of an unfinished word counts less than the word typed)."""

    word: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class IndexHit:
    article_id: str
    code: str
    title: str
    product: str
    tags: tuple[str, ...]
    updated: str
    article_version: int
    score: float
    title_marks: tuple[tuple[int, int], ...]
    snippet: str
    snippet_marks: tuple[tuple[int, int], ...]


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw")
    b.add_text_field("code", stored=True, tokenizer_name="raw")
    # Stemmed (English), so "restarting" finds "restart".
    b.add_text_field("title", stored=True, tokenizer_name="en_stem")
    b.add_text_field("tags", stored=True, tokenizer_name="raw")
    # Title, tags and body, searched as one; stored for snippets (the body part of it).
    b.add_text_field("text", stored=True, tokenizer_name="en_stem")
    # Exact values for the filters.
    b.add_text_field("product", stored=True, tokenizer_name="raw")
    b.add_text_field("tag_key", stored=False, tokenizer_name="raw")
    # Every word as written (lower-cased, not stemmed), without positions: the vocabulary
    # that typos are corrected against and unfinished words completed from.
    b.add_text_field("words", stored=False, tokenizer_name="default", index_option="basic")
    b.add_text_field("updated", stored=True, tokenizer_name="raw")
    b.add_integer_field("article_version", stored=True)
    return b.build()


class KnowledgeIndex:
    """Open (or create) the index in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.schema = _schema()
        self._write_lock = threading.Lock()
        self._stemmer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.stemmer("english"))
            .build()
        )
        self.markers: dict[str, str] = {}
        self._index = self._open()
        self._searcher = self._index.searcher()
        self._vocabulary: tuple[list[str], dict[str, int]] | None = None
        self._stems: dict[str, str] = {}

    # --- opening -------------------------------------------------------------------------
    def _open(self) -> tantivy.Index:
        manifest = self._read_manifest()
        if manifest is not None:
            try:
                index = tantivy.Index(self.schema, path=str(self.folder), reuse=True)
                self.markers = manifest
                return index
            except (ValueError, OSError) as exc:
                log.warning("knowledge index in %s unusable (%s); rebuilding", self.folder, exc)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.markers = {}
        return tantivy.Index(self.schema, path=str(self.folder), reuse=False)

    def _read_manifest(self) -> dict[str, str] | None:
        try:
            data = json.loads((self.folder / _MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
            return None
        markers = data.get("markers")
        if not isinstance(markers, dict):
            return None
        return {str(k): str(v) for k, v in markers.items()}

    def _write_manifest(self) -> None:
        path = self.folder / _MANIFEST
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps({"format": INDEX_FORMAT, "markers": self.markers}),
                        encoding="utf-8")
        temp.replace(path)

    # --- writing -------------------------------------------------------------------------
    def update(self, articles: Iterable[IndexedArticle], removed: Iterable[str] = (),
               *, replace_all: bool = False) -> int:
        """Add or replace ``articles``, drop the ``removed`` ids (or everything first, with
        ``replace_all``), commit, and make the result visible. Returns articles written."""
        written = 0
        with self._write_lock:
            writer = self._index.writer(heap_size=_WRITER_HEAP)
            try:
                if replace_all:
                    writer.delete_all_documents()
                    self.markers = {}
                for article_id in removed:
                    writer.delete_documents_by_term("id", article_id)
                    self.markers.pop(article_id, None)
                for a in articles:
                    if not replace_all:
                        writer.delete_documents_by_term("id", a.id)
                    writer.add_document(self._document(a))
                    self.markers[a.id] = a.marker
                    written += 1
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            self._write_manifest()
            self._index.reload()
            self._searcher = self._index.searcher()
            self._vocabulary = None
        return written

    def _document(self, a: IndexedArticle) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", a.id)
        doc.add_text("code", a.code)
        doc.add_text("title", a.title)
        for tag in a.tags:
            doc.add_text("tags", tag)
            doc.add_text("tag_key", tag.lower())
        # Two header lines (title, tags) before the body; snippets skip them.
        doc.add_text("text", "\n".join((a.title.replace("\n", " "),
                                         ", ".join(a.tags).replace("\n", " "), a.text)))
        doc.add_text("product", a.product)
        doc.add_text("words", " ".join((a.title, " ".join(a.tags), a.text)))
        doc.add_text("updated", a.updated)
        doc.add_integer("article_version", a.article_version)
        return doc

    # --- the vocabulary --------------------------------------------------------------------
    @property
    def size(self) -> int:
        return int(self._searcher.num_docs)

    def frequency(self, word: str) -> int:
        """How many articles hold ``word`` as written (0: not a word of the index)."""
        return int(self._searcher.doc_freq("words", word))

    def completions(self, prefix: str, limit: int = 8,
                    skip: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
        """Words of the index that start with ``prefix`` (except ``skip``), the most
        frequent first."""
        found = [(str(w), int(n)) for w, n in self._searcher.terms_with_prefix("words", prefix)
                 if w not in skip]
        found.sort(key=lambda item: (-item[1], item[0]))
        return found[:limit]

    def vocabulary(self) -> tuple[list[str], dict[str, int]]:
        """Every word of the index as written and as stemmed (so "modme" finds "modem"
        even where only "modems" is written), with how many articles hold it; for typo
        correction. Cached until the next write."""
        vocabulary = self._vocabulary
        if vocabulary is None:
            # Only words of letters, four or more: shorter ones get no typo budget, and
            # numbers and codes are typed exactly.
            counts = {str(w): int(n) for field in ("text", "words")
                      for w, n in self._searcher.terms_with_prefix(field, "")
                      if len(w) >= 4 and w.isalpha()}
            vocabulary = (list(counts), counts)
            self._vocabulary = vocabulary
        return vocabulary

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            tokens = self._stemmer.analyze(word)
            stem = tokens[0] if tokens else word
            if len(self._stems) > 50_000:
                self._stems.clear()
            self._stems[word] = stem
        return stem

    # --- searching -------------------------------------------------------------------------
    def _stems_of(self, candidates: Sequence[Candidate]) -> dict[str, float]:
        best: dict[str, float] = {}
        for c in candidates:
            stem = self._stem(c.word)
            best[stem] = max(best.get(stem, 0.0), c.weight)
        return best

    def _terms(self, field: str, stems: dict[str, float], boost: float = 1.0
               ) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        return [(tantivy.Occur.Should, tantivy.Query.boost_query(
            tantivy.Query.term_query(self.schema, field, stem), boost * weight))
            for stem, weight in stems.items()]

    def code_query(self, code: str) -> tantivy.Query:
        """The article with this code (e.g. KB-0005)."""
        return tantivy.Query.term_query(self.schema, "code", code)

    def build_query(self, slots: Sequence[Sequence[Candidate]], *, all_words: bool = True,
                    product: str | None = None, tag: str | None = None,
                    boost_products: Sequence[str] = ()) -> tantivy.Query:
        """One query: every slot must match (``all_words``) or any may; each slot is one
        typed word with its corrections or completions. Filters must match; articles of
        ``boost_products`` rank higher (suggestions)."""
        occur = tantivy.Occur.Must if all_words else tantivy.Occur.Should
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for slot in slots:
            if not slot:
                continue
            stems = self._stems_of(slot)
            clauses.append((occur, tantivy.Query.boolean_query(self._terms("text", stems))))
            clauses += self._terms("title", stems, TITLE_BOOST)
        if product:
            clauses.append((tantivy.Occur.Must,
                            tantivy.Query.term_query(self.schema, "product", product)))
        if tag:
            clauses.append((tantivy.Occur.Must,
                            tantivy.Query.term_query(self.schema, "tag_key", tag.lower())))
        for i, p in enumerate(boost_products):
            clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(self.schema, "product", p), 2.0 / (1 + i))))
        return tantivy.Query.boolean_query(clauses)

    def search(self, query: tantivy.Query, limit: int = 20, highlight: Sequence[str] = (),
               snippet_chars: int = 180) -> list[IndexHit]:
        """The best ``limit`` articles for ``query``, with the ``highlight`` words (the
        words searched for; their stems are added) marked in the title and in a snippet
        of the body around them.

        Snippets are cut here rather than by tantivy's SnippetGenerator, which re-runs the
        stemmer over each whole article: the same marks for a third of the time
        (docs/PERFORMANCE.md)."""
        searcher = self._searcher
        hits = searcher.search(query, limit, count=False).hits
        if not hits:
            return []
        terms = {w.lower() for w in highlight}
        terms |= {self._stem(w) for w in terms}
        pattern = highlighter(terms)
        out = []
        for score, address in hits:
            doc = searcher.doc(address)
            title = str(doc.get_first("title") or "")
            _, title_marks = snippet(title, pattern, width=len(title) + 1)
            fragment, marks = snippet(_body(str(doc.get_first("text") or "")), pattern,
                                      snippet_chars)
            out.append(IndexHit(
                article_id=str(doc.get_first("id")),
                code=str(doc.get_first("code") or ""),
                title=title,
                product=str(doc.get_first("product") or ""),
                tags=tuple(str(t) for t in doc.get_all("tags")),
                updated=str(doc.get_first("updated") or ""),
                article_version=int(doc.get_first("article_version") or 1),
                score=float(score),
                title_marks=title_marks,
                snippet=fragment.replace("\n", " "),
                snippet_marks=marks,
            ))
        return out

    def close(self) -> None:
        """Let go of the index files (the object must not be used afterwards)."""
        with self._write_lock:
            self._vocabulary = None
            del self._searcher
            del self._index


def _body(text: str) -> str:
    """The body part of the stored "text" (after the title and tags lines)."""
    first = text.find("\n")
    second = text.find("\n", first + 1) if first >= 0 else -1
    return text[second + 1:] if second >= 0 else ""


def new_marker(version: Any, updated_at: Any, status: Any) -> str:
    """What says an article row changed: its sync version, update time and status."""
    return f"{version}|{updated_at}|{status}"
