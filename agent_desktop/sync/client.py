"""HTTP to the sync server (httpx), with errors sorted the way the engine acts on them:
retry later (network, 5xx), log in again (401), or the server refused (other 4xx)."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import queue
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from agent_desktop.sync.protocol import (
    PROTOCOL_VERSION,
    LoginRequest,
    LoginResponse,
    Mutation,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    SnapshotInfo,
)

M = TypeVar("M", bound=BaseModel)


class SyncError(Exception):
    """Base class; ``str()`` is fit to show the agent."""


class Offline(SyncError):
    """The server could not be reached or failed (network error, timeout, 5xx): retry."""


class AuthRequired(SyncError):
    """401: the session is missing or expired; ask the agent to log in."""


class Refused(SyncError):
    """Another 4xx: the server understood and said no, with its reason."""

    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.code = code


class SyncClient:
    def __init__(self, base_url: str, client_id: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.token: str | None = None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                  transport=transport)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: BaseModel, answer: type[M]) -> M:
        try:
            response = self._http.post(path, content=body.model_dump_json(), headers={
                **self._headers(), "Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise Offline(f"The sync server cannot be reached ({type(exc).__name__}).") from exc
        self._check(response)
        try:
            return answer.model_validate_json(response.content)
        except ValidationError as exc:
            raise Offline("The sync server sent an answer this version cannot read.") from exc

    def login(self, username: str, password: str) -> LoginResponse:
        answer = self._post("/v1/auth/login", LoginRequest(
            username=username, password=password, client_id=self.client_id), LoginResponse)
        self.token = answer.token
        return answer

    def logout(self) -> None:
        """Revoke this session's token on the server."""
        if self.token is None:
            return
        try:
            response = self._http.post("/v1/auth/logout", headers=self._headers())
        except httpx.HTTPError as exc:
            raise Offline(f"The sync server cannot be reached ({type(exc).__name__}).") from exc
        if response.status_code != 401:  # already gone is fine
            self._check(response)

    def push(self, mutations: list[Mutation]) -> PushResponse:
        return self._post("/v1/sync/push", PushRequest(
            protocol_version=PROTOCOL_VERSION, client_id=self.client_id,
            mutations=mutations, sent_at=datetime.now(UTC)), PushResponse)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 500:
            raise Offline(f"The sync server had a problem (HTTP {response.status_code}).")
        if response.status_code == 401:
            raise AuthRequired(_detail(response) or "Please log in again.")
        if response.status_code >= 400:
            raise Refused(response.status_code, _detail(response)
                          or f"The server refused the request (HTTP {response.status_code}).",
                          _detail(response, "code"))

    def gateway(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Tokenize a card or bank account at the payment gateway (through the server).

        The card number and CVC travel in this one request and are kept nowhere: not
        logged (httpx logs the address only), not in an exception's words."""
        try:
            response = self._http.post(path, json=payload, headers=self._headers())
        except httpx.HTTPError as exc:
            raise Offline(f"The payment gateway cannot be reached ({type(exc).__name__})."
                          ) from None
        self._check(response)
        answer = response.json()
        if not isinstance(answer, dict):
            raise Offline("The payment gateway sent an answer this version cannot read.")
        return answer

    def snapshot_info(self) -> SnapshotInfo | None:
        """The server's snapshot for a first sync, or None when it offers none."""
        try:
            response = self._http.get("/v1/sync/snapshot", headers=self._headers())
        except httpx.HTTPError as exc:
            raise Offline(f"The sync server cannot be reached ({type(exc).__name__}).") from exc
        if response.status_code == 404:
            return None
        self._check(response)
        try:
            return SnapshotInfo.model_validate_json(response.content)
        except ValidationError as exc:
            raise Offline("The sync server sent an answer this version cannot read.") from exc

    def download_snapshot(self, info: SnapshotInfo, dest: Path,
                          progress: Callable[[int, int], None] | None = None) -> None:
        """Stream the snapshot to ``dest`` and check its size and SHA-256; a short or
        damaged download raises Offline and leaves no file behind.

        Gigabytes: read with the standard library's http.client straight into 4 MB
        buffers (about twice httpx's rate here), while a second thread writes and hashes
        them (hashlib and file writes release the GIL).
        """
        chunks: queue.Queue[memoryview | None] = queue.Queue(maxsize=8)
        writer = _Writer(dest, chunks)
        writer.start()
        received = 0
        conn, response = self._get_file("/v1/sync/snapshot/file")
        try:
            while True:
                if writer.error is not None:
                    raise writer.error
                buffer = bytearray(_CHUNK)
                n = response.readinto(buffer)
                if not n:
                    break
                chunks.put(memoryview(buffer)[:n])
                received += n
                if progress is not None:
                    progress(received, info.size)
            chunks.put(None)
            writer.join()
            if writer.error is not None:
                raise writer.error
        except (OSError, http.client.HTTPException) as exc:
            writer.abandon()
            dest.unlink(missing_ok=True)
            raise Offline(f"The snapshot download was interrupted ({type(exc).__name__}).") \
                from exc
        except BaseException:
            writer.abandon()
            dest.unlink(missing_ok=True)
            raise
        finally:
            conn.close()
        if received != info.size or writer.digest.hexdigest() != info.sha256:
            dest.unlink(missing_ok=True)
            raise Offline("The snapshot arrived damaged (its checksum does not match); "
                          "it will be downloaded again.")

    def _get_file(self, path: str) -> tuple[http.client.HTTPConnection,
                                            http.client.HTTPResponse]:
        url = urllib.parse.urlsplit(self.base_url)
        kind = http.client.HTTPSConnection if url.scheme == "https" else \
            http.client.HTTPConnection
        conn = kind(url.hostname or "127.0.0.1", url.port, timeout=60)
        try:
            conn.request("GET", url.path.rstrip("/") + path, headers=self._headers())
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Offline(f"The sync server cannot be reached ({type(exc).__name__}).") \
                from exc
        if response.status >= 400:
            body = response.read()
            conn.close()
            self._check(httpx.Response(response.status, content=body))
        return conn, response

    def pull(self, cursor: int | None, limit: int = 5000) -> PullResponse:
        return self._post("/v1/sync/pull", PullRequest(
            protocol_version=PROTOCOL_VERSION, client_id=self.client_id, cursor=cursor,
            limit=limit), PullResponse)


_CHUNK = 4 << 20


class _Writer(threading.Thread):
    """Writes and hashes downloaded chunks in order; ``None`` ends the file."""

    def __init__(self, dest: Path, chunks: queue.Queue[memoryview | None]) -> None:
        super().__init__(name="snapshot-writer", daemon=True)
        self.dest, self.chunks = dest, chunks
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.dest.open("wb") as out:
                while (chunk := self.chunks.get()) is not None:
                    out.write(chunk)
                    self.digest.update(chunk)
        except BaseException as exc:  # reported to the downloading thread
            self.error = exc
            while self.chunks.get() is not None:  # let the downloader finish or fail
                pass

    def abandon(self) -> None:
        """Stop after whatever is queued (the download failed)."""
        if self.is_alive():
            with contextlib.suppress(queue.Full):
                self.chunks.put(None, timeout=30)
            self.join(30)


def _detail(response: httpx.Response, key: str = "detail") -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get(key) if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else ""
