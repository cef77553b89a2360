"""Who is working, and what a service changed (so screens refresh only what they show)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from agent_desktop.storage.customer_record import find_agent
from agent_desktop.storage.store import Store


class CallLink:
    """The call the agent is on, kept by the call bar: what the agent does while it lasts
    (a payment, an order, a case, an offer's answer, a note) carries its interaction id.

    Plain attributes: the call bar sets them on the UI thread; a service reads them once
    as it starts (an atomic read of a str reference)."""

    __slots__ = ("customer_id", "interaction_id")

    def __init__(self) -> None:
        self.interaction_id: str | None = None
        self.customer_id: str | None = None

    def start(self, interaction_id: str, customer_id: str | None = None) -> None:
        self.interaction_id, self.customer_id = interaction_id, customer_id

    def clear(self) -> None:
        self.interaction_id = self.customer_id = None

    def for_customer(self, customer_id: str | None) -> str | None:
        """The interaction id to stamp on something done for ``customer_id``: the call's,
        unless the call is known to be about another customer."""
        if self.interaction_id is None:
            return None
        if self.customer_id is not None and customer_id is not None \
                and customer_id != self.customer_id:
            return None
        return self.interaction_id


@dataclass(frozen=True, slots=True)
class AgentContext:
    agent_id: str | None
    username: str
    display_name: str
    role: str
    team: str = ""
    workstation: str = field(default_factory=socket.gethostname)
    call: CallLink = field(default_factory=CallLink, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Changes:
    """What a service call changed, like Anki's OpChanges."""

    customers: frozenset[str] = frozenset()
    notes: bool = False
    ledger: bool = False
    cases: bool = False


def agent_by_username(store: Store, username: str) -> AgentContext | None:
    """The agent with this username in the local store, if any."""
    row = find_agent(store, username)
    if row is None:
        return None
    return AgentContext(row.id, row.username, row.display_name, row.role, row.team)
