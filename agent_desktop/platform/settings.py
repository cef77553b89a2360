"""Settings, declared once with type, default and help text (like qutebrowser's configdata).

Stored as JSON in the config folder. Unknown keys in the file are kept but ignored; a value
of the wrong type falls back to the default, so a hand-edited file never stops the app.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_desktop.platform import paths


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    help: str
    choices: tuple[Any, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("theme", "light", "Colour palette of the window.", ("light", "dark")),
    Setting(
        "font_scale",
        100,
        "Text size in percent of the system size (for long shifts).",
        (90, 100, 110, 125, 150),
    ),
    Setting("search_delay_ms", 120, "Pause after typing before the customer search runs."),
    Setting("search_result_limit", 25, "Most customers listed for one search."),
    Setting(
        "ledger_months",
        24,
        "Months of billing history on the customer 360.",
        (6, 12, 24),
    ),
    Setting("recent_customers", 15, "How many recently opened customers to remember."),
    Setting(
        "confirm_close_tabs",
        True,
        "Ask before closing a customer tab that has an unsaved note.",
    ),
    # The dashboard's (services/dashboard.py): how its figures are counted and targeted.
    Setting("fcr_window_days", 7,
            "First-contact resolution: days within which a repeat contact (same customer, "
            "same reason) means the first one did not resolve the issue.", (1, 3, 7, 14, 30)),
    Setting("service_level_seconds", 20, "Service level: answered within this many seconds.",
            (10, 15, 20, 30, 45, 60)),
    Setting("service_level_target_pct", 80, "Service level target, in percent.",
            (70, 75, 80, 85, 90, 95)),
    Setting("short_abandon_seconds", 5,
            "Callers who hang up within this many seconds are left out of service level.",
            (0, 3, 5, 10)),
    Setting("aht_target_seconds", 360, "Average handle time target (the trend's line).",
            (240, 300, 360, 420, 480, 600)),
    Setting("fcr_target_pct", 75, "First-contact resolution target, in percent.",
            (60, 65, 70, 75, 80, 85, 90)),
)
_BY_KEY = {s.key: s for s in SETTINGS}


class Settings:
    """The agent's settings; listeners hear about each change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.config_dir() / "settings.json"
        self._values: dict[str, Any] = {}
        self._listeners: list[Callable[[str, Any], None]] = []
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        self._values = raw if isinstance(raw, dict) else {}

    def get(self, key: str) -> Any:
        setting = _BY_KEY[key]
        value = self._values.get(key, setting.default)
        if type(value) is not type(setting.default):
            return setting.default
        if setting.choices and value not in setting.choices:
            return setting.default
        return value

    def set(self, key: str, value: Any) -> None:
        setting = _BY_KEY[key]
        if type(value) is not type(setting.default):
            raise TypeError(f"{key} must be {type(setting.default).__name__}")
        if setting.choices and value not in setting.choices:
            raise ValueError(f"{key} must be one of {setting.choices}")
        if self.get(key) == value:
            return
        self._values[key] = value
        self._save()
        for listener in list(self._listeners):
            listener(key, value)

    def on_change(self, listener: Callable[[str, Any], None]) -> None:
        self._listeners.append(listener)

    def _save(self) -> None:
        # Write-then-rename so a crash mid-write never leaves a half file.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._values, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)
