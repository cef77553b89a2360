"""The dashboard's charts (pyqtgraph): a trend with its target line, the weekday x hour heat
map and the handle-time histogram. Each says so in words when it has nothing to draw, and is
only ever given finite numbers (the service gives None for an undefined figure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from agent_desktop.ui import theme

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _style(plot: pg.PlotWidget, c: dict[str, str]) -> None:
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    item = plot.getPlotItem()
    for axis in ("left", "bottom"):
        ax = item.getAxis(axis)
        ax.setPen(pg.mkPen(c["border"]))
        ax.setTextPen(pg.mkPen(c["muted"]))


class TrendPlot(pg.PlotWidget):  # type: ignore[misc]
    """One figure over the periods, with a dashed target line; a click on a point emits
    its period's index."""

    point_clicked = Signal(int)

    def __init__(self, title: str, unit: str, fmt: Callable[[float], str],
                 theme_name: str = "light", parent: QWidget | None = None) -> None:
        c = theme.colors(theme_name)
        super().__init__(parent=parent, background=c["base"])
        _style(self, c)
        self._c = c
        self._fmt = fmt
        self.setMinimumHeight(150)
        item = self.getPlotItem()
        item.setTitle(title, color=c["text"], size="10pt")
        item.showGrid(x=False, y=True, alpha=0.25)
        item.getAxis("left").setLabel(unit, color=c["muted"])
        self.curve = pg.PlotDataItem([], [], pen=pg.mkPen(c["chart_bill"], width=2),
                                     symbol="o", symbolSize=7,
                                     symbolBrush=pg.mkBrush(c["chart_bill"]),
                                     symbolPen=pg.mkPen(c["base"]))
        self.curve.sigPointsClicked.connect(self._clicked)
        item.addItem(self.curve)
        self.target = pg.InfiniteLine(angle=0, movable=False,
                                      pen=pg.mkPen(c["chart_balance"], width=1.5,
                                                   style=Qt.PenStyle.DashLine),
                                      label="", labelOpts={"color": c["chart_balance"],
                                                           "position": 0.08,
                                                           "anchors": [(0, 1), (0, 1)]})
        item.addItem(self.target)
        self.message = pg.TextItem("", color=c["muted"], anchor=(0.5, 0.5))
        item.addItem(self.message)
        self.xs: list[int] = []
        self.values: list[float] = []

    def show_series(self, labels: Sequence[str], values: Sequence[float | None],
                    target: float | None, empty_words: str) -> None:
        item = self.getPlotItem()
        self.xs = [i for i, v in enumerate(values) if v is not None and np.isfinite(v)]
        self.values = [float(values[i]) for i in self.xs]  # type: ignore[arg-type]
        self.curve.setData(self.xs, self.values)
        n = max(len(labels), 1)
        every = max(1, int(np.ceil(n / 8)))
        ticks = [(i, _short(labels[i])) for i in range(0, len(labels), every)]
        item.getAxis("bottom").setTicks([ticks])
        if target is not None and np.isfinite(target):
            self.target.setPos(target)
            self.target.label.setFormat(f"target {self._fmt(target)}")
            self.target.show()
        else:
            self.target.hide()
        top = max([*self.values, target or 0.0, 1e-9])
        item.setYRange(0, top * 1.15, padding=0)
        item.setXRange(-0.5, max(n - 0.5, 0.5), padding=0)
        if self.values:
            self.message.setText("")
        else:
            self.message.setText(empty_words)
            self.message.setPos((n - 1) / 2, top * 0.55)

    def _clicked(self, _item: Any, points: Any, *_args: Any) -> None:
        if len(points):
            self.point_clicked.emit(int(self.xs[points[0].index()]))


def _short(label: str) -> str:
    parts = label.split()
    if len(parts) >= 4 and ":" in parts[-1]:  # "Mon 03 Nov 14:00" -> "14:00"
        return parts[-1]
    if len(parts) >= 4:  # "Mon 03 Nov 2026" -> "03 Nov"
        return " ".join(parts[1:3])
    return label


