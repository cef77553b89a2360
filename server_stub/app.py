"""The sync server's HTTP face: FastAPI endpoints under /v1 (see shared ARCHITECTURE.md).

Endpoints stay thin: they validate with the wire models (agent_desktop.sync.protocol), run
the blocking store work from service.py on worker threads, and turn every refusal into a
Problem body ``{detail, code}`` the client can show word for word.

Threads: one writer thread does every write, so SQLite never sees two writers from this
process (a deferred SQLite transaction that reads and then writes fails outright, without
waiting, when another connection wrote in between); a small reader pool serves token
checks, pulls and password hashing, which WAL lets run beside the writer. Both pools
are ours rather than anyio's shared one so that shutdown joins every thread.
"""

# No `from __future__ import annotations`: FastAPI must resolve the endpoints' annotations,
# and some name objects local to create_app.

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_desktop.sync.protocol import (
    PROTOCOL_VERSION,
    LoginRequest,
    LoginResponse,
    Problem,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    SnapshotInfo,
)
from server_stub.acd import AcdConfig
from server_stub.cti_api import CtiDesk, cti_router
from server_stub.errors import ApiError, unauthorized
from server_stub.events import EventBroker, event_stream
from server_stub.gateway import Gateway
from server_stub.gateway_api import gateway_router
from server_stub.relay import ChangeListener
from server_stub.service import Auth, Principal, Sync, unsupported_protocol
from server_stub.snapshot import Snapshots, default_snapshot_dir
from server_stub.store import create_schema, open_engine

log = logging.getLogger("server_stub")

MAX_BODY_BYTES = 1024 * 1024
READER_THREADS = 4
T = TypeVar("T")


class Health(BaseModel):
    status: Literal["ok"]
    protocol_version: int


class Unlocked(BaseModel):
    username: str
    was_locked: bool  # false: the account was not locked (its failed logins still reset)


class SnapshotFileResponse(FileResponse):
    # Starlette reads 64 KB a chunk; a snapshot is gigabytes, and 1 MB chunks send it
    # several times faster over the same connection.
    chunk_size = 1024 * 1024


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


_DESCRIPTIONS = {
    400: "Malformed request (not JSON) or a sync protocol version the server does not speak",
    401: "Not logged in, the session is not valid or has expired, or wrong credentials",
    403: "The session belongs to another installation (client id)",
    404: "Not found (for a snapshot: this server offers none; pull page by page)",
    413: "The request body is larger than 1 MB",
    422: "The request does not match the schema; the detail names the first problem",
    423: "The account is locked after too many failed logins",
}


