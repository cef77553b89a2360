"""Payments, voids, refunds and adjustments: the rules the desk and the server share.

Money is an ``int`` of cents. A payment, a void, a refund and an adjustment are immutable
ledger entries; a mistake is corrected by a new entry, never by rewriting one
(shared/DOMAIN.md, "Money" and "Adjustments, disputes, approvals"). The same functions run
on the desk before a change is queued and on the server before it is applied, so the
agent hears "no" at once and the server still has the last word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from agent_desktop.domain.errors import UserFacingError

__all__ = [
    "MAX_MEMO",
    "MAX_PAYMENT_CENTS",
    "AdjustmentPlan",
    "AmountCheck",
    "MethodKind",
    "PaymentStatus",
    "check_amount",
    "check_decision",
    "check_refund",
    "check_void",
    "confirmation_number",
    "parse_amount",
    "plan_adjustment",
    "status_after_charge",
]

MAX_PAYMENT_CENTS = 99_999_999  # $999,999.99: what the gateway takes in one charge
MAX_MEMO = 500


class MethodKind(StrEnum):
    CARD = "card"
    ACH = "ach"
    CHECK = "check"  # check by phone: a one-time bank debit with the check's number


class PaymentStatus(StrEnum):
    PENDING = "pending"  # queued on the desk: the gateway has not been asked yet
    AUTHORIZED = "authorized"  # a bank debit accepted, settling in a few days
    SETTLED = "settled"
    DECLINED = "declined"
    FAILED = "failed"  # the gateway could not answer (processing error): not charged


def status_after_charge(method: MethodKind | str, gateway_status: str) -> PaymentStatus:
    """The ledger status of a payment from the gateway's answer."""
    if gateway_status == "succeeded":
        return PaymentStatus.SETTLED if method == MethodKind.CARD else PaymentStatus.AUTHORIZED
    if gateway_status == "declined":
        return PaymentStatus.DECLINED
    return PaymentStatus.FAILED


def parse_amount(text: str) -> int:
    """Dollars as the agent types them ("45", "45.5", "$1,045.50") -> cents.

    Raises UserFacingError saying what is wrong."""
    cleaned = text.strip().replace("$", "").replace(",", "").replace(" ", "")
    if not cleaned:
        raise UserFacingError("Type the amount, e.g. 45.50.")
    found = _AMOUNT.fullmatch(cleaned)
    if found is None:
        if re.fullmatch(r"\d*\.\d{3,}", cleaned):
            raise UserFacingError("The amount has at most two digits after the point "
                                  "(cents).")
        raise UserFacingError("The amount is a number of dollars and cents, e.g. 45.50.")
    whole, frac = found.group(1) or "0", found.group(2) or ""
    return int(whole) * 100 + int(frac.ljust(2, "0"))


_AMOUNT = re.compile(r"(\d{1,9})?(?:\.(\d{0,2}))?")


@dataclass(frozen=True, slots=True)
class AmountCheck:
    amount_cents: int
    overpays_by_cents: int  # > 0: more than the balance, the rest becomes a credit
    message: str  # what to show under the amount ("" when nothing to say)


def check_amount(amount_cents: int, balance_cents: int) -> AmountCheck:
    """A payment's amount against what the customer owes; raises UserFacingError when it
    cannot be taken at all."""
    if type(amount_cents) is not int:
        raise UserFacingError("The amount must be a whole number of cents.")
    if amount_cents <= 0:
        raise UserFacingError("The amount must be more than $0.00.")
    if amount_cents > MAX_PAYMENT_CENTS:
        raise UserFacingError("That is more than one payment can take ($999,999.99).")
    owed = max(balance_cents, 0)
    over = amount_cents - owed
    if over > 0:
        message = (f"This is {_dollars(over)} more than the balance: the customer will have "
                   f"a {_dollars(over)} credit. Confirm with the customer.")
        return AmountCheck(amount_cents, over, message)
    if amount_cents < owed:
        return AmountCheck(amount_cents, 0,
                           f"A partial payment: {_dollars(owed - amount_cents)} stays due.")
    return AmountCheck(amount_cents, 0, "Pays the balance in full.")


