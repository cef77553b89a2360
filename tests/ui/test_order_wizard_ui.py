"""The order wizard by keyboard, the way an agent keys an order on a call: an existing
customer orders the Internet + TV Duo with their loyalty discount through every step and
confirms; the 360 then shows the order and a notice gives its number. An order left
half-way with Esc is kept as a draft and resumed where it was left."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from agent_desktop.domain import orders as lifecycle
from agent_desktop.domain.order_wizard import Step
from agent_desktop.storage.store import Store
from agent_desktop.ui.main_window import MainWindow
from agent_desktop.ui.screens import order_wizard
from agent_desktop.ui.screens.order_wizard import OrderWizardDialog
from agent_desktop.ui.screens.order_wizard.pages import (
    ConfigurePage,
    PaymentPage,
    ProductsPage,
)

TODAY = date(2026, 11, 24)
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture(autouse=True)
def pinned_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(order_wizard, "today", lambda: TODAY)


def _customer(store: Store) -> tuple[str, str]:
    """A customer of 24+ months (the loyalty discount) with a card on file, neither
    internet nor TV yet, and no order kept."""
    conn = sqlite3.connect(store.path)
    row = conn.execute(
        "SELECT c.id, c.display_name FROM customers c JOIN payment_methods m ON "
        "m.customer_id = c.id AND m.is_default = 1 AND m.kind = 'card' AND m.status = "
        "'active' WHERE c.kind = 'consumer' AND c.status = 'active' AND c.customer_since < "
        "'2024-06-01' AND NOT EXISTS (SELECT 1 FROM services s WHERE s.customer_id = c.id "
        "AND s.status = 'active' AND (s.sku LIKE 'TV-%' OR s.sku LIKE 'INT-%')) AND NOT "
        "EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = 'draft')"
        " ORDER BY c.account_number LIMIT 1").fetchone()
    conn.close()
    return str(row[0]), str(row[1])


def _open_360(qtbot: QtBot, window: MainWindow, store: Store) -> str:
    customer_id, name = _customer(store)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=10000):
        window.customers.open_customer(customer_id, name)
    return customer_id


def _press(qtbot: QtBot, key: Qt.Key, modifiers: Qt.KeyboardModifier =
           Qt.KeyboardModifier.NoModifier, target: QWidget | None = None) -> None:
    """A key as the agent presses it: to whatever has the caret."""
    widget = target or QApplication.focusWidget() or QApplication.activeWindow()
    assert widget is not None
    qtbot.keyClick(widget, key, modifiers)


def _type(qtbot: QtBot, text: str) -> None:
    widget = QApplication.focusWidget()
    assert widget is not None
    qtbot.keyClicks(widget, text)


def _wizard(qtbot: QtBot, window: MainWindow) -> OrderWizardDialog:
    qtbot.waitUntil(lambda: isinstance(getattr(window, "order_dialog", None),
                                       OrderWizardDialog)
                    and window.order_dialog.isVisible()  # type: ignore[attr-defined]
                    and window.order_dialog.isActiveWindow(),  # type: ignore[attr-defined]
                    timeout=10000)
    dialog = window.order_dialog  # type: ignore[attr-defined]
    assert isinstance(dialog, OrderWizardDialog)
    return dialog


def _at(qtbot: QtBot, dialog: OrderWizardDialog, step: Step) -> None:
    qtbot.waitUntil(lambda: dialog.wizard.step == step
                    and dialog.stack.currentWidget() is dialog.pages[step], timeout=5000)


def _priced(qtbot: QtBot, dialog: OrderWizardDialog) -> None:
    qtbot.waitUntil(lambda: dialog.wizard.cached_quote() is not None, timeout=5000)


def test_an_existing_customer_orders_internet_and_tv_by_keyboard(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id = _open_360(qtbot, window, store)
    view = window.customers.current_view()
    assert view is not None
    orders_before = len(view.data.orders) if view.data else 0
    keys = 0

    _press(qtbot, Qt.Key.Key_O, CTRL_SHIFT, target=view)  # Ctrl+Shift+O from the 360
    keys += 1
    dialog = _wizard(qtbot, window)
    assert dialog.wizard.customer is not None
    assert dialog.wizard.customer.customer_id == customer_id
    assert dialog.title.text() == "1. Customer"

    _press(qtbot, Qt.Key.Key_Return)  # the customer: Enter
    _at(qtbot, dialog, Step.ADDRESS)
    assert "served by" in dialog.pages[Step.ADDRESS].check.text()  # type: ignore[attr-defined]
    _press(qtbot, Qt.Key.Key_N, ALT)  # the address on file: Alt+N
    keys += 2
    _at(qtbot, dialog, Step.PRODUCTS)
    products = dialog.pages[Step.PRODUCTS]
    assert isinstance(products, ProductsPage)
    assert products.filter.hasFocus()

    _press(qtbot, Qt.Key.Key_Return)  # nothing in the order: Enter says what is missing
    assert dialog.wizard.step == Step.PRODUCTS and "Add at least one" in dialog.needs.text()
    _type(qtbot, "tv duo")
    assert products.results.currentItem() is not None
    assert products.results.currentItem().text().startswith("Internet + TV Duo")
    _press(qtbot, Qt.Key.Key_Return)  # adds the bundle
    keys += len("tv duo") + 2
    assert [(c.sku, c.bundle_code) for c in dialog.wizard.cart] == [
        ("INT-18", "DUO-INT-TV"), ("TV-BASIC", "DUO-INT-TV")]
    assert products.filter.text() == "" and products.filter.hasFocus()
    _press(qtbot, Qt.Key.Key_Return)  # the box is empty: Enter goes on
    keys += 1
    _at(qtbot, dialog, Step.CONFIGURE)

    configure = dialog.pages[Step.CONFIGURE]
    assert isinstance(configure, ConfigurePage)
    assert configure.quantities[0].hasFocus()
    assert configure.install.currentText() == "Wed Nov 25, 2026"  # the first business day
    _press(qtbot, Qt.Key.Key_Tab)  # to the internet line's promotion
    assert configure.promotions[0].hasFocus()
    _press(qtbot, Qt.Key.Key_Down)  # LOYAL15, the one this customer can have
    keys += 2
    assert dialog.wizard.cart[0].promotion_code == "LOYAL15"
    _press(qtbot, Qt.Key.Key_Return)
    keys += 1
    _at(qtbot, dialog, Step.OFFERS)
    offers = dialog.wizard.offers  # the offer engine's, for this customer in the wizard
    assert offers and "Say:" in dialog.pages[Step.OFFERS].pitch.text()  # type: ignore[attr-defined]
    _press(qtbot, Qt.Key.Key_D)  # the first one: declined
    assert dialog.wizard.responses[offers[0].code] == "declined"
    _press(qtbot, Qt.Key.Key_Return)  # the rest are skipped ("not now")
    keys += 2
    _at(qtbot, dialog, Step.REVIEW)
    _priced(qtbot, dialog)
    quote = dialog.wizard.cached_quote()
    assert quote is not None and quote.ok
    review = dialog.review_page
    assert "Ready" in review.problems.text()
    assert any("LOYAL15" in (review.table.item(r, 0).text() or "")
               for r in range(review.table.rowCount()))
    assert "$58.25" in dialog.live.text() or quote.monthly_cents != 5825
    _press(qtbot, Qt.Key.Key_Return)  # read to the customer: Enter
    keys += 1
    _at(qtbot, dialog, Step.PAYMENT)
    payment = dialog.pages[Step.PAYMENT]
    assert isinstance(payment, PaymentPage)
    assert "default" in payment.method.currentText()
    _press(qtbot, Qt.Key.Key_Return)  # not yet: the terms
    assert dialog.wizard.step == Step.PAYMENT
    assert "terms" in dialog.needs.text() and "#b3261e" in dialog.needs.text()
    _press(qtbot, Qt.Key.Key_T, ALT)  # the customer agrees to the terms
    qtbot.waitUntil(lambda: payment.terms.isChecked() and dialog.wizard.terms_accepted,
                    timeout=2000)
    _press(qtbot, Qt.Key.Key_Return)
    keys += 3
    _at(qtbot, dialog, Step.CONFIRM)
    assert all(dialog.wizard.done(s) for s in list(Step)[:-1])
    assert dialog.steps.item(0).text().startswith("\u2713")
    assert dialog.place_button.isVisible() and not dialog.next_button.isVisible()

    with qtbot.waitSignal(dialog.placed, timeout=10000) as placed_signal:
        _press(qtbot, Qt.Key.Key_Return)  # Enter places it
        keys += 1
    placed = placed_signal.args[0]
    assert keys <= 30
    assert placed.order_number == lifecycle.order_number(dialog.wizard.order_id)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    # A notice gives the order number; the 360's Orders tab shows the order.
    assert placed.order_number in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: view.data is not None and len(view.data.orders) ==
                    orders_before + 1, timeout=10000)
    assert view.data is not None
    assert view.data.orders[0].order_number == placed.order_number
    assert view.data.orders[0].status == "captured"
    assert view.orders_model.rowCount() == orders_before + 1

    conn = sqlite3.connect(store.path)
    queued = conn.execute("SELECT name, args FROM sync_outbox ORDER BY mutation_id").fetchall()
    lines = conn.execute("SELECT sku, promotion_code FROM order_lines WHERE order_id = ? "
                         "ORDER BY sku", (placed.order_id,)).fetchall()
    conn.close()
    # Every offer the customer heard is recorded with the answer.
    heard = {a["offer_code"]: a["response"] for a in
             (json.loads(raw) for name, raw in queued if name == "record_offer")}
    assert heard == {o.code: "declined" if i == 0 else "not_now"
                     for i, o in enumerate(offers)}
    name, raw = queued[-1]
    assert name == "place_order" and json.loads(raw)["id"] == placed.order_id
    assert lines == [("INT-18", "LOYAL15"), ("TV-BASIC", None)]


def test_esc_keeps_a_draft_that_ctrl_shift_o_resumes(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    customer_id = _open_360(qtbot, window, store)
    view = window.customers.current_view()
    assert view is not None
    _press(qtbot, Qt.Key.Key_O, CTRL_SHIFT, target=view)
    dialog = _wizard(qtbot, window)
    _press(qtbot, Qt.Key.Key_Return)
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.PRODUCTS)
    _type(qtbot, "fast 100")
    _press(qtbot, Qt.Key.Key_Return)
    assert [c.sku for c in dialog.wizard.cart] == ["INT-100"]
    order_id = dialog.wizard.order_id

    _press(qtbot, Qt.Key.Key_Escape)  # leaving half-way
    qtbot.waitUntil(lambda: dialog.leave_box is not None and dialog.leave_box.isVisible(),
                    timeout=5000)
    box = dialog.leave_box
    assert box is not None and "as a draft" in box.text()
    with qtbot.waitSignal(dialog.kept, timeout=10000):
        _press(qtbot, Qt.Key.Key_Return, target=box)  # Keep draft is the default
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert "Draft kept" in window.statusBar().currentMessage()
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchall() == [
        ("draft",)]
    assert conn.execute("SELECT count(*) FROM sync_outbox").fetchone() == (0,)
    conn.close()
    qtbot.waitUntil(lambda: view.data is not None and any(
        o.status == "draft" for o in view.data.orders), timeout=10000)

    # Ctrl+Shift+O again: the draft is offered, Enter resumes it where it was left.
    view.setFocus()
    _press(qtbot, Qt.Key.Key_O, CTRL_SHIFT, target=view)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "order_resume_box", None), QMessageBox)
                    and window.order_resume_box.isVisible(),  # type: ignore[attr-defined]
                    timeout=10000)
    resume_box = window.order_resume_box  # type: ignore[attr-defined]
    assert "Fast 100" in resume_box.text()
    _press(qtbot, Qt.Key.Key_Return, target=resume_box)
    qtbot.waitUntil(lambda: getattr(window, "order_dialog", None) is not dialog
                    and window.order_dialog.isVisible(),  # type: ignore[attr-defined]
                    timeout=10000)
    resumed = _wizard(qtbot, window)
    assert resumed.wizard.order_id == order_id and resumed.wizard.step == Step.PRODUCTS
    assert [c.sku for c in resumed.wizard.cart] == ["INT-100"]
    products = resumed.pages[Step.PRODUCTS]
    assert isinstance(products, ProductsPage)
    assert products.cart.count() == 1
    _press(qtbot, Qt.Key.Key_B, ALT)  # back and forth keeps it
    _at(qtbot, resumed, Step.ADDRESS)
    _press(qtbot, Qt.Key.Key_N, ALT)
    _at(qtbot, resumed, Step.PRODUCTS)
    assert [c.sku for c in resumed.wizard.cart] == ["INT-100"]

    # Esc, then Discard: the draft is gone.
    _press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: resumed.leave_box is not None and resumed.leave_box.isVisible(),
                    timeout=5000)
    assert resumed.leave_box is not None
    _press(qtbot, Qt.Key.Key_D, target=resumed.leave_box)  # D: &Discard
    qtbot.waitUntil(lambda: not resumed.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: sqlite3.connect(store.path).execute(
        "SELECT count(*) FROM orders WHERE id = ?", (order_id,)).fetchone() == (0,),
        timeout=5000)
    assert customer_id


def test_a_new_customer_orders_a_bundle_with_a_new_customer_promotion(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:
    from agent_desktop.ui.screens.customers.new_customer import NewCustomerDialog

    # Nobody on screen: Ctrl+Shift+O opens the wizard for a new customer.
    _press(qtbot, Qt.Key.Key_O, CTRL_SHIFT, target=window)
    dialog = _wizard(qtbot, window)
    assert dialog.wizard.customer is None
    assert dialog.customer_page.new_button.isVisible()
    _press(qtbot, Qt.Key.Key_Return)  # not without a customer
    assert dialog.wizard.step == Step.CUSTOMER and "Choose the customer" in dialog.needs.text()
    _press(qtbot, Qt.Key.Key_U, ALT)  # New customer
    qtbot.waitUntil(lambda: isinstance(getattr(dialog, "new_customer_dialog", None),
                                       NewCustomerDialog)
                    and dialog.new_customer_dialog.isActiveWindow(),  # type: ignore[attr-defined]
                    timeout=10000)
    creating = dialog.new_customer_dialog  # type: ignore[attr-defined]
    assert isinstance(creating, NewCustomerDialog)
    qtbot.keyClicks(creating.first_name, "Marisol")
    _press(qtbot, Qt.Key.Key_L, ALT, target=creating)
    _type(qtbot, "Okonkwo-Reyes")
    _press(qtbot, Qt.Key.Key_P, ALT, target=creating)
    _type(qtbot, "(303) 555-0199")
    _press(qtbot, Qt.Key.Key_E, ALT, target=creating)
    _type(qtbot, "marisol@example.org")
    creating.service.edits["line1"].setFocus()
    _type(qtbot, "4410 Larkspur Lane")
    for field, text in (("city", "Denver"), ("state", "CO"), ("postal_code", "80202")):
        creating.service.edits[field].setFocus()
        _type(qtbot, text)
    qtbot.waitUntil(lambda: creating.regions is not None, timeout=10000)
    with qtbot.waitSignal(dialog.step_shown, timeout=15000):
        _press(qtbot, Qt.Key.Key_Return, target=creating)  # saved: the order is for them
    facts = dialog.wizard.customer
    assert facts is not None and facts.display_name == "Marisol Okonkwo-Reyes"
    assert facts.is_new and facts.methods == ()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)

    _press(qtbot, Qt.Key.Key_Return)  # the customer
    _at(qtbot, dialog, Step.ADDRESS)
    assert "Mountain" in dialog.pages[Step.ADDRESS].check.text()  # type: ignore[attr-defined]
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.PRODUCTS)
    _type(qtbot, "tv duo")
    _press(qtbot, Qt.Key.Key_Return)
    _type(qtbot, "tv preferred")
    _press(qtbot, Qt.Key.Key_Return)
    assert [c.sku for c in dialog.wizard.cart] == ["INT-18", "TV-BASIC", "TV-PREF"]
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.CONFIGURE)
    configure = dialog.pages[Step.CONFIGURE]
    assert isinstance(configure, ConfigurePage)
    for _ in range(5):  # quantity, promotion, quantity, promotion, quantity...
        _press(qtbot, Qt.Key.Key_Tab)
    assert configure.promotions[2].hasFocus()  # ...TV Preferred's promotion
    _type(qtbot, "TV")  # typed: the promotion whose code starts so
    assert dialog.wizard.cart[2].promotion_code == "TVNEW20"
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.OFFERS)
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.REVIEW)
    _priced(qtbot, dialog)
    quote = dialog.wizard.cached_quote()
    assert quote is not None and quote.ok
    pref = next(line for line in quote.lines if line.sku == "TV-PREF")
    assert pref.promotion_code == "TVNEW20" and pref.discount_cents == 900
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.PAYMENT)
    payment = dialog.pages[Step.PAYMENT]
    assert isinstance(payment, PaymentPage)
    _press(qtbot, Qt.Key.Key_M, ALT)  # no method on file: a new card, taken with Ctrl+P
    _press(qtbot, Qt.Key.Key_Down)
    assert dialog.wizard.payment_key == "new_card"
    assert "Ctrl+P" in payment.method_note.text()
    _press(qtbot, Qt.Key.Key_T, ALT)
    qtbot.waitUntil(lambda: dialog.wizard.terms_accepted, timeout=2000)
    _press(qtbot, Qt.Key.Key_Return)
    _at(qtbot, dialog, Step.CONFIRM)
    with qtbot.waitSignal(window.customers.customer_shown, timeout=15000), \
            qtbot.waitSignal(dialog.placed, timeout=10000) as placed_signal:
        _press(qtbot, Qt.Key.Key_Return)
    placed = placed_signal.args[0]
    assert placed.customer_id == facts.customer_id
    assert placed.order_number in window.statusBar().currentMessage()
    view = window.customers.current_view()
    assert view is not None and view.data is not None
    assert view.data.customer_id == facts.customer_id
    assert [o.order_number for o in view.data.orders] == [placed.order_number]

    conn = sqlite3.connect(store.path)
    names = [n for (n,) in conn.execute("SELECT name FROM sync_outbox ORDER BY mutation_id")]
    [(raw,)] = conn.execute("SELECT args FROM sync_outbox WHERE name = 'place_order'")
    conn.close()
    assert [n for n in names if n != "record_offer"] == ["create_customer", "place_order"]
    args = json.loads(raw)
    assert args["is_new_customer"] is True and args["payment_method_kind"] == "card"
    assert args["payment_method_id"] is None
    assert [(line["sku"], line["promotion_code"]) for line in args["lines"]] == [
        ("INT-18", None), ("TV-BASIC", None), ("TV-PREF", "TVNEW20")]
