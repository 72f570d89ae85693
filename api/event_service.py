"""The event routes of one API replica: the route store, this replica's routing and its delivery loops.

Started by the lifespan when the broker is configured (``GRIDTWIN_BROKER=redis``, as ``gridtwin serve
--workers N`` and ``gridtwin demo`` set it): routes live on the broker and are delivered from it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from api.event_delivery import Deliveries
from api.event_router import EventRouter, RouteKeys, RouteStore, models_of_ids
from api.event_routes import RouteSpec, refuse_if_wrong
from api.events import TwinEvents
from dtdl.model import ModelSet
from gridtwin.fanout import FanOut
from graph.errors import NotFoundError, Problem
from timeseries.validation import Sample


class EventRouteService:
    """What the GraphQL operations use: create, list and delete routes, read their state."""

    def __init__(self, client: Any, store: RouteStore, router: EventRouter, deliveries: Deliveries) -> None:
        self.client, self.store, self.router, self.deliveries = client, store, router, deliveries

    @classmethod
    async def start(cls, redis_url: str, profile: str, driver: Any, models: Callable[[], ModelSet], events: TwinEvents,
                    telemetry: FanOut[Sample], is_relayed: Callable[[], bool]) -> EventRouteService:
        import redis.asyncio as aioredis

        client = aioredis.from_url(redis_url)
        await client.ping()
        keys = RouteKeys(profile)
        store = RouteStore(client, keys)
        replica_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        router = EventRouter(store, f"/gridtwin/{profile}", models, driver, events, telemetry, is_relayed)
        deliveries = Deliveries(client, keys, replica_id)
        router.on_routes_changed.append(deliveries.follow)
        await router.start()
        deliveries.follow(router.routes)
        return cls(client, store, router, deliveries)

    async def create(self, spec: RouteSpec, models: ModelSet) -> RouteSpec:
        """Validate and store a route; this replica routes to it from the next event on."""
        existing = await self.store.all()
        refuse_if_wrong(spec, models, existing)
        if spec.subtree is not None and not await self._twin_exists(spec.subtree):
            raise NotFoundError(f"no twin {spec.subtree!r} to root the route's subtree at",
                                [Problem("/route/subtree", "no twin has this id")])
        if not await self.store.add(spec):
            refuse_if_wrong(spec, models, await self.store.all())  # created meanwhile: the conflict, named
        await self.router.refresh(subtrees=True)
        return spec

    async def _twin_exists(self, twin_id: str) -> bool:
        from starlette.concurrency import run_in_threadpool

        found = await run_in_threadpool(models_of_ids, self.router.driver, [twin_id])
        return found.get(twin_id) is not None

    async def delete(self, route_id: str) -> bool:
        removed = await self.store.remove(route_id)
        await self.router.refresh(subtrees=False)
        return removed

    async def routes(self) -> dict[str, RouteSpec]:
        return await self.store.all()

    async def close(self) -> None:
        await self.router.close()
        await self.deliveries.close()
        await self.client.aclose()
