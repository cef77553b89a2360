"""Taking payments: keystrokes to pay the balance, end-to-end latency through a real sync
server and its gateway stub, and the balance of a customer with 10,000 ledger entries.

    QT_QPA_PLATFORM=offscreen python bench/payments_bench.py [--customers 5000]
        [--payments 300] [--ui-samples 20] [--entries 10000] [--store DEMO.sqlite3]

The store is a demo store of ``--customers`` customers (5,000: the size `make run` uses;
generated here as of today unless ``--store`` names one, which is copied, never changed).
A real `agent-desktop-server` process on 127.0.0.1 (a fresh SQLite database with the demo
users, seeded from that store) charges through its gateway stub (a SQLite file beside
the server's database); the desk is a copy of the store, new to that server.

(a) Keystrokes: the real MainWindow, offscreen, with its SyncController on that server.
    A customer who owes something and has a default card is opened (as Enter on a search
    result does); then only keys, sent with QTest to whatever has the focus: Ctrl+P opens
    the payment dialog with the balance and the default card filled in, Enter pays, Esc
    closes the dialog once the gateway's answer shows. Each payment must be settled in the
    desk's store and charged once at the gateway. Goal: at most 5 keystrokes, no mouse.
(b) End to end: ``payments.take_payment`` (the desk's write: payment pending, audit row,
    outbox), then one ``SyncService.sync`` pass as the app runs after a payment: the push
    (the server charges the gateway and answers "applied"), then the pull that brings the
    settled payment back, then ``payment_result`` reads "settled". One payment at a time,
    each on another customer's card on file.
(c) Ledger: a copy of the store where one customer gets ``--entries`` more ledger rows
    (bills, payments, credit and debit adjustments, inserted with SQL, dated over the 24
    months the 360 shows, so every one is read and listed). Timed: ``load_360`` (what a
    360 reads and builds: ledger with running balance, aging, chart series) and the
    balance alone as one SQL sum over every entry; the derived balance is checked against
    an independent sum.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import percentile, report, timed
from bench.sync_common import ServerProcess, on_signal_exit

PASSWORD = "demo"  # the demo users: agent and supervisor
WAIT_SECONDS = 20.0  # for a window, a dialog or the gateway's answer


def _memory_tokens() -> Any:
    """A TokenStore that never touches the machine's keyring."""
    from agent_desktop.platform.credentials import TokenStore

    class MemoryTokens(TokenStore):
        def save(self, server_url: str, username: str, token: str) -> None:
            self._memory[f"{username}@{server_url}"] = token

        def load(self, server_url: str, username: str) -> str | None:
            return self._memory.get(f"{username}@{server_url}")

        def delete(self, server_url: str, username: str) -> None:
            self._memory.pop(f"{username}@{server_url}", None)

    return MemoryTokens()


def _rows(path: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _valid_cards(path: Path, *, default_only: bool, owing: bool) -> list[tuple[str, str, str]]:
    """(customer id, name, card id) of active cards on file valid past this year."""
    year = date.today().year
    sql = ("SELECT c.id, c.display_name, m.id FROM customers c JOIN payment_methods m "
           "ON m.customer_id = c.id AND m.kind = 'card' AND m.status = 'active' "
           f"AND m.exp_year > {year}" + (" AND m.is_default = 1" if default_only else "") +
           " WHERE c.status = 'active'")
    if owing:
        sql += (" AND (SELECT coalesce(sum(total_cents), 0) FROM invoices i WHERE "
                "i.customer_id = c.id) - (SELECT coalesce(sum(CASE entry WHEN 'payment' "
                "THEN amount_cents ELSE -amount_cents END), 0) FROM payments p WHERE "
                "p.customer_id = c.id AND p.status IN ('settled','authorized')) + (SELECT "
                "coalesce(sum(CASE direction WHEN 'debit' THEN amount_cents ELSE "
                "-amount_cents END), 0) FROM adjustments a WHERE a.customer_id = c.id AND "
                "a.status = 'posted') > 100")
    sql += " ORDER BY c.account_number"
    return [(str(a), str(b), str(c)) for a, b, c in _rows(path, sql)]


# --- (a) keystrokes ---------------------------------------------------------------------


def _wait(app: Any, done: Callable[[], bool], what: str) -> None:
    """Run the event loop until ``done()``; a bench may poll, with a deadline."""
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)


