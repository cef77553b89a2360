"""The window around the work: areas, shortcuts, settings, layout memory, bad stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDialog
from pytestqt.qtbot import QtBot

from agent_desktop.__main__ import main
from agent_desktop.app import build_window, configure_qt_settings
from agent_desktop.platform.settings import Settings
from agent_desktop.storage.store import Store
from agent_desktop.ui.dialogs import SettingsDialog, ShortcutsDialog
from agent_desktop.ui.main_window import AREAS, MainWindow
from agent_desktop.ui.widgets.common import EmptyState


def test_ctrl_number_keys_reach_every_area_and_later_areas_say_so_honestly(
        qtbot: QtBot, window: MainWindow) -> None:
    for i, area in enumerate(AREAS):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{i + 1}"),
                       Qt.KeyboardModifier.ControlModifier)
        assert window.pages.currentIndex() == i
        page = window.area_pages[area]
        if area == "Knowledge":
            assert page is window.knowledge and window.knowledge.box.hasFocus()
        elif area not in ("Customers", "Cases", "Collections", "Dashboard"):  # own tests
            assert isinstance(page, EmptyState)
            assert "not in this version yet" in page.title.text()
            assert "$" not in page.body.text()  # no made-up figures


def _close_next_dialog(seen: list[QDialog]) -> None:
    def close() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QDialog)
        seen.append(dialog)
        dialog.reject()

    QTimer.singleShot(0, close)


def test_f1_shows_every_shortcut(qtbot: QtBot, window: MainWindow) -> None:
    seen: list[QDialog] = []
    _close_next_dialog(seen)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert len(seen) == 1 and isinstance(seen[0], ShortcutsDialog)
    assert seen[0].windowTitle() == "Keyboard shortcuts"


def test_the_dark_palette_is_chosen_in_settings_and_remembered(
        qtbot: QtBot, window: MainWindow) -> None:
    dialog = SettingsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    box = dialog.editors["theme"]
    assert isinstance(box, QComboBox)
    box.setCurrentIndex(box.findData("dark"))
    dialog.accept()
    assert window.settings.get("theme") == "dark"
    assert QApplication.palette().window().color().lightness() < 80
    assert Settings().get("theme") == "dark"  # read back from the file
    window.settings.set("theme", "light")
    assert QApplication.palette().window().color().lightness() > 200


def test_the_window_layout_is_remembered_between_runs(
        qtbot: QtBot, store: Store) -> None:
    configure_qt_settings()
    first = build_window(store, "agent", Settings())
    qtbot.addWidget(first)
    first.resize(700, 520)  # inside the offscreen screen (800x600)
    first.nav.setCurrentRow(2)
    first.show()
    qtbot.waitExposed(first)
    remembered = (first.width(), first.height())
    first.close()
    assert QSettings().value("window/area") is not None
    second = build_window(store, "agent", Settings())
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == remembered
    assert remembered != (1440, 900)  # not the default size
    assert second.nav.currentRow() == 2


@pytest.mark.parametrize("damage, says", [
    (lambda p: p.write_bytes(b"garbage" * 999), "damaged"),
    (lambda p: sqlite3.connect(p).execute(
        "UPDATE alembic_version SET version_num = '0099'").connection.commit(),
     "newer version of Agent Desktop"),
])
def test_a_bad_store_at_start_up_is_explained_and_the_app_exits_cleanly(
        store_path: Path, damage: object, says: str, qapp: QApplication,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert callable(damage)
    damage(store_path)
    assert main(["--store", str(store_path)]) == 2
    assert says in capsys.readouterr().err
