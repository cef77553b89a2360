"""The simulated contact center's HTTP face: /v1/cti/... (agent_desktop.sync.cti_protocol).

- :class:`CtiDesk` holds the :class:`~server_stub.acd.ContactCenter`, ticks it, writes the
  ``interactions`` and ``agent_states`` rows it produces through the app's writer thread
  (then pokes every desk to pull them), and hands each human agent's events to their open streams.
- :class:`CtiHub` is the fan-out of those events (asyncio, on the event loop, like
  server_stub.events): per agent, plus the supervisors' floor, coalesced to a few a second.
- :func:`cti_router` is the routes. The engine raises ApiError with the contract's codes;
  app.py turns them into Problems.

The engine runs on the event loop only (it is in memory and fast); blocking store work
(who the agents are, the customers' phone numbers, recording calls) runs on the app's
reader and writer threads.
"""

# No `from __future__ import annotations`: FastAPI must resolve the endpoints' annotations.

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time
from functools import partial
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from agent_desktop.sync.cti_protocol import (
    AgentView,
    CallView,
    DialRequest,
    FloorView,
    QueueInfo,
    StateChange,
    TransferRequest,
    WrapRequest,
)
from agent_desktop.sync.protocol import Problem
from server_stub.acd import (
    ALL_SKILLS,
    AcdConfig,
    AgentProfile,
    Codes,
    ContactCenter,
    Directory,
)
from server_stub.errors import ApiError
from server_stub.mutations import put_row
from server_stub.resources import read_json
from server_stub.service import Principal
from server_stub.store import SyncedRow, User

log = logging.getLogger("server_stub.cti")
T = TypeVar("T")

# The customers' phone numbers read at start (callers ring from them): enough for a
# believable mix, bounded so a server with millions of customers starts in seconds.
MAX_PHONES = 300_000
FLOOR_INTERVAL_SECONDS = 0.25      # at most four floor events a second per supervisor
MAX_QUEUED_EVENTS = 500            # a stream this far behind is closed (it reconnects)
SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


class Runner(Protocol):
    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


# --- the store (blocking: run on the app's threads) --------------------------------------


def _profile(data: dict[str, Any], fallback_id: str) -> AgentProfile:
    skills = data.get("skills")
    return AgentProfile(
        agent_id=str(data.get("id") or fallback_id), username=str(data.get("username", "")),
        display_name=str(data.get("display_name") or data.get("username") or ""),
        team=str(data.get("team") or ""),
        skills=frozenset(s for s in skills if isinstance(s, str))
        if isinstance(skills, list) else frozenset())


def load_directory(sessions: sessionmaker[Session]) -> Directory:
    """The agents nobody logs in as (candidates to simulate) and the customers' phones."""
    with sessions() as session:
        humans = set(session.scalars(select(User.username)))
        candidates = []
        for row in session.scalars(select(SyncedRow).where(SyncedRow.table_name == "agents")):
            data = row.data
            if (data.get("role") == "agent" and data.get("active", True)
                    and data.get("username") not in humans):
                candidates.append(_profile(data, row.id))
        phones = session.execute(
            select(SyncedRow.data["value"].as_string(),
                   SyncedRow.data["customer_id"].as_string())
            .where(SyncedRow.table_name == "contact_points",
                   SyncedRow.data["kind"].as_string() == "phone")
            .limit(MAX_PHONES)).all()
    return Directory.from_phone_rows(candidates, [(p, c) for p, c in phones])


def calls_today(sessions: sessionmaker[Session], now: datetime) -> list[dict[str, Any]]:
    """The interactions rows offered today (UTC), as recorded so far."""
    day = now.astimezone(UTC).date()
    start = datetime.combine(day, time(0), UTC)
    with sessions() as session:
        rows = session.scalars(select(SyncedRow.data).where(
            SyncedRow.table_name == "interactions", SyncedRow.updated_at >= start,
            func.substr(SyncedRow.data["offered_at"].as_string(), 1, 10) == day.isoformat()))
        return [dict(row) for row in rows]


