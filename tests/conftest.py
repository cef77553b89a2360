"""Shared fixtures: an isolated home per test session, real demo stores, leak checks."""

from __future__ import annotations

import gc
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import keyring
import pytest
from memory_keyring import MemoryKeyring

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["AGENT_DESKTOP_NO_CRASH_DIALOG"] = "1"

AS_OF = date(2026, 11, 15)
SMALL_STORE_CUSTOMERS = 400
SMALL_STORE_SEED = 7


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings, logs and window layout go to a fresh folder for every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AGENT_DESKTOP_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One realistic store generated per test session; tests get copies of it."""
    from agent_desktop.storage.demo_data import generate

    out = tmp_path_factory.mktemp("template") / "demo.sqlite3"
    generate(out, SMALL_STORE_CUSTOMERS, SMALL_STORE_SEED, as_of=AS_OF)
    return out


@pytest.fixture
def store_path(demo_store_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    shutil.copyfile(demo_store_template, path)
    return path


@pytest.fixture
def store(store_path: Path) -> Iterator[object]:
    from agent_desktop.storage.store import open_store

    s = open_store(store_path)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def big_files_go_with_the_test(tmp_path: Path) -> Iterator[None]:
    """Remove a test's large files (store copies, server databases, snapshots) once it and
    everything after it (the Qt event loop, background work) are done: a whole run kept
    them all, about 9 GB, more than a small CI disk holds. Declared before the other
    autouse fixtures, so it is torn down after them."""
    yield
    for path in sorted(tmp_path.rglob("*"), reverse=True):
        try:
            if path.is_file() and path.stat().st_size > 1_000_000:
                path.unlink()
        except OSError:  # still held open (a failure being reported): keep it
            pass


@pytest.fixture(autouse=True)
def no_leaked_threads_or_timers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves background work, threads or running timers behind."""
    before = {t.ident for t in threading.enumerate()}
    if "qapp" in request.fixturenames or "qtbot" in request.fixturenames:
        from PySide6.QtWidgets import QApplication

        from agent_desktop.ui import gc_guard

        request.getfixturevalue("qapp")
        app = QApplication.instance()
        assert app is not None
        gc_guard.install(app)  # as the app does: GC never runs on a worker thread
    yield
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        leaked = [t for t in threading.enumerate()
                  if t.ident not in before and not isinstance(t, threading._DummyThread)
                  and t.is_alive()]
        assert not leaked, f"test leaked threads: {leaked}"
        return
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from agent_desktop.ui.tasks import Pools

    gc.collect()  # on this (the UI) thread: the guard keeps collections off the others

    assert Pools.wait_idle(10000), "background work still running after the test"
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    assert Pools.in_flight == 0, f"{Pools.in_flight} background operations never finished"
    running = []
    if isinstance(app, QApplication):
        for widget in app.topLevelWidgets():
            if widget.isVisible():
                running.append(f"window left open: {widget!r}")
            for timer in widget.findChildren(QTimer):
                if timer.isActive() and not widget.isHidden():
                    running.append(f"timer running: {timer.objectName() or timer!r}")
    leaked = [t for t in threading.enumerate()
              if t.ident not in before and not isinstance(t, threading._DummyThread)
              and t.is_alive()]
    assert not leaked, f"test leaked threads: {leaked}"
    assert not running, "; ".join(running)


@pytest.fixture
def desks(demo_store_template: Path, tmp_path: Path) -> Iterator[tuple[object, list[object]]]:
    """A real sync server seeded from the demo store, and two desks' stores (copies of the
    same store, in step with the server): what one desk does, the other pulls."""
    from agent_desktop.storage import sync_store
    from agent_desktop.storage.store import open_store
    from server_stub.__main__ import prepare, seed
    from server_stub.app import create_app
    from server_stub.embedded import EmbeddedServer

    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seq = seed(url, str(demo_store_template), None)
    stores = []
    for name in ("a", "b"):
        path = tmp_path / f"desk-{name}.sqlite3"
        shutil.copyfile(demo_store_template, path)
        desk = open_store(path)
        sync_store.start_afresh(desk, seq)
        stores.append(desk)
    with EmbeddedServer(create_app(url)) as server:
        yield server, stores
    for desk in stores:
        desk.close()
