"""Areas a later capability fills. Until then they say so plainly: no made-up figures."""

from __future__ import annotations

from agent_desktop.ui.widgets.common import EmptyState

AREAS = {
    "Cases": (
        "Case management is not in this version yet",
        "Cases already on a customer's account show on their 360 (the Cases tab). Working "
        "queues, creating and updating cases arrive with the case management release.",
    ),
    "Knowledge": (
        "Knowledge search is not in this version yet",
        "The knowledge articles are already in your local store; searching and reading "
        "them here arrives with the knowledge release.",
    ),
    "Collections": (
        "The collections worklist is not in this version yet",
        "Past-due balances and aging already show on each customer's 360. The compliant "
        "outbound worklist arrives with the collections release.",
    ),
    "Dashboard": (
        "Dashboards are not in this version yet",
        "Live floor, AHT and FCR trends and staffing arrive with the supervisor release. "
        "No figures are shown until they come from real interactions.",
    ),
}


def placeholder(area: str) -> EmptyState:
    title, body = AREAS[area]
    return EmptyState(title, body)
