"""The order entry wizard: opening it for the customer on screen (Ctrl+Shift+O, or the
offer engine through ``MainWindow.start_order``), resuming a kept draft or saved quote,
and what happens once the order is placed (the 360 refreshes, a notice gives the order
number)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from agent_desktop.domain.order_wizard import OrderWizard
from agent_desktop.domain.quote import CartLine
from agent_desktop.services import orders as service
from agent_desktop.ui.screens.order_wizard.dialog import OrderWizardDialog
from agent_desktop.ui.tasks import Op

if TYPE_CHECKING:
    from agent_desktop.ui.main_window import MainWindow

__all__ = ["OrderWizardDialog", "open_order_wizard", "today"]

NEW_CUSTOMER_MODULE = "agent_desktop.ui.screens.customers.new_customer"


def today() -> date:
    """The wizard's day (tests pin it)."""
    return date.today()


def open_order_wizard(window: MainWindow, customer_id: str | None,
                      cart: Sequence[CartLine] = ()) -> None:
    """Open the wizard for ``customer_id`` (None: the customer on screen, if any) with
    ``cart`` in it. Without a cart, a draft kept for the customer is offered first."""
    if customer_id is None:
        view = window.customers.current_view()
        if view is not None and view.data is not None \
                and window.pages.currentWidget() is window.customers:
            customer_id = view.data.customer_id
    store, day, items = window.store, today(), list(cart)

    def started(start: service.OrderStart) -> None:
        if start.drafts and not items:
            _offer_resume(window, start)
        else:
            _show(window, _fresh(start, items), start)

    Op(window, lambda: service.prepare_order(store, customer_id, day)).success(
        started).failure(lambda exc: _failed(window, exc)).run()


def _failed(window: MainWindow, exc: BaseException) -> None:
    from agent_desktop.domain.errors import UserFacingError

    if isinstance(exc, UserFacingError):
        window.notify(exc.message)
        return
    raise exc


def _offer_resume(window: MainWindow, start: service.OrderStart) -> None:
    latest = start.drafts[0]
    what = "quote saved" if latest.kind == "saved_quote" else "order kept"
    kept = latest.kept_at.astimezone()
    box = QMessageBox(window)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Resume an order?")
    name = start.customer.display_name if start.customer else ""
    box.setText(f"{name} has an {what} on {kept:%b} {kept.day} at {kept:%H:%M}: "
                f"{latest.summary}.")
    if latest.kind == "saved_quote" and latest.valid_until is not None:
        box.setInformativeText(f"Its price holds until {latest.valid_until:%b} "
                               f"{latest.valid_until.day}.")
    resume = box.addButton("&Resume it", QMessageBox.ButtonRole.AcceptRole)
    fresh = box.addButton("Start a &new order", QMessageBox.ButtonRole.ActionRole)
    box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(resume)
    store, day = window.store, start.today

    def answered(_result: int) -> None:
        clicked = box.clickedButton()
        if clicked is resume:
            Op(window, lambda: service.resume_draft(store, latest.id, day)).success(
                lambda wizard: _show(window, wizard)).failure(
                lambda exc: _failed(window, exc)).run()
        elif clicked is fresh:
            _show(window, _fresh(start, []), start)

    box.finished.connect(answered)
    window.order_resume_box = box  # type: ignore[attr-defined]
    box.open()


def _fresh(start: service.OrderStart, cart: list[CartLine]) -> OrderWizard:
    wizard = OrderWizard(start.catalog, start.today, customer=start.customer, cart=cart)
    if start.offers is not None:  # the offer engine's, for this customer now
        wizard.set_offers(start.offers, start.offers_reason)
    return wizard


def _show(window: MainWindow, wizard: OrderWizard,
          start: service.OrderStart | None = None) -> None:
    can_create = importlib.util.find_spec(NEW_CUSTOMER_MODULE) is not None
    dialog = OrderWizardDialog(wizard, window.store, window.who, window,
                               can_create_customer=can_create,
                               engine_offers=start.engine_offers if start else None)

    def placed(result: service.OrderPlaced) -> None:
        _show_customer(window, result.customer_id)
        window.notify(result.summary + (f" {result.pay_now}" if result.pay_now else ""),
                      15000)
        if window.sync is not None:
            window.sync.sync_now()

    def kept(result: service.DraftKept) -> None:
        window.customers.refresh(result.customer_id)
        window.notify(result.summary)

    dialog.placed.connect(placed)
    dialog.kept.connect(kept)
    dialog.new_customer_requested.connect(lambda: _new_customer(window, dialog))
    window.order_dialog = dialog  # type: ignore[attr-defined]
    dialog.open()


def _show_customer(window: MainWindow, customer_id: str) -> None:
    """The 360 of the customer shows the new order (opened if it is not)."""
    if customer_id in window.customers.open_ids():
        window.customers.refresh(customer_id)
        return
    wizard_dialog = getattr(window, "order_dialog", None)
    name = ""
    if isinstance(wizard_dialog, OrderWizardDialog) and wizard_dialog.wizard.customer:
        name = wizard_dialog.wizard.customer.display_name
    window.customers.open_customer(customer_id, name)


def _new_customer(window: MainWindow, dialog: OrderWizardDialog) -> None:
    """Alt+U on the wizard's first step: the New customer dialog; the customer it creates
    (or the one on file it finds instead) is the one the order is for."""
    from agent_desktop.ui.screens.customers.new_customer import NewCustomerDialog

    store, day = window.store, dialog.wizard.today
    creating = NewCustomerDialog(store, window.who, "", dialog)

    def chosen(customer_id: str) -> None:
        Op(dialog, lambda: service.customer_facts(store, customer_id, day)).success(
            dialog.set_customer).failure(lambda exc: _failed(window, exc)).run()

    creating.created.connect(lambda result: chosen(result.customer_id))
    creating.open_existing.connect(lambda customer_id, _name: chosen(customer_id))
    dialog.new_customer_dialog = creating  # type: ignore[attr-defined]
    creating.open()
