"""Handling calls: who is calling (the screen pop's match), the wrap-up lists, and the
telephony commands as use cases for the call bar.

No Qt: the call bar runs these off the UI thread. The telephony source is a
:class:`~agent_desktop.cti.adapter.TelephonyAdapter` (the simulated ACD in the demo).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from agent_desktop.cti.adapter import CtiError, TelephonyAdapter
from agent_desktop.domain.calls import WITHHELD, dialable
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.lookup import normalize_phone
from agent_desktop.services.customer_search import CustomerHit, to_hit
from agent_desktop.storage.lookup import LookupQueries
from agent_desktop.storage.reference import read_codes, resources_dir
from agent_desktop.storage.store import Store
from agent_desktop.sync.cti_protocol import AgentView, CallView, WrapRequest

MAX_MATCHES = 25


@dataclass(frozen=True, slots=True)
class CallerMatch:
    """Who may be calling: ``hits`` holds every customer with that number."""

    caller_id: str
    phone: str | None            # the number as E.164, None when withheld or unreadable
    hits: tuple[CustomerHit, ...]

    @property
    def single(self) -> CustomerHit | None:
        return self.hits[0] if len(self.hits) == 1 else None

    @property
    def words(self) -> str:
        if self.phone is None:
            return ("Number withheld: ask for the account number or name"
                    if self.caller_id.strip().lower() in ("", WITHHELD)
                    else "Unknown number: ask for the account number or name")
        if not self.hits:
            return "No customer has this number: a new caller?"
        if len(self.hits) == 1:
            return self.hits[0].display_name
        return f"{len(self.hits)} customers share this number: ask which account"


def match_caller(store: Store, caller_id: str) -> CallerMatch:
    """The customers whose phone is the caller's number (exact E.164 match)."""
    phone = normalize_phone(caller_id) if dialable(caller_id) else None
    if phone is None:
        return CallerMatch(caller_id, None, ())
    queries = LookupQueries(store)
    try:
        ids = list(dict.fromkeys(queries.by_phone(phone, MAX_MATCHES)))
        rows = {row.customer_id: row for row in queries.hits(ids)}
    finally:
        queries.close()
    hits = tuple(to_hit(rows[i], 1.0, "Phone") for i in ids if i in rows)
    return CallerMatch(caller_id, phone, hits)


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label: str
    category: str


@lru_cache(maxsize=1)
def _codes() -> dict[str, tuple[Code, ...]]:
    codes = read_codes(resources_dir())
    return {key: tuple(Code(str(c["code"]), str(c["label"]), str(c.get("category", "")))
                       for c in codes[key])
            for key in ("wrap_up_codes", "contact_reasons", "not_ready_reasons")}


def wrap_up_codes() -> tuple[Code, ...]:
    return _codes()["wrap_up_codes"]


def contact_reasons() -> tuple[Code, ...]:
    return _codes()["contact_reasons"]


def not_ready_reasons() -> tuple[Code, ...]:
    return _codes()["not_ready_reasons"]


class CallDesk:
    """The telephony commands an agent gives, with errors in the agent's words."""

    def __init__(self, adapter: TelephonyAdapter) -> None:
        self.adapter = adapter

    @staticmethod
    def _words(exc: CtiError) -> UserFacingError:
        return UserFacingError(exc.words)

    def me(self) -> AgentView:
        try:
            return self.adapter.me()
        except CtiError as exc:
            raise self._words(exc) from None

    def set_state(self, state: str, reason: str = "") -> AgentView:
        try:
            return self.adapter.set_state(state, reason)
        except CtiError as exc:
            raise self._words(exc) from None

    def act(self, action: str, call_id: str) -> CallView:
        """answer, hold, resume or end."""
        command = {"answer": self.adapter.answer, "hold": self.adapter.hold,
                   "resume": self.adapter.resume, "end": self.adapter.end}[action]
        try:
            return command(call_id)
        except CtiError as exc:
            raise self._words(exc) from None

    def transfer(self, call_id: str, queue: str, note: str) -> CallView:
        if not queue:
            raise UserFacingError("Pick the queue to transfer to.")
        try:
            return self.adapter.transfer(call_id, queue, note.strip())
        except CtiError as exc:
            raise self._words(exc) from None

    def wrap(self, call_id: str, request: WrapRequest) -> AgentView:
        try:
            return self.adapter.wrap(call_id, request)
        except CtiError as exc:
            raise self._words(exc) from None

    def dial(self, number: str, customer_id: str | None,
             collection_account_id: str | None) -> CallView:
        try:
            return self.adapter.dial(number, customer_id, collection_account_id)
        except CtiError as exc:
            raise self._words(exc) from None
