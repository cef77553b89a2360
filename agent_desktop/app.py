"""The composition root: settings, store, services and the main window, wired once."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from agent_desktop.cti.acd import AcdAdapter
from agent_desktop.platform import logs, paths
from agent_desktop.platform.settings import Settings
from agent_desktop.services.context import AgentContext, agent_by_username
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store, StoreError, open_store
from agent_desktop.ui import gc_guard, theme
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.sync_status import SyncController
from agent_desktop.ui.tasks import Job, Pools, Relay

log = logging.getLogger(__name__)


def configure_qt_settings() -> None:
    """Window layout and recent customers go to an INI file beside our settings, so every
    OS keeps them in the same, inspectable place."""
    QCoreApplication.setOrganizationName("AgentDesktop")
    QCoreApplication.setApplicationName("Agent Desktop")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(paths.config_dir()))


def install_crash_handler(log_file: Path, interactive: bool = True) -> None:
    """A bug shows a calm dialog and is logged; the window stays, with what was typed.

    Not interactive (``--screenshot``): nobody is there to close a dialog, so the error is
    printed and the run ends with a failure code instead of hanging.
    """

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unhandled error\n%s", text)
        if not interactive:
            sys.__excepthook__(kind, exc, tb)
            QApplication.exit(3)
            return
        if QApplication.instance() is None or os.environ.get("AGENT_DESKTOP_NO_CRASH_DIALOG"):
            sys.__excepthook__(kind, exc, tb)
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                          "Agent Desktop hit an unexpected problem. What you typed is still "
                          "on screen; nothing saved is lost.\n\nIf it happens again, tell "
                          f"support and give them the log file:\n{log_file}")
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = hook


def resolve_agent(store: Store, username: str) -> AgentContext:
    who = agent_by_username(store, username)
    if who is not None:
        return who
    return AgentContext(None, username, username, "agent")


def build_window(store: Store, username: str, settings: Settings,
                 store_label: str = "", sync: SyncController | None = None) -> MainWindow:
    who = resolve_agent(store, username)
    return MainWindow(store, who, settings, store_label, sync)


DEMO_PASSWORD = "demo"


DEMO_CALLS_PER_HOUR = 120.0


class EmbeddedSync:
    """The demo's own sync server, in this process on loopback, holding the demo data.

    Built off the UI thread: the first time, the server is seeded from the demo store
    (its rows and a snapshot for new desks), which takes seconds; this store is the
    seed, so it already holds everything up to the seed's change_seq.
    """

    def __init__(self, store: Store) -> None:
        from server_stub.__main__ import prepare
        from server_stub.acd import AcdConfig
        from server_stub.app import create_app
        from server_stub.embedded import EmbeddedServer
        from server_stub.snapshot import Snapshots, default_snapshot_dir, seed_from_store
        from server_stub.store import open_engine

        path = paths.data_dir() / "demo-server.sqlite3"
        database = f"sqlite:///{path}"
        snapshots = default_snapshot_dir(database)
        seeded = Snapshots(snapshots).current()
        if seeded is None:
            # New, or made by a version that did not seed it: start it afresh from this
            # store, and let this desk introduce itself to it as a new installation.
            for leftover in (path, path.with_name(path.name + "-wal"),
                             path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            if snapshots is not None:
                shutil.rmtree(snapshots, ignore_errors=True)
            prepare(database, seed_demo_users=True)
            engine = open_engine(database)
            try:
                log.info("seeding the demo sync server from %s", store.path)
                seq = seed_from_store(engine, store.path, snapshots)
            finally:
                engine.dispose()
            sync_store.start_afresh(store, seq)
        else:
            prepare(database, seed_demo_users=True)
        # The demo's back office moves an order one step a minute: slow enough to watch.
        # Its contact center takes two calls a minute across the queues, worked by a dozen
        # simulated colleagues; the person at this desk gets the next call on their
        # skills before them (people_first), then has all the time the call needs.
        self.server = EmbeddedServer(create_app(
            database, order_tick_seconds=5.0, order_step=timedelta(minutes=1),
            acd=AcdConfig(calls_per_hour=DEMO_CALLS_PER_HOUR, simulated_agents=12,
                          people_first=True),
            cti_tick_seconds=0.25)).start()

    def stop(self) -> None:
        self.server.stop()


class SyncSetup:
    """The sync pieces for one run (made on the UI thread): a real server's URL, or the
    embedded demo server."""

    def __init__(self, store: Store, username: str, server_url: str | None,
                 embedded: EmbeddedSync | None) -> None:
        self.embedded = embedded
        password = None
        if embedded is not None:
            server_url = embedded.server.url
            password = DEMO_PASSWORD
        assert server_url is not None
        self.service = SyncService(store, server_url, username, auto_password=password)
        self.controller = SyncController(self.service)
        self.service.listen(self.controller.poked.emit)
        # The phone: the same server's simulated contact center, with the sync session.
        client = self.service.client
        self.phone = AcdAdapter(server_url, lambda: client.token)

    def close(self) -> None:
        self.phone.stop()
        self.controller.stop()
        self.service.close()
        if self.embedded is not None:
            self.embedded.stop()


class _FirstPaint(QObject):
    """For bench/: report when the window has painted once, then quit."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
            self.seen = True
            print(f"first-paint-epoch {time.time():.6f}", flush=True)
            QTimer.singleShot(0, QApplication.quit)
        return False