def agent_profile(sessions: sessionmaker[Session], who: Principal) -> AgentProfile:
    """The logged-in person as an agent: their synced ``agents`` row (team, skills) by
    username; without one, every queue's skill (and their calls are recorded without an
    agent_id, which no desk could link to an agents row)."""
    with sessions() as session:
        row = session.execute(
            select(SyncedRow).where(SyncedRow.table_name == "agents",
                                    SyncedRow.data["username"].as_string() == who.username)
        ).scalars().first()
    if row is None:
        return AgentProfile(who.user_id, who.username, who.display_name, "", ALL_SKILLS,
                            synced=False)
    found = _profile(row.data, row.id)
    return AgentProfile(who.user_id, who.username, who.display_name, found.team,
                        found.skills)


def customer_exists(sessions: sessionmaker[Session], customer_id: str) -> bool:
    with sessions() as session:
        return session.get(SyncedRow, ("customers", customer_id)) is not None


def write_interactions(sessions: sessionmaker[Session], rows: list[dict[str, Any]],
                       now: datetime, state_rows: list[dict[str, Any]] | None = None) -> int:
    """Insert the calls' interactions rows and the agents' finished state intervals
    (``agent_states``) in one transaction; the highest change_seq."""
    with sessions() as session, session.begin():
        return max([put_row(session, "interactions", row["id"], row, now) for row in rows]
                   + [put_row(session, "agent_states", row["id"], row, now)
                      for row in state_rows or ()])


# --- event fan-out (on the event loop) ---------------------------------------------------


class CtiSubscriber:
    def __init__(self, agent_id: str, floor: bool) -> None:
        self.agent_id = agent_id
        self.floor = floor
        self.events: deque[str] = deque()
        self.floor_dirty = False
        self.closed = False
        self._wake = asyncio.Event()

    def push(self, payload: str) -> None:
        if len(self.events) >= MAX_QUEUED_EVENTS:
            self.close()  # far behind: it reconnects and its hello tells the whole state
            return
        self.events.append(payload)
        self._wake.set()

    def mark_floor(self) -> None:
        self.floor_dirty = True
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def wait(self, timeout: float) -> bool:
        """True when woken (something to send, or closed), False after ``timeout``."""
        try:
            await asyncio.wait_for(self._wake.wait(), max(0.0, timeout))
        except TimeoutError:
            return False
        self._wake.clear()
        return True


class CtiHub:
    def __init__(self) -> None:
        self._by_agent: dict[str, set[CtiSubscriber]] = {}
        self._floor: set[CtiSubscriber] = set()
        self._closed = False

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._by_agent.values())

    def subscribe(self, agent_id: str, floor: bool) -> CtiSubscriber:
        subscriber = CtiSubscriber(agent_id, floor)
        if self._closed:
            subscriber.close()
            return subscriber
        self._by_agent.setdefault(agent_id, set()).add(subscriber)
        if floor:
            self._floor.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: CtiSubscriber) -> None:
        found = self._by_agent.get(subscriber.agent_id)
        if found is not None:
            found.discard(subscriber)
            if not found:
                del self._by_agent[subscriber.agent_id]
        self._floor.discard(subscriber)

    def publish(self, agent_id: str, payload: str) -> None:
        for subscriber in list(self._by_agent.get(agent_id, ())):
            subscriber.push(payload)

    def floor_changed(self) -> None:
        for subscriber in self._floor:
            subscriber.mark_floor()

    def close(self) -> None:
        """End every stream (server shutdown)."""
        self._closed = True
        for subscribers in list(self._by_agent.values()):
            for subscriber in subscribers:
                subscriber.close()
        self._by_agent.clear()
        self._floor.clear()


# --- the desk: engine + store + streams -------------------------------------------------


