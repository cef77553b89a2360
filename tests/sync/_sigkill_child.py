"""Run by test_sigkill.py as its own process: a desk adds a note and syncs it, and kills
itself with SIGKILL at one chosen step of that.

    python _sigkill_child.py STORE SERVER_URL CUSTOMER_ID BODY STEP MARKER

The product code runs as it is. The only scaffolding is in this process: wrappers around
the real functions (or a network stream around the real socket) that, at STEP, write STEP
to MARKER (so the parent knows the kill happened there) and SIGKILL the process. Exits 3
if STEP was never reached.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpcore
import httpx

STEPS = (
    "before_outbox_write",  # in add_note's transaction: note and audit row flushed
    "outbox_written_uncommitted",  # ...and the outbox row flushed, before the commit
    "after_outbox_write",  # add_note committed; no push yet
    "after_mark_sent",  # the outbox row is marked sent; nothing on the wire yet
    "after_sending",  # the whole push request is on the wire; no answer read
    "before_recording_answer",  # the answer is read and parsed; nothing recorded
    "recording_answer_uncommitted",  # record_results' changes flushed, not committed
)


def main(argv: list[str]) -> int:
    store_path, server_url, customer_id, body, step, marker = argv[1:7]
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")

    def die() -> None:
        Path(marker).write_text(step)
        os.kill(os.getpid(), signal.SIGKILL)

    # This process's own keyring: in memory, like the tests'.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import keyring
    from memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())

    from sqlalchemy.orm import Session

    from agent_desktop.services.context import agent_by_username
    from agent_desktop.services.customer360 import add_note
    from agent_desktop.services.sync import SyncService
    from agent_desktop.storage import outbox
    from agent_desktop.storage.store import open_store

    store = open_store(store_path)
    service = SyncService(store, server_url, "agent")
    service.login("demo")
    who = agent_by_username(store, "agent")
    assert who is not None

    real_enqueue = outbox.enqueue
    if step == "before_outbox_write":
        def enqueue_dies_first(session: Session, name: str, args: dict[str, Any]) -> Any:
            session.flush()  # the note and its audit row are in the file, uncommitted
            die()
        outbox.enqueue = enqueue_dies_first  # type: ignore[assignment]
    elif step == "outbox_written_uncommitted":
        def enqueue_then_die(session: Session, name: str, args: dict[str, Any]) -> Any:
            real_enqueue(session, name, args)
            session.flush()
            die()
        outbox.enqueue = enqueue_then_die  # type: ignore[assignment]

    add_note(store, who, customer_id, body)
    if step == "after_outbox_write":
        die()

    arm_push_steps(step, service, server_url, die)
    service.sync()
    print(f"step {step} was never reached", file=sys.stderr)
    return 3


def arm_push_steps(step: str, service: Any, server_url: str,
                   die: Callable[[], None]) -> None:
    """At STEP of the push that follows, die (the steps after the change is written)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from agent_desktop.storage import sync_store
    from agent_desktop.sync.client import SyncClient

    if step == "after_mark_sent":
        real_mark_sent = sync_store.mark_sent

        def mark_sent_then_die(*args: Any, **kwargs: Any) -> None:
            real_mark_sent(*args, **kwargs)
            die()
        sync_store.mark_sent = mark_sent_then_die  # type: ignore[assignment]
    elif step == "after_sending":
        client = SyncClient(server_url, service.client.client_id,
                            transport=_DiesOncePushIsSent(die))
        client.token = service.client.token
        service.client.close()
        service.client = service.engine.client = client
    elif step == "before_recording_answer":
        def record_results_dies(*args: Any, **kwargs: Any) -> None:
            die()
        sync_store.record_results = record_results_dies  # type: ignore[assignment]
    elif step == "recording_answer_uncommitted":
        real_record = sync_store.record_results
        recording = False

        def record_results_watched(*args: Any, **kwargs: Any) -> None:
            nonlocal recording
            recording = True
            real_record(*args, **kwargs)

        @event.listens_for(Session, "before_commit")
        def dies_before_commit(session: Session) -> None:
            if recording:
                session.flush()  # every change record_results made, in the file, uncommitted
                die()
        sync_store.record_results = record_results_watched  # type: ignore[assignment]


class _KillingStream(httpcore.NetworkStream):
    """The real socket stream; ``die()`` once the last byte of a push request is written."""

    def __init__(self, real: httpcore.NetworkStream, die: Callable[[], None]) -> None:
        self.real = real
        self.die = die
        self.remaining: int | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.real.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.real.write(buffer, timeout)
        if buffer.startswith(b"POST /v1/sync/push "):
            head, _, rest = buffer.partition(b"\r\n\r\n")
            found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            assert found is not None
            self.remaining = int(found.group(1)) - len(rest)
        elif self.remaining is not None:
            self.remaining -= len(buffer)
        if self.remaining is not None and self.remaining <= 0:
            self.die()

    def close(self) -> None:
        self.real.close()

    def get_extra_info(self, info: str) -> Any:
        return self.real.get_extra_info(info)


class _KillingBackend(httpcore.NetworkBackend):
    def __init__(self, die: Callable[[], None]) -> None:
        self.real = httpcore.SyncBackend()
        self.die = die

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _KillingStream(self.real.connect_tcp(*args, **kwargs), self.die)

    def sleep(self, seconds: float) -> None:
        self.real.sleep(seconds)


class _DiesOncePushIsSent(httpx.BaseTransport):
    """httpx over httpcore over the real socket; the process dies once a push request
    has been written in full, before any answer is read: the request is on its way and
    the client never hears back."""

    def __init__(self, die: Callable[[], None]) -> None:
        self.pool = httpcore.ConnectionPool(network_backend=_KillingBackend(die))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.pool.handle_request(httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions))
        try:
            content = b"".join(answer.iter_stream())
        finally:
            answer.close()
        return httpx.Response(answer.status, headers=answer.headers, content=content)

    def close(self) -> None:
        self.pool.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
