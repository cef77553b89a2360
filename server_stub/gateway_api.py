"""The payment gateway's HTTP face: desks tokenize cards and bank accounts at entry.

``POST /v1/gateway/cards`` and ``POST /v1/gateway/bank-accounts`` take what the agent typed
and answer with a token and what is safe to keep (brand, last four, expiry); the full
number and the CVC go no further than the gateway (server_stub.gateway), which keeps
neither. A refusal is a 402 Problem whose code is the gateway's (``incorrect_number``,
``expired_card``, ``invalid_cvc``, ``routing_number_invalid``...).

The request body is never logged nor echoed: the routes' own class rewrites a schema error
(422) before app.py's handler words it, leaving out the input, masking any digits of the
number, CVC or account number that a message might carry, and naming only known fields.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from agent_desktop.sync.protocol import Problem
from server_stub.errors import ApiError
from server_stub.gateway import Gateway, GatewayError

T = TypeVar("T")

# Fields whose values are secrets: never in a response, a log or an error's words.
_SECRET_FIELDS = ("number", "cvc", "account_number")
_CARD_RUN = re.compile(r"\d{13,19}")
_PLAIN_NAME = re.compile(r"[A-Za-z_]{1,40}")


class Runner(Protocol):
    """Runs blocking work off the event loop (the app's ``Runtime.read``)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CardRequest(_Request):
    """A card as the customer reads it out. ``number`` may have spaces or dashes."""

    number: str = Field(min_length=1, max_length=32, repr=False)
    exp_month: int = Field(strict=True)
    exp_year: int = Field(strict=True)  # four digits (two are read as 20YY)
    cvc: str = Field(min_length=1, max_length=8, repr=False)
    holder_name: str = Field(max_length=120)
    postal_code: str = Field(default="", max_length=16)


class CardTokenResponse(BaseModel):
    token: str
    brand: str  # visa, mastercard, amex, discover or unknown
    last4: str
    exp_month: int
    exp_year: int


class BankAccountRequest(_Request):
    routing_number: str = Field(min_length=1, max_length=16)
    account_number: str = Field(min_length=1, max_length=32, repr=False)
    holder_name: str = Field(min_length=1, max_length=120)
    account_type: Literal["checking", "savings"] = "checking"


class BankTokenResponse(BaseModel):
    token: str
    last4: str
    bank_name: str  # "" when the gateway does not know the bank
    account_type: Literal["checking", "savings"]


def _problems(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "description": words}
            for status, words in described.items()}


_COMMON = {
    400: "Malformed request (not JSON)",
    401: "Not logged in, or the session is not valid or has expired",
    413: "The request body is larger than 1 MB",
    422: "The request does not match the schema; the detail names the first problem "
    "(never the values sent)",
}
_CARD_REFUSED = (
    "The gateway refused the card; the code says why: invalid_number, incorrect_number, "
    "invalid_expiry_month, invalid_expiry_year, expired_card, invalid_cvc, "
    "invalid_holder_name, invalid_postal_code"
)
_ACCOUNT_REFUSED = (
    "The gateway refused the bank account; the code says why: routing_number_invalid, "
    "account_number_invalid, invalid_account_type, invalid_holder_name"
)


def _scrub(exc: RequestValidationError) -> RequestValidationError:
    """The same errors without the input, their digits masked, unknown field names hidden."""
    body = exc.body if isinstance(exc.body, dict) else {}
    secrets = [str(body[f]) for f in _SECRET_FIELDS
               if isinstance(body.get(f), str | int) and len(str(body[f])) >= 3]

    def words(text: str) -> str:
        for value in secrets:
            text = text.replace(value, "[redacted]")
        return _CARD_RUN.sub("[redacted]", text)

    def place(part: Any) -> Any:
        if isinstance(part, int) or (isinstance(part, str) and _PLAIN_NAME.fullmatch(part)):
            return part
        return "(a field)"

    errors: Sequence[Any] = exc.errors()
    scrubbed = [
        {"type": e.get("type", "value_error"), "loc": tuple(place(p) for p in e.get("loc", ())),
         "msg": words(str(e.get("msg", "invalid value")))}
        for e in errors
    ]
    return RequestValidationError(scrubbed, body=None)


class _SecretBodyRoute(APIRoute):
    """A route whose body holds secrets: its schema errors carry neither input nor digits
    (app.py's handler words them; the original error, with the body, is dropped)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scrubbed(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise _scrub(exc) from None

        return scrubbed


def _utc_today() -> date:
    return datetime.now(UTC).date()


def gateway_router(
    gateway: Gateway | Callable[[], Gateway],
    authenticate: Callable[..., Any],
    *,
    run: Runner,
    today: Callable[[], date] = _utc_today,
) -> APIRouter:
    """The gateway's routes, for a logged-in caller.

    ``gateway`` is the gateway or a function that returns the current one;
    ``authenticate`` is the app's dependency for the caller (it raises 401 without a
    valid session); ``run`` runs the gateway's blocking calls on a worker thread;
    ``today`` is the business day card expiry is checked against.
    """

    def the_gateway() -> Gateway:
        return gateway if isinstance(gateway, Gateway) else gateway()

    router = APIRouter(
        prefix="/v1/gateway",
        tags=["gateway"],
        route_class=_SecretBodyRoute,
        dependencies=[Depends(authenticate)],
    )

    @router.post(
        "/cards",
        response_model=CardTokenResponse,
        responses=_problems({**_COMMON, 402: _CARD_REFUSED}),
    )
    async def tokenize_card(body: CardRequest) -> CardTokenResponse:
        """Tokenize a card the customer reads out: the answer holds the token and what is
        safe to keep; the number and CVC are kept nowhere."""
        call = partial(
            the_gateway().tokenize_card, body.number, body.exp_month, body.exp_year,
            body.cvc, body.holder_name, body.postal_code, today=today(),
        )
        try:
            card = await run(call)
        except GatewayError as exc:
            raise ApiError(402, exc.message, exc.code) from None
        return CardTokenResponse(token=card.token, brand=card.brand, last4=card.last4,
                                 exp_month=card.exp_month, exp_year=card.exp_year)

    @router.post(
        "/bank-accounts",
        response_model=BankTokenResponse,
        responses=_problems({**_COMMON, 402: _ACCOUNT_REFUSED}),
    )
    async def tokenize_bank_account(body: BankAccountRequest) -> BankTokenResponse:
        """Tokenize a US bank account for ACH payments (routing and account number)."""
        call = partial(
            the_gateway().tokenize_bank_account, body.routing_number, body.account_number,
            body.holder_name, body.account_type,
        )
        try:
            account = await run(call)
        except GatewayError as exc:
            raise ApiError(402, exc.message, exc.code) from None
        return BankTokenResponse(token=account.token, last4=account.last4,
                                 bank_name=account.bank_name,
                                 account_type=body.account_type)

    return router
