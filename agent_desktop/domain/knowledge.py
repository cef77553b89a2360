"""Knowledge search, the rules without the engine: what the agent typed, which words count,
how a typo finds the word meant, what a snippet highlights, and which articles fit a
customer's products.

Words are split the way the index splits them (runs of letters and digits, lower-cased),
so a word typed here and a word in the index compare as equal strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "STOPWORDS",
    "KnowledgeQuery",
    "Vote",
    "article_code",
    "article_products",
    "close_words",
    "highlighter",
    "key_terms",
    "marked_segments",
    "parse_query",
    "plain_text",
    "snippet",
    "tally",
    "typo_budget",
    "words",
]

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12

# Words too common to tell articles apart. Dropped from a query that has other words
# (a query of nothing but these still searches them).
STOPWORDS = frozenset({
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has",
    "have", "how", "i", "if", "in", "into", "is", "it", "its", "may", "me", "my", "no", "not",
    "of", "on", "or", "our", "out", "so", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "to", "too", "up", "us", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "why", "will", "with", "would", "you", "your"
})

# Words that fill a case's text without saying what it is about ("Customer reports...").
_CASE_FILLER = frozenset({
    "customer", "customers", "caller", "calls", "called", "call", "asks", "asked", "wants",
    "wanted", "says", "said", "reports", "reported", "report", "needs", "need", "please",
    "help", "issue", "issues", "problem", "problems", "since", "today", "yesterday", "again",
    "still", "just", "now", "week", "weeks", "day", "days", "month", "months"
})

_WORD = re.compile(r"[^\W_]+")
_LONGEST_WORD = 40  # the index drops longer tokens too (tantivy's default tokenizer)


def words(text: str) -> list[str]:
    """The words of ``text`` as the index sees them: letters and digits, lower-cased."""
    return [w for w in _WORD.findall(text.lower()) if len(w) < _LONGEST_WORD]


@dataclass(frozen=True, slots=True)
class KnowledgeQuery:
    """The search box text, split into words.

    ``typing`` is True when the last word may be unfinished (no space after it yet): the
    search then also takes it as the start of a longer word. ``problem`` is what to tell
    the agent instead of searching (empty, nothing searchable, too long); empty when the
    query can run.
    """

    text: str
    words: tuple[str, ...]
    typing: bool
    problem: str = ""

    @property
    def significant(self) -> tuple[str, ...]:
        """The words that tell articles apart: stopwords dropped, unless that leaves
        nothing. Duplicates removed, order kept."""
        unique = tuple(dict.fromkeys(self.words))
        kept = tuple(w for w in unique if w not in STOPWORDS)
        if self.typing and unique and unique[-1] in STOPWORDS and unique[-1] not in kept:
            # "the internet b" is fine, but "internet th" may be the start of "throttling".
            kept = (*kept, unique[-1])
        return kept or unique


def parse_query(text: str) -> KnowledgeQuery:
    """Classify what the agent typed; never raises."""
    raw = text if isinstance(text, str) else ""
    stripped = raw.strip()
    if not stripped:
        return KnowledgeQuery("", (), False, "Type a few words about the caller's problem, "
                              "for example \u201cmodem reboot\u201d or \u201clate fee\u201d.")
    if len(stripped) > MAX_QUERY_CHARS:
        return KnowledgeQuery(
            stripped[:MAX_QUERY_CHARS], (), False,
            f"That is too long to search ({len(stripped):,} characters). Use a few words "
            f"(at most {MAX_QUERY_WORDS}), for example \u201cbill higher than expected\u201d.",
        )
    found = words(stripped)
    if not found:
        return KnowledgeQuery(stripped, (), False, f"Nothing to search for in "
                              f"\u201c{stripped}\u201d: type words or a product code.")
    if len(found) > MAX_QUERY_WORDS:
        return KnowledgeQuery(
            stripped, (), False,
            f"That is too many words to search ({len(found)}). Use the few that matter "
            f"(at most {MAX_QUERY_WORDS}), for example \u201cbill higher than expected\u201d.",
        )
    typing = bool(_WORD.fullmatch(raw[-1]))
    return KnowledgeQuery(stripped, tuple(found), typing)


_CODE = re.compile(r"\s*kb[\s-]?(\d{1,6})\s*", re.IGNORECASE)


def article_code(text: str) -> str | None:
    """The article code the agent typed ("kb 5", "KB-0005"), as written on articles."""
    m = _CODE.fullmatch(text)
    return f"KB-{int(m.group(1)):04d}" if m else None


def typo_budget(word: str) -> int:
    """How many slips (a wrong, missing, extra or swapped letter) a typed word may hold:
    none below 4 letters (too many short words are one slip apart), one up to 5, then two."""
    if len(word) < 4 or word.isdigit():
        return 0
    return 1 if len(word) <= 5 else 2


def close_words(word: str, vocabulary: Sequence[str], limit: int = 3,
                frequency: dict[str, int] | None = None) -> list[tuple[str, int]]:
    """Words of ``vocabulary`` within the typo budget of ``word``, closest first (then the
    same length, then the most frequent in ``frequency``). Distance is optimal string
    alignment: a swap of two neighbouring letters ("modme" -> "modem") counts as one slip."""
    budget = typo_budget(word)
    if budget == 0 or not vocabulary:
        return []
    found = process.extract(word, vocabulary, scorer=OSA.distance, score_cutoff=budget,
                            limit=None)
    counts = frequency or {}
    # Among equally close words, one of the typed length (a letter wrong or two swapped:
    # the commonest slips) before one a letter longer or shorter, then the commonest.
    ranked = sorted(((w, int(d)) for w, d, _ in found if w != word),
                    key=lambda item: (item[1], abs(len(item[0]) - len(word)),
                                      -counts.get(item[0], 0), item[0]))
    return ranked[:limit]


def key_terms(text: str, limit: int = 12) -> list[str]:
    """The words of a case's text (or an agent's note) worth searching for: no stopwords,
    no filler like "customer reports", no bare numbers, each once, in order."""
    out: list[str] = []
    for w in words(text):
        if w in STOPWORDS or w in _CASE_FILLER or w.isdigit() or len(w) < 3 or w in out:
            continue
        out.append(w)
        if len(out) == limit:
            break
    return out


# A catalog family maps to the article products that help its customers: a gateway is
# rented with internet, a TV box with TV.
_FAMILY_ARTICLES: dict[str, tuple[str, ...]] = {
    "internet": ("internet", "equipment"),
    "tv": ("tv", "equipment"),
    "phone": ("phone",),
    "mobile": ("mobile",),
    "security": ("security",),
    "equipment": ("equipment",),
}


def article_products(families: Iterable[str]) -> tuple[str, ...]:
    """Article products that fit customers of these catalog families, in order."""
    out: dict[str, None] = {}
    for family in families:
        for product in _FAMILY_ARTICLES.get(family, (family,)):
            out[product] = None
    return tuple(out)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_LINE = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d+[.)][ \t]+)",
                      re.MULTILINE)
_RULE_CHARS = " \t-=*_|:"


def plain_text(markdown: str) -> str:
    """An article's Markdown as plain text (for snippets): no heading marks, emphasis,
    list bullets or link targets; one line per block. Whole-text passes, not a loop of
    regexes per line: indexing 100,000 articles runs this 100,000 times."""
    text = _MD_LINE.sub("", markdown)
    if "](" in text:
        text = _MD_LINK.sub(r"\1", text)
    for mark in ("**", "__", "`", "~~"):
        text = text.replace(mark, "")
    return "\n".join(line.strip() for line in text.splitlines()
                     if line.strip(_RULE_CHARS))  # drops blank lines, rules, table bars


def marked_segments(text: str, marks: Sequence[tuple[int, int]]) -> tuple[tuple[str, bool], ...]:
    """``text`` cut into (piece, highlighted) by the ``(start, end)`` character ranges that
    matched the query; overlapping or out-of-range marks are tolerated."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(marks):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return tuple(out)