def keystrokes(store_path: Path, server_url: str, gateway: Any, samples: int) -> dict[str, Any]:
    from PySide6.QtCore import (
        QEvent,
        QObject,
        Qt,
    )
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QDialog

    from agent_desktop.app import build_window
    from agent_desktop.platform.settings import Settings
    from agent_desktop.services import payments
    from agent_desktop.services.sync import SyncService
    from agent_desktop.storage.store import open_store
    from agent_desktop.ui.screens.payments.take import PaymentDialog
    from agent_desktop.ui.sync_status import SyncController
    from agent_desktop.ui.tasks import Pools
    from bench.qt_window import qt_app

    app = qt_app()
    store = open_store(store_path)
    service = SyncService(store, server_url, "agent", tokens=_memory_tokens())
    service.login(PASSWORD)
    controller = SyncController(service, interval_ms=60_000)
    window = build_window(store, "agent", Settings(), sync=controller)
    window.resize(1440, 900)
    window.show()
    window.activateWindow()
    first: list[object] = []
    controller.status_changed.connect(first.append)
    controller.start()
    _wait(app, lambda: bool(first) and window.isActiveWindow(), "the first sync")

    pressed: list[str] = []
    mouse: list[int] = []

    class MouseWatch(QObject):
        """Counts every mouse press anywhere in the app while the flow runs."""

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() in (QEvent.Type.MouseButtonPress,
                                QEvent.Type.MouseButtonDblClick):
                mouse.append(int(event.type()))
            return False

    watch = MouseWatch()
    app.installEventFilter(watch)

    def key(name: str, k: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
            ) -> None:
        target = QApplication.focusWidget() or QApplication.activeWindow() or window
        QTest.keyClick(target, k, mod)
        pressed.append(name)

    customers = _valid_cards(store_path, default_only=True, owing=True)[:samples]
    if len(customers) < samples:
        raise RuntimeError(f"only {len(customers)} customers owe and have a default card")
    per_payment: list[int] = []
    to_close: list[int] = []
    dialogs_opened: list[int] = []
    pages_seen: list[int] = []
    enter_to_paid: list[float] = []
    def pay_one(customer_id: str, name: str) -> None:
        shown: list[str] = []
        window.customers.customer_shown.connect(shown.append)
        window.finder.open_customer.emit(customer_id, name)  # Enter on a search result
        _wait(app, lambda: customer_id in shown, "the 360")
        window.customers.customer_shown.disconnect(shown.append)
        view = window.customers.current_view()
        assert view is not None and view.data is not None
        due = view.data.balance_cents
        if not window.isActiveWindow():
            # Offscreen there is no window manager to hand the focus back to the main
            # window when a dialog closes; on a desktop it returns by itself.
            window.activateWindow()
        _wait(app, window.isActiveWindow, "the window to be active")

        before = {w for w in QApplication.topLevelWidgets()
                  if isinstance(w, QDialog) and w.isVisible()}
        pressed.clear()
        key("Ctrl+P", Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
        _wait(app, lambda: isinstance(getattr(window, "payment_dialog", None), PaymentDialog)
              and window.payment_dialog.isVisible()
              and window.payment_dialog.amount.hasFocus(), "the payment dialog")
        dialog = window.payment_dialog
        assert isinstance(dialog, PaymentDialog)
        if dialog.amount_cents() != due or "default" not in dialog.method.currentText():
            raise RuntimeError(f"the dialog did not fill in the balance ({due}) and the "
                               f"default card: {dialog.amount.text()!r}, "
                               f"{dialog.method.currentText()!r}")
        answered: list[object] = []
        dialog.answered.connect(answered.append)
        pages = {dialog.pages.currentIndex()}
        dialog.pages.currentChanged.connect(pages.add)
        t = time.perf_counter()
        key("Enter", Qt.Key.Key_Return)
        _wait(app, lambda: bool(answered), "the gateway's answer")
        enter_to_paid.append((time.perf_counter() - t) * 1000)
        paid_keys = len(pressed)
        result = answered[0]
        assert isinstance(result, payments.PaymentResult)
        if result.status != "settled" or not dialog.result_title.text().startswith("Paid:"):
            raise RuntimeError(f"not settled: {result}")
        stored = payments.payment_result(store, result.payment_id)
        if stored is None or stored.status != "settled":
            raise RuntimeError(f"the store does not hold the payment as settled: {stored}")
        charges = gateway.charges_for(result.payment_id)
        if len(charges) != 1 or charges[0].amount_cents != due:
            raise RuntimeError(f"gateway charges for {result.payment_id}: {charges}")
        opened = {w for w in QApplication.topLevelWidgets()
                  if isinstance(w, QDialog) and w.isVisible()} - before
        key("Esc", Qt.Key.Key_Escape)
        _wait(app, lambda: not dialog.isVisible(), "the dialog to close")
        per_payment.append(paid_keys)
        to_close.append(len(pressed))
        dialogs_opened.append(len(opened))
        pages_seen.append(len(pages))
        Pools.wait_idle(10000)
        app.processEvents()
        window.customers.close_current()

    for customer_id, name, _card in customers:
        pay_one(customer_id, name)

    app.removeEventFilter(watch)
    controller.stop()
    Pools.wait_idle(10000)
    window.close()
    app.processEvents()
    service.close()
    store.close()
    figures = {
        "keys_to_pay": max(per_payment), "keys_with_close": max(to_close),
        "dialogs": max(dialogs_opened), "pages": max(pages_seen), "mouse": len(mouse),
        "enter_to_paid_p50": percentile(enter_to_paid, 0.5),
        "enter_to_paid_p95": percentile(enter_to_paid, 0.95), "samples": len(per_payment),
    }
    goal = "met" if figures["keys_with_close"] <= 5 and not mouse else "MISSED"
    print(f"\n(a) card on file for the balance, from an open 360 ({len(per_payment)} "
          f"customers, each settled and charged once)")
    print(f"  keystrokes to pay: {figures['keys_to_pay']} (Ctrl+P, Enter); with closing "
          f"the dialog: {figures['keys_with_close']} (+ Esc); mouse: {len(mouse)}  "
          f"[goal <= 5, no mouse: {goal}]")
    print(f"  screens: {figures['dialogs']} dialog over the 360, {figures['pages']} pages "
          "in it (the form with the balance and the default card, then the answer)")
    report("  Enter -> 'Paid' and the confirmation shown", enter_to_paid)
    return figures


# --- (b) end to end -----------------------------------------------------------------------


def end_to_end(store_path: Path, server_url: str, gateway: Any, n: int,
               seed: int) -> dict[str, Any]:
    from agent_desktop.services import payments
    from agent_desktop.services.context import agent_by_username
    from agent_desktop.services.sync import SyncService
    from agent_desktop.storage.store import open_store

    store = open_store(store_path)
    service = SyncService(store, server_url, "agent", tokens=_memory_tokens())
    service.login(PASSWORD)
    who = agent_by_username(store, "agent")
    assert who is not None
    cards = _valid_cards(store_path, default_only=False, owing=False)
    rng = random.Random(seed)
    rng.shuffle(cards)
    answered_at: list[float] = []
    real_push = service.client.push

    def timed_push(mutations: Any) -> Any:
        answer = real_push(mutations)
        answered_at.append(time.perf_counter())  # the server's applied answer is here
        return answer

    service.client.push = timed_push  # type: ignore[method-assign]
    status, _ = service.sync()  # the first pass of the day: not counted
    if not status.online:
        raise RuntimeError(f"the desk cannot sync: {status.detail}")
    write, push, pull, total = [], [], [], []
    ids: list[str] = []
    charges_before = gateway.charge_count()
    try:
        for i in range(n):
            customer_id, _name, card = cards[i % len(cards)]
            payment_id = payments.new_payment_id()
            amount = rng.randrange(500, 20_000)
            answered_at.clear()
            t0 = time.perf_counter()
            payments.take_payment(store, who, customer_id, amount, "card",
                                  payment_id=payment_id, payment_method_id=card)
            t1 = time.perf_counter()
            status, _ = service.sync()
            result = payments.payment_result(store, payment_id)
            t4 = time.perf_counter()
            if not status.online or status.pending or len(answered_at) != 1:
                raise RuntimeError(f"payment {i}: {status}")
            if result is None or result.status != "settled":
                raise RuntimeError(f"payment {i} is not settled: {result}")
            ids.append(payment_id)
            write.append((t1 - t0) * 1000)
            push.append((answered_at[0] - t1) * 1000)
            pull.append((t4 - answered_at[0]) * 1000)
            total.append((t4 - t0) * 1000)
    finally:
        service.close()
        store.close()
    once = all(len(gateway.charges_for(p)) == 1 for p in ids)
    charged = gateway.charge_count() - charges_before
    print(f"\n(b) payment end to end through the server and its gateway stub ({n} card "
          f"payments on file, one at a time)")
    report("  take_payment (the desk's write)", write)
    report("  sync: push -> the server's 'applied'", push)
    report("  sync: answer recorded, pull, read back", pull)
    figures = report("  take_payment -> 'settled' read back", total)
    print(f"  gateway: {charged} charges for {len(ids)} payments; each id charged once: "
          f"{'yes' if once and charged == len(ids) else 'NO'}")
    return {**figures, "write_p50": percentile(write, 0.5), "push_p50": percentile(push, 0.5),
            "pull_p50": percentile(pull, 0.5), "charged_once": once and charged == len(ids)}


# --- (c) ledger ---------------------------------------------------------------------------


def _copy_row(conn: sqlite3.Connection, table: str, template: sqlite3.Row,
              rows: list[dict[str, Any]]) -> None:
    columns = template.keys()
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    conn.executemany(sql, [tuple({**dict(template), **r}[c] for c in columns) for r in rows])


def add_ledger_entries(path: Path, customer_id: str, n: int, seed: int) -> dict[str, int]:
    """``n`` more entries for one customer, straight into the store: 40% bills, 50%
    payments (settled), 10% adjustments (posted; credits and debits), dated over the last
    24 months. Returns how many of each."""
    rng = random.Random(seed)
    today = date.today()
    first = today - timedelta(days=700)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        def template(table: str) -> sqlite3.Row:
            row: sqlite3.Row | None = conn.execute(
                f"SELECT * FROM {table} ORDER BY customer_id = ? DESC LIMIT 1",
                (customer_id,)).fetchone()
            assert row is not None, table
            return row

        inv_t, pay_t, adj_t = template("invoices"), template("payments"), template("adjustments")
        counts = {"invoices": n * 4 // 10, "payments": n // 2}
        counts["adjustments"] = n - counts["invoices"] - counts["payments"]

        def day() -> date:
            return first + timedelta(days=rng.randrange(700))

        def stamp(d: date) -> str:
            return f"{d.isoformat()} {rng.randrange(8, 20):02d}:{rng.randrange(60):02d}:00.000000"

        invoices, pays, adjustments = [], [], []
        for i in range(counts["invoices"]):
            d, cents = day(), rng.randrange(2_000, 30_000)
            invoices.append({"id": f"{'b' * 8}{i:024x}", "customer_id": customer_id,
                             "invoice_number": f"BENCH-{i:07d}", "issued_on": d.isoformat(),
                             "due_on": (d + timedelta(days=21)).isoformat(),
                             "period_start": d.isoformat(),
                             "period_end": (d + timedelta(days=30)).isoformat(),
                             "subtotal_cents": cents, "tax_cents": 0, "total_cents": cents,
                             "created_at": stamp(d)})
        for i in range(counts["payments"]):
            d, cents = day(), rng.randrange(1_000, 24_000)
            pays.append({"id": f"{'c' * 8}{i:024x}", "customer_id": customer_id,
                         "entry": "payment", "reverses_payment_id": None, "status": "settled",
                         "amount_cents": cents, "received_at": stamp(d),
                         "created_at": stamp(d), "confirmation_number": f"P{i:011d}",
                         "invoice_id": None, "interaction_id": None})
        for i in range(counts["adjustments"]):
            d = day()
            adjustments.append({"id": f"{'d' * 8}{i:024x}", "customer_id": customer_id,
                                "direction": "credit" if i % 3 else "debit",
                                "amount_cents": rng.randrange(100, 5_000), "status": "posted",
                                "posted_on": d.isoformat(), "created_at": stamp(d),
                                "invoice_id": None, "invoice_line_id": None, "case_id": None})
        with conn:
            _copy_row(conn, "invoices", inv_t, invoices)
            _copy_row(conn, "payments", pay_t, pays)
            _copy_row(conn, "adjustments", adj_t, adjustments)
        return counts
    finally:
        conn.close()


_ALL_TIME_BALANCE = (
    "SELECT (SELECT coalesce(sum(total_cents), 0) FROM invoices WHERE customer_id = :c)"
    " - (SELECT coalesce(sum(CASE entry WHEN 'payment' THEN amount_cents ELSE -amount_cents"
    " END), 0) FROM payments WHERE customer_id = :c AND status IN ('settled','authorized'))"
    " + (SELECT coalesce(sum(CASE direction WHEN 'debit' THEN amount_cents ELSE"
    " -amount_cents END), 0) FROM adjustments WHERE customer_id = :c AND status = 'posted')")


def ledger(seed_store: Path, folder: Path, entries: int, repeat: int,
           seed: int) -> dict[str, Any]:
    from agent_desktop.services.customer360 import load_360
    from agent_desktop.storage.customer_record import opening_balance_cents
    from agent_desktop.storage.store import open_store

    path = folder / "ledger.sqlite3"
    shutil.copyfile(seed_store, path)
    # A customer with a full history of their own (the most bills, then payments).
    [(customer_id, name)] = _rows(
        path, "SELECT c.id, c.display_name FROM customers c WHERE c.kind = 'consumer' "
        "ORDER BY (SELECT count(*) FROM invoices i WHERE i.customer_id = c.id) DESC, "
        "(SELECT count(*) FROM payments p WHERE p.customer_id = c.id) DESC, "
        "c.account_number LIMIT 1")
    store = open_store(path)
    try:
        def entry_count() -> int:
            [(count,)] = _rows(path, "SELECT (SELECT count(*) FROM invoices WHERE customer_id "
                               "= ?1) + (SELECT count(*) FROM payments WHERE customer_id = ?1)"
                               " + (SELECT count(*) FROM adjustments WHERE customer_id = ?1)",
                               customer_id)
            return int(count)

        had = entry_count()
        load_360(store, customer_id)
        typical = timed(lambda: load_360(store, customer_id), repeat)
        t = time.perf_counter()
        counts = add_ledger_entries(path, customer_id, entries, seed)
        inserted_s = time.perf_counter() - t
        has = entry_count()
        view = load_360(store, customer_id)  # warms the page cache; not counted
        big = timed(lambda: load_360(store, customer_id), repeat)
        far = date(9999, 1, 1)

        def sql_balance() -> int:
            with store.engine.connect() as conn:
                return opening_balance_cents(conn, customer_id, far)

        derived = sql_balance()
        sums = timed(sql_balance, repeat * 4)
        [(independent,)] = _rows(path, _ALL_TIME_BALANCE.replace(":c", "?1"), customer_id)
    finally:
        store.close()
    agree = view.balance_cents == derived == independent
    print(f"\n(c) ledger balance of one customer ({name}) with {has:,} ledger entries "
          f"({had} of their own + {counts['invoices']:,} bills, {counts['payments']:,} "
          f"payments, {counts['adjustments']:,} adjustments inserted in {inserted_s:.1f} s, "
          f"dated over the 24 months the 360 lists)")
    before = report(f"  load_360, the same customer before ({had} entries)", typical)
    figures = report(f"  load_360 with {has:,} entries", big)
    sql = report("  balance alone: one SQL sum over every entry", sums)
    print(f"  ledger lines in the 360: {len(view.ledger):,} (bills, payments that went "
          f"through, posted adjustments); balance "
          f"{view.balance_cents / 100:,.2f}; load_360 = SQL sum = independent sum: "
          f"{'yes' if agree else 'NO'}")
    return {"entries": has, "load_360_p50": figures["p50"], "load_360_p95": figures["p95"],
            "typical_p95": before["p95"], "sql_p50": sql["p50"], "sql_p95": sql["p95"],
            "agree": agree}


# --- the benchmark ------------------------------------------------------------------------


def main() -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--store", type=Path, default=None,
                    help="a demo store to copy (default: generate one of --customers)")
    ap.add_argument("--payments", type=int, default=300)
    ap.add_argument("--ui-samples", type=int, default=20)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=50, help="timed load_360 calls in (c)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    on_signal_exit()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-payments-") as tmp:
        folder = Path(tmp)
        os.environ["AGENT_DESKTOP_HOME"] = str(folder / "home")
        from agent_desktop.storage import sync_store
        from agent_desktop.storage.demo_data import generate
        from agent_desktop.storage.store import open_store
        from server_stub.__main__ import prepare
        from server_stub.gateway import Gateway
        from server_stub.snapshot import seed_from_store
        from server_stub.store import open_engine

        seed_store = folder / "demo.sqlite3"
        t = time.perf_counter()
        if a.store is not None:
            shutil.copyfile(a.store, seed_store)
            made = f"a copy of {a.store}"
        else:
            generate(seed_store, a.customers, a.seed, as_of=date.today())
            made = f"generated as of {date.today()} in {time.perf_counter() - t:.1f} s"
        [(n_customers,)] = _rows(seed_store, "SELECT count(*) FROM customers")
        size_mb = seed_store.stat().st_size / 1e6
        url = f"sqlite:///{folder / 'server.sqlite3'}"
        t = time.perf_counter()
        prepare(url, seed_demo_users=True)
        engine = open_engine(url)
        try:
            seq = seed_from_store(engine, seed_store, None)
        finally:
            engine.dispose()
        seeded_s = time.perf_counter() - t
        desk = folder / "desk.sqlite3"
        shutil.copyfile(seed_store, desk)
        store = open_store(desk)
        try:
            sync_store.start_afresh(store, seq)
        finally:
            store.close()
        print(f"store: demo store of {n_customers:,} customers ({size_mb:,.0f} MB, {made}); "
              f"server: agent-desktop-server on 127.0.0.1, SQLite, seeded from it in "
              f"{seeded_s:.1f} s; gateway stub beside it; {datetime.now(UTC):%Y-%m-%d %H:%M} "
              f"UTC, load average {os.getloadavg()[0]:.1f}")
        with ServerProcess(url, folder / "server.log") as server:
            gateway = Gateway.beside(url)
            try:
                figures["keystrokes"] = keystrokes(desk, server.url, gateway, a.ui_samples)
                figures["end_to_end"] = end_to_end(desk, server.url, gateway, a.payments,
                                                   a.seed)
            finally:
                gateway.close()
        figures["ledger"] = ledger(seed_store, folder, a.entries, a.repeat, a.seed)
    return figures


if __name__ == "__main__":
    main()
