"""Event routes at work, on the broker (Redis): routing into per-route streams, and their storage.

Each API replica routes the events **it** originated (the mutations it committed, the telemetry it
acknowledged, the predictions it made; never what another replica relayed to it) into one Redis
stream per matching route, in the order they happened.  Delivery (:mod:`api.event_delivery`) reads
each stream in order and removes an entry only after its endpoint took it, so an event routed is
delivered at least once, even when the delivering replica dies.  Redis keeps the streams in its
append-only file (``appendfsync everysec``), so they outlive a Redis restart.

Keys (``<p>`` the profile): ``gridtwin:<p>:routes`` (hash: id -> route JSON),
``gridtwin:<p>:route:<id>:events`` (stream), ``...:dead`` (the dead letters, a stream),
``...:state`` (hash: counters and the last error), ``...:lease`` (who delivers now).

What is not covered: an event is routed on the event loop turn after its write committed (or its
telemetry was acknowledged), so a replica killed in between loses that event for the routes; and
a route created on one replica reaches the others' routing within :data:`ROUTES_REFRESH_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.event_routes import EVENT_TYPE_OF_KIND, EventType, RoutedEvent, RouteSpec, cloud_event, matches
from api.events import TwinEvent, TwinEvents
from dtdl.model import ModelSet
from gridtwin.fanout import FanOut
from timeseries.validation import Sample

log = logging.getLogger(__name__)

ROUTES_REFRESH_S = 2.0
SUBTREE_REFRESH_S = 10.0
#: Undelivered events one route may hold; past that, new events go to its dead letters, counted.
MAX_BACKLOG = 100_000
MAX_DEAD_LETTERS = 10_000
#: Relationship names whose change moves twins in or out of a subtree.
TOPOLOGY_RELATIONSHIPS = frozenset({"feedsTo", "fedBy"})
_MODEL_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class RouteKeys:
    """Where a profile keeps its routes on the broker."""

    profile: str

    @property
    def routes(self) -> str:
        return f"gridtwin:{self.profile}:routes"

    def of(self, route_id: str, part: str) -> str:
        return f"gridtwin:{self.profile}:route:{route_id}:{part}"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


class RouteStore:
    """Route definitions, delivery state and dead letters on the broker."""

    def __init__(self, client: Any, keys: RouteKeys) -> None:
        self.client, self.keys = client, keys

    async def all(self) -> dict[str, RouteSpec]:
        stored = await self.client.hgetall(self.keys.routes)
        return {_text(key): RouteSpec.from_json(value) for key, value in stored.items()}

    async def add(self, spec: RouteSpec) -> bool:
        """Store a new route; False when the id is taken (HSETNX: two admins cannot both create it)."""
        return bool(await self.client.hsetnx(self.keys.routes, spec.id, spec.to_json()))

    async def remove(self, route_id: str) -> bool:
        """Delete the route with its undelivered events, dead letters and state."""
        parts = [self.keys.of(route_id, part) for part in ("events", "dead", "state", "lease")]
        async with self.client.pipeline(transaction=True) as pipe:
            removed, _ = await pipe.hdel(self.keys.routes, route_id).delete(*parts).execute()
        return bool(removed)

    async def state(self, route_id: str) -> dict[str, Any]:
        """Counters and last error (strings), ``pending`` (undelivered events) and ``holder`` (the delivering replica)."""
        async with self.client.pipeline(transaction=False) as pipe:
            state, pending, holder = await (pipe.hgetall(self.keys.of(route_id, "state"))
                                            .xlen(self.keys.of(route_id, "events"))
                                            .get(self.keys.of(route_id, "lease")).execute())
        result: dict[str, Any] = {_text(k): _text(v) for k, v in state.items()}
        result.update(pending=int(pending), holder=_text(holder) if holder else None)
        return result

    async def dead_letters(self, route_id: str, count: int) -> list[dict[str, str]]:
        """The most recent dead letters first."""
        entries = await self.client.xrevrange(self.keys.of(route_id, "dead"), count=count)
        return [{_text(k): _text(v) for k, v in fields.items()} for _, fields in entries]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def routed_twin_event(event: TwinEvent) -> RoutedEvent:
    data = {"twinId": event.twin_id, "model": event.model, "relationship": event.relationship,
            "otherTwinId": event.other_twin_id}
    subject = (event.twin_id if event.relationship is None
               else f"{event.twin_id}/relationships/{event.relationship}/{event.other_twin_id}")
    return RoutedEvent(EVENT_TYPE_OF_KIND[event.kind], event.twin_id, event.model,
                       {k: v for k, v in data.items() if v is not None}, event.time, subject)


def routed_sample(sample: Sample, model: str | None) -> RoutedEvent:
    at = datetime.fromtimestamp(sample.time_ns / 1e9, timezone.utc)
    data: dict[str, Any] = {"twinId": sample.twin, "time": at.isoformat(), "values": dict(sample.values)}
    if sample.component is None:
        return RoutedEvent(EventType.telemetry, sample.twin, model, data, at, sample.twin)
    data["component"] = sample.component
    return RoutedEvent(EventType.prediction, sample.twin, model, data, at, f"{sample.twin}/{sample.component}")


class EventRouter:
    """This replica's routing: watches its own events, appends each to the streams of the routes it matches."""

    def __init__(self, store: RouteStore, source: str, models: Callable[[], ModelSet], driver: Any,
                 events: TwinEvents, telemetry: FanOut[Sample], is_relayed: Callable[[], bool]) -> None:
        self.store, self.source, self.models, self.driver = store, source, models, driver
        self.events, self.telemetry, self.is_relayed = events, telemetry, is_relayed
        self.routes: dict[str, RouteSpec] = {}
        self.subtrees: dict[str, frozenset[str]] = {}
        self.routing_errors = 0
        self._queue: asyncio.Queue[TwinEvent | Sample] = asyncio.Queue()
        self._models_of: dict[str, str | None] = {}
        self._watchers = contextlib.ExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self.on_routes_changed: list[Callable[[dict[str, RouteSpec]], None]] = []

    async def start(self) -> None:
        await self.refresh(subtrees=True)
        self._watchers.enter_context(self.events.watching(self._take))
        self._watchers.enter_context(self.telemetry.watching(self._take_sample))
        self._tasks = [asyncio.create_task(self._route_forever(), name="event-routing"),
                       asyncio.create_task(self._refresh_forever(), name="event-routes-refresh")]

    def _take(self, item: TwinEvent | Sample) -> None:
        if self.routes and not self.is_relayed():
            self._queue.put_nowait(item)

    def _take_sample(self, sample: Sample) -> None:
        kind = EventType.telemetry if sample.component is None else EventType.prediction
        if any(route.wants(kind) for route in self.routes.values()):
            self._take(sample)

    async def refresh(self, *, subtrees: bool) -> None:
        """Read the routes from the broker (and, when asked, the twins below each subtree root)."""
        routes = await self.store.all()
        changed = routes != self.routes  # a route deleted and made again under its id counts too
        self.routes = routes
        if subtrees or changed:
            await self._refresh_subtrees()
        if changed:
            for listener in self.on_routes_changed:
                listener(routes)

    async def _refresh_subtrees(self) -> None:
        roots = {route.subtree for route in self.routes.values() if route.subtree is not None}
        found = {}
        for root in roots:
            found[root] = await run_in_threadpool(_subtree_ids, self.driver, self.models(), root)
        self.subtrees = found

    async def _refresh_forever(self) -> None:
        turns = 0
        while True:
            await asyncio.sleep(ROUTES_REFRESH_S)
            turns += 1
            try:
                await self.refresh(subtrees=turns % round(SUBTREE_REFRESH_S / ROUTES_REFRESH_S) == 0)
            except Exception as error:  # noqa: BLE001 - the broker or Neo4j away: try on the next turn
                log.warning("event routes: could not refresh the routes (%s)", error)

    async def _route_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 5_000:
                batch.append(self._queue.get_nowait())
            appended = await self._matched(batch)
            while True:  # the broker down: keep the batch and try again (the queue grows meanwhile)
                try:
                    await self._append(appended)
                    break
                except Exception as error:  # noqa: BLE001
                    self.routing_errors += 1
                    log.warning("event routes: could not append %d event(s), retrying (%s)", len(batch), error)
                    await asyncio.sleep(0.5)

    async def _matched(self, batch: Iterable[TwinEvent | Sample]) -> dict[str, list[tuple[str, bytes]]]:
        """Per route, its matching events in order as (twin id, CloudEvent JSON); one event id for all routes."""
        items = list(batch)
        await self._learn_models([s.twin for s in items if isinstance(s, Sample) and s.twin not in self._models_of])
        per_route: dict[str, list[tuple[str, bytes]]] = {}
        models = self.models()
        if self.subtrees and any(isinstance(i, TwinEvent) and i.relationship in TOPOLOGY_RELATIONSHIPS for i in items):
            await self._refresh_subtrees()  # the topology moved (committed before it was published): read it once
        for item in items:
            event = routed_twin_event(item) if isinstance(item, TwinEvent) else routed_sample(item, self._models_of.get(item.twin))
            body: bytes | None = None
            for route in self.routes.values():
                subtree = self.subtrees.get(route.subtree, frozenset()) if route.subtree is not None else None
                if matches(route, event, models, subtree):
                    body = body or cloud_event(event, uuid.uuid4().hex, self.source)
                    per_route.setdefault(route.id, []).append((event.twin_id, body))
        return per_route

    async def _learn_models(self, twin_ids: list[str]) -> None:
        """Models of telemetry twins, for routes with a model filter (read once per twin, cached)."""
        if not twin_ids or not any(route.model for route in self.routes.values()):
            return
        if len(self._models_of) > _MODEL_CACHE_SIZE:
            self._models_of.clear()
        self._models_of.update(await run_in_threadpool(models_of_ids, self.driver, sorted(set(twin_ids))))

    async def _append(self, per_route: dict[str, list[tuple[str, bytes]]]) -> None:
        """XADD each route's events; those past the route's backlog go to its dead letters, counted."""
        if not per_route:
            return
        keys = self.store.keys
        async with self.store.client.pipeline(transaction=False) as pipe:
            for route_id in per_route:
                pipe.xlen(keys.of(route_id, "events"))
            lengths = await pipe.execute()
        async with self.store.client.pipeline(transaction=False) as pipe:
            for (route_id, events), length in zip(per_route.items(), lengths):
                room = max(0, MAX_BACKLOG - int(length))
                for twin_id, body in events[:room]:
                    pipe.xadd(keys.of(route_id, "events"), {"e": body, "t": twin_id})
                for twin_id, body in events[room:]:
                    pipe.xadd(keys.of(route_id, "dead"), {"event": body, "error": f"backlog full ({MAX_BACKLOG} "
                              "undelivered events)", "attempts": "0", "at": utc_now()}, maxlen=MAX_DEAD_LETTERS,
                              approximate=True)
                if events[room:]:
                    pipe.hincrby(keys.of(route_id, "state"), "deadLettered", len(events[room:]))
                pipe.hincrby(keys.of(route_id, "state"), "routed", len(events))
            await pipe.execute()

    async def close(self) -> None:
        self._watchers.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _subtree_ids(driver: Any, models: ModelSet, root: str) -> frozenset[str]:
    """The root and every twin downstream of it; empty when the root is gone."""
    from graph.errors import NotFoundError
    from graph.topology import MAX_DEPTH, downstream

    try:
        return frozenset([root, *downstream(driver, models, root, max_depth=MAX_DEPTH).ids])
    except NotFoundError:
        return frozenset()


def models_of_ids(driver: Any, twin_ids: list[str]) -> dict[str, str | None]:
    import neo4j

    records, _, _ = driver.execute_query("UNWIND $ids AS id OPTIONAL MATCH (t:Twin {id: id}) RETURN id, t.model AS model",
                                         ids=twin_ids, routing_=neo4j.RoutingControl.READ)
    return {record["id"]: record["model"] for record in records}