def run(store_path: Path, username: str, screenshot_dir: Path | None = None,
        store_label: str = "", exit_after_first_paint: bool = False,
        server_url: str | None = None, embedded_server: bool = False) -> int:
    log_file = logs.configure()
    configure_qt_settings()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    gc_guard.install(app)  # cyclic GC only on the UI thread (see ui/gc_guard.py)
    assert isinstance(app, QApplication)
    settings = Settings()
    theme.apply(app, str(settings.get("theme")), int(settings.get("font_scale")))
    install_crash_handler(log_file, interactive=screenshot_dir is None)
    try:
        store = open_store(store_path)
    except StoreError as exc:
        log.warning("store not opened: %s", exc.message)
        if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
            QMessageBox.critical(None, "The customer store cannot be opened", exc.message)
        print(exc.message, file=sys.stderr)
        return 2
    if server_url and not embedded_server and screenshot_dir is None \
            and not exit_after_first_paint:
        from agent_desktop.ui.new_desk import set_up_new_desk

        store = set_up_new_desk(store, username, server_url)
    window = build_window(store, username, settings, store_label)
    if screenshot_dir is not None:
        from agent_desktop.ui.screenshots import capture_all

        written = capture_all(app, window, settings, screenshot_dir)
        print("\n".join(str(p) for p in written))
        window.close()
        Pools.shutdown()
        store.close()
        return 0
    if exit_after_first_paint:
        probe = _FirstPaint(window)
        window.customers.installEventFilter(probe)
    window.show()
    sync: list[SyncSetup] = []
    boot = QThreadPool(window)  # its own thread: seeding must not hold up the agent's saves
    built: list[EmbeddedSync] = []
    if screenshot_dir is None and (server_url or embedded_server):
        window.status_sync.setText("Sync: starting\u2026")

        def attach(embedded: EmbeddedSync | None, exc: BaseException | None) -> None:
            if exc is not None:
                log.error("the embedded sync server did not start", exc_info=exc)
                window.status_sync.setText("Sync: the demo server did not start (see the log)")
                return
            setup = SyncSetup(store, username, server_url, embedded)
            sync.append(setup)
            window.attach_sync(setup.controller)
            setup.controller.start()
            window.attach_phone(setup.phone)

        def start_sync() -> None:
            # After the first paint, and off the UI thread: starting the embedded server
            # costs ~0.7 s, seeding it the first time several seconds.
            if not embedded_server:
                attach(None, None)
                return
            window.status_sync.setText("Sync: preparing the demo server\u2026")
            relay = Relay(window)
            relay.done.connect(attach)

            def build() -> EmbeddedSync:
                embedded = EmbeddedSync(store)
                built.append(embedded)
                return embedded

            boot.start(Job(build, relay))

        QTimer.singleShot(0, window, start_sync)
    # The first 360 view (and pyqtgraph, about a second with numpy) is built after the
    # first paint, not before it.
    QTimer.singleShot(300, window.customers, window.customers.prepare_spare)
    code = app.exec()
    boot.waitForDone()
    for setup in sync:
        setup.close()
    for embedded in built:
        if not any(setup.embedded is embedded for setup in sync):
            embedded.stop()  # ready only after the window closed
    Pools.shutdown()
    store.close()
    return int(code)
