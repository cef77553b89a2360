"""What the endpoints do, as blocking calls against the store (no HTTP, no asyncio).

app.py runs these on its worker threads. Every call opens its own session and keeps its
transactions short; ``clock`` is injected so tests can move time (lockouts, expiry)
without sleeping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent_desktop.sync.protocol import (
    MAX_CLOCK_SKEW_SECONDS,
    PROTOCOL_VERSION,
    REJECTION_CODES,
    Change,
    LoginRequest,
    LoginResponse,
    Mutation,
    MutationResult,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)
from server_stub.errors import ApiError, unauthorized
from server_stub.mutations import Actor, MutationRejected, apply_mutation, restamp_refused
from server_stub.payments import audit_refused
from server_stub.store import (
    Client,
    MutationLog,
    Role,
    SyncedRow,
    Token,
    User,
    current_change_seq,
)

Clock = Callable[[], datetime]
log = logging.getLogger("server_stub")

MAX_FAILED_LOGINS = 10
LOCKOUT = timedelta(minutes=30)
WRONG_LOGIN = "Wrong username or password."
SESSION_EXPIRED = "Your session has expired; log in again."
REUSED_ID = "mutation id reused with different content"
# A push that loses a race with another server process re-reads and tries again this often.
_RACE_RETRIES = 5


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def args_digest(args: dict[str, Any]) -> str:
    """A stable fingerprint of a mutation's args (key order and spacing do not matter).

    ASCII escapes keep it defined for any text JSON can carry, lone surrogates included.
    """
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


_LOGGED_CODE = re.compile(r"\[({})\] ".format("|".join(REJECTION_CODES)))


def stored_rejection(reason: str, code: str) -> str:
    """A rejection as mutation_log.reason keeps it: the code in brackets, then the reason
    (the log has no column of its own for the code)."""
    return f"[{code}] {reason}"


def logged_rejection(stored: str) -> tuple[str, str]:
    """(reason, code) back from mutation_log.reason; code "" for a row logged before codes."""
    found = _LOGGED_CODE.match(stored)
    if found is None:
        return stored, ""
    return stored[found.end() :], found.group(1)


def bad_text(value: object, where: str = "") -> str | None:
    """Where ``value`` holds text no database can store (a NUL character, or a lone
    surrogate that has no UTF-8 form), or None when it is all fine.

    JSON can carry both (\\u0000, \\ud800); SQLite's driver and PostgreSQL refuse them, so
    they are caught here as input errors instead of failing as a 500 deep in a write.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return where or "text"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = bad_text(key, where) or bad_text(item, f"{where}.{key}" if where else key)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = bad_text(item, f"{where}[{index}]")
            if found:
                return found
    return None


def refuse_bad_text(**fields: object) -> None:
    """422 for a request whose own fields (not a mutation's args) hold unstorable text."""
    for name, value in fields.items():
        found = bad_text(value, name)
        if found:
            raise ApiError(
                422,
                f"{found}: the text has a NUL character or is not valid Unicode.",
                "invalid_request",
            )


def unsupported_protocol(version: object) -> ApiError:
    shown = repr(version)[:20]
    return ApiError(
        400,
        f"This server speaks sync protocol version {PROTOCOL_VERSION}, and the app sent "
        f"{shown}. Update the app (or the server) so they match.",
        "unsupported_protocol",
    )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a bearer token belongs to, and which installation it was issued to."""

    user_id: str
    username: str
    display_name: str
    role: Role
    client_id: str
    token_hash: str

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.username, self.display_name, self.role)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of checking a known user's password, before it is recorded."""

    user_id: str
    ok: bool


class _NotTogether(Exception):
    """A push the one-transaction path does not take (see Sync._push_together)."""


# Prebuilt Core statements for Sync._push_together, which runs them for every push (and the
# log insert for every mutation).
_CLIENTS: Table = Client.__table__  # type: ignore[assignment]
_CLIENT_LAST = select(_CLIENTS.c.last_mutation_id).where(
    _CLIENTS.c.client_id == bindparam("b_client")
)
_ADVANCE = (
    update(_CLIENTS)
    .where(_CLIENTS.c.client_id == bindparam("b_client"))
    .where(_CLIENTS.c.last_mutation_id == bindparam("b_last"))
    .values(last_mutation_id=bindparam("b_next"))
)
_LOG_MUTATION = insert(MutationLog.__table__)  # type: ignore[arg-type]
_TOKENS: Table = Token.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]
_SESSION_OF = (
    select(_TOKENS.c.expires_at, _TOKENS.c.client_id, _USERS.c.id, _USERS.c.username,
           _USERS.c.display_name, _USERS.c.role)
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.token_hash == bindparam("b_hash"))
)