class CtiDesk:
    """What the app holds for the contact center (``Runtime.cti``)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 acd: AcdConfig | None, *, read: Runner, write: Runner,
                 poke: Callable[[int], None], codes: Codes | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.acd = acd
        self._read = read
        self._write = write
        self._poke = poke
        self.codes = codes or Codes.from_dict(read_json("codes.json"))
        self.hub = CtiHub()
        self._center: ContactCenter | None = None
        self._start_lock: asyncio.Lock | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._floor_seen = -1
        self._floor_cache: tuple[int, str] | None = None
        self.recorded = 0          # interactions rows written so far
        self.states_recorded = 0   # agent_states rows written so far
        self.write_seconds = 0.0   # time spent writing them (queue wait included)

    def open(self) -> None:
        """On the event loop, as the server starts (locks belong to one loop)."""
        self.hub = CtiHub()
        self._start_lock = asyncio.Lock()
        self._flush_lock = asyncio.Lock()

    def _locks(self) -> tuple[asyncio.Lock, asyncio.Lock]:
        if self._start_lock is None or self._flush_lock is None:  # never opened
            self._start_lock, self._flush_lock = asyncio.Lock(), asyncio.Lock()
        return self._start_lock, self._flush_lock

    def close(self) -> None:
        self.hub.close()

    @property
    def center_or_none(self) -> ContactCenter | None:
        return self._center

    async def center(self) -> ContactCenter:
        """The contact center, built on first use from the synced agents and phones."""
        if self._center is not None:
            return self._center
        async with self._locks()[0]:
            if self._center is None:
                directory = await self._read(partial(load_directory, self.sessions)) \
                    if self.acd is not None else Directory()
                now = self.clock()
                center = ContactCenter(self.acd, self.codes, directory, now,
                                       arrivals=self.acd is not None)
                # Today's calls from before a restart still count on the floor.
                center.count_earlier(await self._read(
                    partial(calls_today, self.sessions, now)))
                self._center = center
                if self.acd is not None:
                    log.info("simulated contact center: %d simulated agents, %.0f calls an "
                             "hour, %d caller numbers",
                             sum(a.simulated for a in self._center.agents.values()),
                             self.acd.calls_per_hour, len(directory.phones))
        return self._center

    async def agent(self, who: Principal) -> ContactCenter:
        """The center, with ``who`` known to it as a (human) agent."""
        center = await self.center()
        if not center.knows(who.user_id) or center.agents[who.user_id].simulated:
            profile = await self._read(partial(agent_profile, self.sessions, who))
            center.register_human(profile, self.clock())
        return center

    async def knows_customer(self, customer_id: str) -> bool:
        return await self._read(partial(customer_exists, self.sessions, customer_id))

    async def tick(self) -> None:
        """Move the simulation to now, record what finished, tell the desks."""
        center = await self.center()
        center.tick(self.clock())
        await self.flush()

    async def run(self, interval: float) -> None:
        """The ticker task (server_stub.app starts it)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad moment must not stop the floor for good
                log.exception("the contact center's tick failed; trying again")

    async def flush(self) -> None:
        """Persist the finished calls (before anyone hears they are done), then deliver
        the events, in order."""
        center = await self.center()
        async with self._locks()[1]:
            records = center.take_records()
            states = center.take_state_records()
            events = center.take_events()
            if records or states:
                now = self.clock()
                started = asyncio.get_running_loop().time()
                try:
                    seq = await self._write(partial(write_interactions, self.sessions,
                                                    records, now, states))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("recording %d calls and %d agent states failed; trying "
                                  "again on the next tick", len(records), len(states))
                    center.requeue_records(records)
                    center.requeue_state_records(states)
                else:
                    self.recorded += len(records)
                    self.states_recorded += len(states)
                    self.write_seconds += asyncio.get_running_loop().time() - started
                    self._poke(seq)
            for agent_id, event in events:
                self.hub.publish(agent_id, event.model_dump_json())
            if center.floor_version != self._floor_seen:
                self._floor_seen = center.floor_version
                self.hub.floor_changed()

    def floor_json(self) -> str:
        center = self._center
        if center is None:
            return ""
        if self._floor_cache is None or self._floor_cache[0] != center.floor_version:
            self._floor_cache = (center.floor_version,
                                 center.floor(self.clock()).model_dump_json())
        return self._floor_cache[1]


