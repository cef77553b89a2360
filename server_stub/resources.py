"""The resources/ folder the desk ships (catalog, codes), as the server reads it: the
server prices orders and checks moves with the same catalog as the desks."""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent_desktop.domain.catalog import Catalog


def resources_dir() -> Path:
    """resources/: AGENT_DESKTOP_RESOURCES, PyInstaller's bundle, or the checkout's."""
    explicit = os.environ.get("AGENT_DESKTOP_RESOURCES")
    if explicit:
        return Path(explicit)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None and (Path(bundle) / "resources").is_dir():
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def read_json(name: str) -> Any:
    return json.loads((resources_dir() / name).read_text("utf-8"))


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return Catalog.from_dict(read_json("catalog.json"))
