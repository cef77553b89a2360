"""The payment gateway stub behaves like Stripe's test mode, errors included, and keeps no
card number or CVC anywhere; its HTTP routes tokenize for logged-in desks only.

On each of the server's databases (``server_db``): beside a SQLite server the gateway has
its own SQLite file; on PostgreSQL it has its own ``gateway_`` tables in the same database.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from server_stub.app import create_app, runtime_of
from server_stub.embedded import EmbeddedServer
from server_stub.gateway import (
    MAX_AMOUNT_CENTS,
    Charge,
    Gateway,
    GatewayError,
    decline_message,
    routing_number_ok,
)
from server_stub.store import database_url, open_engine, seed_users

TODAY = date(2026, 11, 15)
VISA = "4242424242424242"
CVC = "987"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"


@pytest.fixture
def gateway(server_db: str) -> Iterator[Gateway]:
    g = Gateway.beside(server_db)
    yield g
    g.close()


def card(g: Gateway, number: str = VISA, *, month: int = 12, year: int = 2030,
         cvc: str | None = None) -> str:
    if cvc is None:
        cvc = "1234" if number.startswith(("34", "37")) else CVC
    return g.tokenize_card(number, month, year, cvc, "Dana Reyes", "94105", today=TODAY).token


def refused(code: str) -> Any:
    return pytest.raises(GatewayError, match=rf"\({code}\)$")


# --- cards ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "brand", "status", "decline_code"), [
    ("4242424242424242", "visa", "succeeded", ""),
    ("5555555555554444", "mastercard", "succeeded", ""),
    ("2223003122003222", "mastercard", "succeeded", ""),
    ("378282246310005", "amex", "succeeded", ""),
    ("6011111111111117", "discover", "succeeded", ""),
    ("4111111111111111", "visa", "succeeded", ""),  # any other valid number
    ("4000000000000002", "visa", "declined", "card_declined"),
    ("4000000000009995", "visa", "declined", "insufficient_funds"),
    ("4000000000000069", "visa", "declined", "expired_card"),
    ("4000000000000127", "visa", "declined", "incorrect_cvc"),
    ("4000000000000119", "visa", "failed", "processing_error"),
    ("4000000000009987", "visa", "declined", "lost_card"),
    ("4000000000009979", "visa", "declined", "stolen_card"),
])
def test_each_test_card_charges_as_in_stripe_test_mode(
    gateway: Gateway, number: str, brand: str, status: str, decline_code: str
) -> None:
    cvc = "1234" if brand == "amex" else CVC
    token = gateway.tokenize_card(number, 12, 2030, cvc, "Dana Reyes", today=TODAY)
    assert (token.brand, token.last4, token.exp_month, token.exp_year) == (
        brand, number[-4:], 12, 2030)
    assert token.token.startswith("tok_") and len(token.fingerprint) == 64
    charged = gateway.charge("pay-1", token.token, 4210, description="Bill", today=TODAY)
    assert (charged.status, charged.decline_code) == (status, decline_code)
    assert charged.amount_cents == 4210 and charged.currency == "USD"
    assert charged.token == token.token and charged.charge_id.startswith("ch_")
    assert charged.created_at.tzinfo is not None
    assert bool(charged.confirmation) == (status == "succeeded")
    assert charged.retryable == (status == "failed")
    assert gateway.charge_count() == 1


def test_declines_are_never_worded_lost_or_stolen() -> None:
    for code in ("lost_card", "stolen_card", "card_declined", "made_up_code"):
        words = decline_message(code)
        assert "declined" in words and "lost" not in words and "stolen" not in words


@pytest.mark.parametrize(("number", "code"), [
    ("4242424242424241", "incorrect_number"),  # fails Luhn
    ("4242", "invalid_number"),
    ("42424242424242424242", "invalid_number"),  # 20 digits
    ("4242x42424242424", "invalid_number"),
    ("\u0664\u0662" * 8, "invalid_number"),  # Arabic-Indic digits are not card digits
    ("3782822463100050", "invalid_number"),  # American Express has 15 digits
    ("", "invalid_number"),
])
def test_bad_card_numbers_are_refused(gateway: Gateway, number: str, code: str) -> None:
    with refused(code):
        gateway.tokenize_card(number, 12, 2030, CVC, "Dana Reyes", today=TODAY)
    assert gateway.charge_count() == 0


def test_spaces_and_dashes_in_a_number_are_fine(gateway: Gateway) -> None:
    a = gateway.tokenize_card("4242 4242 4242 4242", 12, 2030, CVC, "D", today=TODAY)
    b = gateway.tokenize_card("4242-4242-4242-4242", 12, 2030, CVC, "D", today=TODAY)
    assert a.last4 == b.last4 == "4242"
    assert a.fingerprint == b.fingerprint  # the same card
    assert a.token != b.token
    other = gateway.tokenize_card("5555555555554444", 12, 2030, CVC, "D", today=TODAY)
    assert other.fingerprint != a.fingerprint


def test_fingerprints_are_keyed_per_gateway(tmp_path: Path) -> None:
    one, two = Gateway(str(tmp_path / "one.sqlite3")), Gateway(str(tmp_path / "two.sqlite3"))
    try:
        first = one.tokenize_card(VISA, 12, 2030, CVC, "D", today=TODAY).fingerprint
        assert two.tokenize_card(VISA, 12, 2030, CVC, "D", today=TODAY).fingerprint != first
        one.close()
        again = Gateway(str(tmp_path / "one.sqlite3"))  # the secret is kept in its table
        assert again.tokenize_card(VISA, 12, 2030, CVC, "D", today=TODAY).fingerprint == first
        again.close()
    finally:
        one.close()
        two.close()


def test_expiry_and_cvc_are_checked_at_tokenizing(gateway: Gateway) -> None:
    def tokenize(month: int, year: int, cvc: str = CVC, number: str = VISA) -> Any:
        return gateway.tokenize_card(number, month, year, cvc, "D", today=TODAY)

    with refused("expired_card"):
        tokenize(10, 2026)
    assert tokenize(11, 2026).exp_year == 2026  # good through the end of its month
    assert tokenize(1, 30).exp_year == 2030  # two-digit years are 20YY
    with refused("invalid_expiry_month"):
        tokenize(13, 2030)
    with refused("invalid_expiry_month"):
        tokenize(0, 2030)
    with refused("invalid_expiry_year"):
        tokenize(12, 2099 + 1)
    with refused("invalid_expiry_year"):
        tokenize(12, 1999)
    for bad in ("98", "98765", "abc", ""):
        with refused("invalid_cvc"):
            tokenize(12, 2030, bad)
    with refused("invalid_cvc"):
        tokenize(12, 2030, "987", "378282246310005")  # American Express: four digits
    with refused("invalid_cvc"):
        tokenize(12, 2030, "9876", VISA)
    assert tokenize(12, 2030, "9876", "378282246310005").brand == "amex"


def test_a_card_that_expired_after_tokenizing_is_declined(gateway: Gateway) -> None:
    token = card(gateway, month=11, year=2026)
    late = gateway.charge("pay-late", token, 500, today=date(2026, 12, 1))
    assert (late.status, late.decline_code) == ("declined", "expired_card")
    renewed = gateway.charge("pay-renewed", token, 500, exp_month=11, exp_year=2029,
                             today=date(2026, 12, 1))
    assert renewed.succeeded


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_key_returns_the_same_charge_without_charging_again(gateway: Gateway) -> None:
    token = card(gateway)
    first = gateway.charge("pay-1", token, 4210, description="November bill", today=TODAY)
    again = gateway.charge("pay-1", token, 4210, description="November bill",
                           today=date(2026, 11, 16))  # a retry the next day
    assert again == first
    assert gateway.charges_for("pay-1") == [first]
    assert gateway.charge_count() == 1
    assert gateway.charges_for("pay-unknown") == []


@pytest.mark.parametrize("change", [
    {"amount_cents": 4211}, {"token": "other"}, {"description": "Another bill"},
    {"exp_month": 12, "exp_year": 2031},
])
def test_the_same_key_with_other_parameters_is_refused(
    gateway: Gateway, change: dict[str, Any]
) -> None:
    token = card(gateway)
    request: dict[str, Any] = {"token": token, "amount_cents": 4210,
                               "description": "November bill"}
    first = gateway.charge("pay-1", **request, today=TODAY)
    if change.get("token") == "other":
        change = {"token": card(gateway, "5555555555554444")}
    with refused("idempotency_mismatch"):
        gateway.charge("pay-1", **{**request, **change}, today=TODAY)
    assert gateway.charges_for("pay-1") == [first]
    assert gateway.charge_count() == 1


def test_declines_and_failures_are_stored_under_their_key(gateway: Gateway) -> None:
    failing = card(gateway, "4000000000000119")
    failed = gateway.charge("pay-1", failing, 1000, today=TODAY)
    assert failed.status == "failed" and failed.retryable
    assert gateway.charge("pay-1", failing, 1000, today=TODAY) == failed
    declined = gateway.charge("pay-2", card(gateway, "4000000000000002"), 1000, today=TODAY)
    assert gateway.charge("pay-2", declined.token, 1000, today=TODAY) == declined
    assert gateway.charge_count() == 2
    assert gateway.charge_count("failed") == gateway.charge_count("declined") == 1
    retried = gateway.charge("pay-3", card(gateway), 1000, today=TODAY)  # a new key, a new try
    assert retried.succeeded and gateway.charge_count("succeeded") == 1


def test_a_key_is_used_once_across_charges_voids_and_refunds(gateway: Gateway) -> None:
    charged = gateway.charge("key-1", card(gateway), 1000, today=TODAY)
    with refused("idempotency_mismatch"):
        gateway.refund("key-1", charged.charge_id, 100)
    with refused("idempotency_mismatch"):
        gateway.void("key-1", charged.charge_id, today=TODAY)
    assert gateway.refunded_cents(charged.charge_id) == 0


def test_refused_requests_store_nothing_under_their_key(gateway: Gateway) -> None:
    token = card(gateway)
    with refused("invalid_token"):
        gateway.charge("pay-1", "pm_nonsense", 1000, today=TODAY)
    assert gateway.charge("pay-1", token, 1000, today=TODAY).succeeded


def test_one_key_charges_once_from_many_threads_and_processes(server_db: str) -> None:
    # Two Gateway objects on one database stand for two server processes.
    gateways = [Gateway.beside(server_db), Gateway.beside(server_db)]
    try:
        token = card(gateways[0])
        barrier = threading.Barrier(8)
        results: list[tuple[str, Charge]] = []
        errors: list[BaseException] = []

        def pay(g: Gateway, key: str) -> None:
            try:
                barrier.wait(10)
                results.append((key, g.charge(key, token, 777, today=TODAY)))
            except BaseException as exc:
                errors.append(exc)

        keys = ["same"] * 6 + ["other-1", "other-2"]
        threads = [threading.Thread(target=pay, args=(gateways[i % 2], key))
                   for i, key in enumerate(keys)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert len(results) == 8
        assert len({c for key, c in results if key == "same"}) == 1  # one result, six times
        assert len(gateways[0].charges_for("same")) == 1
        assert gateways[1].charge_count() == 3
    finally:
        for g in gateways:
            g.close()


# --- amounts and tokens -----------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "code"), [
    (0, "amount_too_small"), (-5, "amount_too_small"), (True, "amount_too_small"),
    (MAX_AMOUNT_CENTS + 1, "amount_too_large"),
])
def test_amounts_are_positive_whole_cents_up_to_the_limit(
    gateway: Gateway, amount: Any, code: str
) -> None:
    token = card(gateway)
    with refused(code):
        gateway.charge("pay-1", token, amount, today=TODAY)
    assert gateway.charge("pay-2", token, MAX_AMOUNT_CENTS, today=TODAY).succeeded
    assert gateway.charge_count() == 1


def test_cards_vaulted_before_the_gateway_existed_still_charge(gateway: Gateway) -> None:
    legacy = f"tok_{uuid.uuid4().hex[:24]}"
    assert gateway.charge("pay-1", legacy, 2500, today=TODAY).succeeded
    assert gateway.charge("pay-2", legacy, 2500, exp_month=11, exp_year=2026,
                          today=TODAY).succeeded
    expired = gateway.charge("pay-3", legacy, 2500, exp_month=10, exp_year=2026, today=TODAY)
    assert (expired.status, expired.decline_code) == ("declined", "expired_card")
    with refused("invalid_expiry_month"):
        gateway.charge("pay-4", legacy, 2500, exp_year=2030, today=TODAY)
    for unknown in ("tok_" + "A" * 24, "tok_123", "btok_" + "0" * 24, "", "x" * 65):
        with refused("invalid_token"):
            gateway.charge("pay-5", unknown, 2500, today=TODAY)
    assert gateway.charge_count() == 3


# --- voids and refunds ------------------------------------------------------------------------


def test_a_void_is_for_the_same_day_only(gateway: Gateway) -> None:
    token = card(gateway)
    today = gateway.charge("pay-1", token, 1000, today=TODAY)
    voided = gateway.void("void-1", today.charge_id, today=TODAY)
    assert (voided.kind, voided.amount_cents, voided.charge_id) == ("void", 1000,
                                                                   today.charge_id)
    assert gateway.void("void-1", today.charge_id, today=date(2026, 11, 16)) == voided
    assert gateway.refunded_cents(today.charge_id) == 1000
    with refused("charge_already_voided"):
        gateway.void("void-2", today.charge_id, today=TODAY)
    with refused("charge_already_voided"):
        gateway.refund("refund-1", today.charge_id, 100)
    yesterday = gateway.charge("pay-2", token, 1000, today=date(2026, 11, 14))
    with refused("void_window_passed"):
        gateway.void("void-3", yesterday.charge_id, today=TODAY)
    with refused("resource_missing"):
        gateway.void("void-4", "ch_nothing", today=TODAY)
    declined = gateway.charge("pay-3", card(gateway, "4000000000000002"), 1000, today=TODAY)
    with refused("charge_not_refundable"):
        gateway.void("void-5", declined.charge_id, today=TODAY)
    with refused("charge_not_refundable"):
        gateway.refund("refund-2", declined.charge_id, 100)


def test_partial_refunds_never_add_up_to_more_than_the_charge(gateway: Gateway) -> None:
    charged = gateway.charge("pay-1", card(gateway), 1000, today=TODAY)
    first = gateway.refund("refund-1", charged.charge_id, 300)
    assert (first.kind, first.amount_cents) == ("refund", 300)
    assert gateway.refund("refund-1", charged.charge_id, 300) == first  # a retry
    with refused("idempotency_mismatch"):
        gateway.refund("refund-1", charged.charge_id, 400)
    with refused("refund_exceeds_charge"):
        gateway.refund("refund-2", charged.charge_id, 701)
    gateway.refund("refund-2", charged.charge_id, 700)
    assert gateway.refunded_cents(charged.charge_id) == 1000
    with refused("refund_exceeds_charge"):
        gateway.refund("refund-3", charged.charge_id, 1)
    with refused("charge_already_refunded"):
        gateway.void("void-1", charged.charge_id, today=TODAY)
    with refused("amount_too_small"):
        gateway.refund("refund-4", charged.charge_id, 0)
    assert gateway.charge_count() == 1


# --- bank accounts (ACH) ----------------------------------------------------------------------


def test_routing_numbers_pass_the_3_7_1_check() -> None:
    assert routing_number_ok("021000021") and routing_number_ok("110000000")
    for bad in ("123456789", "02100002", "0210000210", "02100002x", ""):
        assert not routing_number_ok(bad)


@pytest.mark.parametrize(("account", "status", "decline_code"), [
    ("000123456789", "succeeded", ""),
    ("000111111116", "declined", "invalid_account"),
    ("000222222227", "declined", "insufficient_funds"),
])
def test_stripe_test_bank_accounts(
    gateway: Gateway, account: str, status: str, decline_code: str
) -> None:
    bank = gateway.tokenize_bank_account("110000000", account, "Dana Reyes", "checking")
    assert (bank.last4, bank.bank_name) == (account[-4:], "STRIPE TEST BANK")
    assert bank.token.startswith("btok_")
    charged = gateway.charge("ach-1", bank.token, 12_000, today=TODAY)
    assert (charged.status, charged.decline_code) == (status, decline_code)


def test_bad_bank_accounts_are_refused(gateway: Gateway) -> None:
    with refused("routing_number_invalid"):
        gateway.tokenize_bank_account("123456789", "000123456789", "Dana", "checking")
    with refused("account_number_invalid"):
        gateway.tokenize_bank_account("110000000", "12", "Dana", "checking")
    with refused("account_number_invalid"):
        gateway.tokenize_bank_account("110000000", "0001234x6789", "Dana", "checking")
    with refused("invalid_account_type"):
        gateway.tokenize_bank_account("110000000", "000123456789", "Dana", "brokerage")
    with refused("invalid_holder_name"):
        gateway.tokenize_bank_account("110000000", "000123456789", "  ", "savings")
    assert gateway.tokenize_bank_account("021000021", "000123456789", "Dana",
                                         "savings").bank_name == "JPMORGAN CHASE BANK, NA"


# --- where it keeps things --------------------------------------------------------------------


def test_beside_names_its_own_database(tmp_path: Path) -> None:
    server = tmp_path / "server.sqlite3"
    for given in (str(server), database_url(str(server))):
        g = Gateway.beside(given)
        try:
            assert g.path == tmp_path / "server.gateway.sqlite3" and g.path.exists()
        finally:
            g.close()
    memory = Gateway.beside("sqlite://")
    try:
        assert memory.path is None
        assert memory.charge("k", card(memory), 100, today=TODAY).succeeded
    finally:
        memory.close()


def _gateway_cells(g: Gateway) -> list[Any]:
    """Every value in every one of the gateway's tables."""
    engine = create_engine(g.url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        tables = [t for t in meta.sorted_tables if t.name.startswith("gateway_")]
        assert len(tables) == 5
        with engine.connect() as conn:
            return [cell for t in tables for row in conn.execute(t.select()) for cell in row]
    finally:
        engine.dispose()


def _as_stored(cell: Any) -> bytes:
    """A value as SQLite keeps it in its pages (text; SQLAlchemy's datetime format)."""
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M:%S.%f").encode()
    return str(cell).encode()


def _words(text: str, word: str) -> bool:
    # A three-digit CVC turns up inside random ids by chance ("ch_a987f..."): look for it
    # as a value of its own.
    return re.search(rf"\b{word}\b", text) is not None


def _messages(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def test_no_card_number_or_cvc_is_ever_stored(gateway: Gateway) -> None:
    token = gateway.tokenize_card(VISA, 12, 2030, CVC, "Dana Reyes", "94105", today=TODAY)
    gateway.charge("pay-1", token.token, 4210, today=TODAY)
    gateway.tokenize_bank_account("110000000", "000123456789", "Dana Reyes", "checking")
    cells = _gateway_cells(gateway)
    assert "4242" in cells and token.token in cells  # what is safe to keep is kept
    text = [c for c in cells if isinstance(c, str)]
    for secret in (VISA, "000123456789"):
        assert not any(secret in c for c in text)
    assert not any(_words(c, CVC) for c in text) and int(CVC) not in cells
    if gateway.path is not None:  # and not in the file's bytes (its WAL included)
        wal = gateway.path.with_name(gateway.path.name + "-wal")
        assert wal.exists()  # still open: the last writes are in the WAL
        raw = gateway.path.read_bytes() + wal.read_bytes()
        for secret in (VISA, "000123456789"):
            assert secret.encode() not in raw
        # Leave out the values known to be safe (random ids, hashes, times), then no CVC.
        for cell in sorted({_as_stored(c) for c in cells if c is not None}, key=len,
                           reverse=True):
            if len(cell) >= 3:
                raw = raw.replace(cell, b"")
        assert CVC.encode() not in raw


def test_no_card_number_or_cvc_is_ever_logged(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = card(gateway)
    charged = gateway.charge("pay-1", token, 4210, today=TODAY)
    gateway.refund("refund-1", charged.charge_id, 10)
    with refused("incorrect_number"):
        gateway.tokenize_card("4242424242424241", 12, 2030, CVC, "D", today=TODAY)
    with refused("expired_card"):
        gateway.tokenize_card(VISA, 1, 2020, CVC, "D", today=TODAY)
    assert "ending 4242" in caplog.text
    assert VISA not in caplog.text and "4242424242424241" not in caplog.text
    assert not _words(_messages(caplog), CVC)


# --- over HTTP --------------------------------------------------------------------------------


@dataclass
class Api:
    app: Any
    http: httpx.Client
    db: str

    @property
    def gateway(self) -> Gateway:
        return runtime_of(self.app).gateway

    def headers(self, username: str = "agent") -> dict[str, str]:
        r = self.http.post("/v1/auth/login", json={
            "username": username, "password": PASSWORD, "client_id": uuid.uuid4().hex})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def api(server_db: str) -> Iterator[Api]:
    clock = lambda: datetime(2026, 11, 15, 9, 0, tzinfo=UTC)  # noqa: E731
    app = create_app(server_db, clock=clock, password_hasher=FAST_HASHER)
    engine = open_engine(server_db)
    with Session(engine) as s, s.begin():
        seed_users(s, [("agent", "Dana Reyes", "agent", PASSWORD)], hasher=FAST_HASHER)
    engine.dispose()
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url, timeout=5) as http:
        yield Api(app, http, server_db)


CARD = {"number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": CVC,
        "holder_name": "Dana Reyes", "postal_code": "94105"}
ACCOUNT = {"routing_number": "110000000", "account_number": "000123456789",
           "holder_name": "Dana Reyes", "account_type": "checking"}


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "code"} and body["detail"] and body["code"], body
    return dict(body)


def test_a_desk_tokenizes_a_card_and_the_server_can_charge_it(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = api.http.post("/v1/gateway/cards", json=CARD, headers=api.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "brand", "last4", "exp_month", "exp_year"}
    assert (body["brand"], body["last4"], body["exp_month"], body["exp_year"]) == (
        "visa", "4242", 12, 2030)
    charged = api.gateway.charge("pay-1", body["token"], 4210, today=TODAY)
    assert charged.succeeded and api.gateway.charge_count() == 1
    if "://" not in api.db:
        assert api.gateway.path == Path(api.db).with_name("server.gateway.sqlite3")
    assert VISA not in r.text and VISA not in caplog.text and not _words(_messages(caplog), CVC)


def test_the_gateway_routes_need_a_session(api: Api) -> None:
    for path, body in (("/v1/gateway/cards", CARD), ("/v1/gateway/bank-accounts", ACCOUNT)):
        r = api.http.post(path, json=body)
        assert problem(r, 401)["code"] == "not_logged_in"
        assert r.headers["www-authenticate"].startswith("Bearer")
        bad = api.http.post(path, json=body, headers={"Authorization": "Bearer nope"})
        assert problem(bad, 401)["code"] == "invalid_token"
    assert api.gateway.charge_count() == 0


@pytest.mark.parametrize(("change", "code"), [
    ({"number": "4242424242424241"}, "incorrect_number"),
    ({"number": "1234"}, "invalid_number"),
    ({"exp_month": 10, "exp_year": 2026}, "expired_card"),  # the server's today: 2026-11-15
    ({"exp_month": 13}, "invalid_expiry_month"),
    ({"cvc": "12"}, "invalid_cvc"),
])
def test_a_card_the_gateway_refuses_is_a_402_with_its_code(
    api: Api, change: dict[str, Any], code: str
) -> None:
    r = api.http.post("/v1/gateway/cards", json={**CARD, **change}, headers=api.headers())
    assert problem(r, 402)["code"] == code
    assert str(change.get("number", VISA)) not in r.text


def test_a_card_good_through_this_month_is_taken(api: Api) -> None:
    r = api.http.post("/v1/gateway/cards", json={**CARD, "exp_month": 11, "exp_year": 2026},
                      headers=api.headers())
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [
    {**CARD, "number": int(VISA)},  # a number, not a string
    {**CARD, "exp_month": "twelve"},
    {**CARD, "cvc": CVC * 3},
    {**CARD, "number": VISA * 2 + "1"},  # too long
    {**CARD, VISA: CVC},  # an unknown field named after the number
    {**CARD, "note": f"card {VISA} cvc {CVC}"},
    {k: v for k, v in CARD.items() if k != "holder_name"},
    [CARD],
])
def test_a_malformed_card_request_is_a_422_that_echoes_nothing(
    api: Api, body: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = api.http.post("/v1/gateway/cards", json=body, headers=api.headers())
    detail = problem(r, 422)["detail"]
    assert detail and VISA not in r.text and "4242" not in r.text
    assert CVC not in r.text
    assert VISA not in caplog.text and CVC * 3 not in caplog.text
    assert api.gateway.charge_count() == 0


def test_a_bank_account_is_tokenized_or_refused(api: Api) -> None:
    headers = api.headers()
    r = api.http.post("/v1/gateway/bank-accounts", json=ACCOUNT, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"token": r.json()["token"], "last4": "6789",
                        "bank_name": "STRIPE TEST BANK", "account_type": "checking"}
    assert "000123456789" not in r.text
    bad = api.http.post("/v1/gateway/bank-accounts",
                        json={**ACCOUNT, "routing_number": "123456789"}, headers=headers)
    assert problem(bad, 402)["code"] == "routing_number_invalid"
    wrong = api.http.post("/v1/gateway/bank-accounts",
                          json={**ACCOUNT, "account_type": "brokerage"}, headers=headers)
    assert problem(wrong, 422)["code"] == "invalid_request"
    long = api.http.post("/v1/gateway/bank-accounts",
                         json={**ACCOUNT, "account_number": "000123456789" * 3},
                         headers=headers)
    assert "000123456789" not in problem(long, 422)["detail"]


def test_the_openapi_schema_documents_the_gateway_routes(api: Api) -> None:
    paths = api.http.get("/openapi.json").json()["paths"]
    for path in ("/v1/gateway/cards", "/v1/gateway/bank-accounts"):
        op = paths[path]["post"]
        assert op["security"] and op["tags"] == ["gateway"]
        assert {"400", "401", "402", "413", "422"} <= set(op["responses"])
        for status, response in op["responses"].items():
            if status.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Problem"), (path, status)


def test_an_app_uses_the_gateway_it_is_given(tmp_path: Path) -> None:
    given = Gateway(str(tmp_path / "elsewhere.sqlite3"))
    app = create_app(str(tmp_path / "server.sqlite3"), gateway=given)
    try:
        assert runtime_of(app).gateway is given
        assert not (tmp_path / "server.gateway.sqlite3").exists()
    finally:
        runtime_of(app).close()
    # Closing released its connections; a file gateway opens again on its next call.
    assert given.charge("k", card(given), 100, today=TODAY).succeeded
    given.close()
