"""The payment gateway: a stub of an external card and ACH processor (Stripe's test mode).

The sync server calls it as it would call a real processor over the network, so it is its
own system with its own database: its own SQLAlchemy engine, connections, transactions and
tables (``gateway_*``, made by ``metadata.create_all``: an external system does not share
the server's Alembic migrations). ``Gateway.beside(server_url)`` keeps it in a SQLite file
beside a SQLite server database, or in the server's own database (other tables) otherwise.

It behaves like the real thing, errors included:
- ``tokenize_card`` checks the number (digits, length, Luhn, brand), expiry and CVC format,
  then keeps a token with only the brand, last four, expiry, a fingerprint (HMAC-SHA256 of
  the number under a per-gateway secret) and the test behaviour the number selects. Never
  the number, never the CVC (PCI DSS: not even encrypted).
- Stripe's test numbers: 4242424242424242 (and the other brands' success numbers) succeed,
  4000000000000002 is declined (``card_declined``), 4000000000009995 ``insufficient_funds``,
  4000000000000069 ``expired_card``, 4000000000000127 ``incorrect_cvc``, 4000000000009987
  ``lost_card``, 4000000000009979 ``stolen_card``, 4000000000000119 ``processing_error``
  (a failure worth retrying with a new key). Any other valid number succeeds.
- ``tokenize_bank_account``: ACH; routing numbers pass the 3-7-1 check; Stripe's test
  accounts 000111111116 (``invalid_account``) and 000222222227 (``insufficient_funds``)
  are declined when charged.
- ``charge``, ``void`` and ``refund`` are idempotent by key like Stripe's: the same key
  with the same parameters returns the stored result (declines and failures included)
  without acting again; the same key with other parameters is ``idempotency_mismatch``.
  Parameters that fail validation store nothing (as Stripe: the request never ran).

Declines are results (a ``Charge`` with status "declined" or "failed" and the processor's
``decline_code``, kept as returned); a ``GatewayError(code, message)`` is a request the
gateway refused. Its message is plain words for the agent, never a card number.

Thread-safe: the server calls it from worker threads; one lock serialises its calls, and
every call commits its own short transaction (BEGIN IMMEDIATE on SQLite, so several
processes sharing the file wait for each other instead of failing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import string
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    Integer,
    String,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

log = logging.getLogger("server_stub.gateway")

CURRENCY: Final = "USD"
MAX_AMOUNT_CENTS: Final = 99_999_999  # $999,999.99, Stripe's limit for USD
MAX_IDEMPOTENCY_KEY: Final = 255
MAX_DESCRIPTION: Final = 1000
# pg_advisory_xact_lock key that serialises creating the gateway's tables ("GATEWAY!").
_SCHEMA_LOCK_KEY: Final = 0x4741544557415921
_SECRET_ID: Final = 1

ChargeStatus = Literal["succeeded", "declined", "failed"]
ReversalKind = Literal["void", "refund"]
T = TypeVar("T")

# Stripe's test card numbers and what each one does when charged ("" = succeeds).
TEST_CARDS: Final[dict[str, str]] = {
    "4242424242424242": "",
    "5555555555554444": "",
    "2223003122003222": "",
    "378282246310005": "",
    "6011111111111117": "",
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
}
# Stripe's ACH test account numbers (with any valid routing number, e.g. 110000000).
TEST_BANK_ACCOUNTS: Final[dict[str, str]] = {
    "000123456789": "",
    "000111111116": "invalid_account",
    "000222222227": "insufficient_funds",
}
BANK_NAMES: Final[dict[str, str]] = {
    "110000000": "STRIPE TEST BANK",
    "021000021": "JPMORGAN CHASE BANK, NA",
}
# Outcomes that fail rather than decline: nothing is wrong with the card; try again later
# (with a new idempotency key: the failure is stored under the old one).
_FAILURES: Final = frozenset({"processing_error"})

# What the agent may say for each decline code. Never "lost" or "stolen": just declined.
_DECLINE_WORDS: Final[dict[str, str]] = {
    "card_declined": "The card was declined. Ask for another way to pay.",
    "insufficient_funds": "The payment was declined for insufficient funds. Ask for "
    "another way to pay or a smaller amount.",
    "expired_card": "The card has expired. Ask for a current card.",
    "incorrect_cvc": "The security code did not match. Check it with the customer and "
    "try again.",
    "processing_error": "The payment could not be processed. Try again in a moment.",
    "lost_card": "The card was declined. Ask for another way to pay.",
    "stolen_card": "The card was declined. Ask for another way to pay.",
    "invalid_account": "The bank account could not be debited. Check the account details "
    "or ask for another way to pay.",
}

_LEGACY_TOKEN = re.compile(r"tok_[0-9a-f]{24}")
# Charges made before this stub existed (the demo store's payment history): a refund of
# one is accepted for up to the amount the ledger says was paid.
_LEGACY_CHARGE = re.compile(r"(?:ch_[0-9a-f]{24}|ach_[0-9a-f]{20})")
_SEPARATORS = re.compile(r"[ -]")
_CONFIRMATION_ALPHABET = "".join(
    c for c in string.ascii_uppercase + string.digits if c not in "01IO"
)


def decline_message(code: str) -> str:
    """Words for the agent about a declined or failed charge's ``decline_code``."""
    return _DECLINE_WORDS.get(code, "The payment was declined. Ask for another way to pay.")


