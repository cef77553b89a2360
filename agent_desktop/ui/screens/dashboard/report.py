"""The printable summary of a range (a day or a week): headline figures, every table, the
definitions; HTML laid out by QTextDocument and written by QPdfWriter (no file dialog here:
the page asks for the path)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from agent_desktop.services import dashboard as dash

_HEAD = ("contacts", "handled", "aht_s", "fcr", "service_level", "asa_s", "abandonment_rate",
         "occupancy", "transfer_rate", "csat", "nps")
_TABLE_FIGURES = ("contacts", "aht_s", "fcr", "service_level", "asa_s", "abandonment_rate",
                  "transfer_rate", "csat", "nps")
MAX_ROWS = 60


def summary_html(data: dash.DashboardData, title: str) -> str:
    s = data.settings
    out = [
        "<html><body style='font-family: sans-serif; font-size: 9pt'>",
        f"<h2>{html.escape(title)}</h2>",
        f"<p>FCR window {s.fcr_window_days} days; service level = answered within "
        f"{s.service_level_seconds} s (target {s.service_level_target_pct}%); "
        f"{data.interactions_in_store:,} interactions in the store.</p>",
    ]
    for notice in (*data.notices, *((data.occupancy_note,) if data.occupancy_note else ())):
        out.append(f"<p><i>{html.escape(notice)}</i></p>")
    out.append("<table border='1' cellspacing='0' cellpadding='4'><tr>")
    out.extend(f"<th>{dash.FIGURE_TITLES[f]}</th>" for f in _HEAD)
    out.append("</tr><tr>")
    out.extend(f"<td align='right'>{dash.format_figure(f, data.totals.get(f))}</td>"
               for f in _HEAD)
    out.append("</tr></table>")
    for name in ("team", "agent", "queue", "reason", "period"):
        table = data.tables[name]
        out.append(f"<h3>{html.escape(table.title)}</h3>")
        if not table.rows:
            out.append("<p>No contacts.</p>")
            continue
        out.append("<table border='1' cellspacing='0' cellpadding='3'><tr>"
                   f"<th>{html.escape(table.key_title)}</th>")
        out.extend(f"<th>{dash.FIGURE_TITLES[f]}</th>" for f in _TABLE_FIGURES)
        out.append("</tr>")
        for row in table.rows[:MAX_ROWS]:
            out.append(f"<tr><td>{html.escape(row.label)}</td>")
            out.extend(f"<td align='right'>{dash.format_figure(f, row.figures.get(f))}</td>"
                       for f in _TABLE_FIGURES)
            out.append("</tr>")
        out.append("</table>")
        if len(table.rows) > MAX_ROWS:
            out.append(f"<p>\u2026 and {len(table.rows) - MAX_ROWS:,} more rows (the Excel "
                       "export holds them all).</p>")
    out.append("<h3>Definitions</h3><ul>")
    for f in dash.FIGURES:
        out.append(f"<li>{html.escape(dash.definition_text(f))}</li>")
    out.append("</ul></body></html>")
    return "".join(out)


def write_pdf(data: dash.DashboardData, path: Path, title: str) -> Path:
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageOrientation(QPageLayout.Orientation.Landscape)
    writer.setPageMargins(QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter)
    writer.setTitle(title)
    doc = QTextDocument()
    doc.setHtml(summary_html(data, title))
    doc.print_(writer)
    del writer  # finishes the file
    if not path.exists():
        raise OSError(f"the PDF was not written to {path}")
    return path
