"""Running the app under uvicorn, for the command line and for EmbeddedServer alike."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI

from server_stub.app import close_event_streams

# Seconds uvicorn waits for open requests to finish when stopping, before cancelling them.
GRACEFUL_SHUTDOWN_SECONDS = 5


class Server(uvicorn.Server):
    """uvicorn's server, plus: end the event streams first when shutting down (uvicorn
    waits for every open response, and an event stream never ends by itself), and a
    ``ready`` event for whoever waits on another thread for startup."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def request_exit(self) -> None:
        """Ask the server to stop, from any thread, without waiting for its next tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        # uvicorn's loop, except that the 0.1 s pause between ticks can be cut short by
        # request_exit(): an embedded server (tests start dozens) stops at once.
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        close_event_streams(self._app)
        await super().shutdown(sockets=sockets)


def make_server(
    app: FastAPI,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    log_config: dict[str, Any] | None = uvicorn.config.LOGGING_CONFIG,
    access_log: bool = True,
) -> Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Our own Problem bodies and headers; uvicorn's "server: uvicorn" adds nothing.
        server_header=False,
    )
    return Server(config, app)