def _sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


async def cti_event_stream(desk: CtiDesk, agent_id: str, floor: bool,
                           heartbeat_seconds: float) -> AsyncIterator[str]:
    """One desk's stream: hello (its AgentView), then its events, the floor for
    supervisors (coalesced), and comment heartbeats; ends when the server stops."""
    center = await desk.center()
    subscriber = desk.hub.subscribe(agent_id, floor)
    loop = asyncio.get_running_loop()
    try:
        # Subscribed and the hello taken with no await between: nothing is missed.
        first = "retry: 3000\n" + _sse("hello", center.agent_view(agent_id).model_dump_json())
        if floor:
            first += _sse("floor", desk.floor_json())
        yield first
        last_floor = loop.time()
        quiet_since = loop.time()
        while not subscriber.closed:
            timeout = heartbeat_seconds - (loop.time() - quiet_since)
            if subscriber.floor_dirty:
                timeout = min(timeout, last_floor + FLOOR_INTERVAL_SECONDS - loop.time())
            await subscriber.wait(timeout)
            if subscriber.closed:
                break
            out = [_sse("cti", payload) for payload in subscriber.events]
            subscriber.events.clear()
            if subscriber.floor_dirty and loop.time() - last_floor >= FLOOR_INTERVAL_SECONDS:
                subscriber.floor_dirty = False
                last_floor = loop.time()
                out.append(_sse("floor", desk.floor_json()))
            if out:
                quiet_since = loop.time()
                yield "".join(out)
            elif loop.time() - quiet_since >= heartbeat_seconds:
                quiet_since = loop.time()
                yield ": keepalive\n\n"
    finally:
        desk.hub.unsubscribe(subscriber)


# --- routes -----------------------------------------------------------------------------


class CtiEventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


_WORDS = {
    400: "Malformed request (not JSON)",
    401: "Not logged in, or the session is not valid or has expired",
    403: "The floor is for supervisors",
    404: "No such call on this agent's phone (unknown_call)",
    409: "The call (or the agent) is not in a state that allows this; the detail says why "
         "(call_state)",
    413: "The request body is larger than 1 MB",
    422: "The request does not fit: bad body, unknown state, reason, queue, code or "
         "customer (invalid_request)",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "description": _WORDS[s]} for s in statuses}


def _json_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {s: {"description": _WORDS[s], "content": content} for s in statuses}


CallId = Annotated[str, PathParam(min_length=1, max_length=64)]


