"""Knowledge search over 100,000 articles: SQLite FTS5 and tantivy side by side.

    python bench/knowledge_bench.py [--articles 100000] [--samples 120] [--dir /tmp/kb-bench]

The corpus is made deterministically from the 82 real articles in resources/knowledge:
each synthetic article takes a real article's product and tags, a title built from real
titles, 3-9 paragraphs recombined from the real articles of the same product (and some
of any product) and one to three paragraphs of Faker's English words; lengths come out
like the real ones (about 350 words). It is written into a real store's
``knowledge_articles`` table, which both indexes are built from.

Per query class (one, two and three words, very common words, prefixes as typed, typos)
every sample goes through four paths, in rotating order:

- ``fts5``: SQLite FTS5 (porter stemmer, prefix indexes for 2-4 letters) running the
  same plan as the app (every word; the unfinished last word as an FTS5 prefix query
  ``reb*``; a typo as its corrections), ranked by bm25 (title 3, tags 2, body 1), with
  ``highlight()`` on the title and ``snippet()`` on the body, top 20.
- ``tantivy``: tantivy running that same plan through the app's index module (title,
  tags and body searched as one field, title matches counting more), with the stored
  fields and highlighted title and body snippets, top 20.
- ``app``: ``KnowledgeBase.search`` as the Knowledge screen calls it: reading the text,
  correcting typos against the index vocabulary, completing the last word, the query,
  snippets (the plan is made inside the timed call).
- ``tantivy plain``: tantivy out of the box on the same index: its query parser on the
  text as typed (title and text fields, the same title boost, its default OR), top 20,
  snippets from its SnippetGenerator: the reference.

Printed: p50 and p95 per path and class, and the ratios of p95s ``fts5 / tantivy`` (the
engine choice, same plan) and ``app / tantivy plain`` (the goal: <= 1.0, p95 <= 10 ms).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tantivy
from faker import Faker

from agent_desktop.domain import knowledge as rules
from agent_desktop.services.knowledge import KnowledgeBase
from agent_desktop.storage.knowledge_index import TITLE_BOOST, KnowledgeIndex
from agent_desktop.storage.reference import ArticleSource, read_articles, resources_dir
from agent_desktop.storage.store import open_store
from bench.common import percentile

CLASSES = ("one word", "two words", "three words", "common words", "prefix as typed",
           "typo")


# --- the corpus --------------------------------------------------------------------------
def _blocks(body: str) -> list[str]:
    return [b.strip() for b in body.split("\n\n") if b.strip()]


def make_corpus(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    lorem = list(fake.get_words_list())
    real = read_articles(resources_dir())
    by_product: dict[str, list[str]] = {}
    all_blocks: list[str] = []
    for a in real:
        blocks = _blocks(a.body_md)
        by_product.setdefault(a.product, []).extend(blocks)
        all_blocks.extend(blocks)
    title_words = [w for a in real for w in a.title.split()]
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def faker_paragraph() -> str:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            ws = rng.choices(lorem, k=rng.randint(6, 14))
            sentences.append(" ".join(ws).capitalize() + ".")
        return " ".join(sentences)

    out: list[dict[str, object]] = []
    for i in range(n):
        base: ArticleSource = real[rng.randrange(len(real))]
        pool = by_product[base.product]
        title = base.title
        r = rng.random()
        if r < 0.4:
            title = f"{title}: {' '.join(rng.choices(title_words, k=rng.randint(1, 3)))}"
        elif r < 0.7:
            title = f"{title} ({' '.join(rng.choices(lorem, k=rng.randint(1, 2)))})"
        blocks = [rng.choice(pool) if rng.random() < 0.7 else rng.choice(all_blocks)
                  for _ in range(rng.randint(3, 9))]
        for _ in range(rng.randint(1, 3)):
            blocks.insert(rng.randrange(len(blocks) + 1), faker_paragraph())
        stamp = start + timedelta(days=rng.randrange(900))
        out.append({
            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "code": f"KB-S{i + 1:06d}",
            "title": title[:200],
            "product": base.product,
            "tags": list(base.tags),
            "body_md": "\n\n".join(blocks) + "\n",
            "stamp": stamp.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
        })
    return out


def write_store(path: Path, corpus: list[dict[str, object]]) -> None:
    for leftover in path.parent.glob(path.name + "*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    open_store(path).close()  # schema through Alembic, as the app makes it
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("DELETE FROM knowledge_articles")
        raw.executemany(
            "INSERT INTO knowledge_articles (id, code, title, product, tags, body_md, "
            "article_version, status, helpful_count, not_helpful_count, created_at, "
            "updated_at, version) VALUES (?, ?, ?, ?, ?, ?, 1, 'published', 0, 0, ?, ?, 1)",
            [(a["id"], a["code"], a["title"], a["product"], json.dumps(a["tags"]),
              a["body_md"], a["stamp"], a["stamp"]) for a in corpus])
    raw.close()


def build_fts5(path: Path, store_path: Path) -> sqlite3.Connection:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE kb USING fts5(title, tags, body, id UNINDEXED, "
                 "code UNINDEXED, product UNINDEXED, tokenize = 'porter unicode61', "
                 "prefix = '2 3 4')")
    src = sqlite3.connect(store_path)
    rows = src.execute("SELECT title, tags, body_md, id, code, product FROM knowledge_articles")
    with conn:
        conn.executemany(
            "INSERT INTO kb (title, tags, body, id, code, product) VALUES (?, ?, ?, ?, ?, ?)",
            ((t, " , ".join(json.loads(tags)), rules.plain_text(body), i, c, p)
             for t, tags, body, i, c, p in rows))
        conn.execute("INSERT INTO kb (kb) VALUES ('optimize')")
    src.close()
    return conn


# --- the queries -------------------------------------------------------------------------
def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def make_queries(seed: int, per_class: int = 40) -> dict[str, list[str]]:
    rng = random.Random(seed)
    real = read_articles(resources_dir())
    phrases = []
    for a in real:
        ws = [w for w in rules.words(a.title) if w not in rules.STOPWORDS and not w.isdigit()]
        if len(ws) >= 3:
            phrases.append(ws)
    distinctive = sorted({w for p in phrases for w in p if len(w) >= 5})

    def pick(k: int) -> str:
        p = rng.choice([p for p in phrases if len(p) >= k])
        at = rng.randrange(len(p) - k + 1)
        return " ".join(p[at:at + k])

    common = ["the internet bill", "bill", "customer account", "the payment",
              "internet service", "call the customer", "bill payment card", "service",
              "account", "the customer", "a new service", "pay the bill"]
    queries: dict[str, list[str]] = {
        "one word": [rng.choice(distinctive) for _ in range(per_class)],
        "two words": [pick(2) for _ in range(per_class)],
        "three words": [pick(3) for _ in range(per_class)],
        "common words": [common[i % len(common)] for i in range(per_class)],
    }
    prefixes = []
    for _ in range(per_class):
        text = pick(2) if rng.random() < 0.7 else rng.choice(common)
        cut = rng.randint(max(2, len(text) // 2), len(text) - 1)
        prefixes.append(text[:cut].rstrip() if not text[:cut].endswith(" ") else text[:cut])
    queries["prefix as typed"] = prefixes
    typos = []
    for _ in range(per_class):
        ws = pick(2).split()
        j = max(range(len(ws)), key=lambda k: len(ws[k]))
        ws[j] = _typo(ws[j], rng)
        typos.append(" ".join(ws))
    queries["typo"] = typos
    return queries


# --- the paths ---------------------------------------------------------------------------
def plan_of(kb: KnowledgeBase, text: str) -> tuple[list[list[str]], list[str]]:
    """The app's plan for ``text``: candidate words per slot, and each slot written for
    FTS5: the unfinished last word as an FTS5 prefix query ``word*``, any other as the
    word or its typo corrections."""
    query = rules.parse_query(text)
    planned, corrections, _unknown = kb.plan(query)
    corrected = {typed for typed, _ in corrections}
    last = query.significant[-1] if query.typing and query.significant else None
    fts: list[str] = []
    for word, cands in planned:
        if word == last and len(word) >= 2 and word not in corrected:
            fts.append(f'"{word}"*')
        else:
            fts.append("(" + " OR ".join(f'"{c.word}"' for c in cands) + ")")
    return [[c.word for c in cands] for _, cands in planned], fts


FTS5_WEIGHTS = "3.0, 2.0, 1.0"  # title, tags, body


def fts5_search(conn: sqlite3.Connection, fts: list[str]) -> list[tuple[object, ...]]:
    if not fts:
        return []
    return conn.execute(
        "SELECT id, code, product, highlight(kb, 0, char(2), char(3)), "
        "snippet(kb, 2, char(2), char(3), '\u2026', 28) "
        f"FROM kb WHERE kb MATCH ? ORDER BY bm25(kb, {FTS5_WEIGHTS}) LIMIT 20",
        (" AND ".join(fts),)).fetchall()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=120, help="timed samples per class")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/kb-bench"))
    ap.add_argument("--reuse", action="store_true",
                    help="keep the store and indexes of an earlier run with the same size")
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    store_path = a.dir / "store.sqlite3"
    fts_path = a.dir / "fts5.sqlite3"
    stamp = a.dir / "corpus.json"
    fresh = not (a.reuse and stamp.exists()
                 and json.loads(stamp.read_text()) == {"n": a.articles, "seed": a.seed})

    if fresh:
        t = time.perf_counter()
        corpus = make_corpus(a.articles, a.seed)
        words = sum(len(str(c["body_md"]).split()) for c in corpus) / len(corpus)
        print(f"corpus: {len(corpus):,} articles, {words:.0f} words each on average, "
              f"made in {time.perf_counter() - t:.1f} s")
        write_store(store_path, corpus)
        del corpus
    store = open_store(store_path)
    kb = KnowledgeBase(store, limit=20)
    if fresh:
        t = time.perf_counter()
        kb.refresh()
        print(f"index build, tantivy (from the store's table): {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        fts = build_fts5(fts_path, store_path)
        print(f"index build, SQLite FTS5 (from the same rows): {time.perf_counter() - t:.1f} s")
        stamp.write_text(json.dumps({"n": a.articles, "seed": a.seed}))
    else:
        fts = sqlite3.connect(fts_path)
    t = time.perf_counter()
    kb.refresh()
    print(f"index check, nothing changed: {(time.perf_counter() - t) * 1000:.0f} ms")
    index: KnowledgeIndex = kb.index
    print(f"indexed: {index.size:,} articles; vocabulary "
          f"{len(index.vocabulary()[0]):,} words and stems")
    tan = index._index  # the same tantivy index, for the plain reference

    def tantivy_plan(words: list[list[str]]) -> object:
        from agent_desktop.storage.knowledge_index import Candidate

        query = index.build_query([[Candidate(w) for w in s] for s in words])
        return index.search(query, 20, [w for s in words for w in s])

    schema = index.schema

    def tantivy_plain(text: str) -> object:
        """tantivy out of the box: its query parser, its snippet generator."""
        q, _errors = tan.parse_query_lenient(text, ["title", "text"],
                                             field_boosts={"title": TITLE_BOOST})
        searcher = tan.searcher()
        hits = searcher.search(q, 20, count=False).hits
        body = tantivy.SnippetGenerator.create(searcher, q, schema, "text")
        body.set_max_num_chars(180)
        title = tantivy.SnippetGenerator.create(searcher, q, schema, "title")
        out = []
        for score, address in hits:
            doc = searcher.doc(address)
            b, t = body.snippet_from_doc(doc), title.snippet_from_doc(doc)
            out.append((score, doc.get_first("id"), doc.get_first("code"),
                        doc.get_first("product"), doc.get_all("tags"),
                        t.fragment(), t.highlighted(), b.fragment(), b.highlighted()))
        return out

    queries = make_queries(a.seed)
    paths = ("fts5", "tantivy", "app", "tantivy plain")
    print(f"\n{a.samples} samples per class, each through all four paths in rotating order; "
          "times in ms\n")
    header = (f"{'class':<16} " + " ".join(f"{p + ' p50/p95':>22}" for p in paths)
              + f" {'fts5/tantivy':>13} {'app/plain':>10}")
    print(header)
    print("-" * len(header))
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    rotate = 0
    for cls in CLASSES:
        texts = queries[cls]
        plans = {text: plan_of(kb, text) for text in texts}
        for text in texts:  # warm every path (pages in the cache, first-use costs)
            kb.search(text)
            tantivy_plain(text)
            tantivy_plan(plans[text][0])
            fts5_search(fts, plans[text][1])
        samples: dict[str, list[float]] = {p: [] for p in paths}
        runs: dict[str, Callable[[str], object]] = {
            "fts5": lambda text, plans=plans: fts5_search(fts, plans[text][1]),
            "tantivy": lambda text, plans=plans: tantivy_plan(plans[text][0]),
            "app": kb.search,
            "tantivy plain": tantivy_plain,
        }
        for i in range(a.samples):
            text = texts[i % len(texts)]
            order = paths[rotate % 4:] + paths[:rotate % 4]
            rotate += 1
            for p in order:
                t = time.perf_counter()
                runs[p](text)
                samples[p].append((time.perf_counter() - t) * 1000)
        row = {p: (percentile(samples[p], 0.5), percentile(samples[p], 0.95)) for p in paths}
        figures[cls] = row
        cells = " ".join(f"{row[p][0]:>10.2f} /{row[p][1]:>9.2f}" for p in paths)
        print(f"{cls:<16} {cells} {row['fts5'][1] / row['tantivy'][1]:>12.1f}x "
              f"{row['app'][1] / row['tantivy plain'][1]:>9.2f}x", flush=True)
    worst = max(r["app"][1] for r in figures.values())
    worst_ratio = max(r["app"][1] / r["tantivy plain"][1] for r in figures.values())
    print(f"\napp search p95, worst class: {worst:.2f} ms (goal <= 10 ms); "
          f"app / tantivy plain p95, worst class: {worst_ratio:.2f} (goal <= 1.0)")
    for cls in ("common words", "typo", "prefix as typed"):
        text = queries[cls][0]
        hits = kb.search(text).hits
        print(f"  e.g. {cls}: {text!r} -> {len(hits)} hits, first: "
              f"{hits[0].title if hits else '-'}")
    fts.close()
    kb.close()
    store.close()


if __name__ == "__main__":
    main()
