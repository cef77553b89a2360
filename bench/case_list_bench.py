"""The case list at 100,000 cases: open a view, switch views, filter as the agent types.

    QT_QPA_PLATFORM=offscreen python bench/case_list_bench.py [--store /tmp/cases-100k.sqlite3]

The first run builds the store: a copy of a demo store (3,000 customers, generated if
missing) plus 100,000 cases with a realistic spread (about a third still being worked,
recent; the rest resolved or closed over two years; every type, priority and queue;
most assigned to an agent with the skill; due times from the SLA rules, so some are
amber and some breached), each with its "created" timeline event.

Measured on the real path (offscreen): the Cases page asks for a view; a worker thread
runs the service (the ordered case ids of the view, then the first screenful of rows
with their SLA); back on the UI thread the lazy model resets and the window repaints
synchronously. "open" is from the request to the painted table; "filter" the same for a
text typed in the filter box. Figures are never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import report

_TYPES = (("trouble_ticket", 38), ("inquiry", 26), ("dispute", 14), ("complaint", 12),
          ("approval_request", 10))
_PRIORITIES = (("low", 15), ("normal", 58), ("high", 22), ("urgent", 5))
# Working cases are recent; the rest were resolved or closed over two years.
_STATES = (("new", 6), ("open", 12), ("pending_customer", 6), ("pending_internal", 11),
           ("resolved", 7), ("closed", 58))
_CATEGORIES = {
    "trouble_ticket": ("TECH-INTERNET", "TECH-TV", "TECH-PHONE", "TECH-MOBILE",
                       "TECH-SECURITY"),
    "inquiry": ("BILLING-INQUIRY", "ORDER-FOLLOW-UP", "MOVE", "EQUIPMENT-RETURN",
                "PAYMENT-ISSUE", "PRIVACY-REQUEST"),
    "dispute": ("BILLING-DISPUTE", "COLLECTIONS-DISPUTE"),
    "complaint": ("COMPLAINT",),
    "approval_request": ("ADJUSTMENT-APPROVAL",),
}
_SUBJECTS = {
    "TECH-INTERNET": ("No internet since this morning", "Internet drops every evening",
                      "Slow speeds on the {sku} plan", "Wi-Fi gateway keeps rebooting"),
    "TECH-TV": ("TV picture freezes", "Channels missing after the update",
                "Cloud DVR recordings lost"),
    "TECH-PHONE": ("No dial tone", "Calls drop after a minute", "Voicemail not working"),
    "TECH-MOBILE": ("No signal at home", "Cannot activate the new line",
                    "Data not working abroad"),
    "TECH-SECURITY": ("Camera offline", "Alarm panel shows a fault"),
    "BILLING-INQUIRY": ("Question about the last bill", "Why did the bill go up?",
                        "Charge for a service not ordered"),
    "ORDER-FOLLOW-UP": ("Where is my order?", "Installation date not confirmed"),
    "MOVE": ("Moving: transfer the service", "Service at the new address"),
    "EQUIPMENT-RETURN": ("Returned the box, still billed", "Return label not received"),
    "PAYMENT-ISSUE": ("Payment declined twice", "Autopay did not run"),
    "PRIVACY-REQUEST": ("Request a copy of my data",),
    "BILLING-DISPUTE": ("Disputes the late fee", "Disputes the installation charge"),
    "COLLECTIONS-DISPUTE": ("Disputes the past-due amount",),
    "COMPLAINT": ("Technician missed the appointment", "Unhappy with the wait on the phone",
                  "Rude answer in the store"),
    "ADJUSTMENT-APPROVAL": ("Approve a credit of ${amount}",),
}


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def build_store(out: Path, base: Path, cases: int, seed: int = 5,
                all_open: bool = False) -> None:
    """Copy ``base`` to ``out`` and add ``cases`` cases with their created events."""
    from agent_desktop.domain import cases as rules
    from agent_desktop.services.cases import categories

    started = time.perf_counter()
    shutil.copyfile(base, out)
    rng = random.Random(seed)
    db = sqlite3.connect(out)
    customers = [r[0] for r in db.execute("SELECT id FROM customers")]
    families = {sku: fam for sku, fam in db.execute("SELECT sku, family_code FROM products")}
    services: dict[str, list[str]] = {}
    for cid, sku in db.execute("SELECT customer_id, sku FROM services"):
        services.setdefault(cid, []).append(sku)
    agents = [(a, s) for a, s in db.execute(
        "SELECT id, skills FROM agents WHERE role IN ('agent','supervisor')")]
    group = {code: cat for code, _label, cat in categories()}
    by_skill: dict[str, list[str]] = {}
    for agent_id, skills in agents:
        for skill in __import__("json").loads(skills):
            by_skill.setdefault(skill, []).append(agent_id)
    everyone = [a for a, _ in agents]
    numbers = {r[0] for r in db.execute("SELECT case_number FROM cases")}
    now = datetime.now(UTC)
    case_rows, event_rows = [], []
    for _ in range(cases):
        case_id = uuid.uuid4().hex
        number = rules.case_number(case_id)
        if number in numbers:
            continue
        numbers.add(number)
        customer = rng.choice(customers)
        ctype = _pick(rng, _TYPES)
        priority = _pick(rng, _PRIORITIES)
        status = _pick(rng, _STATES[:4]) if all_open else _pick(rng, _STATES)
        code = rng.choice(_CATEGORIES[ctype])
        sku = None
        family = ""
        if code.startswith("TECH-"):
            family = code[5:].lower()
            owned = [s for s in services.get(customer, []) if families.get(s) == family]
            sku = owned[0] if owned else None
        routed = rules.route(ctype, group.get(code, ""), family)
        working = rules.is_open(status)
        age_hours = rng.expovariate(1 / 60) if working else rng.uniform(24, 730 * 24)
        opened = now - timedelta(hours=age_hours)
        paused = 0
        pending_since = None
        if status == "pending_customer":
            pending_since = opened + (now - opened) * rng.uniform(0.2, 0.9)
        elif working and rng.random() < 0.2:
            paused = int(rng.uniform(600, 8 * 3600))
        due = rules.due_at(opened, ctype, priority, paused)
        resolved_at = closed_at = None
        if not working:
            resolved_at = opened + timedelta(hours=rng.uniform(1, 72))
            if status == "closed":
                closed_at = resolved_at + timedelta(days=rng.uniform(3, 7))
        assignee = None
        if status != "new" and rng.random() < 0.85:
            pool = by_skill.get(routed.skill) if routed.skill else everyone
            assignee = rng.choice(pool or everyone)
        subject = rng.choice(_SUBJECTS[code]).format(
            sku=sku or "current", amount=f"{rng.randrange(20, 400)}.00")
        updated = max(t for t in (opened, resolved_at, closed_at, pending_since) if t)
        case_rows.append((
            case_id, number, customer, ctype, status, priority, subject,
            "Generated for the case list benchmark.", code, sku, routed.queue, routed.skill,
            assignee, _ts(opened), _ts(due), paused, _ts(pending_since) if pending_since
            else None, _ts(resolved_at) if resolved_at else None,
            _ts(closed_at) if closed_at else None, _ts(opened), _ts(updated)))
        event_rows.append((
            uuid.uuid4().hex, case_id, _ts(opened), assignee, "created", "internal",
            subject, "{}", '{"status": "new"}', 0, _ts(opened)))
    with db:
        db.executemany(
            "INSERT INTO cases (id, case_number, customer_id, type, status, priority, subject,"
            " description, category, product_sku, queue, required_skill, assigned_agent_id,"
            " opened_at, due_at, sla_paused_seconds, pending_since, resolved_at, closed_at,"
            " created_at, updated_at, version) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)", case_rows)
        db.executemany(
            "INSERT INTO case_events (id, case_id, at, actor_id, kind, visibility, body,"
            " before, after, seconds_spent, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            event_rows)
    db.execute("ANALYZE")
    db.close()
    print(f"built {out}: {len(case_rows):,} cases added in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, default=Path("/tmp/cases-100k.sqlite3"))
    ap.add_argument("--base", type=Path, default=Path("/tmp/cases-base-3k.sqlite3"),
                    help="demo store to copy (generated with 3,000 customers if missing)")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--all-open", action="store_true",
                    help="every generated case still being worked (the worst case)")
    ap.add_argument("--index", choices=("none", "worklist"), default="worklist",
                    help="worklist: create the proposed partial covering index first "
                         "(docs/PERFORMANCE.md); none: drop it")
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--user", default="agent")
    a = ap.parse_args()
    if not a.store.exists():
        if not a.base.exists():
            from agent_desktop.storage.demo_data import generate

            generate(a.base, 3000, 11)
        build_store(a.store, a.base, a.cases, all_open=a.all_open)
    from agent_desktop.storage.cases import WORKLIST_INDEX, WORKLIST_INDEX_SQL

    db = sqlite3.connect(a.store)
    db.execute(f"DROP INDEX IF EXISTS {WORKLIST_INDEX}")
    if a.index == "worklist":
        db.execute(WORKLIST_INDEX_SQL)
    db.execute("ANALYZE")
    db.commit()
    db.close()
    measure(a.store, a.samples, a.user, a.index)


def measure(path: Path, samples: int, user: str, index: str) -> None:
    os.environ.setdefault("AGENT_DESKTOP_HOME", "/tmp/agent-desktop-bench-home")
    from PySide6.QtCore import QEventLoop, QTimer, SignalInstance
    from PySide6.QtWidgets import QApplication

    from agent_desktop.app import build_window, configure_qt_settings
    from agent_desktop.platform.settings import Settings
    from agent_desktop.services import cases
    from agent_desktop.storage.store import open_store
    from agent_desktop.ui import theme
    from agent_desktop.ui.main_window import AREAS
    from agent_desktop.ui.tasks import Pools

    app = QApplication([])
    configure_qt_settings()
    theme.apply(app, "light")
    store = open_store(path)
    raw = sqlite3.connect(path)
    total, working = raw.execute(
        "SELECT count(*), sum(status IN ('new','open','pending_customer','pending_internal'))"
        " FROM cases").fetchone()
    raw.close()
    print(f"store: {path} ({path.stat().st_size / 1e6:.0f} MB): {total:,} cases, "
          f"{working:,} still being worked; index: {index}; agent: {user}")
    window = build_window(store, user, Settings())
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    pane = window.cases.list

    def wait(signal: SignalInstance, action: object, timeout_ms: int = 30000) -> float:
        """ms from ``action`` to ``signal`` plus a synchronous repaint of the window."""
        loop = QEventLoop()
        signal.connect(loop.quit)
        limit = QTimer()  # stopped after: a stray time-out must not end a later wait
        limit.setSingleShot(True)
        limit.timeout.connect(loop.quit)
        limit.start(timeout_ms)
        started = time.perf_counter()
        action()  # type: ignore[operator]
        loop.exec()
        window.repaint()
        elapsed = (time.perf_counter() - started) * 1000
        limit.stop()
        signal.disconnect(loop.quit)
        return elapsed

    def idle(ms: int = 150) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        Pools.wait_idle()

    idle(1500)  # the window settles (the knowledge screen opens its index meanwhile)
    first = wait(pane.shown, lambda: window.show_area(AREAS.index("Cases")))
    print(f"{'first Ctrl+2 (new worker, My cases)':<44} {first:.1f} ms")
    idle(500)
    sizes: dict[str, int] = {}

    def cold(view: str) -> None:
        # A new generation: the worker reads the view's ids again, as after a change.
        pane.generation += 1
        pane.view = view
        pane.reload()

    def settled() -> None:
        # The list reads the filter's search text right after a new generation shows;
        # an agent does not switch views within that tenth of a second, so let it finish.
        wait(pane.filter_ready, lambda: None, 5000)
        idle(30)

    for view in cases.VIEWS:
        pane.set_view(view)
        idle()
        runs = []
        for _ in range(samples):
            runs.append(wait(pane.shown, lambda view=view: cold(view)))
            settled()
        sizes[view] = pane.model.rowCount()
        report(f"open '{cases.VIEW_LABELS[view]}' ({sizes[view]:,} cases)", runs)

    pane.set_view("all_open")
    idle(500)
    runs = []
    for _ in range(samples):
        for view in ("mine", "all_open"):
            runs.append(wait(pane.shown, lambda view=view: pane.set_view(view)))
    report("switch view, same generation (ids kept)", runs)

    pane.set_view("all_open")
    idle(800)  # the filter's search text is read ahead meanwhile
    with store.engine.connect() as conn:
        numbers = [r[0] for r in conn.exec_driver_sql(
            "SELECT case_number FROM cases WHERE status = 'open' ORDER BY random() LIMIT 5")]
    texts = ["smith", "internet", "bill", "cs-", "a", "zzqx", *[n.lower()[:7] for n in numbers]]
    runs = []
    for _ in range(max(1, samples // len(texts) + 1)):
        for text in texts:
            runs.append(wait(pane.shown, lambda text=text: pane.filter.setText(text)))
    report("filter 'All open' by text (search text warm)", runs)
    runs = []
    for text in texts[:samples]:
        pane.filter.setText("")
        idle(30)
        pane.generation += 1  # cases changed: the first letter reads the search text
        runs.append(wait(pane.shown, lambda text=text: pane.filter.setText(text)))
    report("filter right after a change (search text cold)", runs)
    pane.filter.setText("")
    idle(300)

    runs = []
    for _ in range(min(samples, 10)):
        pane.table.scrollToTop()
        idle(30)
        pane.generation += 1
        wait(pane.shown, pane.reload)
        settled()
        runs.append(wait(pane.model.dataChanged, pane.table.scrollToBottom))
    report("scroll to the end -> last rows painted", runs)

    reader = cases.CaseList(store, window.who)
    for view in ("all_open", "my_queue"):
        service = []
        for gen in range(samples):
            started = time.perf_counter()
            reader.open(view, generation=gen + 1000)
            service.append((time.perf_counter() - started) * 1000)
        report(f"  of which the service, '{cases.VIEW_LABELS[view]}'", service)
    reader.close()
    old = []
    for _ in range(min(samples, 5)):
        started = time.perf_counter()
        cases.load_view(store, window.who, "all_open")
        old.append((time.perf_counter() - started) * 1000)
    report("  for comparison: load_view('All open'), every row", old)
    window.close()
    Pools.shutdown()
    store.close()


if __name__ == "__main__":
    main()
