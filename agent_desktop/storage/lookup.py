"""Customer lookup queries: the hot path behind the one search box.

Each method is one indexed query in plain SQL, run on the engine's own DBAPI connection
(pooled, with the store's pragmas) in autocommit mode: at a million customers the
statement must cost tens of microseconds, which is raw-sqlite3 territory (shared/
MEASURED.md: Core built per call p95 260 us, ORM 440 us, raw 30 us; an explicit
BEGIN/ROLLBACK around each read costs more than the read). A ``LookupQueries`` belongs to
one thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent_desktop.storage.store import Store


@dataclass(frozen=True, slots=True)
class NameRow:
    customer_id: str
    first_norm: str
    last_norm: str


@dataclass(frozen=True, slots=True)
class CustomerHitRow:
    customer_id: str
    account_number: str
    display_name: str
    first_norm: str
    last_norm: str
    status: str
    kind: str
    city: str
    state: str
    line1: str
    phone: str
    email: str


def _prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


_HIT_SQL = """
SELECT c.id, c.account_number, c.display_name, c.first_norm, c.last_norm, c.status, c.kind,
       coalesce(a.city, ''), coalesce(a.state, ''), coalesce(a.line1, ''),
       coalesce((SELECT value FROM contact_points p WHERE p.customer_id = c.id
                 AND p.kind = 'phone' ORDER BY p.is_primary DESC LIMIT 1), ''),
       coalesce((SELECT value FROM contact_points e WHERE e.customer_id = c.id
                 AND e.kind = 'email' ORDER BY e.is_primary DESC LIMIT 1), '')
FROM customers c
LEFT JOIN addresses a ON a.id = (SELECT id FROM addresses x WHERE x.customer_id = c.id
                                 ORDER BY x.kind = 'billing' LIMIT 1)
WHERE c.id IN ({marks})
"""


class LookupQueries:
    """Prepared lookups on one connection (open it on the thread that will use it)."""

    def __init__(self, store: Store) -> None:
        # The driver connection is in autocommit (store.py sets isolation_level None), so
        # each SELECT is its own short read transaction and never holds up a checkpoint.
        self._pooled = store.engine.raw_connection()
        self._cursor = self._pooled.cursor()

    def close(self) -> None:
        self._cursor.close()
        self._pooled.close()

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        return list(self._cursor.execute(sql, params).fetchall())

    def _ids(self, sql: str, params: tuple[object, ...]) -> list[str]:
        return [str(r[0]) for r in self._rows(sql, params)]

    def by_phone(self, e164: str, limit: int = 25) -> list[str]:
        return self._ids(
            "SELECT customer_id FROM contact_points WHERE value = ? AND kind = 'phone' "
            "LIMIT ?",
            (e164, limit),
        )

    def by_phone_prefix(self, e164_prefix: str, limit: int = 25) -> list[str]:
        return self._ids(
            "SELECT customer_id FROM contact_points WHERE value >= ? AND value < ? "
            "AND kind = 'phone' LIMIT ?",
            (e164_prefix, _prefix_end(e164_prefix), limit),
        )

    def by_account(self, account_number: str) -> list[str]:
        return self._ids("SELECT id FROM customers WHERE account_number = ?", (account_number,))

    def by_account_prefix(self, digits: str, limit: int = 25) -> list[str]:
        return self._ids(
            "SELECT id FROM customers WHERE account_number >= ? AND account_number < ? "
            "LIMIT ?",
            (digits, _prefix_end(digits), limit),
        )

    def by_email_prefix(self, email: str, limit: int = 25) -> list[str]:
        return self._ids(
            "SELECT customer_id FROM contact_points WHERE value >= ? AND value < ? "
            "AND kind = 'email' LIMIT ?",
            (email, _prefix_end(email), limit),
        )

    def by_street_prefix(self, street: str, limit: int = 25) -> list[str]:
        return self._ids(
            "SELECT DISTINCT customer_id FROM addresses WHERE line1_norm >= ? "
            "AND line1_norm < ? LIMIT ?",
            (street, _prefix_end(street), limit),
        )

    def by_last_first(
        self, last_names: Sequence[str], first_names: Sequence[str], limit: int = 50
    ) -> list[NameRow]:
        """Customers whose last name is one of ``last_names`` and first one of
        ``first_names`` (point lookups on the (last_norm, first_norm) index)."""
        if not last_names or not first_names:
            return []
        lm = ",".join("?" * len(last_names))
        fm = ",".join("?" * len(first_names))
        return self._names(
            f"SELECT id, first_norm, last_norm FROM customers WHERE last_norm IN ({lm})"
            f" AND first_norm IN ({fm}) LIMIT ?",
            (*last_names, *first_names, limit),
        )

    def by_last(self, last_names: Sequence[str], limit: int = 50) -> list[NameRow]:
        if not last_names:
            return []
        marks = ",".join("?" * len(last_names))
        return self._names(
            f"SELECT id, first_norm, last_norm FROM customers WHERE last_norm IN ({marks})"
            " LIMIT ?",
            (*last_names, limit),
        )

    def by_first(self, first_names: Sequence[str], limit: int = 50) -> list[NameRow]:
        if not first_names:
            return []
        marks = ",".join("?" * len(first_names))
        return self._names(
            f"SELECT id, first_norm, last_norm FROM customers WHERE first_norm IN ({marks})"
            " LIMIT ?",
            (*first_names, limit),
        )

    def _names(self, sql: str, params: tuple[object, ...]) -> list[NameRow]:
        return [NameRow(str(a), str(b), str(c)) for a, b, c in self._rows(sql, params)]

    def name_token_count(self) -> int:
        """How many distinct names the store knows: it grows when a customer with a new
        name is created here or pulled by sync (a few thousand rows: microseconds)."""
        return int(self._rows("SELECT count(*) FROM name_tokens", ())[0][0])

    def name_vocabulary(self) -> list[tuple[str, int]]:
        rows = self._rows("SELECT token, customers FROM name_tokens", ())
        return [(str(t), int(n)) for t, n in rows]

    def hits(self, customer_ids: Sequence[str]) -> list[CustomerHitRow]:
        """What a result row shows, for the given customers (order not kept)."""
        if not customer_ids:
            return []
        sql = _HIT_SQL.format(marks=",".join("?" * len(customer_ids)))
        rows = self._rows(sql, tuple(customer_ids))
        return [CustomerHitRow(*(str(v) for v in r)) for r in rows]
