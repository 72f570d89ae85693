"""Delivering a route's events: at least once, in order, failures retried and then dead-lettered.

Every replica runs one :class:`RouteDelivery` per route, and the one holding the route's **lease**
(a Redis key set with NX and a time to live, renewed before every attempt) delivers; the others wait
to take over.  The holder reads the head of the route's stream, sends it, and only when the endpoint
took it (a 2xx answer, or the XADD into the target stream) removes it: an event is sent again after
a crash, never lost.  One event at a time, so events reach the endpoint in the order they were
routed (per twin, and overall).  A failed attempt is retried after the route's delay, doubling up
to a minute; after the route's ``maxAttempts`` failures the event moves to the route's dead letters
with the last error, and delivery goes on with the next.  Every failure is counted in the route's
state with its error (``eventRoute { state { failedAttempts lastError } }``).

Webhooks get a structured-mode CloudEvent (``Content-Type: application/cloudevents+json``); redirects
are not followed.  A receiver must be idempotent on the CloudEvent ``id``: at least once means a
redelivery after a crash carries the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from api.event_router import MAX_DEAD_LETTERS, RouteKeys, utc_now
from api.event_routes import CONTENT_TYPE, REDIS_STREAM, RouteSpec

log = logging.getLogger(__name__)

LEASE_MS = 10_000
#: How long a waiting replica sleeps between tries to take a lease over.
LEASE_RETRY_S = 1.0
READ_BLOCK_MS = 1_000
TARGET_STREAM_MAXLEN = 100_000
WEBHOOK_TIMEOUT_S = 10.0
#: Renew the lease only when it is ours (an expired lease another replica took must stay theirs).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class LeaseLost(Exception):
    """Another replica delivers this route now."""


class RouteDelivery:
    """One route's delivery loop on this replica (active while it holds the route's lease)."""

    def __init__(self, client: Any, keys: RouteKeys, spec: RouteSpec, replica_id: str, http: Any) -> None:
        self.client, self.spec, self.replica_id, self.http = client, spec, replica_id, http
        self.events_key, self.dead_key = keys.of(spec.id, "events"), keys.of(spec.id, "dead")
        self.state_key, self.lease_key = keys.of(spec.id, "state"), keys.of(spec.id, "lease")
        self._renew_script = client.register_script(_RENEW)
        self._release_script = client.register_script(_RELEASE)

    async def release(self) -> None:
        """Give the lease up (shutting down): another replica takes over at once, not after LEASE_MS."""
        with contextlib.suppress(Exception):
            await self._release_script(keys=[self.lease_key], args=[self.replica_id])

    async def run(self) -> None:
        while True:
            try:
                if await self._take_lease():
                    await self._deliver_while_held()
                else:
                    await asyncio.sleep(LEASE_RETRY_S)
            except LeaseLost:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the broker away: wait, then take the lease again
                log.warning("route %s: delivery paused (%s)", self.spec.id, error)
                await asyncio.sleep(LEASE_RETRY_S)

    async def _take_lease(self) -> bool:
        if await self.client.set(self.lease_key, self.replica_id, nx=True, px=LEASE_MS):
            return True
        return bool(await self._renew_script(keys=[self.lease_key], args=[self.replica_id, LEASE_MS]))

    async def _renew(self) -> None:
        if not await self._renew_script(keys=[self.lease_key], args=[self.replica_id, LEASE_MS]):
            raise LeaseLost(self.spec.id)

    async def _deliver_while_held(self) -> None:
        while True:
            await self._renew()
            reply = await self.client.xread({self.events_key: "0-0"}, count=100, block=READ_BLOCK_MS)
            for _, entries in reply or ():
                for entry_id, fields in entries:
                    await self._deliver_one(entry_id, fields[b"e"])

    async def _deliver_one(self, entry_id: bytes, body: bytes) -> None:
        failures = 0
        while True:
            await self._renew()
            error = await self._send(body)
            if error is None:
                async with self.client.pipeline(transaction=True) as pipe:
                    await (pipe.xdel(self.events_key, entry_id).hincrby(self.state_key, "delivered", 1)
                           .hset(self.state_key, "lastDeliveredAt", utc_now()).execute())
                return
            failures += 1
            log.info("route %s: attempt %d of event %s failed: %s", self.spec.id, failures, entry_id, error)
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hincrby(self.state_key, "failedAttempts", 1)
                pipe.hset(self.state_key, mapping={"lastError": error, "lastErrorAt": utc_now()})
                if failures >= self.spec.max_attempts:
                    pipe.xadd(self.dead_key, {"event": body, "error": error, "attempts": str(failures), "at": utc_now()},
                              maxlen=MAX_DEAD_LETTERS, approximate=True)
                    pipe.xdel(self.events_key, entry_id).hincrby(self.state_key, "deadLettered", 1)
                await pipe.execute()
            if failures >= self.spec.max_attempts:
                return
            await self._wait_holding(self.spec.retry_delay(failures))

    async def _wait_holding(self, seconds: float) -> None:
        """Sleep before a retry, renewing the lease meanwhile (a retry may wait a minute)."""
        step = LEASE_MS / 3_000
        while seconds > 0:
            await asyncio.sleep(min(seconds, step))
            seconds -= step
            await self._renew()

    async def _send(self, body: bytes) -> str | None:
        """Hand the event to the endpoint: None when it took it, else what went wrong."""
        try:
            if self.spec.endpoint_kind == REDIS_STREAM:
                await self.client.xadd(self.spec.endpoint, {"event": body}, maxlen=TARGET_STREAM_MAXLEN, approximate=True)
                return None
            response = await self.http.post(self.spec.endpoint, content=body, headers={"Content-Type": CONTENT_TYPE})
        except Exception as error:  # noqa: BLE001 - any transport failure is a failed attempt, named
            return f"{type(error).__name__}: {error}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code} from the webhook"


class Deliveries:
    """A replica's delivery loops, one per route, following the route set."""

    def __init__(self, client: Any, keys: RouteKeys, replica_id: str) -> None:
        import httpx

        self.client, self.keys, self.replica_id = client, keys, replica_id
        self.http = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False,
                                      headers={"User-Agent": "gridtwin-event-routes"})
        self._running: dict[str, tuple[RouteDelivery, asyncio.Task[None]]] = {}

    def follow(self, routes: dict[str, RouteSpec]) -> None:
        """Start loops for new routes, stop those of deleted (or deleted and remade) ones."""
        for route_id in [r for r, (delivery, _) in self._running.items() if routes.get(r) != delivery.spec]:
            self._running.pop(route_id)[1].cancel()
        for route_id, spec in routes.items():
            if route_id not in self._running:
                delivery = RouteDelivery(self.client, self.keys, spec, self.replica_id, self.http)
                self._running[route_id] = delivery, asyncio.create_task(delivery.run(), name=f"route-{route_id}")

    async def close(self) -> None:
        for _, task in self._running.values():
            task.cancel()
        await asyncio.gather(*(task for _, task in self._running.values()), return_exceptions=True)
        await asyncio.gather(*(delivery.release() for delivery, _ in self._running.values()))
        self._running.clear()
        await self.http.aclose()
