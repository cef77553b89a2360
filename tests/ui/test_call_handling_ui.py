"""A whole inbound call by keyboard, against a real sync server's simulated contact center.

The server's simulation ticker is off and its clock injected (starting now, so sync's
clock check is happy): every /v1/cti request moves the simulation to the clock's time
first, so the test decides when a call arrives, how long the hold lasts and when the
caller gives up, without sleeping. Calls arrive at 3,600 an hour, all to billing, from
demo customers' numbers.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_desktop.app import DEMO_PASSWORD, build_window, configure_qt_settings
from agent_desktop.cti.acd import AcdAdapter
from agent_desktop.domain.calls import AgentState, CallState, WrapUpMode, WrapUpPolicy
from agent_desktop.platform.settings import Settings
from agent_desktop.services.sync import SyncService
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.call_bar.dialogs import CallerChooser, WrapUpDialog
from agent_desktop.ui.sync_status import SyncController
from agent_desktop.ui.tasks import Pools
from server_stub.__main__ import prepare, seed
from server_stub.acd import AcdConfig
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Desk:
    window: MainWindow
    clock: Clock
    phone: AcdAdapter


def _desk(qtbot: QtBot, store: Store, tmp_path: Path, patience: float,
          calls_per_hour: float = 3600, policy: WrapUpPolicy | None = None,
          known_callers: float = 1.0) -> Iterator[Desk]:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seq = seed(url, str(store.path), None)
    sync_store.start_afresh(store, seq)
    clock = Clock()
    acd = AcdConfig(calls_per_hour=calls_per_hour, simulated_agents=0, queue_mix={"billing": 1.0},
                    patience_mean_seconds=patience, known_caller_share=known_callers,
                    withheld_share=0.0,
                    wrap_up=policy or WrapUpPolicy(WrapUpMode.REQUIRED))
    app = create_app(url, clock=clock, acd=acd, cti_tick_seconds=0)
    with EmbeddedServer(app) as server:
        service = SyncService(store, server.url, "agent", auto_password=DEMO_PASSWORD)
        controller = SyncController(service, interval_ms=60_000)
        service.listen(controller.poked.emit)
        configure_qt_settings()
        window = build_window(store, "agent", Settings(), sync=controller)
        qtbot.addWidget(window)
        window.resize(1400, 880)
        window.show()
        with qtbot.waitSignal(controller.status_changed, timeout=10000):
            controller.start()
        phone = AcdAdapter(server.url, lambda: service.client.token)
        window.attach_phone(phone)
        qtbot.waitUntil(lambda: window.call_bar.agent_view is not None
                        and window.call_bar.connected, timeout=10000)
        yield Desk(window, clock, phone)
        for dialog in (window.wrap_dialog, getattr(window, "caller_chooser", None)):
            if dialog is not None:
                dialog.close()
        window.close()
        phone.stop()
        service.close()


@pytest.fixture
def desk(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[Desk]:
    yield from _desk(qtbot, store, tmp_path, patience=10_000_000.0)


@pytest.fixture
def impatient_desk(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[Desk]:
    # Callers give up after about 2 s (drawn from a seeded generator: the same each run),
    # well before a call rings out at the agent (20 s).
    yield from _desk(qtbot, store, tmp_path, patience=2.0)


@pytest.fixture
def time_boxed_desk(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[Desk]:
    yield from _desk(qtbot, store, tmp_path, patience=10_000_000.0, policy=WrapUpPolicy(
        WrapUpMode.TIME_BOXED, acw_limit_seconds=60, default_code="INFO-PROVIDED"))


@pytest.fixture
def strangers_desk(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[Desk]:
    """Every caller's number is unknown to the store."""
    yield from _desk(qtbot, store, tmp_path, patience=10_000_000.0, known_callers=0.0)


@pytest.fixture
def quiet_desk(qtbot: QtBot, store: Store, tmp_path: Path) -> Iterator[Desk]:
    """No inbound calls: the agent works the collections worklist."""
    yield from _desk(qtbot, store, tmp_path, patience=600.0, calls_per_hour=0)


def _press(qtbot: QtBot, window: MainWindow, key: Qt.Key,
           modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key, modifier)


