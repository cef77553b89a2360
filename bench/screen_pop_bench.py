"""Screen pop: from the call-offered event to the caller's 360 fully painted.

    QT_QPA_PLATFORM=offscreen python bench/screen_pop_bench.py --store /tmp/bench-1m.sqlite3

The real desktop path: the call bar gets the ``offered`` event (as the adapter's thread
delivers it), matches the caller id to customers off the UI thread, the agent answers at
once (F6), the main window pops the 360 of the one customer with that number, and the
whole window repaints synchronously (tables and the chart). The telephony source is the
one edge replaced: its answer comes back at once, so the figure is the desktop's own
share (the server's answer over loopback is in the ACD bench). Callers are customers
drawn at random from the store, by their primary phone number.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer

from bench.common import report
from bench.qt_window import idle, open_window


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=60)
    a = ap.parse_args()
    from agent_desktop.domain.calls import AgentState, CallState
    from agent_desktop.services.calls import CallDesk
    from agent_desktop.sync.cti_protocol import AgentView, CallView, CtiEvent

    _app, window, store = open_window(a.store)  # the app must stay referenced
    raw = sqlite3.connect(a.store)
    n = raw.execute("SELECT count(*) FROM customers").fetchone()[0]
    rng = random.Random(5)
    callers: list[str] = []
    while len(callers) < a.samples + 1:
        row = raw.execute(
            "SELECT p.value FROM customers c JOIN contact_points p ON p.customer_id = c.id "
            "AND p.kind = 'phone' WHERE c.rowid = ? LIMIT 1",
            (rng.randrange(1, n + 1),)).fetchone()
        if row is not None and raw.execute(
                "SELECT count(*) FROM contact_points WHERE value = ? AND kind = 'phone'",
                (row[0],)).fetchone()[0] == 1:
            callers.append(row[0])

    now = datetime.now(UTC).isoformat()
    me = AgentView(agent_id="a" * 32, username="agent", display_name="Dana Reyes",
                   state=AgentState.AVAILABLE, since=now)

    class Answering(CallDesk):
        """The telephony edge: the source answers at once."""

        def __init__(self) -> None:
            super().__init__(adapter=None)  # type: ignore[arg-type]

        def act(self, action: str, call_id: str) -> CallView:
            call = window.call_bar.call
            assert call is not None and call.id == call_id
            return call.model_copy(update={"state": CallState.TALKING, "answered_at": now})

    def attach() -> None:
        window.call_bar.desk = Answering()
        window.call_bar.on_agent(me)

    attach()
    seq = [0]

    def pop(number: str) -> float:
        seq[0] += 1
        call = CallView(id=f"{seq[0]:032x}", direction="inbound", queue="billing",
                        caller_id=number, state=CallState.OFFERED, agent_id=me.agent_id,
                        offered_at=now)
        offered = CtiEvent(seq=seq[0], kind="offered", at=now,
                           agent=me.model_copy(update={"state": AgentState.OFFERED,
                                                       "call": call}), call=call)
        loop = QEventLoop()
        window.customers.customer_shown.connect(loop.quit)
        QTimer.singleShot(20000, loop.quit)
        t = time.perf_counter()
        window.call_bar.on_event(offered)
        window.call_bar.command("answer")
        loop.exec()
        window.repaint()
        elapsed = (time.perf_counter() - t) * 1000
        window.customers.customer_shown.disconnect(loop.quit)
        # Wrapped: back to available for the next call.
        window.call_bar.on_agent(me)
        window.who.call.clear()
        return elapsed

    pop(callers[0])  # warm-up: the first 360 view, pyqtgraph, numpy
    idle()
    samples = []
    for number in callers[1:]:
        samples.append(pop(number))
        window.customers.close_current()  # the call is over: its tab goes
        idle()
    report(f"screen pop: offered -> 360 painted ({n:,} customers)", samples)
    window.close()
    store.close()


if __name__ == "__main__":
    main()
