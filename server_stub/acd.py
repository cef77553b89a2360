"""The simulated contact center (ACD): queues, callers, routing, agents, recording.

A discrete-event simulation, pure and in memory: no I/O, no asyncio, no FastAPI. The
clock is passed in (``tick(now)`` and every action take ``now``) and randomness comes from
one seeded ``random.Random``, so the same seed and the same times give the same day.

- Inbound calls arrive as a Poisson process (``AcdConfig.calls_per_hour``, split over the
  queues by ``queue_mix``). Most callers are demo customers (their phone numbers), some
  unknown numbers, some withheld. Each caller has a patience (exponential); one who
  waits longer hangs up, and the call is recorded as abandoned.
- Routing: a waiting call goes to the AVAILABLE agent with the queue's skill who has been
  idle longest; the oldest waiting call among the queues an agent serves goes first. An
  offered call rings for ``ring_seconds``; unanswered, it goes back to the front of its
  queue and the agent is made NOT_READY ("RING-NO-ANSWER").
- Simulated agents (synced agents nobody logs in as) answer, talk, hold, transfer, wrap
  up and take breaks by themselves with realistic (lognormal) times; the humans act only
  through the methods below (server_stub.cti_api maps them to HTTP).
- Every finished call yields an ``interactions`` row (``take_records``), exactly the
  client table's fields, and every change for a human agent a :class:`CtiEvent`
  (``take_events``). The caller persists and delivers them.
- Every finished stretch of an agent in one state (available, offered, on a call, after
  call work, not ready with its reason, logged out) yields an ``agent_states`` row
  (``take_state_records``) when it ends, for agents with an ``agents`` row (simulated
  ones included): the history occupancy is measured against. A stretch still going on is
  not recorded until it ends.

Events are processed in time order from one timer heap (arrivals included), so a call's
seconds are exact whatever the tick interval. Refusals raise ``ApiError`` with the
contract's codes (agent_desktop.sync.cti_protocol): 404 ``unknown_call``, 409
``call_state``, 422 ``invalid_request``.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from agent_desktop.domain.calls import (
    WITHHELD,
    AgentState,
    CallAction,
    CallState,
    WrapUp,
    WrapUpMode,
    WrapUpPolicy,
    auto_wrap_due,
    check_call_action,
    check_wrap_up,
    dialable,
)
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import normalize_phone
from agent_desktop.sync.cti_protocol import (
    AgentView,
    CallView,
    CtiEvent,
    CtiEventKind,
    FloorView,
    QueueInfo,
    QueueView,
)
from server_stub.errors import ApiError

SHORT_ABANDON_SECONDS = 5.0
RING_NO_ANSWER = "RING-NO-ANSWER"
# Finished calls are kept this long, so a late answer or wrap is told what happened to
# the call (409) rather than that it never existed (404).
KEEP_FINISHED = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class QueueDef:
    name: str
    label: str
    skill: str


QUEUES: tuple[QueueDef, ...] = (
    QueueDef("billing", "Billing", "billing"),
    QueueDef("tech_support", "Technical support", "tech_internet"),
    QueueDef("sales", "Sales", "sales"),
    QueueDef("retention", "Retention", "retention"),
    QueueDef("collections", "Collections", "collections"),
    QueueDef("general", "General", "billing"),
)
QUEUE_BY_NAME: Mapping[str, QueueDef] = {q.name: q for q in QUEUES}
ALL_SKILLS: frozenset[str] = frozenset(q.skill for q in QUEUES)
DEFAULT_MIX: Mapping[str, float] = {
    "billing": 0.34, "tech_support": 0.27, "sales": 0.12, "retention": 0.07,
    "collections": 0.06, "general": 0.14,
}

# Talk time medians (seconds) per queue, as the demo data's history (storage/demo_data.py).
TALK_MEDIAN: Mapping[str, float] = {
    "billing": 300, "tech_support": 510, "sales": 420, "retention": 390,
    "collections": 240, "general": 240,
}
# The contact reason categories callers of each queue ring about.
_REASON_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "billing": ("billing", "payment"),
    "tech_support": ("technical",),
    "sales": ("order", "moving"),
    "retention": ("cancellation",),
    "collections": ("collections",),
    "general": ("account", "general", "equipment"),
}
# Wrap-up codes a simulated agent may pick: none that claims a row the simulation does not
# make (a payment, an order, an adjustment, a promise, a case).
_SIMULATED_WRAPS: Mapping[str, tuple[str, ...]] = {
    "billing": ("RESOLVED-FIRST-CALL", "INFO-PROVIDED", "CALLBACK-SCHEDULED"),
    "payment": ("INFO-PROVIDED", "RESOLVED-FIRST-CALL"),
    "technical": ("TROUBLESHOOT-FIXED", "TROUBLESHOOT-FIXED", "TECH-DISPATCHED",
                  "OUTAGE-INFORMED"),
    "order": ("INFO-PROVIDED", "OFFER-DECLINED", "CALLBACK-SCHEDULED"),
    "moving": ("INFO-PROVIDED",),
    "cancellation": ("RETAINED", "RETAINED", "ESCALATED-SUPERVISOR"),
    "collections": ("INFO-PROVIDED", "CALLBACK-SCHEDULED", "CALLER-NOT-VERIFIED"),
    "account": ("RESOLVED-FIRST-CALL", "INFO-PROVIDED", "CALLER-NOT-VERIFIED"),
    "general": ("INFO-PROVIDED", "RESOLVED-FIRST-CALL"),
    "equipment": ("INFO-PROVIDED", "RESOLVED-FIRST-CALL"),
}
_TRANSFER_TO: Mapping[str, tuple[str, ...]] = {
    "billing": ("tech_support", "retention", "sales"),
    "tech_support": ("billing", "sales"),
    "sales": ("billing", "tech_support"),
    "retention": ("billing", "sales"),
    "collections": ("billing",),
    "general": ("billing", "tech_support", "sales"),
}
_TRANSFER_NOTES: Mapping[str, tuple[str, ...]] = {
    "billing": ("Question about the last bill; account verified.",
                "Wants the charges explained."),
    "tech_support": ("Internet drops every evening; modem already restarted.",
                     "No picture on the TV box since this morning."),
    "sales": ("Interested in a faster plan.", "Asking about adding mobile lines."),
    "retention": ("Wants to cancel: price. Verified the account.",
                  "Moving soon and thinking of cancelling."),
    "collections": ("Past-due balance; wants to discuss a payment plan.",),
    "general": ("Caller verified; general question.",),
}
# Breaks a simulated agent takes now and then: (reason, median seconds, weight).
_BREAKS: tuple[tuple[str, float, float], ...] = (
    ("BREAK", 420, 0.55), ("PERSONAL", 240, 0.2), ("COACHING", 900, 0.1),
    ("MEETING", 1200, 0.05), ("SYSTEM-ISSUE", 180, 0.1),
)


@dataclass(frozen=True, slots=True)
class AcdConfig:
    """How the simulated floor behaves (server_stub.app ``create_app(acd=...)``)."""

    calls_per_hour: float = 120.0
    queue_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    simulated_agents: int = 12
    patience_mean_seconds: float = 150.0
    ring_seconds: float = 20.0
    service_level_target_seconds: int = 20
    known_caller_share: float = 0.8       # callers whose number is a demo customer's
    withheld_share: float = 0.07          # the rest are unknown numbers
    wrap_up: WrapUpPolicy = field(default_factory=WrapUpPolicy)
    transfer_share: float = 0.04          # simulated agents' calls they transfer
    hold_share: float = 0.35              # simulated agents' calls with a hold
    break_share: float = 0.04             # a break after this share of their calls
    survey_share: float = 0.25            # simulated agents' calls with a survey
    dial_seconds: tuple[float, float] = (4.0, 12.0)   # outbound: until the far end answers
    # The demo: a person working the calls gets the next one before the simulated
    # colleagues (a real ACD routes by idle time only, which the default keeps).
    people_first: bool = False
    seed: int = 7

    def __post_init__(self) -> None:
        if self.calls_per_hour < 0:
            raise ValueError("calls_per_hour must not be negative")
        unknown = set(self.queue_mix) - set(QUEUE_BY_NAME)
        if unknown:
            raise ValueError(f"unknown queues in queue_mix: {', '.join(sorted(unknown))}")
        if self.calls_per_hour and sum(self.queue_mix.values()) <= 0:
            raise ValueError("queue_mix needs a positive weight")
        if self.simulated_agents < 0 or self.ring_seconds <= 0 \
                or self.patience_mean_seconds <= 0:
            raise ValueError("simulated_agents, ring_seconds and patience must be positive")


@dataclass(frozen=True, slots=True)
class AgentProfile:
    agent_id: str
    username: str
    display_name: str
    team: str = ""
    skills: frozenset[str] = ALL_SKILLS
    # False: nobody has an ``agents`` row for this person, so their calls are recorded
    # with no agent_id (a desk's store refuses an agent_id its agents table lacks).
    synced: bool = True


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label: str
    category: str
    resolved_default: bool = False


@dataclass(frozen=True, slots=True)
class Codes:
    """The reference lists of resources/codes.json the ACD checks against."""

    wrap_up: Mapping[str, Code]
    reasons: Mapping[str, Code]
    not_ready: Mapping[str, Code]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Codes:
        def table(key: str) -> dict[str, Code]:
            return {str(c["code"]): Code(str(c["code"]), str(c.get("label", c["code"])),
                                         str(c.get("category", "")),
                                         bool(c.get("resolved_default", False)))
                    for c in data.get(key, ())}
        return cls(table("wrap_up_codes"), table("contact_reasons"),
                   table("not_ready_reasons"))


@dataclass
class Directory:
    """Who is who, read once from the synced rows: the agents, and the customers' phones."""

    agents: list[AgentProfile] = field(default_factory=list)   # candidates to simulate
    phones: list[str] = field(default_factory=list)             # distinct numbers
    customers_by_phone: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_phone_rows(cls, agents: list[AgentProfile],
                        rows: Iterable[tuple[str | None, str | None]]) -> Directory:
        found: dict[str, list[str]] = {}
        for phone, customer in rows:
            if phone and customer:
                owners = found.setdefault(phone, [])
                if customer not in owners:
                    owners.append(customer)
        return cls(agents, sorted(found), {p: tuple(c) for p, c in found.items()})

    def customer_of(self, phone: str) -> str | None:
        owners = self.customers_by_phone.get(phone, ())
        return owners[0] if len(owners) == 1 else None


