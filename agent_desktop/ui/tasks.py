"""Running work off the UI thread, one readable way (after Anki's CollectionOp/QueryOp).

    Op(parent, lambda: load_360(store, cid)).success(show).failure(report).run()

``fn`` runs on a worker thread and must not touch widgets; ``success``/``failure`` run
back on the UI thread, and not at all if ``parent`` was destroyed meanwhile. Reads go to a
shared pool (each read opens its own connection; SQLite's WAL lets them run beside the
writer). Writes go to a single worker (``Op(..., write=True)``) so they apply in order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)
T = TypeVar("T")


class Relay(QObject):
    """Lives on the UI thread; the worker emits, Qt queues the call back."""

    done = Signal(object, object)  # (result, exception)
    op: Any = None


class Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # handed to the UI thread, never swallowed
            self._answer(None, exc)
        else:
            self._answer(result, None)

    def _answer(self, result: Any, exc: BaseException | None) -> None:
        try:
            self._relay.done.emit(result, exc)
        except RuntimeError:  # the parent (and its relay) went meanwhile: nobody to tell
            if exc is not None:
                log.debug("background work failed after its screen closed", exc_info=exc)


class Pools:
    """The app's worker pools. Tests wait on ``wait_idle`` so no work outlives a test."""

    _reads: QThreadPool | None = None
    _writes: QThreadPool | None = None
    _lock = threading.Lock()
    in_flight = 0

    @classmethod
    def reads(cls) -> QThreadPool:
        with cls._lock:
            if cls._reads is None:
                cls._reads = QThreadPool()
                cls._reads.setMaxThreadCount(3)
                cls._reads.setExpiryTimeout(2000)
            return cls._reads

    @classmethod
    def writes(cls) -> QThreadPool:
        with cls._lock:
            if cls._writes is None:
                cls._writes = QThreadPool()
                cls._writes.setMaxThreadCount(1)  # one writer: changes apply in order
                cls._writes.setExpiryTimeout(2000)
            return cls._writes

    @classmethod
    def wait_idle(cls, msecs: int = 10000) -> bool:
        ok = True
        for pool in (cls._reads, cls._writes):
            if pool is not None:
                ok = pool.waitForDone(msecs) and ok
        return ok

    @classmethod
    def shutdown(cls) -> None:
        cls.wait_idle()
        for pool in (cls._reads, cls._writes):
            if pool is not None:
                pool.clear()
                pool.waitForDone(5000)


class Op(Generic[T]):
    """One piece of background work with callbacks on the UI thread."""

    def __init__(self, parent: QObject, fn: Callable[[], T], *, write: bool = False) -> None:
        self._parent = parent
        self._fn = fn
        self._write = write
        self._on_success: Callable[[T], None] | None = None
        self._on_failure: Callable[[BaseException], None] | None = None

    def success(self, cb: Callable[[T], None]) -> Op[T]:
        self._on_success = cb
        return self

    def failure(self, cb: Callable[[BaseException], None]) -> Op[T]:
        self._on_failure = cb
        return self

    def run(self) -> None:
        relay = Relay(self._parent)  # child of parent: dies with it, so no late callback
        relay.done.connect(self._finish)
        self._counted = True
        # The parent may be destroyed before the answer comes (a closed tab): the work is
        # then no longer in flight for anyone.
        relay.destroyed.connect(lambda *_: self._uncount())
        relay.op = self  # keeps this Op alive until its answer arrives
        self._relay = relay
        Pools.in_flight += 1
        pool = Pools.writes() if self._write else Pools.reads()
        pool.start(Job(self._fn, relay))

    def _uncount(self, *_args: object) -> None:
        if self._counted:
            self._counted = False
            Pools.in_flight -= 1

    @Slot(object, object)
    def _finish(self, result: Any, exc: BaseException | None) -> None:
        self._uncount()
        self._relay.op = None
        self._relay.deleteLater()
        if exc is None:
            if self._on_success is not None:
                self._on_success(result)
            return
        if self._on_failure is not None:
            self._on_failure(exc)
        else:
            log.error("background work failed", exc_info=exc)
            raise exc


class LatestOnly(QObject):
    """Runs requests one after another on its own thread-affine worker and delivers only
    the newest request's answer: a slow, stale search never overwrites a newer one.

    ``make_worker`` builds the per-thread state (e.g. a search holding its connection) on
    the worker thread the first time it is needed.
    """

    answered = Signal(int, object)  # (request number, result)
    failed = Signal(int, object)

    def __init__(self, parent: QObject, make_worker: Callable[[], Any],
                 call: Callable[[Any, Any], Any]) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._make_worker = make_worker
        self._call = call
        self._worker: Any = None
        self._latest = 0
        self._relay = Relay(self)
        self._relay.done.connect(self._deliver)

    @property
    def latest(self) -> int:
        return self._latest

    def request(self, argument: Any) -> int:
        self._latest += 1
        number = self._latest

        def work() -> tuple[int, Any]:
            if number != self._latest:
                return number, _SKIPPED  # a newer request is queued: don't bother
            if self._worker is None:
                self._worker = self._make_worker()
            return number, self._call(self._worker, argument)

        self._pool.start(Job(work, self._relay))
        return number

    @Slot(object, object)
    def _deliver(self, result: Any, exc: BaseException | None) -> None:
        if exc is not None:
            self.failed.emit(self._latest, exc)
            return
        number, value = result
        if number == self._latest and value is not _SKIPPED:
            self.answered.emit(number, value)

    def close(self, finalize: Callable[[Any], None] | None = None) -> None:
        self._latest += 1
        self._pool.waitForDone()
        if self._worker is not None and finalize is not None:
            worker = self._worker
            self._pool.start(Job(lambda: finalize(worker), Relay()))
            self._pool.waitForDone()
        self._worker = None


_SKIPPED = object()
