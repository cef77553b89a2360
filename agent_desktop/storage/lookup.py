"""Customer lookup queries: the hot path behind the one search box.

Each method is one indexed query written as plain SQL and run through the SQLAlchemy
connection's driver path (``exec_driver_sql``): at a million customers the statement must
cost tens of microseconds, which is raw-sqlite3 territory (shared/MEASURED.md: Core built
per call p95 260 us, ORM 440 us, raw 30 us). A ``LookupQueries`` belongs to one thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from agent_desktop.storage.store import Store


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
        self._conn: Connection = store.engine.connect()

    def close(self) -> None:
        self._conn.close()

    def _ids(self, sql: str, params: tuple[object, ...]) -> list[str]:
        rows = self._conn.exec_driver_sql(sql, params).fetchall()
        self._conn.rollback()  # end the read transaction so WAL can checkpoint
        return [str(r[0]) for r in rows]

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
    ) -> list[str]:
        """Customers whose last name is one of ``last_names`` and first one of
        ``first_names`` (point lookups on the (last_norm, first_norm) index)."""
        if not last_names or not first_names:
            return []
        lm = ",".join("?" * len(last_names))
        fm = ",".join("?" * len(first_names))
        return self._ids(
            f"SELECT id FROM customers WHERE last_norm IN ({lm}) AND first_norm IN ({fm}) "
            "LIMIT ?",
            (*last_names, *first_names, limit),
        )

    def by_last(self, last_names: Sequence[str], limit: int = 50) -> list[str]:
        if not last_names:
            return []
        marks = ",".join("?" * len(last_names))
        return self._ids(
            f"SELECT id FROM customers WHERE last_norm IN ({marks}) LIMIT ?",
            (*last_names, limit),
        )

    def by_first(self, first_names: Sequence[str], limit: int = 50) -> list[str]:
        if not first_names:
            return []
        marks = ",".join("?" * len(first_names))
        return self._ids(
            f"SELECT id FROM customers WHERE first_norm IN ({marks}) LIMIT ?",
            (*first_names, limit),
        )

    def name_vocabulary(self) -> list[tuple[str, int]]:
        rows = self._conn.exec_driver_sql("SELECT token, customers FROM name_tokens").fetchall()
        self._conn.rollback()
        return [(str(t), int(n)) for t, n in rows]

    def hits(self, customer_ids: Sequence[str]) -> list[CustomerHitRow]:
        """What a result row shows, for the given customers (order not kept)."""
        if not customer_ids:
            return []
        sql = _HIT_SQL.format(marks=",".join("?" * len(customer_ids)))
        rows = self._conn.exec_driver_sql(sql, tuple(customer_ids)).fetchall()
        self._conn.rollback()
        return [CustomerHitRow(*(str(v) for v in r)) for r in rows]