# --- state ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Call:
    id: str
    direction: Literal["inbound", "outbound"]
    queue: str
    caller_id: str
    offered_at: datetime
    state: CallState = CallState.QUEUED
    customer_id: str | None = None
    collection_account_id: str | None = None
    agent_id: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    held_since: datetime | None = None
    hold: float = 0.0
    transfers: int = 0
    transfer_note: str = ""
    transferred_from: str = ""
    offered_to: set[str] = field(default_factory=set)
    token: int = 0            # bumped whenever its timers must no longer fire
    finished_at: datetime | None = None
    recorded: bool = False


@dataclass(eq=False)
class _Agent:
    profile: AgentProfile
    simulated: bool
    state: AgentState
    since: datetime
    reason: str = ""
    call: _Call | None = None
    idle_since: datetime | None = None
    acw_started: datetime | None = None
    # Chosen during a call: the state to take instead of available once it is wrapped.
    pending: tuple[AgentState, str] | None = None
    token: int = 0            # bumped whenever its timers must no longer fire
    seq: int = 0              # its events' sequence


@dataclass(eq=False)
class _QueueStats:
    offered: int = 0
    answered: int = 0
    in_target: int = 0
    abandoned: int = 0
    short_abandons: int = 0

    def service_level(self) -> float | None:
        counted = self.answered + self.abandoned - self.short_abandons
        return None if counted <= 0 else self.in_target / counted


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def _whole(seconds: float) -> int:
    return max(0, round(seconds))