def _ready_and_ring(qtbot: QtBot, desk: Desk) -> None:
    bar = desk.window.call_bar
    assert bar.agent_view is not None and bar.agent_view.state == AgentState.LOGGED_OUT
    _press(qtbot, desk.window, Qt.Key.Key_F12)  # logged out / not ready -> available
    qtbot.waitUntil(lambda: bar.agent_view is not None
                    and bar.agent_view.state == AgentState.AVAILABLE, timeout=10000)
    # Time moves on a second at a time until a caller rings (each request to the server
    # moves its simulation to the clock's time; the event stream tells the bar).
    for _ in range(120):
        desk.clock.advance(seconds=1)
        if desk.phone.me().state == AgentState.OFFERED:
            break
    qtbot.waitUntil(lambda: bar.call is not None and bar.call.state == CallState.OFFERED,
                    timeout=10000)
    assert "Ringing" in bar.call_label.text()


def _rows(store: Store, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store.path)
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def test_an_inbound_call_from_offer_to_wrap_up_by_keyboard(qtbot: QtBot, desk: Desk,
                                                            store: Store) -> None:
    window, bar = desk.window, desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    call = bar.call
    assert call is not None
    qtbot.waitUntil(lambda: bar.match is not None, timeout=10000)
    assert bar.match is not None and bar.match.hits, "a demo customer's number rings"
    assert bar.match.words in bar.call_label.text()  # who it is, before answering

    # F6 answers and pops the caller's 360 (a chooser when the number is shared).
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000) as shown:
        _press(qtbot, window, Qt.Key.Key_F6)
        if bar.match.single is None:
            qtbot.waitUntil(lambda: isinstance(getattr(window, "caller_chooser", None),
                                               CallerChooser), timeout=10000)
            qtbot.keyClick(window.caller_chooser.items, Qt.Key.Key_Return)
    customer_id = shown.args[0]
    assert customer_id in {hit.customer_id for hit in bar.match.hits}
    assert bar.call is not None and bar.call.state == CallState.TALKING
    assert window.who.call.interaction_id == call.id
    assert window.who.call.customer_id == customer_id

    # A note during the call carries the call.
    view = window.customers.current_view()
    assert view is not None
    _press(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(QApplication.focusWidget(), "Asked about the late fee.")
    _press(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _rows(store, "SELECT interaction_id FROM notes WHERE body = ?",
                                  "Asked about the late fee.") == [(call.id,)], timeout=10000)

    # Hold for 25 s, then resume: the bar counts it.
    desk.clock.advance(seconds=40)
    _press(qtbot, window, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: bar.call is not None and bar.call.state == CallState.HELD,
                    timeout=10000)
    assert bar.buttons["hold"].text() == "Resume (F7)"
    desk.clock.advance(seconds=25)
    _press(qtbot, window, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: bar.call is not None and bar.call.state == CallState.TALKING,
                    timeout=10000)
    assert bar.call.hold_seconds == 25

    # F9 ends it: the wrap-up opens; nothing chosen yet, so it says what is missing.
    desk.clock.advance(seconds=35)
    _press(qtbot, window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: isinstance(window.wrap_dialog, WrapUpDialog)
                    and window.wrap_dialog.isVisible(), timeout=10000)
    dialog = window.wrap_dialog
    assert dialog is not None
    dialog.reason_filter.clear()  # the first reason is preselected by the filter: empty it
    qtbot.keyClicks(dialog.reason_filter, "zzz")  # nothing matches
    assert dialog.error.text() == ("Pick a wrap-up code and a contact reason to finish the "
                                   "call.")
    assert not dialog.ok.isEnabled()
    dialog.reason_filter.clear()
    qtbot.keyClicks(dialog.reason_filter, "bill")  # four billing reasons, the first chosen
    assert dialog.wrap_up().reason_code == "BILL-QUESTION"
    qtbot.keyClick(dialog.reason_filter, Qt.Key.Key_Down)  # the caret stays in the box
    assert dialog.wrap_up().reason_code == "BILL-FIRST"
    qtbot.keyClicks(dialog.reason_filter, " high")
    assert dialog.wrap_up().reason_code == "BILL-HIGH"
    assert dialog.error.text() == "Pick a wrap-up code to finish the call."
    reason = "BILL-HIGH"
    qtbot.keyClick(dialog, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.code_box
    qtbot.keyClicks(dialog.code_box, "Information")
    assert dialog.code_box.currentData() == "INFO-PROVIDED"
    assert dialog.resolved.isChecked()
    assert dialog.ok.isEnabled() and dialog.error.text() == ""
    desk.clock.advance(seconds=20)
    with qtbot.waitSignal(bar.wrapped, timeout=10000):
        qtbot.keyClick(dialog.reason_filter, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    # Available again (and with calls waiting, the next one may already ring).
    assert bar.agent_view is not None and bar.agent_view.state in (AgentState.AVAILABLE,
                                                                   AgentState.OFFERED)
    assert window.who.call.interaction_id != call.id  # the next call's, if one rings

    # The server recorded the interaction; it reaches this desk by sync, with real times.
    window.sync.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(_rows(store, "SELECT 1 FROM interactions WHERE id = ?",
                                       call.id)), timeout=15000)
    [row] = _rows(store, "SELECT customer_id, queue, talk_seconds, hold_seconds, "
                  "acw_seconds, reason_code, wrap_up_code, resolved, abandoned "
                  "FROM interactions WHERE id = ?", call.id)
    # 100 s from answer to end, 25 of them on hold (talk leaves hold out), 20 s wrap-up.
    assert row == (customer_id, "billing", 75, 25, 20, reason, "INFO-PROVIDED", 1, 0)


def test_answering_a_call_whose_caller_hung_up_says_so(qtbot: QtBot,
                                                        impatient_desk: Desk) -> None:
    desk = impatient_desk
    window, bar = desk.window, desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    # The caller gives up before the agent answers; the bar has not heard yet.
    desk.clock.advance(seconds=15)
    gone = bar.call
    assert gone is not None
    messages: list[str] = []
    bar.notice.connect(messages.append)
    _press(qtbot, window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: "The caller hung up before you answered." in messages,
                    timeout=10000)
    # The bar read the agent's state afresh: that call is gone (the next caller may ring).
    qtbot.waitUntil(lambda: bar.call is None or bar.call.id != gone.id, timeout=10000)
    assert bar.agent_view is not None and bar.agent_view.state in (AgentState.AVAILABLE,
                                                                   AgentState.OFFERED)


def test_a_dropped_event_stream_recovers_the_state_and_says_what_happened(
        qtbot: QtBot, impatient_desk: Desk) -> None:
    desk = impatient_desk
    bar = desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    gone = bar.call
    assert gone is not None
    messages: list[str] = []
    bar.notice.connect(messages.append)
    # The network drops the stream; meanwhile the caller hangs up (the server's next
    # request moves the simulation on: the news goes to a stream nobody reads).
    response = desk.phone._response  # the adapter's open stream: cut it like a network
    assert response is not None
    stream = response.extensions["network_stream"]
    stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    desk.clock.advance(seconds=15)
    desk.phone.me()
    # The adapter reconnects by itself; the server's hello carries the state as it is now.
    qtbot.waitUntil(lambda: any("ended meanwhile" in m or "hung up" in m for m in messages),
                    timeout=20000)
    assert bar.call is None or bar.call.id != gone.id
    assert "The phone connection dropped; reconnecting. A call in progress goes on." \
        in messages


def test_a_collections_call_from_the_worklist_by_keyboard(qtbot: QtBot, quiet_desk: Desk,
                                                          store: Store) -> None:
    desk = quiet_desk
    window, bar = desk.window, desk.window.call_bar
    page = window.collections
    # The calling rules are checked at 10:00 in New York on a weekday (any zone is open).
    page.clock = lambda: datetime(2026, 11, 17, 15, 0, tzinfo=UTC)
    _press(qtbot, window, Qt.Key.Key_F12)  # on the phone: available
    qtbot.waitUntil(lambda: bar.agent_view is not None
                    and bar.agent_view.state == AgentState.AVAILABLE, timeout=10000)
    with qtbot.waitSignal(page.loaded, timeout=20000):
        _press(qtbot, window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    row = next(r for r, item in enumerate(page.items)
               if item.callable_now and item.number and item.balance_cents > 5000
               and not item.promise_words)
    item = page.items[row]
    page.table.setCurrentIndex(page.model.index(row, 0))
    page.table.setFocus()

    # Ctrl+D dials through the call bar; the customer's 360 opens beside it.
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000):
        qtbot.keyClick(page.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bar.call is not None, timeout=10000)
    call = bar.call
    assert call is not None and call.direction == "outbound"
    assert call.collection_account_id == item.account_id
    assert bar.call_label.text().startswith("Dialing")
    desk.clock.advance(seconds=15)  # the far end picks up
    desk.phone.me()
    qtbot.waitUntil(lambda: bar.call is not None and bar.call.state == CallState.TALKING,
                    timeout=10000)

    # F9 ends it: first the outcome (carrying the call), then the wrap-up.
    desk.clock.advance(seconds=90)
    _press(qtbot, window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: page.outcome_dialog is not None
                    and page.outcome_dialog.isVisible(), timeout=10000)
    dialog = page.outcome_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.context is not None, timeout=10000)
    dialog.outcome.setFocus()
    qtbot.keyClicks(dialog.outcome, "Promise")
    qtbot.keyClick(dialog.outcome, Qt.Key.Key_Tab)
    qtbot.keyClick(dialog.amount, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.amount, "25")
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.promised_on, "+5")
    assert dialog.record_button.isEnabled(), dialog.summary.text()
    with qtbot.waitSignal(dialog.recorded, timeout=10000) as recorded:
        qtbot.keyClick(dialog.promised_on, Qt.Key.Key_Return)
    assert _rows(store, "SELECT outcome, interaction_id FROM contact_attempts WHERE id = ?",
                 recorded.args[0].attempt_id) == [("promise_to_pay", call.id)]
    qtbot.waitUntil(lambda: isinstance(window.wrap_dialog, WrapUpDialog)
                    and window.wrap_dialog.isVisible(), timeout=10000)
    wrap = window.wrap_dialog
    assert wrap is not None
    qtbot.keyClicks(wrap.reason_filter, "past-due")
    assert wrap.wrap_up().reason_code == "COLL-PAST-DUE"
    qtbot.keyClick(wrap, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClicks(wrap.code_box, "Promise")
    assert wrap.code_box.currentData() == "PROMISE-TO-PAY"
    with qtbot.waitSignal(bar.wrapped, timeout=10000):
        qtbot.keyClick(wrap.reason_filter, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)

    # Recorded on the server as an outbound call with its dialing time, synced back.
    window.sync.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(_rows(store, "SELECT 1 FROM interactions WHERE id = ?",
                                       call.id)), timeout=15000)
    [(direction, queue, customer, dial, talk, code)] = _rows(
        store, "SELECT direction, queue, customer_id, dial_seconds, talk_seconds, "
        "wrap_up_code FROM interactions WHERE id = ?", call.id)
    assert (direction, queue, customer, code) == ("outbound", "collections",
                                                  item.customer_id, "PROMISE-TO-PAY")
    assert 4 <= int(str(dial)) <= 12 and int(str(talk)) == 105 - int(str(dial))


