"""Keeping this desktop in step with the shared server: log in, sync, report status.

The token is kept by platform.credentials (the OS keyring); every failure is sorted into
what the agent should know: offline (work continues, changes wait), log in again, or a
change the server refused (it goes to the "needs attention" list).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.platform.credentials import TokenStore
from agent_desktop.storage import sync_store
from agent_desktop.storage.store import HEAD_REVISION, Store, StoreError
from agent_desktop.sync.client import AuthRequired, Offline, Refused, SyncClient, SyncError
from agent_desktop.sync.engine import Progress, SyncEngine, backoff_seconds
from agent_desktop.sync.events import PokeListener


@dataclass(frozen=True)
class SyncStatus:
    online: bool
    pending: int
    rejected: int
    last_sync_at: datetime | None
    needs_login: bool = False
    in_progress: bool = False
    detail: str = ""

    def syncing(self) -> SyncStatus:
        return dataclasses.replace(self, in_progress=True)

    def headline(self) -> str:
        if self.in_progress:
            return "Syncing\u2026"
        if self.needs_login:
            return "Sync paused: log in again"
        when = self.last_sync_at.astimezone().strftime("%H:%M") if self.last_sync_at else None
        if not self.online:
            return f"Offline \u00b7 last sync {when}" if when else "Offline"
        text = f"Online \u00b7 synced {when}" if when else "Online"
        if self.rejected:
            text += f" \u00b7 {self.rejected} need attention"
        return text


@dataclass(frozen=True)
class NewDeskSnapshot:
    path: Path
    change_seq: int
    customers: int
    client_id: str


def adopt_new_desk_snapshot(store_path: Path, snapshot: NewDeskSnapshot) -> None:
    """Replace a new desk's (closed, empty) store with the downloaded snapshot."""
    try:
        sync_store.adopt_snapshot(store_path, snapshot.path, snapshot.change_seq,
                                  snapshot.client_id, HEAD_REVISION)
    finally:
        snapshot.path.unlink(missing_ok=True)


