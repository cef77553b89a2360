"""Offers on the 360, by keyboard: the customer's best offer shows in a strip that never
takes the focus; Alt+Y records "accepted" and asks the main window to start the order
with the offer in the cart; Alt+Z (declined) and Alt+X (not now) are recorded too; a
customer with an open outage case gets no offer and a plain reason; right after a card
update the strip opens with thanks."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_desktop.services import cases
from agent_desktop.services.context import Changes
from agent_desktop.services.offers import OffersFor, offers_for
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens.customer360.view import Customer360View

ALT = Qt.KeyboardModifier.AltModifier


def _customer(store: Store, *, offers: int = 1, skip: int = 0) -> tuple[str, str, OffersFor]:
    """A consumer whose best offer today is an up-sell, with at least ``offers`` offers."""
    with store.engine.connect() as conn:
        rows = [(str(a), str(b)) for a, b in conn.exec_driver_sql(
            "SELECT id, display_name FROM customers WHERE kind = 'consumer' AND "
            "status = 'active' ORDER BY account_number")]
    for customer_id, name in rows:
        result = offers_for(store, customer_id, "360", today=date.today())
        if result.top is not None and result.top.kind == "up_sell" and \
                len(result.offers) >= offers:
            if skip == 0:
                return customer_id, name, result
            skip -= 1
    raise AssertionError("no customer with an up-sell in the demo store")


def _open(qtbot: QtBot, window: MainWindow, customer_id: str, name: str) -> Customer360View:
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window._open_customer(customer_id, name)  # as Enter on a search result does
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    view.ledger.setFocus(Qt.FocusReason.OtherFocusReason)
    return view


def _answers(store: Store, customer_id: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(store.path)
    try:
        return [(str(a), str(b)) for a, b in conn.execute(
            "SELECT offer_code, response FROM offers_shown o WHERE customer_id = ? AND "
            "EXISTS (SELECT 1 FROM sync_outbox m WHERE m.name = 'record_offer' AND "
            "json_extract(m.args, '$.id') = o.id) ORDER BY created_at", (customer_id,))]
    finally:
        conn.close()


def _key(qtbot: QtBot, key: Qt.Key) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, ALT)


def test_an_up_sell_on_the_360_is_accepted_with_one_key(
        qtbot: QtBot, window: MainWindow, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, tuple[object, ...]]] = []
    monkeypatch.setattr(window, "start_order",
                        lambda customer_id, cart: started.append((customer_id, cart)))
    customer_id, name, expected = _customer(store)
    view = _open(qtbot, window, customer_id, name)
    strip = view.offers
    qtbot.waitUntil(lambda: strip.offer is not None, timeout=10000)
    offer = strip.offer
    assert offer is not None and expected.top is not None
    assert offer.code == expected.top.code and offer.kind == "up_sell"
    assert strip.isVisible() and strip.pitch.text() == offer.pitch
    assert strip.why.text() == offer.why and offer.why.startswith("Up-sell from ")
    assert all(b.isVisible() for b in strip.buttons.values())
    # A prompt, not a pop-up: the caret stays where the agent was.
    assert QApplication.focusWidget() is view.ledger
    assert strip.focusPolicy() == Qt.FocusPolicy.NoFocus

    keystrokes = 0
    _key(qtbot, Qt.Key.Key_Y)  # Alt+Y: the customer accepts
    keystrokes += 1
    qtbot.waitUntil(lambda: bool(started), timeout=10000)
    assert keystrokes == 1
    assert started == [(customer_id, offer.cart)]
    assert offer.cart and offer.cart[0].sku == offer.sku
    assert _answers(store, customer_id) == [(offer.code, "accepted")]
    assert strip.offer is None and strip.pitch.text().startswith(f"Accepted: {offer.name}.")
    assert QApplication.focusWidget() is view.ledger


def test_declined_and_not_now_are_recorded_by_keyboard(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, _ = _customer(store, offers=2, skip=1)
    view = _open(qtbot, window, customer_id, name)
    strip = view.offers
    qtbot.waitUntil(lambda: strip.offer is not None, timeout=10000)
    first = strip.offer
    assert first is not None

    _key(qtbot, Qt.Key.Key_Z)  # Alt+Z: declined
    qtbot.waitUntil(lambda: strip.offer is not None and strip.offer.code != first.code,
                    timeout=10000)
    assert _answers(store, customer_id) == [(first.code, "declined")]
    assert strip.status.text() == "Recorded: declined"
    second = strip.offer
    assert second is not None

    _key(qtbot, Qt.Key.Key_X)  # Alt+X: not now
    qtbot.waitUntil(lambda: strip.offer is None and strip.result is not None, timeout=10000)
    assert _answers(store, customer_id) == [(first.code, "declined"),
                                            (second.code, "not_now")]
    assert strip.pitch.text() == ("They said 'not now' to an offer today: no more offers "
                                  "until tomorrow.")
    assert not any(b.isVisible() for b in strip.buttons.values())
    _key(qtbot, Qt.Key.Key_Y)  # nothing on screen to accept: nothing happens
    assert len(_answers(store, customer_id)) == 2
    assert QApplication.focusWidget() is view.ledger


def test_no_offer_and_a_plain_reason_while_an_outage_case_is_open(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, _ = _customer(store)
    with store.engine.connect() as conn:
        sku = conn.exec_driver_sql(
            "SELECT s.sku FROM services s JOIN products p ON p.sku = s.sku WHERE "
            "s.customer_id = ? AND p.family_code = 'internet' AND s.status = 'active' "
            "LIMIT 1", (customer_id,)).scalar()
    change = cases.create_case(store, window.who, customer_id, "trouble_ticket", "high",
                               "No internet since this morning", category="TECH-INTERNET",
                               product_sku=str(sku))
    view = _open(qtbot, window, customer_id, name)
    strip = view.offers
    qtbot.waitUntil(lambda: strip.result is not None, timeout=10000)
    assert strip.offer is None
    assert strip.pitch.text() == (f"No offers while the internet outage case "
                                  f"{change.case_number} is open: fix it first.")
    assert not any(b.isVisible() for b in strip.buttons.values())
    _key(qtbot, Qt.Key.Key_Y)
    assert _answers(store, customer_id) == []


def test_after_a_card_update_the_strip_opens_with_thanks(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id, name, _ = _customer(store)
    view = _open(qtbot, window, customer_id, name)
    strip = view.offers
    qtbot.waitUntil(lambda: strip.offer is not None, timeout=10000)
    window.payment_methods()  # Ctrl+Shift+M
    dialog = window.methods_dialog
    try:
        # The dialog saved a change (an expiry, a new default card...).
        dialog.changed.emit(Changes(customers=frozenset({customer_id})))
        qtbot.waitUntil(lambda: strip.offer is not None
                        and strip.offer.moment == "after_card_update", timeout=10000)
        assert strip.pitch.text().startswith("Thanks for updating your card")
        assert strip.moment == "after_card_update"
    finally:
        dialog.close()


def test_an_accepted_up_sell_opens_the_wizard_replacing_the_current_tier(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    from agent_desktop.ui.screens.order_wizard.dialog import OrderWizardDialog

    customer_id, name, _expected = _customer(store)
    view = _open(qtbot, window, customer_id, name)
    strip = view.offers
    qtbot.waitUntil(lambda: strip.offer is not None, timeout=10000)
    offer = strip.offer
    assert offer is not None and offer.kind == "up_sell"
    replaced = offer.cart[0].replaces
    assert replaced is not None  # the tier the customer has now
    _key(qtbot, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "order_dialog", None),
                                       OrderWizardDialog)
                    and window.order_dialog.isVisible(), timeout=10000)
    dialog = window.order_dialog
    assert [(c.sku, c.replaces) for c in dialog.wizard.cart] == [
        (offer.sku, replaced)]
    qtbot.waitUntil(lambda: dialog.wizard.cached_quote() is not None, timeout=10000)
    quote = dialog.wizard.cached_quote()
    assert quote is not None
    gone = [ln for ln in quote.lines if ln.kind == "replaced"]
    assert [ln.sku for ln in gone] == [replaced] and gone[0].net_cents < 0
    # What the offer said it adds is what the bill changes by.
    products = sum(ln.net_cents for ln in quote.lines if ln.kind == "product")
    assert products + gone[0].net_cents == offer.adds_cents
    dialog.reject()  # Esc, then Discard: nothing kept
    qtbot.waitUntil(lambda: dialog.leave_box is not None and dialog.leave_box.isVisible(),
                    timeout=5000)
    qtbot.keyClick(dialog.leave_box, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