# A highlighted word may carry a short ending the stemmer also strips ("bill" marks
# "billing", "prorat" marks "prorated"), but not a different, longer word.
_ENDING = r"[^\W_]{0,4}"


def highlighter(terms: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that finds the words ``terms`` stand for in lower-cased text."""
    alternatives = sorted({t.lower() for t in terms if t}, key=lambda t: (-len(t), t))
    if not alternatives:
        return None
    # The words come first so the regex engine can skip ahead to their letters (three
    # times faster than starting with a look-behind); `snippet` checks the word starts.
    return re.compile(r"(?:" + "|".join(map(re.escape, alternatives)) + r")" + _ENDING
                      + r"(?![^\W_])")


def snippet(text: str, pattern: re.Pattern[str] | None, width: int = 180,
            lead: int = 40) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The ``width`` characters of ``text`` around the densest cluster of matched words
    (most distinct words in one window, the earliest among equals), with "\u2026" where
    text was cut, and the character ranges to highlight within it. Without a match: the
    start of the text."""
    lowered = text.lower()
    found = [] if pattern is None else [
        (m.start(), m.end()) for m in pattern.finditer(lowered)
        if m.start() == 0 or not lowered[m.start() - 1].isalnum()]
    if not found:
        if len(text) <= width:
            return text, ()
        cut = text[:width]
        return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "\u2026", ()
    lead = min(lead, width // 4)
    best = (0, 0)  # (distinct words, first match index)
    first = 0
    for i, (_, end) in enumerate(found):
        while first < i and end - found[first][0] > width - lead:
            first += 1
        distinct = len({lowered[a:b] for a, b in found[first:i + 1]})
        if distinct > best[0]:
            best = (distinct, first)
    anchor = found[best[1]][0]
    start = 0 if anchor <= lead else text.rfind(" ", 0, anchor - lead) + 1
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", anchor, end)
        end = space if space > anchor else end
    lead_in = "\u2026 " if start > 0 else ""
    shift = start - len(lead_in)
    marks = tuple((a - shift, b - shift) for a, b in found if a >= start and b <= end)
    return lead_in + text[start:end] + ("\u2026" if end < len(text) else ""), marks


@dataclass(frozen=True, slots=True)
class Vote:
    """One "helpful / not helpful" from one agent at one moment."""

    agent_id: str
    helpful: bool
    at_order: tuple[str, str]  # (created_at ISO, vote id): later sorts higher


def tally(votes: Iterable[Vote]) -> tuple[int, int]:
    """(helpful, not helpful) counting each agent's latest vote only: changing your mind
    is a new vote that supersedes the old one."""
    latest: dict[str, Vote] = {}
    for vote in votes:
        seen = latest.get(vote.agent_id)
        if seen is None or vote.at_order > seen.at_order:
            latest[vote.agent_id] = vote
    helpful = sum(1 for v in latest.values() if v.helpful)
    return helpful, len(latest) - helpful