def cti_router(desk: CtiDesk | Callable[[], CtiDesk], authenticate: Callable[..., Any], *,
               heartbeat_seconds: Callable[[], float]) -> APIRouter:
    """The /v1/cti routes for logged-in callers (``authenticate`` is the app's dependency
    that yields the Principal)."""

    def the_desk() -> CtiDesk:
        return desk if isinstance(desk, CtiDesk) else desk()

    router = APIRouter(prefix="/v1/cti", tags=["cti"])
    Who = Annotated[Principal, Depends(authenticate)]

    async def check_customer(customer_id: str | None) -> None:
        if customer_id is not None and not await the_desk().knows_customer(customer_id):
            raise ApiError(422, f"There is no customer {customer_id} on the server.",
                           "invalid_request")

    @router.get("/me", response_model=AgentView, responses=_problems(401, 413))
    async def me(who: Who) -> AgentView:
        """This agent: state, reason, since, and the call ringing, in progress or in
        wrap-up."""
        d = the_desk()
        center = await d.agent(who)
        center.tick(d.clock())
        await d.flush()
        return center.agent_view(who.user_id)

    @router.post("/state", response_model=AgentView,
                 responses=_problems(400, 401, 409, 413, 422))
    async def set_state(body: StateChange, who: Who) -> AgentView:
        """Available, not ready (with a not_ready_reasons code) or logged out."""
        d = the_desk()
        center = await d.agent(who)
        view = center.set_state(who.user_id, body.state, body.reason, d.clock())
        await d.flush()
        return view

    @router.get("/queues", response_model=list[QueueInfo], responses=_problems(401, 413))
    async def queues(_who: Who) -> list[QueueInfo]:
        return (await the_desk().center()).queue_infos()

    def _call_route(action: str) -> None:
        async def act(call_id: CallId, who: Who) -> CallView:
            d = the_desk()
            center = await d.agent(who)
            view: CallView = getattr(center, action)(who.user_id, call_id, d.clock())
            await d.flush()
            return view

        act.__name__ = f"{action}_call"
        act.__doc__ = {
            "answer": "Answer the call ringing for this agent.",
            "hold": "Put the caller on hold.",
            "resume": "Take the caller off hold.",
            "end": "Hang up; after-call work starts (wrap up the call next).",
        }[action]
        router.post(f"/calls/{{call_id}}/{action}", response_model=CallView,
                    responses=_problems(401, 404, 409, 413, 422))(act)

    for _action in ("answer", "hold", "resume", "end"):
        _call_route(_action)

    @router.post("/calls/{call_id}/transfer", response_model=CallView,
                 responses=_problems(400, 401, 404, 409, 413, 422))
    async def transfer_call(call_id: CallId, body: TransferRequest, who: Who) -> CallView:
        """Send the caller to another queue with a note; this agent's part of the call is
        over and their after-call work starts."""
        d = the_desk()
        center = await d.agent(who)
        view = center.transfer(who.user_id, call_id, body.queue, body.note, d.clock())
        await d.flush()
        return view

    @router.post("/calls/{call_id}/wrap", response_model=AgentView,
                 responses=_problems(400, 401, 404, 409, 413, 422))
    async def wrap_call(call_id: CallId, body: WrapRequest, who: Who) -> AgentView:
        """Finish the after-call work: the interaction is recorded (and synced to every
        desk) before this answers; the agent is available again."""
        d = the_desk()
        await check_customer(body.customer_id)
        center = await d.agent(who)
        view = center.wrap(who.user_id, call_id, body.wrap_up_code, body.reason_code,
                           body.resolved, body.summary, body.customer_id, d.clock())
        await d.flush()
        return view

    @router.post("/dial", response_model=CallView,
                 responses=_problems(400, 401, 409, 413, 422))
    async def dial(body: DialRequest, who: Who) -> CallView:
        """Call out: DIALING, then TALKING when the far end answers (a "connected"
        event)."""
        d = the_desk()
        await check_customer(body.customer_id)
        center = await d.agent(who)
        view = center.dial(who.user_id, body.number, body.customer_id,
                           body.collection_account_id, d.clock())
        await d.flush()
        return view

    @router.get("/floor", response_model=FloorView, responses=_problems(401, 403, 413))
    async def floor(who: Who) -> FloorView:
        """Every agent's state and every queue's figures today (supervisors)."""
        if who.role not in SUPERVISOR_ROLES:
            raise ApiError(403, "The floor is for supervisors.", "forbidden")
        d = the_desk()
        center = await d.center()
        center.tick(d.clock())
        await d.flush()
        return center.floor(d.clock())

    @router.get(
        "/events",
        response_class=CtiEventStreamResponse,
        responses={
            200: {"description": 'Server-sent events: "hello" (AgentView), then "cti" '
                                 '(CtiEvent) and, with floor=1, "floor" (FloorView); '
                                 "comment heartbeats.",
                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **_json_problems(401, 403, 413, 422),
        },
    )
    async def events(who: Who, floor: Annotated[bool, Query()] = False
                     ) -> CtiEventStreamResponse:
        if floor and who.role not in SUPERVISOR_ROLES:
            raise ApiError(403, "The floor is for supervisors.", "forbidden")
        d = the_desk()
        await d.agent(who)
        return CtiEventStreamResponse(
            cti_event_stream(d, who.user_id, floor, heartbeat_seconds()),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return router
