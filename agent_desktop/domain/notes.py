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
    if not storable(text):
        # The server refuses such text (no database can store it), so a note the desk
        # kept would come back from the next sync as refused: say so now instead.
        raise UserFacingError(
            "The note has a hidden character that cannot be saved (it usually comes with "
            "pasted text). Retype that part, or paste it again as plain text."
        )
    if len(text) > MAX_NOTE_LENGTH:
        raise UserFacingError(
            f"The note is {len(text):,} characters; keep it under {MAX_NOTE_LENGTH:,}, or "
            "split it into two notes."
        )
    return text


def storable(text: str) -> bool:
    """False for text no database can hold: a NUL character, or a lone surrogate (no
    UTF-8 form). Such text usually arrives with a paste."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
