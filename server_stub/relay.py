"""Pokes across server processes: PostgreSQL LISTEN/NOTIFY into this process's broker.

Several stateless server processes can serve one PostgreSQL database (docs/SCALING.md).
The transaction that commits new changes sends ``NOTIFY agent_desktop_changes,
'<change_seq>'`` (server_stub.store), so the notification leaves exactly when the rows
become visible. Each process runs one ``ChangeListener``: a thread with its own
autocommit psycopg connection that LISTENs and hands the highest change_seq of every
batch to a callback (the app relays it to its event loop, where the broker pokes this
process's /v1/events streams). A process also hears its own notifications; the broker
drops pokes it has already sent.

The thread waits (a selector) on the connection's socket and on a wake-up socket, so
``stop()`` ends it at once; a lost connection is re-opened with backoff, and the first
poke after a reconnect announces the current change_seq (changes committed while nobody
listened). psycopg is imported only here and only for PostgreSQL, so a SQLite server
(and the desktop app's bundle) never needs it.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from server_stub.store import CHANGES_CHANNEL

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("server_stub")

# How long the listener waits for a notification before checking that its connection is
# still alive (a dead peer is otherwise only noticed by TCP keepalives, hours later).
KEEPALIVE_SECONDS = 30.0
RETRY_SECONDS = (0.5, 10.0)  # first and longest wait before reconnecting
_CURRENT_SEQ = "SELECT value FROM change_counter WHERE id = 1"
APPLICATION_NAME = "agent-desktop-server relay"


def _seq(payload: str) -> int | None:
    try:
        return int(payload)
    except ValueError:
        return None  # not ours: anyone may NOTIFY on the channel


class ChangeListener:
    """One thread that LISTENs on the changes channel and calls ``on_change(seq)`` (on
    that thread) with the highest change_seq of each batch of notifications."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        on_change: Callable[[int], None],
    ) -> None:
        self._connect = connect
        self._on_change = on_change
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set while LISTEN is in effect
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_engine(
        cls, engine: Engine, on_change: Callable[[int], None]
    ) -> ChangeListener | None:
        """A listener on ``engine``'s database, or None when it is not PostgreSQL."""
        if engine.dialect.name != "postgresql":
            return None
        # The same host, port, user, password and options the engine connects with.
        cargs, cparams = engine.dialect.create_connect_args(engine.url)

        def connect() -> psycopg.Connection[Any]:
            import psycopg

            # Named, so an operator sees it in pg_stat_activity; a bounded connect, so
            # stop() is not held up by an unreachable database.
            params = {"application_name": APPLICATION_NAME, "connect_timeout": 10, **cparams,
                      "autocommit": True}
            return psycopg.connect(*cargs, **params)

        return cls(connect, on_change)

    def start(self, wait_seconds: float = 10.0) -> bool:
        """Start listening; True once LISTEN is in effect (False if that took longer than
        ``wait_seconds``: the thread keeps trying in the background)."""
        if self._thread is not None:
            raise RuntimeError("the change listener is already started")
        self._thread = threading.Thread(target=self._run, name="server-listen", daemon=True)
        self._thread.start()
        return self.listening.wait(wait_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and close its connection (idempotent)."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the change listener did not stop within %s s", timeout)
                return  # it still uses the wake-up socket
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def _run(self) -> None:
        import psycopg

        delay = RETRY_SECONDS[0]
        reconnect = False
        while not self._stopping.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    self.listening.set()
                    if reconnect:
                        row = conn.execute(_CURRENT_SEQ).fetchone()
                        if row is not None:
                            self._on_change(int(row[0]))
                    delay = RETRY_SECONDS[0]
                    self._listen(conn)
            except psycopg.Error as exc:
                log.warning("change listener: %s; reconnecting in %.1f s", exc, delay)
            except Exception:
                log.exception("change listener failed; restarting in %.1f s", delay)
            finally:
                self.listening.clear()
            reconnect = True
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, RETRY_SECONDS[1])

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        # A selector, not select(): a busy server's descriptors go past select()'s 1024.
        with selectors.DefaultSelector() as selector:
            selector.register(conn.fileno(), selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = selector.select(KEEPALIVE_SECONDS)
                if self._stopping.is_set():
                    return
                self._drain(conn, keepalive=not ready)

    def _drain(self, conn: psycopg.Connection[Any], *, keepalive: bool) -> None:
        if keepalive:
            conn.execute("SELECT 1")  # raises if the connection died quietly
        top: int | None = None
        # timeout=0: take what has arrived (and what the SELECT 1 received), no wait.
        for notify in conn.notifies(timeout=0):
            seq = _seq(notify.payload)
            if seq is not None:
                top = seq if top is None else max(top, seq)
        if top is not None:
            self._on_change(top)
