from __future__ import annotations

import pytest

from agent_desktop.domain.consent import check_consent_change, fields_for
from agent_desktop.domain.errors import UserFacingError


def test_each_kind_of_contact_takes_its_own_consents() -> None:
    assert fields_for("phone") == ("consent_autodial", "consent_text")
    assert fields_for("email") == ("consent_email",)
    assert check_consent_change("phone", {"consent_text": False}) == {"consent_text": False}


@pytest.mark.parametrize(("kind", "change", "message"), [
    ("phone", {}, "Nothing to change"),
    ("phone", {"consent_email": True}, "Email consent does not apply to a phone number."),
    ("email", {"consent_text": True}, "Texts consent does not apply to an email address."),
    ("phone", {"consent_text": "no"}, "Texts consent must be yes or no."),
    ("phone", {"favourite_colour": True}, "favourite_colour is not a consent."),
    ("fax", {"consent_text": True}, "A fax point takes no consent."),
])
def test_a_change_that_does_not_fit_is_refused_with_a_reason(
        kind: str, change: dict[str, object], message: str) -> None:
    with pytest.raises(UserFacingError, match=message):
        check_consent_change(kind, change)