def _problems(
    *statuses: int, described: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """Problem responses for ``statuses``; ``described`` words some of them for one route."""
    words = {**_DESCRIPTIONS, **(described or {})}
    return {s: {"model": Problem, "description": words[s]} for s in statuses}


def _json_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route whose own media type is not JSON: "model" would document the Problem
    under that media type, so name the JSON content explicitly (the other routes put
    Problem in the components)."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {s: {"description": _DESCRIPTIONS[s], "content": content} for s in statuses}


def _problem(
    status: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        Problem(detail=detail, code=code).model_dump(), status_code=status, headers=headers
    )


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, before anything parses them.

    The body is read (up to the limit) and replayed to the app, so a chunked upload with
    no Content-Length is bounded too. An oversized body is drained, up to a cap, before
    answering: closing on a client that is still sending makes it see a broken pipe
    instead of the 413.
    """

    _DRAIN_FACTOR = 16

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        too_large = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client gave up; nobody to answer
            body = message.get("body", b"")
            size += len(body)
            more = bool(message.get("more_body", False))
            if size > self.max_bytes:
                too_large = True
            if too_large:
                if size > self.max_bytes * self._DRAIN_FACTOR:
                    break
                continue
            chunks.append(body)
        if too_large:
            response = _problem(
                413,
                f"The request is larger than {self.max_bytes // 1024} KB; send fewer changes "
                "per push.",
                "too_large",
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as usual

        await self.app(scope, replay, send)


class Runtime:
    """Everything a running app holds: store services, worker threads, the event broker."""

    def __init__(
        self, engine: Engine, auth: Auth, sync: Sync, heartbeat_seconds: float, gateway: Gateway
    ) -> None:
        self.engine = engine
        self.gateway = gateway  # the payment gateway stub (an external system: own database)
        self.auth = auth
        self.sync = sync
        self.heartbeat_seconds = heartbeat_seconds
        self.broker = EventBroker()
        self._reader: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._relay: ChangeListener | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.order_tick_seconds = 0.0  # 0: orders stay where they are (tests tick by hand)
        # The simulated contact center (server_stub.acd behind server_stub.cti_api), set
        # by create_app; ticked every cti_tick_seconds (0: only when a request comes or a
        # test calls ``cti.tick()``).
        self.cti: CtiDesk | None = None
        self.cti_tick_seconds = 0.0
        self._cti_ticker: asyncio.Task[None] | None = None

    # Pools start lazily (threads appear only when work arrives) so an app that is built
    # but never served costs nothing; close() joins whatever was started.
    async def read(self, fn: Callable[[], T]) -> T:
        if self._reader is None:
            self._reader = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="server-read")
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn)

    async def write(self, fn: Callable[[], T]) -> T:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="server-write")
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn)

    def open(self) -> None:
        """On the event loop, as the server starts."""
        self.broker = EventBroker()  # a served-again app gets a fresh, open broker
        # On PostgreSQL other server processes may share the database: their changes
        # reach this process's streams through LISTEN/NOTIFY (server_stub.relay).
        loop = asyncio.get_running_loop()
        self._relay = ChangeListener.for_engine(self.engine, partial(self._relayed, loop))
        if self._relay is not None and not self._relay.start():
            log.warning("not yet listening for other server processes' changes; retrying")
        if self.order_tick_seconds > 0:
            self._ticker = loop.create_task(self._tick_orders())
        if self.cti is not None:
            self.cti.open()
            if self.cti_tick_seconds > 0:
                self._cti_ticker = loop.create_task(self.cti.run(self.cti_tick_seconds))

    async def _tick_orders(self) -> None:
        """The simulated back office: every few seconds, orders whose time has come move
        one step on (server_stub.orders), and the desks hear of it by a poke."""
        while True:
            await asyncio.sleep(self.order_tick_seconds)
            try:
                seq = await self.write(self.sync.advance_orders)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad row must not stop the back office for good
                log.exception("moving orders on failed; trying again on the next tick")
                continue
            if seq is not None:
                self.broker.publish_poke(seq)

    def _relayed(self, loop: asyncio.AbstractEventLoop, seq: int) -> None:
        # On the listener's thread: the broker belongs to the event loop.
        with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
            loop.call_soon_threadsafe(self._poke, seq)

    def _poke(self, seq: int) -> None:
        self.broker.publish_poke(seq)

    def close_streams(self) -> None:
        self.broker.close()
        if self.cti is not None:
            self.cti.close()

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._cti_ticker is not None:
            self._cti_ticker.cancel()
            self._cti_ticker = None
        if self.cti is not None:
            self.cti.close()
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        self.broker.close()
        for pool in (self._reader, self._writer):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._reader = self._writer = None
        self.engine.dispose()
        self.gateway.close()


def runtime_of(app: FastAPI) -> Runtime:
    runtime = app.state.runtime
    if not isinstance(runtime, Runtime):
        raise TypeError("not an app made by server_stub.app.create_app")
    return runtime


def close_event_streams(app: FastAPI) -> None:
    """End every open /v1/events stream (call before the server shuts down, or uvicorn
    waits for them forever). serve.Server does this for you."""
    runtime_of(app).close_streams()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _unreadable_body(exc: StarletteHTTPException) -> str:
    """The reason for FastAPI's catch-all "error parsing the body" 400 (a body it could not
    even decode as JSON text), or "" for any other HTTP error."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return ""
    if isinstance(cause, UnicodeDecodeError):
        return "The request body is not valid JSON: it is not UTF-8 text."
    if isinstance(cause, RecursionError):
        return "The request body is not JSON this server reads: it nests too deeply."
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "The request body is not JSON this server reads: a number has too many digits."
    if isinstance(cause, ValueError):
        return "The request body is not JSON this server reads."
    return ""


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    where = ".".join(loc)
    message = str(error.get("msg", "invalid value"))
    return f"{where}: {message}" if where else message


