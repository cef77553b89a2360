"""What a customer allows on each contact point: automated (autodialed or prerecorded)
calls and texts on a phone number, email on an address (TCPA / Reg F: consent is per
channel and a revocation takes effect at once, by any reasonable means)."""

from __future__ import annotations

from collections.abc import Mapping

from agent_desktop.domain.errors import UserFacingError

CONSENT_FIELDS: tuple[str, ...] = ("consent_autodial", "consent_text", "consent_email")
_FOR_KIND: dict[str, frozenset[str]] = {
    "phone": frozenset({"consent_autodial", "consent_text"}),
    "email": frozenset({"consent_email"}),
}
LABELS: dict[str, str] = {
    "consent_autodial": "Automated calls",
    "consent_text": "Texts",
    "consent_email": "Email",
}


def fields_for(kind: str) -> tuple[str, ...]:
    """The consent fields that apply to a contact point of ``kind`` (phone or email)."""
    allowed = _FOR_KIND.get(kind, frozenset())
    return tuple(f for f in CONSENT_FIELDS if f in allowed)


def check_consent_change(kind: str, changes: Mapping[str, object]) -> dict[str, bool]:
    """The change as field -> bool, or UserFacingError saying what is wrong with it."""
    if not changes:
        raise UserFacingError("Nothing to change: pick at least one consent.")
    allowed = _FOR_KIND.get(kind)
    if allowed is None:
        raise UserFacingError(f"A {kind or 'contact'} point takes no consent.")
    out: dict[str, bool] = {}
    for field, value in changes.items():
        if field not in CONSENT_FIELDS:
            raise UserFacingError(f"{field} is not a consent.")
        if field not in allowed:
            what = "an email address" if kind == "email" else "a phone number"
            raise UserFacingError(f"{LABELS[field]} consent does not apply to {what}.")
        if not isinstance(value, bool):
            raise UserFacingError(f"{LABELS[field]} consent must be yes or no.")
        out[field] = value
    return out
