"""Listening for the server's "pull now" pokes (server-sent events on /v1/events).

A plain thread holds one streaming request open; each poke calls ``on_poke`` (from that
thread: the caller hands it to its own thread, e.g. through a Qt signal). When the stream
breaks it reconnects with backoff and jitter; ``stop()`` ends it promptly.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

import httpx

from agent_desktop.sync.engine import backoff_seconds

log = logging.getLogger(__name__)


def interrupt(response: httpx.Response | None) -> None:
    """Wake the thread reading ``response``'s stream: closing the client does not, shutting
    the socket down does (the read returns at once, as if the server hung up)."""
    if response is None:
        return
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class PokeListener:
    def __init__(self, base_url: str, token: Callable[[], str | None],
                 on_poke: Callable[[], None], *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._url = base_url.rstrip("/") + "/v1/events"
        self._token = token
        self._on_poke = on_poke
        self._stop = threading.Event()
        # Read timeout above the server's 15 s heartbeat: silence longer than that means
        # the connection is gone.
        self._http = httpx.Client(timeout=httpx.Timeout(10.0, read=45.0), transport=transport)
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="sync-pokes", daemon=True)
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        interrupt(self._response)
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._http.close()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            token = self._token()
            if token is None:  # not logged in yet: look again shortly
                self._stop.wait(1.0)
                continue
            try:
                self._listen(token)
                failures = 0
            except (httpx.HTTPError, RuntimeError) as exc:
                if self._stop.is_set():
                    return
                failures += 1
                log.info("event stream interrupted (%s); reconnecting", type(exc).__name__)
            finally:
                self.connected.clear()
            self._stop.wait(1.0 + backoff_seconds(failures, base=1.0, cap=30.0))

    def _listen(self, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        with self._http.stream("GET", self._url, headers=headers) as response:
            self._response = response
            if response.status_code != 200:
                raise RuntimeError(f"event stream refused: HTTP {response.status_code}")
            self.connected.set()
            # Anything pushed while this desktop was not listening was not announced to it:
            # pull once now that it is.
            self._on_poke()
            event = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line == "":
                    if event == "poke":
                        self._on_poke()
                    event = ""
