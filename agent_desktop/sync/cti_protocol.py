"""The wire protocol of the server's simulated contact center (ACD), shared by the
desktop's CTI adapter (agent_desktop.cti) and server_stub.acd / server_stub.cti_api.

Every endpoint needs the bearer token from /v1/auth/login; the agent is the token's user.
Refusals are Problems (``{"detail": words, "code": code}``) with a 4xx status:
404 ``unknown_call`` (no such call), 409 ``call_state`` (the call is not in a state that
allows the action: answered by another agent, hung up, already ended...; the detail says
which), 422 ``invalid_request`` (bad body: unknown state, reason, queue or code), 403
``forbidden`` (the floor is for supervisors).

    GET  /v1/cti/me                      -> AgentView  (this agent, with their call)
    POST /v1/cti/state      StateChange  -> AgentView
    GET  /v1/cti/queues                  -> list[QueueInfo]
    POST /v1/cti/calls/{id}/answer       -> CallView
    POST /v1/cti/calls/{id}/hold         -> CallView
    POST /v1/cti/calls/{id}/resume       -> CallView
    POST /v1/cti/calls/{id}/transfer  TransferRequest -> CallView
    POST /v1/cti/calls/{id}/end          -> CallView   (after-call work starts)
    POST /v1/cti/calls/{id}/wrap  WrapRequest -> AgentView (the interaction is recorded)
    POST /v1/cti/dial       DialRequest  -> CallView   (outbound: state DIALING, then
                                                        TALKING when the far end answers)
    GET  /v1/cti/floor                   -> FloorView  (supervisors)
    GET  /v1/cti/events[?floor=1]        -> text/event-stream

The event stream starts with ``event: hello`` (data: the agent's AgentView, so a desk
that reconnects recovers its state at once), then ``event: cti`` (data: CtiEvent) for
everything that happens to this agent and their calls, and with ``floor=1`` (supervisors)
``event: floor`` (data: FloorView) whenever an agent's state or a queue changes, at most a
few a second; comment heartbeats keep it open.

Call ids are interaction ids (32 hex characters): when a call is wrapped up (or
abandoned) the server writes the ``interactions`` row with that id, and it reaches every
desk by the ordinary sync pull. Payments, orders, cases, offers, notes and collection
outcomes made during the call carry it as ``interaction_id``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_desktop.domain.calls import AgentState, CallState


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallView(_Wire):
    id: str
    direction: Literal["inbound", "outbound"]
    queue: str
    caller_id: str                      # "" or "withheld" when the number is withheld
    state: CallState
    agent_id: str | None = None         # the agent it is offered to / talking with
    customer_id: str | None = None      # outbound: the customer dialed
    collection_account_id: str | None = None
    offered_at: str                     # ISO 8601 UTC: when it entered the queue (or dial)
    answered_at: str | None = None
    ended_at: str | None = None         # the line closed (after-call work from here)
    held_since: str | None = None       # set while HELD
    hold_seconds: int = 0               # finished holds so far
    wait_seconds: int = 0               # in the queue before it was answered
    transfers: int = 0
    transfer_note: str = ""             # the note the transferring agent left
    transferred_from: str = ""          # the queue it came from


class AgentView(_Wire):
    agent_id: str
    username: str
    display_name: str
    team: str = ""
    skills: list[str] = Field(default_factory=list)
    state: AgentState
    reason: str = ""                    # NOT_READY: a not_ready_reasons code
    since: str                          # ISO 8601 UTC: when this state began
    call: CallView | None = None        # the call ringing, in progress or in wrap-up
    simulated: bool = False             # one of the simulation's own agents
    acw_deadline: str | None = None     # time-boxed wrap-up: when it closes by itself
    wrap_up_mode: Literal["optional", "required", "time_boxed"] = "required"  # the policy
    # Chosen during a call (not ready with a reason, or logged out): taken instead of
    # available once the call is wrapped up. "" when nothing is pending.
    next_state: Literal["", "not_ready", "logged_out"] = ""
    next_reason: str = ""


class StateChange(_Wire):
    state: Literal["available", "not_ready", "logged_out"]
    reason: str = Field(default="", max_length=40)


class TransferRequest(_Wire):
    queue: str = Field(min_length=1, max_length=32)
    note: str = Field(default="", max_length=500)


class WrapRequest(_Wire):
    wrap_up_code: str = Field(default="", max_length=32)
    reason_code: str = Field(default="", max_length=32)
    resolved: bool = False
    summary: str = Field(default="", max_length=2000)
    customer_id: str | None = Field(default=None, min_length=32, max_length=32)


class DialRequest(_Wire):
    number: str = Field(min_length=7, max_length=20)
    customer_id: str | None = Field(default=None, min_length=32, max_length=32)
    collection_account_id: str | None = Field(default=None, min_length=32, max_length=32)


class QueueInfo(_Wire):
    name: str                           # e.g. "billing"
    label: str                          # e.g. "Billing"
    skill: str                          # agents need this skill to take its calls


class QueueView(_Wire):
    name: str
    label: str
    waiting: int
    longest_wait_seconds: int
    agents_available: int
    offered_today: int
    answered_today: int
    answered_in_target_today: int       # within the service-level target seconds
    abandoned_today: int
    short_abandons_today: int           # hung up within 5 s: left out of service level
    service_level: float | None         # None until a call counts


class FloorView(_Wire):
    at: str                             # ISO 8601 UTC
    service_level_target_seconds: int
    agents: list[AgentView]
    queues: list[QueueView]
    service_level: float | None         # today so far, all queues


CtiEventKind = Literal[
    "state",        # the agent's state changed (AgentView in ``agent``)
    "offered",      # a call rings at this agent
    "withdrawn",    # the ringing call went away (caller hung up / rang out)
    "answered", "held", "resumed", "transferred", "ended", "wrapped",
    "dialing", "connected",
]


class CtiEvent(_Wire):
    seq: int                            # grows by one per event for this agent
    kind: CtiEventKind
    at: str
    agent: AgentView
    call: CallView | None = None
    message: str = ""                   # words for the agent, e.g. why it was withdrawn
