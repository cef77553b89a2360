"""Calls and agent states: the rules the call bar, the simulated ACD and any real CTI share.

An agent is in one state at a time (:class:`AgentState`); a call moves through
:class:`CallState` by the actions in :data:`CALL_ACTIONS`. Both sides check the same
tables: the desktop greys out what cannot be done, the server refuses it with the same
words (a 409 with the reason).

After-call work (ACW) follows a :class:`WrapUpPolicy`: optional (the agent may skip the
wrap-up code), required (no return to available without a code and a contact reason), or
time-boxed (after ``acw_limit_seconds`` the call is wrapped with ``default_code`` and the
agent goes back to available by themselves).

Pure: no Qt, no I/O; the clock is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agent_desktop.domain.errors import UserFacingError


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"        # ready: the ACD may offer a call
    OFFERED = "offered"            # a call is ringing at this agent (not answered yet)
    ON_CALL = "on_call"            # talking, holding or dialing
    AFTER_CALL_WORK = "after_call_work"
    NOT_READY = "not_ready"        # with a reason: break, lunch, meeting, training...


AGENT_STATE_WORDS: Mapping[AgentState, str] = {
    AgentState.LOGGED_OUT: "Logged out",
    AgentState.AVAILABLE: "Available",
    AgentState.OFFERED: "Ringing",
    AgentState.ON_CALL: "On a call",
    AgentState.AFTER_CALL_WORK: "After-call work",
    AgentState.NOT_READY: "Not ready",
}

# The states an agent may choose themselves (the others follow from calls).
CHOOSABLE_STATES = frozenset({AgentState.AVAILABLE, AgentState.NOT_READY,
                              AgentState.LOGGED_OUT})


class CallState(StrEnum):
    QUEUED = "queued"          # waiting in a queue for an agent
    OFFERED = "offered"        # ringing at one agent
    DIALING = "dialing"        # outbound, not connected yet
    TALKING = "talking"
    HELD = "held"
    WRAP_UP = "wrap_up"        # the line is closed; the agent's after-call work runs
    DONE = "done"              # wrapped up (or transferred away from this agent)
    ABANDONED = "abandoned"    # the caller hung up before anyone answered


class CallAction(StrEnum):
    ANSWER = "answer"
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"
    END = "end"
    WRAP = "wrap"


# action -> (states it may be taken in, the state it leads to)
CALL_ACTIONS: Mapping[CallAction, tuple[frozenset[CallState], CallState]] = {
    CallAction.ANSWER: (frozenset({CallState.OFFERED}), CallState.TALKING),
    CallAction.HOLD: (frozenset({CallState.TALKING}), CallState.HELD),
    CallAction.RESUME: (frozenset({CallState.HELD}), CallState.TALKING),
    # A transfer sends the caller back to a queue (the call is QUEUED again there); for
    # this agent it is over and their after-call work starts.
    CallAction.TRANSFER: (frozenset({CallState.TALKING, CallState.HELD}), CallState.QUEUED),
    CallAction.END: (frozenset({CallState.DIALING, CallState.TALKING, CallState.HELD}),
                     CallState.WRAP_UP),
    CallAction.WRAP: (frozenset({CallState.WRAP_UP}), CallState.DONE),
}

_WHY_NOT: Mapping[CallState, str] = {
    CallState.QUEUED: "the call is waiting in a queue, not with you",
    CallState.OFFERED: "the call is still ringing (answer it first)",
    CallState.DIALING: "the call has not connected yet",
    CallState.TALKING: "the call is in progress",
    CallState.HELD: "the caller is on hold (resume first)",
    CallState.WRAP_UP: "the call has ended; finish the wrap-up",
    CallState.DONE: "the call is already wrapped up",
    CallState.ABANDONED: "the caller hung up before it was answered",
}


def check_call_action(state: CallState, action: CallAction) -> CallState:
    """The state ``action`` leads to from ``state``; UserFacingError saying why not."""
    allowed, following = CALL_ACTIONS[action]
    if state not in allowed:
        raise UserFacingError(f"Cannot {action.value} now: {_WHY_NOT[state]}.")
    return following


def can(state: CallState, action: CallAction) -> bool:
    return state in CALL_ACTIONS[action][0]


# --- after-call work ----------------------------------------------------------------------


class WrapUpMode(StrEnum):
    OPTIONAL = "optional"
    REQUIRED = "required"
    TIME_BOXED = "time_boxed"


@dataclass(frozen=True, slots=True)
class WrapUpPolicy:
    mode: WrapUpMode = WrapUpMode.REQUIRED
    acw_limit_seconds: int = 120      # time-boxed: wrapped with default_code after this
    default_code: str = "INFO-PROVIDED"

    def __post_init__(self) -> None:
        if self.acw_limit_seconds < 0:
            raise ValueError("acw_limit_seconds must not be negative")
        if self.mode == WrapUpMode.TIME_BOXED and not self.default_code:
            raise ValueError("a time-boxed policy needs a default wrap-up code")


@dataclass(frozen=True, slots=True)
class WrapUp:
    wrap_up_code: str
    reason_code: str
    resolved: bool = False
    summary: str = ""


MAX_SUMMARY = 2000


def check_wrap_up(policy: WrapUpPolicy, wrap: WrapUp, wrap_up_codes: frozenset[str],
                  reason_codes: frozenset[str]) -> WrapUp:
    """The wrap-up as it will be kept, or UserFacingError naming what is missing.

    Codes are checked against the reference lists whatever the mode: a code that is given
    must be one of them. Required and time-boxed modes need both a wrap-up code and a
    contact reason when the agent wraps up by hand."""
    code = wrap.wrap_up_code.strip()
    reason = wrap.reason_code.strip()
    if code and code not in wrap_up_codes:
        raise UserFacingError(f"Unknown wrap-up code {code!r}: pick one from the list.")
    if reason and reason not in reason_codes:
        raise UserFacingError(f"Unknown contact reason {reason!r}: pick one from the list.")
    if policy.mode != WrapUpMode.OPTIONAL:
        missing = [what for what, value in (("a wrap-up code", code),
                                            ("a contact reason", reason)) if not value]
        if missing:
            raise UserFacingError(f"Pick {' and '.join(missing)} to finish the call.")
    summary = wrap.summary.strip()
    if len(summary) > MAX_SUMMARY:
        raise UserFacingError(f"The call summary is {len(summary):,} characters; keep it to "
                              f"{MAX_SUMMARY:,}.")
    return WrapUp(code, reason, bool(wrap.resolved), summary)


def auto_wrap_due(policy: WrapUpPolicy, acw_started: datetime, now: datetime) -> bool:
    """Whether a time-boxed after-call work has run out (the call is then wrapped with
    the policy's default code and the agent made available)."""
    if policy.mode != WrapUpMode.TIME_BOXED:
        return False
    return (now - acw_started).total_seconds() >= policy.acw_limit_seconds


def acw_seconds_left(policy: WrapUpPolicy, acw_started: datetime, now: datetime) -> int | None:
    """Seconds until a time-boxed wrap-up closes by itself (None: it never does)."""
    if policy.mode != WrapUpMode.TIME_BOXED:
        return None
    left = policy.acw_limit_seconds - (now - acw_started).total_seconds()
    return max(0, int(left + 0.999))


# --- caller id --------------------------------------------------------------------------

WITHHELD = "withheld"
_PHONE = re.compile(r"\+?[0-9]{7,15}")


def caller_id_words(caller_id: str) -> str:
    """How the call bar shows a caller id."""
    value = caller_id.strip()
    if not value or value.lower() in (WITHHELD, "anonymous", "private"):
        return "Number withheld"
    if not _PHONE.fullmatch(value):
        return "Unknown number"
    return value


def dialable(caller_id: str) -> bool:
    """Whether a caller id is a number one can look up (not withheld, not garbage)."""
    return bool(_PHONE.fullmatch(caller_id.strip()))


def clock_words(seconds: float) -> str:
    """A timer as the call bar shows it: 0:42, 12:05, 1:02:09."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
