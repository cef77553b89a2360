"""``--screenshot DIR``: render every screen with the demo store to PNG, offscreen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer, SignalInstance
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from agent_desktop.platform.settings import Settings
from agent_desktop.services.contacts import load_consents
from agent_desktop.services.showcase import showcase_customer
from agent_desktop.ui import theme
from agent_desktop.ui.consent import ConsentDialog
from agent_desktop.ui.dialogs import SettingsDialog, ShortcutsDialog
from agent_desktop.ui.main_window import AREAS, MainWindow
from agent_desktop.ui.screens.customer360.view import national_number


def _wait(signal: SignalInstance, action: Callable[[], object], timeout_ms: int = 15000) -> None:
    loop = QEventLoop()
    signal.connect(lambda *_: loop.quit())
    QTimer.singleShot(timeout_ms, loop.quit)
    action()
    loop.exec()


def _settle(app: QApplication, ms: int = 50) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    app.processEvents()


def capture_all(app: QApplication, window: MainWindow, settings: Settings,
                out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def shot(name: str, widget: QWidget | None = None) -> None:
        _settle(app)
        path = out / f"{name}.png"
        (widget or window).grab().save(str(path))
        written.append(path)

    window.resize(1440, 900)
    window.show()
    window.nav.setCurrentRow(0)
    shot("01-customers-start")

    window.focus_search()
    window.search_box.setText("jonh smiht")
    _wait(window.finder.searched, window.finder.search_now)
    shot("02-search-typo-tolerant")
    window.search_box.setText("")
    window.results.hide()

    customer_id, name = showcase_customer(window.store)
    _wait(window.customers.customer_shown,
          lambda: window.customers.open_customer(customer_id, name))
    view = window.customers.current_view()
    assert view is not None
    for i, label in enumerate(("billing", "contacts", "cases", "orders")):
        view.tabs.setCurrentIndex(i)
        shot(f"{3 + i:02d}-customer-360-{label}")

    for i, area in enumerate(AREAS[1:], start=1):
        window.nav.setCurrentRow(i)
        shot(f"{7 + i - 1:02d}-{area.lower()}")
    window.nav.setCurrentRow(0)

    for name_, dialog in (("11-shortcuts", ShortcutsDialog(window)),
                          ("12-settings", SettingsDialog(settings, window))):
        dialog.show()
        dialog.adjustSize()
        shot(name_, dialog)
        dialog.done(QDialog.DialogCode.Rejected)

    consent = ConsentDialog(name, load_consents(window.store, customer_id), national_number,
                            window)
    consent.show()
    consent.adjustSize()
    shot("14-consent", consent)
    consent.done(QDialog.DialogCode.Rejected)

    theme.apply(app, "dark", int(settings.get("font_scale")))
    view.set_theme("dark")
    view.tabs.setCurrentIndex(0)
    shot("13-customer-360-dark")
    theme.apply(app, str(settings.get("theme")), int(settings.get("font_scale")))
    view.set_theme(str(settings.get("theme")))
    return written