def test_a_transfer_with_a_note_then_the_wrap_up_of_this_agents_part(
        qtbot: QtBot, desk: Desk, store: Store) -> None:
    from agent_desktop.ui.screens.call_bar.dialogs import TransferDialog

    window, bar = desk.window, desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    call = bar.call
    assert call is not None
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000):
        _press(qtbot, window, Qt.Key.Key_F6)
        qtbot.waitUntil(lambda: bar.match is not None, timeout=10000)
        if bar.match is not None and bar.match.single is None:
            qtbot.waitUntil(lambda: getattr(window, "caller_chooser", None) is not None,
                            timeout=10000)
            qtbot.keyClick(window.caller_chooser.items, Qt.Key.Key_Return)
    desk.clock.advance(seconds=50)
    _press(qtbot, window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "transfer_dialog", None),
                                       TransferDialog)
                    and window.transfer_dialog.isVisible(), timeout=10000)
    dialog = window.transfer_dialog
    assert dialog.queue.hasFocus()
    assert dialog.queue.findData("billing") == -1  # not back to the queue it came from
    qtbot.keyClicks(dialog.queue, "Sales")
    assert dialog.queue.currentData() == "sales"
    qtbot.keyClick(dialog.queue, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.note, "Wants the 1 Gig upgrade")
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)
    # This agent's part is over: after-call work, the wrap-up opens.
    qtbot.waitUntil(lambda: isinstance(window.wrap_dialog, WrapUpDialog)
                    and window.wrap_dialog.isVisible(), timeout=10000)
    wrap = window.wrap_dialog
    assert wrap is not None
    qtbot.keyClicks(wrap.reason_filter, "upgrade")
    qtbot.keyClick(wrap, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClicks(wrap.code_box, "Transferred")
    assert wrap.code_box.currentData() == "TRANSFERRED"
    desk.clock.advance(seconds=10)
    with qtbot.waitSignal(bar.wrapped, timeout=10000):
        qtbot.keyClick(wrap.reason_filter, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    window.sync.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(_rows(store, "SELECT 1 FROM interactions WHERE id = ?",
                                       call.id)), timeout=15000)
    assert _rows(store, "SELECT transfers, talk_seconds, acw_seconds, reason_code, "
                 "wrap_up_code FROM interactions WHERE id = ?", call.id) == [
        (1, 50, 10, "ORDER-UPGRADE", "TRANSFERRED")]


def test_a_time_boxed_wrap_up_closes_by_itself_with_the_default_code(
        qtbot: QtBot, time_boxed_desk: Desk, store: Store) -> None:
    desk = time_boxed_desk
    window, bar = desk.window, desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    call = bar.call
    assert call is not None
    _press(qtbot, window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: bar.call is not None and bar.call.state == CallState.TALKING,
                    timeout=10000)
    desk.clock.advance(seconds=30)
    _press(qtbot, window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: isinstance(window.wrap_dialog, WrapUpDialog)
                    and window.wrap_dialog.isVisible(), timeout=10000)
    dialog = window.wrap_dialog
    assert dialog is not None and "time-boxed" in dialog.rule.text()
    qtbot.waitUntil(lambda: bar.agent_view is not None
                    and bar.agent_view.acw_deadline is not None, timeout=10000)
    assert "closes in" in bar.timer_label.text()
    # The agent is away; a minute on, the phone system wraps the call up by itself.
    messages: list[str] = []
    bar.notice.connect(messages.append)
    desk.clock.advance(seconds=61)
    with qtbot.waitSignal(bar.wrapped, timeout=10000):
        desk.phone.me()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert messages, "the agent is told the call was wrapped for them"
    window.sync.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(_rows(store, "SELECT 1 FROM interactions WHERE id = ?",
                                       call.id)), timeout=15000)
    assert _rows(store, "SELECT wrap_up_code, acw_seconds FROM interactions WHERE id = ?",
                 call.id) == [("INFO-PROVIDED", 60)]


