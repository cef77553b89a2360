"""The live floor: every agent's state and time in state, the queues, today's service level.

Fed by :meth:`LiveFloor.set_floor` with the server's :class:`FloorView` (the event
stream's ``floor`` events; no database polling). Until the first one arrives it says
"Connecting to the floor…". Time in state ticks once a second from each agent's ``since``,
on the server's clock (the floor's ``at`` against this machine's clock at receipt), so a
desk whose clock is off by a few seconds still shows the right times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.calls import AGENT_STATE_WORDS, AgentState
from agent_desktop.sync.cti_protocol import AgentView, FloorView, QueueView
from agent_desktop.ui.widgets.common import (
    EmptyState,
    fit_columns,
    make_table,
    muted,
    section_title,
)

_Index = QModelIndex | QPersistentModelIndex

STATE_ORDER = {
    AgentState.OFFERED: 0, AgentState.ON_CALL: 1, AgentState.AFTER_CALL_WORK: 2,
    AgentState.AVAILABLE: 3, AgentState.NOT_READY: 4, AgentState.LOGGED_OUT: 5,
}
STATE_COLORS = {
    AgentState.AVAILABLE: "#2f9e6e", AgentState.OFFERED: "#7950f2",
    AgentState.ON_CALL: "#1f6feb", AgentState.AFTER_CALL_WORK: "#d9822b",
    AgentState.NOT_READY: "#868e96", AgentState.LOGGED_OUT: "#adb5bd",
}
LONG_STATE_S = {AgentState.AFTER_CALL_WORK: 300, AgentState.NOT_READY: 900,
                AgentState.OFFERED: 20}


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration(seconds: float) -> str:
    """Seconds as 0:07, 12:34 or 1:02:03; negative (clock trouble) shows 0:00."""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class _Clock:
    """Now on the server's clock: the machine's clock plus the skew seen at the last floor."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self.skew = 0.0

    def seen(self, server_at: datetime | None) -> None:
        if server_at is not None:
            self.skew = (server_at - self._now()).total_seconds()

    def seconds_since(self, moment: datetime | None) -> float:
        if moment is None:
            return 0.0
        return (self._now() - moment).total_seconds() + self.skew


AGENT_COLUMNS = ("Agent", "Team", "State", "Reason / call", "Time in state")
QUEUE_COLUMNS = ("Queue", "Waiting", "Longest wait", "Available", "Offered today",
                 "Answered", "Abandoned", "Service level")


