"""An order's life after it is placed: captured -> submitted -> approved ->
provisioning (services) and/or shipped (devices) -> completed, or cancelled before it is
provisioned (shared/DOMAIN.md, "Catalog, orders"). Every step tells the customer, and a
follow-up goes 7-10 days after completion.

Pure rules shared by the server stub (which advances orders) and the desk (which shows
them and may ask to cancel).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from agent_desktop.domain.errors import UserFacingError

__all__ = [
    "CANCELLABLE",
    "Notice",
    "OrderStatus",
    "check_cancel",
    "follow_up_at",
    "next_status",
    "notice_for",
    "order_number",
]


class OrderStatus(StrEnum):
    DRAFT = "draft"
    CAPTURED = "captured"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PROVISIONING = "provisioning"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


CANCELLABLE = frozenset({OrderStatus.CAPTURED, OrderStatus.SUBMITTED, OrderStatus.APPROVED})
FINAL = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})


def next_status(status: str, *, has_services: bool, has_devices: bool) -> OrderStatus | None:
    """The step after ``status`` (None when the order is finished).

    After approval an order with services is provisioned (devices ship with it); an order
    of devices only is shipped; either then completes."""
    current = OrderStatus(status)
    if current in FINAL or current == OrderStatus.DRAFT:
        return None
    if current == OrderStatus.CAPTURED:
        return OrderStatus.SUBMITTED
    if current == OrderStatus.SUBMITTED:
        return OrderStatus.APPROVED
    if current == OrderStatus.APPROVED:
        return OrderStatus.PROVISIONING if has_services or not has_devices \
            else OrderStatus.SHIPPED
    return OrderStatus.COMPLETED  # provisioning or shipped


def check_cancel(status: str) -> None:
    if OrderStatus(status) not in CANCELLABLE:
        words = OrderStatus(status).value.replace("_", " ")
        raise UserFacingError(f"An order that is {words} can no longer be cancelled; "
                              "cancel the services it started instead.")


def order_number(order_id: str) -> str:
    """Given offline, without asking anyone: 10 characters of the order's random id in
    base32 (48 bits: two desks' numbers collide by chance about once in 20 million pairs
    of orders), with I, L, O and U written 1, 8, 0 and 9 so nobody misreads them."""
    raw = base64.b32encode(bytes.fromhex(order_id[:12])).decode().rstrip("=")
    return "ORD-" + raw.translate(str.maketrans("ILOU", "1809"))


def follow_up_at(order_id: str, completed_at: datetime) -> datetime:
    """7 to 10 days after completion, spread by the order id so they do not all go out
    on the same morning."""
    return completed_at + timedelta(days=7 + int(order_id[-2:], 16) % 4)


@dataclass(frozen=True, slots=True)
class Notice:
    template: str
    subject: str
    body: str


def notice_for(status: str, number: str, first_name: str = "") -> Notice:
    """What the customer is told at each step (and the follow-up)."""
    hello = f"Hi {first_name}, " if first_name else ""
    texts = {
        OrderStatus.CAPTURED: ("order_received", f"We received your order {number}",
                               f"{hello}thank you: your order {number} is in. We will keep "
                               "you posted at every step."),
        OrderStatus.SUBMITTED: ("order_submitted", f"Order {number} is being checked",
                                f"{hello}your order {number} has gone to our team for "
                                "checking."),
        OrderStatus.APPROVED: ("order_approved", f"Order {number} is approved",
                               f"{hello}your order {number} is approved; we are getting it "
                               "ready."),
        OrderStatus.PROVISIONING: ("order_provisioning", f"Order {number}: setting you up",
                                   f"{hello}we are setting up the services of order {number}"
                                   "; any equipment ships with them."),
        OrderStatus.SHIPPED: ("order_shipped", f"Order {number} has shipped",
                              f"{hello}your order {number} is on its way."),
        OrderStatus.COMPLETED: ("order_completed", f"Order {number} is complete",
                                f"{hello}everything in order {number} is ready to use."),
        OrderStatus.CANCELLED: ("order_cancelled", f"Order {number} is cancelled",
                                f"{hello}your order {number} is cancelled; nothing will be "
                                "charged for it."),
    }
    if status == "follow_up":
        return Notice("order_follow_up", f"How is everything with order {number}?",
                      f"{hello}it has been a week since order {number} was completed. Is "
                      "everything working as it should? Reply or call us any time.")
    template, subject, body = texts[OrderStatus(status)]
    return Notice(template, subject, body)
