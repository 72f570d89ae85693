"""Twin lifecycle and relationship events, fanned out in-process to ``twinChanged`` subscribers.

Mutations publish after their write committed.  Each subscriber has a bounded
queue; one that falls behind is closed with a reason rather than buffered
without limit.  Writes made outside this API process (bulk loaders, other
replicas) do not appear here.

Code that only needs to *notice* events (``telemetryBelow`` re-resolving its
points after a topology change) registers a callback with ``watching`` instead:
no queue, no async generator to close from another task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

MAX_QUEUE = 1_000


@dataclass(frozen=True)
class TwinEvent:
    kind: str  # twinCreated, twinUpdated, twinDeleted, relationshipCreated, relationshipDeleted
    twin_id: str
    model: str | None
    relationship: str | None = None
    other_twin_id: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class SubscriberTooSlow(Exception):
    """A twinChanged subscriber did not keep up and was disconnected."""


EventWatcher = Callable[[TwinEvent], None]


class TwinEvents:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[TwinEvent | None]] = set()
        self._watchers: set[EventWatcher] = set()

    @property
    def listener_count(self) -> int:
        """Subscribers and watchers registered now (returns to its old value when they end)."""
        return len(self._queues) + len(self._watchers)

    @contextmanager
    def watching(self, watcher: EventWatcher) -> Iterator[None]:
        """Call ``watcher`` (synchronously, it must not block) with every event published while inside."""
        self._watchers.add(watcher)
        try:
            yield
        finally:
            self._watchers.discard(watcher)

    def publish(self, event: TwinEvent) -> None:
        for watcher in list(self._watchers):
            watcher(event)
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)  # tells the subscriber it was dropped

    async def subscribe(self) -> AsyncIterator[TwinEvent]:
        queue: asyncio.Queue[TwinEvent | None] = asyncio.Queue(MAX_QUEUE)
        self._queues.add(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    raise SubscriberTooSlow(f"more than {MAX_QUEUE} events behind")
                yield event
        finally:
            self._queues.discard(queue)
