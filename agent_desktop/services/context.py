"""Who is working, and what a service changed (so screens refresh only what they show)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from sqlalchemy import select

from agent_desktop.storage.models import Agent
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
    with store.reading() as session:
        agent = session.scalar(select(Agent).where(Agent.username == username))
        if agent is None:
            return None
        return AgentContext(agent.id, agent.username, agent.display_name, agent.role,
                            agent.team)