class AgentsModel(QAbstractTableModel):
    def __init__(self, clock: _Clock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.agents: list[AgentView] = []
        self._since: list[datetime | None] = []
        self.group = "team"      # "team", "state" or ""
        self.sort_column = 2
        self.descending = False

    def set_agents(self, agents: list[AgentView]) -> None:
        self.beginResetModel()
        self.agents = list(agents)
        self._order()
        self.endResetModel()

    def _order(self) -> None:
        def key(a: AgentView) -> tuple[Any, ...]:
            since = parse_time(a.since)
            by = {
                0: a.display_name.lower(), 1: a.team.lower(),
                2: STATE_ORDER.get(a.state, 9), 3: a.reason,
                4: -(since.timestamp() if since else 0.0),
            }[self.sort_column]
            return (by,)

        self.agents.sort(key=lambda a: (a.display_name.lower(),))
        self.agents.sort(key=key, reverse=self.descending)
        if self.group == "team":
            self.agents.sort(key=lambda a: a.team.lower())
        elif self.group == "state":
            self.agents.sort(key=lambda a: STATE_ORDER.get(a.state, 9))
        self._since = [parse_time(a.since) for a in self.agents]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.beginResetModel()
        self.sort_column = column
        self.descending = order == Qt.SortOrder.DescendingOrder
        self._order()
        self.endResetModel()

    def regroup(self, group: str) -> None:
        self.beginResetModel()
        self.group = group
        self._order()
        self.endResetModel()

    def tick(self) -> None:
        if self.agents:
            self.dataChanged.emit(self.index(0, 4), self.index(len(self.agents) - 1, 4))

    def seconds_in_state(self, row: int) -> float:
        return self._clock.seconds_since(self._since[row])

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.agents)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(AGENT_COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self.agents[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return a.display_name
            if col == 1:
                return a.team or "\u2014"
            if col == 2:
                return AGENT_STATE_WORDS.get(a.state, str(a.state))
            if col == 3:
                if a.call is not None:
                    return f"{a.call.direction} \u00b7 {a.call.queue}"
                return a.reason.replace("_", " ")
            return duration(self.seconds_in_state(index.row()))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 2:
                return QColor(STATE_COLORS.get(a.state, "#868e96"))
            if col == 4:
                limit = LONG_STATE_S.get(a.state)
                if limit is not None and self.seconds_in_state(index.row()) >= limit:
                    return QColor("#c92a2a")
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return f"In this state since {a.since} (server time)"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return AGENT_COLUMNS[section]
        return None


class QueuesModel(QAbstractTableModel):
    def __init__(self, clock: _Clock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.queues: list[QueueView] = []
        self._at: datetime | None = None

    def set_queues(self, queues: list[QueueView], at: datetime | None) -> None:
        self.beginResetModel()
        self.queues = sorted(queues, key=lambda q: (-q.waiting, q.label.lower()))
        self._at = at
        self.endResetModel()

    def tick(self) -> None:
        if self.queues:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.queues) - 1, 2))

    def longest_wait(self, q: QueueView) -> float:
        if not q.waiting:
            return 0.0
        return q.longest_wait_seconds + max(0.0, self._clock.seconds_since(self._at))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.queues)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(QUEUE_COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        q = self.queues[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return q.label
            if col == 1:
                return str(q.waiting)
            if col == 2:
                return duration(self.longest_wait(q)) if q.waiting else "\u2014"
            if col == 3:
                return str(q.agents_available)
            if col == 4:
                return f"{q.offered_today:,}"
            if col == 5:
                return f"{q.answered_today:,}"
            if col == 6:
                return f"{q.abandoned_today:,}"
            return "\u2014" if q.service_level is None else f"{q.service_level * 100:.1f}%"
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col in (1, 2) and q.waiting \
                and self.longest_wait(q) >= 60:
            return QColor("#c92a2a")
        if role == Qt.ItemDataRole.ToolTipRole and col == 7:
            return ("Answered within the target / calls offered today, short abandons "
                    f"({q.short_abandons_today}) left out.")
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QUEUE_COLUMNS[section]
        return None


class LiveFloor(QWidget):
    """Agents' states and the queues, from FloorViews; ticking once a second."""

    def __init__(self, parent: QWidget | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.clock = _Clock(now or (lambda: datetime.now(UTC)))
        self.floor: FloorView | None = None
        self.stack = QStackedWidget()
        self.waiting = EmptyState(
            "Connecting to the floor\u2026",
            "Agents' states and the queues appear as soon as the server sends the first "
            "update of the floor (its event stream, not the local store).")
        self.stack.addWidget(self.waiting)

        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.sl_label = section_title("Service level today: \u2014")
        self.sl_label.setToolTip(
            "Share of today's calls answered within the target, all queues; callers who "
            "hung up within 5 s are left out.")
        head.addWidget(self.sl_label)
        head.addStretch(1)
        self.counts_label = muted("")
        head.addWidget(self.counts_label)
        self.updated_label = muted("")
        head.addWidget(self.updated_label)
        col.addLayout(head)

        split = QSplitter(Qt.Orientation.Vertical)
        queues_box = QWidget()
        qcol = QVBoxLayout(queues_box)
        qcol.setContentsMargins(0, 0, 0, 0)
        qcol.addWidget(muted("Queues \u2014 calls waiting now and today so far"))
        self.queues_model = QueuesModel(self.clock, self)
        self.queues_view = make_table(self.queues_model)  # type: ignore[arg-type]
        self.queues_view.setAccessibleName("Queues")
        qcol.addWidget(self.queues_view)
        split.addWidget(queues_box)

        agents_box = QWidget()
        acol = QVBoxLayout(agents_box)
        acol.setContentsMargins(0, 0, 0, 0)
        arow = QHBoxLayout()
        arow.addWidget(muted("Agents"))
        arow.addStretch(1)
        group_label = QLabel("&Group by")
        self.group = QComboBox()
        self.group.addItem("Team", "team")
        self.group.addItem("State", "state")
        self.group.addItem("Nothing", "")
        group_label.setBuddy(self.group)
        self.group.currentIndexChanged.connect(self._regroup)
        arow.addWidget(group_label)
        arow.addWidget(self.group)
        acol.addLayout(arow)
        self.agents_model = AgentsModel(self.clock, self)
        self.agents_view: QTableView = make_table(self.agents_model)  # type: ignore[arg-type]
        self.agents_view.setAccessibleName("Agents on the floor")
        self.agents_view.setSortingEnabled(True)
        self.agents_view.horizontalHeader().setSortIndicator(2, Qt.SortOrder.AscendingOrder)
        acol.addWidget(self.agents_view)
        split.addWidget(agents_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([210, 520])
        col.addWidget(split)
        self.stack.addWidget(body)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self.timer = QTimer(self)
        self.timer.setObjectName("liveFloorTick")
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)

    def _regroup(self, _index: int) -> None:
        self.agents_model.regroup(str(self.group.currentData()))

    def set_floor(self, floor: FloorView) -> None:
        """Show this floor (call on the UI thread, as often as the server sends one)."""
        self.floor = floor
        at = parse_time(floor.at)
        self.clock.seen(at)
        self.queues_model.set_queues(list(floor.queues), at)
        self.agents_model.set_agents(list(floor.agents))
        fit_columns(self.queues_view, widest=160)
        fit_columns(self.agents_view, widest=260)
        sl = floor.service_level
        self.sl_label.setText(
            "Service level today: " + ("\u2014 (no call counted yet)" if sl is None
                                       else f"{sl * 100:.1f}%")
            + f" answered within {floor.service_level_target_seconds} s")
        counts: dict[AgentState, int] = {}
        for a in floor.agents:
            counts[a.state] = counts.get(a.state, 0) + 1
        parts = [f"{n} {AGENT_STATE_WORDS[s].lower()}"
                 for s, n in sorted(counts.items(), key=lambda kv: STATE_ORDER.get(kv[0], 9))
                 if s != AgentState.LOGGED_OUT]
        waiting = sum(q.waiting for q in floor.queues)
        self.counts_label.setText(" \u00b7 ".join([*parts, f"{waiting} waiting"]) + "   ")
        self.updated_label.setText(
            f"Updated {at.astimezone():%H:%M:%S}" if at is not None else "")
        self.stack.setCurrentIndex(1)
        self._run_timer()

    def tick(self) -> None:
        self.agents_model.tick()
        self.queues_model.tick()

    def _run_timer(self) -> None:
        if self.floor is not None and self.isVisible():
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.timer.stop()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._run_timer()
        self.tick()

    def hideEvent(self, event: Any) -> None:
        self.timer.stop()
        super().hideEvent(event)


def sample_floor(agents: Sequence[Any], now: datetime | None = None,
                 limit: int = 24) -> FloorView:
    """A floor shaped like the server's, from the store's agents (``AgentRow``s): for the
    screenshot tour, where no server is running. Never shown in the product."""
    at = now or datetime.now(UTC)
    states = [AgentState.ON_CALL, AgentState.ON_CALL, AgentState.AVAILABLE,
              AgentState.AFTER_CALL_WORK, AgentState.ON_CALL, AgentState.NOT_READY,
              AgentState.OFFERED, AgentState.AVAILABLE]
    queues = ["billing", "support", "sales", "retention"]
    views = []
    for i, a in enumerate([a for a in agents if getattr(a, "role", "agent") == "agent"][:limit]):
        state = states[i % len(states)]
        since = at - timedelta(seconds=(i * 97) % 1400 + 5 if state != AgentState.OFFERED
                               else 4 + i % 9)
        views.append(AgentView(
            agent_id=a.agent_id, username=a.agent_id[:8], display_name=a.display_name,
            team=a.team, state=state, since=since.isoformat(),
            reason="break" if state == AgentState.NOT_READY else ""))
    qviews = [
        QueueView(name=q, label=q.title(), waiting=w, longest_wait_seconds=lw,
                  agents_available=av, offered_today=off, answered_today=ans,
                  answered_in_target_today=int(ans * sl), abandoned_today=off - ans,
                  short_abandons_today=(off - ans) // 3, service_level=sl)
        for q, w, lw, av, off, ans, sl in zip(
            queues, (3, 0, 1, 0), (74, 0, 12, 0), (1, 2, 0, 1), (412, 230, 96, 40),
            (391, 224, 93, 40), (0.78, 0.86, 0.91, 0.95), strict=True)
    ]
    return FloorView(at=at.isoformat(), service_level_target_seconds=20, agents=views,
                     queues=qviews, service_level=0.83)