class SyncService:
    def __init__(self, store: Store, server_url: str, username: str,
                 tokens: TokenStore | None = None, auto_password: str | None = None) -> None:
        self.store = store
        # Only for the demo's embedded server: log in by itself, on the sync thread.
        self._auto_password = auto_password
        self.server_url = server_url
        self.username = username
        self.tokens = tokens or TokenStore()
        self.client = SyncClient(server_url, sync_store.client_id(store))
        self.client.token = self.tokens.load(server_url, username)
        self.engine = SyncEngine(store, self.client)
        self._listener: PokeListener | None = None

    def listen(self, on_poke: Callable[[], None]) -> None:
        """Hear the server's "pull now" pokes; ``on_poke`` runs on the listener's thread."""
        self._listener = PokeListener(self.server_url, lambda: self.client.token, on_poke)
        self._listener.start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.client.close()

    def login(self, password: str) -> None:
        """Log in; the token goes to the keyring. Raises SyncError with the reason."""
        answer = self.client.login(self.username, password)
        self.tokens.save(self.server_url, self.username, answer.token)

    def tokenize_card(self, number: str, exp_month: int, exp_year: int, cvc: str,
                      holder_name: str, postal_code: str = "") -> dict[str, Any]:
        """A new card to the gateway: its token, brand, last four and expiry come back.
        Raises SyncError (Offline: the gateway needs the connection; Refused: why the
        gateway said no, with its code)."""
        return self._gateway("/v1/gateway/cards", {
            "number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc,
            "holder_name": holder_name, "postal_code": postal_code})

    def tokenize_bank_account(self, routing_number: str, account_number: str,
                              holder_name: str, account_type: str = "checking"
                              ) -> dict[str, Any]:
        return self._gateway("/v1/gateway/bank-accounts", {
            "routing_number": routing_number, "account_number": account_number,
            "holder_name": holder_name, "account_type": account_type})

    def _gateway(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The gateway's answer, or UserFacingError in words for the agent."""
        try:
            return self.client.gateway(path, payload)
        except Offline:
            raise UserFacingError(
                "The payment gateway cannot be reached right now, and a new card or account "
                "must be checked there first. Use a method on file (it is charged as soon "
                "as the connection returns) or try again.") from None
        except AuthRequired:
            raise UserFacingError("Your session has ended: log in again (the sync status "
                                  "in the status bar), then take the payment.") from None
        except Refused as exc:
            raise UserFacingError(f"The gateway refused it: {exc} Check the details with "
                                  "the customer and type them again.") from None

    def logout(self) -> None:
        """End the session on the server too (best effort: offline, the token is still
        forgotten here and expires there), then forget it."""
        with contextlib.suppress(SyncError):
            self.client.logout()
        self.client.token = None
        self.tokens.delete(self.server_url, self.username)

    def _status(self, **kwargs: object) -> SyncStatus:
        last = sync_store.last_sync_at(self.store)
        values: dict[str, object] = {
            "online": True,
            "pending": sync_store.pending_count(self.store),
            "rejected": len(sync_store.rejected(self.store)),
            "last_sync_at": datetime.fromisoformat(last) if last else None,
        }
        values.update(kwargs)
        return SyncStatus(**values)  # type: ignore[arg-type]

    def sync(self, progress: Progress | None = None) -> tuple[SyncStatus, frozenset[str]]:
        """One pass; never raises for network, server or login trouble. ``progress``
        hears how a first full sync is going (from this thread)."""
        if self.client.token is None and self._auto_password is not None:
            try:
                self.login(self._auto_password)
            except SyncError as exc:
                return self._status(online=False, detail=str(exc)), frozenset()
        if self.client.token is None:
            return self._status(online=False, needs_login=True,
                                detail="Log in to send your changes."), frozenset()
        try:
            result = self.engine.sync_once(progress) if progress else self.engine.sync_once()
        except AuthRequired as exc:
            self.client.token = None
            return self._status(online=False, needs_login=True, detail=str(exc)), frozenset()
        except Offline as exc:
            return self._status(online=False, detail=f"{exc} Your changes are kept and "
                                "will be sent when the connection returns."), frozenset()
        except Refused as exc:
            return self._status(detail=f"The server refused a sync request: {exc}"), frozenset()
        except StoreError as exc:
            return self._status(online=False, detail=exc.message), frozenset()
        return self._status(detail=f"Synced at {datetime.now(UTC).astimezone():%H:%M:%S}."), \
            result.customers

    # --- a new desk -------------------------------------------------------------------------

    def is_new_desk(self) -> bool:
        """Nothing synced and nothing local yet: the desk can start from the snapshot."""
        return sync_store.cursor(self.store) is None and sync_store.is_empty(self.store)

    def download_for_new_desk(self, progress: Progress) -> NewDeskSnapshot | None:
        """Download the server's snapshot beside the store (for adopt_new_desk_snapshot
        once the store is closed); None when the server offers none. Raises SyncError."""
        dest = self.store.path.with_name(self.store.path.name + ".snapshot-download")
        info = self.engine.fetch_snapshot(dest, progress)
        if info is None:
            return None
        return NewDeskSnapshot(dest, info.change_seq, info.customers,
                               sync_store.client_id(self.store))

    @property
    def auto_login(self) -> bool:
        return self._auto_password is not None

    def rejected(self) -> list[sync_store.Rejected]:
        """The changes the server refused, for the "needs attention" list."""
        return sync_store.rejected(self.store)

    @staticmethod
    def next_delay_ms(failures: int, interval_ms: int) -> int:
        """Next automatic sync: the interval while online; backoff with jitter when not."""
        if failures == 0:
            return interval_ms
        return int(1000 * (1 + backoff_seconds(failures, base=2.0, cap=60.0)))
