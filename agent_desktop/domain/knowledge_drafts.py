"""What a knowledge article draft must hold before anyone can publish it."""

from __future__ import annotations

from agent_desktop.domain.errors import UserFacingError

MAX_TITLE = 200
MAX_BODY = 40_000
MAX_TAGS = 12


def check_draft(title: object, body: object, product: object,
                tags: object) -> tuple[str, str, str, list[str]]:
    """(title, body, product, tags) cleaned, or UserFacingError saying what is missing."""
    if not isinstance(title, str) or not title.strip():
        raise UserFacingError("Give the article a title the next agent would search for.")
    clean_title = " ".join(title.split())
    if len(clean_title) > MAX_TITLE:
        raise UserFacingError(f"Keep the title under {MAX_TITLE} characters.")
    if not isinstance(body, str) or len(body.strip()) < 20:
        raise UserFacingError("Write the steps that solved it (at least a sentence or two).")
    if len(body) > MAX_BODY:
        raise UserFacingError(f"The article is longer than {MAX_BODY:,} characters.")
    if not isinstance(product, str) or not product.strip():
        raise UserFacingError("Say which product the article is about.")
    tag_list = tags if isinstance(tags, list) else []
    if len(tag_list) > MAX_TAGS or not all(isinstance(t, str) and 0 < len(t) <= 32
                                           for t in tag_list):
        raise UserFacingError(f"Use up to {MAX_TAGS} short tags.")
    return clean_title, body.strip() + "\n", product.strip(), [str(t) for t in tag_list]
