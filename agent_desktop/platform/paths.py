"""Where the app keeps its files, per OS conventions (platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "AgentDesktop"


def data_dir() -> Path:
    override = os.environ.get("AGENT_DESKTOP_HOME")
    base = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, False))
    return base


def config_dir() -> Path:
    override = os.environ.get("AGENT_DESKTOP_HOME")
    if override:
        return Path(override) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, False))


def log_dir() -> Path:
    override = os.environ.get("AGENT_DESKTOP_HOME")
    if override:
        return Path(override) / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, False))


def default_store_path() -> Path:
    return data_dir() / "store.sqlite3"


def demo_store_path() -> Path:
    return data_dir() / "demo.sqlite3"
