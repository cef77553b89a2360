"""An order's life after it is placed, and what the customer hears at each step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.orders import (
    OrderStatus,
    check_cancel,
    follow_up_at,
    next_status,
    notice_for,
    order_number,
)


def _walk(has_services: bool, has_devices: bool) -> list[str]:
    status: str = OrderStatus.CAPTURED
    seen = [status]
    while (following := next_status(status, has_services=has_services,
                                     has_devices=has_devices)) is not None:
        status = following
        seen.append(status)
    return seen


def test_services_are_provisioned_and_devices_alone_are_shipped() -> None:
    assert _walk(True, True) == ["captured", "submitted", "approved", "provisioning",
                                 "completed"]
    assert _walk(False, True) == ["captured", "submitted", "approved", "shipped",
                                  "completed"]
    assert next_status("cancelled", has_services=True, has_devices=False) is None
    assert next_status("draft", has_services=True, has_devices=False) is None


@pytest.mark.parametrize("status", ["captured", "submitted", "approved"])
def test_an_order_may_be_cancelled_until_it_is_provisioned(status: str) -> None:
    check_cancel(status)


@pytest.mark.parametrize("status", ["provisioning", "shipped", "completed", "cancelled"])
def test_after_that_it_cannot(status: str) -> None:
    with pytest.raises(UserFacingError, match="can no longer be cancelled"):
        check_cancel(status)


def test_the_follow_up_goes_seven_to_ten_days_after_completion() -> None:
    done = datetime(2026, 11, 24, 15, tzinfo=UTC)
    days = {(follow_up_at(f"{i:032x}", done) - done) for i in range(64)}
    assert days == {timedelta(days=d) for d in (7, 8, 9, 10)}


def test_each_step_tells_the_customer_by_name_and_number() -> None:
    number = order_number("0123456789abcdef0123456789abcdef")
    assert number == "ORD-AER9KZ4JVM" and len(number) == 14
    for status in ("captured", "submitted", "approved", "provisioning", "shipped",
                   "completed", "cancelled", "follow_up"):
        notice = notice_for(status, number, "Ana")
        assert number in notice.subject and notice.body.startswith("Hi Ana, ")
    assert notice_for("follow_up", number).template == "order_follow_up"
