"""Telemetry in the GraphQL API: ingest, history queries, topology aggregates and live subscriptions.

The pipeline itself lives in ``timeseries``; this module connects it to the
twin graph (which twin has which model, what lies below a substation) and to
GraphQL.  ``GraphTwinDirectory`` answers the ingest's twin look-ups from
Neo4j, behind a short cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Collection, Mapping
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any

import neo4j
import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from api.auth import Permission
from api.context import allowed
from api.errors import ClientError, call
from api.events import SubscriberTooSlow, TwinEvent
from api.registry import ModelRegistry
from graph import topology
from timeseries.broker import SubscriptionClosed, Update
from timeseries.directory import TwinInfo
from timeseries.queries import QueryError
from timeseries.spool import SpoolFull
from timeseries.writer import WriteRejected

MEASUREMENT_POINT_LABEL = "GridMeasurementPoint"
FromArgument = Annotated[datetime | None, strawberry.argument(name="from", description="Default: an hour ago.")]
TOPOLOGY_REFRESH_S = 10.0
MAX_MESSAGES_PER_CALL = 10_000


class GraphTwinDirectory:
    """Twin id -> model and interface, from Neo4j (the ingest caches it in front)."""

    def __init__(self, driver: neo4j.Driver, registry: ModelRegistry) -> None:
        self._driver = driver
        self._registry = registry

    async def describe(self, twin_ids: Collection[str]) -> Mapping[str, TwinInfo]:
        ids = [twin_id for twin_id in twin_ids if isinstance(twin_id, str)]
        if not ids:
            return {}
        records, _, _ = await run_in_threadpool(
            self._driver.execute_query, "UNWIND $ids AS id MATCH (t:Twin {id: id}) RETURN t.id AS id, t.model AS model",
            ids=ids, routing_=neo4j.RoutingControl.READ)
        interfaces = self._registry.active.models.interfaces
        return {r["id"]: TwinInfo(twin_id=r["id"], model=r["model"], interface=interfaces[r["model"]])
                for r in records if r["model"] in interfaces}


# --- GraphQL types ----------------------------------------------------------------------------


@strawberry.input(description="One telemetry message: a twin, when, and values keyed by telemetry name.")
class TelemetryMessage:
    twin_id: strawberry.ID
    timestamp: JSON = strawberry.field(description="RFC 3339 string, or epoch number (precision detected).")
    values: JSON


@strawberry.type
class IngestError:
    index: int
    twin_id: strawberry.ID | None
    reason: str


@strawberry.type(description="Accepted messages are durable (in InfluxDB or the local spool).")
class IngestReport:
    accepted: int
    rejected: int
    errors: list[IngestError]


@strawberry.enum
class TelemetryAggregate(Enum):
    mean = "mean"
    min = "min"
    max = "max"
    last = "last"
    sum = "sum"
    count = "count"


@strawberry.enum
class Combine(Enum):
    sum = "sum"
    mean = "mean"
    min = "min"
    max = "max"


@strawberry.type(description="A telemetry value at a time; values is an object for object-typed telemetry.")
class TelemetryPoint:
    time: datetime
    values: JSON


@strawberry.type
class LatestTelemetry:
    twin_id: strawberry.ID
    name: str
    time: datetime
    value: JSON


@strawberry.type(description="A window of an aggregate over several twins.")
class AggregatePoint:
    time: datetime
    value: float | None
    twins: int


@strawberry.type(description="Samples delivered together; coalesced means older samples were skipped "
                             "because the subscriber fell behind (only the latest per twin is kept).")
class TelemetryBatch:
    samples: JSON = strawberry.field(description=(
        "A list of {twinId, time (RFC 3339, UTC), values}. One JSON value rather than typed objects: a "
        "subscription fans each sample out to many clients, and executing three typed fields per sample "
        "cost ~0.6 ms per delivered message, 15 times the cost of the whole list as one value."))
    coalesced: bool


@strawberry.type
class TwinChange:
    kind: str
    twin_id: strawberry.ID
    model: str | None
    relationship: str | None
    other_twin_id: strawberry.ID | None
    time: datetime


def _batch(update: Update) -> TelemetryBatch:
    return TelemetryBatch(coalesced=update.coalesced, samples=[
        {"twinId": s.twin, "time": datetime.fromtimestamp(s.time_ns / 1e9, tz=timezone.utc).isoformat(),
         "values": s.values} for s in update.samples])


def _window(start: datetime | None, stop: datetime | None, default: timedelta) -> tuple[datetime, datetime | None]:
    return start or datetime.now(timezone.utc) - default, stop


async def _queried(awaitable: Any) -> Any:
    try:
        return await awaitable
    except (QueryError, ValueError) as error:
        raise ClientError(str(error), "BAD_USER_INPUT") from error


async def _points_below(info: Info, twin_id: str) -> list[str]:
    """Measurement points downstream of ``twin_id`` (itself included when it is one)."""
    context = info.context
    trace = await call(topology.downstream, context.services.neo4j, context.active.models, twin_id,
                       label=MEASUREMENT_POINT_LABEL)
    own = await context.loaders.twin(twin_id)
    ids = [node.id for node in trace.nodes]
    if own is not None and context.active.models.is_a(own.model, "dtmi:gridtwin:GridMeasurementPoint;1"):
        ids.append(twin_id)
    return ids


# --- resolvers --------------------------------------------------------------------------------


@strawberry.type
class TelemetryQuery:
    @strawberry.field(description="History of one telemetry of a twin; with every, aggregated per window.")
    async def telemetry(self, info: Info, twin_id: strawberry.ID, name: str, from_: FromArgument = None,
                        to: datetime | None = None, every_seconds: int | None = None,
                        aggregate: TelemetryAggregate = TelemetryAggregate.mean) -> list[TelemetryPoint]:
        allowed(info, Permission.read_telemetry)
        start, stop = _window(from_, to, timedelta(hours=1))
        every = timedelta(seconds=every_seconds) if every_seconds else None
        points = await _queried(info.context.services.telemetry.queries.telemetry(
            str(twin_id), name, start, stop, every, aggregate.value))
        return [TelemetryPoint(time=p.time, values=p.values) for p in points]

    @strawberry.field(description="Latest value of every telemetry of the given twins (last 24 h).")
    async def latest_telemetry(self, info: Info, twin_ids: list[strawberry.ID]) -> list[LatestTelemetry]:
        allowed(info, Permission.read_telemetry)
        found = await _queried(info.context.services.telemetry.queries.latest([str(i) for i in twin_ids]))
        return [LatestTelemetry(twin_id=twin, name=name, time=value.time, value=value.value)
                for twin, values in sorted(found.items()) for name, value in sorted(values.items())]

    @strawberry.field(description="Per window, an aggregate over every measurement point below a twin, e.g. the "
                                  "total active power (name activePower, field total, combine sum).")
    async def telemetry_below(self, info: Info, twin_id: strawberry.ID, name: str, field: str | None = None,
                              from_: FromArgument = None, to: datetime | None = None, every_seconds: int = 60,
                              per_twin: TelemetryAggregate = TelemetryAggregate.mean,
                              combine: Combine = Combine.sum) -> list[AggregatePoint]:
        allowed(info, Permission.read_telemetry)
        points = await _points_below(info, str(twin_id))
        if not points:
            return []
        start, stop = _window(from_, to, timedelta(hours=1))
        found = await _queried(info.context.services.telemetry.queries.aggregate_over_twins(
            points, name, field, start, stop, timedelta(seconds=every_seconds), per_twin.value, combine.value))
        return [AggregatePoint(time=p.time, value=p.value, twins=p.twins) for p in found]


@strawberry.type
class TelemetryMutation:
    @strawberry.mutation(description="Ingest telemetry messages; bad ones are rejected with index and reason, "
                                     "the others are stored.")
    async def ingest_telemetry(self, info: Info, messages: list[TelemetryMessage]) -> IngestReport:
        allowed(info, Permission.write_telemetry)
        if len(messages) > MAX_MESSAGES_PER_CALL:
            raise ClientError(f"at most {MAX_MESSAGES_PER_CALL} messages per call", "BAD_USER_INPUT")
        batch = [{"twin": str(m.twin_id), "time": m.timestamp, "values": m.values} for m in messages]
        return await ingest(info.context.services.telemetry, batch)


async def ingest(telemetry: Any, messages: list[Any]) -> IngestReport:
    """Run the pipeline; a full spool is a RETRY_LATER error, nothing of the batch acknowledged."""
    try:
        result = await telemetry.ingest.ingest(messages)
    except SpoolFull as error:
        raise ClientError(str(error), "RETRY_LATER") from error
    except WriteRejected as error:
        raise ClientError(str(error), "BAD_USER_INPUT") from error
    return IngestReport(accepted=result.accepted, rejected=len(result.rejected), errors=[
        IngestError(index=r.index, twin_id=r.twin, reason=r.reason) for r in result.rejected])


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Live samples of the given twins.")
    async def telemetry(self, info: Info, twin_ids: list[strawberry.ID]) -> AsyncGenerator[TelemetryBatch, None]:
        allowed(info, Permission.read_telemetry)
        subscription = info.context.services.telemetry.broker.subscribe([str(i) for i in twin_ids])
        async for batch in _stream(subscription):
            yield batch

    @strawberry.subscription(description="Live samples of every measurement point below a twin; follows topology "
                                         "changes (on relationship events, and every 10 s).")
    async def telemetry_below(self, info: Info, twin_id: strawberry.ID) -> AsyncGenerator[TelemetryBatch, None]:
        allowed(info, Permission.read_telemetry)
        services = info.context.services
        subscription = services.telemetry.broker.subscribe(await _points_below(info, str(twin_id)))
        refresher = asyncio.create_task(_follow_topology(info, str(twin_id), subscription))
        try:
            async for batch in _stream(subscription):
                yield batch
        finally:
            refresher.cancel()

    @strawberry.subscription(description="Twin lifecycle and relationship events, optionally only for twins that "
                                         "are-a model (DTMI).")
    async def twin_changed(self, info: Info, model: str | None = None) -> AsyncGenerator[TwinChange, None]:
        allowed(info, Permission.read_twins)
        try:
            async for event in info.context.services.events.subscribe():
                if model is None or (event.model and info.context.services.registry.active.models.is_a(
                        event.model, model)):
                    yield _change(event)
        except SubscriberTooSlow as error:
            raise ClientError(f"subscription closed: {error}", "SUBSCRIPTION_CLOSED") from error


async def _stream(subscription: Any) -> AsyncGenerator[TelemetryBatch, None]:
    """A broker subscription as GraphQL batches; closed by the broker -> SUBSCRIPTION_CLOSED."""
    try:
        async for update in subscription:
            yield _batch(update)
    except SubscriptionClosed as closed:
        raise ClientError(f"subscription closed: {closed.reason}", "SUBSCRIPTION_CLOSED") from closed
    finally:
        subscription.close()


def _change(event: TwinEvent) -> TwinChange:
    return TwinChange(kind=event.kind, twin_id=event.twin_id, model=event.model, relationship=event.relationship,
                      other_twin_id=event.other_twin_id, time=event.time)


async def _follow_topology(info: Info, twin_id: str, subscription: Any) -> None:
    """Re-resolve the points below ``twin_id`` after relationship changes, and periodically."""
    events = info.context.services.events.subscribe()
    next_event = asyncio.ensure_future(anext(events))
    try:
        while True:
            done, _ = await asyncio.wait({next_event}, timeout=TOPOLOGY_REFRESH_S)
            if next_event in done:
                event = next_event.result()
                next_event = asyncio.ensure_future(anext(events))
                if not event.kind.startswith("relationship") and event.kind != "twinDeleted":
                    continue
            subscription.set_twins(await _points_below(info, twin_id))
    finally:
        next_event.cancel()
        await events.aclose()


class TelemetryServices:
    """The telemetry pipeline of one API process: broker, ingest (writer + spool) and queries."""

    def __init__(self, settings: Any, driver: neo4j.Driver, registry: ModelRegistry) -> None:
        from timeseries.broker import InProcessBroker
        from timeseries.directory import CachingTwinDirectory
        from timeseries.ingest import TelemetryIngest
        from timeseries.queries import TelemetryQueries

        directory = CachingTwinDirectory(GraphTwinDirectory(driver, registry))
        self.broker = InProcessBroker()
        self.ingest = TelemetryIngest.from_settings(settings, directory, self.broker)
        self.queries = TelemetryQueries.from_settings(settings, directory)

    async def start(self) -> None:
        await self.ingest.start()

    async def close(self) -> None:
        self.broker.close()
        await self.ingest.close()
        self.queries.close()
