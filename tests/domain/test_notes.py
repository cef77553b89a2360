"""One rule for notes, applied by the desktop before queueing and by the server on push."""

from __future__ import annotations

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.notes import MAX_NOTE_LENGTH, clean_note_body


def test_surrounding_blanks_are_trimmed_and_the_text_is_kept() -> None:
    assert clean_note_body("  Promised to pay Friday.\n") == "Promised to pay Friday."


@pytest.mark.parametrize("body, says", [
    ("   ", "The note is empty"),
    (None, "The note has no text"),
    ("x" * (MAX_NOTE_LENGTH + 1), "keep it under 4,000"),
])
def test_a_note_that_cannot_be_kept_says_why(body: object, says: str) -> None:
    with pytest.raises(UserFacingError, match=says):
        clean_note_body(body)


def test_the_longest_allowed_note_is_kept_whole() -> None:
    assert len(clean_note_body("y" * MAX_NOTE_LENGTH)) == MAX_NOTE_LENGTH