def confirmation_number(payment_id: str) -> str:
    """What the agent reads to the customer: short, no letters that sound alike."""
    digits = int(payment_id[:12], 16) % 10**10
    return f"PAY-{digits:010d}"


# --- voids and refunds -----------------------------------------------------------------------

def check_void(received_at: datetime, now: datetime, zone: str = "America/New_York") -> None:
    """A void cancels a payment before it settles: the same business day only."""
    tz = ZoneInfo(zone)
    if received_at.astimezone(tz).date() != now.astimezone(tz).date():
        raise UserFacingError("A payment can be voided only on the day it was taken; "
                              "refund it instead.")


def check_refund(amount_cents: int, paid_cents: int, refunded_cents: int,
                 limit_cents: int, is_supervisor: bool) -> None:
    """A refund never returns more than was paid; above the agent's limit it needs a
    supervisor."""
    if type(amount_cents) is not int or amount_cents <= 0:
        raise UserFacingError("The refund must be more than $0.00.")
    left = paid_cents - refunded_cents
    if amount_cents > left:
        raise UserFacingError(f"At most {_dollars(left)} of this payment can still be "
                              "refunded.")
    if amount_cents > limit_cents and not is_supervisor:
        raise UserFacingError(f"Refunds above {_dollars(limit_cents)} need a supervisor: "
                              "ask one to take it.")


# --- adjustments: maker-checker --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AdjustmentPlan:
    status: str  # "posted" or "pending_approval"
    why: str  # in words, for the agent


def plan_adjustment(amount_cents: int, direction: str, reason_code: str, memo: str,
                    limit_cents: int, daily_limit_cents: int,
                    used_today_cents: int) -> AdjustmentPlan:
    """Post at once within the agent's limits (per adjustment and per day); above either
    it waits for a supervisor and the balance does not move."""
    if direction not in ("credit", "debit"):
        raise UserFacingError("An adjustment is a credit or a debit.")
    if type(amount_cents) is not int or amount_cents <= 0:
        raise UserFacingError("The adjustment must be more than $0.00.")
    if amount_cents > MAX_PAYMENT_CENTS:
        raise UserFacingError("That is more than one adjustment can be ($999,999.99).")
    if not reason_code.strip():
        raise UserFacingError("Choose a reason code.")
    if len(memo) > MAX_MEMO:
        raise UserFacingError(f"The memo is {len(memo)} characters; at most {MAX_MEMO}.")
    if amount_cents > limit_cents:
        return AdjustmentPlan("pending_approval",
                              f"Above your limit of {_dollars(limit_cents)} per adjustment: "
                              "a supervisor approves it before the balance changes.")
    if used_today_cents + amount_cents > daily_limit_cents:
        return AdjustmentPlan("pending_approval",
                              f"Over your daily limit of {_dollars(daily_limit_cents)} "
                              f"({_dollars(used_today_cents)} used today): a supervisor "
                              "approves it before the balance changes.")
    return AdjustmentPlan("posted", "Within your limits: posted at once.")


def check_decision(decider_id: str, requester_id: str | None, status: str, approve: bool,
                   reason: str) -> None:
    """A supervisor approves or rejects a pending adjustment; nobody decides their own."""
    if status != "pending_approval":
        raise UserFacingError("This adjustment is not waiting for approval any more "
                              f"(it is {status.replace('_', ' ')}).")
    if requester_id is not None and decider_id == requester_id:
        raise UserFacingError("Nobody approves their own adjustment: another supervisor "
                              "decides it.")
    if not approve and not reason.strip():
        raise UserFacingError("Say why it is rejected: the agent who asked will read it.")
    if len(reason) > MAX_MEMO:
        raise UserFacingError(f"The reason is {len(reason)} characters; at most {MAX_MEMO}.")


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"