class HeatMap(pg.PlotWidget):  # type: ignore[misc]
    """Contacts offered by weekday (rows) and hour (columns); a click emits the cell."""

    cell_clicked = Signal(int, int)  # weekday (0 = Monday), hour

    def __init__(self, theme_name: str = "light", parent: QWidget | None = None) -> None:
        c = theme.colors(theme_name)
        super().__init__(parent=parent, background=c["base"])
        _style(self, c)
        self.setMinimumHeight(170)
        item = self.getPlotItem()
        item.setTitle("Contacts by weekday and hour", color=c["text"], size="10pt")
        item.invertY(True)
        self.image = pg.ImageItem()
        cmap = pg.ColorMap([0.0, 0.5, 1.0], [QColor(c["base"]), QColor("#9fb4f0"),
                                            QColor("#1c3faa")])
        self.image.setLookupTable(cmap.getLookupTable(nPts=256))
        item.addItem(self.image)
        item.getAxis("left").setTicks([[(i + 0.5, d) for i, d in enumerate(WEEKDAYS)]])
        item.getAxis("bottom").setTicks([[(h + 0.5, f"{h:02d}") for h in range(0, 24, 3)]])
        item.getAxis("bottom").setLabel("hour (local)", color=c["muted"])
        item.setXRange(0, 24, padding=0)
        item.setYRange(0, 7, padding=0)
        self.message = pg.TextItem("", color=c["muted"], anchor=(0.5, 0.5))
        item.addItem(self.message)
        self.matrix = np.zeros((7, 24), dtype=np.int64)
        self.scene().sigMouseClicked.connect(self._clicked)

    def show_matrix(self, matrix: Sequence[Sequence[int]]) -> None:
        m = np.asarray(matrix, dtype=np.float64).reshape(7, 24)
        self.matrix = m.astype(np.int64)
        top = float(m.max()) if m.size else 0.0
        # ImageItem's first axis is x: give it hours x weekdays.
        self.image.setImage(m.T, levels=(0, max(top, 1.0)), autoLevels=False)
        self.image.setRect(0, 0, 24, 7)
        item = self.getPlotItem()
        item.vb.disableAutoRange()
        item.setXRange(0, 24, padding=0)
        item.setYRange(0, 7, padding=0)
        self.message.setText("" if top > 0 else "No contacts in this range")
        self.message.setPos(12, 3.5)

    def _clicked(self, event: Any) -> None:
        pos = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.click_at(pos)

    def click_at(self, pos: QPointF) -> None:
        hour, day = int(np.floor(pos.x())), int(np.floor(pos.y()))
        if 0 <= hour < 24 and 0 <= day < 7:
            self.cell_clicked.emit(day, hour)


class Histogram(pg.PlotWidget):  # type: ignore[misc]
    """Handled contacts per handle-time bin (minutes); a click emits the bin index."""

    bin_clicked = Signal(int)

    def __init__(self, theme_name: str = "light", parent: QWidget | None = None) -> None:
        c = theme.colors(theme_name)
        super().__init__(parent=parent, background=c["base"])
        _style(self, c)
        self._c = c
        self.setMinimumHeight(170)
        item = self.getPlotItem()
        item.setTitle("Handle times", color=c["text"], size="10pt")
        item.getAxis("bottom").setLabel("minutes", color=c["muted"])
        item.showGrid(x=False, y=True, alpha=0.25)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.9,
                                    brush=QColor(c["chart_paid"]), pen=pg.mkPen(None))
        item.addItem(self.bars)
        self.message = pg.TextItem("", color=c["muted"], anchor=(0.5, 0.5))
        item.addItem(self.message)
        self.edges: list[int] = []
        self.scene().sigMouseClicked.connect(self._clicked)

    def show_bins(self, edges: Sequence[int], counts: Sequence[int], over: int) -> None:
        self.edges = list(edges)
        heights = [*counts, over]
        xs = [e / 60 + 0.5 for e in edges[:-1]] + [edges[-1] / 60 + 0.5]
        self.bars.setOpts(x=xs, height=heights, width=0.9)
        top = max([*heights, 1])
        item = self.getPlotItem()
        item.setYRange(0, top * 1.1, padding=0)
        item.setXRange(0, edges[-1] / 60 + 1, padding=0)
        ticks = [(e / 60, f"{e // 60}") for e in edges[::5]]
        ticks.append((edges[-1] / 60 + 0.5, f"{edges[-1] // 60}+"))
        item.getAxis("bottom").setTicks([ticks])
        self.message.setText("" if sum(heights) else "No handled contacts in this range")
        self.message.setPos((edges[-1] / 60) / 2, top * 0.55)

    def _clicked(self, event: Any) -> None:
        pos = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.click_at(pos.x())

    def click_at(self, minutes: float) -> None:
        if not self.edges:
            return
        i = int(np.floor(minutes))
        if 0 <= i < len(self.edges):  # the last bin is "30 min and more"
            self.bin_clicked.emit(i)
