"""Who is working, and what a service changed (so screens refresh only what they show)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from agent_desktop.storage.customer_record import find_agent
from agent_desktop.storage.store import Store


@dataclass(frozen=True, slots=True)
class AgentContext:
    agent_id: str | None
    username: str
    display_name: str
    role: str
    team: str = ""
    workstation: str = field(default_factory=socket.gethostname)


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