class GatewayError(Exception):
    """The gateway refused the request: ``code`` for programs, ``message`` for the agent.

    Codes: tokenizing a card ``invalid_number`` (not 12-19 digits, or the wrong length for
    its brand), ``incorrect_number`` (fails the Luhn check), ``invalid_expiry_month``,
    ``invalid_expiry_year``, ``expired_card``, ``invalid_cvc``, ``invalid_holder_name``,
    ``invalid_postal_code``; a bank account ``routing_number_invalid``,
    ``account_number_invalid``, ``invalid_account_type``, ``invalid_holder_name``;
    charging ``invalid_token``, ``amount_too_small``, ``amount_too_large``,
    ``invalid_description``, ``invalid_idempotency_key``, ``idempotency_mismatch``;
    voids and refunds ``resource_missing`` (no such charge), ``charge_not_refundable``
    (it did not succeed), ``charge_already_voided``, ``charge_already_refunded`` (a void
    after a refund), ``void_window_passed``, ``refund_exceeds_charge``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


@dataclass(frozen=True)
class CardToken:
    token: str
    brand: str  # visa, mastercard, amex, discover or unknown (Stripe's names)
    last4: str
    exp_month: int
    exp_year: int  # four digits
    fingerprint: str  # the same card number gives the same fingerprint on this gateway


@dataclass(frozen=True)
class BankToken:
    token: str
    last4: str
    bank_name: str
    account_type: str = "checking"
    fingerprint: str = ""


@dataclass(frozen=True)
class Charge:
    charge_id: str
    status: ChargeStatus
    decline_code: str  # "" when it succeeded; else as the processor returned it
    amount_cents: int
    token: str
    created_at: datetime  # aware UTC
    confirmation: str  # for the customer; "" unless it succeeded
    currency: str = CURRENCY
    description: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def retryable(self) -> bool:
        """A failure (not a decline): the same payment may succeed later, with a new key."""
        return self.status == "failed"


@dataclass(frozen=True)
class Reversal:
    """A void (same day, the whole charge) or a refund (any part of what is left)."""

    reversal_id: str
    kind: ReversalKind
    charge_id: str
    amount_cents: int
    created_at: datetime  # aware UTC


# --- the gateway's own tables ----------------------------------------------------------------


class _Base(DeclarativeBase):
    pass


class _Secret(_Base):
    """The key of the fingerprints' HMAC, made once per gateway."""

    __tablename__ = "gateway_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    secret: Mapped[str] = mapped_column(String(64))


class _Token(_Base):
    """What a token stands for: what is safe to keep, and the test behaviour its number
    chose (``outcome``, "" = succeeds). Never a full number, never a CVC."""

    __tablename__ = "gateway_tokens"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # card or bank_account
    brand: Mapped[str] = mapped_column(String(16), default="")
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exp_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    bank_name: Mapped[str] = mapped_column(String(80), default="")
    account_type: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC


class _Charge(_Base):
    __tablename__ = "gateway_charges"

    charge_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(MAX_IDEMPOTENCY_KEY), unique=True)
    token: Mapped[str] = mapped_column(String(64), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(MAX_DESCRIPTION), default="")
    status: Mapped[str] = mapped_column(String(12))
    decline_code: Mapped[str] = mapped_column(String(32), default="")
    confirmation: Mapped[str] = mapped_column(String(16), default="")
    business_date: Mapped[date] = mapped_column(Date)  # the day a void is allowed on
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class _Reversal(_Base):
    __tablename__ = "gateway_reversals"

    reversal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(MAX_IDEMPOTENCY_KEY), unique=True)
    charge_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC


class _Request(_Base):
    """One row per idempotency key, whatever the operation: a key is used once."""

    __tablename__ = "gateway_idempotency_keys"

    key: Mapped[str] = mapped_column(String(MAX_IDEMPOTENCY_KEY), primary_key=True)
    operation: Mapped[str] = mapped_column(String(8))
    params_sha256: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC


# --- checks (the gateway's own: an external system does not share the desk's code) ----------


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _brand(digits: str) -> str:
    if digits.startswith(("34", "37")):
        return "amex"
    if digits.startswith("4"):
        return "visa"
    two, four, three = int(digits[:2]), int(digits[:4]), int(digits[:3])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")) or 644 <= three <= 649:
        return "discover"
    return "unknown"


_LENGTHS: Final[dict[str, frozenset[int]]] = {
    "amex": frozenset({15}),
    "visa": frozenset({13, 16, 19}),
    "mastercard": frozenset({16}),
    "discover": frozenset(range(16, 20)),
    "unknown": frozenset(range(12, 20)),
}


def _ascii_digits(value: str) -> bool:
    # str.isdigit() also takes other scripts' digits ("٤٢"), which int() would read.
    return value.isascii() and value.isdigit()


def _card_digits(number: str) -> tuple[str, str]:
    """(digits, brand) of a card number, or GatewayError. Spaces and dashes are allowed."""
    digits = _SEPARATORS.sub("", number)
    if not _ascii_digits(digits) or not 12 <= len(digits) <= 19:
        raise GatewayError("invalid_number", "The card number is not a valid card number.")
    brand = _brand(digits)
    if len(digits) not in _LENGTHS[brand]:
        raise GatewayError(
            "invalid_number", f"The card number has the wrong number of digits for {brand}."
        )
    if not _luhn_ok(digits):
        raise GatewayError("incorrect_number", "The card number is incorrect; check it.")
    return digits, brand


def _expiry(exp_month: int, exp_year: int, today: date | None) -> tuple[int, int]:
    """(month, four-digit year); GatewayError if out of range, or expired by ``today``.
    A card is good through the last day of its printed month."""
    if isinstance(exp_month, bool) or not isinstance(exp_month, int) or not 1 <= exp_month <= 12:
        raise GatewayError("invalid_expiry_month", "The expiry month must be 1 to 12.")
    if isinstance(exp_year, bool) or not isinstance(exp_year, int):
        raise GatewayError("invalid_expiry_year", "The expiry year is not valid.")
    year = 2000 + exp_year if 0 <= exp_year <= 99 else exp_year
    if not 2000 <= year <= 2099 or (today is not None and year > today.year + 50):
        raise GatewayError("invalid_expiry_year", "The expiry year is not valid.")
    if today is not None and (year, exp_month) < (today.year, today.month):
        raise GatewayError("expired_card", "The card has expired.")
    return exp_month, year


def _expired(month: int, year: int, today: date) -> bool:
    return (year, month) < (today.year, today.month)


def routing_number_ok(routing: str) -> bool:
    """A US ABA routing number: nine digits, weights 3-7-1, sum divisible by 10."""
    if len(routing) != 9 or not _ascii_digits(routing):
        return False
    total = sum(int(d) * w for d, w in zip(routing, (3, 7, 1) * 3, strict=True))
    return total % 10 == 0


def _check_text(value: str, limit: int, code: str, what: str) -> None:
    if len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise GatewayError(code, f"The {what} is not valid.")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):  # no database stores lone surrogates
        raise GatewayError(code, f"The {what} is not valid.")


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise GatewayError(
            "invalid_idempotency_key",
            f"The idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
        )
    _check_text(key, MAX_IDEMPOTENCY_KEY, "invalid_idempotency_key", "idempotency key")


def _check_amount(amount_cents: int) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise GatewayError("amount_too_small", "The amount must be a whole number of cents.")
    if amount_cents <= 0:
        raise GatewayError("amount_too_small", "The amount must be more than zero.")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise GatewayError("amount_too_large", "The amount is more than $999,999.99.")