def test_a_caller_nobody_has_the_number_of_gets_a_new_customer_with_it(
        qtbot: QtBot, strangers_desk: Desk) -> None:
    from agent_desktop.ui.screens.customers.new_customer import NewCustomerDialog

    desk = strangers_desk
    window, bar = desk.window, desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    qtbot.waitUntil(lambda: bar.match is not None, timeout=10000)
    assert bar.match is not None and bar.match.hits == ()
    assert "No customer has this number" in bar.call_label.text()
    _press(qtbot, window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "new_customer_dialog", None),
                                       NewCustomerDialog)
                    and window.new_customer_dialog.isVisible(), timeout=10000)
    dialog = window.new_customer_dialog
    digits = "".join(ch for ch in dialog.phone.text() if ch.isdigit())
    assert bar.match.phone is not None and bar.match.phone.endswith(digits)
    assert window.who.call.interaction_id == bar.call.id  # type: ignore[union-attr]
    dialog.close()


def test_several_customers_with_the_number_get_a_chooser_and_a_withheld_one_the_search(
        qtbot: QtBot, desk: Desk, store: Store) -> None:
    from agent_desktop.services.calls import match_caller
    from agent_desktop.sync.cti_protocol import CallView

    window = desk.window
    [(number, first), (second,)] = (
        _rows(store, "SELECT value, customer_id FROM contact_points WHERE kind = 'phone' "
              "ORDER BY value LIMIT 1")[0],
        _rows(store, "SELECT id FROM customers WHERE id NOT IN (SELECT customer_id FROM "
              "contact_points WHERE value = (SELECT value FROM contact_points WHERE kind = "
              "'phone' ORDER BY value LIMIT 1)) LIMIT 1")[0])
    conn = sqlite3.connect(store.path)
    try:
        columns = [c[1] for c in conn.execute("PRAGMA table_info(contact_points)")]
        row = dict(zip(columns, conn.execute(
            "SELECT * FROM contact_points WHERE value = ?", (number,)).fetchone(),
            strict=True))
        row.update(id="9" * 32, customer_id=second, is_primary=0)
        conn.execute(f"INSERT INTO contact_points ({', '.join(row)}) VALUES "
                     f"({', '.join('?' * len(row))})", tuple(row.values()))
        conn.commit()
    finally:
        conn.close()
    now = datetime.now(UTC).isoformat()
    call = CallView(id="7" * 32, direction="inbound", queue="billing", caller_id=str(number),
                    state=CallState.TALKING, offered_at=now, answered_at=now)
    # Answered (as the call bar says once the phone system agrees): the screen pops.
    window.call_bar.answered.emit(call, match_caller(store, str(number)))
    qtbot.waitUntil(lambda: getattr(window, "caller_chooser", None) is not None
                    and window.caller_chooser.isVisible(), timeout=10000)
    chooser = window.caller_chooser
    assert chooser.items.count() == 2
    picked = {chooser.items.item(i).data(Qt.ItemDataRole.UserRole)[0] for i in range(2)}
    assert picked == {first, second}
    qtbot.keyClick(chooser.items, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000) as shown:
        qtbot.keyClick(chooser.items, Qt.Key.Key_Return)
    assert shown.args[0] in {first, second}
    assert window.who.call.customer_id == shown.args[0]

    withheld = call.model_copy(update={"id": "8" * 32, "caller_id": "withheld"})
    window.call_bar.answered.emit(withheld, match_caller(store, "withheld"))
    # The search box takes the keys (the window's focus widget: the window itself may not
    # be the active one on the offscreen platform once the chooser has closed).
    qtbot.waitUntil(lambda: window.focusWidget() is window.search_box, timeout=10000)
    assert "Number withheld" in window.statusBar().currentMessage()


