"""One in-process fan-out for everything live: telemetry samples and twin events alike.

A publisher hands over items; each subscription listens to a set of keys (twin ids) or to every
key, and receives the items it listens to as one :class:`Delivery` per publish.  Rules, and why:

* ``publish`` is synchronous and never waits: ingest and mutations must not slow down because a
  browser tab is slow.
* Each subscription is bounded twice: in deliveries (``max_queue``) and in items
  (``max_backlog``), because one publish can carry thousands of samples and 256 such deliveries
  would be gigabytes held for a consumer that does not read.  A publish into an empty queue is
  always taken whole, so one large batch arrives as it came.
* When the queue is full the subscription follows its policy: ``"coalesce"`` keeps only the
  latest item per coalescing key (the fan-out's ``split`` says what that is; for samples, one
  value of one twin) until the consumer catches up, delivered as one delivery with
  ``coalesced=True``; ``"disconnect"`` closes it with a reason, for consumers that must see
  every item or nothing.
* The key set is changeable at runtime (``set_keys``), so "everything below a substation" can
  follow topology changes.
* Code that only needs to *notice* items registers a callback with ``watching``: no queue and no
  async generator that another task would have to close.

A multi-replica deployment puts a broker between processes and feeds each process's fan-out
from it; the fan-out itself stays the one place subscribers are served from.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

Item = TypeVar("Item")
SlowPolicy = Literal["coalesce", "disconnect"]
#: Items one subscription may hold queued before its slow-consumer policy applies.
MAX_BACKLOG_ITEMS = 5_000
#: Which key an item is published under (for telemetry and twin events: the twin id).
KeyOf = Callable[[Item], str]
#: How a coalescing subscription splits an item into the parts of which only the latest is kept.
Split = Callable[[Item], Iterable[tuple[Hashable, Item]]]
Watcher = Callable[[Item], None]


@dataclass(frozen=True, slots=True)
class Delivery(Generic[Item]):
    """What a subscriber receives: its share of one publish, in publish order unless coalesced."""

    items: tuple[Item, ...]
    coalesced: bool = False


class SubscriptionClosed(Exception):
    """The subscription ended; ``reason`` says why (slow consumer, shut down, closed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FanOutSubscription(Generic[Item]):
    """One subscriber's bounded queue (create it through :meth:`FanOut.subscribe`)."""

    def __init__(self, fan_out: FanOut[Item], keys: Iterable[str] | None, max_queue: int,
                 policy: SlowPolicy, max_backlog: int) -> None:
        if max_queue < 1 or max_backlog < 1:
            raise ValueError("max_queue and max_backlog must be at least 1")
        if policy == "coalesce" and fan_out.split is None:
            raise ValueError("this fan-out cannot coalesce (it has no split); use policy='disconnect'")
        self._fan_out = fan_out
        self.every_key = keys is None
        self._keys: frozenset[str] = frozenset()
        self.max_queue = max_queue
        self.max_backlog = max_backlog
        self.policy = policy
        self._queue: deque[Delivery[Item]] = deque()
        self._queued_items = 0
        self._coalesced: dict[Hashable, Item] | None = None
        self._ready = asyncio.Event()
        self.closed_reason: str | None = None
        self.dropped_updates = 0  # deliveries folded into a coalesced one
        if keys is None:
            fan_out._everything.add(self)
        else:
            self.set_keys(keys)

    @property
    def keys(self) -> frozenset[str]:
        return self._keys

    @property
    def backlog(self) -> int:
        """Items and coalesced values waiting for the consumer (what this subscription holds in memory)."""
        return self._queued_items + len(self._coalesced or ())

    def set_keys(self, keys: Iterable[str]) -> None:
        if self.every_key:
            raise ValueError("a subscription to every key has no key set to change")
        new = frozenset(keys)
        if self.closed_reason is None:
            self._fan_out._reindex(self, self._keys, new)
        self._keys = new

    def offer(self, items: tuple[Item, ...]) -> None:
        """Called by the fan-out with this subscription's share of a publish; never blocks."""
        if self.closed_reason is not None:
            return
        if self._coalesced is None and self._has_room_for(len(items)):
            self._queue.append(Delivery(items))
            self._queued_items += len(items)
        elif self.policy == "disconnect":
            self._fan_out.slow_disconnects += 1
            self.close(f"slow consumer: more than {self.max_queue} updates or {self.max_backlog} items waiting")
            return
        else:
            self._coalesce(items)
        self._ready.set()

    def _coalesce(self, items: tuple[Item, ...]) -> None:
        split = self._fan_out.split
        assert split is not None  # checked when the subscription was made
        coalesced = self._coalesced if self._coalesced is not None else {}
        for item in items:
            coalesced.update(split(item))
        self._coalesced = coalesced
        self.dropped_updates += 1
        self._fan_out.dropped_updates += 1

    def _has_room_for(self, items: int) -> bool:
        if not self._queue:
            return True
        return len(self._queue) < self.max_queue and self._queued_items + items <= self.max_backlog

    async def get(self) -> Delivery[Item]:
        """The next delivery; raises :class:`SubscriptionClosed` when the subscription has ended."""
        while True:
            if self._queue:
                delivery = self._queue.popleft()
                self._queued_items -= len(delivery.items)
                return delivery
            if self._coalesced:
                items = tuple(self._coalesced.values())
                self._coalesced = None
                return Delivery(items, coalesced=True)
            if self.closed_reason is not None:
                raise SubscriptionClosed(self.closed_reason)
            self._ready.clear()
            await self._ready.wait()

    def close(self, reason: str = "closed") -> None:
        """End the subscription; queued deliveries are dropped, ``get`` raises with ``reason``."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._queue.clear()
        self._queued_items = 0
        self._coalesced = None
        self._fan_out._everything.discard(self)
        self._fan_out._reindex(self, self._keys, frozenset())
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[Delivery[Item]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delivery[Item]]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosed:
                return


class FanOut(Generic[Item]):
    """Fan-out inside one process: an index key -> subscriptions, plus subscriptions to every key."""

    def __init__(self, key_of: KeyOf[Item], split: Split[Item] | None = None) -> None:
        self.key_of = key_of
        self.split = split
        self._by_key: dict[str, set[FanOutSubscription[Item]]] = {}
        self._everything: set[FanOutSubscription[Item]] = set()
        self._watchers: set[Watcher[Item]] = set()
        self.published = 0
        #: Over every subscription this fan-out ever had (for /metrics): deliveries folded into coalesced
        #: ones, and subscriptions closed for being too slow.
        self.dropped_updates = 0
        self.slow_disconnects = 0

    def subscribe(self, keys: Iterable[str] | None, *, max_queue: int = 256, max_backlog: int = MAX_BACKLOG_ITEMS,
                  policy: SlowPolicy = "coalesce") -> FanOutSubscription[Item]:
        """A subscription to ``keys``, or to every key when ``keys`` is None."""
        return FanOutSubscription(self, keys, max_queue, policy, max_backlog)

    @contextmanager
    def watching(self, watcher: Watcher[Item]) -> Iterator[None]:
        """Call ``watcher`` (synchronously, it must not block) with every item published while inside."""
        self._watchers.add(watcher)
        try:
            yield
        finally:
            self._watchers.discard(watcher)

    @property
    def subscriptions(self) -> frozenset[FanOutSubscription[Item]]:
        """The open subscriptions (for operational tooling and tests)."""
        keyed = {s for subscribers in self._by_key.values() for s in subscribers}
        return frozenset(keyed | self._everything)

    @property
    def listener_count(self) -> int:
        """Subscriptions and watchers registered now (returns to its old value when they end)."""
        return len(self.subscriptions) + len(self._watchers)

    @property
    def indexed_keys(self) -> int:
        """How many keys the index holds; returns to its old size when subscriptions end."""
        return len(self._by_key)

    def publish(self, items: Sequence[Item]) -> None:
        """Hand ``items`` to every watcher and subscription that listens to them; never waits."""
        self.published += len(items)
        for watcher in list(self._watchers):
            for item in items:
                watcher(item)
        shares = self._shares(items)
        for subscription, share in shares.items():
            subscription.offer(tuple(share))

    def publish_one(self, item: Item) -> None:
        self.publish((item,))

    def _shares(self, items: Sequence[Item]) -> dict[FanOutSubscription[Item], list[Item]]:
        shares: dict[FanOutSubscription[Item], list[Item]] = {s: list(items) for s in self._everything}
        by_key = self._by_key
        if by_key:
            key_of = self.key_of
            for item in items:
                subscribers = by_key.get(key_of(item))
                if subscribers:
                    for subscription in subscribers:
                        shares.setdefault(subscription, []).append(item)
        return shares

    def close(self, reason: str = "shut down") -> None:
        for subscription in self.subscriptions:
            subscription.close(reason)

    def _reindex(self, subscription: FanOutSubscription[Item], old: frozenset[str], new: frozenset[str]) -> None:
        for key in old - new:
            subscribers = self._by_key.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_key[key]
        for key in new - old:
            self._by_key.setdefault(key, set()).add(subscription)
