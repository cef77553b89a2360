"""The telephony adapter interface.

Commands (``set_state``, ``answer``, ``hold``...) are blocking calls made off the UI
thread; they return the new state or raise :class:`CtiRefused` (the telephony source said
no, with words for the agent: "Another agent answered this call.") or :class:`CtiOffline`
(it cannot be reached). Events arrive on the adapter's own thread through a
:class:`CtiListener`; the listener hands them to its own thread (the UI uses a Qt signal).

After a dropped event stream the adapter reconnects by itself and calls
``listener.agent(view, recovered=True)`` with the state the source has now, so the call
bar never trusts a state it may have missed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from agent_desktop.sync.cti_protocol import (
    AgentView,
    CallView,
    CtiEvent,
    FloorView,
    QueueInfo,
    WrapRequest,
)


class CtiError(Exception):
    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words

    def __str__(self) -> str:
        return self.words


class CtiOffline(CtiError):
    """The telephony source cannot be reached (the call itself may go on)."""


class CtiRefused(CtiError):
    """The source refused the command; ``code`` classes it (unknown_call, call_state,
    invalid_request, forbidden, auth)."""

    def __init__(self, words: str, code: str = "", status: int = 0) -> None:
        super().__init__(words)
        self.code = code
        self.status = status


class CtiListener(Protocol):
    def agent(self, view: AgentView, recovered: bool) -> None:
        """The agent's whole state (on connecting and after every reconnect)."""

    def event(self, event: CtiEvent) -> None:
        """Something happened to the agent or their call."""

    def floor(self, floor: FloorView) -> None:
        """Supervisors: the floor changed."""

    def connection(self, connected: bool, words: str) -> None:
        """The event stream came up or went down (words say what the agent should know)."""


class TelephonyAdapter(ABC):
    """One agent's connection to a telephony source."""

    @abstractmethod
    def start(self, listener: CtiListener, *, floor: bool = False) -> None:
        """Start hearing events (``floor``: the supervisor's floor too)."""

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def me(self) -> AgentView: ...

    @abstractmethod
    def set_state(self, state: str, reason: str = "") -> AgentView: ...

    @abstractmethod
    def answer(self, call_id: str) -> CallView: ...

    @abstractmethod
    def hold(self, call_id: str) -> CallView: ...

    @abstractmethod
    def resume(self, call_id: str) -> CallView: ...

    @abstractmethod
    def transfer(self, call_id: str, queue: str, note: str = "") -> CallView: ...

    @abstractmethod
    def end(self, call_id: str) -> CallView: ...

    @abstractmethod
    def wrap(self, call_id: str, request: WrapRequest) -> AgentView: ...

    @abstractmethod
    def dial(self, number: str, customer_id: str | None = None,
             collection_account_id: str | None = None) -> CallView: ...

    @abstractmethod
    def queues(self) -> list[QueueInfo]: ...

    @abstractmethod
    def floor(self) -> FloorView: ...
