"""Live floor: from an agent's state change to the supervisor's screen showing it.

    QT_QPA_PLATFORM=offscreen python bench/floor_latency_bench.py --store DEMO.sqlite3

A real sync server on 127.0.0.1 (seeded from a demo store, its simulated contact center
running on the real clock with simulated agents taking calls) and two desks in this
process: the agent's phone (AcdAdapter) changes state; the supervisor's phone hears the
floor on its event stream, the Qt bridge hands it to the UI thread, the dashboard's live
floor takes it (``set_floor``) and repaints. Measured: the agent's command sent -> the
floor painted with the new state.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from bench.common import report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True, help="a demo store to seed from")
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--simulated-agents", type=int, default=40)
    ap.add_argument("--calls-per-hour", type=float, default=2000)
    a = ap.parse_args()
    os.environ.setdefault("AGENT_DESKTOP_HOME", "/tmp/agent-desktop-bench-home")
    from agent_desktop.app import DEMO_PASSWORD
    from agent_desktop.cti.acd import AcdAdapter
    from agent_desktop.domain.calls import AgentState
    from agent_desktop.storage.store import open_store
    from agent_desktop.sync.client import SyncClient
    from agent_desktop.sync.cti_protocol import FloorView
    from agent_desktop.ui import theme
    from agent_desktop.ui.screens.call_bar.bar import CtiBridge
    from agent_desktop.ui.screens.dashboard.floor import LiveFloor
    from server_stub.__main__ import prepare, seed
    from server_stub.acd import AcdConfig
    from server_stub.app import create_app
    from server_stub.embedded import EmbeddedServer

    app = QApplication([])
    theme.apply(app, "light")
    work = Path(tempfile.mkdtemp(prefix="floor-bench-"))
    try:
        store_path = work / "store.sqlite3"
        shutil.copyfile(a.store, store_path)
        open_store(store_path).close()  # migrated to this version
        url = f"sqlite:///{work / 'server.sqlite3'}"
        prepare(url, seed_demo_users=True)
        seed(url, str(store_path), None)
        acd = AcdConfig(calls_per_hour=a.calls_per_hour, simulated_agents=a.simulated_agents)
        with EmbeddedServer(create_app(url, acd=acd, cti_tick_seconds=0.25)) as server:
            tokens = {}
            for user in ("agent", "supervisor"):
                client = SyncClient(server.url, f"bench-{user}-desk")
                tokens[user] = client.login(user, DEMO_PASSWORD).token
                client.close()
            agent = AcdAdapter(server.url, lambda: tokens["agent"])
            boss = AcdAdapter(server.url, lambda: tokens["supervisor"])
            me = agent.me()
            floor_widget = LiveFloor()
            floor_widget.resize(1200, 800)
            floor_widget.show()
            bridge = CtiBridge()
            latest: list[FloorView] = []
            painted: list[float] = []

            def shown(floor: FloorView) -> None:
                floor_widget.set_floor(floor)
                floor_widget.repaint()
                latest.append(floor)
                painted.append(time.perf_counter())

            bridge.signals.floor_seen.connect(shown)
            boss.start(bridge, floor=True)

            def state_of(floor: FloorView) -> str:
                return next((x.state.value for x in floor.agents
                             if x.agent_id == me.agent_id), "")

            def wait_for(state: str, timeout_s: float = 10.0) -> float | None:
                loop = QEventLoop()
                deadline = time.perf_counter() + timeout_s
                timer = QTimer()
                timer.setInterval(2)

                def check() -> None:
                    if (latest and state_of(latest[-1]) == state) \
                            or time.perf_counter() > deadline:
                        loop.quit()

                timer.timeout.connect(check)
                timer.start()
                loop.exec()
                timer.stop()
                return painted[-1] if latest and state_of(latest[-1]) == state else None

            agent.set_state("not_ready", "BREAK")
            wait_for(AgentState.NOT_READY.value)
            samples = []
            for i in range(a.samples + 1):
                target, reason = (("available", "") if i % 2 == 0
                                  else ("not_ready", "BREAK"))
                # Available: a call may ring at once and the state move on to "offered";
                # the floor showing either is the change seen.
                t = time.perf_counter()
                agent.set_state(target, reason)
                seen = wait_for(target)
                if seen is None and target == "available":
                    seen = wait_for(AgentState.OFFERED.value, 1.0)
                if seen is not None and i > 0:
                    samples.append((seen - t) * 1000)
                if target == "available":  # a ringing call: let it go back
                    view = agent.me()
                    if view.call is not None:
                        agent.set_state("not_ready", "BREAK")
                wait = QEventLoop()
                QTimer.singleShot(300, wait.quit)
                wait.exec()
            floor = latest[-1]
            print(f"floor: {len(floor.agents)} agents, "
                  f"{sum(q.waiting for q in floor.queues)} calls waiting, "
                  f"{len(latest)} floor updates heard")
            report("live floor: agent's state change -> supervisor's floor painted", samples)
            boss.stop()
            agent.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
