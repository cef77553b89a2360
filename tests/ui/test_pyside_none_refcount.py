"""PySide6 6.12.0 on Python 3.11 drops a reference to None for every invalid QVariant it
hands back, until the interpreter dies (shared/MEASURED.md). This fails if a PySide6 with
that bug gets installed again, before it can crash an agent's shift."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt
from pytestqt.qtbot import QtBot


def test_reading_empty_roles_through_a_proxy_keeps_nones_refcount(qtbot: QtBot) -> None:
    source = QStringListModel(["a", "b", "c"])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(source)
    index = proxy.index(0, 0)
    before = sys.getrefcount(None)
    for _ in range(500):
        assert proxy.data(index, Qt.ItemDataRole.ToolTipRole) is None
    after = sys.getrefcount(None)
    assert after - before > -50, f"None lost {before - after} references: pin PySide6 < 6.12"