def create_app(
    database_url: str,
    *,
    token_ttl_minutes: int = 720,
    clock: Callable[[], datetime] | None = None,
    password_hasher: PasswordHasher | None = None,
    heartbeat_seconds: float = 15.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    snapshot_dir: Path | Literal["default"] | None = "default",
    gateway: Gateway | None = None,
    order_step: timedelta | None = None,
    order_tick_seconds: float = 0.0,
    acd: AcdConfig | None = None,
    cti_tick_seconds: float = 0.25,
) -> FastAPI:
    """The sync server as an ASGI app over ``database_url`` (a SQLAlchemy URL or a SQLite
    file path); creates missing tables.

    ``clock`` returns aware UTC datetimes (tests move it to expire tokens and lockouts);
    ``password_hasher`` defaults to argon2id with argon2-cffi's recommended parameters.
    ``snapshot_dir`` holds the snapshot new clients download (server_stub.snapshot); by
    default the folder beside a SQLite database, none for other databases.
    ``order_step`` is how long the simulated back office takes for each step of an
    order, checked every ``order_tick_seconds`` (0: orders are not moved on; the command
    line server ticks every 5 s).
    ``gateway`` is the payment gateway stub; by default ``Gateway.beside(database_url)``
    (the app closes it as it shuts down).
    ``acd`` configures the simulated contact center (server_stub.acd: call arrivals,
    simulated agents, wrap-up policy); None: no calls arrive and nobody is simulated, but
    /v1/cti works for the people who log in (states, dialing). The simulation moves on
    every ``cti_tick_seconds`` (0: only when a /v1/cti request comes, or a test awaits
    ``runtime_of(app).cti.tick()``).
    """
    if token_ttl_minutes <= 0:
        raise ValueError("token_ttl_minutes must be positive")
    now = clock or _utcnow
    engine = open_engine(database_url)
    create_schema(engine)
    sessions = sessionmaker(engine, class_=Session, expire_on_commit=False)
    hasher = password_hasher or PasswordHasher()
    auth = Auth(sessions, hasher, now, timedelta(minutes=token_ttl_minutes))
    pay = gateway if gateway is not None else Gateway.beside(database_url)
    sync = Sync(sessions, now, pay)
    sync.order_step = order_step
    runtime = Runtime(engine, auth, sync, heartbeat_seconds, pay)
    runtime.order_tick_seconds = order_tick_seconds
    runtime.cti = CtiDesk(sessions, now, acd, read=runtime.read, write=runtime.write,
                          poke=lambda seq: runtime.broker.publish_poke(seq))
    runtime.cti_tick_seconds = cti_tick_seconds
    snapshots = Snapshots(
        default_snapshot_dir(database_url) if snapshot_dir == "default" else snapshot_dir
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.open()
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(
        title="Agent Desktop sync server",
        version=f"{PROTOCOL_VERSION}",
        summary="Login, push/pull sync and event stream for Agent Desktop clients.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    # --- errors: every refusal is a Problem ------------------------------------------------

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _problem(exc.status, exc.detail, exc.code, exc.headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        unreadable = _unreadable_body(exc)
        if unreadable:
            return _problem(400, unreadable, "malformed_json")
        return _problem(exc.status_code, str(exc.detail), f"http_{exc.status_code}", headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body
        if (
            request.url.path.startswith("/v1/sync/")
            and isinstance(body, dict)
            and "protocol_version" in body
            and body["protocol_version"] != PROTOCOL_VERSION
        ):
            # A newer (or older) client's body may not fit this server's models at all;
            # the version is the problem to report, not the first field that differs.
            bad = unsupported_protocol(body["protocol_version"])
            return _problem(bad.status, bad.detail, bad.code)
        errors = list(exc.errors())
        first: dict[str, Any] = dict(errors[0]) if errors else {}
        if first.get("type") == "json_invalid":
            return _problem(400, "The request body is not valid JSON.", "malformed_json")
        if first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",):
            return _problem(422, "The request needs a JSON body.", "invalid_request")
        detail = _describe(first) if first else "The request is not valid."
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return _problem(422, detail, "invalid_request")

    @app.exception_handler(OperationalError)
    async def on_database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        # Locked or unreachable database: transient, so 503 and the client retries.
        log.warning("database unavailable: %s", exc.orig)
        return _problem(
            503,
            "The server's database is busy or unreachable; try again in a moment.",
            "database_unavailable",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _problem(500, "The server hit an unexpected error; try again later.", "internal")

    # --- auth ------------------------------------------------------------------------------

    bearer = HTTPBearer(
        auto_error=False, description="The token from POST /v1/auth/login"
    )

    async def current_principal(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None:
            raise unauthorized("Log in first: this needs a session token.", "not_logged_in")
        return await runtime.read(partial(auth.authenticate, credentials.credentials))

    Caller = Annotated[Principal, Depends(current_principal)]

    @app.get("/v1/health", response_model=Health, responses=_problems(413), tags=["server"])
    async def health() -> Health:
        return Health(status="ok", protocol_version=PROTOCOL_VERSION)

    @app.post(
        "/v1/auth/login",
        response_model=LoginResponse,
        responses=_problems(400, 401, 413, 422, 423),
        tags=["auth"],
    )
    async def login(body: LoginRequest) -> LoginResponse:
        """Open a session. Unknown users and wrong passwords get the same answer; ten
        failures in a row lock the account for 30 minutes."""
        check = await runtime.read(partial(auth.check_password, body))
        return await runtime.write(partial(auth.record_login, body, check))

    @app.post(
        "/v1/auth/logout",
        status_code=204,
        response_class=Response,
        responses=_problems(401, 413),
        tags=["auth"],
    )
    async def logout(who: Caller) -> Response:
        await runtime.write(partial(auth.logout, who))
        return Response(status_code=204)

    @app.post(
        "/v1/admin/users/{username}/unlock",
        response_model=Unlocked,
        responses=_problems(
            401,
            403,
            404,
            413,
            422,
            described={
                403: "Only a supervisor or an admin unlocks accounts",
                404: "There is no user with that username",
            },
        ),
        tags=["admin"],
    )
    async def unlock(
        username: Annotated[str, PathParam(min_length=1, max_length=64)], who: Caller
    ) -> Unlocked:
        """Lift a lockout at once and clear the user's failed logins (supervisors and
        admins): for an agent who is locked out and must work now."""
        was_locked = await runtime.write(partial(auth.unlock, who, username))
        return Unlocked(username=username, was_locked=was_locked)

    # --- sync ------------------------------------------------------------------------------

    @app.post(
        "/v1/sync/push",
        response_model=PushResponse,
        responses=_problems(400, 401, 403, 413, 422),
        tags=["sync"],
    )
    async def push(body: PushRequest, who: Caller) -> PushResponse:
        """Apply the client's mutations in order, each once; stops at a gap."""
        response, top_seq = await runtime.write(partial(runtime.sync.push, who, body))
        if top_seq is not None:
            runtime.broker.publish_poke(top_seq)
        return response

    @app.post(
        "/v1/sync/pull",
        response_model=PullResponse,
        responses=_problems(400, 401, 403, 413, 422),
        tags=["sync"],
    )
    async def pull(body: PullRequest, who: Caller) -> PullResponse:
        """Rows changed since the cursor, or a paged snapshot when the cursor is unknown."""
        return await runtime.read(partial(runtime.sync.pull, who, body))

    def _snapshot() -> tuple[SnapshotInfo, Path]:
        found = snapshots.current()
        if found is None:
            raise ApiError(
                404, "This server has no snapshot; pull the full history page by page.",
                "no_snapshot",
            )
        return found

    @app.get(
        "/v1/sync/snapshot",
        response_model=SnapshotInfo,
        responses=_problems(401, 404, 413),
        tags=["sync"],
    )
    async def snapshot_info(_who: Caller) -> SnapshotInfo:
        """The prebuilt store a new client downloads for its first sync."""
        return _snapshot()[0]

    @app.get(
        "/v1/sync/snapshot/file",
        response_class=FileResponse,
        responses={
            200: {"description": "The snapshot: a SQLite file in the client's schema.",
                  "content": {"application/vnd.sqlite3": {}}},
            **_json_problems(401, 404, 413),
        },
        tags=["sync"],
    )
    async def snapshot_file(_who: Caller) -> FileResponse:
        info, path = _snapshot()
        return SnapshotFileResponse(
            path, media_type="application/vnd.sqlite3",
            headers={"X-Snapshot-Sha256": info.sha256,
                     "X-Snapshot-Change-Seq": str(info.change_seq)},
        )

    @app.get(
        "/v1/events",
        response_class=EventStreamResponse,
        responses={
            200: {
                "description": 'Server-sent events: "poke" (data {"cursor": N}: pull now) '
                "and comment heartbeats.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **_json_problems(401, 413),
        },
        tags=["sync"],
    )
    async def events(_who: Caller) -> EventStreamResponse:
        return EventStreamResponse(
            event_stream(runtime.broker, runtime.heartbeat_seconds),
            # no-cache and no proxy buffering: a poke must arrive when it is sent.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # --- payment gateway (server_stub.gateway_api): tokenize cards and bank accounts ------

    app.include_router(gateway_router(
        lambda: runtime.gateway, current_principal, run=runtime.read,
        today=lambda: now().date(),
    ))

    # --- the simulated contact center (server_stub.cti_api) -------------------------------

    def _cti() -> CtiDesk:
        assert runtime.cti is not None
        return runtime.cti

    app.include_router(cti_router(_cti, current_principal,
                                  heartbeat_seconds=lambda: runtime.heartbeat_seconds))

    return app