class ContactCenter:
    """The simulated ACD. Single-threaded: the server calls it only from its event loop."""

    def __init__(self, config: AcdConfig | None, codes: Codes, directory: Directory,
                 start: datetime, *, arrivals: bool = True) -> None:
        self.config = config or AcdConfig(calls_per_hour=0, simulated_agents=0)
        self.policy = self.config.wrap_up
        self.codes = codes
        self.directory = directory
        self.rng = random.Random(self.config.seed)
        self.now = start
        self._timers: list[tuple[datetime, int, str, Any, int]] = []
        self._timer_seq = 0
        self.calls: dict[str, _Call] = {}
        self.agents: dict[str, _Agent] = {}
        self.queues: dict[str, deque[_Call]] = {q.name: deque() for q in QUEUES}
        self._day: date = start.date()
        self.stats: dict[str, _QueueStats] = {q.name: _QueueStats() for q in QUEUES}
        self._records: list[dict[str, Any]] = []
        self._state_records: list[dict[str, Any]] = []
        self._events: list[tuple[str, CtiEvent]] = []
        self.floor_version = 0
        self._ids = random.Random(self.config.seed * 7919 + 1)
        # Its own stream, so recording states leaves the calls' ids as they were.
        self._state_ids = random.Random(self.config.seed * 7919 + 2)
        self._mix = [(name, w) for name, w in self.config.queue_mix.items() if w > 0]
        self._last_prune = start
        for profile in self._pick_simulated(directory.agents):
            self.agents[profile.agent_id] = _Agent(
                profile, True, AgentState.AVAILABLE, start, idle_since=start)
        if arrivals and self.config.calls_per_hour > 0:
            self._schedule(start + self._interarrival(), "arrival", None, 0)

    # --- bookkeeping ------------------------------------------------------------------

    def _pick_simulated(self, candidates: Sequence[AgentProfile]) -> list[AgentProfile]:
        pool = sorted(candidates, key=lambda p: p.username)
        count = min(self.config.simulated_agents, len(pool))
        return random.Random(self.config.seed).sample(pool, count) if count else []

    def _new_id(self) -> str:
        return f"{self._ids.getrandbits(128):032x}"

    def _schedule(self, due: datetime, kind: str, ref: Any, token: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (due, self._timer_seq, kind, ref, token))

    def _interarrival(self) -> timedelta:
        rate = self.config.calls_per_hour / 3600.0
        return timedelta(seconds=self.rng.expovariate(rate))

    def _lognormal(self, median: float, sigma: float, low: float, high: float) -> float:
        return min(high, max(low, median * math.exp(sigma * self.rng.gauss(0.0, 1.0))))

    def _changed(self) -> None:
        self.floor_version += 1

    def _roll_day(self, now: datetime) -> None:
        if now.date() != self._day:
            self._day = now.date()
            self.stats = {q.name: _QueueStats() for q in QUEUES}

    def count_earlier(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Fold today's calls recorded before this center started (a server restart) into
        the floor's "today" counts: ``rows`` are interactions rows (inbound ones count)."""
        for row in rows:
            stats = self.stats.get(str(row.get("queue") or ""))
            if stats is None or row.get("direction") != "inbound":
                continue
            wait = float(row.get("wait_seconds") or 0)
            stats.offered += 1
            if row.get("abandoned"):
                stats.abandoned += 1
                if wait < SHORT_ABANDON_SECONDS:
                    stats.short_abandons += 1
            elif row.get("answered_at"):
                stats.answered += 1
                if wait <= self.config.service_level_target_seconds:
                    stats.in_target += 1
        self._changed()

    def take_records(self) -> list[dict[str, Any]]:
        """The interactions rows written since the last call (to persist, in order)."""
        records, self._records = self._records, []
        return records

    def requeue_records(self, records: list[dict[str, Any]]) -> None:
        """Rows that could not be written: kept to be taken again (before newer ones)."""
        self._records[:0] = records

    def take_state_records(self) -> list[dict[str, Any]]:
        """The agent_states rows (finished state intervals) since the last call, in order."""
        records, self._state_records = self._state_records, []
        return records

    def requeue_state_records(self, records: list[dict[str, Any]]) -> None:
        """State rows that could not be written: kept to be taken again (before newer)."""
        self._state_records[:0] = records

    def take_events(self) -> list[tuple[str, CtiEvent]]:
        """(agent_id, event) for the human agents, in order, since the last call."""
        events, self._events = self._events, []
        return events

    # --- views ------------------------------------------------------------------------

    @staticmethod
    def call_view(call: _Call) -> CallView:
        return CallView(
            id=call.id, direction=call.direction, queue=call.queue, caller_id=call.caller_id,
            state=call.state, agent_id=call.agent_id, customer_id=call.customer_id,
            collection_account_id=call.collection_account_id,
            offered_at=iso(call.offered_at),
            answered_at=iso(call.answered_at) if call.answered_at else None,
            ended_at=iso(call.ended_at) if call.ended_at else None,
            held_since=iso(call.held_since) if call.held_since else None,
            hold_seconds=_whole(call.hold),
            wait_seconds=_whole(_seconds(call.answered_at, call.offered_at))
            if call.answered_at and call.direction == "inbound" else 0,
            transfers=call.transfers, transfer_note=call.transfer_note,
            transferred_from=call.transferred_from)

    def _agent_view(self, agent: _Agent) -> AgentView:
        deadline = None
        if (agent.state == AgentState.AFTER_CALL_WORK and agent.acw_started is not None
                and self.policy.mode == WrapUpMode.TIME_BOXED):
            deadline = iso(agent.acw_started
                           + timedelta(seconds=self.policy.acw_limit_seconds))
        p = agent.profile
        return AgentView(
            agent_id=p.agent_id, username=p.username, display_name=p.display_name,
            team=p.team, skills=sorted(p.skills), state=agent.state, reason=agent.reason,
            since=iso(agent.since),
            call=self.call_view(agent.call) if agent.call is not None else None,
            simulated=agent.simulated, acw_deadline=deadline,
            wrap_up_mode=self.policy.mode.value,
            next_state="not_ready" if agent.pending and agent.pending[0] == AgentState.NOT_READY
            else "logged_out" if agent.pending else "",
            next_reason=agent.pending[1] if agent.pending else "")

    def agent_view(self, agent_id: str) -> AgentView:
        return self._agent_view(self._agent(agent_id))

    def queue_infos(self) -> list[QueueInfo]:
        return [QueueInfo(name=q.name, label=q.label, skill=q.skill) for q in QUEUES]

    def floor(self, now: datetime) -> FloorView:
        self._roll_day(now)
        queues = []
        answered = in_target = abandoned = short = 0
        for q in QUEUES:
            waiting = self.queues[q.name]
            longest = max((_seconds(now, c.offered_at) for c in waiting), default=0.0)
            available = sum(1 for a in self.agents.values()
                            if a.state == AgentState.AVAILABLE and q.skill in a.profile.skills)
            s = self.stats[q.name]
            answered += s.answered
            in_target += s.in_target
            abandoned += s.abandoned
            short += s.short_abandons
            queues.append(QueueView(
                name=q.name, label=q.label, waiting=len(waiting),
                longest_wait_seconds=_whole(longest), agents_available=available,
                offered_today=s.offered, answered_today=s.answered,
                answered_in_target_today=s.in_target, abandoned_today=s.abandoned,
                short_abandons_today=s.short_abandons, service_level=s.service_level()))
        counted = answered + abandoned - short
        agents = sorted(self.agents.values(),
                        key=lambda a: (a.profile.team, a.profile.display_name))
        return FloorView(
            at=iso(now), service_level_target_seconds=self.config.service_level_target_seconds,
            agents=[self._agent_view(a) for a in agents], queues=queues,
            service_level=None if counted <= 0 else in_target / counted)

    def _emit(self, agent: _Agent, kind: CtiEventKind, call: _Call | None = None,
              message: str = "") -> None:
        self._changed()
        if agent.simulated:
            return  # nobody listens to a simulated agent's own stream
        agent.seq += 1
        self._events.append((agent.profile.agent_id, CtiEvent(
            seq=agent.seq, kind=kind, at=iso(self.now), agent=self._agent_view(agent),
            call=self.call_view(call) if call is not None else None, message=message)))

    # --- agents -----------------------------------------------------------------------

    def _agent(self, agent_id: str) -> _Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise ApiError(409, "You are not signed in to the phone yet.", "call_state")
        return agent

    def knows(self, agent_id: str) -> bool:
        return agent_id in self.agents

    def register_human(self, profile: AgentProfile, now: datetime) -> AgentView:
        """A logged-in person (created logged out); a simulated agent of the same id
        becomes theirs, state and call included."""
        agent = self.agents.get(profile.agent_id)
        if agent is None:
            agent = _Agent(profile, False, AgentState.LOGGED_OUT, now)
            self.agents[profile.agent_id] = agent
            self._changed()
        elif agent.simulated:
            agent.simulated = False
            agent.token += 1
            agent.profile = profile
            self._changed()
        return self._agent_view(agent)

    def _set_state(self, agent: _Agent, state: AgentState, reason: str = "") -> None:
        self._record_state(agent)
        agent.state, agent.reason, agent.since = state, reason, self.now
        agent.idle_since = self.now if state == AgentState.AVAILABLE else None
        if state != AgentState.AFTER_CALL_WORK:
            agent.acw_started = None
        self._changed()

    def set_state(self, agent_id: str, state: str, reason: str, now: datetime) -> AgentView:
        """The agent chooses available, not ready (with a reason code) or logged out."""
        self.tick(now)
        agent = self._agent(agent_id)
        try:
            wanted = AgentState(state)
        except ValueError:
            raise ApiError(422, f"Unknown state {state!r}.", "invalid_request") from None
        reason = reason.strip()
        if wanted == AgentState.NOT_READY:
            if not reason:
                raise ApiError(422, "Pick why you are not ready.", "invalid_request")
            if reason not in self.codes.not_ready:
                raise ApiError(422, f"Unknown not-ready reason {reason!r}: pick one from the "
                               "list.", "invalid_request")
        elif wanted not in (AgentState.AVAILABLE, AgentState.LOGGED_OUT):
            raise ApiError(422, f"You cannot choose {wanted.value!r} yourself.",
                           "invalid_request")
        else:
            reason = ""
        if agent.call is not None:
            if agent.state == AgentState.OFFERED:
                raise ApiError(409, "Cannot change your state now: a call is ringing for "
                               "you: answer it first.", "call_state")
            # On a call or wrapping up: not ready or logged out is taken once the call is
            # wrapped; available cancels that, and otherwise is what wrapping up gives.
            if wanted == AgentState.AVAILABLE and agent.pending is None:
                why = ("finish the wrap-up of your last call first"
                       if agent.state == AgentState.AFTER_CALL_WORK
                       else "you are on a call: end it and wrap it up first")
                raise ApiError(409, f"Cannot change your state now: {why}.", "call_state")
            agent.pending = None if wanted == AgentState.AVAILABLE else (wanted, reason)
            self._emit(agent, "state")
            return self._agent_view(agent)
        if agent.state == wanted and agent.reason == reason:
            return self._agent_view(agent)
        self._set_state(agent, wanted, reason)
        self._emit(agent, "state")
        self._route()
        return self._agent_view(agent)

    # --- calls: lookups ---------------------------------------------------------------

    def _owned(self, agent_id: str, call_id: str) -> _Call:
        """The agent's call, or a refusal saying what became of it."""
        call = self.calls.get(call_id)
        if call is None or (call.agent_id != agent_id and agent_id not in call.offered_to):
            raise ApiError(404, "There is no such call on your phone.", "unknown_call")
        if call.agent_id == agent_id:
            return call
        if call.state == CallState.ABANDONED:
            raise ApiError(409, "The caller hung up before you answered.", "call_state")
        if call.answered_at is not None or call.state in (CallState.TALKING, CallState.HELD,
                                                          CallState.WRAP_UP, CallState.DONE):
            raise ApiError(409, "Another agent answered this call.", "call_state")
        if call.state == CallState.OFFERED:
            raise ApiError(409, "The call now rings for another agent.", "call_state")
        raise ApiError(409, "The call was not answered in time and went back to the queue.",
                       "call_state")

    def _act(self, agent_id: str, call_id: str, action: CallAction, now: datetime
             ) -> tuple[_Agent, _Call]:
        self.tick(now)
        agent = self._agent(agent_id)
        call = self._owned(agent_id, call_id)
        try:
            check_call_action(call.state, action)
        except UserFacingError as exc:
            raise ApiError(409, exc.message, "call_state") from None
        return agent, call

    # --- calls: the agent's actions ---------------------------------------------------

    def answer(self, agent_id: str, call_id: str, now: datetime) -> CallView:
        agent, call = self._act(agent_id, call_id, CallAction.ANSWER, now)
        self._answer(agent, call)
        return self.call_view(call)

    def _answer(self, agent: _Agent, call: _Call) -> None:
        call.state, call.answered_at = CallState.TALKING, self.now
        call.token += 1
        wait = _seconds(self.now, call.offered_at)
        stats = self.stats[call.queue]
        stats.answered += 1
        if wait <= self.config.service_level_target_seconds:
            stats.in_target += 1
        self._set_state(agent, AgentState.ON_CALL)
        agent.call = call
        self._emit(agent, "answered", call)
        if agent.simulated:
            self._plan_talk(agent, call)

    def hold(self, agent_id: str, call_id: str, now: datetime) -> CallView:
        agent, call = self._act(agent_id, call_id, CallAction.HOLD, now)
        self._hold(agent, call)
        return self.call_view(call)

    def _hold(self, agent: _Agent, call: _Call) -> None:
        call.state, call.held_since = CallState.HELD, self.now
        self._emit(agent, "held", call)

    def resume(self, agent_id: str, call_id: str, now: datetime) -> CallView:
        agent, call = self._act(agent_id, call_id, CallAction.RESUME, now)
        self._resume(agent, call)
        return self.call_view(call)

    def _resume(self, agent: _Agent, call: _Call) -> None:
        self._close_hold(call)
        call.state = CallState.TALKING
        self._emit(agent, "resumed", call)

    def _close_hold(self, call: _Call) -> None:
        if call.held_since is not None:
            call.hold += _seconds(self.now, call.held_since)
            call.held_since = None

    def end(self, agent_id: str, call_id: str, now: datetime) -> CallView:
        agent, call = self._act(agent_id, call_id, CallAction.END, now)
        self._end(agent, call)
        return self.call_view(call)

    def _end(self, agent: _Agent, call: _Call, message: str = "") -> None:
        self._close_hold(call)
        call.state, call.ended_at = CallState.WRAP_UP, self.now
        call.token += 1
        self._start_acw(agent)
        self._emit(agent, "ended", call, message)

    def _start_acw(self, agent: _Agent) -> None:
        self._set_state(agent, AgentState.AFTER_CALL_WORK)
        agent.acw_started = self.now
        agent.token += 1
        if self.policy.mode == WrapUpMode.TIME_BOXED:
            self._schedule(self.now + timedelta(seconds=self.policy.acw_limit_seconds),
                           "auto_wrap", agent, agent.token)

    def transfer(self, agent_id: str, call_id: str, queue: str, note: str, now: datetime
                 ) -> CallView:
        if queue not in QUEUE_BY_NAME:
            raise ApiError(422, f"Unknown queue {queue!r}: pick one from the list.",
                           "invalid_request")
        agent, call = self._act(agent_id, call_id, CallAction.TRANSFER, now)
        self._transfer(agent, call, queue, note.strip())
        return self.call_view(call)

    def _transfer(self, agent: _Agent, call: _Call, queue: str, note: str) -> None:
        self._close_hold(call)
        call.transfers += 1
        call.transfer_note = note
        call.state, call.ended_at = CallState.WRAP_UP, self.now
        call.token += 1
        onward = _Call(
            id=self._new_id(), direction="inbound", queue=queue, caller_id=call.caller_id,
            offered_at=self.now, customer_id=call.customer_id,
            collection_account_id=call.collection_account_id,
            transfer_note=note, transferred_from=call.queue)
        self._start_acw(agent)
        self._emit(agent, "transferred", call,
                   f"Transferred to {QUEUE_BY_NAME[queue].label}; finish your wrap-up.")
        self._enqueue(onward)

    def wrap(self, agent_id: str, call_id: str, wrap_up_code: str, reason_code: str,
             resolved: bool, summary: str, customer_id: str | None, now: datetime
             ) -> AgentView:
        agent, call = self._act(agent_id, call_id, CallAction.WRAP, now)
        try:
            kept = check_wrap_up(self.policy, WrapUp(wrap_up_code, reason_code, resolved,
                                                     summary),
                                 frozenset(self.codes.wrap_up), frozenset(self.codes.reasons))
        except UserFacingError as exc:
            raise ApiError(422, exc.message, "invalid_request") from None
        if customer_id is not None:
            call.customer_id = customer_id
        self._wrap(agent, call, kept)
        return self._agent_view(agent)

    def _wrap(self, agent: _Agent, call: _Call, wrap: WrapUp, message: str = "",
              survey: tuple[int | None, int | None] = (None, None),
              break_reason: str = "") -> None:
        call.state = CallState.DONE
        call.finished_at = self.now
        call.token += 1
        acw = _seconds(self.now, call.ended_at or self.now)
        self._record(call, agent.profile.agent_id if agent.profile.synced else None, wrap,
                     acw, survey)
        agent.call = None
        if break_reason:
            self._set_state(agent, AgentState.NOT_READY, break_reason)
        elif agent.pending is not None:
            state, reason = agent.pending
            agent.pending = None
            self._set_state(agent, state, reason)
        else:
            self._set_state(agent, AgentState.AVAILABLE)
        agent.token += 1
        self._emit(agent, "wrapped", call, message)
        self._route()

    def dial(self, agent_id: str, number: str, customer_id: str | None,
             collection_account_id: str | None, now: datetime) -> CallView:
        self.tick(now)
        agent = self._agent(agent_id)
        digits = normalize_phone(number) if dialable(
            "".join(ch for ch in number.strip() if ch not in " -().")) else None
        if digits is None:
            raise ApiError(422, f"{number!r} is not a number one can dial.", "invalid_request")
        if agent.call is not None:
            raise ApiError(409, "Cannot dial now: you already have a call (end it and "
                           "wrap it up first).", "call_state")
        if agent.state == AgentState.LOGGED_OUT:
            raise ApiError(409, "Cannot dial now: log in to the phone first (set yourself "
                           "available or not ready).", "call_state")
        call = _Call(
            id=self._new_id(), direction="outbound",
            queue="collections" if collection_account_id else "general",
            caller_id=digits, offered_at=self.now, state=CallState.DIALING,
            customer_id=customer_id, collection_account_id=collection_account_id,
            agent_id=agent.profile.agent_id)
        self.calls[call.id] = call
        self._set_state(agent, AgentState.ON_CALL)
        agent.call = call
        low, high = self.config.dial_seconds
        self._schedule(self.now + timedelta(seconds=self.rng.uniform(low, high)),
                       "connect", call, call.token)
        self._emit(agent, "dialing", call)
        return self.call_view(call)

    # --- recording --------------------------------------------------------------------

    def _record_state(self, agent: _Agent) -> None:
        """The agent's current state ends now: its ``agent_states`` row (none for a person
        without an ``agents`` row, whom no desk could link, nor for an empty stretch)."""
        if not agent.profile.synced or self.now <= agent.since:
            return
        started, ended = agent.since, self.now
        self._state_records.append({
            "id": f"{self._state_ids.getrandbits(128):032x}",
            "agent_id": agent.profile.agent_id, "state": agent.state.value,
            "reason": agent.reason[:32], "started_at": iso(started), "ended_at": iso(ended),
            "seconds": _whole(_seconds(ended, started)),
            "created_at": iso(started), "updated_at": iso(ended), "version": 1,
        })

    def _record(self, call: _Call, agent_id: str | None, wrap: WrapUp, acw: float,
                survey: tuple[int | None, int | None] = (None, None)) -> None:
        if call.recorded:
            return
        call.recorded = True
        ended = call.ended_at or self.now
        dial = wait = talk = 0.0
        if call.direction == "outbound":
            dial = _seconds(call.answered_at or ended, call.offered_at)
        else:
            wait = _seconds(call.answered_at or ended, call.offered_at)
        if call.answered_at is not None:
            talk = _seconds(ended, call.answered_at) - call.hold
        customer = call.customer_id
        if customer is None and call.state == CallState.ABANDONED:
            customer = self.directory.customer_of(call.caller_id)
        self._records.append({
            "id": call.id, "customer_id": customer, "channel": "call",
            "direction": call.direction, "queue": call.queue, "agent_id": agent_id,
            "caller_id": call.caller_id[:20], "offered_at": iso(call.offered_at),
            "answered_at": iso(call.answered_at) if call.answered_at else None,
            "ended_at": iso(ended), "wait_seconds": _whole(wait), "dial_seconds": _whole(dial),
            "talk_seconds": _whole(talk), "hold_seconds": _whole(call.hold),
            "acw_seconds": _whole(acw), "transfers": call.transfers,
            "abandoned": call.state == CallState.ABANDONED, "reason_code": wrap.reason_code,
            "wrap_up_code": wrap.wrap_up_code, "resolved": wrap.resolved,
            "csat": survey[0], "nps": survey[1], "summary": wrap.summary,
            "created_at": iso(call.offered_at), "updated_at": iso(self.now), "version": 1,
        })

    # --- queueing and routing ---------------------------------------------------------

    def _enqueue(self, call: _Call, front: bool = False, patience: float | None = None
                 ) -> None:
        self.calls[call.id] = call
        call.state, call.agent_id = CallState.QUEUED, None
        if front:
            self.queues[call.queue].appendleft(call)
        else:
            self.queues[call.queue].append(call)
            self.stats[call.queue].offered += 1
            if patience is None:
                patience = self.rng.expovariate(1.0 / self.config.patience_mean_seconds)
            self._schedule(self.now + timedelta(seconds=patience), "abandon", call, 0)
        self._changed()
        self._route()

    def _route(self) -> None:
        """Offer waiting calls to the longest-idle available agent with the skill, oldest
        waiting call first."""
        while True:
            heads = [(q[0].offered_at, name) for name, q in self.queues.items() if q]
            if not heads:
                return
            idle = [a for a in self.agents.values() if a.state == AgentState.AVAILABLE]
            if not idle:
                return
            placed = False
            for _, name in sorted(heads):
                skill = QUEUE_BY_NAME[name].skill
                best: _Agent | None = None
                for agent in idle:
                    if skill in agent.profile.skills and (
                            best is None or self._sooner(agent, best)):
                        best = agent
                if best is not None:
                    self._offer(best, self.queues[name].popleft())
                    placed = True
                    break
            if not placed:
                return

    def _sooner(self, agent: _Agent, than: _Agent) -> bool:
        """Whether ``agent`` takes the next call before ``than``: the longest idle, and
        with ``people_first`` (the demo) a person before a simulated colleague."""
        if self.config.people_first and agent.simulated != than.simulated:
            return not agent.simulated
        return (agent.idle_since or self.now) < (than.idle_since or self.now)

    def _offer(self, agent: _Agent, call: _Call) -> None:
        call.state, call.agent_id = CallState.OFFERED, agent.profile.agent_id
        call.offered_to.add(agent.profile.agent_id)
        call.token += 1
        idle_since = agent.idle_since
        self._set_state(agent, AgentState.OFFERED)
        agent.idle_since = idle_since  # kept: a call withdrawn while ringing is no turn
        agent.call = call
        agent.token += 1
        self._schedule(self.now + timedelta(seconds=self.config.ring_seconds),
                       "ring_timeout", call, call.token)
        if agent.simulated:
            self._schedule(self.now + timedelta(seconds=self.rng.uniform(1.0, 2.5)),
                           "sim_answer", agent, agent.token)
        self._emit(agent, "offered", call)

    # --- the clock --------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Process everything due up to ``now``: arrivals, abandons, ring timeouts,
        dial connections, the simulated agents and time-boxed wrap-ups."""
        timers = self._timers
        while timers and timers[0][0] <= now:
            due, _, kind, ref, token = heapq.heappop(timers)
            self.now = max(self.now, due)
            self._roll_day(self.now)
            getattr(self, f"_on_{kind}")(ref, token)
        self.now = max(self.now, now)
        self._roll_day(self.now)
        if self.now - self._last_prune > timedelta(minutes=10):
            self._prune()

    def _prune(self) -> None:
        self._last_prune = self.now
        cutoff = self.now - KEEP_FINISHED
        for call_id in [c.id for c in self.calls.values()
                        if c.finished_at is not None and c.finished_at < cutoff]:
            del self.calls[call_id]

    def place_call(self, queue: str, caller_id: str, now: datetime, *,
                   patience_seconds: float | None = None) -> str:
        """A caller rings ``queue`` now (beside the random arrivals); returns the call id.
        ``patience_seconds``: how long they wait before hanging up (default: drawn)."""
        if queue not in QUEUE_BY_NAME:
            raise ValueError(f"unknown queue {queue!r}")
        self.tick(now)
        call = _Call(id=self._new_id(), direction="inbound", queue=queue,
                     caller_id=caller_id, offered_at=self.now,
                     customer_id=self.directory.customer_of(caller_id))
        self._enqueue(call, patience=patience_seconds)
        return call.id

    def _on_arrival(self, _ref: None, _token: int) -> None:
        names = [n for n, _ in self._mix]
        queue = self.rng.choices(names, [w for _, w in self._mix])[0]
        # The customer is the one whose number rings (when exactly one customer has it),
        # as a real ACD's caller-id lookup would tell; a transfer keeps it.
        caller, customer = self._caller()
        self._enqueue(_Call(id=self._new_id(), direction="inbound", queue=queue,
                            caller_id=caller, offered_at=self.now, customer_id=customer))
        self._schedule(self.now + self._interarrival(), "arrival", None, 0)

    def _caller(self) -> tuple[str, str | None]:
        r = self.rng.random()
        phones = self.directory.phones
        if r < self.config.known_caller_share and phones:
            phone = phones[self.rng.randrange(len(phones))]
            return phone, self.directory.customer_of(phone)
        if r < self.config.known_caller_share + self.config.withheld_share:
            return WITHHELD, None
        # An unknown number: the fictional 555-01xx range, so it never reaches anyone.
        return f"+1{self.rng.randint(201, 989)}5550{self.rng.randint(100, 199)}", None

    def _on_abandon(self, call: _Call, _token: int) -> None:
        if call.state not in (CallState.QUEUED, CallState.OFFERED):
            return
        ringing = self.agents.get(call.agent_id) if call.agent_id else None
        if call.state == CallState.QUEUED:
            self.queues[call.queue].remove(call)
        wait = _seconds(self.now, call.offered_at)
        call.state, call.ended_at, call.finished_at = CallState.ABANDONED, self.now, self.now
        call.agent_id = None
        call.token += 1
        stats = self.stats[call.queue]
        stats.abandoned += 1
        if wait < SHORT_ABANDON_SECONDS:
            stats.short_abandons += 1
        self._record(call, None, WrapUp("", "", False, "Caller hung up in the queue."), 0.0)
        self._changed()
        if ringing is not None and ringing.call is call:
            ringing.call = None
            idle_since = ringing.idle_since
            self._set_state(ringing, AgentState.AVAILABLE)
            ringing.idle_since = idle_since
            ringing.token += 1
            self._emit(ringing, "withdrawn", call, "The caller hung up.")
            self._route()

    def _on_ring_timeout(self, call: _Call, token: int) -> None:
        if call.token != token or call.state != CallState.OFFERED or call.agent_id is None:
            return
        agent = self.agents[call.agent_id]
        agent.call = None
        agent.token += 1
        self._set_state(agent, AgentState.NOT_READY, RING_NO_ANSWER)
        call.token += 1
        call.state, call.agent_id = CallState.QUEUED, None
        seconds = _whole(self.config.ring_seconds)
        self._emit(agent, "withdrawn", call,
                   f"The call rang {seconds} seconds without an answer and went back to the "
                   "queue; you are now Not ready (set yourself Available to take calls).")
        self._enqueue(call, front=True)

    def _on_connect(self, call: _Call, token: int) -> None:
        if call.token != token or call.state != CallState.DIALING or call.agent_id is None:
            return
        agent = self.agents[call.agent_id]
        call.state, call.answered_at = CallState.TALKING, self.now
        self._emit(agent, "connected", call, "The other end answered.")

    def _on_auto_wrap(self, agent: _Agent, token: int) -> None:
        if agent.token != token or agent.state != AgentState.AFTER_CALL_WORK \
                or agent.call is None or agent.acw_started is None \
                or not auto_wrap_due(self.policy, agent.acw_started, self.now):
            return
        code = self.policy.default_code
        known = self.codes.wrap_up.get(code)
        label = known.label if known else code
        self._wrap(agent, agent.call,
                   WrapUp(code, "", known.resolved_default if known else False, ""),
                   f"The wrap-up time ran out: the call was wrapped up as {label}.")

    # --- simulated agents -------------------------------------------------------------

    def _on_sim_answer(self, agent: _Agent, token: int) -> None:
        call = agent.call
        if agent.token != token or not agent.simulated or call is None \
                or call.state != CallState.OFFERED:
            return
        self._answer(agent, call)

    def _plan_talk(self, agent: _Agent, call: _Call) -> None:
        talk = self._lognormal(TALK_MEDIAN.get(call.queue, 300), 0.55, 25, 5400)
        agent.token += 1
        if self.rng.random() < self.config.hold_share:
            at = talk * self.rng.uniform(0.2, 0.7)
            hold = self._lognormal(40, 0.6, 5, 600)
            self._schedule(self.now + timedelta(seconds=at), "sim_hold", agent, agent.token)
            self._schedule(self.now + timedelta(seconds=at + hold), "sim_resume", agent,
                           agent.token)
            talk += hold
        self._schedule(self.now + timedelta(seconds=talk), "sim_end", agent, agent.token)

    def _sim_call(self, agent: _Agent, token: int, *states: CallState) -> _Call | None:
        call = agent.call
        if agent.token != token or not agent.simulated or call is None \
                or call.state not in states:
            return None
        return call

    def _on_sim_hold(self, agent: _Agent, token: int) -> None:
        call = self._sim_call(agent, token, CallState.TALKING)
        if call is not None:
            self._hold(agent, call)

    def _on_sim_resume(self, agent: _Agent, token: int) -> None:
        call = self._sim_call(agent, token, CallState.HELD)
        if call is not None:
            self._resume(agent, call)

    def _on_sim_end(self, agent: _Agent, token: int) -> None:
        call = self._sim_call(agent, token, CallState.TALKING, CallState.HELD)
        if call is None:
            return
        if self.rng.random() < self.config.transfer_share:
            target = self.rng.choice(_TRANSFER_TO[call.queue])
            self._transfer(agent, call, target, self.rng.choice(_TRANSFER_NOTES[target]))
        else:
            self._end(agent, call)
        acw = self._lognormal(35, 0.5, 5, 400)
        self._schedule(self.now + timedelta(seconds=acw), "sim_wrap", agent, agent.token)

    def _on_sim_wrap(self, agent: _Agent, token: int) -> None:
        call = self._sim_call(agent, token, CallState.WRAP_UP)
        if call is None:
            return
        if call.customer_id is None:
            call.customer_id = self.directory.customer_of(call.caller_id)
        wrap = self._simulated_wrap(call)
        survey: tuple[int | None, int | None] = (None, None)
        if call.transfers == 0 and self.rng.random() < self.config.survey_share:
            survey = self._survey(wrap.resolved)
        if self.rng.random() < self.config.break_share:
            reason, median, _ = self.rng.choices(_BREAKS, [w for _, _, w in _BREAKS])[0]
            self._wrap(agent, call, wrap, survey=survey, break_reason=reason)
            self._schedule(self.now + timedelta(seconds=self._lognormal(median, 0.4, 60, 3600)),
                           "sim_back", agent, agent.token)
        else:
            self._wrap(agent, call, wrap, survey=survey)

    def _on_sim_back(self, agent: _Agent, token: int) -> None:
        if agent.token != token or not agent.simulated \
                or agent.state != AgentState.NOT_READY:
            return
        self._set_state(agent, AgentState.AVAILABLE)
        self._route()

    def _simulated_wrap(self, call: _Call) -> WrapUp:
        categories = _REASON_CATEGORIES.get(call.queue, ("general",))
        reasons = [c for c in self.codes.reasons.values() if c.category in categories] \
            or list(self.codes.reasons.values())
        reason = self.rng.choice(reasons) if reasons else None
        if call.transfers:
            code = "TRANSFERRED"
        else:
            options = _SIMULATED_WRAPS.get(reason.category if reason else "general",
                                           ("INFO-PROVIDED",))
            code = self.rng.choice(options)
        known = self.codes.wrap_up.get(code)
        if known is None:
            return WrapUp("", reason.code if reason else "", False, "")
        resolved = known.resolved_default
        if self.rng.random() < 0.08:
            resolved = not resolved
        summary = ": ".join(p for p in (reason.label if reason else "",
                                        known.label.lower()) if p) + "."
        return WrapUp(code, reason.code if reason else "", resolved, summary)

    def _survey(self, resolved: bool) -> tuple[int | None, int | None]:
        rng = self.rng
        csat = nps = None
        if rng.random() < 0.8:
            csat = rng.choice((5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1) if resolved
                              else (5, 4, 4, 3, 3, 2, 2, 1, 1, 1))
        if rng.random() < 0.6:
            nps = rng.choice((10, 10, 9, 9, 9, 8, 8, 7, 6, 4, 2) if resolved
                             else (10, 9, 8, 7, 6, 5, 4, 3, 2, 0))
        return csat, nps
