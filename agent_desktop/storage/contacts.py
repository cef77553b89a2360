"""Contact points in the store: reading them for the consent dialog and writing consent.

``write_consent`` is the one place a consent change is written locally: when the agent
makes it, and again when a pull is rebased under a change the server has not yet
answered (sync_store.REAPPLY), so both always write the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from agent_desktop.domain.consent import CONSENT_FIELDS


@dataclass(frozen=True, slots=True)
class ConsentRow:
    id: str
    kind: str
    value: str
    label: str
    consent: dict[str, bool]


def consent_rows(conn: Connection, customer_id: str) -> list[ConsentRow]:
    """The customer's phone numbers and email addresses with their consents, primary
    first."""
    rows = conn.exec_driver_sql(
        "SELECT id, kind, value, label, consent_autodial, consent_text, consent_email "
        "FROM contact_points WHERE customer_id = ? "
        "ORDER BY kind DESC, is_primary DESC, label, value", (customer_id,)).fetchall()
    return [ConsentRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]),
                       dict(zip(CONSENT_FIELDS, (bool(r[4]), bool(r[5]), bool(r[6])),
                                strict=True)))
            for r in rows]


def write_consent(conn: Connection, contact_point_id: str, changes: dict[str, Any]) -> int:
    """Set the given consent fields; returns the rows changed (0: no such contact)."""
    fields = [f for f in CONSENT_FIELDS if f in changes]
    if not fields:
        return 0
    sets = ", ".join(f"{f} = ?" for f in fields)
    now = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    result = conn.exec_driver_sql(
        f"UPDATE contact_points SET {sets}, updated_at = ?, version = version + 1 "
        "WHERE id = ?", (*(int(bool(changes[f])) for f in fields), now, contact_point_id))
    return int(result.rowcount or 0)


def update_channel(conn: Connection, customer_id: str) -> str | None:
    """The contact point a case update goes to: the primary email the customer allows
    email on, else a mobile number they allow texts on; None if they allow neither."""
    row = conn.exec_driver_sql(
        "SELECT id FROM contact_points WHERE customer_id = ? AND ("
        "(kind = 'email' AND consent_email = 1) OR "
        "(kind = 'phone' AND line_type = 'mobile' AND consent_text = 1)) "
        "ORDER BY kind = 'email' DESC, is_primary DESC LIMIT 1", (customer_id,)).first()
    return str(row[0]) if row else None
