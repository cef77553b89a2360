"""Logging to a rotating file, with card numbers masked before anything is written."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from agent_desktop.domain.cards import mask_card_numbers  # the one masking rule
from agent_desktop.platform import paths

__all__ = ["CardNumberFilter", "configure", "mask_card_numbers"]


class CardNumberFilter(logging.Filter):
    """PCI DSS: a full card number never reaches a log, whatever code logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_card_numbers(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_card_numbers(record.exc_text)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: int = logging.INFO, directory: Path | None = None) -> Path:
    """Send the app's log to a rotating file; returns the file's path."""
    directory = directory or paths.log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "agent-desktop.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CardNumberFilter())
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    return path
