"""Offers: ranking for a customer with 10 services, and the keystrokes to complete an
up-sell from the 360.

    QT_QPA_PLATFORM=offscreen python bench/offers_bench.py [--store /tmp/bench-1m.sqlite3]
        [--customers 2000] [--repeat 2000] [--samples 40] [--ui-samples 10]

(a) Domain only: ``domain.offers.evaluate`` over the shipped rules (resources/offers.json)
    and catalog, for ``CustomerFacts`` with 10 services (internet, TV with two add-ons,
    home phone, mobile, equipment), 3 open cases (none an outage), 6 past answers and a
    card on file: every offer of the rules is considered, 3 come out. ``--repeat`` calls.
    Goal: p95 <= 5 ms.
(b) Through the service: ``services.offers.offers_for(store, customer, "360")``: the
    customer's facts read with the indexed queries of storage.offers, then the same
    ranking. Customers with exactly 10 services (``--samples`` of them, round robin,
    ``--repeat`` calls in all) in ``--store`` (read, never written: e.g. the million-
    customer store of `make bench`), or else in a demo store of ``--customers`` generated
    here as of today.
(c) Keystrokes: the real MainWindow, offscreen, on a demo store generated here (the
    answers and orders are written to it). A customer with a default payment method
    whose best offer is an up-sell is opened as Enter on a search result does; from
    there only keys, sent with QTest to whatever has the focus, while an event filter
    counts mouse presses. The offer strip shows the up-sell without taking the focus;
    Alt+Y records "accepted" and the order wizard opens with the offer's cart (checked);
    then the wizard's own keys, as an agent presses them, until the order is placed.
    Checked: the answer in offers_shown, the ``record_offer`` and ``place_order``
    mutations queued.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import report

WAIT_SECONDS = 20.0


def _ten_services_facts() -> Any:
    from agent_desktop.domain.offers import CaseFact, CustomerFacts, PastResponse, ServiceFact

    services = (
        ServiceFact("INT-100", "internet", 3, "active", 5500),
        ServiceFact("INT-UNLTD", "internet", None, "active", 3000),
        ServiceFact("TV-BASIC", "tv", 1, "active", 3500),
        ServiceFact("TV-SPORTS", "tv", None, "active", 1200),
        ServiceFact("TV-DVR", "tv", None, "active", 1000),
        ServiceFact("PH-LOCAL", "phone", 1, "active", 2000),
        ServiceFact("MOB-BYG", "mobile", 1, "active", 1500),
        ServiceFact("EQ-GW", "equipment", None, "active", 1500),
        ServiceFact("EQ-TVBOX", "equipment", None, "active", 1000),
        ServiceFact("EQ-CARE", "equipment", None, "active", 2400),
    )
    today = date.today()
    cases = (CaseFact("CS-1", "inquiry", "open", "BILLING-INQUIRY"),
             CaseFact("CS-2", "complaint", "pending_customer", "COMPLAINT"),
             CaseFact("CS-3", "dispute", "pending_internal", "BILLING-DISPUTE"))
    answers = tuple(PastResponse(code, response, today.replace(day=1))
                    for code, response in (("INT-1000", "declined"), ("SEC-SELF", "not_now"),
                                           ("TV-BASIC", "not_now"), ("PH-LOCAL", "accepted"),
                                           ("INT-2000", "declined"), ("MOB-BYG", "declined")))
    return CustomerFacts("f" * 32, "Maria", "active", services, "NE", None, 52, 1, 0, False,
                         cases, answers, frozenset({"card"}))


def domain_only(repeat: int) -> dict[str, float]:
    from agent_desktop.domain.offers import evaluate
    from agent_desktop.services.offers import offer_setup

    catalog, rules = offer_setup()
    facts = _ten_services_facts()
    today = date.today()
    ranking = evaluate(catalog, rules, facts, today, "360")
    if not ranking.offers:
        raise RuntimeError(f"the bench customer gets no offer: {ranking.reason}")
    print(f"(a) 10 services, {len(rules.offers)} offers in the rules -> "
          f"{[o.code for o in ranking.offers]}")
    for _ in range(50):  # warm up
        evaluate(catalog, rules, facts, today, "360")
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        evaluate(catalog, rules, facts, today, "360")
        samples.append((time.perf_counter() - t) * 1000)
    return report("offer ranking, domain only (10 services)", samples)


def _read_only(path: Path) -> Any:
    """The store at ``path`` opened read-only: never written, an older schema not
    upgraded (the facts' queries use columns every revision has)."""
    from sqlalchemy import create_engine

    from agent_desktop.storage.store import Store

    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return Store(path, engine)


def through_store(store_path: Path, repeat: int, samples_wanted: int) -> dict[str, float]:
    from agent_desktop.services.offers import offers_for

    store = _read_only(store_path)
    try:
        with store.engine.connect() as conn:
            ids = [str(r[0]) for r in conn.exec_driver_sql(
                "SELECT customer_id FROM services GROUP BY customer_id "
                "HAVING count(*) = 10 LIMIT ?", (samples_wanted,))]
        if not ids:
            raise RuntimeError("no customer with exactly 10 services in the store")
        offered = sum(1 for cid in ids if offers_for(store, cid).offers)
        print(f"(b) {len(ids)} customers with 10 services in {store_path.name}: "
              f"{offered} get offers, {len(ids) - offered} a reason")
        samples = []
        for i in range(repeat):
            cid = ids[i % len(ids)]
            t = time.perf_counter()
            offers_for(store, cid)
            samples.append((time.perf_counter() - t) * 1000)
        return report("offers_for through the store (10 services)", samples)
    finally:
        store.engine.dispose()


def _wait(app: Any, done: Callable[[], bool], what: str) -> None:
    """Run the event loop until ``done()``; a bench may poll, with a deadline."""
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)


