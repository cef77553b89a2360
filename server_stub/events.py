"""Server-sent event fan-out: "pull now" pokes to every connected app.

Each open /v1/events stream subscribes here and push publishes. Pokes coalesce (a
subscriber keeps only the highest cursor it has not sent yet), so a slow client can never
make the server buffer an unbounded backlog. Several server processes on one PostgreSQL
relay each other's changes into this broker through LISTEN/NOTIFY (server_stub.relay,
docs/SCALING.md).

Everything here runs on the event loop thread; nothing is thread-safe on purpose.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator


class Subscriber:
    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._cursor: int | None = None
        self.closed = False

    def poke(self, cursor: int) -> None:
        self._cursor = cursor if self._cursor is None else max(self._cursor, cursor)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def next_poke(self, timeout: float) -> int | None:
        """The next cursor to announce; None after ``timeout`` seconds of quiet (time for a
        heartbeat) or once closed (check ``closed``)."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return None
        self._wake.clear()
        cursor, self._cursor = self._cursor, None
        return None if self.closed else cursor


class EventBroker:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._closed = False
        self._last_poke = 0

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        if self._closed:
            subscriber.close()  # shutting down: the stream ends at once
        else:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def publish_poke(self, cursor: int) -> None:
        # The same change can be announced twice (the push that made it, and the
        # PostgreSQL notification this process hears too): a cursor already announced
        # tells nobody anything new.
        if cursor <= self._last_poke:
            return
        self._last_poke = cursor
        for subscriber in self._subscribers:
            subscriber.poke(cursor)

    def close(self) -> None:
        """End every stream (server shutdown): open streams would otherwise keep uvicorn
        waiting for them forever."""
        self._closed = True
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._subscribers.clear()


# At most one poke per stream this often: pokes in between fold into the next one (it
# carries the newest cursor), so a busy floor of 1,000 pushes a second costs each desk a
# few pulls a second, not a thousand, and a change still reaches it well within a second.
POKE_INTERVAL_SECONDS = 0.25


async def event_stream(broker: EventBroker, heartbeat_seconds: float,
                       poke_interval: float = POKE_INTERVAL_SECONDS) -> AsyncIterator[str]:
    """The text/event-stream body for one connection.

    Starts with a comment so the client knows it is subscribed (anything pushed after that
    reaches it), then a poke per change and a comment heartbeat whenever it has been quiet
    for ``heartbeat_seconds`` (proxies and the client's read timeout would otherwise cut
    an idle stream). Ends when the broker closes; a client disconnect cancels it.
    """
    subscriber = broker.subscribe()
    try:
        # retry: how long a browser-style client waits before reconnecting (ms).
        yield "retry: 3000\n: connected\n\n"
        while not subscriber.closed:
            cursor = await subscriber.next_poke(heartbeat_seconds)
            if subscriber.closed:
                break
            if cursor is None:
                yield ": keepalive\n\n"
            else:
                yield f"event: poke\ndata: {json.dumps({'cursor': cursor})}\n\n"
                await asyncio.sleep(poke_interval)  # later pokes fold into the next one
    finally:
        broker.unsubscribe(subscriber)
