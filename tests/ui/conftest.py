"""UI fixtures: the real main window on a real store, driven by pytest-qt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from agent_desktop.app import build_window, configure_qt_settings
from agent_desktop.platform.settings import Settings
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot: QtBot, store: Store) -> Iterator[MainWindow]:
    configure_qt_settings()
    win = build_window(store, "agent", Settings())
    qtbot.addWidget(win)
    win.resize(1400, 880)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