class _LostRace(Exception):
    """Another writer advanced this client's last_mutation_id first: re-read and retry."""


def _locked(until: datetime) -> ApiError:
    return ApiError(
        423,
        f"This account is locked after {MAX_FAILED_LOGINS} failed logins, until "
        f"{until:%Y-%m-%d %H:%M} UTC. Try again after that, or ask a supervisor.",
        "account_locked",
    )


class Auth:
    """Login, token checks and logout."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hasher: PasswordHasher,
        clock: Clock,
        token_ttl: timedelta,
    ) -> None:
        self._sessions = sessions
        self._hasher = hasher
        self._clock = clock
        self._ttl = token_ttl
        # Verified against when the username is unknown, so an unknown user costs as much
        # time as a wrong password and timing does not reveal which usernames exist.
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    # --- login: check (any thread) then record (the writer thread) ---------------------

    def check_password(self, request: LoginRequest) -> PasswordCheck | None:
        """Verify the password; None for an unknown user. Raises 423 while locked.

        Read-only and CPU-heavy (argon2), so it runs off the single writer thread.
        """
        refuse_bad_text(
            username=request.username, password=request.password, client_id=request.client_id
        )
        with self._sessions() as session:
            found = session.execute(
                select(User.id, User.password_hash, User.locked_until).where(
                    User.username == request.username
                )
            ).first()
        if found is None:
            self._verify(self._dummy_hash, request.password)
            return None
        user_id, password_hash, locked_until = found
        if locked_until is not None and locked_until > self._clock():
            # Refused before verifying: a locked account must not become a free oracle.
            raise _locked(locked_until)
        return PasswordCheck(user_id, self._verify(password_hash, request.password))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def record_login(self, request: LoginRequest, check: PasswordCheck | None) -> LoginResponse:
        """Count a failure (locking at the tenth) or open a session. Writes."""
        if check is None:
            raise unauthorized(WRONG_LOGIN, "wrong_credentials")
        now = self._clock()
        error: ApiError
        with self._sessions() as session, session.begin():
            user = session.get(User, check.user_id)
            if user is None:  # deleted between the check and now
                raise unauthorized(WRONG_LOGIN, "wrong_credentials")
            if user.locked_until is not None and user.locked_until > now:
                raise _locked(user.locked_until)
            if not check.ok:
                # Atomic increment: two wrong passwords at once must both count.
                session.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(failed_logins=User.failed_logins + 1)
                    .execution_options(synchronize_session=False)
                )
                session.refresh(user)
                if user.failed_logins >= MAX_FAILED_LOGINS:
                    user.failed_logins = 0  # the next round after the lock starts afresh
                    user.locked_until = now + LOCKOUT
                    session.flush()
                    error = _locked(user.locked_until)
                else:
                    error = unauthorized(WRONG_LOGIN, "wrong_credentials")
                # Commit the count, then refuse: raising inside the block would roll it back.
            else:
                user.failed_logins = 0
                user.locked_until = None
                if self._hasher.check_needs_rehash(user.password_hash):
                    # Hashing parameters were raised since this password was set.
                    user.password_hash = self._hasher.hash(request.password)
                token = secrets.token_urlsafe(32)
                expires_at = now + self._ttl
                session.execute(delete(Token).where(Token.expires_at <= now))
                session.add(
                    Token(
                        token_hash=hash_token(token),
                        user_id=user.id,
                        client_id=request.client_id,
                        created_at=now,
                        expires_at=expires_at,
                    )
                )
                client = session.get(Client, request.client_id)
                if client is None:
                    try:
                        with session.begin_nested():
                            session.add(Client(
                                client_id=request.client_id, user_id=user.id, last_mutation_id=0
                            ))
                    except IntegrityError:
                        # Another server process created it after we looked: use theirs.
                        client = session.get(Client, request.client_id)
                if client is not None:
                    # A shared desk: the installation keeps its mutation count across users.
                    client.user_id = user.id
                return LoginResponse(
                    token=token,
                    expires_at=expires_at.isoformat(),
                    agent_id=user.id,
                    username=user.username,
                    display_name=user.display_name,
                    role=cast(Role, user.role),
                )
        raise error

    # --- sessions --------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        token_hash = hash_token(token)
        with self._sessions() as session:
            # Every request runs this: a prebuilt Core statement (a third of the ORM's cost).
            row = session.connection().execute(_SESSION_OF, {"b_hash": token_hash}).first()
            if row is None:
                raise unauthorized(
                    "Your session is not valid (logged out, or the server was reset); "
                    "log in again.",
                    "invalid_token",
                )
            if row.expires_at <= self._clock():
                raise unauthorized(SESSION_EXPIRED, "session_expired")
            return Principal(
                user_id=row.id,
                username=row.username,
                display_name=row.display_name,
                role=cast(Role, row.role),
                client_id=row.client_id,
                token_hash=token_hash,
            )

    def logout(self, principal: Principal) -> None:
        with self._sessions() as session, session.begin():
            session.execute(delete(Token).where(Token.token_hash == principal.token_hash))

    def unlock(self, principal: Principal, username: str) -> bool:
        """Lift ``username``'s lockout and clear their failed logins at once (supervisors
        and admins). Returns whether the account was locked. Writes."""
        if principal.role not in ("supervisor", "admin"):
            # Refused before looking the user up: an agent learns nothing about usernames.
            raise ApiError(403, "Unlocking an account needs a supervisor.", "forbidden")
        refuse_bad_text(username=username)
        with self._sessions() as session, session.begin():
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise ApiError(404, f"There is no user {username!r} on this server.", "no_user")
            locked_until = user.locked_until
            was_locked = locked_until is not None and locked_until > self._clock()
            user.failed_logins = 0
            user.locked_until = None
        log.info("%s unlocked the account %s", principal.username, username)
        return was_locked


class Sync:
    """Push and pull."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock,
                 gateway: object | None = None) -> None:
        self._sessions = sessions
        self._clock = clock
        # The payment gateway (server_stub.gateway) the money mutations charge through;
        # appliers find it in session.info (server_stub.payments).
        self.gateway = gateway
        self.order_step: timedelta | None = None  # None: server_stub.orders.DEFAULT_STEP

    def advance_orders(self) -> int | None:
        """Move due orders one step on (server_stub.orders) and follow up promises to pay
        (server_stub.collections); the highest change_seq written, or None. Runs on the
        writer thread, from the app's ticker."""
        from server_stub.collections import follow_promises
        from server_stub.orders import advance_due

        with self._sessions() as session, session.begin():
            session.info["order_step"] = self.order_step
            now = self._clock()
            seqs = [advance_due(session, now), follow_promises(session, now)]
            written = [seq for seq in seqs if seq is not None]
            return max(written) if written else None

    @staticmethod
    def _check(principal: Principal, version: int, client_id: str) -> None:
        if version != PROTOCOL_VERSION:
            raise unsupported_protocol(version)
        if client_id != principal.client_id:
            raise ApiError(
                403,
                "This session was issued to another installation (client id); log in again "
                "on this one.",
                "wrong_client",
            )

    def _check_clock(self, sent_at: datetime | None) -> None:
        if sent_at is None:
            return
        if sent_at.tzinfo is None:
            raise ApiError(422, "sent_at must carry a time zone (UTC).", "invalid_request")
        skew = (sent_at - self._clock()).total_seconds()
        if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
            minutes = round(abs(skew) / 60)
            way = "ahead of" if skew > 0 else "behind"
            raise ApiError(
                400,
                f"This computer's clock is about {minutes} minutes {way} the server's. Set "
                "the date and time right (or turn on automatic time), then sync again; your "
                "changes are kept until then.",
                "clock_skew",
            )

    def push(self, principal: Principal, request: PushRequest) -> tuple[PushResponse, int | None]:
        """Apply the mutations in order; returns the response and the highest change_seq
        written (None when nothing changed, so nobody needs a poke)."""
        self._check(principal, request.protocol_version, request.client_id)
        self._check_clock(request.sent_at)
        for index, mutation in enumerate(request.mutations):
            # Ids and names are the client's bookkeeping, not user input: unstorable text
            # there is a client bug, refused as a whole. Args are checked per mutation.
            refuse_bad_text(**{
                f"mutations[{index}].id": mutation.id,
                f"mutations[{index}].name": mutation.name,
            })
        results: list[MutationResult] = []
        top_seq: int | None = None
        with self._sessions() as session:
            session.info["gateway"] = self.gateway
            session.info["order_step"] = self.order_step
            together = self._push_together(session, principal, request.mutations)
            if together is not None:
                return together
            for mutation in request.mutations:
                outcome = self._push_one(session, principal, mutation)
                if outcome is None:
                    break  # a gap: the client must first send what is missing
                result, seq = outcome
                results.append(result)
                if seq is not None:
                    top_seq = seq if top_seq is None else max(top_seq, seq)
            with session.begin():
                last = self._last_mutation_id(session, principal, create=True)
        return PushResponse(last_mutation_id=last, results=results), top_seq

    def _push_together(
        self, session: Session, principal: Principal, mutations: list[Mutation]
    ) -> tuple[PushResponse, int | None] | None:
        """The common case in one transaction: each mutation is the next one and applies.

        None, with everything rolled back, as soon as one is not (a duplicate, a gap, a
        rejection, a lost race): push then takes them one transaction each, which decides
        and records every case. Nothing is answered before the commit, so a push that fails
        half-way has applied nothing and the client's retry applies it all, once. Saves a
        transaction, a last_mutation_id read and a compare-and-set per mutation (figures in
        docs/PERFORMANCE.md, "Sync server").
        """
        if not mutations:
            return None
        results: list[MutationResult] = []
        top_seq: int | None = None
        try:
            with session.begin():
                connection = session.connection()
                first = connection.execute(
                    _CLIENT_LAST, {"b_client": principal.client_id}
                ).scalar()
                if first is None:
                    return None
                last = int(first)
                logged: list[dict[str, Any]] = []
                for mutation in mutations:
                    if mutation.mutation_id != last + 1 or bad_text(mutation.args, "args"):
                        raise _NotTogether()
                    now = self._clock()
                    seq = apply_mutation(
                        session, principal.actor, mutation.name, mutation.args, now
                    )
                    logged.append({
                        "client_id": principal.client_id,
                        "mutation_id": mutation.mutation_id,
                        "mutation_uuid": mutation.id,
                        "name": mutation.name,
                        "args_sha256": args_digest(mutation.args),
                        "user_id": principal.user_id,
                        "status": "applied",
                        "reason": "",
                        "applied_at": now,
                    })
                    last = mutation.mutation_id
                    results.append(MutationResult(mutation_id=last, status="applied"))
                    if seq is not None:
                        top_seq = seq if top_seq is None else max(top_seq, seq)
                connection.execute(_LOG_MUTATION, logged)  # one executemany
                # Compare-and-set, as _record does for a single mutation.
                advanced = connection.execute(_ADVANCE, {
                    "b_client": principal.client_id, "b_last": first, "b_next": last,
                })
                if advanced.rowcount != 1:
                    raise _NotTogether()
        except (_NotTogether, MutationRejected, IntegrityError):
            return None
        return PushResponse(last_mutation_id=last, results=results), top_seq

    def _push_one(
        self, session: Session, principal: Principal, mutation: Mutation
    ) -> tuple[MutationResult, int | None] | None:
        for _attempt in range(_RACE_RETRIES):
            try:
                return self._try_push_one(session, principal, mutation)
            except (_LostRace, IntegrityError):
                # Another server process (or a retried request) recorded this mutation id,
                # or inserted the same row, first. The transaction is rolled back; the next
                # attempt sees what they did (a duplicate, or an existing row).
                continue
        raise RuntimeError(
            f"mutation {mutation.mutation_id} of client {principal.client_id} kept losing races"
        )

    def _try_push_one(
        self, session: Session, principal: Principal, mutation: Mutation
    ) -> tuple[MutationResult, int | None] | None:
        digest = args_digest(mutation.args)
        try:
            # One transaction per mutation: a later failure never undoes an earlier success.
            with session.begin():
                last = self._claim(session, principal, mutation, digest)
                if not isinstance(last, int):
                    return last
                found = bad_text(mutation.args, "args")
                if found:
                    raise MutationRejected(
                        f"{found} has a NUL character or is not valid Unicode."
                    )
                seq = apply_mutation(
                    session, principal.actor, mutation.name, mutation.args, self._clock()
                )
                self._record(session, principal, mutation, digest, last, "applied", "")
                return MutationResult(mutation_id=mutation.mutation_id, status="applied"), seq
        except MutationRejected as rejected:
            # The block above rolled back whatever it wrote.
            reason, code = rejected.reason, rejected.code
        # Record the rejection in a fresh transaction and still advance last_mutation_id:
        # a mutation that can never apply must not block the client's queue.
        with session.begin():
            last = self._claim(session, principal, mutation, digest)
            if not isinstance(last, int):
                return last
            stored = stored_rejection(reason, code)
            self._record(session, principal, mutation, digest, last, "rejected", stored)
            restamped = restamp_refused(session, mutation.name, mutation.args)
            audit_refused(session, principal.actor, mutation.name, mutation.args, reason, code,
                          self._clock())
            return (
                MutationResult(
                    mutation_id=mutation.mutation_id, status="rejected", reason=reason, code=code
                ),
                restamped,
            )

    def _claim(
        self, session: Session, principal: Principal, mutation: Mutation, digest: str
    ) -> int | tuple[MutationResult, None] | None:
        """The client's last_mutation_id when ``mutation`` is the next one; else the result
        for an already-seen mutation, or None for a gap."""
        last = self._last_mutation_id(session, principal, create=True)
        if mutation.mutation_id > last + 1:
            return None
        if mutation.mutation_id == last + 1:
            return last
        logged = session.get(MutationLog, (principal.client_id, mutation.mutation_id))
        mid = mutation.mutation_id
        if logged is not None and (
            logged.mutation_uuid != mutation.id
            or logged.name != mutation.name
            or logged.args_sha256 != digest
        ):
            return MutationResult(
                mutation_id=mid, status="rejected", reason=REUSED_ID, code="reused_id"
            ), None
        if logged is not None and logged.status == "rejected":
            # Replay the original refusal: if the first answer was lost on the way, a bare
            # "duplicate" would let the client believe the change had been applied.
            reason, code = logged_rejection(logged.reason)
            return (
                MutationResult(mutation_id=mid, status="rejected", reason=reason, code=code),
                None,
            )
        return MutationResult(mutation_id=mid, status="duplicate"), None

    def _record(
        self,
        session: Session,
        principal: Principal,
        mutation: Mutation,
        digest: str,
        last: int,
        status: str,
        reason: str,
    ) -> None:
        session.add(
            MutationLog(
                client_id=principal.client_id,
                mutation_id=mutation.mutation_id,
                mutation_uuid=mutation.id,
                name=mutation.name,
                args_sha256=digest,
                user_id=principal.user_id,
                status=status,
                reason=reason,
                applied_at=self._clock(),
            )
        )
        session.flush()
        # Compare-and-set: advances only if nobody else advanced it since we read it.
        advanced = session.execute(
            update(Client)
            .where(Client.client_id == principal.client_id, Client.last_mutation_id == last)
            .values(last_mutation_id=mutation.mutation_id)
            .execution_options(synchronize_session=False)
        )
        if getattr(advanced, "rowcount", 0) != 1:
            raise _LostRace()

    @staticmethod
    def _last_mutation_id(session: Session, principal: Principal, *, create: bool) -> int:
        last = session.scalar(
            select(Client.last_mutation_id).where(Client.client_id == principal.client_id)
        )
        if last is None:
            if not create:
                return 0
            # Login creates the row; this only happens if it was removed since.
            session.add(Client(client_id=principal.client_id, user_id=principal.user_id))
            session.flush()
            return 0
        return last

    def pull(self, principal: Principal, request: PullRequest) -> PullResponse:
        self._check(principal, request.protocol_version, request.client_id)
        with self._sessions() as session, session.begin():
            # Read the acknowledgement first: rows read afterwards are at least as new, so
            # a client dropping acknowledged outbox entries never loses their effect.
            last = self._last_mutation_id(session, principal, create=False)
            top = current_change_seq(session)
            cursor = request.cursor
            reset = cursor is None or cursor < 0 or cursor > top
            start = 0 if reset or cursor is None else cursor
            rows = session.scalars(
                select(SyncedRow)
                .where(SyncedRow.change_seq > start)
                .order_by(SyncedRow.change_seq)
                .limit(request.limit + 1)
            ).all()
            more = len(rows) > request.limit
            page = rows[: request.limit]
            changes = [Change(table=r.table_name, id=r.id, row=dict(r.data)) for r in page]
            new_cursor = page[-1].change_seq if page else start
        return PullResponse(
            cursor=new_cursor,
            last_mutation_id=last,
            changes=changes,
            reset=reset,
            more=more,
            latest=top,
        )