def keystrokes(store_path: Path, samples: int) -> dict[str, Any]:
    import sqlite3

    from PySide6.QtCore import (
        QEvent,
        QObject,
        Qt,
    )
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from agent_desktop.app import build_window
    from agent_desktop.domain.order_wizard import Step
    from agent_desktop.platform.settings import Settings
    from agent_desktop.services.offers import offers_for
    from agent_desktop.storage.store import open_store
    from agent_desktop.ui.screens.order_wizard import OrderWizardDialog
    from agent_desktop.ui.tasks import Pools
    from bench.qt_window import qt_app

    app = qt_app()
    store = open_store(store_path)
    with store.engine.connect() as conn:
        rows = [(str(a), str(b)) for a, b, _n in conn.exec_driver_sql(
            "SELECT DISTINCT c.id, c.display_name, c.account_number FROM customers c "
            "JOIN payment_methods m ON "
            "m.customer_id = c.id AND m.is_default = 1 AND m.status = 'active' "
            "WHERE c.kind = 'consumer' AND c.status = 'active' ORDER BY c.account_number")]
    chosen = []
    for cid, name in rows:
        top = offers_for(store, cid).top
        if top is not None and top.kind == "up_sell":
            chosen.append((cid, name, top.code))
        if len(chosen) == samples:
            break
    window = build_window(store, "agent", Settings())
    window.resize(1440, 900)
    window.show()
    window.activateWindow()
    _wait(app, window.isActiveWindow, "the window")
    mouse: list[int] = []

    class MouseWatch(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() in (QEvent.Type.MouseButtonPress,
                                QEvent.Type.MouseButtonDblClick):
                mouse.append(int(event.type()))
            return False

    watch = MouseWatch()
    app.installEventFilter(watch)
    pressed: list[str] = []

    def key(name: str, k: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
            ) -> None:
        target = QApplication.focusWidget() or QApplication.activeWindow() or window
        QTest.keyClick(target, k, mod)
        pressed.append(name)

    alt = Qt.KeyboardModifier.AltModifier
    to_wizard: list[int] = []
    to_placed: list[int] = []
    shown_ms: list[float] = []
    strip_ms: list[float] = []
    sequences: dict[tuple[str, ...], int] = {}
    for cid, name, code in chosen:
        shown: list[str] = []
        window.customers.customer_shown.connect(shown.append)
        t = time.perf_counter()
        window.finder.open_customer.emit(cid, name)  # Enter on a search result
        _wait(app, lambda cid=cid, shown=shown: cid in shown, "the 360")  # type: ignore[misc]
        painted = time.perf_counter()
        window.customers.customer_shown.disconnect(shown.append)
        view = window.customers.current_view()
        assert view is not None
        strip = view.offers
        _wait(app, lambda strip=strip: strip.offer is not None,  # type: ignore[misc]
              "the offer strip")
        shown_ms.append((painted - t) * 1000)
        strip_ms.append((time.perf_counter() - painted) * 1000)
        offer = strip.offer
        assert offer is not None
        focus = QApplication.focusWidget()
        if offer.code != code or focus is None or strip.isAncestorOf(focus):
            raise RuntimeError(f"unexpected strip for {cid}: {offer.code} / focus {focus}")

        pressed.clear()
        key("Alt+Y", Qt.Key.Key_Y, alt)  # the customer accepts
        _wait(app, lambda: isinstance(getattr(window, "order_dialog", None),
                                      OrderWizardDialog)
              and window.order_dialog.isVisible()  # type: ignore[attr-defined]
              and window.order_dialog.isActiveWindow(),  # type: ignore[attr-defined]
              "the order wizard")
        dialog = window.order_dialog  # type: ignore[attr-defined]
        cart = [(c.sku, c.quantity, c.promotion_code, c.bundle_code) for c in dialog.wizard.cart]
        if cart != [(c.sku, c.quantity, c.promotion_code, c.bundle_code) for c in offer.cart]:
            raise RuntimeError(f"the wizard's cart {cart} is not the offer's {offer.cart}")
        to_wizard.append(len(pressed))
        placed: list[object] = []
        dialog.placed.connect(placed.append)
        for _ in range(30):  # the wizard's steps, as an agent keys them
            if placed:
                break
            step = dialog.wizard.step
            needs = dialog.needs.text().lower()
            if step == Step.ADDRESS:
                key("Alt+N", Qt.Key.Key_N, alt)  # the address on file
            elif step == Step.PAYMENT and "autopay" in needs and not dialog.wizard.autopay:
                key("Alt+P", Qt.Key.Key_P, alt)  # the promotion needs autopay
                _wait(app, lambda d=dialog: d.wizard.autopay, "autopay")  # type: ignore[misc]
                continue
            elif step == Step.PAYMENT and not dialog.wizard.terms_accepted:
                key("Alt+T", Qt.Key.Key_T, alt)  # the customer agrees to the terms
                _wait(app, lambda d=dialog: d.wizard.terms_accepted,  # type: ignore[misc]
                      "the terms")
                continue
            else:
                key(f"Enter ({step.value})", Qt.Key.Key_Return)
            try:
                _wait(app, lambda d=dialog, s=step, p=placed: bool(p)  # type: ignore[misc]
                      or d.wizard.step != s, f"the wizard to leave {step.value}")
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}: {dialog.needs.text()}") from None
        if not placed:
            raise RuntimeError(f"the order for {cid} was not placed: {pressed}")
        to_placed.append(len(pressed))
        sequences[tuple(pressed)] = sequences.get(tuple(pressed), 0) + 1
        conn = sqlite3.connect(store_path)
        try:
            [(response,)] = conn.execute(
                "SELECT response FROM offers_shown WHERE customer_id = ? AND offer_code = ?",
                (cid, code)).fetchall()
            names = [n for (n,) in conn.execute(
                "SELECT name FROM sync_outbox WHERE json_extract(args, '$.customer_id') = ?",
                (cid,))]
        finally:
            conn.close()
        # The accepted offer, then one answer per offer the wizard's Offers step put to
        # the customer (recorded by the wizard), and the order once.
        if response != "accepted" or names.count("place_order") != 1 \
                or names[0] != "record_offer":
            raise RuntimeError(f"{cid}: response {response}, mutations {names}")
        _wait(app, lambda d=dialog: not d.isVisible(), "the wizard to close")  # type: ignore[misc]
        Pools.wait_idle(10000)
        app.processEvents()
        window.customers.close_current()
        # Offscreen there is no window manager to give the focus back to the main window
        # when a dialog closes; on a desktop it returns by itself (not a keystroke).
        window.activateWindow()
        _wait(app, window.isActiveWindow, "the window to be active")
    app.removeEventFilter(watch)
    Pools.wait_idle(10000)
    window.close()
    app.processEvents()
    store.close()
    figures = {"to_wizard": max(to_wizard), "to_placed_min": min(to_placed),
               "to_placed_max": max(to_placed), "mouse": len(mouse),
               "samples": len(to_placed)}
    print(f"(c) keystrokes from the 360 to the order wizard with the offer in its cart: "
          f"{figures['to_wizard']} (Alt+Y); to the order placed: {min(to_placed)}-"
          f"{max(to_placed)} over {len(to_placed)} up-sells; mouse presses {len(mouse)}")
    for sequence, count in sorted(sequences.items(), key=lambda kv: -kv[1]):
        print(f"    {count} x {len(sequence)} keys: {', '.join(sequence)}")
    report("(c) Enter on a result -> 360 shown", shown_ms)
    report("(c) 360 shown -> its offer strip filled", strip_ms)
    return figures


def main() -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, default=None,
                    help="a store to read for (b) (default: the demo store made here)")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--ui-samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-offers-") as tmp:
        folder = Path(tmp)
        os.environ["AGENT_DESKTOP_HOME"] = str(folder / "home")
        from agent_desktop.storage.demo_data import generate

        demo = folder / "demo.sqlite3"
        t = time.perf_counter()
        generate(demo, a.customers, a.seed, as_of=date.today())
        print(f"demo store: {a.customers:,} customers generated as of {date.today()} in "
              f"{time.perf_counter() - t:.1f} s; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"load average {os.getloadavg()[0]:.1f}")
        figures["domain"] = domain_only(a.repeat)
        figures["store"] = through_store(a.store or demo, a.repeat, a.samples)
        figures["keystrokes"] = keystrokes(demo, a.ui_samples)
    return figures


if __name__ == "__main__":
    main()
