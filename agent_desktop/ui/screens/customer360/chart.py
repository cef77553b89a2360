"""24 months of billing at a glance: billed and paid per month, and the balance."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from agent_desktop.domain.billing import MonthPoint
from agent_desktop.ui import theme

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class BillingChart(pg.PlotWidget):  # type: ignore[misc]
    def __init__(self, theme_name: str, parent: QWidget | None = None) -> None:
        c = theme.colors(theme_name)
        super().__init__(parent=parent, background=c["base"])
        self._c = c
        self.setMinimumHeight(170)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.showGrid(x=False, y=True, alpha=0.25)
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen(c["border"]))
            ax.setTextPen(pg.mkPen(c["muted"]))
        item.getAxis("left").setLabel("$", color=c["muted"])
        self._bars: tuple[pg.BarGraphItem, pg.BarGraphItem] | None = None
        self._line: pg.PlotDataItem | None = None
        self._legend = item.addLegend(
            offset=(-8, 2), labelTextColor=c["text"], colCount=3,
            brush=pg.mkBrush(c["base"]), pen=pg.mkPen(c["border"]),
        )
        # The items are made now (empty), so showing a customer only updates them.
        self.plot([MonthPoint(2000, 1, 0, 0, 0)] * 24)

    def plot(self, months: Sequence[MonthPoint]) -> None:  # type: ignore[override]
        """Show these months; the bar and line items are made once and then updated."""
        item = self.getPlotItem()
        n = len(months)
        xs = [float(x) for x in range(n)]
        billed = [m.billed_cents / 100 for m in months]
        paid = [m.paid_cents / 100 for m in months]
        balance = [m.balance_end_cents / 100 for m in months]
        width = 0.38
        if self._bars is None:
            self._bars = (
                pg.BarGraphItem(x=[x - width / 2 for x in xs], height=billed, width=width,
                                brush=QColor(self._c["chart_bill"]), pen=pg.mkPen(None),
                                name="Billed"),
                pg.BarGraphItem(x=[x + width / 2 for x in xs], height=paid, width=width,
                                brush=QColor(self._c["chart_paid"]), pen=pg.mkPen(None),
                                name="Paid"),
            )
            for bars in self._bars:
                item.addItem(bars)
            self._line = item.plot(
                xs, balance, pen=pg.mkPen(self._c["chart_balance"], width=2), symbol="o",
                symbolSize=4, symbolBrush=self._c["chart_balance"], name="Balance")
        else:
            self._bars[0].setOpts(x=[x - width / 2 for x in xs], height=billed)
            self._bars[1].setOpts(x=[x + width / 2 for x in xs], height=paid)
            assert self._line is not None
            self._line.setData(xs, balance)
        ticks = [(i, f"{_MONTHS[m.month - 1]} \u2019{m.year % 100:02d}"
                  if m.month == 1 or i == 0 else _MONTHS[m.month - 1])
                 for i, m in enumerate(months) if i % 2 == 0]
        item.getAxis("bottom").setTicks([ticks])
        item.setXRange(-0.8, n - 0.2, padding=0)
        low = min([0.0, *balance, *paid])
        high = max([1.0, *billed, *paid, *balance])
        item.setYRange(low, high * 1.3, padding=0)