def _params_sha256(**params: Any) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _url(database: str) -> str:
    return database if "://" in database else f"sqlite:///{Path(database).expanduser().resolve()}"


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    db = parsed.database or ""
    return db in ("", ":memory:") or "mode=memory" in url


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is off: _sqlite_begin starts every transaction
    # as BEGIN IMMEDIATE (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Take the write lock at the start: a deferred transaction that reads, then writes,
    # fails at once (no busy wait) if another process wrote in between.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _open_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if _in_memory(url):
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


# --- the gateway -----------------------------------------------------------------------------


class Gateway:
    """A payment gateway over ``database`` (a SQLite file path or a SQLAlchemy URL).

    All amounts are integer cents in USD. ``clock`` gives the charges' timestamps (aware
    UTC); the business day (void window, expiry) is the ``today`` each call is given.
    """

    def __init__(self, database: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.url = _url(database)
        self._clock = clock or _utcnow
        self._engine = _open_engine(self.url)
        self._sessions = sessionmaker(self._engine, class_=Session, expire_on_commit=False)
        self._lock = threading.RLock()
        self._create_tables()
        self._secret = self._load_secret()

    @classmethod
    def beside(
        cls, server_database: str, *, clock: Callable[[], datetime] | None = None
    ) -> Gateway:
        """The gateway for a sync server on ``server_database``: a SQLite file beside a
        SQLite server's (``server.sqlite3`` -> ``server.gateway.sqlite3``), in memory
        beside an in-memory one, else in the server's own database (its ``gateway_``
        tables, through its own connections)."""
        url = _url(server_database)
        if not url.startswith("sqlite"):
            return cls(url, clock=clock)
        if _in_memory(url):
            return cls("sqlite://", clock=clock)
        path = Path(make_url(url).database or "")
        return cls(str(path.with_name(f"{path.stem}.gateway.sqlite3")), clock=clock)

    @property
    def path(self) -> Path | None:
        """The gateway's SQLite file, or None (in memory, or not SQLite)."""
        if not self.url.startswith("sqlite") or _in_memory(self.url):
            return None
        return Path(make_url(self.url).database or "")

    def close(self) -> None:
        """Release the gateway's connections. A file or server database reopens on the next
        call; an in-memory gateway is gone."""
        self._engine.dispose()

    # -- plumbing --

    def _create_tables(self) -> None:
        with self._lock, self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several server processes may start at once: one creates, the rest wait.
                connection.execute(
                    select(func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY))
                )
            _Base.metadata.create_all(connection)

    def _load_secret(self) -> bytes:
        for attempt in range(2):
            try:
                with self._transaction() as s:
                    row = s.get(_Secret, _SECRET_ID)
                    if row is None:
                        row = _Secret(id=_SECRET_ID, secret=secrets.token_hex(32))
                        s.add(row)
                    return bytes.fromhex(row.secret)
            except IntegrityError:  # another process made it first: read theirs
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One committed transaction on the gateway's own connection, under its lock."""
        with self._lock, self._sessions.begin() as session:
            yield session

    def _fingerprint(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()

    def _once(
        self,
        key: str,
        operation: str,
        params_sha256: str,
        act: Callable[[Session, datetime], tuple[str, T]],
        replay: Callable[[Session, str], T],
    ) -> T:
        """Run ``act`` once per idempotency key; a repeat with the same parameters gets
        ``replay`` of the stored result, with other parameters idempotency_mismatch."""
        for attempt in range(2):
            try:
                with self._transaction() as s:
                    if s.get_bind().dialect.name == "postgresql":
                        # Requests with one key from several server processes queue here,
                        # so the later one replays the first's result.
                        s.execute(select(func.pg_advisory_xact_lock(
                            func.hashtextextended(key, 0))))
                    done = s.get(_Request, key)
                    if done is not None:
                        if done.operation != operation or done.params_sha256 != params_sha256:
                            raise GatewayError(
                                "idempotency_mismatch",
                                "This idempotency key was already used for a different "
                                "request; use a new key for a new payment.",
                            )
                        return replay(s, done.object_id)
                    now = self._clock()
                    object_id, result = act(s, now)
                    s.add(_Request(key=key, operation=operation, params_sha256=params_sha256,
                                   object_id=object_id, created_at=_naive(now)))
                    return result
            except IntegrityError:
                # Another process (sharing a PostgreSQL database) stored this key first:
                # the next round replays its result, or refuses a mismatch.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # -- tokens --

    def tokenize_card(
        self,
        number: str,
        exp_month: int,
        exp_year: int,
        cvc: str,
        holder_name: str,
        postal_code: str = "",
        *,
        today: date,
    ) -> CardToken:
        """A token for a card. Checks the number, expiry (``expired_card`` if it ended
        before ``today``'s month) and CVC format (three digits; four for American Express),
        and keeps only what is safe: brand, last four, expiry, fingerprint, test outcome."""
        if not isinstance(number, str):
            raise GatewayError("invalid_number", "The card number is not a valid card number.")
        digits, brand = _card_digits(number)
        month, year = _expiry(exp_month, exp_year, today)
        cvc_lengths = {"amex": (4,), "unknown": (3, 4)}.get(brand, (3,))
        if not isinstance(cvc, str) or not _ascii_digits(cvc) or len(cvc) not in cvc_lengths:
            what = "four digits" if brand == "amex" else "three digits"
            raise GatewayError("invalid_cvc", f"The security code must be {what}.")
        _check_text(holder_name, 200, "invalid_holder_name", "cardholder's name")
        _check_text(postal_code, 16, "invalid_postal_code", "postal code")
        outcome = TEST_CARDS.get(digits, "")
        with self._transaction() as s:
            row = _Token(
                token=f"tok_{secrets.token_hex(12)}", kind="card", brand=brand,
                last4=digits[-4:], exp_month=month, exp_year=year,
                fingerprint=self._fingerprint(digits), outcome=outcome,
                created_at=_naive(self._clock()),
            )
            s.add(row)
        log.info("tokenized a %s card ending %s as %s", brand, row.last4, row.token)
        return CardToken(row.token, brand, row.last4, month, year, row.fingerprint)

    def tokenize_bank_account(
        self, routing_number: str, account_number: str, holder_name: str, account_type: str
    ) -> BankToken:
        """A token for a US bank account (ACH): a valid routing number, a 4-17 digit
        account number, a name, checking or savings. Keeps the last four, not the number."""
        if not isinstance(routing_number, str) or not routing_number_ok(routing_number):
            raise GatewayError("routing_number_invalid", "The routing number is not valid.")
        if (
            not isinstance(account_number, str)
            or not _ascii_digits(account_number)
            or not 4 <= len(account_number) <= 17
        ):
            raise GatewayError(
                "account_number_invalid", "The account number must be 4 to 17 digits."
            )
        if account_type not in ("checking", "savings"):
            raise GatewayError(
                "invalid_account_type", "The account type must be checking or savings."
            )
        if not isinstance(holder_name, str) or not holder_name.strip():
            raise GatewayError("invalid_holder_name", "The account holder's name is needed.")
        _check_text(holder_name, 200, "invalid_holder_name", "account holder's name")
        bank_name = BANK_NAMES.get(routing_number, "")
        with self._transaction() as s:
            row = _Token(
                token=f"btok_{secrets.token_hex(12)}", kind="bank_account",
                last4=account_number[-4:], exp_month=None, exp_year=None,
                fingerprint=self._fingerprint(f"{routing_number}:{account_number}"),
                outcome=TEST_BANK_ACCOUNTS.get(account_number, ""),
                bank_name=bank_name, account_type=account_type,
                created_at=_naive(self._clock()),
            )
            s.add(row)
        log.info("tokenized a %s account ending %s as %s", account_type, row.last4, row.token)
        return BankToken(row.token, row.last4, bank_name, account_type, row.fingerprint)

    # -- charges --

    def charge(
        self,
        idempotency_key: str,
        token: str,
        amount_cents: int,
        *,
        description: str = "",
        exp_month: int | None = None,
        exp_year: int | None = None,
        today: date,
    ) -> Charge:
        """Charge ``amount_cents`` to ``token``, once per ``idempotency_key``.

        Declines and failures are results, stored under the key like successes. A card
        past its expiry (the one given, else the one on the token) by ``today`` is declined
        ``expired_card``. ``tok_`` + 24 hex tokens this gateway never issued are cards
        vaulted before it existed: they succeed unless the expiry given has passed.
        """
        _check_key(idempotency_key)
        _check_amount(amount_cents)
        if not isinstance(description, str):
            raise GatewayError("invalid_description", "The description is not valid.")
        _check_text(description, MAX_DESCRIPTION, "invalid_description", "description")
        if not isinstance(token, str) or not token or len(token) > 64:
            raise GatewayError("invalid_token", "The payment method's token is not valid.")
        given: tuple[int, int] | None = None
        if exp_month is not None or exp_year is not None:
            if exp_month is None or exp_year is None:
                raise GatewayError(
                    "invalid_expiry_month" if exp_month is None else "invalid_expiry_year",
                    "Give both the expiry month and the expiry year.",
                )
            given = _expiry(exp_month, exp_year, None)
        params = _params_sha256(
            operation="charge", token=token, amount_cents=amount_cents, currency=CURRENCY,
            description=description, exp=list(given) if given else None,
        )

        def act(s: Session, now: datetime) -> tuple[str, Charge]:
            status, code = self._decide(s, token, given, today)
            row = _Charge(
                charge_id=f"ch_{secrets.token_hex(12)}", idempotency_key=idempotency_key,
                token=token, amount_cents=amount_cents, currency=CURRENCY,
                description=description, status=status, decline_code=code,
                confirmation=_confirmation() if status == "succeeded" else "",
                business_date=today, created_at=_naive(now), voided=False, refunded_cents=0,
            )
            s.add(row)
            log.info("charge %s of %d cents to %s: %s %s", row.charge_id, amount_cents,
                     token, status, code)
            return row.charge_id, _charge_of(row)

        def replay(s: Session, charge_id: str) -> Charge:
            return _charge_of(s.get_one(_Charge, charge_id))

        return self._once(idempotency_key, "charge", params, act, replay)

    def _decide(
        self, s: Session, token: str, given: tuple[int, int] | None, today: date
    ) -> tuple[ChargeStatus, str]:
        found = s.get(_Token, token)
        if found is None:
            if not _LEGACY_TOKEN.fullmatch(token):
                raise GatewayError(
                    "invalid_token", "The gateway does not know this payment method."
                )
            if given is not None and _expired(*given, today):
                return "declined", "expired_card"
            return "succeeded", ""
        if found.kind == "card":
            month, year = given or (found.exp_month or 12, found.exp_year or 9999)
            if _expired(month, year, today):
                return "declined", "expired_card"
        outcome = found.outcome
        if not outcome:
            return "succeeded", ""
        return ("failed" if outcome in _FAILURES else "declined"), outcome

    def void(self, idempotency_key: str, charge_id: str, today: date) -> Reversal:
        """Cancel a charge in full, on the day (``today``) it was made; after that, refund."""
        _check_key(idempotency_key)
        if not isinstance(charge_id, str):
            raise GatewayError("resource_missing", "There is no such charge.")
        params = _params_sha256(operation="void", charge_id=charge_id)

        def act(s: Session, now: datetime) -> tuple[str, Reversal]:
            charge = self._reversible(s, charge_id)
            if charge.refunded_cents:
                raise GatewayError(
                    "charge_already_refunded",
                    "Part of this payment was refunded already; refund the rest instead.",
                )
            if today != charge.business_date:
                raise GatewayError(
                    "void_window_passed",
                    "A payment can be voided only on the day it was made; refund it instead.",
                )
            charge.voided = True
            return self._reverse(s, idempotency_key, charge, "void", charge.amount_cents, now)

        return self._once(idempotency_key, "void", params, act, _replay_reversal)

    def refund(self, idempotency_key: str, charge_id: str, amount_cents: int, *,
               legacy: tuple[int, date] | None = None) -> Reversal:
        """Give back ``amount_cents`` of a charge; several partial refunds may follow one
        another, never more in all than the charge. ``legacy`` is (amount, day) of a charge
        made before this gateway existed (``ch_``/``ach_`` + hex), as the ledger has it:
        adopted on first use, so the refund is bounded by it like any other."""
        _check_key(idempotency_key)
        _check_amount(amount_cents)
        if not isinstance(charge_id, str):
            raise GatewayError("resource_missing", "There is no such charge.")
        params = _params_sha256(operation="refund", charge_id=charge_id,
                                amount_cents=amount_cents)

        def act(s: Session, now: datetime) -> tuple[str, Reversal]:
            if legacy is not None:
                self._adopt_legacy(s, charge_id, *legacy)
            charge = self._reversible(s, charge_id)
            left = charge.amount_cents - charge.refunded_cents
            if amount_cents > left:
                raise GatewayError(
                    "refund_exceeds_charge",
                    f"Only {left} cents of this payment are left to refund.",
                )
            charge.refunded_cents += amount_cents
            return self._reverse(s, idempotency_key, charge, "refund", amount_cents, now)

        return self._once(idempotency_key, "refund", params, act, _replay_reversal)

    @staticmethod
    def _adopt_legacy(s: Session, charge_id: str, amount_cents: int, day: date) -> None:
        if not _LEGACY_CHARGE.fullmatch(charge_id) or s.get(_Charge, charge_id) is not None:
            return
        _check_amount(amount_cents)
        s.add(_Charge(charge_id=charge_id, idempotency_key=f"legacy:{charge_id}",
                      token="legacy", amount_cents=amount_cents, currency=CURRENCY,
                      description="charged before this gateway", status="succeeded",
                      decline_code="", confirmation="", business_date=day,
                      created_at=datetime(day.year, day.month, day.day), voided=False,
                      refunded_cents=0))
        s.flush()

    def _reversible(self, s: Session, charge_id: str) -> _Charge:
        # FOR UPDATE: on PostgreSQL two refunds racing from two processes queue here, so
        # together they cannot exceed the charge (SQLite's BEGIN IMMEDIATE already did).
        charge = s.get(_Charge, charge_id, with_for_update=True)
        if charge is None:
            raise GatewayError("resource_missing", "There is no such charge.")
        if charge.status != "succeeded":
            raise GatewayError(
                "charge_not_refundable", "This payment did not go through; nothing to reverse."
            )
        if charge.voided:
            raise GatewayError("charge_already_voided", "This payment was voided already.")
        return charge

    def _reverse(
        self, s: Session, key: str, charge: _Charge, kind: ReversalKind, amount: int,
        now: datetime,
    ) -> tuple[str, Reversal]:
        row = _Reversal(reversal_id=f"re_{secrets.token_hex(12)}", idempotency_key=key,
                        charge_id=charge.charge_id, kind=kind, amount_cents=amount,
                        created_at=_naive(now))
        s.add(row)
        log.info("%s %s of %d cents on %s", kind, row.reversal_id, amount, charge.charge_id)
        return row.reversal_id, _reversal_of(row)

    # -- for tests and reports --

    def charges_for(self, idempotency_key: str) -> list[Charge]:
        """The charges made under ``idempotency_key`` (never more than one)."""
        with self._transaction() as s:
            rows = s.scalars(select(_Charge).where(_Charge.idempotency_key == idempotency_key))
            return [_charge_of(r) for r in rows]

    def charge_count(self, status: ChargeStatus | None = None) -> int:
        """How many charges the gateway has made (of ``status``, if given)."""
        query = select(func.count()).select_from(_Charge)
        if status is not None:
            query = query.where(_Charge.status == status)
        with self._transaction() as s:
            return int(s.scalar(query) or 0)

    def refunded_cents(self, charge_id: str) -> int:
        """How much of a charge has been given back (all of it once voided)."""
        with self._transaction() as s:
            charge = s.get(_Charge, charge_id)
            if charge is None:
                raise GatewayError("resource_missing", "There is no such charge.")
            return charge.amount_cents if charge.voided else charge.refunded_cents


def _confirmation() -> str:
    return "".join(secrets.choice(_CONFIRMATION_ALPHABET) for _ in range(10))


def _charge_of(row: _Charge) -> Charge:
    status: ChargeStatus = "succeeded"
    if row.status == "declined":
        status = "declined"
    elif row.status == "failed":
        status = "failed"
    return Charge(
        charge_id=row.charge_id, status=status, decline_code=row.decline_code,
        amount_cents=row.amount_cents, token=row.token, created_at=_aware(row.created_at),
        confirmation=row.confirmation, currency=row.currency, description=row.description,
    )


def _reversal_of(row: _Reversal) -> Reversal:
    kind: ReversalKind = "void" if row.kind == "void" else "refund"
    return Reversal(reversal_id=row.reversal_id, kind=kind, charge_id=row.charge_id,
                    amount_cents=row.amount_cents, created_at=_aware(row.created_at))


def _replay_reversal(s: Session, reversal_id: str) -> Reversal:
    return _reversal_of(s.get_one(_Reversal, reversal_id))