# A menu pops up on the offscreen platform without raising or grabbing the keyboard (it
# says so); the keys still reach it.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")
def test_a_break_chosen_on_the_call_with_f12_starts_after_the_wrap_up(
        qtbot: QtBot, desk: Desk) -> None:
    window, bar = desk.window, desk.window.call_bar
    _ready_and_ring(qtbot, desk)
    call = bar.call
    assert call is not None
    _press(qtbot, window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: bar.call is not None and bar.call.state == CallState.TALKING,
                    timeout=10000)
    # F12 on a call: the reasons menu; Down to "Not ready: Break", Enter.
    _press(qtbot, window, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: bar.state_menu.isVisible(), timeout=5000)
    labels = [a.text() for a in bar.state_menu.actions()]
    steps = [a for a in bar.state_menu.actions() if not a.isSeparator()].index(
        next(a for a in bar.state_menu.actions() if a.text() == "Not ready: Break"))
    for _ in range(steps + 1):
        qtbot.keyClick(bar.state_menu, Qt.Key.Key_Down)
    qtbot.keyClick(bar.state_menu, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bar.agent_view is not None
                    and bar.agent_view.next_state == "not_ready", timeout=10000)
    assert "then Break" in bar.state_button.text(), labels
    assert bar.agent_view.state == AgentState.ON_CALL
    desk.clock.advance(seconds=40)
    _press(qtbot, window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: isinstance(window.wrap_dialog, WrapUpDialog)
                    and window.wrap_dialog.isVisible(), timeout=10000)
    wrap = window.wrap_dialog
    assert wrap is not None
    qtbot.keyClicks(wrap.reason_filter, "bill")
    wrap.code_box.setCurrentIndex(wrap.code_box.findData("INFO-PROVIDED"))
    with qtbot.waitSignal(bar.wrapped, timeout=10000):
        qtbot.keyClick(wrap.reason_filter, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    # On break, not offered the calls that wait.
    assert bar.agent_view is not None
    assert (bar.agent_view.state, bar.agent_view.reason) == (AgentState.NOT_READY, "BREAK")
    assert bar.call is None and bar.state_button.text().startswith("\u25cf Not ready: Break")
    # The call's interaction comes back by sync and the open 360 shows it: let that
    # settle before the window closes.
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000):
        window.sync.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: Pools.in_flight == 0, timeout=10000)
