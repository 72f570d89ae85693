"""Several API processes (replicas) behind one load balancer: live events between them over Redis pub/sub.

With ``GRIDTWIN_BROKER=redis`` each replica forwards what its own fan-outs publish and re-publishes
what the others forwarded, so a subscriber on any replica sees every replica's events:

- **telemetry** samples, after they were acknowledged (the ingest publishes only then, so no
  subscriber anywhere sees data that was not stored);
- **twin and relationship events** (``twinChanged``);
- **models changed**: a replica that installed new models (``uploadModels``, ``deleteModel``, an
  ADT file with models) tells the others, which reload the stored set from Neo4j.

One message per event loop turn and channel carries everything published in that turn, encoded
once.  Messages name their origin, and a replica drops its own.  Delivery is at most once, as a
WebSocket delivery always was: the data of record is in InfluxDB and Neo4j, and a subscriber that
must not miss anything reads history after a reconnect.  Why Redis pub/sub and not NATS or
Redis streams: docs/ARCHITECTURE.md "Replicas".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from api.events import TwinEvent, TwinEvents
from gridtwin.fanout import FanOut
from timeseries.validation import Sample

log = logging.getLogger(__name__)

TELEMETRY, TWINS, MODELS = "telemetry", "twins", "models"


def _encode_sample(sample: Sample) -> list[Any]:
    return [sample.twin, sample.time_ns, dict(sample.values), sample.component]


def _decode_sample(item: list[Any]) -> Sample:
    twin, time_ns, values, component = item
    return Sample(str(twin), int(time_ns), values, component)


def _encode_event(event: TwinEvent) -> list[Any]:
    return [event.kind, event.twin_id, event.model, event.relationship, event.other_twin_id, event.time.isoformat()]


def _decode_event(item: list[Any]) -> TwinEvent:
    kind, twin_id, model, relationship, other, at = item
    return TwinEvent(kind, twin_id, model, relationship, other, datetime.fromisoformat(at))


@dataclass
class BusStats:
    """For /metrics: messages each way and how late the received ones arrived."""

    sent: int = 0
    received: int = 0
    lag_seconds_total: float = 0.0
    errors: int = 0


@dataclass
class _Outbox:
    """What this turn of the event loop published, per channel, waiting for one PUBLISH each."""

    items: dict[str, list[Any]] = field(default_factory=dict)
    scheduled: bool = False


class ReplicaBus:
    """This replica's side of the bus: forwards its fan-outs' items, replays the others'."""

    def __init__(self, url: str, profile: str, telemetry: FanOut[Sample], events: TwinEvents,
                 reload_models: Callable[[], Awaitable[None]]) -> None:
        self.url = url
        self.replica_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.channels = {name: f"gridtwin:{profile}:{name}" for name in (TELEMETRY, TWINS, MODELS)}
        self.telemetry, self.events, self.reload_models = telemetry, events, reload_models
        self.stats = BusStats()
        self._outbox = _Outbox()
        self._relaying = False  # set while replaying others' items into our fan-outs: not forwarded again
        self._watchers = contextlib.ExitStack()
        self._client: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Connect, subscribe, and start forwarding; a Redis that does not answer stops start-up."""
        import redis.asyncio as aioredis

        self._loop = asyncio.get_running_loop()
        self._client = aioredis.from_url(self.url)
        await self._client.ping()
        self._listener = asyncio.create_task(self._listen(await self._subscribed()), name="replica-bus-listener")
        self._watchers.enter_context(self.telemetry.watching(lambda s: self._forward(TELEMETRY, _encode_sample(s))))
        self._watchers.enter_context(self.events.watching(lambda e: self._forward(TWINS, _encode_event(e))))
        log.info("replica %s: live events over %s", self.replica_id, self.channels[TELEMETRY].rsplit(":", 1)[0])

    async def is_reachable(self) -> bool:
        """Whether Redis answers a PING within a second (for /readyz)."""
        try:
            return bool(await asyncio.wait_for(self._client.ping(), 1.0))
        except Exception:  # any failure means "not ready"
            return False

    @property
    def relaying(self) -> bool:
        """True while another replica's items are replayed here (event routes skip them: their origin routes them)."""
        return self._relaying

    def models_installed(self) -> None:
        """Called when this replica installed new models: the others reload theirs."""
        if not self._relaying and self._loop is not None:
            self._loop.call_soon_threadsafe(self._forward, MODELS, 1)

    def _forward(self, channel: str, item: Any) -> None:
        """Queue an item this replica published; one PUBLISH per channel at the end of the loop turn."""
        if self._relaying:
            return
        self._outbox.items.setdefault(channel, []).append(item)
        if not self._outbox.scheduled:  # the flush runs after everything else of this loop turn
            self._outbox.scheduled = True
            flush = asyncio.get_running_loop().create_task(self._flush())
            self._flushes.add(flush)  # held until done: the loop keeps only weak references to tasks
            flush.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        outbox, self._outbox = self._outbox, _Outbox()
        for channel, items in outbox.items.items():
            message = orjson.dumps({"origin": self.replica_id, "sent": time.time(), "items": items})
            try:
                await self._client.publish(self.channels[channel], message)
                self.stats.sent += 1
            except Exception as error:  # the broker is down: live events to other replicas are lost, ours go on
                self.stats.errors += 1
                log.warning("replica bus: could not publish %d %s item(s): %s", len(items), channel, error)

    async def _subscribed(self) -> Any:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*self.channels.values())
        return pubsub

    async def _listen(self, pubsub: Any) -> None:
        """Replay the others' messages; when the connection to Redis is lost, subscribe again every second
        until it is back (what the others sent meanwhile is lost, as a live event is)."""
        names = {full: short for short, full in self.channels.items()}
        while True:
            try:
                async for message in pubsub.listen():
                    await self._receive(names.get(_text(message["channel"])), message["data"])
            except Exception as error:  # noqa: BLE001 - Redis went away; the replica keeps serving its own
                self.stats.errors += 1
                log.warning("replica bus: lost the subscription (%s); subscribing again", error)
            finally:
                await pubsub.aclose()
            pubsub = await self._resubscribed()

    async def _resubscribed(self) -> Any:
        while True:
            await asyncio.sleep(1.0)
            try:
                return await self._subscribed()
            except Exception as error:  # noqa: BLE001 - still away: try again
                log.debug("replica bus: Redis still unreachable (%s)", error)

    async def _receive(self, channel: str | None, data: bytes) -> None:
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.stats.errors += 1
            return
        if body.get("origin") == self.replica_id or channel is None:
            return
        self.stats.received += 1
        self.stats.lag_seconds_total += max(0.0, time.time() - float(body.get("sent", time.time())))
        try:
            await self._replay(channel, body["items"])
        except Exception:  # a bad message must not end the listener
            self.stats.errors += 1
            log.exception("replica bus: could not replay a %s message", channel)

    async def _replay(self, channel: str, items: list[Any]) -> None:
        if channel == MODELS:
            await self.reload_models()
            return
        self._relaying = True
        try:
            if channel == TELEMETRY:
                self.telemetry.publish([_decode_sample(item) for item in items])
            elif channel == TWINS:
                self.events.publish([_decode_event(item) for item in items])
        finally:
            self._relaying = False

    async def close(self) -> None:
        self._watchers.close()
        await asyncio.gather(*self._flushes, return_exceptions=True)  # what was published goes out first
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
