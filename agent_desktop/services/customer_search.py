"""Find the customer: one search box for phone, account number, name, email or street.

Runs on a worker thread (one ``CustomerSearch`` per thread: it owns a connection).
Exact keys (phone, account, email) are single index probes. Names match as typed
(the last word as a prefix) and, for typos, against the vocabulary of distinct names held
in memory (rapidfuzz), then the matching customers are fetched by index.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from rapidfuzz import fuzz

from agent_desktop.domain import lookup
from agent_desktop.domain.lookup import LookupKind
from agent_desktop.storage.lookup import CustomerHitRow, LookupQueries
from agent_desktop.storage.store import Store

EXACT, PREFIX = 100.0, 90.0
_Add = Callable[[list[str], float, str], None]


@dataclass(frozen=True, slots=True)
class CustomerHit:
    """One row of the search results, as the agent sees it."""

    customer_id: str
    display_name: str
    account_number: str
    status: str
    kind: str
    location: str
    street: str
    phone: str
    email: str
    matched_on: str
    score: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    text: str
    kind: LookupKind
    hits: tuple[CustomerHit, ...]
    hint: str


class NameVocabulary:
    """Distinct normalized first/last names, sorted for prefix expansion."""

    def __init__(self, tokens: list[tuple[str, int]]) -> None:
        tokens.sort()
        self.names = [t for t, _ in tokens]
        self.counts = [n for _, n in tokens]
        self._known = set(self.names)

    def __contains__(self, token: str) -> bool:
        return token in self._known

    def with_prefix(self, prefix: str, limit: int = 30) -> list[str]:
        """Names starting with ``prefix``, most common first."""
        start = bisect.bisect_left(self.names, prefix)
        end = bisect.bisect_left(self.names, prefix[:-1] + chr(ord(prefix[-1]) + 1))
        span = range(start, end)
        ranked = sorted(span, key=lambda i: -self.counts[i])[:limit]
        return [self.names[i] for i in ranked]

    def similar(self, token: str, limit: int = 6) -> list[tuple[str, float]]:
        return lookup.best_name_matches([token], self.names, limit=limit, score_cutoff=75)


def format_phone(e164: str) -> str:
    """An E.164 number as people read it: (217) 688-4631."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


