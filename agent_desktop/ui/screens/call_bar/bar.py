"""The call bar: the agent's phone state, the call in hand, its timers and actions.

Keys (also in F1): F12 ready / not ready, F6 answer, F7 hold / resume, F8 transfer,
F9 end the call, F10 wrap-up. Every command goes to the telephony adapter off the UI
thread; the bar shows what the telephony source says happened (events), never what it
hoped would happen, so a refused command ("Another agent answered this call.") or a
dropped event stream leaves it showing the truth after a fresh read of the agent's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)

from agent_desktop.domain.calls import (
    AGENT_STATE_WORDS,
    AgentState,
    CallAction,
    CallState,
    caller_id_words,
    can,
    clock_words,
    dialable,
)
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.calls import CallDesk, CallerMatch, match_caller, not_ready_reasons
from agent_desktop.services.customer_search import format_phone
from agent_desktop.storage.store import Store
from agent_desktop.sync.cti_protocol import (
    AgentView,
    CallView,
    CtiEvent,
    FloorView,
    WrapRequest,
)
from agent_desktop.ui.tasks import Op

log = logging.getLogger(__name__)

KEYS = {"state": "F12", "answer": "F6", "hold": "F7", "transfer": "F8", "end": "F9",
        "wrap": "F10"}


# Not-ready reasons the phone system sets by itself (not in the agent's menu).
_SET_BY_THE_PHONE = {"RING-NO-ANSWER": "missed a call"}


def _reason_label(code: str) -> str:
    return next((c.label for c in not_ready_reasons() if c.code == code),
                _SET_BY_THE_PHONE.get(code, code.replace("-", " ").title()))


def _number(caller_id: str) -> str:
    """A caller id as people read it: (217) 688-4631, or "Number withheld"."""
    return format_phone(caller_id) if dialable(caller_id) and caller_id.startswith("+") \
        else caller_id_words(caller_id)


def _queue(name: str) -> str:
    return name.replace("_", " ").title()


def _at(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class CtiSignals(QObject):
    agent_seen = Signal(object, bool)     # AgentView, recovered
    event_seen = Signal(object)           # CtiEvent
    floor_seen = Signal(object)           # FloorView
    connection_seen = Signal(bool, str)


class CtiBridge:
    """The adapter's listener: its events arrive on the adapter's thread and leave as
    queued Qt signals (``signals``, made on the UI thread) on the UI thread."""

    def __init__(self) -> None:
        self.signals = CtiSignals()

    def agent(self, view: AgentView, recovered: bool) -> None:
        self.signals.agent_seen.emit(view, recovered)

    def event(self, event: CtiEvent) -> None:
        self.signals.event_seen.emit(event)

    def floor(self, floor: FloorView) -> None:
        self.signals.floor_seen.emit(floor)

    def connection(self, connected: bool, words: str) -> None:
        self.signals.connection_seen.emit(connected, words)


class CallBar(QFrame):
    """Shows and drives one agent's phone. The main window reacts to its signals."""

    answered = Signal(object, object)     # CallView, CallerMatch | None: pop the screen
    ended = Signal(object)                # CallView: after-call work starts (wrap up)
    wrapped = Signal(object)              # AgentView: the call is over
    call_changed = Signal(object)         # CallView | None: the call in hand
    transfer_asked = Signal(object)       # CallView: choose the queue and note
    wrap_asked = Signal(object)           # CallView: open the wrap-up
    notice = Signal(str)

    def __init__(self, store: Store, desk: CallDesk | None,
                 clock: Callable[[], datetime] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callBar")
        self.store = store
        self.desk = desk
        self.clock = clock or (lambda: datetime.now(UTC))
        self.agent_view: AgentView | None = None
        self.call: CallView | None = None
        self.match: CallerMatch | None = None
        self._match_for: str | None = None
        self._wrap_open_for: str | None = None
        self.connected = False
        self.busy = False

        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 10, 4)
        row.setSpacing(8)
        self.state_button = QToolButton()
        self.state_button.setObjectName("agentState")
        self.state_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.state_button.setAccessibleName("Your phone state")
        self.state_menu = QMenu(self)
        self.state_button.setMenu(self.state_menu)
        self._build_state_menu()
        row.addWidget(self.state_button)
        self.state_time = QLabel("")
        self.state_time.setObjectName("muted")
        row.addWidget(self.state_time)
        self.call_label = QLabel("No call")
        self.call_label.setObjectName("callInfo")
        self.call_label.setAccessibleName("The call")
        self.call_label.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.call_label, 1)
        self.timer_label = QLabel("")
        self.timer_label.setObjectName("callTimer")
        self.timer_label.setAccessibleName("Call timers")
        row.addWidget(self.timer_label)
        self.buttons: dict[str, QPushButton] = {}
        for name, words in (("answer", "Answer"), ("hold", "Hold"), ("transfer", "Transfer"),
                            ("end", "End"), ("wrap", "Wrap up")):
            button = QPushButton(f"{words} ({KEYS[name]})")
            button.setObjectName(f"call_{name}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys, not tab stops
            button.clicked.connect(lambda _c=False, n=name: self.command(n))
            self.buttons[name] = button
            row.addWidget(button)
        self.buttons["answer"].setObjectName("primary")  # ringing: the one thing to do
        self.phone_status = QLabel("Phone: connecting\u2026")
        self.phone_status.setObjectName("muted")
        row.addWidget(self.phone_status)

        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()
        self._show()

    # --- the telephony source's word ---------------------------------------------------

    def on_agent(self, view: AgentView, recovered: bool = False) -> None:
        before = self.call
        self.agent_view = view
        self._set_call(view.call)
        if recovered and before is not None and (view.call is None
                                                 or view.call.id != before.id):
            self.notice.emit("The phone connection dropped for a moment; the call with "
                             f"{_number(before.caller_id)} ended meanwhile.")
        if view.call is not None and view.call.state == CallState.WRAP_UP:
            self._ask_wrap(view.call)
        self._show()

    def on_event(self, event: CtiEvent) -> None:
        self.agent_view = event.agent
        call = event.call if event.call is not None else event.agent.call
        if event.kind in ("withdrawn", "wrapped", "transferred") and \
                event.agent.call is None:
            call = None
        if event.kind == "transferred" and event.agent.call is not None:
            call = event.agent.call  # our leg, now in after-call work
        self._set_call(call)
        if event.kind == "offered" and call is not None:
            self.notice.emit(f"Incoming call: {_number(call.caller_id)} "
                             f"({_queue(call.queue)}). {KEYS['answer']} answers.")
        elif event.kind == "withdrawn":
            self.notice.emit(event.message or "The call stopped ringing.")
        elif event.kind == "wrapped":
            self._wrap_open_for = None
            if event.message:
                self.notice.emit(event.message)
            self.wrapped.emit(event.agent)
        elif event.kind == "ended" and call is not None:
            self._ask_wrap(call)
        elif event.kind == "connected" and call is not None:
            self.notice.emit(f"Connected: {_number(call.caller_id)}.")
        self._show()

    def on_connection(self, connected: bool, words: str) -> None:
        self.connected = connected
        if words:
            self.notice.emit(words)
        self._show()

    def _set_call(self, call: CallView | None) -> None:
        changed = (call is None) != (self.call is None) or (
            call is not None and self.call is not None and call.id != self.call.id)
        self.call = call
        if call is not None and call.id != self._match_for:
            self._match_for = call.id
            self.match = None
            if call.direction == "inbound":
                self._start_match(call)
        if call is None:
            self._match_for = None
            self.match = None
        if changed:
            self.call_changed.emit(call)

    def _start_match(self, call: CallView) -> None:
        store, caller_id, call_id = self.store, call.caller_id, call.id

        def matched(match: CallerMatch) -> None:
            if self._match_for == call_id:
                self.match = match
                self._show()

        Op(self, lambda: match_caller(store, caller_id)).success(matched).failure(
            lambda exc: log.warning("caller match failed: %s", exc)).run()

    # --- commands -------------------------------------------------------------------------

    def command(self, name: str) -> None:
        """F6-F12 and the buttons."""
        if name == "state":
            self._toggle_state()
            return
        call = self.call
        if call is None:
            self.notice.emit("There is no call in hand.")
            return
        if name == "transfer":
            if can(call.state, CallAction.TRANSFER):
                self.transfer_asked.emit(call)
            else:
                self.notice.emit("Only a call in progress can be transferred.")
            return
        if name == "wrap":
            if call.state == CallState.WRAP_UP:
                self.wrap_asked.emit(call)
            else:
                self.notice.emit("Wrap-up comes after the call ends "
                                 f"({KEYS['end']} ends it).")
            return
        action = {"answer": CallAction.ANSWER, "end": CallAction.END,
                  "hold": CallAction.RESUME if call.state == CallState.HELD
                  else CallAction.HOLD}[name]
        if not can(call.state, action):
            self.notice.emit({"answer": "Nothing is ringing.",
                              "end": "The call is not in progress.",
                              "hold": "Only a call in progress can be held."}[name])
            return
        self._run(lambda: self._desk().act(action.value, call.id),
                  lambda view: self._acted(action, view))

    def _acted(self, action: CallAction, call: CallView) -> None:
        self._set_call(call)
        if action == CallAction.ANSWER:
            self.answered.emit(call, self.match)
        elif action == CallAction.END:
            self._ask_wrap(call)
        self._show()

    def _ask_wrap(self, call: CallView) -> None:
        if self._wrap_open_for == call.id:
            return
        self._wrap_open_for = call.id
        self.ended.emit(call)

    def transfer(self, queue: str, note: str) -> None:
        call = self.call
        if call is None:
            return
        self._run(lambda: self._desk().transfer(call.id, queue, note), self._transferred)

    def _transferred(self, call: CallView) -> None:
        self.notice.emit(f"Transferred to {call.queue}. Wrap up your part of the call.")
        self.refresh()

    def wrap(self, request: WrapRequest, done: Callable[[AgentView], None],
             failed: Callable[[BaseException], None]) -> None:
        call = self.call
        if call is None:
            failed(UserFacingError("The call is already wrapped up."))
            return

        def wrapped(view: AgentView) -> None:
            self._wrap_open_for = None
            self.on_agent(view)
            self.wrapped.emit(view)
            done(view)

        Op(self, lambda: self._desk().wrap(call.id, request)).success(wrapped).failure(
            failed).run()

    def dial(self, number: str, customer_id: str | None, account_id: str | None) -> None:
        if self.call is not None:
            self.notice.emit("Finish the call in hand first.")
            return
        def dialing(call: CallView) -> None:
            self._set_call(call)
            self._show()

        self._run(lambda: self._desk().dial(number, customer_id, account_id), dialing)

    def set_state(self, state: str, reason: str = "") -> None:
        self._run(lambda: self._desk().set_state(state, reason), self.on_agent)

    def refresh(self) -> None:
        """Read the agent's state afresh (after a refusal: the bar may be out of date)."""
        if self.desk is None:
            return
        Op(self, self._desk().me).success(self.on_agent).failure(
            lambda exc: self.notice.emit(str(exc))).run()

    def _desk(self) -> CallDesk:
        if self.desk is None:
            raise UserFacingError("No phone is connected to this desk (it needs the sync "
                                  "server).")
        return self.desk

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], Any]) -> None:
        if self.busy:
            return  # one command at a time: a double F6 is one answer
        self.busy = True

        def ok(result: Any) -> None:
            self.busy = False
            done(result)

        def failed(exc: BaseException) -> None:
            self.busy = False
            words = str(exc) if isinstance(exc, UserFacingError) else \
                f"The phone command failed ({type(exc).__name__})."
            self.notice.emit(words)
            self.refresh()

        Op(self, fn).success(ok).failure(failed).run()

    # --- state menu ---------------------------------------------------------------------

    def _build_state_menu(self) -> None:
        menu = self.state_menu
        ready = QAction("Available", self)
        ready.triggered.connect(lambda: self.set_state("available"))
        menu.addAction(ready)
        menu.addSeparator()
        for code in not_ready_reasons():
            action = QAction(f"Not ready: {code.label}", self)
            action.triggered.connect(lambda _c=False, r=code.code: self.set_state(
                "not_ready", r))
            menu.addAction(action)
        menu.addSeparator()
        out = QAction("Log out of the phone", self)
        out.triggered.connect(lambda: self.set_state("logged_out"))
        menu.addAction(out)

    def _toggle_state(self) -> None:
        view = self.agent_view
        if view is not None and view.state in (AgentState.NOT_READY, AgentState.LOGGED_OUT):
            self.set_state("available")
            return
        # Available (or busy): choose a not-ready reason; it applies after the call.
        self.state_menu.popup(self.state_button.mapToGlobal(
            self.state_button.rect().bottomLeft()))

    # --- painting ------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.agent_view is not None:
            self._show_times()

    def _show(self) -> None:
        view = self.agent_view
        if view is None:
            self.state_button.setText(f"Phone  ({KEYS['state']})")
            self.state_button.setProperty("state", "")
        else:
            words = AGENT_STATE_WORDS[view.state]
            if view.state == AgentState.NOT_READY and view.reason:
                words = f"{words}: {_reason_label(view.reason)}"
            if view.next_state:  # chosen during the call: taken once it is wrapped up
                then = _reason_label(view.next_reason) if view.next_state == "not_ready" \
                    else "log out"
                words = f"{words} \u2192 then {then}"
            self.state_button.setText(f"\u25cf {words}  ({KEYS['state']})")
            self.state_button.setProperty("state", view.state.value)
        self.state_button.style().unpolish(self.state_button)
        self.state_button.style().polish(self.state_button)
        call = self.call
        if call is None:
            self.call_label.setText("No call" if view is None or view.state !=
                                    AgentState.AVAILABLE else "Waiting for a call\u2026")
        else:
            self.call_label.setText(self._call_words(call))
        state = call.state if call is not None else None
        mode = {CallState.OFFERED: "ringing", CallState.DIALING: "talking",
                CallState.TALKING: "talking", CallState.HELD: "talking",
                CallState.WRAP_UP: "wrap"}.get(state, "") if state is not None else ""
        if self.property("mode") != mode:
            self.setProperty("mode", mode)
            self.style().unpolish(self)
            self.style().polish(self)
        enabled = {
            "answer": state is not None and can(state, CallAction.ANSWER),
            "hold": state in (CallState.TALKING, CallState.HELD),
            "transfer": state is not None and can(state, CallAction.TRANSFER),
            "end": state is not None and can(state, CallAction.END),
            "wrap": state == CallState.WRAP_UP,
        }
        for name, button in self.buttons.items():
            button.setEnabled(enabled[name] and self.desk is not None)
        self.buttons["hold"].setText(
            f"{'Resume' if state == CallState.HELD else 'Hold'} ({KEYS['hold']})")
        self.buttons["answer"].setVisible(state in (None, CallState.OFFERED))
        self.buttons["wrap"].setVisible(state == CallState.WRAP_UP)
        self.phone_status.setText(
            "" if self.connected else
            ("Phone: not set up" if self.desk is None else "Phone: reconnecting\u2026"))
        self._show_times()

    def _call_words(self, call: CallView) -> str:
        who = _number(call.caller_id)
        match = self.match
        if match is not None and call.direction == "inbound":
            # A withheld or unreadable number: the match's words say it and what to do.
            who = match.words if match.phone is None else \
                f"{format_phone(match.phone)} \u00b7 {match.words}"
        queue = _queue(call.queue)
        lead = {
            CallState.OFFERED: "Ringing",
            CallState.DIALING: "Dialing",
            CallState.TALKING: "On call",
            CallState.HELD: "On hold",
            CallState.WRAP_UP: "Wrap-up",
        }.get(call.state, call.state.value.title())
        extra = ""
        if call.transferred_from:
            note = f": \u201c{call.transfer_note}\u201d" if call.transfer_note else ""
            extra = f"  \u2190 from {call.transferred_from.replace('_', ' ')}{note}"
        direction = "Outbound" if call.direction == "outbound" else queue
        return f"{lead}: {who}  ({direction}){extra}"

    def _show_times(self) -> None:
        now = self.clock()
        view = self.agent_view
        since = _at(view.since) if view is not None else None
        self.state_time.setText(clock_words((now - since).total_seconds()) if since else "")
        call = self.call
        if call is None:
            self.timer_label.setText("")
            return
        parts: list[str] = []
        answered = _at(call.answered_at)
        ended = _at(call.ended_at)
        if call.state == CallState.OFFERED:
            waited = (now - (_at(call.offered_at) or now)).total_seconds()
            parts.append(f"waited {clock_words(waited)}")
        if answered is not None:
            parts.append(f"talk {clock_words(((ended or now) - answered).total_seconds())}")
        held = call.hold_seconds
        held_since = _at(call.held_since)
        if held_since is not None:
            held += int((now - held_since).total_seconds())
        if held:
            parts.append(f"hold {clock_words(held)}")
        if ended is not None and call.state == CallState.WRAP_UP:
            parts.append(f"wrap-up {clock_words((now - ended).total_seconds())}")
            deadline = _at(view.acw_deadline) if view is not None else None
            if deadline is not None:
                parts.append(f"closes in {clock_words((deadline - now).total_seconds())}")
        self.timer_label.setText("  \u00b7  ".join(parts))
