"""Light and dark palettes, and the few style rules the standard Fusion look lacks."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

LIGHT = {
    "window": "#f4f5f7", "base": "#ffffff", "alt": "#f7f8fa", "text": "#1d2330",
    "muted": "#5b6475", "button": "#eceef2", "highlight": "#1f6feb", "hl_text": "#ffffff",
    "border": "#d4d8e0", "danger": "#b42318", "danger_bg": "#fde8e6", "warning": "#8a5a00",
    "warning_bg": "#fff3d6", "info": "#1d4ed8", "info_bg": "#e3ecff", "ok": "#166534",
    "ok_bg": "#e2f5e8", "header": "#ffffff", "nav": "#e9ecf1", "chart_bill": "#6b7fd7",
    "chart_paid": "#2f9e6e", "chart_balance": "#d9480f", "link": "#1f6feb",
}
DARK = {
    "window": "#1b1f27", "base": "#232833", "alt": "#272d39", "text": "#e6e9ef",
    "muted": "#a3abbb", "button": "#2d3340", "highlight": "#3b82f6", "hl_text": "#ffffff",
    "border": "#3a4150", "danger": "#ff8a80", "danger_bg": "#4a1f1f", "warning": "#ffd27a",
    "warning_bg": "#473815", "info": "#9cc0ff", "info_bg": "#1f2f4f", "ok": "#8be0a4",
    "ok_bg": "#1d3a27", "header": "#232833", "nav": "#161a21", "chart_bill": "#8c9eff",
    "chart_paid": "#5dd39e", "chart_balance": "#ff9f5a", "link": "#8ab4ff",
}


def colors(theme: str) -> dict[str, str]:
    return DARK if theme == "dark" else LIGHT


def apply(app: QApplication, theme: str, font_scale: int = 100) -> None:
    c = colors(theme)
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(c["window"]))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Base, QColor(c["base"]))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(c["alt"]))
    pal.setColor(QPalette.ColorRole.Text, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Button, QColor(c["button"]))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(c["highlight"]))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(c["hl_text"]))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(c["base"]))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(c["muted"]))
    pal.setColor(QPalette.ColorRole.Link, QColor(c["link"]))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(c["muted"]))
    pal.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c["muted"])
    )
    app.setPalette(pal)
    font = QFont(app.font())
    base = 10
    font.setPointSizeF(base * font_scale / 100)
    app.setFont(font)
    app.setStyleSheet(_STYLE.format(**c))


_STYLE = """
QMainWindow, QDialog {{ background: {window}; }}
QToolBar {{ background: {header}; border: 0; border-bottom: 1px solid {border};
           padding: 4px 8px; spacing: 8px; }}
QListWidget#nav {{ background: {nav}; border: 0; border-right: 1px solid {border};
                  outline: 0; padding-top: 6px; }}
QListWidget#nav::item {{ padding: 10px 14px; border-radius: 6px; margin: 1px 6px;
                        color: {text}; }}
QListWidget#nav::item:selected {{ background: {highlight}; color: {hl_text}; }}
QLineEdit#globalSearch {{ border: 1px solid {border}; border-radius: 6px; padding: 6px 10px;
                         background: {base}; min-width: 420px; }}
QLineEdit#globalSearch:focus {{ border: 2px solid {highlight}; padding: 5px 9px; }}
QFrame#card {{ background: {base}; border: 1px solid {border}; border-radius: 8px; }}
QFrame#header360 {{ background: {header}; border-bottom: 1px solid {border}; }}
QLabel#customerName {{ font-size: 17pt; font-weight: 600; }}
QLabel#muted, QLabel.muted {{ color: {muted}; }}
QLabel#sectionTitle {{ font-weight: 600; font-size: 11pt; }}
QLabel#figure {{ font-size: 14pt; font-weight: 600; }}
QLabel#figureNegative {{ font-size: 14pt; font-weight: 600; color: {danger}; }}
QLabel#badge_danger {{ background: {danger_bg}; color: {danger}; border-radius: 9px;
                      padding: 2px 9px; font-weight: 600; }}
QLabel#badge_warning {{ background: {warning_bg}; color: {warning}; border-radius: 9px;
                       padding: 2px 9px; font-weight: 600; }}
QLabel#badge_info {{ background: {info_bg}; color: {info}; border-radius: 9px;
                    padding: 2px 9px; font-weight: 600; }}
QLabel#badge_ok {{ background: {ok_bg}; color: {ok}; border-radius: 9px; padding: 2px 9px;
                  font-weight: 600; }}
QLabel#emptyTitle {{ font-size: 15pt; font-weight: 600; }}
QLabel#hint {{ color: {muted}; padding: 6px 10px; }}
QTableView {{ background: {base}; alternate-background-color: {alt};
             border: 1px solid {border}; gridline-color: {border};
             selection-background-color: {highlight}; selection-color: {hl_text}; }}
QHeaderView::section {{ background: {button}; color: {text}; border: 0;
                       border-bottom: 1px solid {border}; padding: 4px 6px;
                       font-weight: 600; }}
QTabWidget::pane {{ border: 1px solid {border}; border-radius: 4px; top: -1px;
                   background: {base}; }}
QTabBar::tab {{ padding: 6px 14px; border: 1px solid transparent; }}
QTabBar::tab:selected {{ background: {base}; border: 1px solid {border};
                        border-bottom-color: {base}; font-weight: 600; }}
QFrame#searchPopup {{ background: {base}; border: 1px solid {border}; border-radius: 6px; }}
QPlainTextEdit {{ background: {base}; border: 1px solid {border}; border-radius: 4px; }}
QStatusBar {{ background: {header}; border-top: 1px solid {border}; }}
QPushButton#primary {{ background: {highlight}; color: {hl_text}; border: 1px solid
                      {highlight}; border-radius: 4px; padding: 4px 12px; font-weight: 600; }}
QPushButton#primary:focus {{ border: 2px solid {text}; padding: 3px 11px; }}
QPushButton#primary:disabled {{ background: {button}; color: {muted}; border-color: {border}; }}
QFrame#callBar {{ background: {header}; border-bottom: 1px solid {border}; }}
QFrame#callBar[mode="ringing"] {{ background: {warning_bg}; }}
QFrame#callBar[mode="talking"] {{ background: {info_bg}; }}
QFrame#callBar[mode="wrap"] {{ background: {alt}; }}
QLabel#callInfo {{ font-weight: 600; }}
QToolButton#agentState {{ font-weight: 600; padding: 3px 8px; border: 1px solid {border};
                         border-radius: 4px; background: {base}; }}
QToolButton#agentState[state="available"] {{ color: {ok}; }}
QToolButton#agentState[state="not_ready"], QToolButton#agentState[state="logged_out"] {{
    color: {danger}; }}
QToolButton#agentState[state="offered"], QToolButton#agentState[state="on_call"] {{
    color: {info}; }}
QToolButton#agentState[state="after_call_work"] {{ color: {warning}; }}
QLabel#fieldError {{ color: {danger}; }}
"""
