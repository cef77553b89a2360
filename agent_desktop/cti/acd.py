"""The adapter for the sync server's simulated contact center (/v1/cti/...,
agent_desktop.sync.cti_protocol).

Commands are plain HTTP calls with the sync session's bearer token. Events come on one
server-sent event stream held open by a thread; when it breaks the thread reconnects with
backoff, and the server's ``hello`` on every (re)connect carries the agent's whole state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from agent_desktop.cti.adapter import CtiListener, CtiOffline, CtiRefused, TelephonyAdapter
from agent_desktop.sync.cti_protocol import (
    AgentView,
    CallView,
    CtiEvent,
    DialRequest,
    FloorView,
    QueueInfo,
    StateChange,
    TransferRequest,
    WrapRequest,
)
from agent_desktop.sync.engine import backoff_seconds
from agent_desktop.sync.events import interrupt

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
_QUEUES = TypeAdapter(list[QueueInfo])


class AcdAdapter(TelephonyAdapter):
    def __init__(self, base_url: str, token: Callable[[], str | None], *,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        # Read timeout above the server's heartbeat: silence longer than that is a
        # dead connection.
        self._stream_http = httpx.Client(timeout=httpx.Timeout(10.0, read=45.0),
                                         transport=transport)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: httpx.Response | None = None
        self.connected = threading.Event()

    # --- commands ---------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self._token()
        if token is None:
            raise CtiRefused("Log in first: the phone needs your session.", "auth", 401)
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, answer: type[M], body: BaseModel | None = None
              ) -> M:
        return answer.model_validate(self._json(method, path, body))

    def _json(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        headers = self._headers()
        try:
            if body is None:
                response = self._http.request(method, path, headers=headers)
            else:
                response = self._http.request(
                    method, path, content=body.model_dump_json(),
                    headers={**headers, "Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise CtiOffline("The phone system cannot be reached "
                             f"({type(exc).__name__}); trying again is safe.") from None
        if response.status_code >= 500:
            raise CtiOffline(f"The phone system had a problem (HTTP {response.status_code}).")
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            detail = data.get("detail") if isinstance(data, dict) else None
            code = data.get("code") if isinstance(data, dict) else None
            if response.status_code == 401:
                raise CtiRefused(str(detail or "Your session has ended: log in again."),
                                 "auth", 401)
            raise CtiRefused(str(detail or f"The phone system refused it (HTTP "
                                           f"{response.status_code})."),
                             str(code or ""), response.status_code)
        return data

    def me(self) -> AgentView:
        return self._call("GET", "/v1/cti/me", AgentView)

    def set_state(self, state: str, reason: str = "") -> AgentView:
        body = StateChange(state=state, reason=reason)  # type: ignore[arg-type]
        return self._call("POST", "/v1/cti/state", AgentView, body)

    def answer(self, call_id: str) -> CallView:
        return self._call("POST", f"/v1/cti/calls/{call_id}/answer", CallView)

    def hold(self, call_id: str) -> CallView:
        return self._call("POST", f"/v1/cti/calls/{call_id}/hold", CallView)

    def resume(self, call_id: str) -> CallView:
        return self._call("POST", f"/v1/cti/calls/{call_id}/resume", CallView)

    def transfer(self, call_id: str, queue: str, note: str = "") -> CallView:
        return self._call("POST", f"/v1/cti/calls/{call_id}/transfer", CallView,
                          TransferRequest(queue=queue, note=note))

    def end(self, call_id: str) -> CallView:
        return self._call("POST", f"/v1/cti/calls/{call_id}/end", CallView)

    def wrap(self, call_id: str, request: WrapRequest) -> AgentView:
        return self._call("POST", f"/v1/cti/calls/{call_id}/wrap", AgentView, request)

    def dial(self, number: str, customer_id: str | None = None,
             collection_account_id: str | None = None) -> CallView:
        return self._call("POST", "/v1/cti/dial", CallView, DialRequest(
            number=number, customer_id=customer_id,
            collection_account_id=collection_account_id))

    def queues(self) -> list[QueueInfo]:
        try:
            return _QUEUES.validate_python(self._json("GET", "/v1/cti/queues"))
        except ValidationError:
            raise CtiOffline("The phone system sent queues this version cannot read."
                             ) from None

    def floor(self) -> FloorView:
        return self._call("GET", "/v1/cti/floor", FloorView)

    # --- events -----------------------------------------------------------------------

    def start(self, listener: CtiListener, *, floor: bool = False) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, args=(listener, floor),
                                        name="cti-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        interrupt(self._response)
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)
        self._http.close()
        self._stream_http.close()

    def _run(self, listener: CtiListener, floor: bool) -> None:
        failures = 0
        first = True
        while not self._stop.is_set():
            token = self._token()
            if token is None:  # not logged in yet: look again shortly
                self._stop.wait(0.5)
                continue
            try:
                self._listen(token, listener, floor, recovered=not first)
                failures = 0
            except (httpx.HTTPError, RuntimeError, ValidationError, ValueError) as exc:
                if self._stop.is_set():
                    return
                failures += 1
                log.info("telephony events interrupted (%s); reconnecting",
                         type(exc).__name__)
            finally:
                if self.connected.is_set():
                    self.connected.clear()
                    if not self._stop.is_set():
                        listener.connection(False, "The phone connection dropped; "
                                            "reconnecting. A call in progress goes on.")
            first = False
            self._stop.wait(0.5 + backoff_seconds(failures, base=0.5, cap=15.0))

    def _listen(self, token: str, listener: CtiListener, floor: bool, recovered: bool
                ) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        url = self.base_url + "/v1/cti/events" + ("?floor=1" if floor else "")
        with self._stream_http.stream("GET", url, headers=headers) as response:
            self._response = response
            if response.status_code != 200:
                raise RuntimeError(f"telephony events refused: HTTP {response.status_code}")
            event, data = "", []
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "":
                    if event and data:
                        self._dispatch(listener, event, "\n".join(data), recovered)
                    event, data = "", []

    def _dispatch(self, listener: CtiListener, event: str, data: str, recovered: bool
                  ) -> None:
        if event == "hello":
            view = AgentView.model_validate_json(data)
            self.connected.set()
            listener.connection(True, "")
            listener.agent(view, recovered)
        elif event == "cti":
            listener.event(CtiEvent.model_validate_json(data))
        elif event == "floor":
            listener.floor(FloorView.model_validate_json(data))
