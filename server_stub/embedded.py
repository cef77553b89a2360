"""The sync server inside another process: a uvicorn thread on loopback, any free port.

The desktop app (``make run`` with demo data) and the tests use it::

    with EmbeddedServer(create_app("sqlite:///server.sqlite3")) as server:
        httpx.get(f"{server.url}/v1/health")
"""

from __future__ import annotations

import threading
from types import TracebackType

from fastapi import FastAPI

from server_stub.app import Runtime, runtime_of
from server_stub.serve import Server, make_server


class EmbeddedServerError(RuntimeError):
    """The embedded server did not start (or did not stop) in time."""


class EmbeddedServer:
    """Serve ``app`` with uvicorn on a background thread.

    ``port=0`` lets the OS pick a free port; ``port``/``url`` tell which after start().
    stop() ends open event streams, shuts uvicorn down (the app's lifespan joins its
    worker threads) and joins the thread, so nothing is left running.
    """

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
        shutdown_timeout: float = 15.0,
        log_level: str = "warning",
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._shutdown_timeout = shutdown_timeout
        self._log_level = log_level
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedServerError("the embedded server is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> EmbeddedServer:
        if self._thread is not None:
            raise EmbeddedServerError("the embedded server is already started")
        # log_config=None: leave the host process's logging configuration alone.
        server = make_server(
            self.app,
            self.host,
            self._requested_port,
            log_level=self._log_level,
            log_config=None,
            access_log=False,
        )
        self._server = server
        self._error = None
        thread = threading.Thread(target=self._run, name="agent-desktop-server", daemon=True)
        self._thread = thread
        thread.start()
        if not server.ready.wait(self._startup_timeout) or not server.started:
            self._abandon()
            raise EmbeddedServerError(
                f"the embedded sync server did not start on {self.host}: {self._error!r}"
            ) from self._error
        # Port 0 means the OS chose: read it back from the listening socket.
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def _run(self) -> None:
        assert self._server is not None
        try:
            self._server.run()
        except BaseException as exc:  # uvicorn sys.exit()s on a failed startup
            self._error = exc
        finally:
            self._server.ready.set()  # wake start() even when startup never finished

    def _abandon(self) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.request_exit()
        if thread is not None:
            thread.join(self._shutdown_timeout)
        self._server = self._thread = None
        self._port = None

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.request_exit()
        thread.join(self._shutdown_timeout)
        forced = thread.is_alive()
        if forced:
            server.force_exit = True  # skip waiting for open requests
            thread.join(self._shutdown_timeout)
        self._server = self._thread = None
        self._port = None
        if thread.is_alive():
            raise EmbeddedServerError("the embedded sync server did not stop")
        if forced and isinstance(getattr(self.app.state, "runtime", None), Runtime):
            # A forced exit skips the app's lifespan shutdown: join its workers here.
            runtime_of(self.app).close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
