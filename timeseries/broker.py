"""Live fan-out of accepted telemetry to subscribers (GraphQL subscriptions).

:class:`Broker` and :class:`Subscription` are Protocols so a multi-replica
deployment can put an existing engine (Redis streams, NATS, ...) behind them;
:class:`InProcessBroker` is the single-process implementation.

Rules, and why:

* ``publish`` is synchronous and never waits: ingest must not slow down because a
  browser tab is slow.
* Each subscription has a bounded queue of updates (an update batches the samples
  of one publish that match the subscription), bounded twice: in updates
  (``max_queue``) and in samples (``max_backlog``, :data:`MAX_BACKLOG_SAMPLES`),
  because one publish can carry thousands of samples and 256 such updates would be
  gigabytes held for a consumer that does not read.
* When the queue is full the subscription follows its policy: ``"coalesce"``
  keeps only the latest value per (twin, telemetry) until the consumer catches up
  (bounded by what it subscribes to), delivered as one update with
  ``coalesced=True``; ``"disconnect"`` closes it with a reason, for consumers that
  must see every sample or nothing.  A consumer that stops reading altogether is
  closed by its transport (the API closes a WebSocket whose sends stall).
* The twin set is changeable at runtime (``set_twins``), so "everything below a
  substation" can follow topology changes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from timeseries.validation import Sample

SlowPolicy = Literal["coalesce", "disconnect"]
#: Samples one subscription may hold queued before it coalesces (a publish into an empty queue is always taken
#: whole, so one large ingest batch is delivered as it came rather than coalesced).
MAX_BACKLOG_SAMPLES = 5_000


@dataclass(frozen=True, slots=True)
class Update:
    """What a subscriber receives: samples of its twins, in publish order unless coalesced."""

    samples: tuple[Sample, ...]
    coalesced: bool = False


class SubscriptionClosed(Exception):
    """The subscription ended; ``reason`` says why (slow consumer, broker shut down, closed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription(Protocol):
    @property
    def twins(self) -> frozenset[str]: ...

    def set_twins(self, twin_ids: Iterable[str]) -> None:
        """Replace the subscribed twin ids (e.g. after a topology change)."""
        ...

    async def get(self) -> Update:
        """The next update; raises SubscriptionClosed when the subscription has ended."""
        ...

    def close(self, reason: str = "closed") -> None: ...

    def __aiter__(self) -> AsyncIterator[Update]: ...


class Broker(Protocol):
    def publish(self, samples: Sequence[Sample]) -> None:
        """Fan accepted samples out; must never block the caller."""
        ...

    def subscribe(self, twin_ids: Iterable[str], *, max_queue: int = 256, max_backlog: int = MAX_BACKLOG_SAMPLES,
                  policy: SlowPolicy = "coalesce") -> Subscription: ...


class InProcessSubscription:
    """A subscription of :class:`InProcessBroker` (create it through ``broker.subscribe``)."""

    def __init__(self, broker: InProcessBroker, twin_ids: Iterable[str], max_queue: int,
                 policy: SlowPolicy, max_backlog: int = MAX_BACKLOG_SAMPLES) -> None:
        if max_queue < 1 or max_backlog < 1:
            raise ValueError("max_queue and max_backlog must be at least 1")
        self._broker = broker
        self._twins: frozenset[str] = frozenset()
        self.max_queue = max_queue
        self.max_backlog = max_backlog
        self.policy = policy
        self._queue: deque[Update] = deque()
        self._queued_samples = 0
        self._coalesced: dict[tuple[str, str], Sample] | None = None
        self._ready = asyncio.Event()
        self.closed_reason: str | None = None
        self.dropped_updates = 0  # updates folded into a coalesced one
        self.set_twins(twin_ids)

    @property
    def twins(self) -> frozenset[str]:
        return self._twins

    @property
    def backlog(self) -> int:
        """Samples and coalesced values waiting for the consumer (what this subscription holds in memory)."""
        return self._queued_samples + len(self._coalesced or ())

    def set_twins(self, twin_ids: Iterable[str]) -> None:
        new = frozenset(twin_ids)
        if self.closed_reason is None:
            self._broker._reindex(self, self._twins, new)
        self._twins = new

    def offer(self, samples: tuple[Sample, ...]) -> None:
        """Called by the broker with this subscription's share of a publish; never blocks."""
        if self.closed_reason is not None:
            return
        if self._coalesced is None and self._has_room_for(len(samples)):
            self._queue.append(Update(samples))
            self._queued_samples += len(samples)
        elif self.policy == "disconnect":
            self.close(f"slow consumer: more than {self.max_queue} updates or {self.max_backlog} samples waiting")
            return
        else:
            coalesced = self._coalesced if self._coalesced is not None else {}
            for sample in samples:
                for name, value in sample.values.items():
                    coalesced[(sample.twin, name)] = Sample(sample.twin, sample.time_ns, {name: value})
            self._coalesced = coalesced
            self.dropped_updates += 1
        self._ready.set()

    def _has_room_for(self, samples: int) -> bool:
        if not self._queue:
            return True
        return len(self._queue) < self.max_queue and self._queued_samples + samples <= self.max_backlog

    async def get(self) -> Update:
        while True:
            if self._queue:
                update = self._queue.popleft()
                self._queued_samples -= len(update.samples)
                return update
            if self._coalesced:
                samples = tuple(self._coalesced.values())
                self._coalesced = None
                return Update(samples, coalesced=True)
            if self.closed_reason is not None:
                raise SubscriptionClosed(self.closed_reason)
            self._ready.clear()
            await self._ready.wait()

    def close(self, reason: str = "closed") -> None:
        """End the subscription; queued updates are dropped, ``get`` raises with ``reason``."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._queue.clear()
        self._queued_samples = 0
        self._coalesced = None
        self._broker._reindex(self, self._twins, frozenset())
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[Update]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Update]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosed:
                return


class InProcessBroker:
    """Fan-out inside one API process: an index twin id -> subscriptions."""

    def __init__(self) -> None:
        self._by_twin: dict[str, set[InProcessSubscription]] = {}
        self.published = 0

    def subscribe(self, twin_ids: Iterable[str], *, max_queue: int = 256, max_backlog: int = MAX_BACKLOG_SAMPLES,
                  policy: SlowPolicy = "coalesce") -> InProcessSubscription:
        return InProcessSubscription(self, twin_ids, max_queue, policy, max_backlog)

    @property
    def subscriptions(self) -> frozenset[InProcessSubscription]:
        """The open subscriptions that listen to at least one twin (for operational tooling and tests)."""
        return frozenset(s for subscribers in self._by_twin.values() for s in subscribers)

    @property
    def indexed_twins(self) -> int:
        """How many twin ids the fan-out index holds; returns to its old size when subscriptions end."""
        return len(self._by_twin)

    def publish(self, samples: Sequence[Sample]) -> None:
        by_twin = self._by_twin
        self.published += len(samples)
        if not by_twin:
            return
        shares: dict[InProcessSubscription, list[Sample]] = {}
        for sample in samples:
            subscribers = by_twin.get(sample.twin)
            if subscribers:
                for subscription in subscribers:
                    shares.setdefault(subscription, []).append(sample)
        for subscription, share in shares.items():
            subscription.offer(tuple(share))

    def close(self, reason: str = "broker shut down") -> None:
        for subscription in self.subscriptions:
            subscription.close(reason)

    def _reindex(self, subscription: InProcessSubscription, old: frozenset[str], new: frozenset[str]) -> None:
        for twin in old - new:
            subscribers = self._by_twin.get(twin)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_twin[twin]
        for twin in new - old:
            self._by_twin.setdefault(twin, set()).add(subscription)
