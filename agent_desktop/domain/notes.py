"""Notes: the rule for what may be written, shared by the desktop and the sync server."""

from __future__ import annotations

from agent_desktop.domain.errors import UserFacingError

MAX_NOTE_LENGTH = 4000


def clean_note_body(body: object) -> str:
    """The note's text as it will be kept (surrounding blanks removed), or UserFacingError
    saying what is wrong with it."""
    if not isinstance(body, str):
        raise UserFacingError("The note has no text.")
    text = body.strip()
    if not text:
        raise UserFacingError("The note is empty. Type what happened, then press Ctrl+Enter.")
    if len(text) > MAX_NOTE_LENGTH:
        raise UserFacingError(
            f"The note is {len(text):,} characters; keep it under {MAX_NOTE_LENGTH:,}, or "
            "split it into two notes."
        )
    return text