class CustomerSearch:
    """The search behind Ctrl+K. Not thread-safe: one per worker thread."""

    def __init__(self, store: Store, limit: int = 25) -> None:
        self._q = LookupQueries(store)
        self._limit = limit
        self._vocabulary: NameVocabulary | None = None
        self._known_names = -1

    def close(self) -> None:
        self._q.close()

    def refresh_vocabulary(self) -> None:
        self._vocabulary = None

    @property
    def vocabulary(self) -> NameVocabulary:
        if self._vocabulary is None:
            self._known_names = self._q.name_token_count()
            self._vocabulary = NameVocabulary(self._q.name_vocabulary())
        return self._vocabulary

    def _fresh_vocabulary(self) -> None:
        """A customer with a name nobody had was created or pulled since the vocabulary
        was read: read it again, so they are found by name at once."""
        if self._vocabulary is not None and self._q.name_token_count() != self._known_names:
            self._vocabulary = None

    def search(self, text: str) -> SearchResult:
        """Customers matching ``text``, best first."""
        query = lookup.classify(text)
        scored: dict[str, tuple[float, str]] = {}

        def add(ids: list[str], score: float, why: str) -> None:
            for cid in ids:
                if cid not in scored or scored[cid][0] < score:
                    scored[cid] = (score, why)

        hint = ""
        limit = self._limit
        if query.kind is LookupKind.PHONE:
            if query.phone_e164:
                add(self._q.by_phone(query.phone_e164, limit), EXACT, "Phone")
            elif query.digits:
                hint = "Keep typing: a US phone number has 10 digits."
        elif query.kind is LookupKind.ACCOUNT:
            digits = query.digits or ""
            if query.account_number and len(digits) == 9:
                add(self._q.by_account(digits), EXACT, "Account number")
            if not scored and len(digits) >= 4:
                add(self._q.by_account_prefix(digits, limit), PREFIX, "Account number")
                if len(digits) >= 7:
                    add(self._q.by_phone_prefix("+1" + digits, limit), PREFIX - 5, "Phone")
            if not scored and len(digits) == 9:
                hint = "No account has that number; check the digits (the last is a check digit)."
        elif query.kind is LookupKind.EMAIL and query.email:
            add(self._q.by_email_prefix(query.email, limit), EXACT, "Email")
        elif query.kind is LookupKind.ADDRESS and query.address_text:
            add(self._q.by_street_prefix(query.address_text, limit), PREFIX, "Street address")
        elif query.kind is LookupKind.NAME:
            self._fresh_vocabulary()
            self._search_name(query.name_tokens, add)

        hits = self._hits(scored)
        if not hits and not hint and query.kind is not LookupKind.EMPTY:
            hint = f"No customer matches \u201c{query.text}\u201d."
        return SearchResult(query.text, query.kind, tuple(hits[:limit]), hint)

    def _candidates(self, token: str, typing: bool) -> dict[str, float]:
        """Names this token may stand for, with how well each matches."""
        vocab = self.vocabulary
        out: dict[str, float] = {}
        if token in vocab:
            out[token] = EXACT
        if typing and len(token) >= 2:
            for name in vocab.with_prefix(token, limit=12):
                out.setdefault(name, PREFIX)
        if len(token) >= 3:
            for name, score in vocab.similar(token):
                out.setdefault(name, min(score, PREFIX - 1))
        return out

    def _search_name(self, tokens: tuple[str, ...], add: _Add) -> None:
        """Names as typed (the last word may be unfinished) or with typos. Candidate rows
        carry their names, so they are ranked before anything else is read."""
        if not tokens:
            return
        wide = max(self._limit * 4, 100)
        scored: list[tuple[float, str, str]] = []
        if len(tokens) == 1:
            cands = self._candidates(tokens[0], typing=True)
            names = sorted(cands, key=lambda n: -cands[n])[:12]
            for row in self._q.by_last(names, wide) + self._q.by_first(names, wide // 2):
                score = max(cands.get(row.last_norm, 0.0), cands.get(row.first_norm, 1.0) - 1)
                why = "Name" if score >= PREFIX - 1 else "Similar name"
                scored.append((score, row.customer_id, why))
        else:
            first, last = tokens[0], tokens[-1]
            typed = " ".join(tokens)
            first_c = self._candidates(first, typing=False)
            last_c = self._candidates(last, typing=True)
            rows = self._q.by_last_first(list(last_c)[:20], list(first_c)[:20], wide)
            # "Smith John": the same candidates, roles swapped.
            rows += self._q.by_last_first(list(first_c)[:20], list(last_c)[:20], wide // 2)
            for row in rows:
                score, why = _score_full_name(row.first_norm, row.last_norm, typed)
                scored.append((score, row.customer_id, why))
        scored.sort(key=lambda t: -t[0])
        for score, cid, why in scored[: self._limit * 2]:
            add([cid], score, why)

    def _hits(self, scored: dict[str, tuple[float, str]]) -> list[CustomerHit]:
        rows = self._q.hits(list(scored))
        hits = [to_hit(row, *scored[row.customer_id]) for row in rows]
        hits.sort(key=lambda h: (-h.score, h.display_name, h.account_number))
        return hits


def _score_full_name(first: str, last: str, typed: str) -> tuple[float, str]:
    full, reverse = f"{first} {last}", f"{last} {first}"
    if typed in (full, reverse):
        return EXACT, "Name"
    if full.startswith(typed) or reverse.startswith(typed):
        return PREFIX, "Name"
    best = max(fuzz.ratio(typed, full), fuzz.ratio(typed, reverse))
    return float(best) * 0.89, "Similar name"


def to_hit(row: CustomerHitRow, score: float, why: str) -> CustomerHit:
    location = f"{row.city}, {row.state}" if row.city else ""
    return CustomerHit(
        customer_id=row.customer_id,
        display_name=row.display_name,
        account_number=lookup.format_account_number(row.account_number),
        status=row.status,
        kind=row.kind,
        location=location,
        street=row.line1,
        phone=format_phone(row.phone),
        email=row.email,
        matched_on=why,
        score=score,
    )
